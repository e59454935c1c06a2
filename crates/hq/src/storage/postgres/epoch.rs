//! HQ's epoch: the identity of its history, renewed when a backup is
//! restored (see `crate::service::epoch`).

use async_trait::async_trait;
use doorstep_core::Timestamp;

use super::rows::statement;
use super::PostgresStorage;
use crate::error::HqResult;
use crate::storage::EpochStore;

#[async_trait]
impl EpochStore for PostgresStorage {
    async fn epoch(&self) -> HqResult<String> {
        // Every pull asks.
        let client = self.pool.get().await?;
        let current =
            statement(&client, "SELECT epoch FROM epochs ORDER BY n DESC LIMIT 1").await?;
        Ok(client.query_one(&current, &[]).await?.try_get(0)?)
    }

    async fn begin_epoch(&self, epoch: &str, reason: &str, now: Timestamp) -> HqResult<()> {
        self.pool
            .get()
            .await?
            .execute(
                "INSERT INTO epochs (epoch, started_at, reason) VALUES ($1, $2, $3)",
                &[&epoch, &now, &reason],
            )
            .await?;
        Ok(())
    }
}
