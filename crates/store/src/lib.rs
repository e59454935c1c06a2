//! The technician's local store: one SQLite file in the app's data directory.
//!
//! Invariants:
//! - every change to a visit is written with its outbox entry in one transaction;
//! - a change the domain rejects writes nothing, so what was saved stays saved;
//! - migrations only ever move forward, and never drop rows.

mod codec;
mod complaints;
mod confirm_calls;
pub mod demo;
mod documents;
mod error;
mod jobs;
mod key;
mod leads;
mod outbox;
mod retention;
mod seal;
mod search;
mod search_texts;
mod settings;
mod sync;
mod visit;

use std::path::Path;

use rusqlite::{Connection, OpenFlags};
use rusqlite_migration::{Migrations, M};

pub use complaints::OpenComplaint;
pub use confirm_calls::ConfirmCall;
pub use documents::DocumentSummary;
pub use error::StoreError;
pub use jobs::{JobFilter, JobPage, JobSummary, ListCursor, Tab, LIST_PAGE};
pub use key::{connect, StoreKey};
pub use leads::{LeadItem, LeadList};
pub use outbox::{OutboxEntry, OutboxSize};
pub use settings::{DeviceEnrollment, DEFAULT_RETENTION_DAYS};
pub use sync::{ConflictDecision, Forgotten, JobConflict, JobSyncState, SyncCounts};
pub use visit::{BlobReader, StoredBlob};

/// Migrations, append-only and named by date. Never edit one that has shipped.
pub fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(include_str!("../migrations/2026-11-23_initial.sql")),
        M::up(include_str!("../migrations/2026-11-23_sync.sql")),
        M::up(include_str!(
            "../migrations/2026-11-23_conflict_outcomes.sql"
        )),
        M::up(include_str!("../migrations/2026-11-23_outbox_acks.sql")),
        M::up(include_str!("../migrations/2026-12-02_visits.sql")),
        M::up(include_str!("../migrations/2026-12-02_reassigned_away.sql")),
        M::up(include_str!("../migrations/2026-12-02_call_duration.sql")),
        M::up(include_str!("../migrations/2026-12-02_lead_follow_ups.sql")),
        M::up(include_str!("../migrations/2026-12-03_customer_story.sql")),
        M::up(include_str!("../migrations/2026-12-02_documents.sql")),
        M::up(include_str!("../migrations/2026-12-02_repair_due.sql")),
        M::up(include_str!("../migrations/2026-12-04_job_search.sql")),
    ])
}

pub struct Store {
    conn: Connection,
    /// For the store's second connections (`blob_reader`); None only for
    /// the benchmark's plaintext baseline.
    key: Option<StoreKey>,
    /// The jobs' search texts in memory, for one- and two-character queries.
    search_texts: search_texts::SearchTexts,
}

impl Store {
    /// Opens (or creates) the encrypted store at `path` with `key` and
    /// migrates it forward. A plaintext store from before encryption is
    /// converted first (`seal.rs`), so `key` must already be kept where the
    /// next start will find it.
    pub fn open(path: &Path, key: &StoreKey) -> Result<Store, StoreError> {
        if seal::is_plaintext(path)? {
            seal::seal_in_place(path, key)?;
        }
        let conn = connect(path, key, OpenFlags::default())?;
        Store::init(conn, Some(key.clone()))
    }

    /// Opens a store without encryption. Only the store benchmark calls
    /// this, for the baseline encryption's cost is measured against; the
    /// app's one way in is `Store::open` (through doorstep-vault).
    #[doc(hidden)]
    pub fn open_plaintext_baseline(path: &Path) -> Result<Store, StoreError> {
        let conn = Connection::open(path)?;
        conn.execute_batch("PRAGMA temp_store = MEMORY;")?;
        Store::init(conn, None)
    }

    fn init(mut conn: Connection, key: Option<StoreKey>) -> Result<Store, StoreError> {
        // FULL: a commit is on disk before we report it saved, even if the
        // battery dies a moment later. A 32 MiB page cache keeps a search's
        // pages decrypted in memory: SQLCipher decrypts each page it reads
        // from the file, so the default 2 MiB made every scan of 10,000 jobs
        // pay that again (3-4x plain SQLite; with it, on a par).
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA foreign_keys = ON;
             PRAGMA busy_timeout = 5000;
             PRAGMA cache_size = -32768;",
        )?;
        migrations().to_latest(&mut conn)?;
        let search_texts = search_texts::SearchTexts::follow(&conn)?;
        Ok(Store {
            conn,
            key,
            search_texts,
        })
    }

    /// The schema version the file is at (SQLite's user_version).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))?)
    }
}
