//! Customers (standard items 15 and 22): the repeat-fault flag on the jobs
//! HQ hands out, the customer's story, finding customers, their VIP grade,
//! and the proactive revisit of a repeat fault. The decisions are
//! `rules::match_customer`, `rules::repeat_of` and `rules::story`.

use std::collections::{BTreeSet, HashMap};

use chrono::Duration;
use doorstep_core::{
    ComplaintRecord, CustomerId, CustomerStory, Job, JobId, JobStatus, JobType, VipGrade,
    FIRST_VISIT,
};

use super::Hq;
use crate::dto::{CustomerDetail, RevisitRequest};
use crate::error::{HqError, HqResult};
use crate::records::{AuditAction, AuditRecord, CustomerHistory, CustomerRecord};
use crate::rules;
use crate::storage::DispatchedJob;
use crate::time_range;

/// The most customers one search lists.
const CUSTOMERS_FOUND: u32 = 50;

/// The customer's story from their history: each job's current visit is
/// rebuilt from its op log, as the console's job page shows it; complaints
/// are every visit's (`rules::on_site_complaints`) and those taken at HQ.
pub(super) fn story_of(history: &CustomerHistory) -> CustomerStory {
    let jobs: Vec<_> = history
        .jobs
        .iter()
        .map(|h| {
            let visit = rules::rebuild_visit(
                h.dispatch.job.clone(),
                rules::current_visit_ops(&h.dispatch, &h.ops),
            );
            (h.dispatch.job.clone(), visit)
        })
        .collect();
    let complaints: Vec<ComplaintRecord> = history
        .jobs
        .iter()
        .flat_map(|h| {
            rules::on_site_complaints(
                h.ops
                    .iter()
                    .map(|op| ((), op.payload.as_str(), op.device_time)),
            )
        })
        .map(|((), complaint)| complaint)
        .chain(history.hq_complaints.iter().cloned())
        .collect();
    rules::story(
        history.customer.id,
        history.customer.vip_grade,
        &jobs,
        &complaints,
    )
}

impl Hq {
    /// The same HQ with another repeat-fault window (`serve
    /// --repeat-fault-days`).
    pub fn with_repeat_fault_days(self, days: u32) -> Hq {
        Hq {
            repeat_fault_days: days,
            ..self
        }
    }

    pub fn repeat_fault_days(&self) -> u32 {
        self.repeat_fault_days
    }

    /// Sets each job's `repeat_of` from its customer's fault jobs in the
    /// repeat window before it: one read for all of them.
    pub(super) async fn flag_repeats(&self, mut jobs: Vec<&mut Job>) -> HqResult<()> {
        let (Some(from), Some(to)) = (
            jobs.iter().map(|j| j.window_start).min(),
            jobs.iter().map(|j| j.window_start).max(),
        ) else {
            return Ok(());
        };
        let customers: Vec<CustomerId> = jobs
            .iter()
            .filter(|j| j.job_type == JobType::Fault)
            .map(|j| j.customer.id)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if customers.is_empty() {
            return Ok(());
        }
        let window = Duration::days(self.repeat_fault_days.into());
        let earlier: Vec<Job> = self
            .storage
            .customer_jobs(&customers, from - window, to)
            .await?
            .into_iter()
            .map(|d| d.job)
            .collect();
        for job in jobs.iter_mut() {
            job.repeat_of = rules::repeat_of(job, &earlier, self.repeat_fault_days);
        }
        Ok(())
    }

    /// The pulled jobs made whole from their customers' histories: each
    /// job's repeat flag and the earlier visits an older app shows, and the
    /// story of each customer.
    pub(super) fn with_stories(
        &self,
        jobs: &mut [Job],
        histories: &[CustomerHistory],
    ) -> Vec<CustomerStory> {
        let stories: HashMap<CustomerId, CustomerStory> = histories
            .iter()
            .map(|h| (h.customer.id, story_of(h)))
            .collect();
        let history_jobs: HashMap<CustomerId, Vec<Job>> = histories
            .iter()
            .map(|h| {
                let jobs = h.jobs.iter().map(|j| j.dispatch.job.clone()).collect();
                (h.customer.id, jobs)
            })
            .collect();
        for job in jobs.iter_mut() {
            if let Some(earlier) = history_jobs.get(&job.customer.id) {
                job.repeat_of = rules::repeat_of(job, earlier, self.repeat_fault_days);
            }
            if let Some(story) = stories.get(&job.customer.id) {
                job.earlier_visits = rules::earlier_visit_lines(job, story);
            }
        }
        let mut stories: Vec<CustomerStory> = stories.into_values().collect();
        stories.sort_by_key(|s| s.customer_id);
        stories
    }

