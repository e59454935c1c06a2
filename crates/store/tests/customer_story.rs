//! The customer's story (standard items 15 and 22) as the laptop keeps it:
//! what HQ sends with a pull is read back after the store is closed and
//! opened again (the technician reads it offline), with the repeat-fault
//! flag on the job list and the job.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use doorstep_core::wire::PullResponse;
use doorstep_core::*;
use doorstep_store::{JobFilter, Store, StoreKey, Tab};

const KEY: StoreKey = StoreKey::from_bytes([0x42; 32]);

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn fault_job(customer: CustomerId, repeat_of: Option<JobId>) -> Job {
    let start = at("2026-12-02T09:00:00+08:00");
    Job {
        id: JobId::new(),
        customer: Customer {
            id: customer,
            name: "林建华".into(),
            phone: "18913909960".into(),
            address: "福州市鼓楼区五四路1号".into(),
            account_number: Some("FZ-0001".into()),
        },
        job_type: JobType::Fault,
        sub_case: SubCase::Indoor,
        fault_description: "又没有信号".into(),
        window_start: start,
        window_end: start + Duration::hours(1),
        status: JobStatus::Scheduled,
        earlier_visits: vec![],
        visit: 1,
        repeat_of,
        reported_at: None,
        due_by: None,
    }
}

fn story(customer: CustomerId, earlier: JobId) -> CustomerStory {
    let date = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    CustomerStory {
        customer_id: customer,
        vip_grade: VipGrade::Gold,
        visits: vec![StoryVisit {
            job_id: earlier,
            date,
            job_type: JobType::Fault,
            sub_case: SubCase::Replacement,
            status: JobStatus::Completed,
            visit: 1,
            mot: Some(2),
            reported: "没有信号".into(),
            work: "更换光猫".into(),
            replacements: vec![StoryReplacement {
                item: ReplacedItem::CableModem,
                old_serial: "M1".into(),
                new_serial: "M2".into(),
            }],
        }],
        products: vec![Product {
            kind: ProductKind::Equipment,
            name: String::new(),
            item: Some(ReplacedItem::CableModem),
            serial: Some("M2".into()),
            since: date,
            job_id: earlier,
        }],
        open_complaints: vec![],
    }
}

/// The story must be there offline, after the app restarts: the job view
/// reads it from the store, never from HQ.
#[test]
fn the_story_and_the_repeat_flag_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doorstep.sqlite3");
    let customer = CustomerId::new();
    let earlier = JobId::new();
    let job = fault_job(customer, Some(earlier));
    let told = story(customer, earlier);
    {
        let mut store = Store::open(&path, &KEY).unwrap();
        store
            .apply_dispatch(&PullResponse {
                cursor: "3".into(),
                jobs: vec![job.clone()],
                removed: vec![],
                outcomes: vec![],
                server_time: None,
                hq_epoch: None,
                customers: vec![told.clone()],
                documents: vec![],
                time_zone: None,
                price_list: None,
            })
            .unwrap();
    }
    let store = Store::open(&path, &KEY).unwrap();
    assert_eq!(store.customer_story(job.id).unwrap(), Some(told));
    let visit = store.visit(job.id).unwrap();
    assert_eq!(
        visit.job.repeat_of,
        Some(earlier),
        "the job keeps HQ's flag"
    );
    assert_eq!(
        visit.job.customer.account_number.as_deref(),
        Some("FZ-0001")
    );
    let page = store
        .list_jobs(
            &JobFilter {
                tab: Tab::Today,
                query: String::new(),
            },
            at("2026-12-03T00:00:00+08:00"),
            at("2026-12-02T08:00:00+08:00"),
            None,
        )
        .unwrap();
    assert!(page.jobs[0].repeat_fault, "the job list row shows the flag");
}

/// An older HQ sends no story: the job view then has none to show, and a
/// story never brings in a customer the laptop holds no job of.
#[test]
fn no_story_until_hq_sends_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("db"), &KEY).unwrap();
    let job = fault_job(CustomerId::new(), None);
    let stranger = CustomerId::new();
    store
        .apply_dispatch(&PullResponse {
            cursor: "1".into(),
            jobs: vec![job.clone()],
            removed: vec![],
            outcomes: vec![],
            server_time: None,
            hq_epoch: None,
            customers: vec![story(stranger, JobId::new())],
            documents: vec![],
            time_zone: None,
            price_list: None,
        })
        .unwrap();
    assert_eq!(store.customer_story(job.id).unwrap(), None);
    assert!(store.visit(job.id).unwrap().job.repeat_of.is_none());
}
