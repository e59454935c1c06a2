//! The records a visit produces. Each on-site section is a plain struct that
//! validates itself; the store persists them, the rules judge them.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::DomainError;
use crate::prices::{PaymentReceipt, PricedAt};

pub type Timestamp = DateTime<Utc>;

/// Longest free text a single-line field accepts.
pub const SHORT_TEXT_MAX: usize = 200;
/// Longest free text a note or description accepts.
pub const LONG_TEXT_MAX: usize = 4000;

uuid_id!(JobId);
uuid_id!(CustomerId);
uuid_id!(RecordId);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobType {
    /// 安装类
    Install,
    /// 故障类
    Fault,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubCase {
    /// 家中现场处理
    Indoor,
    /// 户外线路排查
    Outdoor,
    /// 更换设备器材
    Replacement,
    /// 打洞、排线
    DrillingWiring,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Scheduled,
    InProgress,
    Completed,
    Rescheduled,
    Cancelled,
}

impl JobStatus {
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            JobStatus::Completed | JobStatus::Rescheduled | JobStatus::Cancelled
        )
    }
}

/// The six steps of an on-site visit (上门服务六部曲).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Phone,
    Visit,
    Operate,
    Communicate,
    Evaluate,
    Help,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Customer {
    pub id: CustomerId,
    pub name: String,
    pub phone: String,
    pub address: String,
    /// The operator's account number, which identifies the customer at HQ
    /// when there is one. Absent from older HQs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_number: Option<String>,
}

/// A visit made before this job, as HQ reports it: one line each. HQ fills
/// it from its own history (`CustomerStory` has the same visits in full),
/// so an app from before the story still shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EarlierVisit {
    pub date: NaiveDate,
    pub summary: String,
}

/// A job as dispatched: HQ owns every field here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Job {
    pub id: JobId,
    pub customer: Customer,
    pub job_type: JobType,
    pub sub_case: SubCase,
    pub fault_description: String,
    #[schema(value_type = String, format = DateTime)]
    pub window_start: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub window_end: Timestamp,
    pub status: JobStatus,
    pub earlier_visits: Vec<EarlierVisit>,
    /// Which visit to the customer this is: 1, then one more each time a
    /// dispatcher re-books the job after the technician rescheduled it.
    /// Absent from older HQs, which know only one visit per job.
    #[serde(default = "first_visit")]
    #[schema(minimum = 1, default = 1)]
    pub visit: u32,
    /// A repeat fault (standard item 15): the customer's earlier fault job
    /// within HQ's repeat window before this one. HQ judges it; absent from
    /// older HQs and on jobs that are not repeats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat_of: Option<JobId>,
    /// When the customer reported it (HQ's receipt of the job, or the
    /// report time the dispatcher gave). Absent from older HQs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub reported_at: Option<Timestamp>,
    /// The repair-time target (standard item 21): the job should be done by
    /// then (`rules::is_past_target`). None when its type has no target, or
    /// from older HQs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub due_by: Option<Timestamp>,
}

/// The visit number of a job that has had no re-booking.
pub const FIRST_VISIT: u32 = 1;

pub fn first_visit() -> u32 {
    FIRST_VISIT
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    /// Reached the customer and booked the visit.
    Booked,
    /// Reached the customer and confirmed the existing slot.
    Confirmed,
    NoAnswer,
    /// Phoned ahead because of a late arrival, with an apology.
    LateApology,
    /// Phoned because nobody answered the door.
    DoorNoAnswer,
    Other,
    /// Phoned after an outdoor line repair: the customer confirms it works
    /// (standard item 10). Logging it completes the confirm-by-phone task.
    RepairConfirmed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CallLog {
    pub id: RecordId,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub outcome: CallOutcome,
    pub note: String,
    /// How long the call lasted, for a supervisor's review (item 20).
    /// Absent from calls logged before durations were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(maximum = 14400)]
    pub duration_seconds: Option<u32>,
}

/// The longest call a technician can log: four hours. Anything longer is a
/// timer left running, not a call.
pub const CALL_DURATION_MAX_SECONDS: u32 = 4 * 60 * 60;

/// Pre-departure checklist (section 8, item 6).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct Departure {
    pub tools: bool,
    pub spares: bool,
    pub repair_record: bool,
    pub receipt: bool,
    pub service_form: bool,
    pub feedback_form: bool,
    pub kit: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct Arrival {
    #[schema(value_type = Option<String>, format = DateTime)]
    pub arrived_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub knock_started_at: Option<Timestamp>,
    pub door_answered: bool,
    pub badge_shown: bool,
    pub fault_point_verified: bool,
    pub service_form_left: bool,
    /// Arrival times recorded after the first, oldest first. The first
    /// `arrived_at` stands (punctuality is judged on it); a later one is
    /// logged here, never written over it (`rules::arrival_after_save`).
    /// Only applying a change appends to it: what a change carries here is
    /// ignored.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub corrections: Vec<ArrivalCorrection>,
}

/// A different arrival time recorded once the first was on file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ArrivalCorrection {
    /// The arrival time the later recording gave.
    #[schema(value_type = String, format = DateTime)]
    pub proposed: Timestamp,
    /// When that recording was made (the change's time).
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
}

