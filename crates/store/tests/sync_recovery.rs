//! The store's side of sync recovery, on a real SQLite file: HQ restored
//! from an older backup, a new device identity, a revoked device.

mod common;
use chrono::{DateTime, Utc};
use common::scheduled_job;
use doorstep_core::change::Change;
use doorstep_core::media::CleanImage;
use doorstep_core::wire::{DeviceId, PullResponse, PushResponse};
use doorstep_core::*;
use doorstep_store::{DeviceEnrollment, Forgotten, JobFilter, Store, StoreError, StoreKey, Tab};

const KEY: StoreKey = StoreKey::from_bytes([0x42; 32]);

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn job(name: &str) -> Job {
    let start = at("2026-12-02T01:00:00Z");
    scheduled_job(
        Customer {
            id: CustomerId::new(),
            name: name.into(),
            phone: "18913909960".into(),
            address: format!("{name}家,福州市鼓楼区五四路1号"),
            account_number: None,
        },
        SubCase::Indoor,
        start,
    )
}

fn image(seed: u8) -> CleanImage {
    CleanImage {
        bytes: vec![0x89, b'P', b'N', b'G', seed],
        width: 10,
        height: 10,
    }
}

fn step(store: &mut Store, job: JobId) {
    let now = at("2026-12-02T01:10:00Z");
    store
        .apply(job, &Change::SetStep(Step::Operate), now)
        .unwrap();
}

/// HQ's dispatch answer with nothing but a cursor.
fn pull_cursor(store: &mut Store, cursor: &str) {
    let pulled = PullResponse {
        cursor: cursor.into(),
        jobs: vec![],
        removed: vec![],
        outcomes: vec![],
        server_time: None,
        hq_epoch: None,
        customers: vec![],
        documents: vec![],
        time_zone: None,
        price_list: None,
    };
    store.apply_dispatch(&pulled).unwrap();
}

fn enrollment(device_id: DeviceId) -> DeviceEnrollment {
    DeviceEnrollment {
        hq_url: "https://hq.example".into(),
        device_id,
        token: "token".into(),
        technician: "林师傅".into(),
        private_ca: None,
    }
}

fn acknowledge(store: &mut Store, through: i64) {
    let answer = PushResponse {
        applied_through_seq: through,
        receipts: vec![],
        conflicts: vec![],
    };
    store.record_push(&answer, &Utc::now()).unwrap();
}

fn pending(store: &Store) -> Vec<(i64, String)> {
    store
        .pending_outbox()
        .unwrap()
        .into_iter()
        .map(|e| (e.seq, e.op_id))
        .collect()
}

/// A store with one job and `changes` changes to it.
fn store_with_changes(changes: usize) -> (tempfile::TempDir, Store, JobId) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("db"), &KEY).unwrap();
    let job = job("林建华");
    store.upsert_jobs(std::slice::from_ref(&job)).unwrap();
    for _ in 0..changes {
        step(&mut store, job.id);
    }
    (dir, store, job.id)
}

#[test]
fn an_hq_restored_from_an_older_backup_gets_again_what_it_lost() {
    let (_dir, mut store, job) = store_with_changes(5);
    let signed = store
        .sign(job, &image(1), "[]", at("2026-12-02T01:20:00Z"))
        .unwrap()
        .signature
        .unwrap();
    acknowledge(&mut store, 6);
    store
        .mark_blobs_on_hq(std::slice::from_ref(&signed.png_hash))
        .unwrap();
    pull_cursor(&mut store, "120");
    assert!(pending(&store).is_empty());

    store.rewind_to_hq(2, &Utc::now()).unwrap();
    let seqs: Vec<i64> = pending(&store).iter().map(|(seq, _)| *seq).collect();
    assert_eq!(seqs, [3, 4, 5, 6], "what HQ lost is pending again");
    assert_eq!(store.acknowledged_through().unwrap(), 2);
    assert_eq!(
        store.pull_cursor().unwrap(),
        None,
        "the pull starts over, so HQ's dispatch comes whole"
    );
    let unsent = store
        .blob_reader()
        .unwrap()
        .not_on_hq(std::slice::from_ref(&signed.png_hash))
        .unwrap();
    assert_eq!(
        unsent.len(),
        1,
        "a blob marked sent is asked about again, not trusted"
    );

    // A later answer moves the point forward again, as before.
    acknowledge(&mut store, 6);
    assert!(pending(&store).is_empty());
    store.rewind_to_hq(6, &Utc::now()).unwrap();
    assert!(
        pending(&store).is_empty(),
        "an HQ that holds everything gets nothing again"
    );
}

