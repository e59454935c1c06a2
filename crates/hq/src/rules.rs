//! Every decision HQ makes about its data, in one place. Pure: no I/O, no
//! clock. The storage backends read the facts a rule needs, call it, write
//! what it returns, and pass a refusal up unchanged; the service calls the
//! same rules where it checks before storage.
//!
//! - A push: seqs in order without holes (`fresh`), one op per op_id. A
//!   device writes only jobs ever assigned to its technician: a change to a
//!   job HQ does not know, or never gave this technician, is refused
//!   (`refused_write`) yet kept, apart from the op log, with a conflict for a
//!   dispatcher, and the batch goes on. A revoked device syncs nothing
//!   (`may_sync`).
//! - A write to a job HQ has since cancelled or reassigned is kept, and opens
//!   a conflict unless one is open on the job already (`conflict_to_open`);
//!   dispatch state is not touched (`status_after_push`).
//! - The visit HQ holds is rebuilt by replaying every change it holds for the
//!   job's current visit, in the order it applied them (`current_visit_ops`,
//!   `rebuild_visit`), and the receipt is the service form's hash of it: the
//!   same bytes the app signs.
//! - Only the ops of the technician the job is assigned to now count in
//!   that visit (`counts_in_visit`): after a reassignment, the previous
//!   technician's changes are kept as evidence (and open a conflict) but
//!   stay out of the new technician's visit and receipt, which are what the
//!   new technician's app holds and signs; accepting the previous
//!   technician's completion hands the job back (`handed_back`), and their
//!   ops count again.
//! - Visits: a job the technician rescheduled and a dispatcher re-books
//!   starts its next visit (`visit_after_rebooking`), with no receipt until
//!   its own changes come (`keeps_receipt`). Every op carries the visit it
//!   was made in; an op of an earlier visit is kept (evidence, listed in the
//!   job's records) but raises no conflict, sets neither the job's status nor
//!   its receipt, and stays out of the current visit's replay
//!   (`in_current_visit`).
//! - A dispatcher may change a job until it is cancelled or completed
//!   (`change_job`); a conflict is resolved once, and accepting a completion
//!   gives the job back to that technician with the status their records of
//!   the current visit give it (`accept_completion`).
//! - Support requests (standard item 23): the job row keeps the latest
//!   request a counted change of the current visit made while the job stays
//!   open (`support_after_push`), so the console lists the jobs awaiting
//!   support without replaying them. It is cleared when the job closes
//!   (completed, rescheduled, cancelled) and when a dispatcher re-books the
//!   job (a new window: the dispatcher has acted on it) (`keeps_support_request`).
//! - Leads (standard item 16): HQ's list holds the latest state of each lead
//!   a counted change of the batch touched, as the rebuilt visit has it
//!   (`leads_after_push`); a lead the visit no longer has is removed. Leads
//!   of earlier visits stay listed: a new visit's changes never name them.
//! - Customers (`rules/customers.rs`): which customer a new job is for
//!   (`match_customer`), when a fault job is a repeat (`repeat_of`), and the
//!   customer's story from HQ's history (`story`).
//! - Accounts: a disabled dispatcher does not log in (`may_log_in`), and no
//!   dispatcher disables their own account (`may_disable`); an enrollment
//!   code is good until used, expired or revoked (`code_outstanding`), and
//!   only such a code can be revoked (`may_revoke_code`).
//! - Technical documents (standard item 24): a new content under a
//!   document's id is its next version and publishes it again, retired or
//!   not (`document_version`); only a published document can be retired
//!   (`may_retire_document`). The pull brings every document changed since
//!   the cursor, but a device starting from nothing needs no retired ones
//!   (`document_in_pull`).
//! - Repair-time targets (standard item 21): a target is 1 to 720 hours
//!   (`may_set_target`); a job's due-by is fixed when HQ receives it, from
//!   its report time and its type's target then (`due_by`); the time from
//!   report to completion is the current visit's completion less the
//!   report (`repair_seconds`). Whether a job is past its target is core's
//!   `rules::is_past_target`, which the laptop shares.

mod complaints;
mod customers;

pub use complaints::on_site_complaints;
pub use customers::{
    account_number, earlier_visit_lines, match_customer, phone_key, repeat_of, story,
    CustomerMatch, KnownCustomer, DEFAULT_REPEAT_FAULT_DAYS,
};

use doorstep_core::change::Change;
use doorstep_core::clock::ClockOffset;
use doorstep_core::signature::ServiceForm;
use doorstep_core::wire::{ConflictReason, DocumentState, PushEntry, Resolution, TechnicianId};
use doorstep_core::{
    Job, JobId, JobStatus, JobType, Lead, RecordId, RequestedSupport, Timestamp, VisitRecord,
};

pub mod prices;

use crate::error::{HqError, HqResult};
use crate::records::{Conflict, DispatchChange, DispatchedJob, RepairTarget, StoredOp};

/// Why HQ refuses a request its data does not allow. The backends return
/// these as they are; each maps to one stable error `code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The job is cancelled: a dispatcher may no longer change it.
    JobCancelled,
    /// The job is completed: a dispatcher may no longer change it.
    JobCompleted,
    /// The conflict was resolved before.
    AlreadyResolved,
    UsernameTaken(String),
    JobExists(JobId),
    DeviceRevoked,
    /// The enrollment code is unknown, used or expired.
    InvalidCode,
    /// A change kept apart (`refused_write`, `refused_entry`) cannot be
    /// accepted into a job: it can only stay on file.
    KeptApart,
    /// The dispatcher account is disabled.
    AccountDisabled,
    /// A dispatcher tried to disable their own account.
    OwnAccount,
    /// The enrollment code was used or has expired: nothing to revoke.
    CodeNotOutstanding,
    /// The document is retired already.
    DocumentRetired,
    /// A repair-time target outside 1 to `REPAIR_TARGET_HOURS_MAX` hours.
    BadTarget,
    /// A price list code was used before (`prices::item_after_edit`).
    PriceCodeTaken(String),
    /// The price list item is retired: it stays as it was.
    PriceItemRetired(String),
    /// No price list item has this code.
    UnknownPriceItem(String),
}

