//! Jobs in bulk: a dispatcher's CSV file, all rows or none.

use doorstep_core::wire::{RowError, TechnicianId, TechnicianRef};
use doorstep_core::Timestamp;

use super::dispatch::{check_new_job, job_from};
use super::Hq;
use crate::dto::{ImportResult, NewJob};
use crate::error::{HqError, HqResult};
use crate::records::{AuditAction, RepairTarget};
use crate::rules;
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

/// The columns every CSV file has, in this order.
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
/// Columns a file may add after those, in this order: the operator's
/// account number, and when the customer reported the fault. Files made
/// before either existed still import.
const OPTIONAL_COLUMNS: [&str; 2] = ["account_number", "reported_at"];

/// Where each optional column is in a file with this header, or why the
/// header is not one HQ reads.
struct Layout {
    account_number: Option<usize>,
    reported_at: Option<usize>,
}

fn layout(headers: &csv::StringRecord) -> Option<Layout> {
    let names: Vec<&str> = headers.iter().collect();
    if names.len() < COLUMNS.len() || names[..COLUMNS.len()] != COLUMNS {
        return None;
    }
    let extra = &names[COLUMNS.len()..];
    // The optional columns that are there, in their order, none twice.
    let mut wanted = OPTIONAL_COLUMNS.iter();
    for name in extra {
        wanted.find(|w| *w == name)?;
    }
    let at = |column: &str| {
        extra
            .iter()
            .position(|n| *n == column)
            .map(|i| COLUMNS.len() + i)
    };
    Some(Layout {
        account_number: at(OPTIONAL_COLUMNS[0]),
        reported_at: at(OPTIONAL_COLUMNS[1]),
    })
}

impl Hq {
    /// Imports CSV rows (header: customer_name, phone, address, job_type,
    /// sub_case, fault_description, window_start, window_end, technician,
    /// then optionally account_number and reported_at). `technician` is a technician's id or
    /// exact name, or empty; an empty account number is none. Any bad row
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
        let Some(layout) = reader.headers().ok().and_then(layout) else {
            return Err(HqError::invalid(
                "bad_header",
                format!(
                    "the first line must be: {} (then, optionally, ,{} and ,{})",
                    COLUMNS.join(","),
                    OPTIONAL_COLUMNS[0],
                    OPTIONAL_COLUMNS[1]
                ),
            ));
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
            match self.row_to_job(&record, &technicians, &layout, now, &targets) {
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
        let created = self.storage.create_jobs(&jobs, now, &audit).await?;
        Ok(ImportResult {
            created: created.iter().map(|j| j.job.id).collect(),
        })
    }

    fn row_to_job(
        &self,
        record: &csv::StringRecord,
        technicians: &[TechnicianRef],
        layout: &Layout,
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
            account_number: rules::account_number(
                layout.account_number.and_then(|i| record.get(i)),
            ),
            reported_at: match layout.reported_at.map(field) {
                Some(text) if !text.is_empty() => Some(parse_time(OPTIONAL_COLUMNS[1], text)?),
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
        self.storage.create_jobs(jobs, self.now(), &audit).await?;
        Ok(())
    }
}
