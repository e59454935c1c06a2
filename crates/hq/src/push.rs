//! The rules of a push, shared by every storage backend. Pure: no I/O.
//!
//! - Order per device: HQ keeps the last seq it applied from each device. An
//!   entry with seq <= last was applied before and is skipped; the first new
//!   entry must be last + 1 and the rest must follow without holes, else the
//!   whole batch is refused with `sequence_gap` and the seq HQ expects.
//! - Idempotence: op_id is unique on HQ; an op_id already stored is skipped.
//! - A device writes only jobs that were ever assigned to its technician.
//!   If HQ has since cancelled or reassigned the job, the records are kept
//!   and a conflict is recorded; dispatch state is not touched.
//! - Records: the latest state of each technician record is not stored; it
//!   is read off the op log (`latest_records`), so a push writes each change
//!   once.
//! - Content hash: HQ rebuilds the visit by replaying every change it holds
//!   for the job's current visit, in the order it applied them, with
//!   `Change::apply` (each at its device time), and hashes the service form's
//!   canonical content, the same bytes the app hashes when the customer signs.
//! - Visits: a job the technician rescheduled and a dispatcher re-books starts
//!   its next visit (`visit_after_rebooking`). Every op carries the visit it
//!   was made in; an op of an earlier visit is kept (evidence, shown in the
//!   job's records) but raises no conflict and neither sets the job's status
//!   nor enters the current visit's replay (`in_current_visit`).

use std::cmp::Reverse;
use std::collections::BTreeMap;

use doorstep_core::change::Change;
use doorstep_core::signature::ServiceForm;
use doorstep_core::wire::{ConflictReason, PushEntry, TechnicianId};
use doorstep_core::{Job, JobStatus, Timestamp, VisitRecord};

use crate::error::{HqError, HqResult};
use crate::storage::{StoredOp, TechRecord};

/// Checks what can be checked without the database: seq positive, kind
/// matches payload, one op_id per seq. Returns the entries sorted by seq,
/// duplicates (same seq and op_id) dropped.
pub fn prepare(mut entries: Vec<PushEntry>) -> HqResult<Vec<PushEntry>> {
    for entry in &entries {
        if entry.seq < 1 {
            return Err(HqError::invalid(
                "bad_seq",
                format!("seq must be 1 or more, got {}", entry.seq),
            ));
        }
        if entry.kind != entry.payload.kind() {
            return Err(HqError::invalid(
                "kind_mismatch",
                format!(
                    "entry {} says kind {} but its payload is {}",
                    entry.seq,
                    entry.kind,
                    entry.payload.kind()
                ),
            ));
        }
    }
    entries.sort_by_key(|e| e.seq);
    let mut out: Vec<PushEntry> = Vec::with_capacity(entries.len());
    for entry in entries {
        if let Some(prev) = out.last() {
            if prev.seq == entry.seq {
                if prev.op_id == entry.op_id {
                    continue;
                }
                return Err(HqError::invalid(
                    "duplicate_seq",
                    format!("seq {} appears with two different op_ids", entry.seq),
                ));
            }
        }
        out.push(entry);
    }
    Ok(out)
}

/// The entries of a sorted batch that HQ has not applied yet, given the last
/// seq it applied from the device; a hole is a `sequence_gap`.
pub fn fresh(last_seq: i64, sorted: &[PushEntry]) -> HqResult<&[PushEntry]> {
    let start = sorted.partition_point(|e| e.seq <= last_seq);
    let fresh = &sorted[start..];
    for (expected, entry) in (last_seq + 1..).zip(fresh) {
        if entry.seq != expected {
            return Err(HqError::SequenceGap {
                expected_seq: expected,
            });
        }
    }
    Ok(fresh)
}

/// Whether an op made in visit `op_visit` belongs to the job's current
/// visit: only those replay into the visit HQ holds, set its status and its
/// receipt, or run into dispatch state. A late op of an earlier visit (the
/// laptop had not yet heard of the re-booking) must not undo it.
pub fn in_current_visit(job: &Job, op_visit: u32) -> bool {
    op_visit == job.visit
}