impl From<Refusal> for HqError {
    fn from(refusal: Refusal) -> HqError {
        match refusal {
            Refusal::JobCancelled => HqError::conflict("job_cancelled", "the job is cancelled"),
            Refusal::JobCompleted => HqError::conflict("job_completed", "the job is completed"),
            Refusal::AlreadyResolved => {
                HqError::conflict("already_resolved", "the conflict is already resolved")
            }
            Refusal::UsernameTaken(username) => HqError::conflict(
                "username_taken",
                format!("a dispatcher named {username} exists"),
            ),
            Refusal::JobExists(job) => HqError::conflict("job_exists", format!("job {job} exists")),
            Refusal::DeviceRevoked => HqError::unauthorized(
                "device_revoked",
                "this device was revoked at HQ; enroll it again",
            ),
            Refusal::InvalidCode => HqError::unauthorized(
                "invalid_code",
                "the enrollment code is unknown, used or expired",
            ),
            Refusal::KeptApart => HqError::conflict(
                "kept_apart",
                "HQ could not apply this change to a job it holds for this technician; \
                 it can only be kept on file",
            ),
            Refusal::AccountDisabled => {
                HqError::forbidden("account_disabled", "this dispatcher account is disabled")
            }
            Refusal::OwnAccount => HqError::conflict(
                "own_account",
                "a dispatcher cannot disable their own account",
            ),
            Refusal::CodeNotOutstanding => HqError::conflict(
                "code_not_outstanding",
                "the enrollment code was used or has expired",
            ),
            Refusal::DocumentRetired => {
                HqError::conflict("document_retired", "the document is retired already")
            }
            Refusal::BadTarget => HqError::invalid(
                "bad_target",
                format!("a repair-time target is 1 to {REPAIR_TARGET_HOURS_MAX} hours"),
            ),
            Refusal::PriceCodeTaken(code) => HqError::conflict(
                "price_code_taken",
                format!("the price list has had an item {code}; a code keeps its meaning for good"),
            ),
            Refusal::PriceItemRetired(code) => HqError::conflict(
                "price_item_retired",
                format!("the price list item {code} is retired; old jobs read it as it was"),
            ),
            Refusal::UnknownPriceItem(code) => HqError::NotFound(format!("price list item {code}")),
        }
    }
}

/// A revoked device neither pulls nor pushes.
pub fn may_sync(revoked: bool) -> Result<(), Refusal> {
    if revoked {
        Err(Refusal::DeviceRevoked)
    } else {
        Ok(())
    }
}

/// Why HQ cannot apply a device's change to a job, if it cannot: a device
/// writes only jobs HQ holds that were ever assigned to its technician. Such
/// a change is not refused with the batch (that would hold back every change
/// behind it for good): it is kept apart from the op log, where it touches
/// no job, and a conflict with this reason tells a dispatcher.
pub fn refused_write(known: bool, ever_assigned: bool) -> Option<ConflictReason> {
    if !known {
        Some(ConflictReason::UnknownJob)
    } else if !ever_assigned {
        Some(ConflictReason::NotAssigned)
    } else {
        None
    }
}

/// Why HQ keeps one change apart, if it does: its job's refusal
/// (`refused_write`), else what the service found in the change itself
/// (`entry_refusal`). Either way the change is kept with a conflict, and
/// the changes behind it go on.
pub fn refused_entry(
    job_refusal: Option<ConflictReason>,
    entry_refusal: Option<ConflictReason>,
) -> Option<ConflictReason> {
    job_refusal.or(entry_refusal)
}

/// What is wrong with a change in itself, if anything, found without the
/// job: a time outside the years HQ accepts (`time_range`), which a device
/// whose clock was far off can send, or fees not on the price list the
/// device held (`prices::fees_on_price_list`).
pub fn entry_refusal(time_is_possible: bool, fees_on_list: bool) -> Option<ConflictReason> {
    if !time_is_possible {
        Some(ConflictReason::ImpossibleTime)
    } else if !fees_on_list {
        Some(ConflictReason::OffPriceList)
    } else {
        None
    }
}

/// How far ahead of HQ the device's clock ran when it sent a batch, in
/// seconds, when that is worth flagging on the batch's changes (the same
/// five minutes that warn the technician). Older apps do not say.
pub fn clock_skew_flag(sent_at: Option<Timestamp>, now: Timestamp) -> Option<i64> {
    let offset = ClockOffset::measure(sent_at?, now);
    offset
        .worth_a_warning()
        .then_some(offset.laptop_ahead_seconds)
}

/// A dispatcher's username names one dispatcher.
pub fn new_username(username: &str, taken: bool) -> Result<(), Refusal> {
    if taken {
        Err(Refusal::UsernameTaken(username.to_string()))
    } else {
        Ok(())
    }
}

/// A job id is created once.
pub fn new_job(job: JobId, exists: bool) -> Result<(), Refusal> {
    if exists {
        Err(Refusal::JobExists(job))
    } else {
        Ok(())
    }
}

/// An enrollment code as HQ stored it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCode {
    pub technician: TechnicianId,
    pub used: bool,
    pub expires_at: Timestamp,
}

/// A code is good until it is used or expires (a revoked code is deleted).
pub fn code_outstanding(code: &StoredCode, now: Timestamp) -> bool {
    !code.used && code.expires_at > now
}

/// A code enrolls one device, before it expires: the technician it is for.
pub fn use_code(code: Option<&StoredCode>, now: Timestamp) -> Result<TechnicianId, Refusal> {
    match code {
        Some(code) if code_outstanding(code, now) => Ok(code.technician),
        _ => Err(Refusal::InvalidCode),
    }
}

/// Only an outstanding code can be revoked: a used one already made its
/// device (revoke the device instead), an expired one does nothing.
pub fn may_revoke_code(code: &StoredCode, now: Timestamp) -> Result<(), Refusal> {
    if code_outstanding(code, now) {
        Ok(())
    } else {
        Err(Refusal::CodeNotOutstanding)
    }
}

/// A disabled dispatcher gets no session.
pub fn may_log_in(disabled: bool) -> Result<(), Refusal> {
    if disabled {
        Err(Refusal::AccountDisabled)
    } else {
        Ok(())
    }
}

/// The version a document's new content gets: 1 for a new document, else
/// one more than the version HQ holds.
pub fn document_version(held: Option<u32>) -> u32 {
    held.map_or(1, |version| version + 1)
}

