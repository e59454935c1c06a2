//! Retention on a real store file, with the clock passed in: which jobs the
//! laptop stops holding, and that nothing of a removed customer is left.

use chrono::{DateTime, Duration, Utc};
use doorstep_core::change::Change;
use doorstep_core::signature::ServiceForm;
use doorstep_core::wire::{PullResponse, PushResponse, Receipt};
use doorstep_core::*;
use doorstep_store::{connect, Store, StoreError, StoreKey, DEFAULT_RETENTION_DAYS};
use rusqlite::types::Value;
use rusqlite::OpenFlags;

mod common;
use common::{complete, scheduled_job};

const KEY: StoreKey = StoreKey::from_bytes([0x17; 32]);
/// When every job here was due, worked and closed.
const DAY_ONE: &str = "2026-11-02T01:00:00Z";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn day_one() -> DateTime<Utc> {
    at(DAY_ONE)
}

fn job(name: &str, phone: &str) -> Job {
    let start = day_one();
    scheduled_job(
        Customer {
            id: CustomerId::new(),
            name: name.into(),
            phone: phone.into(),
            address: format!("{name}家,福州市鼓楼区五四路1号"),
            account_number: None,
        },
        SubCase::Indoor,
        start,
    )
}

fn reschedule(store: &mut Store, id: JobId, now: DateTime<Utc>) {
    store
        .apply(
            id,
            &Change::Reschedule(Reschedule {
                reason: RescheduleReason::NeedsSupport,
                note: "需要登高车".into(),
                new_start: now + Duration::days(2),
                new_end: now + Duration::days(2) + Duration::hours(1),
            }),
            now,
        )
        .unwrap();
}

fn last_seq(store: &Store) -> i64 {
    store.pending_outbox().unwrap().last().map_or(0, |e| e.seq)
}

/// HQ's answer: every outbox entry but the last `held_back` is durable,
/// with a receipt over the service form each of `jobs` now has on the laptop.
fn acknowledge(store: &mut Store, held_back: i64, jobs: &[JobId], now: DateTime<Utc>) {
    let through = last_seq(store) - held_back;
    let receipts = jobs
        .iter()
        .map(|id| Receipt {
            job_id: *id,
            server_time: now,
            content_hash: ServiceForm::from_visit(&store.visit(*id).unwrap()).content_hash(),
        })
        .collect();
    let answer = PushResponse {
        applied_through_seq: through,
        receipts,
        conflicts: vec![],
    };
    store.record_push(&answer, &now).unwrap();
}

fn pulled(jobs: Vec<Job>, removed: Vec<JobId>) -> PullResponse {
    PullResponse {
        cursor: "9".into(),
        jobs,
        removed,
        outcomes: vec![],
        server_time: None,
        hq_epoch: None,
        customers: vec![],
        documents: vec![],
        time_zone: None,
        price_list: None,
    }
}

fn held(store: &Store, id: JobId) -> bool {
    match store.visit(id) {
        Ok(_) => true,
        Err(StoreError::NotFound(_)) => false,
        Err(other) => panic!("{other}"),
    }
}

/// Every table whose rows mention `needle`, by a query over all of them.
fn tables_mentioning(path: &std::path::Path, needle: &str) -> Vec<String> {
    let conn = connect(path, &KEY, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut found = Vec::new();
    for table in tables {
        let mut statement = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let columns = statement.column_count();
        let mut rows = statement.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            let hit = (0..columns).any(|i| match row.get::<_, Value>(i).unwrap() {
                Value::Text(text) => text.contains(needle),
                Value::Blob(bytes) => bytes
                    .windows(needle.len())
                    .any(|window| window == needle.as_bytes()),
                _ => false,
            });
            if hit {
                found.push(table.clone());
                break;
            }
        }
    }
    found
}

