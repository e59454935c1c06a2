//! HQ's storage: traits by concern (who: `AuthStore`; the dispatcher's
//! jobs and conflicts: `DispatchStore`; device sync: `SyncStore`; blobs:
//! `BlobStore`; the identity of HQ's history: `EpochStore`; the audit log:
//! `AuditStore`; complaints: `ComplaintStore`; customers and their history:
//! `CustomerStore`; the price list: `PriceStore`), one implementation of each per backend (SQLite for one box,
//! PostgreSQL for several stateless servers) with the same file names on both
//! sides, and one conformance suite (`tests/conformance.rs`) that every
//! backend must pass. Backends read and write; every decision is a call to
//! `crate::rules`, whose refusals they pass up unchanged.
//!
//! Every method that writes takes the time as an argument; nothing here reads
//! a clock. Each method is one transaction. A method that does a dispatcher's
//! action takes the audit entry the service wrote for it and stores it in
//! that same transaction: an action is never without its entry, and an
//! action refused leaves none.

mod codec;
mod postgres;
mod sqlite;

use async_trait::async_trait;
use doorstep_core::wire::{
    ConflictId, DeviceId, DispatcherId, DocumentId, PushResponse, TechnicianId, TechnicianRef,
};
use doorstep_core::{CustomerId, JobId, JobType, RecordId, Timestamp, VipGrade};
use uuid::Uuid;

use crate::error::HqResult;

pub use crate::records::{
    AuditEntry, AuditFilter, AuditRecord, AwaitingSupport, CallFilter, Conflict, CustomerHistory,
    CustomerRecord, DeviceAuth, DeviceInfo, DispatchChange, DispatchedJob, DispatcherAccount,
    DispatcherLogin, DispatcherSession, Document, DocumentUpload, HistoryJob, HqComplaint,
    IncomingPush, JobRecords, LeadFilter, LeadRecord, OutstandingCode, PullBatch, Purged,
    RepairTarget, StoredChange, StoredOp, TechRecord,
};
pub use crate::rules::prices::{PriceEdit, PriceRow};
pub use codec::{enum_parse, enum_text};
pub use doorstep_core::wire::Resolution;
pub use postgres::PostgresStorage;
pub use sqlite::SqliteStorage;

/// One backend: every concern, and its name for logs and test output.
pub trait Storage:
    AuthStore
    + DispatchStore
    + SyncStore
    + BlobStore
    + EpochStore
    + AuditStore
    + ComplaintStore
    + CustomerStore
    + DocumentStore
    + TargetStore
    + PriceStore
    + Send
    + Sync
    + 'static
{
    fn backend(&self) -> &'static str;
}

/// Who: technicians, dispatchers and their sessions, enrollment codes and
/// the devices they enroll.
#[async_trait]
pub trait AuthStore: Send + Sync {
    async fn create_technician(
        &self,
        technician: &TechnicianRef,
        now: Timestamp,
        audit: &AuditRecord,
    ) -> HqResult<()>;
    async fn technicians(&self) -> HqResult<Vec<TechnicianRef>>;
    async fn technician(&self, id: TechnicianId) -> HqResult<Option<TechnicianRef>>;

