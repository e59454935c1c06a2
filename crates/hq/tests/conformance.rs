//! One conformance suite, every storage backend: SQLite always, PostgreSQL
//! when DOORSTEP_TEST_POSTGRES_URL is set (each test in its own schema).
//! Each behaviour is one generic async fn over `Arc<dyn Storage>`.

mod common;

use std::sync::Arc;

use common::*;
use doorstep_core::change::Change;
use doorstep_core::signature::ServiceForm;
use doorstep_core::wire::{ConflictReason, DeviceId, PushEntry, TechnicianId};
use doorstep_core::JobId;
use doorstep_core::{legacy_price_list, FeeLine, PriceItem};
use doorstep_core::{JobStatus, Reschedule, RescheduleReason, Step, SupportRequest, VisitRecord};
use doorstep_hq::records::{AuditAction, AuditEntry, AuditFilter, AuditRecord, Purged};
use doorstep_hq::rules::prices::{price_list_at, PriceEdit};
use doorstep_hq::storage::{DeviceAuth, DispatchChange, DispatchedJob, Resolution, Storage};
use doorstep_hq::HqError;
use uuid::Uuid;

async fn enrolled(storage: &Arc<dyn Storage>, name: &str) -> (TechnicianId, DeviceAuth) {
    let tech = technician(storage, name).await;
    let code = format!("code-{}", tech.id);
    storage
        .create_enrollment_code(Uuid::now_v7(), &code, tech.id, at(60), &any_entry())
        .await
        .unwrap();
    let device = DeviceId::new();
    storage
        .enroll(&code, device, "laptop", &format!("token-{device}"), t0())
        .await
        .unwrap();
    let auth = storage
        .device_by_token(&format!("token-{device}"))
        .await
        .unwrap()
        .unwrap();
    (tech.id, auth)
}

/// A job for `technician`, stored at t0.
async fn stored_job(
    storage: &Arc<dyn Storage>,
    technician: Option<TechnicianId>,
    name: &str,
) -> DispatchedJob {
    let job = job_for(technician, name);
    storage
        .create_jobs(std::slice::from_ref(&job), t0(), &[])
        .await
        .unwrap();
    job
}

async fn enrollment_code_is_single_use(storage: Arc<dyn Storage>) {
    let tech = technician(&storage, "林").await;
    storage
        .create_enrollment_code(Uuid::now_v7(), "c1", tech.id, at(60), &any_entry())
        .await
        .unwrap();
    let first = storage
        .enroll("c1", DeviceId::new(), "a", "tok-a", t0())
        .await
        .unwrap();
    assert_eq!(
        first.id, tech.id,
        "the code enrolls the device for its technician"
    );
    let again = storage
        .enroll("c1", DeviceId::new(), "b", "tok-b", t0())
        .await;
    assert!(
        matches!(&again, Err(e) if e.code() == "invalid_code"),
        "a used code must not enroll a second device: {again:?}"
    );
    storage
        .create_enrollment_code(Uuid::now_v7(), "c2", tech.id, at(60), &any_entry())
        .await
        .unwrap();
    let late = storage
        .enroll("c2", DeviceId::new(), "c", "tok-c", at(61))
        .await;
    let unknown = storage
        .enroll("never-issued", DeviceId::new(), "d", "tok-d", t0())
        .await;
    assert!(
        matches!(&unknown, Err(e) if e.code() == "invalid_code"),
        "a code HQ never issued enrolls nothing: {unknown:?}"
    );
    assert!(
        matches!(&late, Err(e) if e.code() == "invalid_code"),
        "an expired code must not enroll: {late:?}"
    );
    assert!(
        storage.device_by_token("tok-b").await.unwrap().is_none(),
        "a refused enrollment must leave no device behind"
    );
}

async fn revoked_device_is_marked(storage: Arc<dyn Storage>) {
    let (_, device) = enrolled(&storage, "林").await;
    assert!(!device.revoked, "a new device is not revoked");
    let info = storage
        .revoke_device(device.id, at(5), &any_entry())
        .await
        .unwrap();
    assert_eq!(info.revoked_at, Some(at(5)), "revocation time is kept");
    let auth = storage
        .device_by_token(&format!("token-{}", device.id))
        .await
        .unwrap()
        .unwrap();
    assert!(
        auth.revoked,
        "the token must now resolve to a revoked device"
    );
    let missing = storage
        .revoke_device(DeviceId::new(), t0(), &any_entry())
        .await;
    assert!(
        matches!(missing, Err(HqError::NotFound(_))),
        "revoking an unknown device is a 404"
    );
}

async fn pull_follows_the_change_counter(storage: Arc<dyn Storage>) {
    let (a, _) = enrolled(&storage, "A").await;
    let (b, _) = enrolled(&storage, "B").await;
    let ja = job_for(Some(a), "甲");
    let jb = job_for(Some(b), "乙");
    let unassigned = job_for(None, "丙");
    storage
        .create_jobs(&[ja.clone(), jb.clone(), unassigned], t0(), &[])
        .await
        .unwrap();

    let first = storage.pull(a, 0).await.unwrap();
    assert_eq!(
        first.jobs,
        vec![ja.job.clone()],
        "a technician sees exactly their own jobs, as dispatched"
    );
    assert!(first.removed.is_empty(), "nothing was taken away yet");
    let quiet = storage.pull(a, first.cursor).await.unwrap();
    assert!(
        quiet.jobs.is_empty() && quiet.removed.is_empty(),
        "nothing changed since the cursor, so nothing comes back"
    );

    storage
        .change_job(ja.job.id, DispatchChange::Assign(b), &any_entry())
        .await
        .unwrap();
    let after = storage.pull(a, first.cursor).await.unwrap();
    assert_eq!(
        after.removed,
        vec![ja.job.id],
        "a job reassigned away is listed as removed for its old technician"
    );
    assert!(
        after.jobs.is_empty(),
        "the old technician no longer gets it"
    );
    let for_b = storage.pull(b, 0).await.unwrap();
    assert_eq!(for_b.jobs.len(), 2, "the new technician gets it");

    storage
        .change_job(jb.job.id, DispatchChange::Cancel, &any_entry())
        .await
        .unwrap();
    let cancelled = storage.pull(b, for_b.cursor).await.unwrap();
    assert_eq!(
        cancelled.jobs.len(),
        1,
        "a cancellation is a change to pull"
    );
    assert_eq!(
        cancelled.jobs[0].status,
        JobStatus::Cancelled,
        "a cancelled job arrives with status cancelled"
    );
    assert!(
        cancelled.cursor > for_b.cursor,
        "the cursor moves forward with every dispatch change"
    );
}