/// Retiring twice would write a second audit entry for nothing.
pub fn may_retire_document(state: DocumentState) -> Result<(), Refusal> {
    match state {
        DocumentState::Published => Ok(()),
        DocumentState::Retired => Err(Refusal::DocumentRetired),
    }
}

/// Whether a pull since `since` carries a document in `state`: a retired
/// one only to a device that may hold it (it pulled before, `since > 0`).
pub fn document_in_pull(since: i64, state: DocumentState) -> bool {
    since > 0 || state == DocumentState::Published
}

/// A dispatcher may disable any account but their own, so the console
/// never locks out the one using it.
pub fn may_disable(actor: Option<&str>, username: &str) -> Result<(), Refusal> {
    if actor == Some(username) {
        Err(Refusal::OwnAccount)
    } else {
        Ok(())
    }
}

/// The job as a dispatcher's change leaves it. A cancelled or completed job
/// is final; rescheduling hands the job out again as scheduled, as its next
/// visit if the technician had rescheduled it.
pub fn change_job(
    current: &DispatchedJob,
    change: &DispatchChange,
) -> Result<DispatchedJob, Refusal> {
    match current.job.status {
        JobStatus::Cancelled => return Err(Refusal::JobCancelled),
        JobStatus::Completed => return Err(Refusal::JobCompleted),
        _ => {}
    }
    let mut next = current.clone();
    match *change {
        DispatchChange::Assign(technician) => next.technician_id = Some(technician),
        DispatchChange::Cancel => next.job.status = JobStatus::Cancelled,
        DispatchChange::Reschedule { start, end } => {
            next.job.window_start = start;
            next.job.window_end = end;
            next.job.status = JobStatus::Scheduled;
            next.job.visit = visit_after_rebooking(&current.job);
        }
    }
    Ok(next)
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

/// Whether the receipt HQ holds still stands after a dispatch change: a next
/// visit has none until its own changes come.
pub fn keeps_receipt(before: &DispatchedJob, after: &DispatchedJob) -> bool {
    before.job.visit == after.job.visit
}

/// Whether an op made in visit `op_visit` belongs to the job's current
/// visit: only those replay into the visit HQ holds, set its status and its
/// receipt, or run into dispatch state. A late op of an earlier visit (the
/// laptop had not yet heard of the re-booking) must not undo it.
pub fn in_current_visit(job: &Job, op_visit: u32) -> bool {
    op_visit == job.visit
}

/// Whether an op counts in the visit HQ holds: made in the job's current
/// visit by a device of the technician the job is assigned to now. The
/// others are kept as evidence only.
pub fn counts_in_visit(job: &DispatchedJob, op_visit: u32, op_technician: TechnicianId) -> bool {
    in_current_visit(&job.job, op_visit) && job.technician_id == Some(op_technician)
}

/// The ops that count in the job's visit (`counts_in_visit`), in applied
/// order, as `rebuild_visit` takes them.
pub fn current_visit_ops<'a>(
    job: &'a DispatchedJob,
    ops: &'a [StoredOp],
) -> impl Iterator<Item = (&'a str, Timestamp)> + 'a {
    ops.iter()
        .filter(|op| counts_in_visit(job, op.visit, op.technician_id))
        .map(|op| (op.payload.as_str(), op.device_time))
}

/// A conflict is resolved once. A change kept apart touches no job, so
/// its conflict can only be settled by keeping it on file.
pub fn may_resolve(conflict: &Conflict, resolution: Resolution) -> Result<(), Refusal> {
    if conflict.resolved_at.is_some() {
        Err(Refusal::AlreadyResolved)
    } else if resolution == Resolution::AcceptCompletion && kept_apart(conflict.reason) {
        Err(Refusal::KeptApart)
    } else {
        Ok(())
    }
}

/// Whether a conflict of this reason is about a change kept apart from the
/// op log (`refused_entry`) rather than one applied against dispatch state.
pub fn kept_apart(reason: ConflictReason) -> bool {
    match reason {
        ConflictReason::UnknownJob
        | ConflictReason::NotAssigned
        | ConflictReason::ImpossibleTime
        | ConflictReason::OffPriceList => true,
        ConflictReason::Cancelled | ConflictReason::Reassigned => false,
    }
}

/// The job as accepting a completion hands it back: to the technician who
/// raised the conflict, so their ops count in its visit again.
pub fn handed_back(job: &DispatchedJob, conflict: &Conflict) -> DispatchedJob {
    let mut next = job.clone();
    next.technician_id = Some(conflict.technician_id);
    next
}

/// Accepting a technician's completion: the job goes back to the technician
/// who raised the conflict, with the status their records give it (`visit`
/// is the current visit rebuilt for the job `handed_back`, so their ops
/// count and an earlier visit's do not). Its receipt is that visit's hash.
pub fn accept_completion(
    job: &DispatchedJob,
    conflict: &Conflict,
    visit: &VisitRecord,
) -> DispatchedJob {
    let mut next = handed_back(job, conflict);
    next.job.status = visit.job.status;
    next
}

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

/// Whether a technician's change to a job runs into HQ's dispatch state.
pub fn conflict_reason(job: &DispatchedJob, pusher: TechnicianId) -> Option<ConflictReason> {
    if job.job.status == JobStatus::Cancelled {
        Some(ConflictReason::Cancelled)
    } else if job.technician_id != Some(pusher) {
        Some(ConflictReason::Reassigned)
    } else {
        None
    }
}

/// The conflict a newly applied change opens: one runs into dispatch state
/// and none is open on the job yet (one open conflict per job, settled by one
/// decision).
pub fn conflict_to_open(
    job: &DispatchedJob,
    pusher: TechnicianId,
    open_on_job: bool,
) -> Option<ConflictReason> {
    unless_open(conflict_reason(job, pusher), open_on_job)
}

/// A conflict is opened once: while one is open (on the job, or for a
/// refused change on the job from this technician), one decision settles
/// every change behind it.
pub fn unless_open(reason: Option<ConflictReason>, open: bool) -> Option<ConflictReason> {
    reason.filter(|_| !open)
}

/// The status HQ shows for a job after a push: a conflict holds dispatch
/// state as it was; otherwise only progress the technician made shows.
pub fn status_after_push(
    job: &DispatchedJob,
    pusher: TechnicianId,
    visit: &VisitRecord,
) -> JobStatus {
    if conflict_reason(job, pusher).is_some() {
        return job.job.status;
    }
    match visit.job.status {
        JobStatus::InProgress | JobStatus::Completed | JobStatus::Rescheduled => visit.job.status,
        _ => job.job.status,
    }
}

/// What a push does to the support request a job's row shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SupportFact {
    /// The batch asked for support: the row shows this request.
    Raise(RequestedSupport),
    /// The job closed: nothing awaits support any more.
    Clear,
    /// Neither: the row stays as it was.
    Keep,
}

