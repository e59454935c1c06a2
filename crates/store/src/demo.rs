//! The demo set a newcomer sees at first start: about 30 jobs of both types,
//! Fujian names and addresses, some with earlier visits. Appointments are laid
//! out around the day the app is first started.

use chrono::{Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone};
use doorstep_core::{Customer, CustomerId, EarlierVisit, Job, JobId, JobStatus, JobType, SubCase};
use serde::Deserialize;

use crate::{Store, StoreError};

const DEMO_JOBS: &str = include_str!("../../../assets/demo/jobs.json");

#[derive(Deserialize)]
struct DemoCustomer {
    name: String,
    phone: String,
    address: String,
}

#[derive(Deserialize)]
struct DemoEarlierVisit {
    days_ago: i64,
    summary: String,
}

#[derive(Deserialize)]
struct DemoJob {
    customer: DemoCustomer,
    job_type: JobType,
    sub_case: SubCase,
    fault_description: String,
    day_offset: i64,
    start: NaiveTime,
    duration_minutes: i64,
    earlier_visits: Vec<DemoEarlierVisit>,
    status: JobStatus,
}

/// The demo jobs, with appointments relative to `today` in the zone `offset`.
pub fn demo_jobs(today: NaiveDate, offset: FixedOffset) -> Vec<Job> {
    let demo: Vec<DemoJob> = serde_json::from_str(DEMO_JOBS).expect("the demo set is valid JSON");
    demo.into_iter()
        .map(|d| {
            let day = today + Duration::days(d.day_offset);
            let start = offset
                .from_local_datetime(&day.and_time(d.start))
                .single()
                .expect("a fixed offset has no gaps")
                .to_utc();
            Job {
                id: JobId::new(),
                customer: Customer {
                    id: CustomerId::new(),
                    name: d.customer.name,
                    phone: d.customer.phone,
                    address: d.customer.address,
                },
                job_type: d.job_type,
                sub_case: d.sub_case,
                fault_description: d.fault_description,
                window_start: start,
                window_end: start + Duration::minutes(d.duration_minutes),
                status: d.status,
                earlier_visits: d
                    .earlier_visits
                    .into_iter()
                    .map(|v| EarlierVisit {
                        date: day - Duration::days(v.days_ago),
                        summary: v.summary,
                    })
                    .collect(),
                visit: doorstep_core::FIRST_VISIT,
            }
        })
        .collect()
}

impl Store {
    /// Loads the demo set into an empty store; a store with jobs is left alone.
    pub fn seed_demo_if_empty(
        &mut self,
        today: NaiveDate,
        offset: FixedOffset,
    ) -> Result<bool, StoreError> {
        if self.job_count()? > 0 {
            return Ok(false);
        }
        self.upsert_jobs(&demo_jobs(today, offset))?;
        self.set_setting(crate::DEMO_SEEDED, Some("1"))?;
        Ok(true)
    }
}
