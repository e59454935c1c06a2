//! The store's side of sync: HQ's dispatch applied by the ownership rules,
//! HQ's answers (receipts, conflicts) kept, and what a revoked device
//! forgets. The outbox itself is `outbox.rs`.

use std::collections::BTreeMap;

use doorstep_core::wire::{ConflictReason, PullResponse, PushResponse, Receipt, Resolution};
use doorstep_core::{JobId, JobStatus, Timestamp};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use crate::codec::{enum_from_sql, enum_to_sql, json_to_sql, time_from_sql, time_to_sql};
use crate::jobs::upsert_job;
use crate::settings::{self, DEMO_SEEDED, LAST_JOB, PULL_CURSOR};
use crate::visit::archive_visit;
use crate::{documents, outbox, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobSyncState {
    pub receipt: Option<Receipt>,
    pub conflict: Option<JobConflict>,
}

/// HQ cancelled or reassigned a job the technician had worked on; HQ kept
/// the technician's records and a dispatcher decides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobConflict {
    pub reason: ConflictReason,
    pub reported_at: Timestamp,
    /// The dispatcher's decision, once a pull has brought it.
    pub decision: Option<ConflictDecision>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConflictDecision {
    pub resolution: Resolution,
    pub note: String,
    pub resolved_at: Timestamp,
}

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
        if !self.demo_seeded()? {
            return Ok(false);
        }
        let tx = self.conn.transaction()?;
        outbox::clear(&tx)?;
        tx.execute_batch(
            "DELETE FROM jobs;
             DELETE FROM customers;
             DELETE FROM blobs WHERE hash NOT IN (SELECT png_hash FROM signatures)
                 AND hash NOT IN (SELECT strokes_hash FROM signatures)
                 AND hash NOT IN (SELECT blob_hash FROM photos);",
        )?;
        for key in [DEMO_SEEDED, LAST_JOB, PULL_CURSOR] {
            settings::write(&tx, key, None)?;
        }
        tx.commit()?;
        Ok(true)
    }

    /// Applies what HQ dispatched since the last pull, and the new cursor, in
    /// one transaction. HQ owns dispatch fields; the technician owns what
    /// happened on site, so a job the technician closed keeps its status (a
    /// cancellation on HQ's side is HQ's conflict to show, not ours to hide).
    /// A job HQ has moved to a later visit (re-booked after a reschedule)
    /// starts that visit afresh with HQ's status, the earlier one kept as a
    /// snapshot; its changes still pending stay pending, with their visit.
    /// Dispatchers' decisions on conflicts are kept beside the conflicts.
    /// Technical documents announced are kept to download, retired ones
    /// removed (`documents::apply_notices`).
    pub fn apply_dispatch(&mut self, pulled: &PullResponse) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        let from_scratch = settings::read(&tx, PULL_CURSOR)?.is_none();
        documents::apply_notices(&tx, &pulled.documents, from_scratch)?;
        for job in &pulled.jobs {
            let local: Option<(String, u32)> = tx
                .prepare_cached("SELECT status, visit FROM jobs WHERE id = ?1")?
                .query_row([job.id.to_string()], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()?;
            let mut incoming = job.clone();
            match local {
                Some((_, visit)) if job.visit > visit => archive_visit(&tx, job.id)?,
                Some((status, visit)) => {
                    // The same visit (or an HQ behind ours): ours stands.
                    incoming.visit = visit;
                    match enum_from_sql(&status)? {
                        status @ (JobStatus::Completed | JobStatus::Rescheduled) => {
                            incoming.status = status
                        }
                        // HQ's "scheduled" must not undo a visit already under way.
                        JobStatus::InProgress if job.status == JobStatus::Scheduled => {
                            incoming.status = JobStatus::InProgress
                        }
                        _ => {}
                    }
                }
                None => {}
            }
            upsert_job(&tx, &incoming)?;
        }
        for story in &pulled.customers {
            // Only customers of jobs held: a story never brings one in alone.
            tx.execute(
                "UPDATE customers SET story = ?2 WHERE id = ?1",
                params![story.customer_id.to_string(), json_to_sql(story)],
            )?;
        }
        for id in &pulled.removed {
            tx.execute(
                "UPDATE jobs SET status = 'cancelled'
                 WHERE id = ?1 AND status NOT IN ('completed', 'rescheduled')",
                [id.to_string()],
            )?;
            tx.execute(
                "UPDATE jobs SET reassigned_away = 1 WHERE id = ?1",
                [id.to_string()],
            )?;
        }
        for outcome in &pulled.outcomes {
            // A conflict whose report was lost with a push answer is known
            // only from its outcome; a job this store never held is skipped.
            let resolved_at = time_to_sql(&outcome.resolved_at);
            tx.execute(
                "INSERT INTO sync_conflicts (conflict_id, job_id, reason, reported_at,
                     resolution, note, resolved_at)
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?4 WHERE EXISTS (SELECT 1 FROM jobs WHERE id = ?2)
                 ON CONFLICT(conflict_id) DO UPDATE SET resolution = excluded.resolution,
                     note = excluded.note, resolved_at = excluded.resolved_at",
                params![
                    outcome.conflict_id.to_string(),
                    outcome.job_id.to_string(),
                    enum_to_sql(&outcome.reason),
                    resolved_at,
                    enum_to_sql(&outcome.resolution),
                    outcome.note
                ],
            )?;
        }
        if let Some(list) = &pulled.price_list {
            settings::write_price_list(&tx, list)?;
        }
        settings::write(&tx, PULL_CURSOR, Some(&pulled.cursor))?;
        if let Some(time_zone) = &pulled.time_zone {
            settings::write_time_zone(&tx, time_zone)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Keeps what HQ answered to a push, in one transaction: the entries it
    /// made durable are marked sent, its receipts and conflicts recorded.
    pub fn record_push(
        &mut self,
        answer: &PushResponse,
        now: &doorstep_core::Timestamp,
    ) -> Result<(), StoreError> {
        let now = time_to_sql(now);
        let tx = self.conn.transaction()?;
        outbox::acknowledge_through(&tx, answer.applied_through_seq, &now)?;
        {
            let mut receipt = tx.prepare_cached(
                "INSERT INTO sync_receipts (job_id, server_time, content_hash) VALUES (?1, ?2, ?3)
                 ON CONFLICT(job_id) DO UPDATE SET server_time = excluded.server_time,
                     content_hash = excluded.content_hash",
            )?;
            for r in &answer.receipts {
                receipt.execute(params![
                    r.job_id.to_string(),
                    time_to_sql(&r.server_time),
                    r.content_hash
                ])?;
            }
            let mut conflict = tx.prepare_cached(
                "INSERT INTO sync_conflicts (conflict_id, job_id, reason, reported_at)
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT(conflict_id) DO NOTHING",
            )?;
            for c in &answer.conflicts {
                conflict.execute(params![
                    c.conflict_id.to_string(),
                    c.job_id.to_string(),
                    enum_to_sql(&c.reason),
                    now
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// What sync knows of one job: HQ's receipt, and the latest conflict HQ
    /// reported on it (HQ cancelled or reassigned it after work was done).
    pub fn job_sync_state(&self, job_id: JobId) -> Result<JobSyncState, StoreError> {
        let key = job_id.to_string();
        let receipt: Option<(String, String)> = self
            .conn
            .query_row(
                "SELECT server_time, content_hash FROM sync_receipts WHERE job_id = ?1",
                [&key],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        type Row = (
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let conflict: Option<Row> = self
            .conn
            .query_row(
                "SELECT reason, reported_at, resolution, note, resolved_at FROM sync_conflicts
                 WHERE job_id = ?1 ORDER BY reported_at DESC LIMIT 1",
                [&key],
                |row| {
                    Ok((
                        row.get(0)?,
                        row.get(1)?,
                        row.get(2)?,
                        row.get(3)?,
                        row.get(4)?,
                    ))
                },
            )
            .optional()?;
        Ok(JobSyncState {
            receipt: receipt
                .map(|(server_time, content_hash)| {
                    Ok::<_, StoreError>(Receipt {
                        job_id,
                        server_time: time_from_sql(&server_time)?,
                        content_hash,
                    })
                })
                .transpose()?,
            conflict: conflict
                .map(|(reason, reported_at, resolution, note, resolved_at)| {
                    let decision = match (resolution, resolved_at) {
                        (Some(resolution), Some(resolved_at)) => Some(ConflictDecision {
                            resolution: enum_from_sql(&resolution)?,
                            note: note.unwrap_or_default(),
                            resolved_at: time_from_sql(&resolved_at)?,
                        }),
                        _ => None,
                    };
                    Ok::<_, StoreError>(JobConflict {
                        reason: enum_from_sql(&reason)?,
                        reported_at: time_from_sql(&reported_at)?,
                        decision,
                    })
                })
                .transpose()?,
        })
    }

    /// The customer's name for each of these jobs the store holds, so that a
    /// sync summary names people, not ids.
    pub fn customer_names(
        &self,
        jobs: impl IntoIterator<Item = JobId>,
    ) -> Result<BTreeMap<JobId, String>, StoreError> {
        // One read transaction: a depot sync's summary names a thousand jobs.
        let tx = self.conn.unchecked_transaction()?;
        let mut name = tx.prepare_cached(
            "SELECT c.name FROM jobs j JOIN customers c ON c.id = j.customer_id WHERE j.id = ?1",
        )?;
        let mut names = BTreeMap::new();
        for job in jobs {
            if names.contains_key(&job) {
                continue;
            }
            if let Some(found) = name
                .query_row([job.to_string()], |row| row.get(0))
                .optional()?
            {
                names.insert(job, found);
            }
        }
        Ok(names)
    }

    /// Remembers that HQ holds these blobs (one transaction).
    pub fn mark_blobs_on_hq(&mut self, hashes: &[String]) -> Result<(), StoreError> {
        if hashes.is_empty() {
            return Ok(()); // no commit, so no wait for the disk
        }
        let tx = self.conn.transaction()?;
        {
            let mut mark = tx.prepare_cached(
                "INSERT INTO sync_blobs_sent (hash) VALUES (?1) ON CONFLICT(hash) DO NOTHING",
            )?;
            for hash in hashes {
                mark.execute([hash])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    pub fn sync_counts(&self) -> Result<SyncCounts, StoreError> {
        Ok(self.conn.query_row(
            "SELECT (SELECT count(*) FROM pending_outbox),
                    (SELECT count(DISTINCT job_id) FROM pending_outbox),
                    (SELECT count(*) FROM sync_receipts),
                    (SELECT count(*) FROM sync_conflicts WHERE resolved_at IS NULL)",
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

/// What a revocation left on the laptop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Forgotten {
    /// Jobs removed: HQ held everything of them.
    pub jobs_removed: i64,
    /// Jobs kept because changes of theirs have not reached HQ.
    pub jobs_kept: i64,
}

/// The blobs a job's photos and signature, an earlier visit's snapshot, or a
/// change still in the outbox, name: what a clean-up must keep.
pub(crate) const BLOBS_IN_USE: &str = "SELECT hash FROM (
         SELECT blob_hash AS hash FROM photos
         UNION SELECT png_hash FROM signatures
         UNION SELECT strokes_hash FROM signatures
         UNION SELECT json_extract(photo.value, '$.blob_hash')
             FROM past_visits, json_each(past_visits.record, '$.photos') AS photo
         UNION SELECT json_extract(record, '$.signature.png_hash') FROM past_visits
         UNION SELECT json_extract(record, '$.signature.strokes_hash') FROM past_visits
         UNION SELECT json_extract(payload, '$.data.png_hash') FROM outbox WHERE kind = 'sign'
         UNION SELECT json_extract(payload, '$.data.strokes_hash') FROM outbox WHERE kind = 'sign'
         UNION SELECT json_extract(payload, '$.data.blob_hash') FROM outbox WHERE kind = 'add_photo'
     ) WHERE hash IS NOT NULL";

impl Store {
    /// After HQ revoked this device: removes every job HQ holds whole (with
    /// its customer, records, photos and signature), and what HQ
    /// acknowledged of the outbox. A job with a change HQ has not got is
    /// kept whole, so nothing unsent is ever lost. One transaction.
    pub fn forget_what_hq_holds(&mut self) -> Result<Forgotten, StoreError> {
        let tx = self.conn.transaction()?;
        outbox::drop_acknowledged(&tx)?;
        let jobs_removed = tx.execute(
            "DELETE FROM jobs WHERE id NOT IN (SELECT job_id FROM outbox)",
            [],
        )? as i64;
        tx.execute_batch(&format!(
            "DELETE FROM customers WHERE id NOT IN (SELECT customer_id FROM jobs);
             DELETE FROM blobs WHERE hash NOT IN ({BLOBS_IN_USE});"
        ))?;
        settings::drop_last_job_if_gone(&tx)?;
        let jobs_kept = tx.query_row("SELECT count(*) FROM jobs", [], |row| row.get(0))?;
        tx.commit()?;
        Ok(Forgotten {
            jobs_removed,
            jobs_kept,
        })
    }
}