    /// Fails with `username_taken` when the name exists.
    async fn create_dispatcher(
        &self,
        username: &str,
        password_hash: &str,
        now: Timestamp,
        audit: &AuditRecord,
    ) -> HqResult<DispatcherId>;
    async fn dispatcher_by_username(&self, username: &str) -> HqResult<Option<DispatcherLogin>>;
    async fn dispatchers(&self) -> HqResult<Vec<DispatcherAccount>>;
    /// Disables the account (`disabled_at`) and ends all its sessions, or
    /// enables it (None). Not found when no dispatcher has that name.
    async fn set_dispatcher_disabled(
        &self,
        username: &str,
        disabled_at: Option<Timestamp>,
        audit: &AuditRecord,
    ) -> HqResult<DispatcherAccount>;
    /// Sets the password hash and ends every session of the dispatcher but
    /// `keep_session` (the one that changed it). Not found when no
    /// dispatcher has that name.
    async fn set_password(
        &self,
        username: &str,
        password_hash: &str,
        keep_session: Option<&str>,
        audit: &AuditRecord,
    ) -> HqResult<()>;
    /// Fails with `account_disabled` when the dispatcher is disabled by the
    /// time the session would be created.
    async fn create_session(
        &self,
        token_hash: &str,
        dispatcher: DispatcherId,
        expires_at: Timestamp,
        audit: &AuditRecord,
    ) -> HqResult<()>;
    /// Ends a session (log out); unknown tokens are ignored.
    async fn delete_session(&self, token_hash: &str) -> HqResult<()>;
    /// The session, if it exists and has not expired at `now`.
    async fn session(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> HqResult<Option<DispatcherSession>>;

    /// Deletes the sessions and enrollment codes (used or not) that expired
    /// at or before `now`; nothing else.
    async fn purge_expired(&self, now: Timestamp) -> HqResult<Purged>;

    async fn create_enrollment_code(
        &self,
        id: Uuid,
        code_hash: &str,
        technician: TechnicianId,
        expires_at: Timestamp,
        audit: &AuditRecord,
    ) -> HqResult<()>;
    /// Codes not used and not expired at `now`, the soonest to expire first.
    async fn outstanding_codes(&self, now: Timestamp) -> HqResult<Vec<OutstandingCode>>;
    /// Deletes an outstanding code, so it enrolls nothing. Not found when no
    /// code has that id; `code_not_outstanding` when it was used or expired.
    async fn revoke_code(&self, id: Uuid, now: Timestamp, audit: &AuditRecord) -> HqResult<()>;
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
    async fn revoke_device(
        &self,
        id: DeviceId,
        now: Timestamp,
        audit: &AuditRecord,
    ) -> HqResult<DeviceInfo>;
    async fn devices(&self) -> HqResult<Vec<DeviceInfo>>;
}

/// The dispatcher's side: jobs, their records, conflicts.
#[async_trait]
pub trait DispatchStore: Send + Sync {
    /// Creates all the jobs or none, with all the audit entries or none.
    /// Each job's customer is matched (`rules::match_customer`) among the
    /// customers HQ holds, or created under the job's customer id; the jobs
    /// come back as stored, naming the customer they were matched to.
    async fn create_jobs(
        &self,
        jobs: &[DispatchedJob],
        now: Timestamp,
        audit: &[AuditRecord],
    ) -> HqResult<Vec<DispatchedJob>>;
    async fn change_job(
        &self,
        id: JobId,
        change: DispatchChange,
        audit: &AuditRecord,
    ) -> HqResult<DispatchedJob>;
    /// Jobs whose window starts in [from, to).
    async fn jobs_between(&self, from: Timestamp, to: Timestamp) -> HqResult<Vec<DispatchedJob>>;
    async fn job_records(&self, id: JobId) -> HqResult<Option<JobRecords>>;
    /// Jobs awaiting support, the longest waiting first.
    async fn awaiting_support(&self) -> HqResult<Vec<AwaitingSupport>>;
    /// The call-log changes `filter` matches, in the order they were made
    /// (device time, then arrival), at most `filter.limit`.
    async fn calls(&self, filter: &CallFilter) -> HqResult<Vec<StoredChange>>;
    /// The leads `filter` matches: by reminder time, those without one
    /// last, at most `filter.limit`.
    async fn leads(&self, filter: &LeadFilter) -> HqResult<Vec<LeadRecord>>;
    async fn conflicts(&self, open_only: bool) -> HqResult<Vec<Conflict>>;
    async fn conflict(&self, id: ConflictId) -> HqResult<Option<Conflict>>;
    async fn resolve_conflict(
        &self,
        id: ConflictId,
        resolution: Resolution,
        note: &str,
        by: &str,
        now: Timestamp,
        audit: &AuditRecord,
    ) -> HqResult<Conflict>;
}

/// Complaints (item 19): those a dispatcher takes at HQ, kept here; those
/// taken on site, read off the technicians' changes.
#[async_trait]
pub trait ComplaintStore: Send + Sync {
    /// Stores a complaint taken at HQ on `job`, with its audit entry; not
    /// found when there is no such job.
    async fn take_complaint(&self, complaint: &HqComplaint, audit: &AuditRecord) -> HqResult<()>;
    async fn hq_complaint(&self, id: RecordId) -> HqResult<Option<HqComplaint>>;
    /// Writes the complaint's callback as the service made it.
    async fn save_complaint_callback(
        &self,
        complaint: &HqComplaint,
        audit: &AuditRecord,
    ) -> HqResult<()>;
    /// Every complaint taken at HQ with its job, oldest first.
    async fn hq_complaints(&self) -> HqResult<Vec<(DispatchedJob, HqComplaint)>>;
    /// Every complaint change technicians pushed (taken on site, called
    /// back), in the order HQ applied them.
    async fn complaint_changes(&self) -> HqResult<Vec<StoredChange>>;
}

/// Customers: their history, finding them, their VIP grade.
#[async_trait]
pub trait CustomerStore: Send + Sync {
    /// The customer with every job of theirs and each job's op log.
    async fn customer_history(&self, id: CustomerId) -> HqResult<Option<CustomerHistory>>;
    /// The jobs of these customers whose window starts in [from, to), as
    /// the repeat-fault rule reads them.
    async fn customer_jobs(
        &self,
        customers: &[CustomerId],
        from: Timestamp,
        to: Timestamp,
    ) -> HqResult<Vec<DispatchedJob>>;
    /// Customers whose name, phone or account number holds `text` (case
    /// folded for ASCII), by name, at most `limit`.
    async fn find_customers(&self, text: &str, limit: u32) -> HqResult<Vec<CustomerRecord>>;
    /// Sets the grade; the customer's jobs not yet closed take a new change
    /// number, so their technicians' next pull brings the grade. Not found
    /// when HQ has no such customer.
    async fn set_vip_grade(
        &self,
        id: CustomerId,
        grade: VipGrade,
        audit: &AuditRecord,
    ) -> HqResult<CustomerRecord>;
}

/// The price list (standard item 11): its history, read whole (a list is
/// tens of items, edited now and then), and one edit at a time.
#[async_trait]
pub trait PriceStore: Send + Sync {
    /// Every row of the history, oldest version first.
    async fn price_history(&self) -> HqResult<Vec<PriceRow>>;
    /// The version the list has reached.
    async fn price_list_version(&self) -> HqResult<u32>;
    /// Writes the item as `rules::prices::item_after_edit` makes it, as the
    /// next version, with the edit's audit entry; returns that version.
    async fn edit_price_list(&self, edit: &PriceEdit, audit: &AuditRecord) -> HqResult<u32>;
}

/// The audit log: append and read.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Writes an entry on its own, for what changes nothing else (a failed
    /// log-in).
    async fn record_audit(&self, entry: &AuditRecord) -> HqResult<()>;
    /// The entries `filter` matches, newest first, at most `filter.limit`.
    async fn audit(&self, filter: &AuditFilter) -> HqResult<Vec<AuditEntry>>;
}