async fn push_is_idempotent(storage: Arc<dyn Storage>) {
    let (a, device) = enrolled(&storage, "A").await;
    let job = stored_job(&storage, Some(a), "甲").await;
    let batch = vec![
        entry(1, job.job.id, kit()),
        entry(2, job.job.id, work("replaced splitter")),
    ];
    let first = storage.push(&device, &plain(&batch), at(10)).await.unwrap();
    assert_eq!(first.applied_through_seq, 2, "both entries were applied");
    assert_eq!(first.receipts.len(), 1, "one receipt per job in the batch");
    let again = storage.push(&device, &plain(&batch), at(20)).await.unwrap();
    assert_eq!(
        again.applied_through_seq, 2,
        "a resent batch reports the same progress"
    );
    assert_eq!(
        again.receipts, first.receipts,
        "a resent batch changes nothing, so the receipt (time and hash) is the same"
    );
    let records = storage.job_records(job.job.id).await.unwrap().unwrap();
    assert_eq!(records.ops.len(), 2, "each op is stored once");
    assert_eq!(
        records.ops[0].device_time,
        at(1),
        "the device's time is kept as sent"
    );
    assert_eq!(
        records.ops[0].server_time,
        at(10),
        "the server's receive time is kept beside it"
    );

    // Half applied, then resent with more: only the new tail applies.
    let longer = vec![
        batch[0].clone(),
        batch[1].clone(),
        entry(3, job.job.id, work("replaced splitter and connector")),
    ];
    let resumed = storage
        .push(&device, &plain(&longer), at(30))
        .await
        .unwrap();
    assert_eq!(resumed.applied_through_seq, 3, "the new entry applies");
    let records = storage.job_records(job.job.id).await.unwrap().unwrap();
    assert_eq!(records.ops.len(), 3, "no entry is stored twice");
    let work_record = records
        .records
        .iter()
        .find(|r| r.record_key == "work")
        .unwrap();
    assert_eq!(
        work_record.body["description"], "replaced splitter and connector",
        "the latest state of a section is the last change to it"
    );
}

async fn push_detects_a_gap(storage: Arc<dyn Storage>) {
    let (a, device) = enrolled(&storage, "A").await;
    let job = stored_job(&storage, Some(a), "甲").await;
    let gap = storage
        .push(&device, &plain(&[entry(2, job.job.id, kit())]), t0())
        .await;
    assert!(
        matches!(gap, Err(HqError::SequenceGap { expected_seq: 1 })),
        "a first seq beyond last+1 is a gap, and HQ says which seq it expects: {gap:?}"
    );
    let hole = storage
        .push(
            &device,
            &plain(&[entry(1, job.job.id, kit()), entry(3, job.job.id, kit())]),
            t0(),
        )
        .await;
    assert!(
        matches!(hole, Err(HqError::SequenceGap { expected_seq: 2 })),
        "a hole inside a batch is a gap too: {hole:?}"
    );
    let records = storage.job_records(job.job.id).await.unwrap().unwrap();
    assert!(
        records.ops.is_empty(),
        "a refused batch applies nothing, not even its valid prefix"
    );
}

/// A change HQ cannot apply (a job it does not know, or one never this
/// technician's) is kept as a conflict and the batch goes on: refusing the
/// batch would hold back every change behind it for good.
async fn a_change_hq_cannot_apply_is_kept_as_a_conflict(storage: Arc<dyn Storage>) {
    let (a, device_a) = enrolled(&storage, "A").await;
    let (b, _) = enrolled(&storage, "B").await;
    let mine = stored_job(&storage, Some(a), "甲").await;
    let theirs = stored_job(&storage, Some(b), "乙").await;
    let unknown = doorstep_core::JobId::new();
    let answer = storage
        .push(
            &device_a,
            &plain(&[
                entry(1, mine.job.id, kit()),
                entry(2, unknown, kit()),
                entry(3, theirs.job.id, kit()),
                entry(4, unknown, Change::SetStep(Step::Visit)),
                entry(5, mine.job.id, Change::SetStep(Step::Visit)),
            ]),
            t0(),
        )
        .await
        .expect("a change HQ cannot apply does not refuse the batch");
    assert_eq!(
        answer.applied_through_seq, 5,
        "every entry is durable, the refused ones too, so the device goes on"
    );
    let mut reasons: Vec<_> = answer
        .conflicts
        .iter()
        .map(|c| (c.job_id, c.reason))
        .collect();
    reasons.sort_by_key(|(job, _)| *job);
    let mut expected = vec![
        (unknown, ConflictReason::UnknownJob),
        (theirs.job.id, ConflictReason::NotAssigned),
    ];
    expected.sort_by_key(|(job, _)| *job);
    assert_eq!(
        reasons, expected,
        "the answer names each refused job once, with why"
    );
    assert_eq!(
        answer.receipts.iter().map(|r| r.job_id).collect::<Vec<_>>(),
        vec![mine.job.id],
        "only the job the device may write gets a receipt; B's stays B's"
    );
    let listed = storage.conflicts(true).await.unwrap();
    assert!(
        listed.iter().any(|c| c.job_id == unknown
            && c.reason == ConflictReason::UnknownJob
            && c.technician_id == a),
        "a dispatcher sees the change to an unknown job: {listed:?}"
    );
    assert!(
        listed
            .iter()
            .any(|c| c.job_id == theirs.job.id && c.reason == ConflictReason::NotAssigned),
        "a dispatcher sees the change to another technician's job: {listed:?}"
    );
    let records = storage.job_records(theirs.job.id).await.unwrap().unwrap();
    assert!(
        records.ops.is_empty() && records.receipt.is_none(),
        "a refused change touches nothing of B's job: {records:?}"
    );
    let mine_after = storage.job_records(mine.job.id).await.unwrap().unwrap();
    assert_eq!(
        mine_after.ops.len(),
        2,
        "the changes around the refused ones are applied"
    );

    let again = storage
        .push(&device_a, &plain(&[entry(6, unknown, kit())]), at(1))
        .await
        .unwrap();
    let open_on_unknown = storage
        .conflicts(true)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.job_id == unknown)
        .count();
    assert_eq!(
        open_on_unknown, 1,
        "one open conflict per job: a dispatcher settles the changes behind it at once"
    );
    assert_eq!(again.applied_through_seq, 6, "and the seq still advances");

    let revoked = storage
        .revoke_device(device_a.id, t0(), &any_entry())
        .await
        .unwrap();
    assert!(revoked.revoked_at.is_some());
    let after = storage.push(&device_a, &plain(&[]), t0()).await;
    assert!(
        matches!(&after, Err(e) if e.code() == "device_revoked"),
        "a revoked device is refused even with a cached auth: {after:?}"
    );
}

/// A laptop whose clock was set years wrong (a flat CMOS battery) sends
/// changes stamped outside the years HQ accepts. Refusing the batch would
/// hold every later change back for good; dropping them would lose work.
/// They are kept apart with a conflict, and the rest goes on.
async fn a_change_with_an_impossible_time_is_kept_apart(storage: Arc<dyn Storage>) {
    let (a, device) = enrolled(&storage, "A").await;
    let job = stored_job(&storage, Some(a), "甲").await;
    let mut batch = plain(&[
        entry(1, job.job.id, kit()),
        entry(2, job.job.id, Change::SetStep(Step::Visit)),
    ]);
    batch.impossible_time.insert(1);
    batch.clock_skew_seconds = Some(-3 * 86_400);
    let answer = storage.push(&device, &batch, at(1)).await.unwrap();
    assert_eq!(answer.applied_through_seq, 2, "both entries are durable");
    assert_eq!(
        answer
            .conflicts
            .iter()
            .map(|c| (c.job_id, c.reason))
            .collect::<Vec<_>>(),
        vec![(job.job.id, ConflictReason::ImpossibleTime)],
        "the device hears why one change was kept apart"
    );
    let records = storage.job_records(job.job.id).await.unwrap().unwrap();
    assert_eq!(
        records.ops.iter().map(|op| op.seq).collect::<Vec<_>>(),
        vec![2],
        "only the change with a possible time enters the job"
    );
    assert_eq!(
        records.ops[0].clock_skew_seconds,
        Some(-3 * 86_400),
        "a change from a skewed clock is flagged for the console"
    );

    // More changes from the same clock: still one open conflict.
    let mut later = plain(&[entry(3, job.job.id, kit())]);
    later.impossible_time.insert(3);
    storage.push(&device, &later, at(2)).await.unwrap();
    let open = storage.conflicts(true).await.unwrap();
    assert_eq!(
        open.len(),
        1,
        "one open conflict settles them all: {open:?}"
    );

    let accepted = storage
        .resolve_conflict(
            open[0].id,
            Resolution::AcceptCompletion,
            "",
            "d",
            at(3),
            &any_entry(),
        )
        .await;
    assert!(
        matches!(&accepted, Err(e) if e.code() == "kept_apart"),
        "a change HQ never applied cannot be accepted into the job: {accepted:?}"
    );
    let kept = storage
        .resolve_conflict(
            open[0].id,
            Resolution::KeepCancelled,
            "clock fixed",
            "d",
            at(3),
            &any_entry(),
        )
        .await
        .unwrap();
    assert_eq!(kept.resolution, Some(Resolution::KeepCancelled));
    let unflagged = storage
        .push(&device, &plain(&[entry(4, job.job.id, kit())]), at(4))
        .await
        .unwrap();
    assert!(unflagged.conflicts.is_empty(), "{unflagged:?}");
    let records = storage.job_records(job.job.id).await.unwrap().unwrap();
    assert_eq!(
        records.ops.last().map(|op| (op.seq, op.clock_skew_seconds)),
        Some((4, None)),
        "a change from a right clock carries no flag"
    );
}

