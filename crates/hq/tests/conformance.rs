//! One conformance suite, every storage backend: SQLite always, PostgreSQL
//! when DOORSTEP_TEST_POSTGRES_URL is set (each test in its own schema).
//! Each behaviour is one generic async fn over `Arc<dyn Storage>`.

mod common;

use std::sync::Arc;

use common::*;
use doorstep_core::change::Change;
use doorstep_core::signature::ServiceForm;
use doorstep_core::wire::{
    ConflictReason, DeviceId, DocumentId, DocumentKind, DocumentState, PushEntry, TechnicianId,
};
use doorstep_core::JobId;
use doorstep_core::{legacy_price_list, FeeLine, PriceItem};
use doorstep_core::{
    Interest, JobStatus, Lead, LeadContact, RecordId, Reschedule, RescheduleReason, Step,
    SupportRequest, VisitRecord,
};
use doorstep_core::{JobType, SubCase, Timestamp};
use doorstep_hq::dto::RepairTargetChange;
use doorstep_hq::dto::{ComplaintsQuery, NewJob, RevisitRequest};
use doorstep_hq::records::RepairTarget;
use doorstep_hq::records::{AuditAction, AuditEntry, AuditFilter, AuditRecord, LeadFilter, Purged};
use doorstep_hq::rules::prices::{price_list_at, PriceEdit};
use doorstep_hq::storage::{
    DeviceAuth, DispatchChange, DispatchedJob, DocumentUpload, Resolution, Storage,
};
use doorstep_hq::{Hq, HqError};
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

fn call_change(
    id: doorstep_core::RecordId,
    outcome: doorstep_core::CallOutcome,
    seconds: u32,
) -> Change {
    Change::LogCall(doorstep_core::CallLog {
        id,
        at: t0(),
        outcome,
        note: String::new(),
        duration_seconds: Some(seconds),
    })
}