/// The four-item kit (四个一道具).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct KitCheck {
    pub mat_cloth: bool,
    pub cover_cloth: bool,
    pub wiping_cloth: bool,
    pub shoe_covers: bool,
    /// Why the kit is incomplete, when it is.
    pub missing_reason: String,
}

impl KitCheck {
    pub fn all_ticked(&self) -> bool {
        self.mat_cloth && self.cover_cloth && self.wiping_cloth && self.shoe_covers
    }

    /// Work may start with the whole kit, or with a recorded reason why not.
    pub fn permits_work(&self) -> bool {
        self.all_ticked() || !self.missing_reason.trim().is_empty()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct Work {
    pub indoor: bool,
    pub line_test: bool,
    pub outdoor_line: bool,
    pub replacement: bool,
    pub drilling_wiring: bool,
    pub fault_point: String,
    pub description: String,
    /// The fault is in equipment the company does not service (处理非我司设备).
    pub non_company_equipment: bool,
}

impl Work {
    pub fn is_recorded(&self) -> bool {
        (self.indoor
            || self.line_test
            || self.outdoor_line
            || self.replacement
            || self.drilling_wiring)
            && !self.description.trim().is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReplacedItem {
    SetTopBox,
    Remote,
    CableModem,
    Line,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Replacement {
    pub id: RecordId,
    pub item: ReplacedItem,
    pub old_serial: String,
    pub new_serial: String,
    pub told_in_advance: bool,
    pub consent: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FeeLine {
    pub code: String,
    pub quantity: u32,
    /// What the line was priced at when recorded (`crate::prices`). Absent
    /// from lines recorded before the price list came from HQ: those are
    /// read from the first list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priced: Option<PricedAt>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CustomerType {
    Dove,
    Owl,
    Peacock,
    Tiger,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct Communicate {
    pub customer_type: Option<CustomerType>,
    pub needs: String,
    pub notes: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct Feedback {
    /// Moment-of-truth score, -3 to +3.
    pub mot: Option<i8>,
    pub opinion: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct Cleanup {
    pub site_checked: bool,
    pub tools_packed: bool,
    pub restored: bool,
    pub rubbish_taken: bool,
    pub splitter_checked: bool,
}

impl Cleanup {
    pub fn all_done(&self) -> bool {
        self.site_checked
            && self.tools_packed
            && self.restored
            && self.rubbish_taken
            && self.splitter_checked
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Interest {
    Unreachable,
    Success,
    FairlyInterested,
    Interested,
    Declined,
}

/// A lead for a value-added service (HD interactive, catch-up viewing, a
/// broadband upgrade), recorded on site and followed up by phone later
/// (standard item 16; the rules are in `crate::leads`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Lead {
    pub id: RecordId,
    pub product: String,
    pub interest: Interest,
    pub note: String,
    /// When to call the customer next, in the technician's local time with
    /// its offset (so the call windows can be judged without a time zone
    /// database). Always inside the call windows once applied
    /// (`leads::reminder_time`). Leads from before reminders had a date
    /// only (`follow_up`), which is no longer read.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub follow_up_at: Option<DateTime<FixedOffset>>,
    /// The follow-up calls made since, oldest first; only
    /// `Change::LogLeadContact` adds to them.
    #[serde(default)]
    pub contacts: Vec<LeadContact>,
}

/// One follow-up call on a lead and its result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LeadContact {
    pub id: RecordId,
    pub lead_id: RecordId,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// The customer's intent after this call.
    pub interest: Interest,
    pub note: String,
    /// When to call again, if at all (moved into the call windows like the
    /// lead's own reminder).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_follow_up_at: Option<DateTime<FixedOffset>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RescheduleReason {
    NeedsSupport,
    ConditionsNotMet,
    TechnicianDelayed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Reschedule {
    pub reason: RescheduleReason,
    pub note: String,
    #[schema(value_type = String, format = DateTime)]
    pub new_start: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub new_end: Timestamp,
}

/// The technician asks HQ for support (standard item 23) without closing
/// the job: what the problem is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SupportRequest {
    pub problem: String,
}

/// A support request as the visit keeps it: the problem, and when the
/// technician asked (the device's time of the change).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RequestedSupport {
    pub problem: String,
    #[schema(value_type = String, format = DateTime)]
    pub requested_at: Timestamp,
}

/// A complaint (投诉) taken on site (standard item 19). Whoever takes it owns
/// it and calls back with the result (first-contact responsibility, 首问负责制).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Complaint {
    pub id: RecordId,
    /// Who took it, and so owes the customer the reply.
    pub taken_by: String,
    pub issue: String,
    /// When the customer was promised a reply.
    #[schema(value_type = String, format = DateTime)]
    pub reply_by: Timestamp,
}

/// The call back to the customer with the result of their complaint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ComplaintCallback {
    pub complaint_id: RecordId,
    pub result: String,
    /// Whether the customer accepted the result.
    pub satisfied: bool,
}

/// A complaint as the visit keeps it: what was taken, when, and the
/// callback once made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ComplaintRecord {
    pub id: RecordId,
    pub taken_by: String,
    pub issue: String,
    #[schema(value_type = String, format = DateTime)]
    pub reply_by: Timestamp,
    /// The device's time of the change that took it.
    #[schema(value_type = String, format = DateTime)]
    pub raised_at: Timestamp,
    pub callback: Option<ComplaintReply>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ComplaintReply {
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub result: String,
    pub satisfied: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PhotoKind {
    Before,
    After,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Photo {
    pub id: RecordId,
    pub kind: PhotoKind,
    /// SHA-256 of the stored JPEG, hex.
    pub blob_hash: String,
    pub width: u32,
    pub height: u32,
    #[schema(value_type = String, format = DateTime)]
    pub added_at: Timestamp,
}

/// A stored signature, bound to what the customer signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Signature {
    /// SHA-256 of the service form's canonical content when it was signed.
    pub signed_content_hash: String,
    pub png_hash: String,
    /// SHA-256 of the strokes as JSON, so the drawing can be replayed.
    pub strokes_hash: String,
    pub width: u32,
    pub height: u32,
    #[schema(value_type = String, format = DateTime)]
    pub signed_at: Timestamp,
}

pub(crate) fn check_len(field: &'static str, text: &str, max: usize) -> Result<(), DomainError> {
    let len = text.chars().count();
    if len > max {
        return Err(DomainError::TooLong { field, len, max });
    }
    Ok(())
}

pub(crate) fn check_required(field: &'static str, text: &str) -> Result<(), DomainError> {
    if text.trim().is_empty() {
        return Err(DomainError::Required(field));
    }
    Ok(())
}

/// Every record from outside checks itself before it is stored.
pub trait Validate {
    fn validate(&self) -> Result<(), DomainError>;
}

impl Validate for Departure {
    fn validate(&self) -> Result<(), DomainError> {
        Ok(())
    }
}

impl Validate for Arrival {
    fn validate(&self) -> Result<(), DomainError> {
        Ok(())
    }
}

impl Validate for KitCheck {
    fn validate(&self) -> Result<(), DomainError> {
        check_len("kit_reason", &self.missing_reason, LONG_TEXT_MAX)
    }
}

impl Validate for Work {
    fn validate(&self) -> Result<(), DomainError> {
        check_len("fault_point", &self.fault_point, SHORT_TEXT_MAX)?;
        check_len("description", &self.description, LONG_TEXT_MAX)
    }
}

impl Validate for Communicate {
    fn validate(&self) -> Result<(), DomainError> {
        check_len("needs", &self.needs, LONG_TEXT_MAX)?;
        check_len("note", &self.notes, LONG_TEXT_MAX)
    }
}

impl Validate for Feedback {
    fn validate(&self) -> Result<(), DomainError> {
        if let Some(score) = self.mot {
            if !(-3..=3).contains(&score) {
                return Err(DomainError::OutOfRange("mot"));
            }
        }
        check_len("opinion", &self.opinion, LONG_TEXT_MAX)
    }
}

impl Validate for Cleanup {
    fn validate(&self) -> Result<(), DomainError> {
        Ok(())
    }
}

impl Validate for CallLog {
    fn validate(&self) -> Result<(), DomainError> {
        if self
            .duration_seconds
            .is_some_and(|seconds| seconds > CALL_DURATION_MAX_SECONDS)
        {
            return Err(DomainError::OutOfRange("duration_seconds"));
        }
        check_len("note", &self.note, LONG_TEXT_MAX)
    }
}

impl Validate for Replacement {
    fn validate(&self) -> Result<(), DomainError> {
        check_required("old_serial", &self.old_serial)?;
        check_required("new_serial", &self.new_serial)?;
        check_len("old_serial", &self.old_serial, SHORT_TEXT_MAX)?;
        check_len("new_serial", &self.new_serial, SHORT_TEXT_MAX)?;
        if !self.consent {
            return Err(DomainError::Required("consent"));
        }
        Ok(())
    }
}

impl Validate for Lead {
    fn validate(&self) -> Result<(), DomainError> {
        check_required("product", &self.product)?;
        check_len("product", &self.product, SHORT_TEXT_MAX)?;
        check_len("note", &self.note, LONG_TEXT_MAX)
    }
}

impl Validate for Complaint {
    fn validate(&self) -> Result<(), DomainError> {
        check_required("taken_by", &self.taken_by)?;
        check_len("taken_by", &self.taken_by, SHORT_TEXT_MAX)?;
        check_required("issue", &self.issue)?;
        check_len("issue", &self.issue, LONG_TEXT_MAX)
    }
}

impl Validate for ComplaintCallback {
    fn validate(&self) -> Result<(), DomainError> {
        check_required("result", &self.result)?;
        check_len("result", &self.result, LONG_TEXT_MAX)
    }
}

impl Validate for LeadContact {
    fn validate(&self) -> Result<(), DomainError> {
        check_len("note", &self.note, LONG_TEXT_MAX)
    }
}

impl Validate for SupportRequest {
    fn validate(&self) -> Result<(), DomainError> {
        check_required("problem", &self.problem)?;
        check_len("problem", &self.problem, LONG_TEXT_MAX)
    }
}

impl Validate for Reschedule {
    fn validate(&self) -> Result<(), DomainError> {
        check_len("reason", &self.note, LONG_TEXT_MAX)?;
        if self.new_end <= self.new_start {
            return Err(DomainError::BadSlot);
        }
        Ok(())
    }
}

/// Everything recorded on site for one job: what the rules judge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VisitRecord {
    pub job: Job,
    pub step: Step,
    pub call_logs: Vec<CallLog>,
    pub departure: Departure,
    pub arrival: Arrival,
    pub kit: KitCheck,
    pub work: Work,
    pub replacements: Vec<Replacement>,
    pub fees: Vec<FeeLine>,
    pub communicate: Communicate,
    pub feedback: Feedback,
    pub cleanup: Cleanup,
    pub leads: Vec<Lead>,
    pub photos: Vec<Photo>,
    pub signature: Option<Signature>,
    pub reschedule: Option<Reschedule>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub completed_at: Option<Timestamp>,
    /// The latest support request of this visit; the job stays open.
    /// Absent from records made before support requests existed.
    #[serde(default)]
    pub support_request: Option<RequestedSupport>,
    /// Complaints taken on this visit (item 19). Absent from older records.
    #[serde(default)]
    pub complaints: Vec<ComplaintRecord>,
    /// The receipt for this visit's fees. Absent from records made before
    /// receipts were recorded.
    #[serde(default)]
    pub payment: Option<PaymentReceipt>,
}

impl VisitRecord {
    /// A job as dispatched, nothing yet recorded.
    pub fn new(job: Job) -> Self {
        VisitRecord {
            job,
            step: Step::Phone,
            call_logs: Vec::new(),
            departure: Departure::default(),
            arrival: Arrival::default(),
            kit: KitCheck::default(),
            work: Work::default(),
            replacements: Vec::new(),
            fees: Vec::new(),
            communicate: Communicate::default(),
            feedback: Feedback::default(),
            cleanup: Cleanup::default(),
            leads: Vec::new(),
            photos: Vec::new(),
            signature: None,
            reschedule: None,
            completed_at: None,
            support_request: None,
            complaints: Vec::new(),
            payment: None,
        }
    }
}

/// An earlier visit of the same job, kept as it stood when the job was
/// re-booked for the next one: what was recorded, and how it ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PastVisit {
    pub visit: u32,
    pub record: VisitRecord,
    /// When the visit ended: rescheduled or completed, if it was.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closed_at: Option<Timestamp>,
}
