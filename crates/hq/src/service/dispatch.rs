//! The dispatcher's work: jobs, the day's board, a job's full record, and
//! conflicts.

use chrono::NaiveDate;
use doorstep_core::rules::is_past_target;
use doorstep_core::signature::{signature_is_valid, ServiceForm};
use doorstep_core::wire::{ConflictId, TechnicianId};
use doorstep_core::zone;
use doorstep_core::{
    Customer, CustomerId, Job, JobId, JobStatus, Timestamp, FIRST_VISIT, LONG_TEXT_MAX,
    SHORT_TEXT_MAX,
};

use super::{check_text, Hq};
use crate::dto::{
    Board, BoardColumn, JobDetail, NewJob, RepairTime, SupportRequestEntry, TimelineEntry,
};
use crate::error::{HqError, HqResult};
use crate::records::{AuditAction, AuditRecord, RepairTarget};
use crate::rules;
use crate::storage::{enum_text, AuditFilter, Conflict, DispatchChange, DispatchedJob, Resolution};
use crate::time_range;

pub(super) fn check_new_job(job: &NewJob) -> Result<(), String> {
    check_text("customer_name", &job.customer_name, SHORT_TEXT_MAX, true)?;
    check_text("phone", &job.phone, SHORT_TEXT_MAX, true)?;
    check_text("address", &job.address, SHORT_TEXT_MAX, true)?;
    check_text(
        "fault_description",
        &job.fault_description,
        LONG_TEXT_MAX,
        false,
    )?;
    if let Some(account) = &job.account_number {
        check_text("account_number", account, SHORT_TEXT_MAX, false)?;
    }
    time_range::check_time("window_start", job.window_start)?;
    time_range::check_time("window_end", job.window_end)?;
    for earlier in &job.earlier_visits {
        time_range::check_date("earlier_visits.date", earlier.date)?;
    }
    if let Some(reported_at) = job.reported_at {
        time_range::check_time("reported_at", reported_at)?;
    }
    if job.window_end <= job.window_start {
        return Err("window_end must be after window_start".into());
    }
    Ok(())
}

/// The job a dispatcher's `new` makes, received at `now`: reported then
/// unless they said when, and due under its type's target as it stands.
pub(super) fn job_from(new: NewJob, now: Timestamp, targets: &[RepairTarget]) -> DispatchedJob {
    let reported_at = new.reported_at.unwrap_or(now);
    DispatchedJob {
        job: Job {
            id: JobId::new(),
            customer: Customer {
                id: CustomerId::new(),
                name: new.customer_name.trim().to_string(),
                phone: new.phone.trim().to_string(),
                address: new.address.trim().to_string(),
                account_number: rules::account_number(new.account_number.as_deref()),
            },
            job_type: new.job_type,
            sub_case: new.sub_case,
            fault_description: new.fault_description.trim().to_string(),
            window_start: new.window_start,
            window_end: new.window_end,
            status: JobStatus::Scheduled,
            earlier_visits: new.earlier_visits,
            visit: FIRST_VISIT,
            repeat_of: None,
            reported_at: Some(reported_at),
            due_by: rules::due_by(new.job_type, reported_at, targets),
        },
        technician_id: new.technician_id,
    }
}

/// The most dispatcher actions a job's detail shows (the latest).
const JOB_ACTIONS_SHOWN: u32 = 200;

/// Who resolved a conflict when no dispatcher did (an admin command, a test).
const COMMAND_LINE: &str = "command line";

impl Hq {
    pub(super) async fn check_technician(&self, technician: Option<TechnicianId>) -> HqResult<()> {
        if let Some(id) = technician {
            if self.storage.technician(id).await?.is_none() {
                return Err(HqError::invalid(
                    "unknown_technician",
                    format!("no technician {id}"),
                ));
            }
        }
        Ok(())
    }

