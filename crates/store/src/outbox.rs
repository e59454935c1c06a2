//! The sync outbox: every local change, in order, until HQ holds it.
//!
//! Entries are appended with the change they record, in its transaction
//! (`append`). HQ acknowledges a prefix of them (`outbox_acks`: one row per
//! answer, "every entry through this seq"), and `pending_outbox` is the view
//! of what is left to send. Recovery moves the acknowledged point back
//! (`rewind_to_hq`) or numbers what waits from 1 for a new device identity
//! (`start_outbox_over`).

use std::collections::HashMap;

use doorstep_core::change::Change;
use doorstep_core::{JobId, Timestamp};
use rusqlite::{params, Connection};
use serde::Serialize;

use crate::codec::{id_from_sql, json_to_sql, time_from_sql, time_to_sql};
use crate::settings::{self, DeviceEnrollment, PULL_CURSOR};
use crate::{Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxEntry {
    pub seq: i64,
    pub op_id: String,
    pub job_id: JobId,
    pub kind: String,
    pub payload: String,
    pub device_time: Timestamp,
    /// The job's visit when the change was made.
    pub visit: u32,
}

/// The part of the outbox HQ has not acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxSize {
    pub entries: usize,
    pub payload_bytes: u64,
}

/// Records `change` to `job` (made in its `visit`) as the next entry, on
/// the transaction that writes the change itself.
pub(crate) fn append(
    conn: &Connection,
    job: JobId,
    change: &Change,
    now: &Timestamp,
    visit: u32,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO outbox (op_id, job_id, kind, payload, device_time, visit)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        uuid::Uuid::now_v7().to_string(),
        job.to_string(),
        change.kind(),
        json_to_sql(change),
        time_to_sql(now),
        visit
    ])?;
    Ok(())
}

/// Records that HQ holds every outbox entry through `seq`. HQ answers in seq
/// order, so what it holds is a prefix, and an answer that says less than
/// one already kept changes nothing.
pub(crate) fn acknowledge_through(
    conn: &Connection,
    seq: i64,
    now: &str,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO outbox_acks (through_seq, acked_at) SELECT ?1, ?2
         WHERE ?1 > (SELECT COALESCE(max(through_seq), 0) FROM outbox_acks)",
    )?
    .execute(params![seq, now])?;
    Ok(())
}

/// Drops the entries HQ acknowledged (their acknowledgements stay).
pub(crate) fn drop_acknowledged(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "DELETE FROM outbox WHERE seq <= (SELECT COALESCE(max(through_seq), 0) FROM outbox_acks);",
    )?;
    Ok(())
}

/// Drops a job's entries, every one of them acknowledged (the caller makes
/// sure: see `retention.rs`).
pub(crate) fn drop_job(conn: &Connection, job: &str) -> Result<(), StoreError> {
    conn.execute("DELETE FROM outbox WHERE job_id = ?1", [job])?;
    Ok(())
}

/// Empties the outbox and its acknowledgements, numbering from 1 again.
pub(crate) fn clear(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "DELETE FROM outbox;
         DELETE FROM outbox_acks;
         DELETE FROM sqlite_sequence WHERE name = 'outbox';",
    )?;
    Ok(())
}

/// Where a job stands in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JobOutbox {
    /// An entry of the job HQ has not acknowledged.
    pub unsent: bool,
    /// When HQ acknowledged the job's last entry (RFC 3339), if it has.
    pub acknowledged_at: Option<String>,
}

