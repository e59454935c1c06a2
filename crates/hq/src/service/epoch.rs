//! HQ's epoch: the identity of its history. Every pull answer carries it;
//! a device that sees a new one knows HQ was restored from a backup and
//! starts over from what HQ holds (`doorstep_sync`'s recovery), even when
//! HQ's change counter has since passed the device's cursor, which alone
//! would hide the restore.

use super::{random_token, Hq};
use crate::error::HqResult;

impl Hq {
    /// Starts a new epoch, after a backup was put back (`admin restore`,
    /// or `admin mark-restored` after pg_restore); returns it. `reason` is
    /// kept beside it for the operator.
    pub async fn begin_epoch(&self, reason: &str) -> HqResult<String> {
        // Only its uniqueness matters; 128 random bits give that.
        let epoch = random_token()?[..32].to_string();
        self.storage.begin_epoch(&epoch, reason, self.now()).await?;
        Ok(epoch)
    }
}
