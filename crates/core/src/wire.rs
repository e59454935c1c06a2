//! The versioned JSON wire protocol between the app's sync client and HQ.
//!
//! Both sides use these types, so a field renamed here is renamed on both.
//! Every request from the app carries [`PROTOCOL_HEADER`]`: `[`PROTOCOL_VERSION`];
//! HQ answers a version it does not speak with 426 and an [`ApiError`] whose
//! `code` is `protocol_version` and whose `supported` lists what it speaks.
//! Errors are always an [`ApiError`]: the app branches on `code`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::change::Change;
use crate::customer::CustomerStory;
use crate::model::{first_visit, Job, JobId, Timestamp};
use crate::prices::PriceList;

/// The protocol this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;
/// The request header that carries the protocol version.
pub const PROTOCOL_HEADER: &str = "X-Doorstep-Protocol";
/// The versions HQ accepts.
pub const SUPPORTED_PROTOCOLS: &[u32] = &[PROTOCOL_VERSION];
/// Largest blob HQ accepts, in bytes (16 MiB).
pub const MAX_BLOB_BYTES: usize = 16 * 1024 * 1024;
/// Largest JSON body HQ accepts (a push batch), in bytes (32 MiB).
pub const MAX_JSON_BYTES: usize = 32 * 1024 * 1024;
/// Largest multipart body of `POST /api/v1/blobs`, in bytes (64 MiB).
pub const MAX_BLOB_BATCH_BYTES: usize = 64 * 1024 * 1024;
/// Most hashes one `POST /api/v1/blobs/missing` may ask about.
pub const MAX_BLOB_QUERY: usize = 10_000;
/// Largest technical document HQ publishes, in bytes (20 MiB): a scanned
/// set-up guide fits, and a laptop keeps dozens without noticing.
pub const MAX_DOCUMENT_BYTES: usize = 20 * 1024 * 1024;

uuid_id!(TechnicianId);
uuid_id!(DeviceId);
uuid_id!(DispatcherId);
uuid_id!(ConflictId);
uuid_id!(DocumentId);

/// Every error HQ returns: `code` is stable, `message` is for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApiError {
    pub code: String,
    pub message: String,
    /// With `protocol_version`: the versions HQ speaks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supported: Option<Vec<u32>>,
    /// With `sequence_gap`: the seq HQ expects next from this device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_seq: Option<i64>,
    /// With `forbidden_job` (an HQ before changes it cannot apply were kept
    /// as conflicts): the job the device may not write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<JobId>,
    /// With `import_invalid`: what is wrong, row by row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<RowError>>,
}

/// One problem in one row of an import (row 1 is the first data row).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RowError {
    pub row: usize,
    pub message: String,
}

/// A dispatcher asks for a one-time enrollment code for a technician.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EnrollmentCodeRequest {
    pub technician_id: TechnicianId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EnrollmentCode {
    /// Shown to the technician; case and dashes do not matter when typed back.
    pub code: String,
    pub technician_id: TechnicianId,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
}

/// `POST /api/v1/enroll`: the device trades a one-time code for a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EnrollRequest {
    pub code: String,
    pub device_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TechnicianRef {
    pub id: TechnicianId,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EnrollResponse {
    pub device_id: DeviceId,
    /// Sent back as `Authorization: Bearer TOKEN`; HQ keeps only its SHA-256.
    pub token: String,
    pub technician: TechnicianRef,
}

/// `GET /api/v1/sync/jobs?since=CURSOR&price_list_version=N`. The default
/// is an answer that brings nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PullResponse {
    /// Opaque; send it back as `since` next time. HQ's own change counter,
    /// never a device time.
    pub cursor: String,
    /// The technician's jobs whose dispatch fields changed since the cursor
    /// (a cancelled job comes with status `cancelled`).
    pub jobs: Vec<Job>,
    /// Jobs reassigned away from this technician since the cursor.
    pub removed: Vec<JobId>,
    /// This technician's conflicts a dispatcher settled since the cursor.
    /// Absent from older HQs, which never send one.
    #[serde(default)]
    pub outcomes: Vec<ConflictOutcome>,
    /// HQ's clock when it answered: the laptop measures its own against it.
    /// Absent from older HQs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub server_time: Option<Timestamp>,
    /// The identity of HQ's history, new each time HQ is restored from a
    /// backup: a device that sees it change starts over from what HQ
    /// holds. Absent from older HQs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hq_epoch: Option<String>,
    /// The story of each customer of `jobs`, from HQ's own history. Absent
    /// from older HQs.
    #[serde(default)]
    pub customers: Vec<CustomerStory>,
    /// Technical documents published or retired since the cursor (every
    /// technician gets the same ones). Absent from older HQs.
    #[serde(default)]
    pub documents: Vec<DocumentNotice>,
    /// The operator's time zone (IANA name, e.g. `Asia/Shanghai`): the
    /// laptop draws its Today list and shows every time in it. Absent from
    /// older HQs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// HQ's price list, when it is not the version the device said it holds
    /// (`price_list_version`). Absent when unchanged, and from older HQs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_list: Option<PriceList>,
}

/// What a technical document is: the app shows a PDF in its viewer and
/// HTML in a sandbox that runs none of its scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    Pdf,
    Html,
}

/// Whether laptops hold a document: a retired one leaves them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentState {
    Published,
    Retired,
}

/// A technical document as the pull announces it; its content comes from
/// `GET /api/v1/sync/documents/{id}` and must hash to `content_hash`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DocumentNotice {
    pub id: DocumentId,
    /// The Chinese title; empty when HQ gave only the English one.
    pub title_zh: String,
    /// The English title; empty when HQ gave only the Chinese one.
    pub title_en: String,
    pub kind: DocumentKind,
    /// 1, then one more for each new content HQ publishes under the id.
    pub version: u32,
    /// SHA-256 hex of the content.
    pub content_hash: String,
    pub size: u64,
    pub state: DocumentState,
}