/// Device sync: what a technician's device pulls and pushes.
#[async_trait]
pub trait SyncStore: Send + Sync {
    async fn pull(&self, technician: TechnicianId, since: i64) -> HqResult<PullBatch>;
    /// Applies a batch in one transaction (see `crate::rules` for the rules).
    /// Entries are sorted by seq and checked (`kind` matches, times) by the
    /// caller.
    async fn push(
        &self,
        device: &DeviceAuth,
        push: &IncomingPush,
        now: Timestamp,
    ) -> HqResult<PushResponse>;
}

/// Photos and signatures, named by their SHA-256.
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// The hashes among `hashes` that HQ does not hold.
    async fn missing_blobs(&self, hashes: &[String]) -> HqResult<Vec<String>>;
    /// Stores every blob in one transaction; for each, true when it is new.
    /// Hashes are checked (and unique) by the caller.
    async fn put_blobs(&self, blobs: Vec<(String, Vec<u8>)>, now: Timestamp)
        -> HqResult<Vec<bool>>;
    async fn blob(&self, hash: &str) -> HqResult<Option<Vec<u8>>>;
}

/// Technical documents for every laptop; their content is a blob.
#[async_trait]
pub trait DocumentStore: Send + Sync {
    /// Stores a new document, or the next version of one (published again
    /// if it was retired); its change goes under the pull's counter. Not
    /// found when `upload.replaces` names no document.
    async fn publish_document(
        &self,
        upload: &DocumentUpload,
        now: Timestamp,
        audit: &AuditRecord,
    ) -> HqResult<Document>;
    /// Retires a document: laptops drop it at their next pull. Not found
    /// for an unknown id; `document_retired` when it is already.
    async fn retire_document(
        &self,
        id: DocumentId,
        now: Timestamp,
        audit: &AuditRecord,
    ) -> HqResult<Document>;
    /// Every document, the latest published first.
    async fn documents(&self) -> HqResult<Vec<Document>>;
    async fn document(&self, id: DocumentId) -> HqResult<Option<Document>>;
}

