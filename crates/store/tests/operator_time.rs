//! The operator's time on the laptop: the Today list's day is drawn in the
//! zone HQ names, and a job past its repair-time target is flagged.

use chrono::{DateTime, Duration, Utc};
use doorstep_core::wire::PullResponse;
use doorstep_core::zone::{parse_time_zone, DEFAULT_TIME_ZONE};
use doorstep_core::*;
use doorstep_store::{JobFilter, Store, StoreKey, Tab};

const KEY: StoreKey = StoreKey::from_bytes([0x5a; 32]);

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn job(start: &str, due_by: Option<&str>, status: JobStatus) -> Job {
    let start = at(start);
    Job {
        id: JobId::new(),
        customer: Customer {
            id: CustomerId::new(),
            name: "陈美玲".into(),
            phone: "13581590830".into(),
            address: "福州市鼓楼区五四路168号".into(),
            account_number: None,
        },
        job_type: JobType::Fault,
        sub_case: SubCase::Indoor,
        fault_description: "无信号".into(),
        window_start: start,
        window_end: start + Duration::hours(1),
        status,
        earlier_visits: vec![],
        visit: 1,
        repeat_of: None,
        reported_at: None,
        due_by: due_by.map(at),
    }
}

fn pulled(jobs: Vec<Job>, time_zone: Option<&str>) -> PullResponse {
    PullResponse {
        cursor: "1".into(),
        jobs,
        removed: vec![],
        outcomes: vec![],
        server_time: None,
        hq_epoch: None,
        customers: vec![],
        documents: vec![],
        time_zone: time_zone.map(str::to_string),
        price_list: None,
    }
}

fn today_ids(store: &Store, now: DateTime<Utc>) -> Vec<JobId> {
    store
        .list_jobs(
            &JobFilter {
                tab: Tab::Today,
                query: String::new(),
            },
            store.today_ends(now).unwrap(),
            now,
            None,
        )
        .unwrap()
        .jobs
        .into_iter()
        .map(|j| j.id)
        .collect()
}

/// Today is the operator's day, named by HQ on pull, whatever zone the
/// laptop's system is set to. At 22:00 UTC on 1 December it is already 2
/// December in Shanghai: a job at 09:00 Beijing time on the 2nd is today's
/// there, and tomorrow's for an operator on London time. An HQ that names no
/// zone (an older one) leaves the one kept; a name this build does not know
/// is ignored rather than breaking the pull.
#[test]
fn todays_boundaries_follow_the_operators_zone() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("db"), &KEY).unwrap();
    assert_eq!(store.time_zone().unwrap(), DEFAULT_TIME_ZONE);
    let morning = job("2026-12-02T09:00:00+08:00", None, JobStatus::Scheduled);
    let now = at("2026-12-01T22:00:00Z");

    store
        .apply_dispatch(&pulled(vec![morning.clone()], Some("Europe/London")))
        .unwrap();
    assert_eq!(
        store.time_zone().unwrap(),
        parse_time_zone("Europe/London").unwrap()
    );
    assert_eq!(store.today_ends(now).unwrap(), at("2026-12-02T00:00:00Z"));
    assert!(today_ids(&store, now).is_empty(), "London: tomorrow's job");

    store
        .apply_dispatch(&pulled(vec![], Some("Asia/Shanghai")))
        .unwrap();
    assert_eq!(store.today_ends(now).unwrap(), at("2026-12-02T16:00:00Z"));
    assert_eq!(
        today_ids(&store, now),
        vec![morning.id],
        "Shanghai: today's"
    );

    store.apply_dispatch(&pulled(vec![], None)).unwrap();
    store
        .apply_dispatch(&pulled(vec![], Some("Mars/Olympus_Mons")))
        .unwrap();
    assert_eq!(store.time_zone().unwrap(), DEFAULT_TIME_ZONE, "kept");
}

/// HQ's due-by time travels with the job, and the list flags a job past it
/// and not done (core's `is_past_target`), beside the overdue flag: a job
/// inside its window can be past its repair target already, and one past
/// its window need not be.
#[test]
fn a_job_past_its_repair_target_is_flagged_in_the_list() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("db"), &KEY).unwrap();
    let now = at("2026-12-02T10:30:00+08:00");
    let late = job(
        "2026-12-02T10:00:00+08:00",
        Some("2026-12-02T08:00:00+08:00"),
        JobStatus::Scheduled,
    );
    let in_time = job(
        "2026-12-02T11:00:00+08:00",
        Some("2026-12-03T08:00:00+08:00"),
        JobStatus::Scheduled,
    );
    let no_target = job("2026-12-02T12:00:00+08:00", None, JobStatus::Scheduled);
    store
        .apply_dispatch(&pulled(
            vec![late.clone(), in_time.clone(), no_target.clone()],
            Some("Asia/Shanghai"),
        ))
        .unwrap();
    let flags: Vec<(JobId, bool, bool)> = store
        .list_jobs(
            &JobFilter {
                tab: Tab::Today,
                query: String::new(),
            },
            store.today_ends(now).unwrap(),
            now,
            None,
        )
        .unwrap()
        .jobs
        .into_iter()
        .map(|j| (j.id, j.past_target, j.overdue))
        .collect();
    assert_eq!(
        flags,
        vec![
            (late.id, true, false),
            (in_time.id, false, false),
            (no_target.id, false, false)
        ]
    );
    assert_eq!(
        store.visit(late.id).unwrap().job.due_by,
        late.due_by,
        "the job view holds HQ's due time"
    );
}