    pub async fn find_customers(&self, text: &str) -> HqResult<Vec<CustomerRecord>> {
        // Nobody's name, phone or account number is blank or holds a NUL
        // (which PostgreSQL's text cannot even carry).
        if text.trim().is_empty() || text.contains('\0') {
            return Ok(Vec::new());
        }
        self.storage.find_customers(text, CUSTOMERS_FOUND).await
    }

    pub async fn customer_detail(&self, id: CustomerId) -> HqResult<CustomerDetail> {
        let history = self
            .storage
            .customer_history(id)
            .await?
            .ok_or_else(|| HqError::NotFound(format!("customer {id}")))?;
        let story = story_of(&history);
        let all: Vec<Job> = history
            .jobs
            .iter()
            .map(|j| j.dispatch.job.clone())
            .collect();
        let jobs: Vec<Job> = all
            .iter()
            .rev()
            .map(|job| Job {
                repeat_of: rules::repeat_of(job, &all, self.repeat_fault_days),
                ..job.clone()
            })
            .collect();
        Ok(CustomerDetail {
            customer: history.customer,
            story,
            jobs,
        })
    }

    pub async fn set_vip_grade(&self, id: CustomerId, grade: VipGrade) -> HqResult<CustomerRecord> {
        let audit = self.audit_detail(
            AuditAction::SetVipGrade,
            &format!("customer {id}: {}", crate::storage::enum_text(&grade)),
        );
        self.storage.set_vip_grade(id, grade, &audit).await
    }

    /// A proactive revisit (standard item 15): a new fault job for the
    /// customer of `of`, in its own window, naming its customer so it joins
    /// their history whatever their phone.
    pub async fn create_revisit(
        &self,
        of: JobId,
        request: RevisitRequest,
    ) -> HqResult<DispatchedJob> {
        for (field, time) in [
            ("window_start", request.window_start),
            ("window_end", request.window_end),
        ] {
            time_range::check_time(field, time)
                .map_err(|m| HqError::invalid("time_out_of_range", m))?;
        }
        if request.window_end <= request.window_start {
            return Err(HqError::invalid(
                "bad_window",
                "window_end must be after window_start",
            ));
        }
        self.check_technician(request.technician_id).await?;
        let original = self
            .storage
            .job_records(of)
            .await?
            .ok_or_else(|| HqError::NotFound(format!("job {of}")))?
            .dispatch
            .job;
        // A revisit is reported now: its repair-time target runs from here.
        let now = self.now();
        let targets = self.storage.repair_targets().await?;
        let revisit = DispatchedJob {
            job: Job {
                id: JobId::new(),
                customer: original.customer.clone(),
                job_type: JobType::Fault,
                sub_case: original.sub_case,
                fault_description: original.fault_description.clone(),
                window_start: request.window_start,
                window_end: request.window_end,
                status: JobStatus::Scheduled,
                earlier_visits: Vec::new(),
                visit: FIRST_VISIT,
                repeat_of: None,
                reported_at: Some(now),
                due_by: rules::due_by(JobType::Fault, now, &targets),
            },
            technician_id: request.technician_id,
        };
        let audit = AuditRecord {
            job_id: Some(revisit.job.id),
            technician_id: revisit.technician_id,
            ..self.audit_detail(AuditAction::CreateRevisit, &format!("revisit of job {of}"))
        };
        let mut created = self
            .storage
            .create_jobs(std::slice::from_ref(&revisit), self.now(), &[audit])
            .await?;
        let mut job = created.pop().unwrap_or(revisit);
        self.flag_repeats(vec![&mut job.job]).await?;
        Ok(job)
    }
}