    pub async fn create_job(&self, new: NewJob) -> HqResult<DispatchedJob> {
        check_new_job(&new).map_err(|m| HqError::invalid("invalid_field", m))?;
        self.check_technician(new.technician_id).await?;
        let targets = self.storage.repair_targets().await?;
        let job = job_from(new, self.now(), &targets);
        let audit = self.job_entry(AuditAction::CreateJob, &job, "");
        let mut created = self
            .storage
            .create_jobs(std::slice::from_ref(&job), self.now(), &[audit])
            .await?;
        let mut job = created.pop().unwrap_or(job);
        self.flag_repeats(vec![&mut job.job]).await?;
        Ok(job)
    }

    /// The audit entry of an action on a job as dispatched: the job and its
    /// technician, if any.
    pub(super) fn job_entry(
        &self,
        action: AuditAction,
        job: &DispatchedJob,
        detail: &str,
    ) -> AuditRecord {
        AuditRecord {
            job_id: Some(job.job.id),
            technician_id: job.technician_id,
            ..self.audit_detail(action, detail)
        }
    }

    pub async fn assign(&self, job: JobId, technician: TechnicianId) -> HqResult<DispatchedJob> {
        self.check_technician(Some(technician)).await?;
        let audit = AuditRecord {
            job_id: Some(job),
            technician_id: Some(technician),
            ..self.audit_entry(AuditAction::Assign)
        };
        self.storage
            .change_job(job, DispatchChange::Assign(technician), &audit)
            .await
    }

    pub async fn cancel(&self, job: JobId) -> HqResult<DispatchedJob> {
        let audit = AuditRecord {
            job_id: Some(job),
            ..self.audit_entry(AuditAction::Cancel)
        };
        self.storage
            .change_job(job, DispatchChange::Cancel, &audit)
            .await
    }

    pub async fn reschedule(
        &self,
        job: JobId,
        start: Timestamp,
        end: Timestamp,
    ) -> HqResult<DispatchedJob> {
        for (field, time) in [("window_start", start), ("window_end", end)] {
            time_range::check_time(field, time)
                .map_err(|m| HqError::invalid("time_out_of_range", m))?;
        }
        if end <= start {
            return Err(HqError::invalid(
                "bad_window",
                "window_end must be after window_start",
            ));
        }
        let audit = AuditRecord {
            job_id: Some(job),
            ..self.audit_detail(
                AuditAction::Reschedule,
                &format!("{} – {}", start.to_rfc3339(), end.to_rfc3339()),
            )
        };
        self.storage
            .change_job(job, DispatchChange::Reschedule { start, end }, &audit)
            .await
    }

    /// The board of `date`, a day in the operator's time zone.
    pub async fn board(&self, date: NaiveDate) -> HqResult<Board> {
        time_range::check_date("date", date)
            .map_err(|m| HqError::bad_request("time_out_of_range", m))?;
        let (from, to) = zone::day_range(date, self.time_zone)
            .ok_or_else(|| HqError::bad_request("time_out_of_range", "date: off the calendar"))?;
        let jobs = self.storage.jobs_between(from, to).await?;
        let technicians = self.storage.technicians().await?;
        let mut columns: Vec<BoardColumn> = technicians
            .into_iter()
            .map(|t| BoardColumn {
                technician: Some(t),
                counts: Default::default(),
                jobs: Vec::new(),
                past_target: Vec::new(),
            })
            .collect();
        columns.push(BoardColumn {
            technician: None,
            counts: Default::default(),
            jobs: Vec::new(),
            past_target: Vec::new(),
        });
        let now = self.now();
        for dispatched in jobs {
            let column = columns
                .iter_mut()
                .find(|c| c.technician.as_ref().map(|t| t.id) == dispatched.technician_id);
            if let Some(column) = column {
                let status = enum_text(&dispatched.job.status);
                *column.counts.entry(status).or_default() += 1;
                let job = dispatched.job;
                if is_past_target(job.status, job.due_by, now) {
                    column.past_target.push(job.id);
                }
                column.jobs.push(job);
            }
        }
        self.flag_repeats(columns.iter_mut().flat_map(|c| c.jobs.iter_mut()).collect())
            .await?;
        Ok(Board {
            date,
            time_zone: self.time_zone.name().to_string(),
            columns,
        })
    }

