//! The audit log: entries written inside the transaction of the action they
//! record (`write_audit`), and read back newest first.

use async_trait::async_trait;
use rusqlite::{params, Connection, Row};

use super::rows::{collect, id, parse_ts, ts};
use super::SqliteStorage;
use crate::error::HqResult;
use crate::records::{AuditEntry, AuditFilter, AuditRecord};
use crate::storage::codec::{enum_parse, enum_text};
use crate::storage::AuditStore;

/// Appends `entry` in the caller's transaction.
pub(super) fn write_audit(conn: &Connection, entry: &AuditRecord) -> HqResult<()> {
    conn.prepare_cached(
        "INSERT INTO audit_log (at, actor, action, job_id, technician_id, device_id, username,
             detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        ts(&entry.at),
        entry.actor,
        enum_text(&entry.action),
        entry.job_id.map(|j| j.to_string()),
        entry.technician_id.map(|t| t.to_string()),
        entry.device_id.map(|d| d.to_string()),
        entry.username,
        entry.detail,
    ])?;
    Ok(())
}

fn read_entry(row: &Row) -> HqResult<AuditEntry> {
    let text = |i: usize| row.get::<_, Option<String>>(i);
    Ok(AuditEntry {
        id: row.get(0)?,
        record: AuditRecord {
            at: parse_ts(&row.get::<_, String>(1)?)?,
            actor: text(2)?,
            action: enum_parse(&row.get::<_, String>(3)?)?,
            job_id: text(4)?.as_deref().map(id).transpose()?,
            technician_id: text(5)?.as_deref().map(id).transpose()?,
            device_id: text(6)?.as_deref().map(id).transpose()?,
            username: text(7)?,
            detail: row.get(8)?,
        },
    })
}

#[async_trait]
impl AuditStore for SqliteStorage {
    async fn record_audit(&self, entry: &AuditRecord) -> HqResult<()> {
        let entry = entry.clone();
        self.write(move |tx| write_audit(tx, &entry)).await
    }

    async fn audit(&self, filter: &AuditFilter) -> HqResult<Vec<AuditEntry>> {
        let filter = filter.clone();
        self.read(move |conn| {
            collect(
                conn,
                "SELECT id, at, actor, action, job_id, technician_id, device_id, username, detail
                 FROM audit_log
                 WHERE (?1 IS NULL OR actor = ?1) AND (?2 IS NULL OR action = ?2)
                   AND (?3 IS NULL OR job_id = ?3) AND (?4 IS NULL OR at >= ?4)
                   AND (?5 IS NULL OR at < ?5) AND (?6 IS NULL OR id < ?6)
                 ORDER BY id DESC LIMIT ?7",
                params![
                    filter.actor,
                    filter.action.as_ref().map(enum_text),
                    filter.job_id.map(|j| j.to_string()),
                    filter.from.as_ref().map(ts),
                    filter.to.as_ref().map(ts),
                    filter.before,
                    filter.limit,
                ],
                read_entry,
            )
        })
        .await
    }
}