/// The support request the job's row shows after a push of `batch` (the
/// job's entries HQ applied from it), `visit` being the visit rebuilt with
/// them. Only a request the batch made, in a change that counts in the
/// visit, raises one: a later push of other changes must not bring back a
/// request a dispatcher's re-booking cleared. A job the push leaves closed
/// awaits no support.
pub fn support_after_push(
    job: &DispatchedJob,
    pusher: TechnicianId,
    visit: &VisitRecord,
    batch: &[&PushEntry],
) -> SupportFact {
    if status_after_push(job, pusher, visit).is_closed() {
        return SupportFact::Clear;
    }
    let asked = batch.iter().any(|entry| {
        matches!(entry.payload, Change::RequestSupport(_))
            && counts_in_visit(job, entry.visit, pusher)
    });
    match (&visit.support_request, asked) {
        (Some(request), true) => SupportFact::Raise(request.clone()),
        _ => SupportFact::Keep,
    }
}

/// What a push does to one lead in HQ's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeadFact {
    /// The lead as the rebuilt visit holds it now.
    Write(Lead),
    /// The technician removed it.
    Remove(RecordId),
}

/// The leads HQ's list changes after a push of `batch` (the job's entries
/// HQ applied from it), `visit` being the visit rebuilt with them: each lead
/// a counted change of the batch names, once, as the visit holds it (a
/// follow-up call the rules refused leaves it as it was). Only named leads
/// are written, so the leads of the job's earlier visits stay listed.
pub fn leads_after_push(
    job: &DispatchedJob,
    pusher: TechnicianId,
    visit: &VisitRecord,
    batch: &[&PushEntry],
) -> Vec<LeadFact> {
    let mut named: Vec<RecordId> = Vec::new();
    for entry in batch {
        if !counts_in_visit(job, entry.visit, pusher) {
            continue;
        }
        let lead = match &entry.payload {
            Change::AddLead(lead) => lead.id,
            Change::RemoveLead(id) => *id,
            Change::LogLeadContact(contact) => contact.lead_id,
            _ => continue,
        };
        if !named.contains(&lead) {
            named.push(lead);
        }
    }
    named
        .into_iter()
        .map(|id| match visit.leads.iter().find(|l| l.id == id) {
            Some(lead) => LeadFact::Write(lead.clone()),
            None => LeadFact::Remove(id),
        })
        .collect()
}

/// Whether the support request on a job's row stands after a dispatcher's
/// change: re-booking the job (a new window) is the dispatcher acting on
/// it, and a closed job awaits nothing; reassigning it alone keeps it.
pub fn keeps_support_request(before: &DispatchedJob, after: &DispatchedJob) -> bool {
    !after.job.status.is_closed()
        && before.job.window_start == after.job.window_start
        && before.job.window_end == after.job.window_end
}

/// Rebuilds the visit from HQ's copy of the job and the changes that count
/// for it: every change HQ holds for the job's current visit
/// (`current_visit_ops`), in the order it applied them.
/// A change the rules refuse on replay is skipped (the app applied it under
/// the same rules, so this is rare).
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
        // Every stored payload parsed when it was pushed; one that no longer
        // does (a change type since retired) changes nothing.
        if let Ok(change) = serde_json::from_str::<Change>(payload) {
            replay(&mut visit, &change, device_time);
        }
    }
    visit
}

/// The visit HQ holds once a push's batch is applied: the job's ops stored
/// before the batch (payload, device time, visit, technician), then the
/// batch's own changes to it, replayed from memory rather than read back;
/// each only as far as it counts (`counts_in_visit`).
pub fn visit_after_push<'a>(
    job: &DispatchedJob,
    earlier: impl IntoIterator<Item = (&'a str, Timestamp, u32, TechnicianId)>,
    batch: &[&PushEntry],
    pusher: TechnicianId,
) -> VisitRecord {
    let mut visit = rebuild_visit(
        job.job.clone(),
        earlier
            .into_iter()
            .filter(|(_, _, visit, technician)| counts_in_visit(job, *visit, *technician))
            .map(|(payload, at, _, _)| (payload, at)),
    );
    for entry in batch {
        if counts_in_visit(job, entry.visit, pusher) {
            replay(&mut visit, &entry.payload, entry.device_time);
        }
    }
    visit
}

/// Applies one more change to a rebuilt visit, in applied order.
pub fn replay(visit: &mut VisitRecord, change: &Change, device_time: Timestamp) {
    // Refused on replay: skipped (see rebuild_visit).
    let _ = change.apply(visit, device_time);
}

/// The receipt's hash: the service form's canonical content.
pub fn content_hash(visit: &VisitRecord) -> String {
    ServiceForm::from_visit(visit).content_hash()
}

/// The most hours a repair-time target may be: 30 days. A longer one is a
/// typing slip, not a service standard.
pub const REPAIR_TARGET_HOURS_MAX: u32 = 720;

/// Whether `hours` may be a target: at least one hour and at most
/// `REPAIR_TARGET_HOURS_MAX`.
pub fn may_set_target(hours: u32) -> Result<(), Refusal> {
    if (1..=REPAIR_TARGET_HOURS_MAX).contains(&hours) {
        Ok(())
    } else {
        Err(Refusal::BadTarget)
    }
}

/// When a job of `job_type` reported at `reported_at` is due: under the
/// target set for its type when HQ receives it (`repair_due_by`), or never
/// when its type has none.
pub fn due_by(
    job_type: JobType,
    reported_at: Timestamp,
    targets: &[RepairTarget],
) -> Option<Timestamp> {
    let target = targets.iter().find(|t| t.job_type == job_type)?;
    doorstep_core::rules::repair_due_by(reported_at, target.hours)
}