/// HQ's epoch: the identity of its history. Restoring a backup starts a new
/// one, so devices that synced with the history the backup left out can
/// tell, whatever HQ's counters say.
#[async_trait]
pub trait EpochStore: Send + Sync {
    /// The current epoch (a database starts with one, made by its migration).
    async fn epoch(&self) -> HqResult<String>;
    /// Makes `epoch` the current one; `reason` is kept beside it.
    async fn begin_epoch(&self, epoch: &str, reason: &str, now: Timestamp) -> HqResult<()>;
}

/// Repair-time targets (standard item 21), one per job type at most.
#[async_trait]
pub trait TargetStore: Send + Sync {
    /// Every target set, by job type.
    async fn repair_targets(&self) -> HqResult<Vec<RepairTarget>>;
    /// Sets the target of `job_type` (`hours`), or removes it (None), with
    /// its audit entry.
    async fn set_repair_target(
        &self,
        job_type: JobType,
        hours: Option<u32>,
        now: Timestamp,
        audit: &AuditRecord,
    ) -> HqResult<()>;
}

/// What a `--database` URL names: `sqlite:PATH` or `postgres://...` (also
/// `postgresql://`).
enum Database<'a> {
    Sqlite(&'a std::path::Path),
    Postgres(&'a str),
}

fn database(url: &str) -> anyhow::Result<Database<'_>> {
    if let Some(path) = url.strip_prefix("sqlite:") {
        let path = path.strip_prefix("//").unwrap_or(path);
        Ok(Database::Sqlite(std::path::Path::new(path)))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Database::Postgres(url))
    } else {
        anyhow::bail!("--database must be sqlite:PATH or postgres://...")
    }
}

/// Opens the storage a `--database` URL names.
pub async fn open(url: &str) -> anyhow::Result<std::sync::Arc<dyn Storage>> {
    Ok(match database(url)? {
        Database::Sqlite(path) => std::sync::Arc::new(SqliteStorage::open(path)?),
        Database::Postgres(url) => std::sync::Arc::new(PostgresStorage::connect(url, None).await?),
    })
}

/// The blob file beside a SQLite database, or a backup of one, at `path`.
pub fn blob_file(path: &std::path::Path) -> std::path::PathBuf {
    sqlite::blob_file(path)
}

/// Backs up the SQLite database `url` names to `to` (and `to`'s blob file)
/// while HQ serves it (see `sqlite::backup`). PostgreSQL is backed up with
/// its own pg_dump.
pub async fn back_up(url: &str, to: &std::path::Path) -> anyhow::Result<()> {
    match database(url)? {
        Database::Sqlite(path) => {
            let (path, to) = (path.to_path_buf(), to.to_path_buf());
            tokio::task::spawn_blocking(move || sqlite::backup::back_up(&path, &to)).await?
        }
        Database::Postgres(_) => anyhow::bail!(
            "PostgreSQL 用 pg_dump 备份 / back PostgreSQL up with pg_dump: \
             pg_dump --format=custom --file PATH URL (README, \"Backup and restore\")"
        ),
    }
}

/// Puts the SQLite backup at `from` in place of the database `url` names,
/// with HQ stopped (see `sqlite::backup`). PostgreSQL is restored with its
/// own pg_restore, then `admin mark-restored`.
pub async fn restore(from: &std::path::Path, url: &str) -> anyhow::Result<()> {
    match database(url)? {
        Database::Sqlite(path) => {
            let (from, path) = (from.to_path_buf(), path.to_path_buf());
            tokio::task::spawn_blocking(move || sqlite::backup::restore(&from, &path)).await?
        }
        Database::Postgres(_) => anyhow::bail!(
            "PostgreSQL 用 pg_restore 恢复，然后运行 admin mark-restored / restore PostgreSQL \
             with pg_restore, then run admin mark-restored (README, \"Backup and restore\")"
        ),
    }
}