fn wall_mount(fen: u32) -> PriceItem {
    PriceItem {
        code: "wall_mount".into(),
        name_zh: "壁挂支架".into(),
        name_en: "Wall mount".into(),
        unit_price_fen: fen,
        retired: false,
    }
}

/// The price list starts as the list apps carried (version 1), and every
/// edit is the next version with its audit entry, so any version's list can
/// be rebuilt; a refused edit writes nothing, not even its entry.
async fn the_price_list_keeps_every_version(storage: Arc<dyn Storage>) {
    let history = storage.price_history().await.unwrap();
    assert_eq!(storage.price_list_version().await.unwrap(), 1);
    let mut first = legacy_price_list();
    first.items.sort_by(|a, b| a.code.cmp(&b.code));
    assert_eq!(
        price_list_at(&history, 1),
        first,
        "seeded with the list apps carried (by code), so nothing changes for old jobs"
    );

    let added = noted(AuditAction::AddPriceItem, None);
    let v2 = storage
        .edit_price_list(&PriceEdit::Add(wall_mount(8000)), &added)
        .await
        .unwrap();
    let v3 = storage
        .edit_price_list(
            &PriceEdit::Change(wall_mount(9000)),
            &noted(AuditAction::ChangePriceItem, None),
        )
        .await
        .unwrap();
    let v4 = storage
        .edit_price_list(
            &PriceEdit::Retire("splitter".into()),
            &noted(AuditAction::RetirePriceItem, None),
        )
        .await
        .unwrap();
    assert_eq!((v2, v3, v4), (2, 3, 4));
    assert_eq!(storage.price_list_version().await.unwrap(), 4);

    let taken = storage
        .edit_price_list(&PriceEdit::Add(wall_mount(1)), &added)
        .await;
    assert!(
        matches!(&taken, Err(e) if e.code() == "price_code_taken"),
        "{taken:?}"
    );
    let retired = storage
        .edit_price_list(
            &PriceEdit::Change(PriceItem {
                code: "splitter".into(),
                ..wall_mount(1)
            }),
            &added,
        )
        .await;
    assert!(
        matches!(&retired, Err(e) if e.code() == "price_item_retired"),
        "{retired:?}"
    );
    assert_eq!(
        storage.price_list_version().await.unwrap(),
        4,
        "refusals write nothing"
    );
    let actions: Vec<AuditAction> = all_entries(&storage)
        .await
        .into_iter()
        .map(|e| e.record.action)
        .collect();
    assert_eq!(
        actions,
        vec![
            AuditAction::RetirePriceItem,
            AuditAction::ChangePriceItem,
            AuditAction::AddPriceItem
        ],
        "one entry per edit that was made, none for refusals"
    );

    let history = storage.price_history().await.unwrap();
    assert_eq!(
        price_list_at(&history, 2)
            .item("wall_mount")
            .map(|i| i.unit_price_fen),
        Some(8000)
    );
    let now = price_list_at(&history, 4);
    assert_eq!(now.item("wall_mount").map(|i| i.unit_price_fen), Some(9000));
    assert!(
        now.item("splitter").unwrap().retired,
        "retired, still readable"
    );
    assert!(now.chargeable("splitter").is_none());
}

/// A change the service found charging fees off the price list the device
/// held is kept apart like one with an impossible time: the batch goes on,
/// the job is untouched, a dispatcher hears of it.
async fn fees_off_the_price_list_are_kept_apart(storage: Arc<dyn Storage>) {
    let (a, device) = enrolled(&storage, "A").await;
    let job = stored_job(&storage, Some(a), "甲").await;
    let fees = Change::SetFees(vec![FeeLine {
        code: "remote".into(),
        quantity: 1,
        priced: None,
    }]);
    let mut batch = plain(&[entry(1, job.job.id, fees), entry(2, job.job.id, kit())]);
    batch.off_price_list.insert(1);
    let answer = storage.push(&device, &batch, at(1)).await.unwrap();
    assert_eq!(answer.applied_through_seq, 2);
    assert_eq!(
        answer
            .conflicts
            .iter()
            .map(|c| c.reason)
            .collect::<Vec<_>>(),
        vec![ConflictReason::OffPriceList]
    );
    let records = storage.job_records(job.job.id).await.unwrap().unwrap();
    assert_eq!(
        records.ops.iter().map(|op| op.seq).collect::<Vec<_>>(),
        vec![2],
        "the fees never enter the job"
    );
}

async fn conflict_keeps_both_and_resolves(storage: Arc<dyn Storage>) {
    let (a, device) = enrolled(&storage, "A").await;
    let job = stored_job(&storage, Some(a), "甲").await;
    storage
        .push(&device, &plain(&[entry(1, job.job.id, kit())]), at(1))
        .await
        .unwrap();
    storage
        .change_job(job.job.id, DispatchChange::Cancel, &any_entry())
        .await
        .unwrap();
    let pushed = storage
        .push(
            &device,
            &plain(&[
                entry(2, job.job.id, work("done")),
                entry(3, job.job.id, Change::Complete),
            ]),
            at(5),
        )
        .await
        .unwrap();
    assert_eq!(pushed.applied_through_seq, 3, "the records are accepted");
    assert_eq!(pushed.conflicts.len(), 1, "one conflict for the job");
    assert_eq!(pushed.conflicts[0].reason, ConflictReason::Cancelled);
    let records = storage.job_records(job.job.id).await.unwrap().unwrap();
    assert_eq!(
        records.dispatch.job.status,
        JobStatus::Cancelled,
        "HQ's dispatch state stays until a dispatcher decides"
    );
    assert_eq!(
        records.ops.len(),
        3,
        "nothing the technician sent is dropped"
    );
    assert!(
        records.records.iter().any(|r| r.record_key == "completion"),
        "the completion is on file"
    );
    let open = storage.conflicts(true).await.unwrap();
    assert_eq!(open.len(), 1, "the conflict is in the queue");

    let resolved = storage
        .resolve_conflict(
            open[0].id,
            Resolution::KeepCancelled,
            "customer called",
            "d",
            at(9),
            &any_entry(),
        )
        .await
        .unwrap();
    assert_eq!(resolved.resolution, Some(Resolution::KeepCancelled));
    assert!(
        storage.conflicts(true).await.unwrap().is_empty(),
        "a resolved conflict leaves the open queue"
    );
    assert_eq!(
        storage.conflicts(false).await.unwrap().len(),
        1,
        "and stays on record"
    );
    let twice = storage
        .resolve_conflict(
            open[0].id,
            Resolution::AcceptCompletion,
            "",
            "d",
            at(9),
            &any_entry(),
        )
        .await;
    assert!(
        matches!(&twice, Err(e) if e.code() == "already_resolved"),
        "a conflict is resolved once: {twice:?}"
    );
}