/// Item 20: a supervisor reviews the calls technicians logged, by time and
/// technician; only call changes are read, each with its job and caller.
async fn calls_are_read_by_time_and_technician(storage: Arc<dyn Storage>) {
    use doorstep_core::{CallOutcome, RecordId};
    use doorstep_hq::records::CallFilter;
    let (a, device_a) = enrolled(&storage, "A").await;
    let (b, device_b) = enrolled(&storage, "B").await;
    let job_a = stored_job(&storage, Some(a), "甲").await.job.id;
    let job_b = stored_job(&storage, Some(b), "乙").await.job.id;
    storage
        .push(
            &device_a,
            &plain(&[
                entry(
                    1,
                    job_a,
                    call_change(RecordId::new(), CallOutcome::Booked, 60),
                ),
                entry(2, job_a, Change::SetStep(Step::Visit)),
                PushEntry {
                    device_time: at(30),
                    ..entry(
                        3,
                        job_a,
                        call_change(RecordId::new(), CallOutcome::LateApology, 45),
                    )
                },
            ]),
            at(40),
        )
        .await
        .unwrap();
    storage
        .push(
            &device_b,
            &plain(&[PushEntry {
                device_time: at(5),
                ..entry(
                    1,
                    job_b,
                    call_change(RecordId::new(), CallOutcome::NoAnswer, 10),
                )
            }]),
            at(40),
        )
        .await
        .unwrap();
    let read = |technician, from, to| {
        let storage = storage.clone();
        async move {
            storage
                .calls(&CallFilter {
                    technician,
                    from: at(from),
                    to: at(to),
                    limit: 100,
                })
                .await
                .unwrap()
                .into_iter()
                .map(|c| {
                    (
                        c.dispatched.job.id,
                        c.by.name,
                        c.payload.contains("duration_seconds"),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        read(None, 0, 60).await,
        vec![
            (job_a, "A".to_string(), true),
            (job_b, "B".to_string(), true),
            (job_a, "A".to_string(), true),
        ],
        "every call, oldest first by the device's clock, and no other change"
    );
    assert_eq!(
        read(Some(b), 0, 60).await.len(),
        1,
        "one technician's calls only"
    );
    assert_eq!(
        read(None, 2, 30).await,
        vec![(job_b, "B".to_string(), true)],
        "from is inclusive and to exclusive"
    );
    let capped = storage
        .calls(&CallFilter {
            technician: None,
            from: at(0),
            to: at(60),
            limit: 2,
        })
        .await
        .unwrap();
    assert_eq!(capped.len(), 2, "the limit holds");
}

/// Item 19: a complaint taken at HQ is kept with its job and its callback;
/// complaint changes pushed from site are read back with their technician,
/// and no other change is.
async fn complaints_are_kept_and_read_back(storage: Arc<dyn Storage>) {
    use doorstep_core::{ComplaintRecord, ComplaintReply, RecordId};
    use doorstep_hq::records::HqComplaint;
    let (a, device) = enrolled(&storage, "A").await;
    let job = stored_job(&storage, Some(a), "甲").await.job.id;
    let record = ComplaintRecord {
        id: RecordId::new(),
        taken_by: "ann".into(),
        issue: "收费不合理".into(),
        reply_by: at(600),
        raised_at: at(1),
        callback: None,
    };
    let mut taken = HqComplaint {
        job_id: job,
        record,
    };
    storage
        .take_complaint(&taken, &noted(AuditAction::TakeComplaint, Some(job)))
        .await
        .unwrap();
    let missing = HqComplaint {
        job_id: JobId::new(),
        ..taken.clone()
    };
    assert!(
        matches!(
            storage
                .take_complaint(&missing, &noted(AuditAction::TakeComplaint, None))
                .await,
            Err(HqError::NotFound(_))
        ),
        "a complaint needs its job"
    );
    assert_eq!(
        storage.hq_complaint(taken.record.id).await.unwrap(),
        Some(taken.clone())
    );
    taken.record.callback = Some(ComplaintReply {
        at: at(30),
        result: "已退款".into(),
        satisfied: false,
    });
    storage
        .save_complaint_callback(&taken, &noted(AuditAction::CallBackComplaint, Some(job)))
        .await
        .unwrap();
    let listed = storage.hq_complaints().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].0.job.id, job);
    assert_eq!(listed[0].1, taken, "the callback is kept");
    // The customer's history carries it, for the story a pull sends.
    let customer = storage
        .job_records(job)
        .await
        .unwrap()
        .unwrap()
        .dispatch
        .job
        .customer
        .id;
    let history = storage.customer_history(customer).await.unwrap().unwrap();
    assert_eq!(history.hq_complaints, vec![taken.record.clone()]);

    storage
        .push(
            &device,
            &plain(&[
                entry(1, job, Change::SetStep(Step::Visit)),
                entry(
                    2,
                    job,
                    Change::RaiseComplaint(doorstep_core::Complaint {
                        id: RecordId::new(),
                        taken_by: "A".into(),
                        issue: "又没信号".into(),
                        reply_by: at(300),
                    }),
                ),
            ]),
            at(5),
        )
        .await
        .unwrap();
    let changes = storage.complaint_changes().await.unwrap();
    assert_eq!(changes.len(), 1, "only the complaint change");
    assert_eq!(changes[0].by.name, "A");
    assert_eq!(changes[0].device_time, at(2));
    assert!(changes[0].payload.contains("又没信号"));
}

fn lead(product: &str, follow_up_at: &str) -> Lead {
    Lead {
        id: RecordId::new(),
        product: product.into(),
        interest: Interest::Interested,
        note: String::new(),
        follow_up_at: chrono::DateTime::parse_from_rfc3339(follow_up_at).ok(),
        contacts: vec![],
    }
}

fn follow_up(lead: &Lead, interest: Interest, next: Option<&str>) -> Change {
    Change::LogLeadContact(LeadContact {
        id: RecordId::new(),
        lead_id: lead.id,
        at: at(60),
        interest,
        note: "回访".into(),
        next_follow_up_at: next.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()),
    })
}

async fn listed(
    storage: &Arc<dyn Storage>,
    filter: LeadFilter,
) -> Vec<(RecordId, Interest, usize)> {
    storage
        .leads(&filter)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.lead.id, r.lead.interest, r.lead.contacts.len()))
        .collect()
}

fn open_leads() -> LeadFilter {
    LeadFilter {
        technician: None,
        interest: None,
        open_only: true,
        due_before: None,
        limit: 100,
    }
}

