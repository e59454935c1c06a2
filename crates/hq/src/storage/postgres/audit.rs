//! The audit log: entries written inside the transaction of the action they
//! record (`write_audit`), and read back newest first.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use doorstep_core::wire::{DeviceId, TechnicianId};
use doorstep_core::JobId;
use tokio_postgres::Row;
use uuid::Uuid;

use super::PostgresStorage;
use crate::error::HqResult;
use crate::records::{AuditEntry, AuditFilter, AuditRecord};
use crate::storage::codec::{enum_parse, enum_text};
use crate::storage::AuditStore;

/// Appends `entry` in the caller's transaction.
pub(super) async fn write_audit<C: GenericClient>(client: &C, entry: &AuditRecord) -> HqResult<()> {
    client
        .execute(
            "INSERT INTO audit_log (at, actor, action, job_id, technician_id, device_id, username,
                 detail)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &entry.at,
                &entry.actor,
                &enum_text(&entry.action),
                &entry.job_id.map(|j| j.0),
                &entry.technician_id.map(|t| t.0),
                &entry.device_id.map(|d| d.0),
                &entry.username,
                &entry.detail,
            ],
        )
        .await?;
    Ok(())
}

fn read_entry(row: &Row) -> HqResult<AuditEntry> {
    Ok(AuditEntry {
        id: row.try_get(0)?,
        record: AuditRecord {
            at: row.try_get(1)?,
            actor: row.try_get(2)?,
            action: enum_parse(row.try_get(3)?)?,
            job_id: row.try_get::<_, Option<Uuid>>(4)?.map(JobId),
            technician_id: row.try_get::<_, Option<Uuid>>(5)?.map(TechnicianId),
            device_id: row.try_get::<_, Option<Uuid>>(6)?.map(DeviceId),
            username: row.try_get(7)?,
            detail: row.try_get(8)?,
        },
    })
}

#[async_trait]
impl AuditStore for PostgresStorage {
    async fn record_audit(&self, entry: &AuditRecord) -> HqResult<()> {
        let client = self.pool.get().await?;
        write_audit(&client, entry).await
    }

    async fn audit(&self, filter: &AuditFilter) -> HqResult<Vec<AuditEntry>> {
        self.pool
            .get()
            .await?
            .query(
                "SELECT id, at, actor, action, job_id, technician_id, device_id, username, detail
                 FROM audit_log
                 WHERE ($1::text IS NULL OR actor = $1) AND ($2::text IS NULL OR action = $2)
                   AND ($3::uuid IS NULL OR job_id = $3)
                   AND ($4::timestamptz IS NULL OR at >= $4)
                   AND ($5::timestamptz IS NULL OR at < $5)
                   AND ($6::bigint IS NULL OR id < $6)
                 ORDER BY id DESC LIMIT $7",
                &[
                    &filter.actor,
                    &filter.action.as_ref().map(enum_text),
                    &filter.job_id.map(|j| j.0),
                    &filter.from,
                    &filter.to,
                    &filter.before,
                    &i64::from(filter.limit),
                ],
            )
            .await?
            .iter()
            .map(read_entry)
            .collect()
    }
}