async fn accepting_a_completion_reassigns_back(storage: Arc<dyn Storage>) {
    let (a, device) = enrolled(&storage, "A").await;
    let (b, _) = enrolled(&storage, "B").await;
    let job = stored_job(&storage, Some(a), "甲").await;
    storage
        .change_job(job.job.id, DispatchChange::Assign(b), &any_entry())
        .await
        .unwrap();
    let pushed = storage
        .push(&device, &plain(&[entry(1, job.job.id, kit())]), at(2))
        .await
        .unwrap();
    assert_eq!(
        pushed.conflicts.first().map(|c| c.reason),
        Some(ConflictReason::Reassigned),
        "a write to a job given to someone else is a conflict, not a refusal"
    );
    let resolved = storage
        .resolve_conflict(
            pushed.conflicts[0].conflict_id,
            Resolution::AcceptCompletion,
            "A did it",
            "d",
            at(3),
            &any_entry(),
        )
        .await
        .unwrap();
    assert!(resolved.resolved_at.is_some());
    let records = storage.job_records(job.job.id).await.unwrap().unwrap();
    assert_eq!(
        records.dispatch.technician_id,
        Some(a),
        "accepting the technician's work gives the job back to them"
    );
    assert_eq!(
        records.dispatch.job.status,
        JobStatus::InProgress,
        "and the job takes the status their records give it"
    );
}

async fn a_decision_reaches_the_technicians_next_pull(storage: Arc<dyn Storage>) {
    let (a, device) = enrolled(&storage, "A").await;
    let (b, _) = enrolled(&storage, "B").await;
    let job = stored_job(&storage, Some(a), "甲").await;
    storage
        .change_job(job.job.id, DispatchChange::Cancel, &any_entry())
        .await
        .unwrap();
    let pushed = storage
        .push(&device, &plain(&[entry(1, job.job.id, kit())]), at(2))
        .await
        .unwrap();
    let before = storage.pull(a, 0).await.unwrap();
    assert!(before.resolved.is_empty(), "nothing is decided yet");

    storage
        .resolve_conflict(
            pushed.conflicts[0].conflict_id,
            Resolution::KeepCancelled,
            "客户已改约",
            "d",
            at(3),
            &any_entry(),
        )
        .await
        .unwrap();
    let after = storage.pull(a, before.cursor).await.unwrap();
    assert!(after.cursor > before.cursor, "a decision moves the cursor");
    assert_eq!(after.resolved.len(), 1, "the decision comes with the pull");
    let decided = &after.resolved[0];
    assert_eq!(decided.job_id, job.job.id);
    assert_eq!(decided.resolution, Some(Resolution::KeepCancelled));
    assert_eq!(decided.note.as_deref(), Some("客户已改约"));
    assert!(
        storage
            .pull(a, after.cursor)
            .await
            .unwrap()
            .resolved
            .is_empty(),
        "and only once"
    );
    assert!(
        storage.pull(b, 0).await.unwrap().resolved.is_empty(),
        "another technician never sees it"
    );
}

async fn receipt_hash_matches_the_apps(storage: Arc<dyn Storage>) {
    let (a, device) = enrolled(&storage, "A").await;
    let job = stored_job(&storage, Some(a), "甲").await;
    let changes = [kit(), work("replaced splitter")];
    // What the app computes: the same changes applied to its copy of the job.
    let mut visit = VisitRecord::new(job.job.clone());
    for (i, change) in changes.iter().enumerate() {
        change.apply(&mut visit, at(i as i64 + 1)).unwrap();
    }
    let expected = ServiceForm::from_visit(&visit).content_hash();
    let batch: Vec<_> = changes
        .iter()
        .enumerate()
        .map(|(i, c)| entry(i as i64 + 1, job.job.id, c.clone()))
        .collect();
    let pushed = storage.push(&device, &plain(&batch), at(10)).await.unwrap();
    assert_eq!(
        pushed.receipts[0].content_hash, expected,
        "HQ's receipt hash equals the service form hash the app computes"
    );
    assert_eq!(
        pushed.receipts[0].server_time,
        at(10),
        "server time of the receipt"
    );
    let records = storage.job_records(job.job.id).await.unwrap().unwrap();
    assert_eq!(
        records.dispatch.job.status,
        JobStatus::InProgress,
        "the technician's progress shows on HQ"
    );

    // A later batch builds on what HQ already holds for the job.
    let later = work("replaced splitter and connector");
    later.apply(&mut visit, at(3)).unwrap();
    let pushed = storage
        .push(&device, &plain(&[entry(3, job.job.id, later)]), at(20))
        .await
        .unwrap();
    assert_eq!(
        pushed.receipts[0].content_hash,
        ServiceForm::from_visit(&visit).content_hash(),
        "the receipt covers the earlier batch's changes and the new one"
    );
}

async fn blobs_are_content_addressed(storage: Arc<dyn Storage>) {
    let png = doorstep_core::signature::sha256_hex(b"png bytes");
    let strokes = doorstep_core::signature::sha256_hex(b"[strokes]");
    assert_eq!(
        storage
            .missing_blobs(std::slice::from_ref(&png))
            .await
            .unwrap(),
        vec![png.clone()],
        "not there yet"
    );
    assert_eq!(
        storage
            .put_blobs(vec![(png.clone(), b"png bytes".to_vec())], t0())
            .await
            .unwrap(),
        vec![true],
        "the first upload stores it"
    );
    assert_eq!(
        storage
            .put_blobs(
                vec![
                    (png.clone(), b"png bytes".to_vec()),
                    (strokes.clone(), b"[strokes]".to_vec())
                ],
                t0()
            )
            .await
            .unwrap(),
        vec![false, true],
        "a batch stores what is new and reports the rest as held"
    );
    assert!(storage
        .missing_blobs(&[png.clone(), strokes.clone()])
        .await
        .unwrap()
        .is_empty());
    let unknown = doorstep_core::signature::sha256_hex(b"never sent");
    assert_eq!(
        storage
            .missing_blobs(&[strokes.clone(), unknown.clone()])
            .await
            .unwrap(),
        vec![unknown],
        "only the unknown one is missing"
    );
    assert_eq!(
        storage.blob(&png).await.unwrap().as_deref(),
        Some(&b"png bytes"[..]),
        "the bytes come back identical"
    );
}

async fn dispatcher_sessions_expire(storage: Arc<dyn Storage>) {
    let id = storage
        .create_dispatcher("ann", "phc", t0(), &any_entry())
        .await
        .unwrap();
    let dup = storage
        .create_dispatcher("ann", "phc", t0(), &any_entry())
        .await;
    assert!(
        matches!(&dup, Err(e) if e.code() == "username_taken"),
        "usernames are unique: {dup:?}"
    );
    storage
        .create_session("s1", id, at(60), &any_entry())
        .await
        .unwrap();
    assert!(
        storage.session("s1", at(59)).await.unwrap().is_some(),
        "a session works until it expires"
    );
    assert!(
        storage.session("s1", at(60)).await.unwrap().is_none(),
        "and not after"
    );
}