/// Every job with an entry in the outbox, by id: one read for all of them.
pub(crate) fn by_job(conn: &Connection) -> Result<HashMap<String, JobOutbox>, StoreError> {
    let mut statement = conn.prepare(
        "WITH last_entry AS (SELECT job_id, max(seq) AS seq FROM outbox GROUP BY job_id)
         SELECT l.job_id,
                l.seq > (SELECT COALESCE(max(through_seq), 0) FROM outbox_acks),
                (SELECT min(acked_at) FROM outbox_acks WHERE through_seq >= l.seq)
         FROM last_entry l",
    )?;
    let rows = statement.query_map([], |row| {
        Ok((
            row.get::<_, String>(0)?,
            JobOutbox {
                unsent: row.get(1)?,
                acknowledged_at: row.get(2)?,
            },
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

impl Store {
    /// How many outbox entries HQ has not acknowledged, and their payloads'
    /// bytes.
    pub fn pending_outbox_size(&self) -> Result<OutboxSize, StoreError> {
        Ok(self.conn.query_row(
            "SELECT count(*), COALESCE(sum(octet_length(payload)), 0) FROM pending_outbox",
            [],
            |row| {
                Ok(OutboxSize {
                    entries: row.get::<_, i64>(0)? as usize,
                    payload_bytes: row.get::<_, i64>(1)? as u64,
                })
            },
        )?)
    }

    /// The seq and payload of each unacknowledged outbox entry of these
    /// kinds, oldest first.
    pub fn pending_payloads_of(&self, kinds: &[&str]) -> Result<Vec<(i64, String)>, StoreError> {
        let kinds = serde_json::to_string(kinds).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut statement = self.conn.prepare_cached(
            "SELECT seq, payload FROM pending_outbox
             WHERE kind IN (SELECT value FROM json_each(?1)) ORDER BY seq",
        )?;
        let rows = statement.query_map([kinds], |row| Ok((row.get(0)?, row.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Outbox entries not yet acknowledged by HQ, oldest first.
    pub fn pending_outbox(&self) -> Result<Vec<OutboxEntry>, StoreError> {
        self.outbox_batch(0, usize::MAX)
    }

    /// Up to `limit` unsent outbox entries, oldest first.
    pub fn outbox_batch(
        &self,
        after_seq: i64,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT seq, op_id, job_id, kind, payload, device_time, visit FROM pending_outbox
             WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = statement.query_map([after_seq, limit], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, String>(4)?,
                row.get::<_, String>(5)?,
                row.get::<_, u32>(6)?,
            ))
        })?;
        rows.map(|row| {
            let (seq, op_id, job_id, kind, payload, device_time, visit) = row?;
            Ok(OutboxEntry {
                seq,
                op_id,
                job_id: id_from_sql(&job_id)?,
                kind,
                payload,
                device_time: time_from_sql(&device_time)?,
                visit,
            })
        })
        .collect()
    }

    /// Marks every entry up to `seq` as durable on HQ.
    pub fn mark_sent_through(&self, seq: i64, now: &Timestamp) -> Result<(), StoreError> {
        acknowledge_through(&self.conn, seq, &time_to_sql(now))
    }

    /// Through which outbox seq HQ has acknowledged this device's changes.
    pub fn acknowledged_through(&self) -> Result<i64, StoreError> {
        Ok(self.conn.query_row(
            "SELECT COALESCE(max(through_seq), 0) FROM outbox_acks",
            [],
            |row| row.get(0),
        )?)
    }

    /// HQ holds this device's changes through `held_through` and no further:
    /// it came back from an older backup (or an answer was lost). What it
    /// lacks becomes pending again, to be sent again (op ids make that
    /// safe); the blobs it names are asked about again rather than trusted
    /// to the marks of what was sent; the pull starts over, so HQ's dispatch
    /// comes whole. What is left to send is numbered on from what HQ holds:
    /// retention may have removed acknowledged changes of jobs the laptop
    /// no longer keeps (HQ restored from a backup older than the retention
    /// period lost them for good), and a hole in the numbers would stop
    /// every later push as a sequence gap. One transaction.
    pub fn rewind_to_hq(&mut self, held_through: i64, now: &Timestamp) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "DELETE FROM outbox_acks WHERE through_seq > ?1",
            [held_through],
        )?;
        acknowledge_through(&tx, held_through, &time_to_sql(now))?;
        // Negative first: the new numbers overlap the old ones.
        tx.execute(
            "UPDATE outbox SET seq = -(?1 + numbered.n) FROM
                 (SELECT seq, row_number() OVER (ORDER BY seq) AS n FROM outbox
                  WHERE seq > ?1) AS numbered
                 WHERE outbox.seq = numbered.seq",
            [held_through],
        )?;
        tx.execute_batch(
            "UPDATE outbox SET seq = -seq WHERE seq < 0;
             UPDATE sqlite_sequence SET seq = (SELECT COALESCE(max(seq), 0) FROM outbox)
                 WHERE name = 'outbox';",
        )?;
        tx.execute_batch("DELETE FROM sync_blobs_sent;")?;
        settings::write(&tx, PULL_CURSOR, None)?;
        tx.commit()?;
        Ok(())
    }

    /// A new device identity (re-enrollment, or another HQ): the changes
    /// still waiting are numbered again from 1, those HQ acknowledged are
    /// dropped with their acknowledgements, the pull starts over, and no
    /// blob counts as sent. The new `enrollment` is written in the same
    /// transaction (and the refusal it answers cleared), so the old
    /// identity never meets the new numbers. Returns how many changes wait.
    pub fn start_outbox_over(&mut self, enrollment: &DeviceEnrollment) -> Result<i64, StoreError> {
        let tx = self.conn.transaction()?;
        drop_acknowledged(&tx)?;
        // Negative first: the new numbers overlap the old ones.
        tx.execute_batch(
            "DELETE FROM outbox_acks;
             UPDATE outbox SET seq = -numbered.n FROM
                 (SELECT seq, row_number() OVER (ORDER BY seq) AS n FROM outbox) AS numbered
                 WHERE outbox.seq = numbered.seq;
             UPDATE outbox SET seq = -seq;
             DELETE FROM sqlite_sequence WHERE name = 'outbox';
             INSERT INTO sqlite_sequence (name, seq) SELECT 'outbox', max(seq) FROM outbox
                 WHERE EXISTS (SELECT 1 FROM outbox);
             DELETE FROM sync_blobs_sent;",
        )?;
        settings::write(&tx, PULL_CURSOR, None)?;
        settings::write_enrollment(&tx, enrollment)?;
        let waiting = tx.query_row("SELECT count(*) FROM outbox", [], |row| row.get(0))?;
        tx.commit()?;
        Ok(waiting)
    }
}
