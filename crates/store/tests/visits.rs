//! A job that takes more than one visit, against a real SQLite file: HQ
//! re-books a job the technician rescheduled, and the laptop starts its next
//! visit while keeping the earlier one.

use chrono::{DateTime, Duration, Utc};
use doorstep_core::change::Change;
use doorstep_core::media::CleanImage;
use doorstep_core::wire::{PullResponse, PushResponse};
use doorstep_core::*;
use doorstep_store::{JobFilter, Store, StoreKey, Tab};

const KEY: StoreKey = StoreKey::from_bytes([0x42; 32]);

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn job(start: &str) -> Job {
    let start = at(start);
    Job {
        id: JobId::new(),
        customer: Customer {
            id: CustomerId::new(),
            name: "林建华".into(),
            phone: "18913909960".into(),
            address: "福州市鼓楼区五四路1号".into(),
            account_number: None,
        },
        job_type: JobType::Fault,
        sub_case: SubCase::Outdoor,
        fault_description: "无信号".into(),
        window_start: start,
        window_end: start + Duration::hours(1),
        status: JobStatus::Scheduled,
        earlier_visits: vec![],
        visit: 1,
        repeat_of: None,
        reported_at: None,
        due_by: None,
    }
}

fn pulled(jobs: Vec<Job>) -> PullResponse {
    PullResponse {
        cursor: "7".into(),
        jobs,
        removed: vec![],
        outcomes: vec![],
        server_time: None,
        hq_epoch: None,
        customers: vec![],
        documents: vec![],
        time_zone: None,
        price_list: None,
    }
}

fn call(note: &str, now: DateTime<Utc>) -> Change {
    Change::LogCall(CallLog {
        id: RecordId::new(),
        at: now,
        outcome: CallOutcome::Booked,
        note: note.into(),
        duration_seconds: None,
    })
}

/// The first visit, worked and rescheduled for support, nothing synced yet.
fn rescheduled_first_visit(store: &mut Store, dispatched: &Job) -> String {
    store.upsert_jobs(std::slice::from_ref(dispatched)).unwrap();
    let now = at("2026-12-01T01:10:00Z");
    store
        .apply(dispatched.id, &call("上午在家", now), now)
        .unwrap();
    let photo = CleanImage {
        bytes: vec![0xff, 0xd8, 1, 2, 3],
        width: 4,
        height: 3,
    };
    let with_photo = store
        .add_photo(dispatched.id, PhotoKind::Before, &photo, now)
        .unwrap();
    store
        .apply(
            dispatched.id,
            &Change::Reschedule(Reschedule {
                reason: RescheduleReason::NeedsSupport,
                note: "需要登高车".into(),
                new_start: at("2026-12-02T01:00:00Z"),
                new_end: at("2026-12-02T02:00:00Z"),
            }),
            at("2026-12-01T01:30:00Z"),
        )
        .unwrap();
    with_photo.photos[0].blob_hash.clone()
}