async fn create_jobs_is_all_or_nothing(storage: Arc<dyn Storage>) {
    let one = job_for(None, "甲");
    let result = storage
        .create_jobs(&[one.clone(), one.clone()], t0(), &[])
        .await;
    assert!(
        matches!(&result, Err(e) if e.code() == "job_exists"),
        "a duplicate id refuses the batch: {result:?}"
    );
    let (from, to) = (at(-1000), at(1000));
    assert!(
        storage.jobs_between(from, to).await.unwrap().is_empty(),
        "and nothing of it was created"
    );
}

/// A visit's change as the app sends it: in the job's visit `visit`.
fn entry_in(visit: u32, seq: i64, job: doorstep_core::JobId, change: Change) -> PushEntry {
    PushEntry {
        visit,
        ..entry(seq, job, change)
    }
}

fn ask_support(problem: &str) -> Change {
    Change::RequestSupport(SupportRequest {
        problem: problem.into(),
    })
}

async fn waiting(storage: &Arc<dyn Storage>) -> Vec<(JobId, String)> {
    storage
        .awaiting_support()
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.dispatched.job.id, a.request.problem))
        .collect()
}

/// Item 23: a support request reaches HQ with the push and leaves the job
/// open; the console's list (the job row) shows it until the job closes or
/// a dispatcher re-books it, and a later push of other changes does not
/// bring a cleared request back.
async fn a_support_request_keeps_the_job_open_until_acted_on(storage: Arc<dyn Storage>) {
    let (a, device) = enrolled(&storage, "A").await;
    let first = stored_job(&storage, Some(a), "甲").await.job.id;
    let second = stored_job(&storage, Some(a), "乙").await.job.id;
    storage
        .push(
            &device,
            &plain(&[
                entry(1, first, Change::SetStep(Step::Visit)),
                entry(2, first, ask_support("光功率过低")),
                entry(3, second, ask_support("需要梯子")),
            ]),
            at(10),
        )
        .await
        .unwrap();
    assert_eq!(
        waiting(&storage).await,
        vec![
            (first, "光功率过低".to_string()),
            (second, "需要梯子".to_string())
        ],
        "both requests await support, the longest waiting first"
    );
    let awaiting = storage.awaiting_support().await.unwrap();
    assert_eq!(
        awaiting[0].request.requested_at,
        at(2),
        "the request keeps when the technician asked (the change's device time)"
    );
    let records = storage.job_records(first).await.unwrap().unwrap();
    assert_eq!(
        records.dispatch.job.status,
        JobStatus::InProgress,
        "asking for support does not close the job"
    );

    // The dispatcher re-books the second job: acted on, it leaves the list,
    // and the technician's next change does not bring it back.
    storage
        .change_job(
            second,
            DispatchChange::Reschedule {
                start: at(300),
                end: at(360),
            },
            &any_entry(),
        )
        .await
        .unwrap();
    storage
        .push(
            &device,
            &plain(&[entry(4, second, Change::SetStep(Step::Operate))]),
            at(20),
        )
        .await
        .unwrap();
    assert_eq!(
        waiting(&storage).await,
        vec![(first, "光功率过低".to_string())]
    );

    // The first job closes (rescheduled by the technician): nothing awaits.
    storage
        .push(
            &device,
            &plain(&[entry(
                5,
                first,
                Change::Reschedule(Reschedule {
                    reason: RescheduleReason::NeedsSupport,
                    note: String::new(),
                    new_start: at(24 * 60),
                    new_end: at(25 * 60),
                }),
            )]),
            at(30),
        )
        .await
        .unwrap();
    assert!(waiting(&storage).await.is_empty());
}

async fn a_re_booked_job_starts_its_next_visit(storage: Arc<dyn Storage>) {
    let (a, device) = enrolled(&storage, "A").await;
    let job = stored_job(&storage, Some(a), "甲").await;
    let id = job.job.id;
    let reschedule = Change::Reschedule(Reschedule {
        reason: RescheduleReason::NeedsSupport,
        note: "needs a ladder".into(),
        new_start: at(24 * 60),
        new_end: at(25 * 60),
    });
    storage
        .push(
            &device,
            &plain(&[
                entry(1, id, Change::SetStep(Step::Visit)),
                entry(2, id, reschedule),
            ]),
            at(10),
        )
        .await
        .unwrap();

    // Moving the window of an open job keeps its visit; re-booking the
    // rescheduled one starts the next.
    let other = stored_job(&storage, Some(a), "乙").await;
    let moved = storage
        .change_job(
            other.job.id,
            DispatchChange::Reschedule {
                start: at(300),
                end: at(360),
            },
            &any_entry(),
        )
        .await
        .unwrap();
    assert_eq!(moved.job.visit, 1, "a scheduled job moved is still visit 1");
    let rebooked = storage
        .change_job(
            id,
            DispatchChange::Reschedule {
                start: at(48 * 60),
                end: at(49 * 60),
            },
            &any_entry(),
        )
        .await
        .unwrap();
    assert_eq!(
        (rebooked.job.visit, rebooked.job.status),
        (2, JobStatus::Scheduled),
        "re-booking a rescheduled job starts visit 2, scheduled"
    );
    let records = storage.job_records(id).await.unwrap().unwrap();
    assert!(
        records.receipt.is_none(),
        "visit 2 has no receipt until its own changes come"
    );
    let pulled = storage.pull(a, 0).await.unwrap();
    let sent = pulled.jobs.iter().find(|j| j.id == id).unwrap();
    assert_eq!(sent.visit, 2, "the technician's pull brings visit 2");

    // The laptop opened the job before it heard of the re-booking.
    let pushed = storage
        .push(
            &device,
            &plain(&[entry_in(1, 3, id, Change::SetStep(Step::Phone))]),
            at(20),
        )
        .await
        .unwrap();
    assert!(
        pushed.receipts.is_empty(),
        "a visit-1 op gives visit 2 no receipt"
    );
    assert!(
        pushed.conflicts.is_empty(),
        "a late visit-1 op is no conflict"
    );
    let status = |r: &doorstep_hq::storage::JobRecords| r.dispatch.job.status;
    let records = storage.job_records(id).await.unwrap().unwrap();
    assert_eq!(
        status(&records),
        JobStatus::Scheduled,
        "a late visit-1 op must not turn the re-booked job back to rescheduled"
    );

    // Visit 2's own work.
    let mut visit = VisitRecord::new(rebooked.job.clone());
    let changes = [kit(), work("fixed from the pole")];
    for (i, change) in changes.iter().enumerate() {
        change.apply(&mut visit, at(4 + i as i64)).unwrap();
    }
    let batch: Vec<_> = changes
        .iter()
        .enumerate()
        .map(|(i, c)| entry_in(2, 4 + i as i64, id, c.clone()))
        .collect();
    let pushed = storage.push(&device, &plain(&batch), at(30)).await.unwrap();
    let receipt = ServiceForm::from_visit(&visit).content_hash();
    assert_eq!(
        pushed.receipts[0].content_hash, receipt,
        "visit 2's receipt is the hash of visit 2's form alone"
    );
    let records = storage.job_records(id).await.unwrap().unwrap();
    assert_eq!(
        status(&records),
        JobStatus::InProgress,
        "visit 2 progresses; visit 1's reschedule does not count"
    );

    // Another late visit-1 op: kept, changing neither status nor receipt.
    let late = entry_in(1, 6, id, work("visit one, late"));
    let late_op = late.op_id;
    let pushed = storage
        .push(&device, &plain(&[late]), at(40))
        .await
        .unwrap();
    assert_eq!(pushed.receipts[0].content_hash, receipt);
    let records = storage.job_records(id).await.unwrap().unwrap();
    assert_eq!(status(&records), JobStatus::InProgress);
    let kept = records.ops.iter().find(|op| op.op_id == late_op);
    assert_eq!(
        kept.map(|op| op.visit),
        Some(1),
        "the late op is kept as visit 1's evidence"
    );
    assert_eq!(records.ops.len(), 6, "every op is kept");
    let work_of = |visit: u32| {
        records
            .records
            .iter()
            .find(|r| r.visit == visit && r.record_key == "work")
            .map(|r| r.body["description"].clone())
    };
    assert_eq!(work_of(2), Some("fixed from the pole".into()));
    assert_eq!(
        work_of(1),
        Some("visit one, late".into()),
        "each visit keeps its own records"
    );
    assert!(records
        .records
        .iter()
        .any(|r| r.visit == 1 && r.record_key == "reschedule"));
}

