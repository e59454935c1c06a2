//! Jobs in bulk: a dispatcher's CSV file, all rows or none.

use doorstep_core::wire::{RowError, TechnicianId, TechnicianRef};
use doorstep_core::Timestamp;

use super::dispatch::{check_new_job, job_from};
use super::Hq;
use crate::dto::{ImportResult, NewJob};
use crate::error::{HqError, HqResult};
use crate::records::{AuditAction, RepairTarget};
use crate::storage::DispatchedJob;

fn parse_enum<T: serde::de::DeserializeOwned>(name: &str, text: String) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::String(text.clone()))
        .map_err(|_| format!("{name}: unknown value '{text}'"))
}

/// The technician a row's `technician` cell names: by id, or by a name
/// exactly one technician has (a name two share would be a guess).
fn technician_named(technicians: &[TechnicianRef], cell: &str) -> Result<TechnicianId, String> {
    if let Some(by_id) = technicians.iter().find(|t| t.id.to_string() == cell) {
        return Ok(by_id.id);
    }
    let mut named = technicians.iter().filter(|t| t.name == cell);
    match (named.next(), named.next()) {
        (Some(only), None) => Ok(only.id),
        (None, _) => Err(format!("technician: no technician '{cell}'")),
        (Some(_), Some(_)) => Err(format!(
            "technician: more than one technician is named '{cell}'; give the technician's id"
        )),
    }
}

/// The optional last column of an import: when the customer reported it.
const REPORTED_AT: &str = "reported_at";

impl Hq {
    /// Imports CSV rows (header: customer_name, phone, address, job_type,
    /// sub_case, fault_description, window_start, window_end, technician).
    /// `technician` is a technician's id or exact name, or empty. Any bad row
    /// and nothing is imported; every bad row is reported.
    pub async fn import_csv(&self, text: &str) -> HqResult<ImportResult> {
        let technicians = self.storage.technicians().await?;
        let targets = self.storage.repair_targets().await?;
        let now = self.now();
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .flexible(false)
            .from_reader(text.as_bytes());
        let mut jobs = Vec::new();
        let mut errors = Vec::new();
        const COLUMNS: [&str; 9] = [
            "customer_name",
            "phone",
            "address",
            "job_type",
            "sub_case",
            "fault_description",
            "window_start",
            "window_end",
            "technician",
        ];
        // `reported_at` may follow as a last column: files made before it
        // existed still import, each job reported when HQ receives it.
        let with_report = match reader.headers() {
            Ok(headers) if headers.iter().eq(COLUMNS.iter().copied()) => false,
            Ok(headers)
                if headers
                    .iter()
                    .eq(COLUMNS.iter().chain([&REPORTED_AT]).copied()) =>
            {
                true
            }
            _ => {
                return Err(HqError::invalid(
                    "bad_header",
                    format!(
                        "the first line must be: {} (optionally followed by ,{REPORTED_AT})",
                        COLUMNS.join(",")
                    ),
                ))
            }
        };
        for (index, record) in reader.records().enumerate() {
            let row = index + 1;
            let record = match record {
                Ok(record) => record,
                Err(err) => {
                    errors.push(RowError {
                        row,
                        message: err.to_string(),
                    });
                    continue;
                }
            };
            match self.row_to_job(&record, &technicians, with_report, now, &targets) {
                Ok(job) => jobs.push(job),
                Err(message) => errors.push(RowError { row, message }),
            }
        }
        if !errors.is_empty() {
            return Err(HqError::ImportInvalid(errors));
        }
        if jobs.is_empty() {
            return Err(HqError::invalid("empty_import", "the file has no rows"));
        }
        let audit: Vec<_> = jobs
            .iter()
            .enumerate()
            .map(|(i, job)| {
                let detail = format!("CSV row {} of {}", i + 1, jobs.len());
                self.job_entry(AuditAction::Import, job, &detail)
            })
            .collect();
        self.storage.create_jobs(&jobs, now, &audit).await?;
        Ok(ImportResult {
            created: jobs.iter().map(|j| j.job.id).collect(),
        })
    }

    fn row_to_job(
        &self,
        record: &csv::StringRecord,
        technicians: &[TechnicianRef],
        with_report: bool,
        now: Timestamp,
        targets: &[RepairTarget],
    ) -> Result<DispatchedJob, String> {
        let field = |i: usize| record.get(i).unwrap_or("").to_string();
        let parse_time = |name: &str, text: String| {
            chrono::DateTime::parse_from_rfc3339(&text)
                .map(|t| t.to_utc())
                .map_err(|_| {
                    format!("{name}: '{text}' is not a time like 2026-12-01T09:00:00+08:00")
                })
        };
        let technician = field(8);
        let technician_id = if technician.is_empty() {
            None
        } else {
            Some(technician_named(technicians, &technician)?)
        };
        let new = NewJob {
            customer_name: field(0),
            phone: field(1),
            address: field(2),
            job_type: parse_enum("job_type", field(3))?,
            sub_case: parse_enum("sub_case", field(4))?,
            fault_description: field(5),
            window_start: parse_time("window_start", field(6))?,
            window_end: parse_time("window_end", field(7))?,
            technician_id,
            earlier_visits: Vec::new(),
            reported_at: match field(9) {
                text if with_report && !text.is_empty() => Some(parse_time(REPORTED_AT, text)?),
                _ => None,
            },
        };
        check_new_job(&new)?;
        Ok(job_from(new, now, targets))
    }

    /// Creates jobs a command put together (the demo set), all or none.
    pub async fn import_jobs(&self, jobs: &[DispatchedJob]) -> HqResult<()> {
        let audit: Vec<_> = jobs
            .iter()
            .map(|job| self.job_entry(AuditAction::Import, job, "demo set"))
            .collect();
        self.storage.create_jobs(jobs, self.now(), &audit).await
    }
}