/// Item 16: a lead recorded on the laptop reaches HQ's list with the push,
/// as the app holds it (the reminder moved out of the midday rest); the
/// follow-up calls made after the job closed update it; the list filters by
/// technician, intent and due time and leaves out settled leads (success,
/// or three calls made) unless all are asked for; a removed lead goes.
async fn leads_reach_hq_and_follow_ups_update_them(storage: Arc<dyn Storage>) {
    let (a, device_a) = enrolled(&storage, "A").await;
    let (b, device_b) = enrolled(&storage, "B").await;
    let job_a = stored_job(&storage, Some(a), "甲").await.job.id;
    let job_b = stored_job(&storage, Some(b), "乙").await.job.id;
    let hd = lead("高清互动", "2026-12-02T12:30:00+08:00");
    let replay = lead("回看", "2026-12-03T10:00:00+08:00");
    let broadband = lead("宽带提速", "2026-12-02T09:00:00+08:00");
    storage
        .push(
            &device_a,
            &plain(&[
                entry(1, job_a, Change::AddLead(hd.clone())),
                entry(2, job_a, Change::AddLead(replay.clone())),
            ]),
            at(10),
        )
        .await
        .unwrap();
    storage
        .push(
            &device_b,
            &plain(&[entry(1, job_b, Change::AddLead(broadband.clone()))]),
            at(11),
        )
        .await
        .unwrap();
    let all_open = storage.leads(&open_leads()).await.unwrap();
    assert_eq!(
        all_open.iter().map(|r| r.lead.id).collect::<Vec<_>>(),
        vec![broadband.id, hd.id, replay.id],
        "the reminder soonest first"
    );
    assert_eq!(
        all_open[1].lead.follow_up_at,
        chrono::DateTime::parse_from_rfc3339("2026-12-02T14:00:00+08:00").ok(),
        "HQ lists the reminder as the app holds it, after the midday rest"
    );
    assert_eq!(
        (
            all_open[1].technician_id,
            all_open[1].customer_name.as_str()
        ),
        (a, "甲")
    );
    assert_eq!(
        listed(
            &storage,
            LeadFilter {
                technician: Some(b),
                ..open_leads()
            }
        )
        .await,
        vec![(broadband.id, Interest::Interested, 0)]
    );
    let due = chrono::DateTime::parse_from_rfc3339("2026-12-02T23:59:59+08:00").unwrap();
    assert_eq!(
        listed(
            &storage,
            LeadFilter {
                due_before: Some(due.to_utc()),
                ..open_leads()
            }
        )
        .await
        .len(),
        2,
        "due by the end of the 2nd: the broadband and HD leads"
    );

    // The job closes; the follow-up calls come after it.
    storage
        .push(
            &device_a,
            &plain(&[
                entry(
                    3,
                    job_a,
                    Change::Reschedule(Reschedule {
                        reason: RescheduleReason::ConditionsNotMet,
                        note: String::new(),
                        new_start: at(24 * 60),
                        new_end: at(25 * 60),
                    }),
                ),
                entry(
                    4,
                    job_a,
                    follow_up(
                        &hd,
                        Interest::FairlyInterested,
                        Some("2026-12-04T10:00:00+08:00"),
                    ),
                ),
                entry(5, job_a, follow_up(&replay, Interest::Success, None)),
            ]),
            at(20),
        )
        .await
        .unwrap();
    assert_eq!(
        listed(
            &storage,
            LeadFilter {
                technician: Some(a),
                ..open_leads()
            }
        )
        .await,
        vec![(hd.id, Interest::FairlyInterested, 1)],
        "a successful lead is owed no call"
    );
    assert_eq!(
        listed(
            &storage,
            LeadFilter {
                technician: Some(a),
                interest: Some(Interest::Success),
                open_only: false,
                ..open_leads()
            }
        )
        .await,
        vec![(replay.id, Interest::Success, 1)],
        "asked for, it is still listed"
    );

    // Three calls, then a fourth the rules refuse: the lead stays as the
    // third left it, out of the open list.
    storage
        .push(
            &device_a,
            &plain(&[
                entry(
                    6,
                    job_a,
                    follow_up(
                        &hd,
                        Interest::Unreachable,
                        Some("2026-12-05T10:00:00+08:00"),
                    ),
                ),
                entry(
                    7,
                    job_a,
                    follow_up(
                        &hd,
                        Interest::Unreachable,
                        Some("2026-12-06T10:00:00+08:00"),
                    ),
                ),
                entry(8, job_a, follow_up(&hd, Interest::Interested, None)),
            ]),
            at(30),
        )
        .await
        .unwrap();
    assert_eq!(
        listed(
            &storage,
            LeadFilter {
                technician: Some(a),
                open_only: false,
                interest: Some(Interest::Unreachable),
                ..open_leads()
            }
        )
        .await,
        vec![(hd.id, Interest::Unreachable, 3)]
    );
    assert!(listed(
        &storage,
        LeadFilter {
            technician: Some(a),
            ..open_leads()
        }
    )
    .await
    .is_empty());

    storage
        .push(
            &device_b,
            &plain(&[entry(2, job_b, Change::RemoveLead(broadband.id))]),
            at(40),
        )
        .await
        .unwrap();
    assert!(
        listed(
            &storage,
            LeadFilter {
                technician: Some(b),
                open_only: false,
                ..open_leads()
            }
        )
        .await
        .is_empty(),
        "a removed lead leaves HQ's list"
    );
}

/// A job with a customer of this name, phone and account number, at
/// `start_days` days after t0 (a fault, indoor, an hour long).
fn customer_job(
    technician: Option<TechnicianId>,
    name: &str,
    phone: &str,
    account: Option<&str>,
    start_days: i64,
) -> DispatchedJob {
    let mut job = job_for(technician, name);
    job.job.customer.phone = phone.into();
    job.job.customer.account_number = account.map(str::to_string);
    job.job.window_start = t0() + chrono::Duration::days(start_days);
    job.job.window_end = job.job.window_start + chrono::Duration::hours(1);
    job
}

async fn create_one(storage: &Arc<dyn Storage>, job: DispatchedJob) -> DispatchedJob {
    storage
        .create_jobs(&[job], t0(), &[])
        .await
        .unwrap()
        .pop()
        .unwrap()
}