/// What a technician's app holds after applying `changes` to its copy of
/// the job, the first at minute `from`: the receipt hash it expects.
fn apps_hash(job: &doorstep_core::Job, from: i64, changes: &[Change]) -> String {
    let mut visit = VisitRecord::new(job.clone());
    for (i, change) in changes.iter().enumerate() {
        change.apply(&mut visit, at(from + i as i64)).unwrap();
    }
    ServiceForm::from_visit(&visit).content_hash()
}

/// After a reassignment the previous technician's changes are evidence:
/// kept, a conflict, but not in the new technician's visit or receipt;
/// accepting their completion makes the visit theirs again.
async fn a_reassigned_jobs_visit_is_the_new_technicians(storage: Arc<dyn Storage>) {
    let (a, device_a) = enrolled(&storage, "A").await;
    let (b, device_b) = enrolled(&storage, "B").await;
    let job = stored_job(&storage, Some(a), "甲").await;
    let id = job.job.id;
    storage
        .push(&device_a, &plain(&[entry(1, id, kit())]), at(1))
        .await
        .unwrap();
    storage
        .change_job(id, DispatchChange::Assign(b), &any_entry())
        .await
        .unwrap();
    let late = storage
        .push(
            &device_a,
            &plain(&[entry(2, id, work("A, after the job left"))]),
            at(3),
        )
        .await
        .unwrap();
    assert_eq!(
        late.conflicts.first().map(|c| c.reason),
        Some(ConflictReason::Reassigned),
        "the previous technician's later change is a conflict"
    );

    let handed_out = storage.pull(b, 0).await.unwrap().jobs;
    assert_eq!(handed_out.len(), 1, "B's pull brings the job");
    let changes_b = [kit(), work("B fixed it")];
    let batch: Vec<_> = changes_b
        .iter()
        .enumerate()
        .map(|(i, c)| entry(i as i64 + 1, id, c.clone()))
        .collect();
    let pushed = storage
        .push(&device_b, &plain(&batch), at(10))
        .await
        .unwrap();
    let expected_b = apps_hash(&handed_out[0], 1, &changes_b);
    assert_eq!(
        pushed.receipts[0].content_hash, expected_b,
        "B's receipt is the hash of B's visit alone, as B's app signs it"
    );
    let records = storage.job_records(id).await.unwrap().unwrap();
    assert_eq!(
        records.receipt.map(|r| r.content_hash),
        Some(expected_b.clone()),
        "HQ holds B's visit's receipt"
    );
    assert_eq!(records.ops.len(), 4, "A's changes are kept as evidence");

    // A later change of A moves neither B's receipt nor the job's status.
    let again = storage
        .push(
            &device_a,
            &plain(&[entry(3, id, work("A, second thought"))]),
            at(20),
        )
        .await
        .unwrap();
    assert_eq!(
        again.receipts[0].content_hash, expected_b,
        "A's later change stays out of B's receipt"
    );
    let records = storage.job_records(id).await.unwrap().unwrap();
    assert_eq!(
        (records.dispatch.technician_id, records.dispatch.job.status),
        (Some(b), JobStatus::InProgress),
        "the job stays B's, as B's visit left it"
    );

    let conflict = late.conflicts[0].conflict_id;
    storage
        .resolve_conflict(
            conflict,
            Resolution::AcceptCompletion,
            "A did it",
            "d",
            at(30),
            &any_entry(),
        )
        .await
        .unwrap();
    let records = storage.job_records(id).await.unwrap().unwrap();
    let changes_a = [
        kit(),
        work("A, after the job left"),
        work("A, second thought"),
    ];
    assert_eq!(
        (records.dispatch.technician_id, records.dispatch.job.status),
        (Some(a), JobStatus::InProgress),
        "accepting A's work hands the job back, with the status A's changes give it"
    );
    assert_eq!(
        records.receipt.map(|r| r.content_hash),
        Some(apps_hash(&job.job, 1, &changes_a)),
        "and the receipt is A's visit's hash"
    );
}

/// Cancelled and completed jobs are final: no dispatch change applies, and
/// a refused change leaves the job and the pull cursor as they were.
async fn a_cancelled_or_completed_job_is_final(storage: Arc<dyn Storage>) {
    let (a, _) = enrolled(&storage, "A").await;
    let (b, _) = enrolled(&storage, "B").await;
    let cancelled = stored_job(&storage, Some(a), "甲").await;
    storage
        .change_job(cancelled.job.id, DispatchChange::Cancel, &any_entry())
        .await
        .unwrap();
    let mut completed = job_for(Some(a), "乙");
    completed.job.status = JobStatus::Completed;
    storage
        .create_jobs(std::slice::from_ref(&completed), t0(), &[])
        .await
        .unwrap();
    let cursor = storage.pull(a, 0).await.unwrap().cursor;
    let changes = [
        DispatchChange::Cancel,
        DispatchChange::Assign(b),
        DispatchChange::Reschedule {
            start: at(600),
            end: at(660),
        },
    ];
    for (job, code) in [(&cancelled, "job_cancelled"), (&completed, "job_completed")] {
        for change in &changes {
            let refused = storage
                .change_job(job.job.id, change.clone(), &any_entry())
                .await;
            assert!(
                matches!(&refused, Err(e) if e.code() == code),
                "{change:?} on a {code} job must be refused with {code}: {refused:?}"
            );
        }
    }
    let after = storage.pull(a, cursor).await.unwrap();
    assert!(
        after.jobs.is_empty() && after.removed.is_empty(),
        "a refused change reaches no device: {after:?}"
    );
    let stored = storage
        .job_records(completed.job.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (stored.dispatch.technician_id, stored.dispatch.job.status),
        (Some(a), JobStatus::Completed),
        "the completed job stays with its technician, completed"
    );
}

/// A device tells HQ restored from a backup by its epoch, so a database
/// must have one from its first migration, and a new one, once begun, must
/// be the one every later read sees.
async fn a_new_epoch_replaces_the_current_one(storage: Arc<dyn Storage>) {
    let first = storage.epoch().await.unwrap();
    assert!(!first.is_empty(), "a new database has an epoch");
    assert_eq!(storage.epoch().await.unwrap(), first, "it stays put");
    storage
        .begin_epoch("c0ffee", "restored from a backup", at(5))
        .await
        .unwrap();
    assert_eq!(storage.epoch().await.unwrap(), "c0ffee");
    storage
        .begin_epoch("decade", "marked restored", at(6))
        .await
        .unwrap();
    assert_eq!(storage.epoch().await.unwrap(), "decade", "the latest wins");
    let reused = storage.begin_epoch("c0ffee", "again", at(7)).await;
    assert!(reused.is_err(), "an epoch names one history only");
}

/// The entry the test wrote for `action`, naming `job`.
fn noted(action: AuditAction, job: Option<JobId>) -> AuditRecord {
    AuditRecord {
        job_id: job,
        detail: format!("{action:?}"),
        ..note(action)
    }
}

