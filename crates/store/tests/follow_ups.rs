//! Follow-ups on a real store file: the confirm-by-phone task after an
//! outdoor repair (standard item 10), due once the repair completes and
//! ended by the confirmation call, whose duration is kept across a reopen;
//! complaints (item 19) owed a callback until one is logged.

use chrono::{DateTime, Duration, Utc};
use doorstep_core::change::Change;
use doorstep_core::*;
use doorstep_store::{Store, StoreKey};

mod common;
use common::{complete, scheduled_job};

const KEY: StoreKey = StoreKey::from_bytes([0x31; 32]);

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn job(name: &str, sub_case: SubCase) -> Job {
    let start = at("2026-11-23T09:00:00+08:00");
    scheduled_job(
        Customer {
            id: CustomerId::new(),
            name: name.into(),
            phone: "13900000001".into(),
            address: "福州市鼓楼区五四路1号".into(),
            account_number: None,
        },
        sub_case,
        start,
    )
}

#[test]
fn an_outdoor_repair_is_due_a_confirmation_call_until_one_is_logged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doorstep.db");
    let mut store = Store::open(&path, &KEY).unwrap();
    let outdoor = job("户外", SubCase::Outdoor);
    let indoor = job("室内", SubCase::Indoor);
    store
        .upsert_jobs(&[outdoor.clone(), indoor.clone()])
        .unwrap();
    // Both repaired and completed at 10:00 China time.
    let done = at("2026-11-23T10:00:00+08:00");
    complete(&mut store, outdoor.id, done, 1);
    complete(&mut store, indoor.id, done, 2);

    // Only the outdoor repair needs a confirmation; due at 14:00 in the
    // operator's zone (China, the default; 12:00 is the midday rest). At
    // 15:00 it is overdue.
    let now = at("2026-11-23T15:00:00+08:00");
    let calls = store.confirm_calls(now).unwrap();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].job_id, outdoor.id);
    assert_eq!(calls[0].customer_name, "户外");
    assert_eq!(calls[0].due, at("2026-11-23T14:00:00+08:00"));
    assert!(calls[0].overdue);

    // The confirmation is logged on the completed job, with its duration,
    // and written to the outbox like any change.
    let pending_before = store.pending_outbox().unwrap().len();
    store
        .apply(
            outdoor.id,
            &Change::LogCall(CallLog {
                id: RecordId::new(),
                at: now,
                outcome: CallOutcome::RepairConfirmed,
                note: "信号正常".into(),
                duration_seconds: Some(83),
            }),
            now,
        )
        .expect("the confirmation call is logged after completion");
    assert_eq!(store.pending_outbox().unwrap().len(), pending_before + 1);
    assert!(store.confirm_calls(now).unwrap().is_empty());
    drop(store);

    // Across a reopen: the job is still completed, the call and its
    // duration are kept, and no task comes back.
    let store = Store::open(&path, &KEY).unwrap();
    let visit = store.visit(outdoor.id).unwrap();
    assert_eq!(visit.job.status, JobStatus::Completed);
    let confirmation = visit
        .call_logs
        .iter()
        .find(|call| call.outcome == CallOutcome::RepairConfirmed)
        .expect("the confirmation is kept");
    assert_eq!(confirmation.duration_seconds, Some(83));
    assert!(store.confirm_calls(now).unwrap().is_empty());
}

#[test]
fn a_complaint_is_owed_a_callback_until_one_is_logged_across_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doorstep.db");
    let mut store = Store::open(&path, &KEY).unwrap();
    let dispatched = job("投诉客户", SubCase::Indoor);
    store
        .upsert_jobs(std::slice::from_ref(&dispatched))
        .unwrap();
    let now = at("2026-11-23T09:30:00+08:00");
    let id = RecordId::new();
    store
        .apply(
            dispatched.id,
            &Change::RaiseComplaint(Complaint {
                id,
                taken_by: "林师傅".into(),
                issue: "上次维修后又没信号".into(),
                reply_by: now + Duration::hours(24),
            }),
            now,
        )
        .unwrap();
    drop(store);

    let mut store = Store::open(&path, &KEY).unwrap();
    let open = store.open_complaints(now + Duration::hours(1)).unwrap();
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0].customer_name, "投诉客户");
    assert!(!open[0].overdue);
    assert!(
        store.open_complaints(now + Duration::hours(25)).unwrap()[0].overdue,
        "past the promised reply time it is flagged"
    );
    store
        .apply(
            dispatched.id,
            &Change::LogComplaintCallback(ComplaintCallback {
                complaint_id: id,
                result: "已更换分支器".into(),
                satisfied: true,
            }),
            now + Duration::hours(5),
        )
        .unwrap();
    assert!(store.open_complaints(now).unwrap().is_empty());
    let kept = &store.visit(dispatched.id).unwrap().complaints[0];
    assert_eq!(kept.callback.as_ref().unwrap().result, "已更换分支器");
}
