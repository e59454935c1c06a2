//! Repair-time targets (standard item 21), one row per job type.

use async_trait::async_trait;
use doorstep_core::{JobType, Timestamp};
use rusqlite::params;

use super::audit::write_audit;
use super::rows::{collect, ts};
use super::SqliteStorage;
use crate::error::HqResult;
use crate::records::{AuditRecord, RepairTarget};
use crate::storage::codec::{enum_parse, enum_text};
use crate::storage::TargetStore;

#[async_trait]
impl TargetStore for SqliteStorage {
    async fn repair_targets(&self) -> HqResult<Vec<RepairTarget>> {
        self.read(|conn| {
            collect(
                conn,
                "SELECT job_type, hours FROM repair_targets ORDER BY job_type",
                [],
                |row| {
                    Ok(RepairTarget {
                        job_type: enum_parse(&row.get::<_, String>(0)?)?,
                        hours: row.get(1)?,
                    })
                },
            )
        })
        .await
    }

    async fn set_repair_target(
        &self,
        job_type: JobType,
        hours: Option<u32>,
        now: Timestamp,
        audit: &AuditRecord,
    ) -> HqResult<()> {
        let audit = audit.clone();
        self.write(move |tx| {
            match hours {
                Some(hours) => tx.execute(
                    "INSERT INTO repair_targets (job_type, hours, updated_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (job_type) DO UPDATE SET hours = ?2, updated_at = ?3",
                    params![enum_text(&job_type), hours, ts(&now)],
                )?,
                None => tx.execute(
                    "DELETE FROM repair_targets WHERE job_type = ?1",
                    params![enum_text(&job_type)],
                )?,
            };
            write_audit(tx, &audit)
        })
        .await
    }
}