async fn all_entries(storage: &Arc<dyn Storage>) -> Vec<AuditEntry> {
    storage
        .audit(&AuditFilter {
            limit: 500,
            ..AuditFilter::default()
        })
        .await
        .unwrap()
}

/// Every action that writes stores its audit entry with it, and an action
/// that is refused stores none: the log never claims what did not happen,
/// and never misses what did.
async fn every_action_writes_its_entry(storage: Arc<dyn Storage>) {
    let (a, device) = enrolled(&storage, "A").await;
    let before = all_entries(&storage).await.len();
    let job = job_for(Some(a), "甲");
    let id = job.job.id;
    storage
        .create_jobs(
            std::slice::from_ref(&job),
            t0(),
            &[noted(AuditAction::CreateJob, Some(id))],
        )
        .await
        .unwrap();
    storage
        .change_job(
            id,
            DispatchChange::Reschedule {
                start: at(120),
                end: at(180),
            },
            &noted(AuditAction::Reschedule, Some(id)),
        )
        .await
        .unwrap();
    storage
        .push(&device, &plain(&[entry(1, id, kit())]), at(1))
        .await
        .unwrap();
    storage
        .change_job(
            id,
            DispatchChange::Cancel,
            &noted(AuditAction::Cancel, Some(id)),
        )
        .await
        .unwrap();
    let refused = storage
        .change_job(
            id,
            DispatchChange::Cancel,
            &noted(AuditAction::Cancel, Some(id)),
        )
        .await;
    assert!(refused.is_err(), "a cancelled job stays cancelled");
    storage
        .push(&device, &plain(&[entry(2, id, work("done"))]), at(5))
        .await
        .unwrap();
    let conflict = storage.conflicts(true).await.unwrap()[0].id;
    assert_eq!(
        storage.conflict(conflict).await.unwrap().map(|c| c.job_id),
        Some(id)
    );
    storage
        .resolve_conflict(
            conflict,
            Resolution::KeepCancelled,
            "",
            "d",
            at(9),
            &noted(AuditAction::ResolveConflict, Some(id)),
        )
        .await
        .unwrap();
    let code = Uuid::now_v7();
    storage
        .create_enrollment_code(code, "c9", a, at(60), &noted(AuditAction::IssueCode, None))
        .await
        .unwrap();
    storage
        .revoke_code(code, t0(), &noted(AuditAction::RevokeCode, None))
        .await
        .unwrap();
    storage
        .revoke_device(device.id, t0(), &noted(AuditAction::RevokeDevice, None))
        .await
        .unwrap();
    let ann = storage
        .create_dispatcher(
            "ann",
            "phc",
            t0(),
            &noted(AuditAction::CreateDispatcher, None),
        )
        .await
        .unwrap();
    storage
        .create_session("s1", ann, at(60), &noted(AuditAction::Login, None))
        .await
        .unwrap();
    storage
        .set_password(
            "ann",
            "phc2",
            None,
            &noted(AuditAction::ChangePassword, None),
        )
        .await
        .unwrap();
    storage
        .set_dispatcher_disabled(
            "ann",
            Some(t0()),
            &noted(AuditAction::DisableDispatcher, None),
        )
        .await
        .unwrap();
    storage
        .set_dispatcher_disabled("ann", None, &noted(AuditAction::EnableDispatcher, None))
        .await
        .unwrap();
    storage
        .record_audit(&noted(AuditAction::LoginFailed, None))
        .await
        .unwrap();
    let unknown = storage
        .set_password(
            "nobody",
            "phc",
            None,
            &noted(AuditAction::ChangePassword, None),
        )
        .await;
    assert!(matches!(unknown, Err(HqError::NotFound(_))), "{unknown:?}");

    let mut written: Vec<AuditEntry> = all_entries(&storage).await;
    written.truncate(written.len() - before);
    written.reverse();
    let actions: Vec<AuditAction> = written.iter().map(|e| e.record.action).collect();
    assert_eq!(
        actions,
        vec![
            AuditAction::CreateJob,
            AuditAction::Reschedule,
            AuditAction::Cancel,
            AuditAction::ResolveConflict,
            AuditAction::IssueCode,
            AuditAction::RevokeCode,
            AuditAction::RevokeDevice,
            AuditAction::CreateDispatcher,
            AuditAction::Login,
            AuditAction::ChangePassword,
            AuditAction::DisableDispatcher,
            AuditAction::EnableDispatcher,
            AuditAction::LoginFailed,
        ],
        "each action's own entry, in order; none for the refused cancel or the unknown account"
    );
    assert_eq!(
        written[0].record,
        noted(AuditAction::CreateJob, Some(id)),
        "an entry reads back as written"
    );
    assert!(
        written.windows(2).all(|w| w[0].id < w[1].id),
        "entries are numbered in the order written"
    );
}

/// The log reads back by actor, action, job and time, newest first, and a
/// page at a time.
async fn the_audit_log_filters_and_pages(storage: Arc<dyn Storage>) {
    let (job_a, job_b) = (JobId::new(), JobId::new());
    for minute in 0..10 {
        let entry = AuditRecord {
            at: at(minute),
            actor: Some(if minute % 2 == 0 { "ann" } else { "bob" }.into()),
            job_id: Some(if minute < 5 { job_a } else { job_b }),
            ..note(if minute == 3 {
                AuditAction::Cancel
            } else {
                AuditAction::Assign
            })
        };
        storage.record_audit(&entry).await.unwrap();
    }
    let read = |filter: AuditFilter| {
        let storage = storage.clone();
        async move {
            storage
                .audit(&AuditFilter {
                    limit: filter.limit.max(1),
                    ..filter
                })
                .await
                .unwrap()
                .into_iter()
                .map(|e| e.record.at)
                .collect::<Vec<_>>()
        }
    };
    let all = AuditFilter {
        limit: 100,
        ..AuditFilter::default()
    };
    assert_eq!(
        read(all.clone()).await,
        (0..10).rev().map(at).collect::<Vec<_>>(),
        "newest first"
    );
    assert_eq!(
        read(AuditFilter {
            actor: Some("bob".into()),
            ..all.clone()
        })
        .await,
        vec![at(9), at(7), at(5), at(3), at(1)]
    );
    assert_eq!(
        read(AuditFilter {
            action: Some(AuditAction::Cancel),
            ..all.clone()
        })
        .await,
        vec![at(3)]
    );
    assert_eq!(
        read(AuditFilter {
            job_id: Some(job_a),
            actor: Some("ann".into()),
            ..all.clone()
        })
        .await,
        vec![at(4), at(2), at(0)],
        "filters combine"
    );
    assert_eq!(
        read(AuditFilter {
            from: Some(at(2)),
            to: Some(at(4)),
            ..all.clone()
        })
        .await,
        vec![at(3), at(2)],
        "from is inclusive, to exclusive"
    );
    let first = storage
        .audit(&AuditFilter {
            limit: 4,
            ..all.clone()
        })
        .await
        .unwrap();
    let second = storage
        .audit(&AuditFilter {
            limit: 4,
            before: first.last().map(|e| e.id),
            ..all.clone()
        })
        .await
        .unwrap();
    let pages: Vec<_> = first.iter().chain(&second).map(|e| e.record.at).collect();
    assert_eq!(
        pages,
        (2..10).rev().map(at).collect::<Vec<_>>(),
        "the next page starts where the last ended"
    );
}