/// The time from a job's report to its completion, in seconds: kept on the
/// job's page for as long as HQ holds the job. None while it is not
/// completed, or when HQ has no report time. The completion is the current
/// visit's (a job finished on its second visit took both).
pub fn repair_seconds(
    status: JobStatus,
    reported_at: Option<Timestamp>,
    completed_at: Option<Timestamp>,
) -> Option<i64> {
    if status != JobStatus::Completed {
        return None;
    }
    Some((completed_at? - reported_at?).num_seconds())
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use doorstep_core::wire::{ConflictId, DeviceId};
    use doorstep_core::{Customer, CustomerId, Reschedule, RescheduleReason, Step, SubCase};

    use super::*;

    fn t0() -> Timestamp {
        Timestamp::from_timestamp(1_796_000_000, 0).unwrap()
    }

    fn job(status: JobStatus, technician: Option<TechnicianId>) -> DispatchedJob {
        DispatchedJob {
            job: Job {
                id: JobId::new(),
                customer: Customer {
                    id: CustomerId::new(),
                    name: "黄".into(),
                    phone: "13800000000".into(),
                    address: "福州".into(),
                    account_number: None,
                },
                job_type: JobType::Fault,
                sub_case: SubCase::Indoor,
                fault_description: String::new(),
                window_start: t0(),
                window_end: t0() + Duration::hours(1),
                status,
                earlier_visits: vec![],
                visit: 1,
                repeat_of: None,
                reported_at: None,
                due_by: None,
            },
            technician_id: technician,
        }
    }

    fn conflict(technician: TechnicianId, resolved: bool) -> Conflict {
        Conflict {
            id: ConflictId::new(),
            job_id: JobId::new(),
            device_id: DeviceId::new(),
            technician_id: technician,
            reason: ConflictReason::Reassigned,
            op_id: uuid::Uuid::now_v7(),
            created_at: t0(),
            resolved_at: resolved.then(t0),
            resolution: None,
            note: None,
            resolved_by: None,
        }
    }

    #[test]
    fn a_cancelled_or_completed_job_is_final_for_the_dispatcher() {
        let tech = TechnicianId::new();
        for change in [
            DispatchChange::Cancel,
            DispatchChange::Assign(tech),
            DispatchChange::Reschedule {
                start: t0(),
                end: t0() + Duration::hours(2),
            },
        ] {
            assert_eq!(
                change_job(&job(JobStatus::Cancelled, Some(tech)), &change),
                Err(Refusal::JobCancelled),
                "{change:?} must not revive a cancelled job"
            );
            assert_eq!(
                change_job(&job(JobStatus::Completed, Some(tech)), &change),
                Err(Refusal::JobCompleted),
                "{change:?} must not undo a completed job"
            );
        }
    }

    #[test]
    fn a_dispatch_change_touches_only_what_it_names() {
        let (a, b) = (TechnicianId::new(), TechnicianId::new());
        let current = job(JobStatus::Rescheduled, Some(a));
        let assigned = change_job(&current, &DispatchChange::Assign(b)).unwrap();
        assert_eq!(assigned.technician_id, Some(b));
        assert_eq!(
            assigned.job, current.job,
            "assigning keeps the job as it is"
        );
        let cancelled = change_job(&current, &DispatchChange::Cancel).unwrap();
        assert_eq!(cancelled.job.status, JobStatus::Cancelled);
        assert_eq!(
            cancelled.technician_id,
            Some(a),
            "cancelling keeps the technician"
        );
        let (start, end) = (
            t0() + Duration::days(1),
            t0() + Duration::days(1) + Duration::hours(1),
        );
        let moved = change_job(&current, &DispatchChange::Reschedule { start, end }).unwrap();
        assert_eq!(
            (
                moved.job.window_start,
                moved.job.window_end,
                moved.job.status
            ),
            (start, end, JobStatus::Scheduled),
            "a new window hands the job out again as scheduled"
        );
    }

    #[test]
    fn a_push_to_a_cancelled_or_reassigned_job_conflicts_and_keeps_its_status() {
        let (a, b) = (TechnicianId::new(), TechnicianId::new());
        let mut visit = VisitRecord::new(job(JobStatus::Scheduled, Some(a)).job);
        visit.job.status = JobStatus::Completed;
        let cancelled = job(JobStatus::Cancelled, Some(a));
        assert_eq!(
            conflict_reason(&cancelled, a),
            Some(ConflictReason::Cancelled)
        );
        assert_eq!(
            status_after_push(&cancelled, a, &visit),
            JobStatus::Cancelled
        );
        let elsewhere = job(JobStatus::Scheduled, Some(b));
        assert_eq!(
            conflict_reason(&elsewhere, a),
            Some(ConflictReason::Reassigned)
        );
        assert_eq!(
            status_after_push(&elsewhere, a, &visit),
            JobStatus::Scheduled
        );
        assert_eq!(
            conflict_to_open(&elsewhere, a, true),
            None,
            "one open conflict per job"
        );
        let own = job(JobStatus::Scheduled, Some(a));
        assert_eq!(conflict_to_open(&own, a, false), None);
        assert_eq!(
            status_after_push(&own, a, &visit),
            JobStatus::Completed,
            "the technician's progress shows"
        );
        visit.job.status = JobStatus::Scheduled;
        let started = job(JobStatus::InProgress, Some(a));
        assert_eq!(
            status_after_push(&started, a, &visit),
            JobStatus::InProgress,
            "a push never moves a job back"
        );
    }

    #[test]
    fn a_conflict_is_resolved_once_and_acceptance_gives_the_job_back() {
        let (a, b) = (TechnicianId::new(), TechnicianId::new());
        let accept = Resolution::AcceptCompletion;
        assert_eq!(
            may_resolve(&conflict(a, true), accept),
            Err(Refusal::AlreadyResolved)
        );
        assert_eq!(may_resolve(&conflict(a, false), accept), Ok(()));
        let current = job(JobStatus::Scheduled, Some(b));
        let mut visit = VisitRecord::new(current.job.clone());
        visit.job.status = JobStatus::Completed;
        let accepted = accept_completion(&current, &conflict(a, false), &visit);
        assert_eq!(accepted.technician_id, Some(a));
        assert_eq!(accepted.job.status, JobStatus::Completed);
    }

    #[test]
    fn a_change_kept_apart_can_only_stay_on_file() {
        // It touched no job: accepting it would hand a job to a technician
        // whose changes HQ never applied, and the receipt would lie.
        let tech = TechnicianId::new();
        for reason in [
            ConflictReason::UnknownJob,
            ConflictReason::NotAssigned,
            ConflictReason::ImpossibleTime,
        ] {
            let mut kept = conflict(tech, false);
            kept.reason = reason;
            assert_eq!(
                may_resolve(&kept, Resolution::AcceptCompletion),
                Err(Refusal::KeptApart),
                "{reason:?}"
            );
            assert_eq!(may_resolve(&kept, Resolution::KeepCancelled), Ok(()));
        }
    }

    #[test]
    fn a_change_with_an_impossible_time_is_kept_apart_unless_its_job_is_already() {
        assert_eq!(refused_entry(None, entry_refusal(true, true)), None);
        assert_eq!(
            refused_entry(None, entry_refusal(false, true)),
            Some(ConflictReason::ImpossibleTime)
        );
        assert_eq!(
            refused_entry(Some(ConflictReason::UnknownJob), entry_refusal(false, true)),
            Some(ConflictReason::UnknownJob),
            "the job's own refusal says more"
        );
    }

    /// Fees not on the list the device held are kept apart like any change
    /// HQ cannot apply: the batch goes on, a dispatcher hears of it.
    #[test]
    fn fees_off_the_price_list_are_kept_apart() {
        assert_eq!(
            refused_entry(None, entry_refusal(true, false)),
            Some(ConflictReason::OffPriceList)
        );
        assert!(kept_apart(ConflictReason::OffPriceList));
    }

    #[test]
    fn a_batch_is_flagged_when_the_device_clock_is_over_five_minutes_off() {
        let minutes = |m: i64| Some(t0() + Duration::minutes(m));
        assert_eq!(clock_skew_flag(None, t0()), None, "older apps do not say");
        assert_eq!(clock_skew_flag(minutes(5), t0()), None);
        assert_eq!(clock_skew_flag(minutes(-5), t0()), None);
        assert_eq!(clock_skew_flag(minutes(6), t0()), Some(360));
        assert_eq!(
            clock_skew_flag(Some(t0() - Duration::days(3)), t0()),
            Some(-3 * 86_400),
            "a clock behind is negative"
        );
    }

    #[test]
    fn a_code_enrolls_once_before_it_expires() {
        let tech = TechnicianId::new();
        let code = |used, minutes| StoredCode {
            technician: tech,
            used,
            expires_at: t0() + Duration::minutes(minutes),
        };
        assert_eq!(use_code(Some(&code(false, 1)), t0()), Ok(tech));
        assert_eq!(
            use_code(Some(&code(true, 1)), t0()),
            Err(Refusal::InvalidCode)
        );
        assert_eq!(
            use_code(Some(&code(false, 0)), t0()),
            Err(Refusal::InvalidCode)
        );
        assert_eq!(use_code(None, t0()), Err(Refusal::InvalidCode));
    }

    /// A laptop replaces its copy only when the version moves on, and a
    /// retired document can come back under its id with new content.
    #[test]
    fn document_versions_count_up_and_retiring_happens_once() {
        assert_eq!(document_version(None), 1);
        assert_eq!(document_version(Some(3)), 4);
        assert_eq!(may_retire_document(DocumentState::Published), Ok(()));
        assert_eq!(
            may_retire_document(DocumentState::Retired),
            Err(Refusal::DocumentRetired)
        );
        // A fresh device has nothing to remove; one that pulled before may.
        assert!(!document_in_pull(0, DocumentState::Retired));
        assert!(document_in_pull(0, DocumentState::Published));
        assert!(document_in_pull(5, DocumentState::Retired));
    }

    #[test]
    fn every_refusal_has_its_own_code() {
        let job = JobId::new();
        let cases = [
            (Refusal::JobCancelled, "job_cancelled", 409),
            (Refusal::JobCompleted, "job_completed", 409),
            (Refusal::AlreadyResolved, "already_resolved", 409),
            (Refusal::UsernameTaken("ann".into()), "username_taken", 409),
            (Refusal::JobExists(job), "job_exists", 409),
            (Refusal::DeviceRevoked, "device_revoked", 401),
            (Refusal::InvalidCode, "invalid_code", 401),
            (Refusal::KeptApart, "kept_apart", 409),
            (Refusal::AccountDisabled, "account_disabled", 403),
            (Refusal::OwnAccount, "own_account", 409),
            (Refusal::CodeNotOutstanding, "code_not_outstanding", 409),
            (Refusal::DocumentRetired, "document_retired", 409),
        ];
        for (refusal, code, status) in cases {
            let error = HqError::from(refusal);
            assert_eq!(
                (error.code(), error.status().as_u16()),
                (code, status),
                "clients branch on these codes"
            );
        }
        assert_eq!(may_sync(true), Err(Refusal::DeviceRevoked));
        assert_eq!(
            new_username("ann", true),
            Err(Refusal::UsernameTaken("ann".into()))
        );
        assert_eq!(new_job(job, true), Err(Refusal::JobExists(job)));
        assert_eq!(may_log_in(true), Err(Refusal::AccountDisabled));
        assert_eq!(may_log_in(false), Ok(()));
    }

    /// The console must not lock out the dispatcher using it; the command
    /// line (no actor) may disable anyone.
    #[test]
    fn no_one_disables_their_own_account() {
        assert_eq!(may_disable(Some("ann"), "ann"), Err(Refusal::OwnAccount));
        assert_eq!(may_disable(Some("ann"), "bob"), Ok(()));
        assert_eq!(may_disable(None, "ann"), Ok(()));
    }

    /// Revoking is for codes that could still enroll a device.
    #[test]
    fn only_an_outstanding_code_is_revoked() {
        let code = |used, minutes| StoredCode {
            technician: TechnicianId::new(),
            used,
            expires_at: t0() + Duration::minutes(minutes),
        };
        assert_eq!(may_revoke_code(&code(false, 1), t0()), Ok(()));
        assert_eq!(
            may_revoke_code(&code(true, 1), t0()),
            Err(Refusal::CodeNotOutstanding)
        );
        assert_eq!(
            may_revoke_code(&code(false, 0), t0()),
            Err(Refusal::CodeNotOutstanding)
        );
    }

    #[test]
    fn a_write_hq_cannot_apply_names_why() {
        assert_eq!(
            refused_write(false, false),
            Some(ConflictReason::UnknownJob),
            "a job HQ does not hold cannot take a change"
        );
        assert_eq!(
            refused_write(true, false),
            Some(ConflictReason::NotAssigned),
            "a job never this technician's is not theirs to write"
        );
        assert_eq!(
            refused_write(true, true),
            None,
            "a job once assigned to the technician takes their changes (a conflict, if any, is conflict_to_open's)"
        );
    }

    fn in_visit(job: &DispatchedJob, visit: u32) -> DispatchedJob {
        let mut job = job.clone();
        job.job.visit = visit;
        job
    }

    fn op_in(visit: u32, n: i64, change: Change) -> StoredOp {
        let at = t0() + Duration::seconds(n);
        StoredOp {
            op_id: uuid::Uuid::now_v7(),
            device_id: DeviceId::new(),
            technician_id: TechnicianId::new(),
            seq: n,
            job_id: JobId::new(),
            kind: change.kind().to_string(),
            payload: serde_json::to_string(&change).unwrap(),
            device_time: at,
            server_time: at,
            visit,
            clock_skew_seconds: None,
        }
    }

    fn reschedule() -> Change {
        Change::Reschedule(Reschedule {
            reason: RescheduleReason::NeedsSupport,
            note: "needs a ladder".into(),
            new_start: t0() + Duration::days(1),
            new_end: t0() + Duration::days(1) + Duration::hours(1),
        })
    }

    #[test]
    fn only_re_booking_a_rescheduled_job_starts_its_next_visit() {
        let tech = TechnicianId::new();
        let rescheduled = job(JobStatus::Rescheduled, Some(tech));
        assert_eq!(
            visit_after_rebooking(&rescheduled.job),
            2,
            "the technician closed visit 1 by rescheduling: the re-booking is visit 2"
        );
        assert_eq!(
            visit_after_rebooking(&in_visit(&rescheduled, 2).job),
            3,
            "a second reschedule and re-booking is visit 3"
        );
        for status in [JobStatus::Scheduled, JobStatus::InProgress] {
            assert_eq!(
                visit_after_rebooking(&job(status, Some(tech)).job),
                1,
                "moving the window of an open job ({status:?}) keeps its visit"
            );
        }

        let (start, end) = (
            t0() + Duration::days(2),
            t0() + Duration::days(2) + Duration::hours(1),
        );
        let rebooked =
            change_job(&rescheduled, &DispatchChange::Reschedule { start, end }).unwrap();
        assert_eq!(
            (rebooked.job.visit, rebooked.job.status),
            (2, JobStatus::Scheduled),
            "a re-booked rescheduled job is handed out as its next visit"
        );
        assert!(
            !keeps_receipt(&rescheduled, &rebooked),
            "the next visit has no receipt until its own changes come"
        );
        let open = job(JobStatus::InProgress, Some(tech));
        let moved = change_job(&open, &DispatchChange::Reschedule { start, end }).unwrap();
        assert!(
            moved.job.visit == 1 && keeps_receipt(&open, &moved),
            "moving an open job's window keeps its visit and its receipt"
        );
        let reassigned = change_job(&rescheduled, &DispatchChange::Assign(tech)).unwrap();
        assert_eq!(reassigned.job.visit, 1, "only a new window starts a visit");
    }

    #[test]
    fn only_the_assigned_technicians_ops_count_in_the_visit() {
        let (a, b) = (TechnicianId::new(), TechnicianId::new());
        let reassigned = job(JobStatus::InProgress, Some(b));
        assert!(
            counts_in_visit(&reassigned, 1, b),
            "the new technician's ops make up the visit"
        );
        assert!(
            !counts_in_visit(&reassigned, 1, a),
            "the previous technician's ops are evidence, not part of the new one's visit"
        );
        assert!(
            !counts_in_visit(&reassigned, 2, b),
            "an op of another visit never counts"
        );
        let back = handed_back(&reassigned, &conflict(a, false));
        assert!(
            counts_in_visit(&back, 1, a) && !counts_in_visit(&back, 1, b),
            "accepting A's completion makes the visit A's again"
        );
    }

    #[test]
    fn the_current_visit_replays_only_its_own_ops() {
        let tech = TechnicianId::new();
        let ops = [
            op_in(1, 1, Change::SetStep(Step::Visit)),
            op_in(1, 2, reschedule()),
            op_in(2, 3, Change::SetStep(Step::Operate)),
            // Opened on the laptop before it heard of the re-booking.
            op_in(1, 4, Change::SetStep(Step::Phone)),
        ]
        .map(|op| StoredOp {
            technician_id: tech,
            ..op
        });
        let current = in_visit(&job(JobStatus::Scheduled, Some(tech)), 2);
        assert!(in_current_visit(&current.job, 2) && !in_current_visit(&current.job, 1));
        let visit = rebuild_visit(current.job.clone(), current_visit_ops(&current, &ops));
        assert_eq!(
            status_after_push(&current, tech, &visit),
            JobStatus::Scheduled,
            "visit 1's reschedule must not turn the re-booked job back to rescheduled"
        );
        assert_eq!(
            visit.step,
            Step::Operate,
            "visit 1's late step is not visit 2's"
        );
        assert!(visit.reschedule.is_none(), "visit 2 was not rescheduled");
    }

    fn entry(job: &DispatchedJob, visit: u32, change: Change) -> PushEntry {
        PushEntry {
            seq: 1,
            op_id: uuid::Uuid::now_v7(),
            job_id: job.job.id,
            kind: change.kind().to_string(),
            payload: change,
            device_time: t0(),
            visit,
        }
    }

    fn ask_support() -> Change {
        Change::RequestSupport(doorstep_core::SupportRequest {
            problem: "光猫无光,需线路班".into(),
        })
    }

    /// The console lists jobs awaiting support from the row alone, so the
    /// row must show a request exactly while the job is open and nobody
    /// has acted on it.
    #[test]
    fn a_support_request_shows_while_the_job_is_open_and_untouched() {
        let tech = TechnicianId::new();
        let open = job(JobStatus::InProgress, Some(tech));
        let asked = entry(&open, 1, ask_support());
        let visit = rebuild_visit(
            open.job.clone(),
            [(
                serde_json::to_string(&asked.payload).unwrap().as_str(),
                t0(),
            )],
        );
        let raised = support_after_push(&open, tech, &visit, &[&asked]);
        assert!(
            matches!(&raised, SupportFact::Raise(r) if r.problem == "光猫无光,需线路班"),
            "a request in the batch raises it: {raised:?}"
        );
        assert_eq!(
            status_after_push(&open, tech, &visit),
            JobStatus::InProgress,
            "asking for support does not close the job"
        );
        let step = entry(&open, 1, Change::SetStep(Step::Operate));
        assert_eq!(
            support_after_push(&open, tech, &visit, &[&step]),
            SupportFact::Keep,
            "a later push without a request must not bring back one a re-booking cleared"
        );
        assert_eq!(
            support_after_push(&open, TechnicianId::new(), &visit, &[&asked]),
            SupportFact::Keep,
            "a request from a technician the job is no longer assigned to does not count"
        );
        let mut completed = visit.clone();
        completed.job.status = JobStatus::Completed;
        assert_eq!(
            support_after_push(&open, tech, &completed, &[&step]),
            SupportFact::Clear,
            "a completed job awaits no support"
        );

        let (start, end) = (
            t0() + Duration::days(1),
            t0() + Duration::days(1) + Duration::hours(1),
        );
        let rebooked = change_job(&open, &DispatchChange::Reschedule { start, end }).unwrap();
        assert!(
            !keeps_support_request(&open, &rebooked),
            "re-booking is the dispatcher acting on the request"
        );
        let cancelled = change_job(&open, &DispatchChange::Cancel).unwrap();
        assert!(!keeps_support_request(&open, &cancelled));
        let reassigned = change_job(&open, &DispatchChange::Assign(TechnicianId::new())).unwrap();
        assert!(
            keeps_support_request(&open, &reassigned),
            "handing the job to another technician leaves it awaiting support"
        );
    }

    fn add_lead(product: &str) -> Lead {
        Lead {
            id: RecordId::new(),
            product: product.into(),
            interest: doorstep_core::Interest::Interested,
            note: String::new(),
            follow_up_at: chrono::DateTime::parse_from_rfc3339("2026-12-03T12:30:00+08:00").ok(),
            contacts: vec![],
        }
    }

    /// The console's leads list is written from these facts alone: a lead
    /// the batch added or called shows as the visit holds it (reminder moved
    /// into the call windows, the call logged), a removed one goes, a lead
    /// the batch did not name is left alone, and a technician the job is no
    /// longer assigned to changes nothing.
    #[test]
    fn a_push_writes_the_leads_it_names_as_the_visit_holds_them() {
        let tech = TechnicianId::new();
        let open = job(JobStatus::InProgress, Some(tech));
        let (kept, called, removed) =
            (add_lead("回看"), add_lead("高清互动"), add_lead("宽带提速"));
        let call = Change::LogLeadContact(doorstep_core::LeadContact {
            id: RecordId::new(),
            lead_id: called.id,
            at: t0(),
            interest: doorstep_core::Interest::FairlyInterested,
            note: "周末再联系".into(),
            next_follow_up_at: None,
        });
        let earlier = [
            Change::AddLead(kept.clone()),
            Change::AddLead(called.clone()),
            Change::AddLead(removed.clone()),
        ];
        let batch = [
            entry(&open, 1, call),
            entry(&open, 1, Change::RemoveLead(removed.id)),
        ];
        let payloads: Vec<String> = earlier
            .iter()
            .chain(batch.iter().map(|e| &e.payload))
            .map(|c| serde_json::to_string(c).unwrap())
            .collect();
        let visit = rebuild_visit(
            open.job.clone(),
            payloads.iter().map(|p| (p.as_str(), t0())),
        );
        let batch: Vec<&PushEntry> = batch.iter().collect();
        let facts = leads_after_push(&open, tech, &visit, &batch);
        assert_eq!(facts.len(), 2, "only the leads the batch names: {facts:?}");
        match &facts[0] {
            LeadFact::Write(lead) => {
                assert_eq!(lead.id, called.id);
                assert_eq!(lead.interest, doorstep_core::Interest::FairlyInterested);
                assert_eq!(lead.contacts.len(), 1);
            }
            other => panic!("the called lead is written: {other:?}"),
        }
        assert_eq!(facts[1], LeadFact::Remove(removed.id));
        assert!(
            leads_after_push(&open, TechnicianId::new(), &visit, &batch).is_empty(),
            "a technician the job is not assigned to now does not write its leads"
        );
    }
    /// A target is whole hours from 1 to 30 days: 0 would flag every job
    /// at once, and a year is a slip of the keyboard.
    #[test]
    fn a_repair_target_is_one_hour_to_thirty_days() {
        assert!(may_set_target(1).is_ok());
        assert!(may_set_target(REPAIR_TARGET_HOURS_MAX).is_ok());
        assert_eq!(may_set_target(0), Err(Refusal::BadTarget));
        assert_eq!(
            may_set_target(REPAIR_TARGET_HOURS_MAX + 1),
            Err(Refusal::BadTarget)
        );
    }

    /// A job is due by its report time plus its own type's target; a type
    /// without one leaves the job without a due time (never flagged).
    #[test]
    fn a_job_is_due_by_its_types_target_from_its_report() {
        let targets = [RepairTarget {
            job_type: JobType::Fault,
            hours: 24,
        }];
        assert_eq!(
            due_by(JobType::Fault, t0(), &targets),
            Some(t0() + Duration::hours(24))
        );
        assert_eq!(due_by(JobType::Install, t0(), &targets), None);
    }

    /// The repair time counts only a completed job, from its report to its
    /// completion: an open or rescheduled job has none yet.
    #[test]
    fn the_repair_time_runs_from_report_to_completion() {
        let done = t0() + Duration::hours(30);
        assert_eq!(
            repair_seconds(JobStatus::Completed, Some(t0()), Some(done)),
            Some(30 * 3600)
        );
        assert_eq!(
            repair_seconds(JobStatus::Rescheduled, Some(t0()), Some(done)),
            None
        );
        assert_eq!(repair_seconds(JobStatus::Completed, None, Some(done)), None);
    }
}