/// Standard item 22: a customer outlives a job. The account number
/// identifies them; without one the phone does (digits only); a customer
/// known by phone takes the first account number given; another account
/// number on the same phone is someone else. Storage must apply the rule,
/// or history would split or merge strangers.
async fn a_jobs_customer_is_matched_by_account_number_then_phone(storage: Arc<dyn Storage>) {
    let first = create_one(&storage, customer_job(None, "黄", "138 0000 1111", None, 0)).await;
    let by_phone = create_one(
        &storage,
        customer_job(None, "黄先生", "13800001111", None, 1),
    )
    .await;
    assert_eq!(
        by_phone.job.customer.id, first.job.customer.id,
        "the same phone, typed differently, is the same customer"
    );
    let adopts = create_one(
        &storage,
        customer_job(None, "黄", "138-0000-1111", Some(" FZ-1 "), 2),
    )
    .await;
    assert_eq!(adopts.job.customer.id, first.job.customer.id);
    assert_eq!(adopts.job.customer.account_number.as_deref(), Some("FZ-1"));
    let by_account = create_one(
        &storage,
        customer_job(None, "黄", "13900000000", Some("FZ-1"), 3),
    )
    .await;
    assert_eq!(
        by_account.job.customer.id, first.job.customer.id,
        "the account number wins over a new phone"
    );
    let stranger = create_one(
        &storage,
        customer_job(None, "林", "13800001111", Some("FZ-2"), 3),
    )
    .await;
    assert_ne!(
        stranger.job.customer.id, first.job.customer.id,
        "another account number on the same phone is another customer"
    );

    let history = storage
        .customer_history(first.job.customer.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(history.customer.account_number.as_deref(), Some("FZ-1"));
    let jobs: Vec<JobId> = history.jobs.iter().map(|j| j.dispatch.job.id).collect();
    assert_eq!(
        jobs,
        vec![
            first.job.id,
            by_phone.job.id,
            adopts.job.id,
            by_account.job.id
        ],
        "every job of the customer, oldest window first"
    );
    let read = storage
        .job_records(first.job.id)
        .await
        .unwrap()
        .unwrap()
        .dispatch
        .job;
    assert_eq!(
        read.customer.account_number.as_deref(),
        Some("FZ-1"),
        "a job reads its customer's account number"
    );

    let found = storage.find_customers("FZ-2", 50).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, stranger.job.customer.id);
    let by_name = storage.find_customers("林", 50).await.unwrap();
    assert_eq!(by_name.len(), 1, "found by name");
    let wildcard = storage.find_customers("%", 50).await.unwrap();
    assert!(wildcard.is_empty(), "a % typed is a % searched for");
    assert!(storage
        .customer_history(doorstep_core::CustomerId::new())
        .await
        .unwrap()
        .is_none());
}

/// The story comes from HQ's own history, read in the pull's snapshot: a
/// technician pulling a job gets the customer's other jobs with their op
/// logs, whoever worked them.
async fn a_pull_brings_the_customers_history(storage: Arc<dyn Storage>) {
    let (a, device) = enrolled(&storage, "A").await;
    let (b, _) = enrolled(&storage, "B").await;
    let earlier = create_one(
        &storage,
        customer_job(Some(a), "黄", "13811112222", None, -10),
    )
    .await;
    storage
        .push(
            &device,
            &plain(&[entry(1, earlier.job.id, work("换了分线器"))]),
            at(1),
        )
        .await
        .unwrap();
    let now = create_one(
        &storage,
        customer_job(Some(b), "黄", "13811112222", None, 0),
    )
    .await;
    let _other = create_one(&storage, customer_job(None, "林", "13999990000", None, 0)).await;
    let pulled = storage.pull(b, 0).await.unwrap();
    assert_eq!(pulled.jobs.len(), 1);
    assert_eq!(pulled.histories.len(), 1, "one history per customer pulled");
    let history = &pulled.histories[0];
    assert_eq!(history.customer.id, now.job.customer.id);
    assert_eq!(
        history.jobs.len(),
        2,
        "the earlier job, another technician's, is in it"
    );
    assert_eq!(history.jobs[0].dispatch.job.id, earlier.job.id);
    assert_eq!(history.jobs[0].ops.len(), 1, "with its op log");
}

