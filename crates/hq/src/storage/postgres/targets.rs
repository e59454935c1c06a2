//! Repair-time targets (standard item 21), one row per job type.

use async_trait::async_trait;
use doorstep_core::{JobType, Timestamp};

use super::audit::write_audit;
use super::PostgresStorage;
use crate::error::{HqError, HqResult};
use crate::records::{AuditRecord, RepairTarget};
use crate::storage::codec::{enum_parse, enum_text};
use crate::storage::TargetStore;

#[async_trait]
impl TargetStore for PostgresStorage {
    async fn repair_targets(&self) -> HqResult<Vec<RepairTarget>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT job_type, hours FROM repair_targets ORDER BY job_type",
                &[],
            )
            .await?;
        rows.iter()
            .map(|row| {
                Ok(RepairTarget {
                    job_type: enum_parse(row.try_get(0)?)?,
                    hours: u32::try_from(row.try_get::<_, i32>(1)?).map_err(HqError::storage)?,
                })
            })
            .collect()
    }

    async fn set_repair_target(
        &self,
        job_type: JobType,
        hours: Option<u32>,
        now: Timestamp,
        audit: &AuditRecord,
    ) -> HqResult<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let job_type = enum_text(&job_type);
        match hours {
            Some(hours) => {
                let hours = i32::try_from(hours).map_err(HqError::storage)?;
                tx.execute(
                    "INSERT INTO repair_targets (job_type, hours, updated_at) VALUES ($1, $2, $3)
                     ON CONFLICT (job_type) DO UPDATE SET hours = $2, updated_at = $3",
                    &[&job_type, &hours, &now],
                )
                .await?
            }
            None => {
                tx.execute(
                    "DELETE FROM repair_targets WHERE job_type = $1",
                    &[&job_type],
                )
                .await?
            }
        };
        write_audit(&tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }
}
