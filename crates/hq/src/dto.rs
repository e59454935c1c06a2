//! Every request and response body of HQ's own API (the device protocol's
//! are `doorstep_core::wire`), in one place: `api` parses and returns them,
//! `service` builds them, `openapi` derives their schemas.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use doorstep_core::signature::ServiceForm;
use doorstep_core::wire::{DeviceId, Receipt, Resolution, TechnicianId, TechnicianRef};
use doorstep_core::{
    EarlierVisit, Job, JobId, JobType, RequestedSupport, SubCase, Timestamp, VisitRecord,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::records::{AuditAction, AuditEntry, Conflict, TechRecord};

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
    #[serde(default)]
    pub earlier_visits: Vec<EarlierVisit>,
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
}

/// `GET /api/v1/board?date=`: the day's jobs by technician (unassigned last).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Board {
    pub date: NaiveDate,
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

/// `GET /api/v1/board?date=YYYY-MM-DD&utc_offset_minutes=480`.
#[derive(Debug, Clone, Deserialize)]
pub struct BoardQuery {
    pub date: NaiveDate,
    #[serde(default)]
    pub utc_offset_minutes: i32,
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