/// A VIP grade set at HQ reaches the laptops that hold the customer's open
/// jobs: those jobs take a new change number; a closed one does not come
/// back (the laptop may have let it go). The action is audit-logged with it.
async fn a_vip_grade_goes_out_with_the_open_jobs(storage: Arc<dyn Storage>) {
    let (a, _) = enrolled(&storage, "A").await;
    let open = create_one(
        &storage,
        customer_job(Some(a), "黄", "13822223333", None, 0),
    )
    .await;
    let closed = create_one(
        &storage,
        customer_job(Some(a), "黄", "13822223333", None, -3),
    )
    .await;
    storage
        .change_job(closed.job.id, DispatchChange::Cancel, &any_entry())
        .await
        .unwrap();
    let before = storage.pull(a, 0).await.unwrap();
    let customer = open.job.customer.id;
    let updated = storage
        .set_vip_grade(
            customer,
            doorstep_core::VipGrade::Gold,
            &noted(AuditAction::SetVipGrade, None),
        )
        .await
        .unwrap();
    assert_eq!(updated.vip_grade, doorstep_core::VipGrade::Gold);
    let after = storage.pull(a, before.cursor).await.unwrap();
    let ids: Vec<JobId> = after.jobs.iter().map(|j| j.id).collect();
    assert_eq!(ids, vec![open.job.id], "only the open job goes out again");
    assert_eq!(
        after.histories[0].customer.vip_grade,
        doorstep_core::VipGrade::Gold
    );
    let entries = all_entries(&storage).await;
    assert!(entries
        .iter()
        .any(|e| e.record.action == AuditAction::SetVipGrade));
    let missing = storage
        .set_vip_grade(
            doorstep_core::CustomerId::new(),
            doorstep_core::VipGrade::Gold,
            &noted(AuditAction::SetVipGrade, None),
        )
        .await;
    assert!(matches!(missing, Err(HqError::NotFound(_))));
}

fn new_job(phone: &str, account: Option<&str>, start_days: i64) -> NewJob {
    let start = t0() + chrono::Duration::days(start_days);
    NewJob {
        customer_name: "黄".into(),
        phone: phone.into(),
        address: "福州".into(),
        job_type: doorstep_core::JobType::Fault,
        sub_case: doorstep_core::SubCase::Indoor,
        fault_description: "没有信号".into(),
        window_start: start,
        window_end: start + chrono::Duration::hours(1),
        technician_id: None,
        earlier_visits: vec![],
        account_number: account.map(str::to_string),
        reported_at: None,
    }
}

/// A complaint taken on a visit that was then rescheduled and re-booked to
/// another technician still waits for its callback: the customer was
/// promised a reply, and the next technician must hear of it from the
/// story, as the dispatcher sees it in the complaint list.
async fn a_complaint_from_an_earlier_visit_stays_in_the_story(storage: Arc<dyn Storage>) {
    let hq = Hq::new(storage.clone(), fixed_clock());
    let (a, device_a) = enrolled(&storage, "A").await;
    let (b, device_b) = enrolled(&storage, "B").await;
    let job = stored_job(&storage, Some(a), "甲").await;
    let id = job.job.id;
    storage
        .push(
            &device_a,
            &plain(&[
                entry(1, id, Change::SetStep(Step::Visit)),
                entry(
                    2,
                    id,
                    Change::RaiseComplaint(doorstep_core::Complaint {
                        id: RecordId::new(),
                        taken_by: "A".into(),
                        issue: "等了一上午".into(),
                        reply_by: at(300),
                    }),
                ),
                entry(
                    3,
                    id,
                    Change::Reschedule(Reschedule {
                        reason: RescheduleReason::NeedsSupport,
                        note: "needs a ladder".into(),
                        new_start: at(24 * 60),
                        new_end: at(25 * 60),
                    }),
                ),
            ]),
            at(10),
        )
        .await
        .unwrap();
    for change in [
        DispatchChange::Reschedule {
            start: at(48 * 60),
            end: at(49 * 60),
        },
        DispatchChange::Assign(b),
    ] {
        storage.change_job(id, change, &any_entry()).await.unwrap();
    }

    let pulled = hq.pull(&device_b, None, None).await.unwrap();
    assert_eq!(pulled.jobs.len(), 1);
    assert_eq!(pulled.jobs[0].visit, 2, "B works visit 2");
    let open: Vec<&str> = pulled.customers[0]
        .open_complaints
        .iter()
        .map(|c| c.issue.as_str())
        .collect();
    assert_eq!(
        open,
        vec!["等了一上午"],
        "visit 1's complaint is in B's story"
    );
    let listed = hq.complaints(ComplaintsQuery { open: true }).await.unwrap();
    assert_eq!(listed.len(), 1, "and in the dispatcher's list: {listed:?}");
    assert_eq!(
        listed[0].technician.as_ref().map(|t| t.id),
        Some(a),
        "taken by A"
    );
}