#[test]
fn closed_acknowledged_jobs_go_after_the_period_and_unsent_ones_never() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let mut store = Store::open(&path, &KEY).unwrap();
    assert_eq!(DEFAULT_RETENTION_DAYS, 14);
    assert_eq!(store.retention_period().unwrap(), Duration::days(14));

    // Two visits: rescheduled, re-booked by HQ, then completed.
    let revisited = job("王秀英", "13705910001");
    let rescheduled = job("陈志强", "13705910002");
    let unsent = job("郑丽华", "13705910003");
    let mismatched = job("林建华", "13705910004");
    let open = job("黄美玲", "13705910005");
    store
        .upsert_jobs(&[
            revisited.clone(),
            rescheduled.clone(),
            unsent.clone(),
            mismatched.clone(),
            open.clone(),
        ])
        .unwrap();
    let t = day_one() + Duration::minutes(10);
    reschedule(&mut store, revisited.id, t);
    let mut rebooked = revisited.clone();
    rebooked.visit = 2;
    store
        .apply_dispatch(&pulled(vec![rebooked], vec![]))
        .unwrap();
    complete(&mut store, revisited.id, t, 1);
    reschedule(&mut store, rescheduled.id, t);
    complete(&mut store, mismatched.id, t, 2);
    complete(&mut store, unsent.id, t, 3);
    let acked_at = day_one() + Duration::hours(2);
    // HQ holds everything but the unsent job's last change (its completion).
    acknowledge(
        &mut store,
        1,
        &[revisited.id, rescheduled.id, unsent.id],
        acked_at,
    );
    let wrong = PushResponse {
        applied_through_seq: 0,
        receipts: vec![Receipt {
            job_id: mismatched.id,
            server_time: acked_at,
            content_hash: "not what the laptop holds".into(),
        }],
        conflicts: vec![],
    };
    store.record_push(&wrong, &acked_at).unwrap();
    store.set_last_job(Some(revisited.id)).unwrap();
    assert!(!store.past_visits(revisited.id).unwrap().is_empty());
    let photos: Vec<String> = (store.visit(revisited.id).unwrap().photos)
        .iter()
        .map(|p| p.blob_hash.clone())
        .collect();
    let signature = store.visit(revisited.id).unwrap().signature.unwrap();

    let fortnight = Duration::days(14);
    assert_eq!(
        store
            .sweep_retention(acked_at + fortnight - Duration::seconds(1))
            .unwrap(),
        0,
        "the period counts from HQ's acknowledgement, not from the visit"
    );
    assert_eq!(store.sweep_retention(acked_at + fortnight).unwrap(), 2);
    assert!(
        !held(&store, revisited.id),
        "completed and acknowledged: gone"
    );
    assert!(
        !held(&store, rescheduled.id),
        "rescheduled and acknowledged: gone too"
    );
    assert!(
        held(&store, unsent.id),
        "a job with a change HQ has not acknowledged stays"
    );
    assert!(
        held(&store, mismatched.id),
        "a receipt that is not what the laptop holds is no acknowledgement"
    );
    assert!(held(&store, open.id), "an open job stays");
    assert_eq!(store.last_job().unwrap(), None);
    for hash in photos
        .iter()
        .chain([&signature.png_hash, &signature.strokes_hash])
    {
        assert!(
            matches!(store.blob(hash), Err(StoreError::NotFound(_))),
            "its photos and signature go with it"
        );
    }
    for needle in ["王秀英", "13705910001", "陈志强", "13705910002"] {
        assert_eq!(
            tables_mentioning(&path, needle),
            Vec::<String>::new(),
            "no table holds {needle} any more"
        );
    }
    assert!(!tables_mentioning(&path, "郑丽华").is_empty());

    // Once HQ has the last change, the unsent job's period starts then.
    let later = acked_at + Duration::days(3);
    acknowledge(&mut store, 0, &[unsent.id], later);
    assert_eq!(
        store.sweep_retention(later + Duration::days(13)).unwrap(),
        0
    );
    assert_eq!(store.sweep_retention(later + fortnight).unwrap(), 1);
    assert!(!held(&store, unsent.id));
    assert!(tables_mentioning(&path, "郑丽华").is_empty());
    assert!(held(&store, mismatched.id) && held(&store, open.id));
}