/// A disabled dispatcher's sessions end and no new one is made for them;
/// enabled again, they can log in.
async fn a_disabled_dispatcher_cannot_log_in(storage: Arc<dyn Storage>) {
    let ann = storage
        .create_dispatcher("ann", "phc", t0(), &any_entry())
        .await
        .unwrap();
    storage
        .create_session("s1", ann, at(60), &any_entry())
        .await
        .unwrap();
    let account = storage
        .set_dispatcher_disabled("ann", Some(at(1)), &any_entry())
        .await
        .unwrap();
    assert_eq!(account.disabled_at, Some(at(1)));
    assert!(
        storage.session("s1", at(2)).await.unwrap().is_none(),
        "a disabled dispatcher's session ends at once"
    );
    let login = storage
        .dispatcher_by_username("ann")
        .await
        .unwrap()
        .unwrap();
    assert!(login.disabled, "the log-in sees the account disabled");
    let before = all_entries(&storage).await.len();
    let refused = storage
        .create_session("s2", ann, at(60), &noted(AuditAction::Login, None))
        .await;
    assert!(
        matches!(&refused, Err(e) if e.code() == "account_disabled"),
        "no session for a disabled dispatcher, even one whose password checked out \
         before the account was disabled: {refused:?}"
    );
    assert!(storage.session("s2", at(2)).await.unwrap().is_none());
    assert_eq!(
        all_entries(&storage).await.len(),
        before,
        "a refused log-in writes no login entry"
    );
    let listed = storage.dispatchers().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].disabled_at, Some(at(1)));
    storage
        .set_dispatcher_disabled("ann", None, &any_entry())
        .await
        .unwrap();
    storage
        .create_session("s3", ann, at(60), &any_entry())
        .await
        .unwrap();
    assert!(storage.session("s3", at(2)).await.unwrap().is_some());
    let unknown = storage
        .set_dispatcher_disabled("nobody", Some(t0()), &any_entry())
        .await;
    assert!(matches!(unknown, Err(HqError::NotFound(_))), "{unknown:?}");
}

/// A new password ends every session but the one that set it.
async fn a_new_password_ends_the_other_sessions(storage: Arc<dyn Storage>) {
    let ann = storage
        .create_dispatcher("ann", "phc", t0(), &any_entry())
        .await
        .unwrap();
    for token in ["s1", "s2"] {
        storage
            .create_session(token, ann, at(60), &any_entry())
            .await
            .unwrap();
    }
    storage
        .set_password("ann", "phc2", Some("s1"), &any_entry())
        .await
        .unwrap();
    let login = storage
        .dispatcher_by_username("ann")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(login.password_hash, "phc2");
    assert!(storage.session("s1", t0()).await.unwrap().is_some());
    assert!(
        storage.session("s2", t0()).await.unwrap().is_none(),
        "whoever held the old password is out"
    );
    storage
        .set_password("ann", "phc3", None, &any_entry())
        .await
        .unwrap();
    assert!(storage.session("s1", t0()).await.unwrap().is_none());
}

/// A revoked code enrolls nothing; only an outstanding code can be revoked.
async fn a_revoked_code_cannot_enroll(storage: Arc<dyn Storage>) {
    let tech = technician(&storage, "林").await;
    let (good, revoked, used, old) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    for (id, hash, expires) in [
        (good, "good", at(60)),
        (revoked, "revoked", at(60)),
        (used, "used", at(60)),
        (old, "old", at(1)),
    ] {
        storage
            .create_enrollment_code(id, hash, tech.id, expires, &any_entry())
            .await
            .unwrap();
    }
    storage
        .enroll("used", DeviceId::new(), "a", "tok-used", t0())
        .await
        .unwrap();
    let outstanding: Vec<Uuid> = storage
        .outstanding_codes(at(2))
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(outstanding.len(), 2);
    assert!(outstanding.contains(&good) && outstanding.contains(&revoked));
    storage
        .revoke_code(revoked, t0(), &any_entry())
        .await
        .unwrap();
    let enroll = storage
        .enroll("revoked", DeviceId::new(), "b", "tok-b", t0())
        .await;
    assert!(
        matches!(&enroll, Err(e) if e.code() == "invalid_code"),
        "a revoked code must not enroll a device: {enroll:?}"
    );
    for (id, why) in [(used, "used"), (old, "expired")] {
        let refused = storage.revoke_code(id, at(2), &any_entry()).await;
        assert!(
            matches!(&refused, Err(e) if e.code() == "code_not_outstanding"),
            "a {why} code is not revoked: {refused:?}"
        );
    }
    let again = storage.revoke_code(revoked, t0(), &any_entry()).await;
    assert!(matches!(again, Err(HqError::NotFound(_))), "{again:?}");
    assert_eq!(
        storage
            .outstanding_codes(at(2))
            .await
            .unwrap()
            .iter()
            .map(|c| c.id)
            .collect::<Vec<_>>(),
        vec![good]
    );
    storage
        .enroll("good", DeviceId::new(), "c", "tok-c", t0())
        .await
        .unwrap();
}

/// A purge deletes what has expired, sessions and codes alike, and leaves
/// everything still good.
async fn purge_removes_expired_only(storage: Arc<dyn Storage>) {
    let tech = technician(&storage, "林").await;
    let ann = storage
        .create_dispatcher("ann", "phc", t0(), &any_entry())
        .await
        .unwrap();
    for (token, expires) in [("old", at(10)), ("new", at(11))] {
        storage
            .create_session(token, ann, expires, &any_entry())
            .await
            .unwrap();
    }
    for (hash, expires) in [("old", at(10)), ("new", at(11))] {
        storage
            .create_enrollment_code(Uuid::now_v7(), hash, tech.id, expires, &any_entry())
            .await
            .unwrap();
    }
    let purged = storage.purge_expired(at(10)).await.unwrap();
    assert_eq!(
        purged,
        Purged {
            sessions: 1,
            codes: 1
        },
        "what expired at or before now, nothing else"
    );
    assert!(storage.session("new", at(10)).await.unwrap().is_some());
    storage
        .enroll("new", DeviceId::new(), "laptop", "tok", at(10))
        .await
        .expect("a code still good still enrolls");
    assert_eq!(
        storage.purge_expired(at(10)).await.unwrap(),
        Purged::default(),
        "nothing left to purge"
    );
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let (storage, _dir) = super::sqlite();
                    super::$name(storage).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some((storage, schema)) = super::postgres(stringify!($name)).await else {
                        return;
                    };
                    super::$name(storage).await;
                    schema.drop().await;
                }
            )*
        }
    };
}

conformance!(
    the_price_list_keeps_every_version,
    fees_off_the_price_list_are_kept_apart,
    enrollment_code_is_single_use,
    revoked_device_is_marked,
    pull_follows_the_change_counter,
    push_is_idempotent,
    push_detects_a_gap,
    a_change_hq_cannot_apply_is_kept_as_a_conflict,
    a_change_with_an_impossible_time_is_kept_apart,
    conflict_keeps_both_and_resolves,
    accepting_a_completion_reassigns_back,
    a_decision_reaches_the_technicians_next_pull,
    receipt_hash_matches_the_apps,
    blobs_are_content_addressed,
    dispatcher_sessions_expire,
    create_jobs_is_all_or_nothing,
    a_cancelled_or_completed_job_is_final,
    a_re_booked_job_starts_its_next_visit,
    a_support_request_keeps_the_job_open_until_acted_on,
    a_reassigned_jobs_visit_is_the_new_technicians,
    a_new_epoch_replaces_the_current_one,
    every_action_writes_its_entry,
    the_audit_log_filters_and_pages,
    a_disabled_dispatcher_cannot_log_in,
    a_new_password_ends_the_other_sessions,
    a_revoked_code_cannot_enroll,
    purge_removes_expired_only,
);