/// Standard item 15 through HQ's service on each backend: a fault job within
/// the repeat window after another of the same customer is flagged where it
/// is handed out (created, the board, the job page, the pull), and the pull
/// carries the customer's story and the one-line visits older apps show. A
/// revisit is the same customer's.
async fn a_repeat_fault_is_flagged_and_the_story_pulled(storage: Arc<dyn Storage>) {
    let hq = Hq::new(storage.clone(), fixed_clock());
    let (a, device) = enrolled(&storage, "A").await;
    let first = hq
        .create_job(new_job("13833334444", Some("FZ-9"), -20))
        .await
        .unwrap();
    assert_eq!(first.job.repeat_of, None, "the first fault is no repeat");
    let mut second = new_job("13833334444", None, 0);
    second.technician_id = Some(a);
    let second = hq.create_job(second).await.unwrap();
    assert_eq!(second.job.customer.id, first.job.customer.id);
    assert_eq!(
        second.job.repeat_of,
        Some(first.job.id),
        "20 days after a fault"
    );

    let later = Hq::new(storage.clone(), fixed_clock()).with_repeat_fault_days(10);
    let detail = later.job_detail(second.job.id).await.unwrap();
    assert_eq!(detail.job.repeat_of, None, "outside a 10-day window");
    let detail = hq.job_detail(second.job.id).await.unwrap();
    assert_eq!(detail.job.repeat_of, Some(first.job.id));
    let board = hq
        .board(second.job.window_start.date_naive())
        .await
        .unwrap();
    let on_board: Vec<_> = board.columns.iter().flat_map(|c| &c.jobs).collect();
    assert_eq!(on_board.len(), 1);
    assert_eq!(
        on_board[0].repeat_of,
        Some(first.job.id),
        "flagged on the board"
    );

    let pulled = hq.pull(&device, None, None).await.unwrap();
    assert_eq!(pulled.jobs.len(), 1);
    assert_eq!(
        pulled.jobs[0].repeat_of,
        Some(first.job.id),
        "flagged on the laptop"
    );
    assert_eq!(pulled.customers.len(), 1);
    let story = &pulled.customers[0];
    assert_eq!(story.customer_id, first.job.customer.id);
    let visits: Vec<JobId> = story.visits.iter().map(|v| v.job_id).collect();
    assert_eq!(visits, vec![second.job.id, first.job.id], "newest first");
    assert_eq!(
        pulled.jobs[0].earlier_visits.len(),
        1,
        "an older app sees the earlier visit as a line"
    );

    let revisit = hq
        .create_revisit(
            second.job.id,
            RevisitRequest {
                window_start: at(60 * 24 * 2),
                window_end: at(60 * 24 * 2 + 60),
                technician_id: Some(a),
            },
        )
        .await
        .unwrap();
    assert_eq!(revisit.job.customer.id, first.job.customer.id);
    assert_eq!(
        revisit.job.repeat_of,
        Some(second.job.id),
        "a revisit follows the repeat"
    );
    let entries = all_entries(&storage).await;
    assert!(entries
        .iter()
        .any(|e| e.record.action == AuditAction::CreateRevisit
            && e.record.job_id == Some(revisit.job.id)));
    let customer = hq.customer_detail(first.job.customer.id).await.unwrap();
    assert_eq!(customer.jobs.len(), 3);
    // A search no customer can match answers empty on both backends, rather
    // than an error from the database.
    assert_eq!(hq.find_customers("FZ-9").await.unwrap().len(), 1);
    assert!(hq.find_customers("FZ\0").await.unwrap().is_empty());
    assert!(hq.find_customers("  ").await.unwrap().is_empty());
    assert_eq!(customer.customer.account_number.as_deref(), Some("FZ-9"));
}

fn upload(replaces: Option<DocumentId>, title: &str, hash: &str) -> DocumentUpload {
    DocumentUpload {
        id: replaces.unwrap_or_default(),
        replaces: replaces.is_some(),
        title_zh: title.into(),
        title_en: String::new(),
        kind: DocumentKind::Pdf,
        content_hash: hash.into(),
        size: 7,
    }
}