#[test]
fn a_re_booked_job_starts_its_next_visit_and_keeps_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("db"), &KEY).unwrap();
    let first = job("2026-12-01T01:00:00Z");
    let photo_blob = rescheduled_first_visit(&mut store, &first);

    // HQ re-books it for a later day: visit 2, scheduled.
    let mut rebooked = first.clone();
    rebooked.visit = 2;
    rebooked.window_start = at("2026-12-03T06:00:00Z");
    rebooked.window_end = at("2026-12-03T07:00:00Z");
    store
        .apply_dispatch(&pulled(vec![rebooked.clone()]))
        .unwrap();

    let visit = store.visit(first.id).unwrap();
    assert_eq!(visit.job.visit, 2, "the laptop is on HQ's visit");
    assert_eq!(
        visit.job.status,
        JobStatus::Scheduled,
        "a re-booked job is open again, not kept closed as rescheduled"
    );
    assert_eq!(visit.job.window_start, rebooked.window_start);
    assert_eq!(
        visit.step,
        Step::Phone,
        "the next visit starts at the phone"
    );
    assert!(
        visit.call_logs.is_empty() && visit.photos.is_empty() && visit.reschedule.is_none(),
        "the next visit's forms start empty"
    );

    let past = store.past_visits(first.id).unwrap();
    assert_eq!(past.len(), 1, "the first visit is kept");
    assert_eq!(past[0].visit, 1);
    let kept = &past[0].record;
    assert_eq!(kept.job.status, JobStatus::Rescheduled);
    assert_eq!(
        kept.reschedule.as_ref().map(|r| r.note.as_str()),
        Some("需要登高车"),
        "how the first visit ended is kept"
    );
    assert_eq!(kept.call_logs.len(), 1, "what was done is kept");
    assert_eq!(past[0].closed_at, Some(at("2026-12-01T01:30:00Z")));
    assert_eq!(
        store.blob(&photo_blob).unwrap().bytes,
        vec![0xff, 0xd8, 1, 2, 3],
        "the first visit's photo stays: its pending change still names it"
    );

    // It is open under today's list for the day of the new window, and a
    // call can be logged on it, as visit 2.
    let listed = store
        .list_jobs(
            &JobFilter {
                tab: Tab::Today,
                query: String::new(),
            },
            at("2026-12-04T00:00:00Z"),
            at("2026-12-03T00:00:00Z"),
            None,
        )
        .unwrap()
        .jobs;
    assert!(
        listed.iter().any(|j| j.id == first.id),
        "the re-booked job is listed as open"
    );
    let now = at("2026-12-03T05:00:00Z");
    store
        .apply(first.id, &call("下午到", now), now)
        .expect("a call can be logged on the re-booked job");

    let pending = store.pending_outbox().unwrap();
    let visits: Vec<(&str, u32)> = pending.iter().map(|e| (e.kind.as_str(), e.visit)).collect();
    assert_eq!(
        visits,
        vec![
            ("log_call", 1),
            ("add_photo", 1),
            ("reschedule", 1),
            ("log_call", 2)
        ],
        "the first visit's unsent changes stay pending with their visit"
    );

    // The same dispatch again (a repeated pull) archives nothing more.
    store.apply_dispatch(&pulled(vec![rebooked])).unwrap();
    assert_eq!(store.past_visits(first.id).unwrap().len(), 1);
    assert_eq!(
        store.visit(first.id).unwrap().call_logs.len(),
        1,
        "visit 2's call survives a repeated pull"
    );
}

#[test]
fn hq_s_same_visit_does_not_reopen_a_job_the_technician_rescheduled() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("db"), &KEY).unwrap();
    let first = job("2026-12-01T01:00:00Z");
    rescheduled_first_visit(&mut store, &first);
    // HQ has not yet heard of the reschedule: it still says scheduled.
    store.apply_dispatch(&pulled(vec![first.clone()])).unwrap();
    let visit = store.visit(first.id).unwrap();
    assert_eq!(
        (visit.job.status, visit.job.visit),
        (JobStatus::Rescheduled, 1),
        "the technician's reschedule stands until HQ starts a next visit"
    );
    assert!(store.past_visits(first.id).unwrap().is_empty());
}

#[test]
fn a_revoked_device_keeps_the_earlier_visit_of_a_job_it_keeps() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("db"), &KEY).unwrap();
    let first = job("2026-12-01T01:00:00Z");
    let photo_blob = rescheduled_first_visit(&mut store, &first);
    // HQ has the whole first visit, then re-books the job.
    let answer = PushResponse {
        applied_through_seq: 3,
        receipts: vec![],
        conflicts: vec![],
    };
    store.record_push(&answer, &Utc::now()).unwrap();
    let mut rebooked = first.clone();
    rebooked.visit = 2;
    store.apply_dispatch(&pulled(vec![rebooked])).unwrap();
    let now = at("2026-12-03T05:00:00Z");
    store.apply(first.id, &call("下午到", now), now).unwrap();

    let forgotten = store.forget_what_hq_holds().unwrap();
    assert_eq!(
        forgotten.jobs_kept, 1,
        "visit 2's unsent call keeps the job"
    );
    assert_eq!(store.past_visits(first.id).unwrap().len(), 1);
    assert!(
        store.blob(&photo_blob).is_ok(),
        "the first visit's photo stays while the job's snapshot of that visit shows it"
    );
}
