//! What HQ holds, as plain data: jobs as dispatched, devices, the op log,
//! the technician records read off it, conflicts. No I/O and no decisions
//! (those are in `rules`): `storage` reads and writes these, `service` and
//! `api` hand them out.
//!
//! A job can take more than one visit; every op and every technician record
//! keeps the visit it belongs to, so an earlier visit's work stays on file.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashSet};

use doorstep_core::change::Change;
use doorstep_core::wire::{
    ConflictId, ConflictReason, DeviceId, DispatcherId, DocumentId, DocumentKind, DocumentNotice,
    DocumentState, PushEntry, Receipt, Resolution, TechnicianId, TechnicianRef,
};
use doorstep_core::{
    ComplaintRecord, CustomerId, Interest, Job, JobId, Lead, RequestedSupport, Timestamp, VipGrade,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A device as HQ's console lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeviceInfo {
    pub id: DeviceId,
    pub name: String,
    pub technician_id: TechnicianId,
    #[schema(value_type = String, format = DateTime)]
    pub enrolled_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<Timestamp>,
    /// The last outbox seq HQ applied from this device.
    pub last_seq: i64,
}

/// Who a bearer token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceAuth {
    pub id: DeviceId,
    pub technician_id: TechnicianId,
    pub revoked: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispatcherLogin {
    pub id: DispatcherId,
    pub username: String,
    /// PHC string (Argon2id).
    pub password_hash: String,
    /// A disabled dispatcher may not log in.
    pub disabled: bool,
}

/// A dispatcher login as the console lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DispatcherAccount {
    pub id: DispatcherId,
    pub username: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub disabled_at: Option<Timestamp>,
}

/// An enrollment code not used, not expired and not revoked. The code
/// itself is held only as its hash; the id names it for revoking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OutstandingCode {
    pub id: Uuid,
    pub technician_id: TechnicianId,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
}

/// What expired and was deleted by one purge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Purged {
    pub sessions: u64,
    pub codes: u64,
}

/// Who acts at HQ: a dispatcher in the console, or an operator at the
/// command line (admin commands, tests). The audit log names the first by
/// username and the second by no one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Dispatcher(DispatcherSession),
    CommandLine,
}

impl Actor {
    /// The dispatcher's username; None for the command line.
    pub fn username(&self) -> Option<&str> {
        match self {
            Actor::Dispatcher(session) => Some(&session.username),
            Actor::CommandLine => None,
        }
    }
}

/// What was done, as the audit log names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    Login,
    LoginFailed,
    CreateJob,
    Import,
    Assign,
    Reschedule,
    Cancel,
    ResolveConflict,
    IssueCode,
    RevokeCode,
    RevokeDevice,
    CreateTechnician,
    CreateDispatcher,
    DisableDispatcher,
    EnableDispatcher,
    ChangePassword,
    TakeComplaint,
    CallBackComplaint,
    SetVipGrade,
    CreateRevisit,
    PublishDocument,
    RetireDocument,
    SetRepairTarget,
    AddPriceItem,
    ChangePriceItem,
    RetirePriceItem,
}

/// A repair-time target (standard item 21): jobs of this type should be
/// done within `hours` of the customer's report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RepairTarget {
    pub job_type: doorstep_core::JobType,
    #[schema(minimum = 1, maximum = 720)]
    pub hours: u32,
}

/// One entry of the audit log as the service writes it: who, what, which
/// target, when (HQ's clock), and a short detail. Targets are those the
/// action names; the rest are None.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditRecord {
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// The dispatcher's username; null for the command line.
    pub actor: Option<String>,
    pub action: AuditAction,
    pub job_id: Option<JobId>,
    pub technician_id: Option<TechnicianId>,
    pub device_id: Option<DeviceId>,
    /// The dispatcher account the action is about.
    pub username: Option<String>,
    pub detail: String,
}

/// An entry as the log holds it, numbered in the order written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    #[serde(flatten)]
    pub record: AuditRecord,
}

/// Which entries to read, newest first: every filter given must match.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<AuditAction>,
    pub job_id: Option<JobId>,
    /// At or after.
    pub from: Option<Timestamp>,
    /// Before.
    pub to: Option<Timestamp>,
    /// Only entries numbered below this (the next page).
    pub before: Option<i64>,
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DispatcherSession {
    pub dispatcher_id: DispatcherId,
    pub username: String,
}

/// A technical document as HQ holds it (its content is the blob
/// `content_hash`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Document {
    pub id: DocumentId,
    pub title_zh: String,
    pub title_en: String,
    pub kind: DocumentKind,
    pub version: u32,
    pub content_hash: String,
    pub size: u64,
    pub state: DocumentState,
    /// When this version was published.
    #[schema(value_type = String, format = DateTime)]
    pub published_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub retired_at: Option<Timestamp>,
}