/// Technical documents ride the pull's cursor: published, a new version,
/// retired, each is one change every technician's next pull brings (so a
/// laptop gets it once and drops a retired one); a device starting from
/// nothing gets no retired ones. Each change writes its audit entry, and
/// a refused one writes none.
async fn documents_are_published_versioned_and_retired(storage: Arc<dyn Storage>) {
    let (a, _) = enrolled(&storage, "A").await;
    let (b, _) = enrolled(&storage, "B").await;
    let before = storage.pull(a, 0).await.unwrap();
    assert!(before.documents.is_empty(), "no document yet");
    let entries_before = all_entries(&storage).await.len();

    let guide = storage
        .publish_document(
            &upload(None, "机顶盒安装", &"a".repeat(64)),
            at(1),
            &note(AuditAction::PublishDocument),
        )
        .await
        .unwrap();
    assert_eq!(
        (guide.version, guide.state, guide.published_at),
        (1, DocumentState::Published, at(1))
    );
    let modem = storage
        .publish_document(
            &upload(None, "光猫指南", &"b".repeat(64)),
            at(2),
            &note(AuditAction::PublishDocument),
        )
        .await
        .unwrap();

    let first = storage.pull(a, before.cursor).await.unwrap();
    assert_eq!(
        first.documents,
        vec![guide.clone(), modem.clone()],
        "every technician's pull brings what was published since its cursor, in order"
    );
    assert!(
        first.cursor > before.cursor,
        "a publication moves the cursor"
    );
    assert_eq!(
        storage.pull(b, 0).await.unwrap().documents.len(),
        2,
        "documents are for every technician"
    );
    assert!(
        storage
            .pull(a, first.cursor)
            .await
            .unwrap()
            .documents
            .is_empty(),
        "nothing changed since the cursor"
    );

    let second = storage
        .publish_document(
            &upload(Some(guide.id), "机顶盒安装（新）", &"c".repeat(64)),
            at(3),
            &note(AuditAction::PublishDocument),
        )
        .await
        .unwrap();
    assert_eq!(
        (second.id, second.version, second.content_hash.as_str()),
        (guide.id, 2, "c".repeat(64).as_str()),
        "new content under the id is its next version"
    );
    let missing = storage
        .publish_document(
            &upload(Some(DocumentId::new()), "x", &"d".repeat(64)),
            at(3),
            &note(AuditAction::PublishDocument),
        )
        .await;
    assert!(
        matches!(missing, Err(HqError::NotFound(_))),
        "a new version of a document HQ does not hold is refused: {missing:?}"
    );

    let retired = storage
        .retire_document(modem.id, at(4), &note(AuditAction::RetireDocument))
        .await
        .unwrap();
    assert_eq!(
        (retired.state, retired.retired_at),
        (DocumentState::Retired, Some(at(4)))
    );
    let again = storage
        .retire_document(modem.id, at(5), &note(AuditAction::RetireDocument))
        .await;
    assert!(
        matches!(&again, Err(e) if e.code() == "document_retired"),
        "retiring twice is refused: {again:?}"
    );
    let unknown = storage
        .retire_document(DocumentId::new(), at(5), &note(AuditAction::RetireDocument))
        .await;
    assert!(matches!(unknown, Err(HqError::NotFound(_))));

    let later = storage.pull(a, first.cursor).await.unwrap();
    assert_eq!(
        later.documents,
        vec![second.clone(), retired.clone()],
        "a laptop that pulled before hears of the new version and the retirement"
    );
    assert_eq!(
        storage.pull(b, 0).await.unwrap().documents,
        vec![second.clone()],
        "a device starting from nothing gets only what is published"
    );
    assert_eq!(
        storage.documents().await.unwrap(),
        vec![second.clone(), retired],
        "the console lists every document, the latest published first"
    );

    // Retired, then published again as a new version.
    let back = storage
        .publish_document(
            &upload(Some(modem.id), "光猫指南", &"e".repeat(64)),
            at(6),
            &note(AuditAction::PublishDocument),
        )
        .await
        .unwrap();
    assert_eq!(
        (back.version, back.state, back.retired_at),
        (2, DocumentState::Published, None)
    );
    assert_eq!(
        all_entries(&storage).await.len() - entries_before,
        5,
        "four publications and one retirement are logged; the refusals are not"
    );
}

/// A dispatcher's job as the console sends it, for `technician`, its window
/// at `start` for an hour, reported at `reported_at` (None: when HQ gets it).
fn reported_job(
    technician: TechnicianId,
    job_type: JobType,
    start: Timestamp,
    reported_at: Option<Timestamp>,
) -> NewJob {
    NewJob {
        customer_name: "黄".into(),
        phone: "13800000000".into(),
        address: "福州".into(),
        job_type,
        sub_case: SubCase::Indoor,
        fault_description: String::new(),
        window_start: start,
        window_end: start + chrono::Duration::hours(1),
        technician_id: Some(technician),
        earlier_visits: vec![],
        reported_at,
        account_number: None,
    }
}