#[test]
fn a_job_reassigned_away_goes_once_nothing_of_it_waits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let mut store = Store::open(&path, &KEY).unwrap();
    let (sent, waiting, back) = (
        job("王秀英", "13705910001"),
        job("陈志强", "13705910002"),
        job("郑丽华", "13705910003"),
    );
    store
        .upsert_jobs(&[sent.clone(), waiting.clone(), back.clone()])
        .unwrap();
    let t = day_one();
    let call = |note: &str| {
        Change::LogCall(CallLog {
            id: RecordId::new(),
            at: t,
            outcome: CallOutcome::Booked,
            note: note.into(),
            duration_seconds: None,
        })
    };
    store.apply(sent.id, &call("上午在家"), t).unwrap();
    store.apply(back.id, &call("下午在家"), t).unwrap();
    acknowledge(&mut store, 0, &[], t);
    store.apply(waiting.id, &call("晚上在家"), t).unwrap();
    store
        .apply_dispatch(&pulled(vec![], vec![sent.id, waiting.id, back.id]))
        .unwrap();
    // HQ gives one back before the sweep: it is this technician's again.
    store
        .apply_dispatch(&pulled(vec![back.clone()], vec![]))
        .unwrap();

    assert_eq!(store.sweep_retention(t).unwrap(), 1, "no period to wait");
    assert!(!held(&store, sent.id), "HQ holds all of it: gone");
    assert!(held(&store, waiting.id), "a change still waits: it stays");
    assert!(held(&store, back.id), "a job given back stays");
    assert!(tables_mentioning(&path, "王秀英").is_empty());

    acknowledge(&mut store, 0, &[], t);
    assert_eq!(store.sweep_retention(t).unwrap(), 1);
    assert!(!held(&store, waiting.id), "gone once HQ has its change");
}

#[test]
fn the_period_is_a_setting() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("db"), &KEY).unwrap();
    let done = job("王秀英", "13705910001");
    store.upsert_jobs(std::slice::from_ref(&done)).unwrap();
    complete(&mut store, done.id, day_one(), 1);
    acknowledge(&mut store, 0, &[done.id], day_one());
    store.set_retention_days(30).unwrap();
    assert_eq!(store.retention_period().unwrap(), Duration::days(30));
    assert_eq!(
        store
            .sweep_retention(day_one() + Duration::days(29))
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .sweep_retention(day_one() + Duration::days(30))
            .unwrap(),
        1
    );
}

/// HQ restored from a backup older than the retention period lacks the
/// changes of jobs the laptop has since removed. The changes the laptop
/// still holds go again, numbered on from what HQ holds: a hole where the
/// removed ones were would stop every later push as a sequence gap.
#[test]
fn a_rewind_past_removed_jobs_numbers_what_is_left_on_from_hq() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("db"), &KEY).unwrap();
    let gone = job("王秀英", "13705910001");
    let kept = job("陈志强", "13705910002");
    store.upsert_jobs(&[gone.clone(), kept.clone()]).unwrap();
    let t = day_one() + Duration::minutes(10);
    store
        .apply(kept.id, &Change::SetStep(Step::Visit), t)
        .unwrap();
    complete(&mut store, gone.id, t, 1);
    store
        .apply(kept.id, &Change::SetStep(Step::Operate), t)
        .unwrap();
    let acked_at = day_one() + Duration::hours(2);
    acknowledge(&mut store, 0, &[gone.id], acked_at);
    store
        .apply(kept.id, &Change::SetStep(Step::Communicate), acked_at)
        .unwrap();
    let later = acked_at + Duration::days(15);
    assert_eq!(store.sweep_retention(later).unwrap(), 1);
    assert!(!held(&store, gone.id));

    // HQ comes back from a backup that held none of this device's changes.
    store.rewind_to_hq(0, &later).unwrap();
    let seqs: Vec<i64> = store
        .pending_outbox()
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(
        seqs,
        vec![1, 2, 3],
        "the kept job's three changes, in order, numbered on from 0"
    );
    store
        .apply(kept.id, &Change::SetStep(Step::Evaluate), later)
        .unwrap();
    let seqs: Vec<i64> = store
        .pending_outbox()
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(
        seqs,
        vec![1, 2, 3, 4],
        "a new change follows without a hole"
    );
}
