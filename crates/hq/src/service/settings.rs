//! What the operator sets at HQ: the time zone (read from `serve
//! --time-zone`) and the repair-time targets (standard item 21), set by a
//! dispatcher in the console and audit-logged.

use super::Hq;
use crate::dto::{OperatorSettings, RepairTargetChange};
use crate::error::HqResult;
use crate::records::AuditAction;
use crate::rules;
use crate::storage::enum_text;

impl Hq {
    pub async fn operator_settings(&self) -> HqResult<OperatorSettings> {
        Ok(OperatorSettings {
            time_zone: self.time_zone.name().to_string(),
            repair_targets: self.storage.repair_targets().await?,
        })
    }

    /// Sets a job type's target or removes it. It applies to the jobs HQ
    /// receives from now on; a job already reported keeps its due time.
    pub async fn set_repair_target(
        &self,
        change: RepairTargetChange,
    ) -> HqResult<OperatorSettings> {
        if let Some(hours) = change.hours {
            rules::may_set_target(hours)?;
        }
        let detail = match change.hours {
            Some(hours) => format!("{}: {hours} h", enum_text(&change.job_type)),
            None => format!("{}: none", enum_text(&change.job_type)),
        };
        let audit = self.audit_detail(AuditAction::SetRepairTarget, &detail);
        self.storage
            .set_repair_target(change.job_type, change.hours, self.now(), &audit)
            .await?;
        self.operator_settings().await
    }
}
