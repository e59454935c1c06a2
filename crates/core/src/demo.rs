//! The demo set: about 30 jobs of both types, Fujian names and addresses,
//! some with earlier visits, appointments laid out around a given day. The
//! app seeds its store with it at first start; HQ's `admin load-demo` hands
//! it out to technicians. Both read it from here, so neither depends on the
//! other.

use crate::{
    Customer, CustomerId, EarlierVisit, Job, JobId, JobStatus, JobType, SubCase, FIRST_VISIT,
};
use chrono::{Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone};
use serde::Deserialize;

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
                    account_number: None,
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
                visit: FIRST_VISIT,
                repeat_of: None,
                reported_at: None,
                due_by: None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_set_lies_around_the_given_day() {
        let china = FixedOffset::east_opt(8 * 3600).unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        let jobs = demo_jobs(today, china);
        assert!(
            jobs.len() >= 20,
            "a newcomer sees a full list, got {}",
            jobs.len()
        );
        assert!(
            jobs.iter()
                .any(|j| j.window_start.with_timezone(&china).date_naive() == today),
            "some jobs are today's"
        );
        assert!(
            jobs.iter().all(|j| j.window_end > j.window_start),
            "every window ends after it starts"
        );
    }
}