impl Document {
    /// What the pull tells laptops of it.
    pub fn notice(&self) -> DocumentNotice {
        DocumentNotice {
            id: self.id,
            title_zh: self.title_zh.clone(),
            title_en: self.title_en.clone(),
            kind: self.kind,
            version: self.version,
            content_hash: self.content_hash.clone(),
            size: self.size,
            state: self.state,
        }
    }
}

/// A document's new content, checked, its blob already stored: a new
/// document, or the next version of `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentUpload {
    pub id: DocumentId,
    /// True for the next version of a document HQ holds: not found if none.
    pub replaces: bool,
    pub title_zh: String,
    pub title_en: String,
    pub kind: DocumentKind,
    pub content_hash: String,
    pub size: u64,
}

/// A job as HQ dispatches it: the job plus whom it is assigned to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DispatchedJob {
    pub job: Job,
    pub technician_id: Option<TechnicianId>,
}

/// A job whose technician asked for support and that still awaits it, as
/// its row keeps it (`rules::support_after_push`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwaitingSupport {
    pub dispatched: DispatchedJob,
    pub request: RequestedSupport,
}

/// Which calls to read for a supervisor's review (item 20): those made in
/// [from, to) on the device's clock, by one technician or all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallFilter {
    pub technician: Option<TechnicianId>,
    pub from: Timestamp,
    pub to: Timestamp,
    pub limit: u32,
}

/// A technician's change as HQ holds it, read across jobs (calls,
/// complaints): the job it was made on, who made it, the change as pushed
/// (the service reads it) and the device's time of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredChange {
    pub dispatched: DispatchedJob,
    pub by: TechnicianRef,
    pub payload: String,
    pub device_time: Timestamp,
}

/// A complaint taken at HQ by a dispatcher, on a job (item 19).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HqComplaint {
    pub job_id: JobId,
    pub record: ComplaintRecord,
}

/// A lead in HQ's list (`rules::leads_after_push`): the lead as the
/// technician's visit holds it, and whom to call, copied from the job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadRecord {
    pub job_id: JobId,
    pub technician_id: TechnicianId,
    pub customer_name: String,
    pub phone: String,
    pub lead: Lead,
}

/// Which leads a dispatcher asks for: all filters together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadFilter {
    pub technician: Option<TechnicianId>,
    pub interest: Option<Interest>,
    /// Only leads still owed a follow-up call (`doorstep_core::leads::is_open`).
    pub open_only: bool,
    /// Only leads with a reminder at or before this time.
    pub due_before: Option<Timestamp>,
    pub limit: usize,
}

/// One outbox entry as HQ stored it, with both clocks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StoredOp {
    pub op_id: Uuid,
    pub device_id: DeviceId,
    /// The technician the device belongs to: only the ops of the technician
    /// the job is assigned to count in the visit HQ holds.
    pub technician_id: TechnicianId,
    pub seq: i64,
    pub job_id: JobId,
    pub kind: String,
    /// The `Change` as JSON text, exactly as received (re-serialized).
    pub payload: String,
    #[schema(value_type = String, format = DateTime)]
    pub device_time: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub server_time: Timestamp,
    /// The job's visit the change was made in.
    pub visit: u32,
    /// How far ahead of HQ the device's clock ran when it sent this change,
    /// in seconds, when that was over five minutes (`rules::clock_skew_flag`):
    /// its `device_time` is then not to be read as the real time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_skew_seconds: Option<i64>,
}

/// The latest state of one technician-owned record of a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TechRecord {
    /// `work`, `kit`, `photo:<id>`, `call_log:<id>`, `signature`, ...
    pub record_key: String,
    /// The job's visit the record belongs to.
    pub visit: u32,
    pub kind: String,
    pub body: serde_json::Value,
    pub op_id: Uuid,
    #[schema(value_type = String, format = DateTime)]
    pub device_time: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub server_time: Timestamp,
    /// The technician removed it (a photo, a lead); the body is what it was.
    pub removed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Conflict {
    pub id: ConflictId,
    pub job_id: JobId,
    pub device_id: DeviceId,
    pub technician_id: TechnicianId,
    pub reason: ConflictReason,
    /// The first change that ran into HQ's dispatch state.
    pub op_id: Uuid,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub resolved_at: Option<Timestamp>,
    pub resolution: Option<Resolution>,
    pub note: Option<String>,
    pub resolved_by: Option<String>,
}

