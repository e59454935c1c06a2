//! The technician's local store: one SQLite file in the app's data directory.
//!
//! Invariants:
//! - every change to a visit is written with its outbox entry in one transaction;
//! - a change the domain rejects writes nothing, so what was saved stays saved;
//! - migrations only ever move forward, and never drop rows.

mod codec;
pub mod demo;
mod error;
mod jobs;
mod sync;
mod visit;

use std::path::Path;

use rusqlite::Connection;
use rusqlite_migration::{Migrations, M};

pub use error::StoreError;
pub use jobs::{JobFilter, JobSummary, Tab};
pub use sync::{ConflictDecision, Forgotten, JobConflict, JobSyncState, SyncCounts, DEMO_SEEDED};
pub use visit::{BlobReader, OutboxEntry, OutboxSize, StoredBlob};

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
    ])
}

pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (or creates) the store at `path` and migrates it forward.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let mut conn = Connection::open(path)?;
        // FULL: a commit is on disk before we report it saved, even if the
        // battery dies a moment later.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA foreign_keys = ON;
             PRAGMA busy_timeout = 5000;",
        )?;
        migrations().to_latest(&mut conn)?;
        Ok(Store { conn })
    }

    pub fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        use rusqlite::OptionalExtension;
        Ok(self
            .conn
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |row| {
                row.get(0)
            })
            .optional()?)
    }

    pub fn set_setting(&self, key: &str, value: Option<&str>) -> Result<(), StoreError> {
        match value {
            Some(value) => self.conn.execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )?,
            None => self
                .conn
                .execute("DELETE FROM settings WHERE key = ?1", [key])?,
        };
        Ok(())
    }

    /// The schema version the file is at (SQLite's user_version).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))?)
    }
}