    pub async fn job_detail(&self, job: JobId) -> HqResult<JobDetail> {
        let records = self
            .storage
            .job_records(job)
            .await?
            .ok_or_else(|| HqError::NotFound(format!("job {job}")))?;
        let technician = match records.dispatch.technician_id {
            Some(id) => self.storage.technician(id).await?,
            None => None,
        };
        let mut visit = rules::rebuild_visit(
            records.dispatch.job.clone(),
            rules::current_visit_ops(&records.dispatch, &records.ops),
        );
        // Show HQ's dispatch status (cancelled stays cancelled on the console).
        visit.job.status = records.dispatch.job.status;
        let service_form = ServiceForm::from_visit(&visit);
        let signature_valid = signature_is_valid(&visit);
        let mut dispatcher_actions = self
            .storage
            .audit(&AuditFilter {
                job_id: Some(job),
                limit: JOB_ACTIONS_SHOWN,
                ..AuditFilter::default()
            })
            .await?;
        dispatcher_actions.reverse();
        let mut job = records.dispatch.job;
        self.flag_repeats(vec![&mut job]).await?;
        let repair = RepairTime {
            reported_at: job.reported_at,
            due_by: job.due_by,
            completed_at: visit.completed_at,
            seconds_to_complete: rules::repair_seconds(
                job.status,
                job.reported_at,
                visit.completed_at,
            ),
            past_target: is_past_target(job.status, job.due_by, self.now()),
        };
        Ok(JobDetail {
            repair,
            job,
            technician,
            records: records.records,
            timeline: records
                .ops
                .into_iter()
                .map(|op| TimelineEntry {
                    payload: serde_json::from_str(&op.payload).unwrap_or(serde_json::Value::Null),
                    op_id: op.op_id,
                    device_id: op.device_id,
                    seq: op.seq,
                    kind: op.kind,
                    device_time: op.device_time,
                    server_time: op.server_time,
                    visit: op.visit,
                    clock_skew_seconds: op.clock_skew_seconds,
                })
                .collect(),
            receipt: records.receipt,
            conflicts: records.conflicts,
            visit,
            service_form,
            signature_valid,
            dispatcher_actions,
        })
    }

    /// The jobs awaiting support (the technician asked and the job is still
    /// open), the longest waiting first, each with its technician.
    pub async fn support_requests(&self) -> HqResult<Vec<SupportRequestEntry>> {
        let waiting = self.storage.awaiting_support().await?;
        let technicians = self.storage.technicians().await?;
        Ok(waiting
            .into_iter()
            .map(|awaiting| SupportRequestEntry {
                technician: technicians
                    .iter()
                    .find(|t| Some(t.id) == awaiting.dispatched.technician_id)
                    .cloned(),
                job: awaiting.dispatched.job,
                request: awaiting.request,
            })
            .collect())
    }

    pub async fn conflicts(&self, open_only: bool) -> HqResult<Vec<Conflict>> {
        self.storage.conflicts(open_only).await
    }

    /// Settles every open conflict on the conflict's job; the dispatcher
    /// (or "command line") is kept as who resolved it.
    pub async fn resolve_conflict(
        &self,
        id: ConflictId,
        resolution: Resolution,
        note: &str,
    ) -> HqResult<Conflict> {
        check_text("note", note, LONG_TEXT_MAX, false)
            .map_err(|m| HqError::invalid("invalid_field", m))?;
        let conflict = self
            .storage
            .conflict(id)
            .await?
            .ok_or_else(|| HqError::NotFound(format!("conflict {id}")))?;
        let audit = AuditRecord {
            job_id: Some(conflict.job_id),
            technician_id: Some(conflict.technician_id),
            ..self.audit_detail(
                AuditAction::ResolveConflict,
                &format!("{}: {}", enum_text(&resolution), note.trim()),
            )
        };
        let by = self.actor.username().unwrap_or(COMMAND_LINE);
        self.storage
            .resolve_conflict(id, resolution, note, by, self.now(), &audit)
            .await
    }
}