/// Repair-time targets (standard item 21): HQ keeps one per job type, each
/// change audit-logged; a job HQ receives is due by its report time plus its
/// type's target then, and the pull carries that to the laptop. The board
/// flags a job past it and not done; a target outside 1 to 720 hours is
/// refused and changes nothing. A job of a type without a target is never
/// due.
async fn a_repair_target_makes_jobs_due_and_flags_them(storage: Arc<dyn Storage>) {
    let (tech, device) = enrolled(&storage, "A").await;
    let hq = Hq::new(storage.clone(), fixed_clock());
    assert!(hq
        .operator_settings()
        .await
        .unwrap()
        .repair_targets
        .is_empty());
    let settings = hq
        .set_repair_target(RepairTargetChange {
            job_type: JobType::Fault,
            hours: Some(24),
        })
        .await
        .unwrap();
    assert_eq!(
        settings.repair_targets,
        vec![RepairTarget {
            job_type: JobType::Fault,
            hours: 24
        }]
    );
    let refused = hq
        .set_repair_target(RepairTargetChange {
            job_type: JobType::Fault,
            hours: Some(0),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), "bad_target");
    assert_eq!(
        hq.operator_settings().await.unwrap().repair_targets[0].hours,
        24,
        "a refused target changes nothing"
    );
    let entries = all_entries(&storage).await;
    assert_eq!(
        entries
            .iter()
            .filter(|e| e.record.action == AuditAction::SetRepairTarget)
            .count(),
        1,
        "the target set is in the audit log, the refused one is not"
    );

    // Reported 30 hours before HQ's now, due 6 hours ago: past its target.
    let late = hq
        .create_job(reported_job(
            tech,
            JobType::Fault,
            at(60),
            Some(at(-30 * 60)),
        ))
        .await
        .unwrap();
    assert_eq!(late.job.due_by, Some(at(-6 * 60)));
    // Received now: due in 24 hours.
    let fresh = hq
        .create_job(reported_job(tech, JobType::Fault, at(90), None))
        .await
        .unwrap();
    assert_eq!(fresh.job.reported_at, Some(t0()));
    assert_eq!(fresh.job.due_by, Some(at(24 * 60)));
    let install = hq
        .create_job(reported_job(
            tech,
            JobType::Install,
            at(120),
            Some(at(-30 * 60)),
        ))
        .await
        .unwrap();
    assert_eq!(install.job.due_by, None, "installs have no target here");

    let pulled = storage.pull(device.technician_id, 0).await.unwrap();
    let due = |id: JobId| pulled.jobs.iter().find(|j| j.id == id).unwrap().due_by;
    assert_eq!(
        due(late.job.id),
        Some(at(-6 * 60)),
        "the pull carries due-by"
    );
    assert_eq!(due(fresh.job.id), Some(at(24 * 60)));

    let board = hq.board(t0().date_naive()).await.unwrap();
    let flagged: Vec<JobId> = board
        .columns
        .iter()
        .flat_map(|c| c.past_target.clone())
        .collect();
    assert_eq!(flagged, vec![late.job.id], "only the late fault is flagged");

    let detail = hq.job_detail(late.job.id).await.unwrap();
    assert!(detail.repair.past_target);
    assert_eq!(detail.repair.reported_at, Some(at(-30 * 60)));
    assert_eq!(detail.repair.seconds_to_complete, None, "not completed yet");

    // Removing the target leaves the jobs already received as they were.
    hq.set_repair_target(RepairTargetChange {
        job_type: JobType::Fault,
        hours: None,
    })
    .await
    .unwrap();
    assert!(hq
        .operator_settings()
        .await
        .unwrap()
        .repair_targets
        .is_empty());
    let detail = hq.job_detail(fresh.job.id).await.unwrap();
    assert_eq!(detail.repair.due_by, Some(at(24 * 60)));
}

/// The board's day is the operator's: a job at 01:30 Beijing time on 2
/// December (17:30 UTC on the 1st) is on the board of the 2nd in Shanghai,
/// and on the board of the 1st for an operator on UTC, whatever zone the
/// server's machine is set to.
async fn the_boards_day_is_the_operators(storage: Arc<dyn Storage>) {
    let (tech, _) = enrolled(&storage, "A").await;
    let hq = Hq::new(storage.clone(), fixed_clock());
    let night = t0() + chrono::Duration::minutes(5 * 60 + 30);
    let job = hq
        .create_job(reported_job(tech, JobType::Fault, night, None))
        .await
        .unwrap();
    let on_board = |board: doorstep_hq::dto::Board| {
        board
            .columns
            .iter()
            .any(|c| c.jobs.iter().any(|j| j.id == job.job.id))
    };
    let first = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    let second = chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
    let board = hq.board(second).await.unwrap();
    assert_eq!(board.time_zone, "Asia/Shanghai");
    assert!(on_board(board), "Beijing's 2 December holds it");
    assert!(!on_board(hq.board(first).await.unwrap()));
    let utc = hq
        .clone()
        .in_time_zone(doorstep_core::zone::parse_time_zone("UTC").unwrap());
    assert!(
        on_board(utc.board(first).await.unwrap()),
        "UTC's 1 December"
    );
    assert!(!on_board(utc.board(second).await.unwrap()));
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
    calls_are_read_by_time_and_technician,
    complaints_are_kept_and_read_back,
    leads_reach_hq_and_follow_ups_update_them,
    a_reassigned_jobs_visit_is_the_new_technicians,
    a_new_epoch_replaces_the_current_one,
    every_action_writes_its_entry,
    the_audit_log_filters_and_pages,
    a_disabled_dispatcher_cannot_log_in,
    a_new_password_ends_the_other_sessions,
    a_revoked_code_cannot_enroll,
    purge_removes_expired_only,
    a_jobs_customer_is_matched_by_account_number_then_phone,
    a_pull_brings_the_customers_history,
    a_vip_grade_goes_out_with_the_open_jobs,
    a_repeat_fault_is_flagged_and_the_story_pulled,
    a_complaint_from_an_earlier_visit_stays_in_the_story,
    documents_are_published_versioned_and_retired,
    a_repair_target_makes_jobs_due_and_flags_them,
    the_boards_day_is_the_operators,
);