/// Everything HQ holds about one job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct JobRecords {
    pub dispatch: DispatchedJob,
    pub records: Vec<TechRecord>,
    /// In the order HQ applied them.
    pub ops: Vec<StoredOp>,
    pub receipt: Option<Receipt>,
    pub conflicts: Vec<Conflict>,
}

/// A device's push as storage takes it: the entries sorted by seq
/// (`rules::prepare`), what the service found in them without the database,
/// and the flag for the device's clock.
#[derive(Debug, Clone, PartialEq)]
pub struct IncomingPush {
    pub entries: Vec<PushEntry>,
    /// The seqs of entries carrying a time outside the years HQ accepts.
    pub impossible_time: HashSet<i64>,
    /// The seqs of entries charging fees not on the price list the device
    /// held (`rules::prices::fees_on_price_list`).
    pub off_price_list: HashSet<i64>,
    /// `rules::clock_skew_flag` of the batch, stored on each of its changes.
    pub clock_skew_seconds: Option<i64>,
}

impl IncomingPush {
    pub fn time_is_possible(&self, entry: &PushEntry) -> bool {
        !self.impossible_time.contains(&entry.seq)
    }

    /// What the service found wrong with the entry itself, if anything.
    pub fn entry_refusal(&self, entry: &PushEntry) -> Option<ConflictReason> {
        crate::rules::entry_refusal(
            self.time_is_possible(entry),
            !self.off_price_list.contains(&entry.seq),
        )
    }
}

/// A pull: the jobs changed since a cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullBatch {
    pub cursor: i64,
    pub jobs: Vec<Job>,
    pub removed: Vec<JobId>,
    /// The technician's conflicts resolved since the cursor.
    pub resolved: Vec<Conflict>,
    /// The history of each customer of `jobs`, read in the same snapshot.
    pub histories: Vec<CustomerHistory>,
    /// Documents published or retired since the cursor.
    pub documents: Vec<Document>,
}

/// A customer as HQ holds them (`customers` table).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CustomerRecord {
    pub id: CustomerId,
    pub account_number: Option<String>,
    pub name: String,
    pub phone: String,
    pub address: String,
    pub vip_grade: VipGrade,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

/// A customer with every job of theirs HQ holds, each with its op log: what
/// `rules::story` and `rules::repeat_of` read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerHistory {
    pub customer: CustomerRecord,
    /// Oldest window first.
    pub jobs: Vec<HistoryJob>,
    /// Complaints dispatchers took at HQ on any of these jobs, oldest first
    /// (those taken on site are in the jobs' op logs).
    pub hq_complaints: Vec<ComplaintRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryJob {
    pub dispatch: DispatchedJob,
    pub ops: Vec<StoredOp>,
}

/// A dispatch change to a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DispatchChange {
    Assign(TechnicianId),
    Cancel,
    Reschedule { start: Timestamp, end: Timestamp },
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
        Change::RequestSupport(_) => ("support_request".into(), false),
        Change::RaiseComplaint(c) => (format!("complaint:{}", c.id), false),
        Change::LogComplaintCallback(c) => {
            (format!("complaint_callback:{}", c.complaint_id), false)
        }
        Change::LogLeadContact(c) => (format!("lead_contact:{}", c.id), false),
        Change::SavePayment(_) => ("payment".into(), false),
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

#[cfg(test)]
mod tests {
    use doorstep_core::{Photo, PhotoKind, RecordId, Step, Work};

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
            technician_id: TechnicianId::default(),
            seq: n,
            job_id: JobId::default(),
            kind: change.kind().to_string(),
            payload: serde_json::to_string(&change).unwrap(),
            device_time: at,
            server_time: at,
            clock_skew_seconds: None,
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

    #[test]
    fn each_visit_keeps_its_own_records_the_latest_first() {
        let ops = [
            op_in(1, 1, Change::SetStep(Step::Visit)),
            op_in(1, 2, work("visit one")),
            op_in(2, 3, Change::SetStep(Step::Operate)),
            // Made on the laptop before it heard of the re-booking.
            op_in(1, 4, Change::SetStep(Step::Phone)),
        ];
        let records = latest_records(&ops);
        let keyed: Vec<(u32, &str)> = records
            .iter()
            .map(|r| (r.visit, r.record_key.as_str()))
            .collect();
        assert_eq!(
            keyed,
            vec![(2, "step"), (1, "step"), (1, "work")],
            "each visit keeps its own records, the latest visit first"
        );
        assert_eq!(
            records[1].op_id, ops[3].op_id,
            "visit 1's late step sets visit 1's record, not visit 2's"
        );
    }
}
