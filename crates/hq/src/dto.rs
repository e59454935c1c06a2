//! Every request and response body of HQ's own API (the device protocol's
//! are `doorstep_core::wire`), in one place: `api` parses and returns them,
//! `service` builds them, `openapi` derives their schemas.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use doorstep_core::leads::Due;
use doorstep_core::signature::ServiceForm;
use doorstep_core::wire::{DeviceId, Receipt, Resolution, TechnicianId, TechnicianRef};
use doorstep_core::{
    CallOutcome, ComplaintRecord, CustomerStory, EarlierVisit, Interest, Job, JobId, JobType, Lead,
    RequestedSupport, SubCase, Timestamp, VipGrade, VisitRecord,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::records::{AuditAction, AuditEntry, Conflict, CustomerRecord, RepairTarget, TechRecord};

/// `POST /api/v1/login`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// The session token is not here: it travels only in the HttpOnly cookie,
/// out of reach of the page's scripts.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LoginResponse {
    pub username: String,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
}

/// `POST /api/v1/jobs`: a job as a dispatcher types it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewJob {
    // The limits `service::check_text` holds a dispatcher's text to, so the
    // document says what HQ takes: not blank, at most `SHORT_TEXT_MAX` (200)
    // or `LONG_TEXT_MAX` (4000) characters. utoipa takes only literals; a
    // test in tests/api.rs checks they equal the constants.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub customer_name: String,
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub phone: String,
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub address: String,
    pub job_type: JobType,
    pub sub_case: SubCase,
    #[serde(default)]
    #[schema(max_length = 4000)]
    pub fault_description: String,
    #[schema(value_type = String, format = DateTime)]
    pub window_start: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub window_end: Timestamp,
    #[serde(default)]
    pub technician_id: Option<TechnicianId>,
    /// Visits from before HQ kept the customer's history (the operator's
    /// older system). HQ adds its own history to them on every pull.
    #[serde(default)]
    pub earlier_visits: Vec<EarlierVisit>,
    /// The operator's account number: HQ matches the customer by it, or by
    /// phone when there is none (`rules::match_customer`).
    #[serde(default)]
    #[schema(max_length = 200)]
    pub account_number: Option<String>,
    /// When the customer reported the fault, if before HQ receives the job
    /// (a call taken on paper); HQ's time of receipt otherwise. The
    /// repair-time target runs from it.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub reported_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ImportResult {
    pub created: Vec<JobId>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BoardColumn {
    pub technician: Option<TechnicianRef>,
    /// Jobs per status, e.g. `{"scheduled": 3, "completed": 2}`.
    pub counts: BTreeMap<String, usize>,
    pub jobs: Vec<Job>,
    /// Those of `jobs` past their repair-time target and not done
    /// (`doorstep_core::rules::is_past_target` at HQ's time).
    #[serde(default)]
    pub past_target: Vec<JobId>,
}

/// `GET /api/v1/board?date=`: the day's jobs by technician (unassigned last).
/// The day is the operator's (`time_zone`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Board {
    pub date: NaiveDate,
    /// The operator's time zone the day is drawn in.
    pub time_zone: String,
    pub columns: Vec<BoardColumn>,
}

/// `GET /api/v1/support-requests`: a job awaiting support, its technician
/// and what they asked.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SupportRequestEntry {
    pub job: Job,
    pub technician: Option<TechnicianRef>,
    pub request: RequestedSupport,
}

/// One op of a job's timeline, both clocks side by side.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TimelineEntry {
    pub op_id: uuid::Uuid,
    pub device_id: DeviceId,
    pub seq: i64,
    pub kind: String,
    #[schema(value_type = String, format = DateTime)]
    pub device_time: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub server_time: Timestamp,
    pub payload: serde_json::Value,
    /// The job's visit the op was made in.
    pub visit: u32,
    /// Seconds the device's clock ran ahead of HQ's (negative: behind) when
    /// it sent this op, when over five minutes: its device time is not the
    /// real time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clock_skew_seconds: Option<i64>,
}

/// `GET /api/v1/jobs/{id}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobDetail {
    pub job: Job,
    pub technician: Option<TechnicianRef>,
    pub records: Vec<TechRecord>,
    pub timeline: Vec<TimelineEntry>,
    pub receipt: Option<Receipt>,
    pub conflicts: Vec<Conflict>,
    /// The current visit rebuilt from every change HQ holds for it.
    pub visit: VisitRecord,
    pub service_form: ServiceForm,
    pub signature_valid: bool,
    /// The dispatchers' actions on this job (the audit log's), oldest first.
    pub dispatcher_actions: Vec<AuditEntry>,
    /// From the customer's report to completion, against the target.
    pub repair: RepairTime,
}