#[test]
fn a_new_identity_numbers_the_waiting_changes_from_one() {
    let (_dir, mut store, job) = store_with_changes(6);
    acknowledge(&mut store, 2);
    pull_cursor(&mut store, "40");
    let waiting: Vec<String> = pending(&store).into_iter().map(|(_, op)| op).collect();
    assert_eq!(waiting.len(), 4);

    store.record_refusal("device_revoked").unwrap();
    let new_device = DeviceId::new();
    let left = store.start_outbox_over(&enrollment(new_device)).unwrap();
    assert_eq!(left, 4, "only what HQ never acknowledged is left");
    let renumbered = pending(&store);
    assert_eq!(
        renumbered,
        (1..=4).zip(waiting).collect::<Vec<_>>(),
        "the same changes, in the same order, numbered from 1"
    );
    assert_eq!(store.acknowledged_through().unwrap(), 0, "acks cleared");
    assert_eq!(store.pull_cursor().unwrap(), None, "the pull starts over");
    assert_eq!(
        store.enrollment().unwrap().map(|e| e.device_id),
        Some(new_device),
        "the new identity is saved with the new numbers"
    );
    assert_eq!(
        store.sync_refused().unwrap(),
        None,
        "the refusal it answers is cleared with it"
    );

    step(&mut store, job);
    let seqs: Vec<i64> = pending(&store).iter().map(|(seq, _)| *seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5], "a new change follows without a gap");
    assert_eq!(
        store.start_outbox_over(&enrollment(new_device)).unwrap(),
        5,
        "starting over twice changes nothing"
    );
    assert_eq!(pending(&store).len(), 5);
}

#[test]
fn a_revoked_device_keeps_only_what_hq_has_not_got() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("db"), &KEY).unwrap();
    let (delivered, unsent, untouched) = (job("王秀英"), job("陈志强"), job("郑丽华"));
    store
        .upsert_jobs(&[delivered.clone(), unsent.clone(), untouched.clone()])
        .unwrap();
    let now = at("2026-12-02T01:20:00Z");
    let photo = store
        .add_photo(delivered.id, PhotoKind::Before, &image(1), now)
        .unwrap()
        .photos[0]
        .blob_hash
        .clone();
    let signed = store
        .sign(delivered.id, &image(2), "[1]", now)
        .unwrap()
        .signature
        .unwrap();
    step(&mut store, unsent.id);
    acknowledge(&mut store, 2); // the delivered job's photo and signature
    let kept_photo = store
        .add_photo(unsent.id, PhotoKind::After, &image(3), now)
        .unwrap()
        .photos[0]
        .blob_hash
        .clone();
    // A photo taken and removed again: its blob still goes up with the change.
    let removed_photo = store
        .add_photo(unsent.id, PhotoKind::After, &image(4), now)
        .unwrap()
        .photos
        .iter()
        .find(|p| p.blob_hash != kept_photo)
        .unwrap()
        .clone();
    store
        .apply(unsent.id, &Change::RemovePhoto(removed_photo.id), now)
        .unwrap();
    store.set_last_job(Some(delivered.id)).unwrap();
    let before = pending(&store);

    let forgotten = store.forget_what_hq_holds().unwrap();
    assert_eq!(
        forgotten,
        Forgotten {
            jobs_removed: 2,
            jobs_kept: 1
        }
    );
    assert!(
        matches!(store.visit(delivered.id), Err(StoreError::NotFound(_))),
        "a job HQ holds whole is gone"
    );
    assert!(
        matches!(store.visit(untouched.id), Err(StoreError::NotFound(_))),
        "so is one dispatched and never worked: HQ holds it"
    );
    for hash in [&photo, &signed.png_hash, &signed.strokes_hash] {
        assert!(
            matches!(store.blob(hash), Err(StoreError::NotFound(_))),
            "its photos and signature go with it"
        );
    }
    let kept = store.visit(unsent.id).unwrap();
    assert_eq!(
        kept.job.customer.name, "陈志强",
        "a job with unsent changes stays whole"
    );
    assert_eq!(kept.photos.len(), 1);
    assert!(store.blob(&kept_photo).is_ok());
    assert!(
        store.blob(&removed_photo.blob_hash).is_ok(),
        "a blob an unsent change names stays"
    );
    assert_eq!(pending(&store), before, "every unsent change stays");
    assert_eq!(store.last_job().unwrap(), None);
    assert_eq!(store.job_count().unwrap(), 1);
    for name in ["王秀英", "郑丽华"] {
        let search = JobFilter {
            tab: Tab::Done,
            query: name.into(),
        };
        assert!(
            store
                .list_jobs(&search, now, now, None)
                .unwrap()
                .jobs
                .is_empty(),
            "no trace of {name} is left to find"
        );
    }
}
