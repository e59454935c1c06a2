//! HQ's epoch: the identity of its history, renewed when a backup is
//! restored (see `crate::service::epoch`).

use async_trait::async_trait;
use doorstep_core::Timestamp;
use rusqlite::params;

use super::rows::ts;
use super::SqliteStorage;
use crate::error::HqResult;
use crate::storage::EpochStore;

#[async_trait]
impl EpochStore for SqliteStorage {
    async fn epoch(&self) -> HqResult<String> {
        self.read(|conn| {
            Ok(conn.query_row(
                "SELECT epoch FROM epochs ORDER BY n DESC LIMIT 1",
                [],
                |row| row.get(0),
            )?)
        })
        .await
    }

    async fn begin_epoch(&self, epoch: &str, reason: &str, now: Timestamp) -> HqResult<()> {
        let (epoch, reason) = (epoch.to_string(), reason.to_string());
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO epochs (epoch, started_at, reason) VALUES (?1, ?2, ?3)",
                params![epoch, ts(&now), reason],
            )?;
            Ok(())
        })
        .await
    }
}
