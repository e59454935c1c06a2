//! The store's side of sync: HQ's dispatch applied by the ownership rules,
//! the outbox read in order and marked sent, receipts and conflicts kept.

use doorstep_core::wire::{ConflictNotice, Receipt};
use doorstep_core::{Job, JobId, JobStatus};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use crate::codec::{enum_from_sql, enum_to_sql, time_to_sql};
use crate::jobs::upsert_job;
use crate::{Store, StoreError};

/// Set when the store holds the demo set rather than jobs from HQ.
pub const DEMO_SEEDED: &str = "demo_seeded";
const PULL_CURSOR: &str = "pull_cursor";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncCounts {
    pub pending_changes: i64,
    pub pending_jobs: i64,
    pub receipts: i64,
    pub conflicts: i64,
}

impl Store {
    /// Drops the demo set before the first enrollment: it was never real,
    /// and HQ's jobs take its place. A store with HQ's jobs is left alone.
    pub fn clear_demo_data(&mut self) -> Result<bool, StoreError> {
        if self.setting(DEMO_SEEDED)?.is_none() {
            return Ok(false);
        }
        let tx = self.conn.transaction()?;
        tx.execute_batch(
            "DELETE FROM outbox;
             DELETE FROM sqlite_sequence WHERE name = 'outbox';
             DELETE FROM jobs;
             DELETE FROM customers;
             DELETE FROM blobs WHERE hash NOT IN (SELECT png_hash FROM signatures)
                 AND hash NOT IN (SELECT strokes_hash FROM signatures)
                 AND hash NOT IN (SELECT blob_hash FROM photos);
             DELETE FROM settings WHERE key IN ('demo_seeded', 'last_job', 'pull_cursor');",
        )?;
        tx.commit()?;
        Ok(true)
    }

    pub fn pull_cursor(&self) -> Result<Option<String>, StoreError> {
        self.setting(PULL_CURSOR)
    }

    /// Applies what HQ dispatched since the last pull, and the new cursor, in
    /// one transaction. HQ owns dispatch fields; the technician owns what
    /// happened on site, so a job the technician closed keeps its status (a
    /// cancellation on HQ's side is HQ's conflict to show, not ours to hide).
    pub fn apply_dispatch(
        &mut self,
        jobs: &[Job],
        removed: &[JobId],
        cursor: &str,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        for job in jobs {
            let local: Option<String> = tx
                .query_row(
                    "SELECT status FROM jobs WHERE id = ?1",
                    [job.id.to_string()],
                    |row| row.get(0),
                )
                .optional()?;
            let local: Option<JobStatus> = local.as_deref().map(enum_from_sql).transpose()?;
            let mut incoming = job.clone();
            match local {
                Some(status @ (JobStatus::Completed | JobStatus::Rescheduled)) => {
                    incoming.status = status
                }
                // HQ's "scheduled" must not undo a visit already under way.
                Some(JobStatus::InProgress) if job.status == JobStatus::Scheduled => {
                    incoming.status = JobStatus::InProgress
                }
                _ => {}
            }
            upsert_job(&tx, &incoming)?;
        }
        for id in removed {
            tx.execute(
                "UPDATE jobs SET status = 'cancelled'
                 WHERE id = ?1 AND status NOT IN ('completed', 'rescheduled')",
                [id.to_string()],
            )?;
        }
        tx.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![PULL_CURSOR, cursor],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Marks every entry up to `seq` as durable on HQ.
    pub fn mark_sent_through(
        &self,
        seq: i64,
        now: &doorstep_core::Timestamp,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE outbox SET sent_at = ?2 WHERE seq <= ?1 AND sent_at IS NULL",
            params![seq, time_to_sql(now)],
        )?;
        Ok(())
    }

    pub fn record_receipts(&mut self, receipts: &[Receipt]) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        for receipt in receipts {
            tx.execute(
                "INSERT INTO sync_receipts (job_id, server_time, content_hash) VALUES (?1, ?2, ?3)
                 ON CONFLICT(job_id) DO UPDATE SET server_time = excluded.server_time,
                     content_hash = excluded.content_hash",
                params![
                    receipt.job_id.to_string(),
                    time_to_sql(&receipt.server_time),
                    receipt.content_hash
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn record_conflicts(
        &mut self,
        conflicts: &[ConflictNotice],
        now: &doorstep_core::Timestamp,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        for conflict in conflicts {
            tx.execute(
                "INSERT INTO sync_conflicts (conflict_id, job_id, reason, reported_at)
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT(conflict_id) DO NOTHING",
                params![
                    conflict.conflict_id.to_string(),
                    conflict.job_id.to_string(),
                    enum_to_sql(&conflict.reason),
                    time_to_sql(now)
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn receipt(&self, job_id: JobId) -> Result<Option<Receipt>, StoreError> {
        let row: Option<(String, String)> = self
            .conn
            .query_row(
                "SELECT server_time, content_hash FROM sync_receipts WHERE job_id = ?1",
                [job_id.to_string()],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        row.map(|(server_time, content_hash)| {
            Ok(Receipt {
                job_id,
                server_time: crate::codec::time_from_sql(&server_time)?,
                content_hash,
            })
        })
        .transpose()
    }

    pub fn blob_is_on_hq(&self, hash: &str) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM sync_blobs_sent WHERE hash = ?1",
                [hash],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    pub fn mark_blob_on_hq(&self, hash: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO sync_blobs_sent (hash) VALUES (?1) ON CONFLICT(hash) DO NOTHING",
            [hash],
        )?;
        Ok(())
    }

    pub fn sync_counts(&self) -> Result<SyncCounts, StoreError> {
        Ok(self.conn.query_row(
            "SELECT (SELECT count(*) FROM outbox WHERE sent_at IS NULL),
                    (SELECT count(DISTINCT job_id) FROM outbox WHERE sent_at IS NULL),
                    (SELECT count(*) FROM sync_receipts),
                    (SELECT count(*) FROM sync_conflicts)",
            [],
            |row| {
                Ok(SyncCounts {
                    pending_changes: row.get(0)?,
                    pending_jobs: row.get(1)?,
                    receipts: row.get(2)?,
                    conflicts: row.get(3)?,
                })
            },
        )?)
    }
}