/// One outbox row, as the app stored it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PushEntry {
    /// The device's outbox sequence number: 1, 2, 3, ... without gaps.
    pub seq: i64,
    /// UUIDv7 of the change; HQ applies each op_id at most once.
    pub op_id: Uuid,
    pub job_id: JobId,
    /// `Change::kind()` of the payload; must match it.
    pub kind: String,
    pub payload: Change,
    #[schema(value_type = String, format = DateTime)]
    pub device_time: Timestamp,
    /// The job's visit number when the change was made (`Job::visit`). HQ
    /// keeps a change of an earlier visit but lets only the current visit's
    /// changes set the job's status and receipt. Absent from older apps.
    #[serde(default = "first_visit")]
    #[schema(minimum = 1, default = 1)]
    pub visit: u32,
}

/// `POST /api/v1/sync/push`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PushRequest {
    pub device_id: DeviceId,
    pub entries: Vec<PushEntry>,
    /// The device's clock when it sent the batch. HQ compares it with its
    /// own and flags the batch's changes when the two are far apart.
    /// Absent from older apps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub sent_at: Option<Timestamp>,
}

/// HQ's receipt for one job: what it holds, and when it got it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Receipt {
    pub job_id: JobId,
    #[schema(value_type = String, format = DateTime)]
    pub server_time: Timestamp,
    /// SHA-256 hex of the job's service form canonical content
    /// (`signature::ServiceForm::content_hash`), rebuilt on HQ by replaying
    /// every change it holds for the job.
    pub content_hash: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConflictReason {
    /// HQ cancelled the job; the technician's records were kept anyway.
    Cancelled,
    /// HQ gave the job to another technician; the records were kept anyway.
    Reassigned,
    /// HQ does not know the job; the change was kept apart, touching nothing.
    UnknownJob,
    /// The job was never this technician's; the change was kept apart,
    /// touching nothing.
    NotAssigned,
    /// The change carries a time outside the years HQ accepts (the device's
    /// clock was far off); it was kept apart, touching nothing.
    ImpossibleTime,
    /// A fee line is not on the price list the device held when it recorded
    /// it (not listed, retired, or at another price); the change was kept
    /// apart, touching nothing.
    OffPriceList,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConflictNotice {
    pub conflict_id: ConflictId,
    pub job_id: JobId,
    pub reason: ConflictReason,
}

/// How a dispatcher settled a conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// The technician's work stands: the job becomes theirs and takes the
    /// status their records give it (completed).
    AcceptCompletion,
    /// HQ's dispatch state stands; the technician's records stay on file.
    KeepCancelled,
}

/// A dispatcher's decision on a conflict, sent to the technician's device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConflictOutcome {
    pub conflict_id: ConflictId,
    pub job_id: JobId,
    pub reason: ConflictReason,
    pub resolution: Resolution,
    /// The dispatcher's note, possibly empty.
    pub note: String,
    #[schema(value_type = String, format = DateTime)]
    pub resolved_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PushResponse {
    /// Every entry up to this seq is durable on HQ; the app may mark them sent.
    pub applied_through_seq: i64,
    /// One per job named in the batch.
    pub receipts: Vec<Receipt>,
    /// Unresolved conflicts on jobs named in the batch.
    pub conflicts: Vec<ConflictNotice>,
}

/// `POST /api/v1/blobs/missing`: which of these blobs does HQ lack?
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BlobQuery {
    /// SHA-256 hex names, at most [`MAX_BLOB_QUERY`].
    pub hashes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MissingBlobs {
    /// The asked-for hashes HQ does not hold, lower-cased.
    pub missing: Vec<String>,
}

/// One blob HQ holds after an upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StoredBlob {
    pub hash: String,
    pub size: u64,
    /// False when HQ already held it.
    pub created: bool,
}

/// The answer to `POST /api/v1/blobs` (multipart, one part per blob, each
/// part named by its hash): every blob is durable, or none is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StoredBlobs {
    pub stored: Vec<StoredBlob>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An app or HQ from before visits were numbered sends neither field;
    /// what it sends must still be read, as the first visit.
    #[test]
    fn a_job_or_push_entry_without_a_visit_number_is_the_first_visit() {
        let entry: PushEntry = serde_json::from_value(serde_json::json!({
            "seq": 1,
            "op_id": "0192b3c4-0000-7000-8000-000000000001",
            "job_id": "0192b3c4-0000-7000-8000-000000000002",
            "kind": "complete",
            "payload": {"type": "complete"},
            "device_time": "2026-12-02T08:00:00Z"
        }))
        .expect("an entry without a visit number is still accepted");
        assert_eq!(entry.visit, 1, "an older app's change belongs to visit 1");

        let job: Job = serde_json::from_value(serde_json::json!({
            "id": "0192b3c4-0000-7000-8000-000000000002",
            "customer": {"id": "0192b3c4-0000-7000-8000-000000000003", "name": "黄",
                         "phone": "13800000000", "address": "福州"},
            "job_type": "fault", "sub_case": "indoor", "fault_description": "",
            "window_start": "2026-12-02T09:00:00Z", "window_end": "2026-12-02T10:00:00Z",
            "status": "scheduled", "earlier_visits": []
        }))
        .expect("a job without a visit number is still accepted");
        assert_eq!(job.visit, 1, "an older HQ's job is on its first visit");
        let again = serde_json::to_value(&job).unwrap();
        assert_eq!(again["visit"], 1, "the visit number goes out on the wire");
    }
}