/// The ops of the job's current visit, in applied order, as `rebuild_visit`
/// takes them.
pub fn current_visit_ops<'a>(
    job: &Job,
    ops: &'a [StoredOp],
) -> impl Iterator<Item = (&'a str, Timestamp)> + 'a {
    let visit = job.visit;
    ops.iter()
        .filter(move |op| op.visit == visit)
        .map(|op| (op.payload.as_str(), op.device_time))
}

/// The visit a dispatcher's re-booking (a new window) leaves the job on: a
/// job the technician rescheduled comes back as its next visit, with its
/// own steps, forms, signature and receipt; moving the window of a job not
/// yet closed keeps its visit.
pub fn visit_after_rebooking(job: &Job) -> u32 {
    if job.status == JobStatus::Rescheduled {
        job.visit + 1
    } else {
        job.visit
    }
}

/// Whether a technician's change to a job runs into HQ's dispatch state.
pub fn conflict_reason(
    status: JobStatus,
    assigned: Option<TechnicianId>,
    pusher: TechnicianId,
) -> Option<ConflictReason> {
    if status == JobStatus::Cancelled {
        Some(ConflictReason::Cancelled)
    } else if assigned != Some(pusher) {
        Some(ConflictReason::Reassigned)
    } else {
        None
    }
}

/// Where a change lands among the job's technician records: the record key,
/// and whether the change removes the record.
pub fn record_key(change: &Change) -> (String, bool) {
    match change {
        Change::SetStep(_) => ("step".to_string(), false),
        Change::LogCall(c) => (format!("call_log:{}", c.id), false),
        Change::SaveDeparture(_) => ("departure".into(), false),
        Change::SaveArrival(_) => ("arrival".into(), false),
        Change::SaveKit(_) => ("kit".into(), false),
        Change::SaveWork(_) => ("work".into(), false),
        Change::AddReplacement(r) => (format!("replacement:{}", r.id), false),
        Change::RemoveReplacement(id) => (format!("replacement:{id}"), true),
        Change::SetFees(_) => ("fees".into(), false),
        Change::SaveCommunicate(_) => ("communicate".into(), false),
        Change::SaveFeedback(_) => ("feedback".into(), false),
        Change::SaveCleanup(_) => ("cleanup".into(), false),
        Change::AddLead(l) => (format!("lead:{}", l.id), false),
        Change::RemoveLead(id) => (format!("lead:{id}"), true),
        Change::AddPhoto(p) => (format!("photo:{}", p.id), false),
        Change::RemovePhoto(id) => (format!("photo:{id}"), true),
        Change::Sign(_) => ("signature".into(), false),
        Change::Reschedule(_) => ("reschedule".into(), false),
        Change::Complete => ("completion".into(), false),
    }
}

/// The body of the record a change writes: the change's data.
pub fn record_body(change: &Change) -> serde_json::Value {
    serde_json::to_value(change)
        .ok()
        .and_then(|v| v.get("data").cloned())
        .unwrap_or(serde_json::Value::Null)
}

/// The latest state of each technician record of a job, per visit, from its
/// ops in applied order: the latest visit first, then by record key. The
/// last op on a record sets it, and one that removes it keeps the body the
/// record had.
pub fn latest_records(ops: &[StoredOp]) -> Vec<TechRecord> {
    let mut records: BTreeMap<(Reverse<u32>, String), TechRecord> = BTreeMap::new();
    for op in ops {
        // Every stored payload parsed when it was pushed; one that no longer
        // does (a change type since retired) names no record.
        let Ok(change) = serde_json::from_str::<Change>(&op.payload) else {
            continue;
        };
        let (record_key, removed) = record_key(&change);
        let key = (Reverse(op.visit), record_key);
        let body = match records.get(&key) {
            Some(earlier) if removed => earlier.body.clone(),
            _ => record_body(&change),
        };
        records.insert(
            key.clone(),
            TechRecord {
                record_key: key.1,
                visit: op.visit,
                kind: op.kind.clone(),
                body,
                op_id: op.op_id,
                device_time: op.device_time,
                server_time: op.server_time,
                removed,
            },
        );
    }
    records.into_values().collect()
}

/// Rebuilds the visit from HQ's copy of the job and every change it holds
/// for it, in applied order. A change the rules refuse on replay is skipped
/// (the app applied it under the same rules, so this is rare).
pub fn rebuild_visit<'a>(
    job: Job,
    ops: impl IntoIterator<Item = (&'a str, Timestamp)>,
) -> VisitRecord {
    let mut job = job;
    // Dispatch state (cancelled, reassigned) must not stop the replay of what
    // the technician did: replay from the job as it was handed out.
    job.status = JobStatus::Scheduled;
    let mut visit = VisitRecord::new(job);
    for (payload, device_time) in ops {
        if let Ok(change) = serde_json::from_str::<Change>(payload) {
            replay(&mut visit, &change, device_time);
        }
    }
    visit
}

/// Applies one more change to a rebuilt visit, in applied order.
pub fn replay(visit: &mut VisitRecord, change: &Change, device_time: Timestamp) {
    // Refused on replay: skipped (see rebuild_visit).
    let _ = change.apply(visit, device_time);
}

pub fn content_hash(visit: &VisitRecord) -> String {
    ServiceForm::from_visit(visit).content_hash()
}

/// The status HQ shows for a job after the technician's changes, when no
/// conflict holds them back: only progress the technician made.
pub fn progressed_status(current: JobStatus, visit: &VisitRecord) -> JobStatus {
    match visit.job.status {
        JobStatus::InProgress | JobStatus::Completed | JobStatus::Rescheduled => visit.job.status,
        _ => current,
    }
}

#[cfg(test)]
mod tests {
    use doorstep_core::wire::DeviceId;
    use doorstep_core::{JobId, Photo, PhotoKind, RecordId, Work};
    use uuid::Uuid;

    use super::*;

    fn op(n: i64, change: Change) -> StoredOp {
        op_in(1, n, change)
    }

    fn op_in(visit: u32, n: i64, change: Change) -> StoredOp {
        let at = Timestamp::from_timestamp(1_790_000_000 + n, 0).unwrap();
        StoredOp {
            visit,
            op_id: Uuid::now_v7(),
            device_id: DeviceId::default(),
            seq: n,
            job_id: JobId::default(),
            kind: change.kind().to_string(),
            payload: serde_json::to_string(&change).unwrap(),
            device_time: at,
            server_time: at,
        }
    }

    fn work(description: &str) -> Change {
        Change::SaveWork(Work {
            description: description.into(),
            ..Work::default()
        })
    }

    #[test]
    fn the_last_op_on_a_record_sets_it_and_a_removal_keeps_its_body() {
        let photo = Photo {
            id: RecordId::new(),
            kind: PhotoKind::Before,
            blob_hash: "ab".repeat(32),
            width: 4,
            height: 3,
            added_at: Timestamp::from_timestamp(1_790_000_000, 0).unwrap(),
        };
        let never_added = RecordId::new();
        let ops = [
            op(1, work("first")),
            op(2, Change::AddPhoto(photo.clone())),
            op(3, work("second")),
            op(4, Change::RemovePhoto(photo.id)),
            op(5, Change::RemoveLead(never_added)),
            op(6, Change::Complete),
        ];
        let records = latest_records(&ops);
        let keys: Vec<&str> = records.iter().map(|r| r.record_key.as_str()).collect();
        let photo_key = format!("photo:{}", photo.id);
        let lead_key = format!("lead:{never_added}");
        let mut expected = vec!["completion", lead_key.as_str(), photo_key.as_str(), "work"];
        expected.sort();
        assert_eq!(keys, expected, "one record per key, sorted by key");

        let find = |key: &str| records.iter().find(|r| r.record_key == key).unwrap();
        let work = find("work");
        assert_eq!(work.body["description"], "second");
        assert_eq!(
            (work.op_id, work.device_time),
            (ops[2].op_id, ops[2].device_time)
        );
        let removed = find(&photo_key);
        assert!(removed.removed);
        assert_eq!(removed.kind, "remove_photo");
        assert_eq!(removed.op_id, ops[3].op_id);
        assert_eq!(
            removed.body,
            serde_json::to_value(&photo).unwrap(),
            "a removed photo still shows what it was"
        );
        assert_eq!(find(&lead_key).body, never_added.to_string());
        assert!(find("completion").body.is_null());
    }

    fn job(status: JobStatus, visit: u32) -> Job {
        let at = Timestamp::from_timestamp(1_790_000_000, 0).unwrap();
        Job {
            id: JobId::default(),
            customer: doorstep_core::Customer {
                id: doorstep_core::CustomerId::default(),
                name: "黄".into(),
                phone: "13800000000".into(),
                address: "福州".into(),
            },
            job_type: doorstep_core::JobType::Fault,
            sub_case: doorstep_core::SubCase::Indoor,
            fault_description: String::new(),
            window_start: at,
            window_end: at + chrono::Duration::hours(1),
            status,
            earlier_visits: vec![],
            visit,
        }
    }

    fn reschedule() -> Change {
        let at = Timestamp::from_timestamp(1_790_100_000, 0).unwrap();
        Change::Reschedule(doorstep_core::Reschedule {
            reason: doorstep_core::RescheduleReason::NeedsSupport,
            note: "needs a ladder".into(),
            new_start: at,
            new_end: at + chrono::Duration::hours(1),
        })
    }

    #[test]
    fn only_re_booking_a_rescheduled_job_starts_its_next_visit() {
        assert_eq!(
            visit_after_rebooking(&job(JobStatus::Rescheduled, 1)),
            2,
            "the technician closed visit 1 by rescheduling: the re-booking is visit 2"
        );
        assert_eq!(
            visit_after_rebooking(&job(JobStatus::Rescheduled, 2)),
            3,
            "a second reschedule and re-booking is visit 3"
        );
        for status in [JobStatus::Scheduled, JobStatus::InProgress] {
            assert_eq!(
                visit_after_rebooking(&job(status, 1)),
                1,
                "moving the window of an open job ({status:?}) keeps its visit"
            );
        }
    }

    #[test]
    fn the_current_visit_replays_only_its_own_ops() {
        let ops = [
            op_in(1, 1, Change::SetStep(doorstep_core::Step::Visit)),
            op_in(1, 2, reschedule()),
            op_in(2, 3, Change::SetStep(doorstep_core::Step::Operate)),
            // Opened on the laptop before it heard of the re-booking.
            op_in(1, 4, Change::SetStep(doorstep_core::Step::Phone)),
        ];
        let current = job(JobStatus::Scheduled, 2);
        assert!(in_current_visit(&current, 2) && !in_current_visit(&current, 1));
        let visit = rebuild_visit(current.clone(), current_visit_ops(&current, &ops));
        assert_eq!(
            progressed_status(current.status, &visit),
            JobStatus::Scheduled,
            "visit 1's reschedule must not turn the re-booked job back to rescheduled"
        );
        assert_eq!(
            visit.step,
            doorstep_core::Step::Operate,
            "visit 1's late step is not visit 2's"
        );
        assert!(visit.reschedule.is_none(), "visit 2 was not rescheduled");

        let records = latest_records(&ops);
        let keyed: Vec<(u32, &str)> = records
            .iter()
            .map(|r| (r.visit, r.record_key.as_str()))
            .collect();
        assert_eq!(
            keyed,
            vec![(2, "step"), (1, "reschedule"), (1, "step")],
            "each visit keeps its own records, the latest visit first"
        );
    }
}
