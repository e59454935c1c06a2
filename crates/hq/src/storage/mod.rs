//! HQ's storage: one trait, one implementation per backend (SQLite for one
//! box, PostgreSQL for several stateless servers), one conformance suite
//! (`tests/conformance.rs`) that every backend must pass.
//!
//! Every method that writes takes the time as an argument; nothing here reads
//! a clock. Each method is one transaction.

mod postgres;
mod sqlite;

use async_trait::async_trait;
use chrono::NaiveDate;
use doorstep_core::wire::{
    ConflictId, ConflictReason, DeviceId, DispatcherId, PushEntry, PushResponse, Receipt,
    TechnicianId, TechnicianRef,
};
use doorstep_core::{Job, JobId, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::HqResult;

pub use doorstep_core::wire::Resolution;
pub use postgres::PostgresStorage;
pub use sqlite::{enum_parse, enum_text, SqliteStorage};

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
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DispatcherSession {
    pub dispatcher_id: DispatcherId,
    pub username: String,
}

/// A job as HQ dispatches it: the job plus whom it is assigned to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DispatchedJob {
    pub job: Job,
    pub technician_id: Option<TechnicianId>,
}

/// One outbox entry as HQ stored it, with both clocks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StoredOp {
    pub op_id: Uuid,
    pub device_id: DeviceId,
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

/// A pull: the jobs changed since a cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullBatch {
    pub cursor: i64,
    pub jobs: Vec<Job>,
    pub removed: Vec<JobId>,
    /// The technician's conflicts resolved since the cursor.
    pub resolved: Vec<Conflict>,
}

/// A dispatch change to a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DispatchChange {
    Assign(TechnicianId),
    Cancel,
    Reschedule { start: Timestamp, end: Timestamp },
}

#[async_trait]
pub trait Storage: Send + Sync + 'static {
    /// Which backend this is, for logs and test output.
    fn backend(&self) -> &'static str;

    async fn create_technician(&self, name: &str, now: Timestamp) -> HqResult<TechnicianRef>;
    async fn technicians(&self) -> HqResult<Vec<TechnicianRef>>;
    async fn technician(&self, id: TechnicianId) -> HqResult<Option<TechnicianRef>>;

    /// Fails with `username_taken` when the name exists.
    async fn create_dispatcher(
        &self,
        username: &str,
        password_hash: &str,
        now: Timestamp,
    ) -> HqResult<DispatcherId>;
    async fn dispatcher_by_username(&self, username: &str) -> HqResult<Option<DispatcherLogin>>;
    async fn create_session(
        &self,
        token_hash: &str,
        dispatcher: DispatcherId,
        expires_at: Timestamp,
    ) -> HqResult<()>;
    /// Ends a session (log out); unknown tokens are ignored.
    async fn delete_session(&self, token_hash: &str) -> HqResult<()>;
    /// The session, if it exists and has not expired at `now`.
    async fn session(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> HqResult<Option<DispatcherSession>>;

    async fn create_enrollment_code(
        &self,
        code_hash: &str,
        technician: TechnicianId,
        expires_at: Timestamp,
    ) -> HqResult<()>;
    /// Uses the code (once) and creates the device. `invalid_code` when the
    /// code is unknown, used or expired.
    async fn enroll(
        &self,
        code_hash: &str,
        device: DeviceId,
        device_name: &str,
        token_hash: &str,
        now: Timestamp,
    ) -> HqResult<TechnicianRef>;
    async fn device_by_token(&self, token_hash: &str) -> HqResult<Option<DeviceAuth>>;
    async fn revoke_device(&self, id: DeviceId, now: Timestamp) -> HqResult<DeviceInfo>;
    async fn devices(&self) -> HqResult<Vec<DeviceInfo>>;

    /// Creates all the jobs or none.
    async fn create_jobs(&self, jobs: &[DispatchedJob], now: Timestamp) -> HqResult<()>;
    async fn change_job(&self, id: JobId, change: DispatchChange) -> HqResult<DispatchedJob>;
    async fn pull(&self, technician: TechnicianId, since: i64) -> HqResult<PullBatch>;
    /// Jobs whose window starts in [from, to).
    async fn jobs_between(&self, from: Timestamp, to: Timestamp) -> HqResult<Vec<DispatchedJob>>;
    async fn job_records(&self, id: JobId) -> HqResult<Option<JobRecords>>;

    /// Applies a batch in one transaction (see `crate::push` for the rules).
    /// Entries are sorted by seq and checked (`kind` matches) by the caller.
    async fn push(
        &self,
        device: &DeviceAuth,
        entries: &[PushEntry],
        now: Timestamp,
    ) -> HqResult<PushResponse>;

    async fn conflicts(&self, open_only: bool) -> HqResult<Vec<Conflict>>;
    async fn resolve_conflict(
        &self,
        id: ConflictId,
        resolution: Resolution,
        note: &str,
        by: &str,
        now: Timestamp,
    ) -> HqResult<Conflict>;

    /// The hashes among `hashes` that HQ does not hold.
    async fn missing_blobs(&self, hashes: &[String]) -> HqResult<Vec<String>>;
    /// Stores every blob in one transaction; for each, true when it is new.
    /// Hashes are checked (and unique) by the caller.
    async fn put_blobs(&self, blobs: Vec<(String, Vec<u8>)>, now: Timestamp)
        -> HqResult<Vec<bool>>;
    async fn blob(&self, hash: &str) -> HqResult<Option<Vec<u8>>>;
}

/// Opens the storage a `--database` URL names: `sqlite:PATH` or
/// `postgres://...` (also `postgresql://`).
pub async fn open(url: &str) -> anyhow::Result<std::sync::Arc<dyn Storage>> {
    if let Some(path) = url.strip_prefix("sqlite:") {
        let path = path.strip_prefix("//").unwrap_or(path);
        Ok(std::sync::Arc::new(SqliteStorage::open(
            std::path::Path::new(path),
        )?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(std::sync::Arc::new(
            PostgresStorage::connect(url, None).await?,
        ))
    } else {
        anyhow::bail!("--database must be sqlite:PATH or postgres://...")
    }
}

/// The day `date` in the zone `offset_minutes` east of UTC, as a UTC range.
pub fn day_range(date: NaiveDate, offset_minutes: i32) -> (Timestamp, Timestamp) {
    let start = date
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc()
        - chrono::Duration::minutes(offset_minutes as i64);
    (start, start + chrono::Duration::days(1))
}
