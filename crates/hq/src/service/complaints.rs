//! Complaints (standard item 19): taken at HQ by a dispatcher, who owns the
//! reply, or on site by a technician (their changes); listed together for
//! the console, overdue ones flagged by core's rule.

use doorstep_core::rules::{complaint_called_back, complaint_overdue, complaint_taken};
use doorstep_core::{Complaint, ComplaintCallback, ComplaintRecord, JobId, RecordId};

use super::Hq;
use crate::dto::{
    ComplaintCallbackRequest, ComplaintEntry, ComplaintSource, ComplaintsQuery, NewComplaint,
};
use crate::error::{HqError, HqResult};
use crate::records::{AuditAction, AuditRecord, HqComplaint};
use crate::rules;
use crate::time_range;

/// Who took a complaint at HQ when no dispatcher did (a test, the command line).
const HQ_DESK: &str = "HQ";

fn refused(error: doorstep_core::DomainError) -> HqError {
    HqError::invalid(error.code(), error.message(doorstep_core::Lang::En))
}

impl Hq {
    /// `POST /api/v1/jobs/{id}/complaints`: the signed-in dispatcher takes a
    /// complaint on a job and owns its reply.
    pub async fn take_complaint(&self, job: JobId, new: NewComplaint) -> HqResult<ComplaintRecord> {
        time_range::check_time("reply_by", new.reply_by)
            .map_err(|m| HqError::invalid("time_out_of_range", m))?;
        let complaint = Complaint {
            id: RecordId::new(),
            taken_by: self.actor.username().unwrap_or(HQ_DESK).to_string(),
            issue: new.issue,
            reply_by: new.reply_by,
        };
        let record = complaint_taken(None, &complaint, self.now()).map_err(refused)?;
        let audit = AuditRecord {
            job_id: Some(job),
            ..self.audit_detail(AuditAction::TakeComplaint, &record.issue)
        };
        self.storage
            .take_complaint(
                &HqComplaint {
                    job_id: job,
                    record: record.clone(),
                },
                &audit,
            )
            .await?;
        Ok(record)
    }

    /// `POST /api/v1/complaints/{id}/callback`: the callback on a complaint
    /// taken at HQ. One taken on site is its technician's to call back.
    pub async fn call_back_complaint(
        &self,
        id: RecordId,
        request: ComplaintCallbackRequest,
    ) -> HqResult<ComplaintRecord> {
        let mut complaint = self
            .storage
            .hq_complaint(id)
            .await?
            .ok_or_else(|| HqError::NotFound(format!("complaint {id}")))?;
        let callback = ComplaintCallback {
            complaint_id: id,
            result: request.result,
            satisfied: request.satisfied,
        };
        complaint_called_back(
            std::slice::from_mut(&mut complaint.record),
            &callback,
            self.now(),
        )
        .map_err(refused)?;
        let audit = AuditRecord {
            job_id: Some(complaint.job_id),
            ..self.audit_detail(AuditAction::CallBackComplaint, &callback.result)
        };
        self.storage
            .save_complaint_callback(&complaint, &audit)
            .await?;
        Ok(complaint.record)
    }

    /// `GET /api/v1/complaints`: every complaint, those awaiting a reply
    /// first (the soonest promised first), then those answered.
    pub async fn complaints(&self, query: ComplaintsQuery) -> HqResult<Vec<ComplaintEntry>> {
        let now = self.now();
        let changes = self.storage.complaint_changes().await?;
        let mut entries: Vec<ComplaintEntry> = rules::on_site_complaints(
            changes
                .into_iter()
                .map(|c| ((c.dispatched, c.by), c.payload, c.device_time)),
        )
        .into_iter()
        .map(|((dispatched, by), complaint)| ComplaintEntry {
            job_id: dispatched.job.id,
            customer_name: dispatched.job.customer.name,
            source: ComplaintSource::OnSite,
            technician: Some(by),
            complaint,
            overdue: false,
        })
        .collect();
        for (dispatched, taken) in self.storage.hq_complaints().await? {
            entries.push(ComplaintEntry {
                job_id: taken.job_id,
                customer_name: dispatched.job.customer.name,
                source: ComplaintSource::Hq,
                technician: None,
                complaint: taken.record,
                overdue: false,
            });
        }
        for entry in &mut entries {
            entry.overdue = complaint_overdue(&entry.complaint, now);
        }
        if query.open {
            entries.retain(|e| e.complaint.callback.is_none());
        }
        entries.sort_by_key(|e| (e.complaint.callback.is_some(), e.complaint.reply_by));
        Ok(entries)
    }
}