/// A job's repair time (standard item 21): reported, due, completed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RepairTime {
    #[schema(value_type = Option<String>, format = DateTime)]
    pub reported_at: Option<Timestamp>,
    /// None when the job's type had no target when HQ received it.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub due_by: Option<Timestamp>,
    /// When the current visit completed the job.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub completed_at: Option<Timestamp>,
    /// Seconds from the report to the completion; None until completed.
    pub seconds_to_complete: Option<i64>,
    /// Past the target and not done, now.
    pub past_target: bool,
}

/// `GET /api/v1/settings`: what the operator set at HQ, for the console.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OperatorSettings {
    /// The operator's time zone (IANA name): the console shows every time
    /// in it, whatever the browser's zone.
    pub time_zone: String,
    /// The repair-time targets, by job type; a type missing has none.
    pub repair_targets: Vec<RepairTarget>,
}

/// `POST /api/v1/settings/repair-targets`: set a job type's target, or
/// remove it with `hours: null`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RepairTargetChange {
    pub job_type: JobType,
    #[serde(default)]
    #[schema(minimum = 1, maximum = 720)]
    pub hours: Option<u32>,
}

/// `GET /api/v1/customers?q=`: customers whose name, phone or account
/// number holds `q`.
#[derive(Debug, Clone, Deserialize)]
pub struct CustomerQuery {
    #[serde(default)]
    pub q: String,
}

/// `GET /api/v1/customers/{id}`: the customer, their story as the laptop
/// gets it, and their jobs, newest first, each with HQ's repeat flag.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CustomerDetail {
    pub customer: CustomerRecord,
    pub story: CustomerStory,
    pub jobs: Vec<Job>,
}

/// `POST /api/v1/customers/{id}/vip-grade`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VipGradeRequest {
    pub vip_grade: VipGrade,
}

/// `POST /api/v1/jobs/{id}/revisit`: a proactive revisit of the job's
/// customer (standard item 15), a fault job with its own window.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevisitRequest {
    #[schema(value_type = String, format = DateTime)]
    pub window_start: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub window_end: Timestamp,
    #[serde(default)]
    pub technician_id: Option<TechnicianId>,
}

/// `POST /api/v1/technicians`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NewTechnician {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
}

/// `POST /api/v1/jobs/{id}/assign`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AssignRequest {
    pub technician_id: TechnicianId,
}

/// `POST /api/v1/jobs/{id}/reschedule`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RescheduleRequest {
    #[schema(value_type = String, format = DateTime)]
    pub window_start: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub window_end: Timestamp,
}

/// `POST /api/v1/conflicts/{id}/resolve`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ResolveRequest {
    pub resolution: Resolution,
    #[serde(default)]
    #[schema(max_length = 4000)]
    pub note: String,
}

/// `GET /api/v1/sync/jobs?since=CURSOR`.
#[derive(Debug, Clone, Deserialize)]
pub struct PullQuery {
    pub since: Option<String>,
    /// The price list version the device holds; HQ sends its list when
    /// its own differs. Older apps do not say, and get none.
    pub price_list_version: Option<u32>,
}

/// `POST /api/v1/price-list`: a new item for the price list.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewPriceItem {
    /// Lower-case letters, digits and underscores, starting with a letter;
    /// never used before on the list.
    #[schema(max_length = 40)]
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    /// In fen (1/100 yuan), above zero.
    #[schema(minimum = 1, maximum = 10_000_000)]
    pub unit_price_fen: u32,
}

/// `PUT /api/v1/price-list/{code}`: new names or a new price.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct PriceItemChange {
    pub name_zh: String,
    pub name_en: String,
    #[schema(minimum = 1, maximum = 10_000_000)]
    pub unit_price_fen: u32,
}

/// `POST /api/v1/documents?title_zh=..&title_en=..` (and a new version's
/// `POST /api/v1/documents/{id}/versions`): the titles; the body is the
/// content.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DocumentTitles {
    pub title_zh: Option<String>,
    pub title_en: Option<String>,
}

/// `GET /api/v1/board?date=YYYY-MM-DD&utc_offset_minutes=480`.
/// `GET /api/v1/board?date=YYYY-MM-DD`: a day in the operator's zone.
#[derive(Debug, Clone, Deserialize)]
pub struct BoardQuery {
    pub date: NaiveDate,
}

/// `GET /api/v1/leads` and `GET /api/v1/leads/export`: every filter given
/// must match. Without `all`, only leads still owed a follow-up call.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LeadsQuery {
    pub technician: Option<TechnicianId>,
    pub interest: Option<Interest>,
    /// Reminder at or before (RFC 3339): "due now" is HQ's now, "due today"
    /// the end of the dispatcher's day.
    pub due_before: Option<Timestamp>,
    #[serde(default)]
    pub all: bool,
    /// The export's language (`zh-CN`, the default, or `en`).
    pub lang: Option<String>,
}

/// One lead in HQ's list: the lead as the technician's app holds it (the
/// reminder in the technician's local time, the follow-up calls), whom to
/// call, and how soon.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LeadEntry {
    pub lead: Lead,
    pub job_id: JobId,
    pub customer_name: String,
    pub phone: String,
    pub technician: Option<TechnicianRef>,
    /// Judged at HQ's time; none when no call is owed or planned.
    pub due: Option<Due>,
}

/// `GET /api/v1/conflicts?all=true`.
#[derive(Debug, Clone, Deserialize)]
pub struct ConflictsQuery {
    #[serde(default)]
    pub all: bool,
}

/// `POST /api/v1/enrollment-codes`: the code, shown once, and the id that
/// names it for revoking.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IssuedCode {
    pub id: uuid::Uuid,
    pub code: String,
    pub technician_id: TechnicianId,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
}

/// `POST /api/v1/account/password`: a dispatcher changes their own password.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

/// `GET /api/v1/audit?actor=&action=&job=&from=&to=&before=&limit=`: every
/// filter given must match; `before` is the `next_before` of the last page.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub action: Option<AuditAction>,
    pub job: Option<JobId>,
    /// At or after (RFC 3339).
    pub from: Option<Timestamp>,
    /// Before (RFC 3339).
    pub to: Option<Timestamp>,
    pub before: Option<i64>,
    pub limit: Option<u32>,
}

/// A page of the audit log, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Pass as `before` for the next (older) page; null on the last page.
    pub next_before: Option<i64>,
}

/// `GET /api/v1/calls`: calls made in [from, to) (default: the last 7
/// days), by one technician or all.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CallQuery {
    pub technician: Option<TechnicianId>,
    /// At or after (RFC 3339).
    pub from: Option<Timestamp>,
    /// Before (RFC 3339).
    pub to: Option<Timestamp>,
}

/// One call a technician logged, for a supervisor's review (item 20).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CallEntry {
    pub job_id: JobId,
    pub customer_name: String,
    pub technician: TechnicianRef,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub outcome: CallOutcome,
    /// Absent for calls logged before durations were kept.
    pub duration_seconds: Option<u32>,
    pub note: String,
}

/// One technician's calls in the range: how many, and how long in all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct TechnicianCalls {
    pub technician: TechnicianRef,
    pub calls: u32,
    pub total_seconds: u64,
}

/// The calls in a range, oldest first, with each technician's totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CallReview {
    pub calls: Vec<CallEntry>,
    pub technicians: Vec<TechnicianCalls>,
    /// More calls than one answer holds matched: narrow the range.
    pub truncated: bool,
}

/// `POST /api/v1/jobs/{id}/complaints`: a complaint a dispatcher takes at
/// HQ; the dispatcher owns it (first-contact responsibility).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NewComplaint {
    pub issue: String,
    /// When the customer was promised a reply (RFC 3339, in the future).
    #[schema(value_type = String, format = DateTime)]
    pub reply_by: Timestamp,
}

/// `POST /api/v1/complaints/{id}/callback`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ComplaintCallbackRequest {
    pub result: String,
    pub satisfied: bool,
}

/// Where a complaint was taken, and so who owes the reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ComplaintSource {
    /// On site: the technician calls back from the laptop.
    OnSite,
    /// At HQ: a dispatcher calls back from the console.
    Hq,
}

/// `GET /api/v1/complaints?open=true`: one complaint, from either source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ComplaintEntry {
    pub job_id: JobId,
    pub customer_name: String,
    pub source: ComplaintSource,
    /// The technician who took it on site.
    pub technician: Option<TechnicianRef>,
    pub complaint: ComplaintRecord,
    /// Its promised reply time has passed with no callback.
    pub overdue: bool,
}

/// `GET /api/v1/complaints?open=`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ComplaintsQuery {
    /// Only those still awaiting their callback.
    #[serde(default)]
    pub open: bool,
}
