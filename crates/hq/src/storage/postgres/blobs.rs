//! Blobs: a batch is one statement, so one commit.

use async_trait::async_trait;
use doorstep_core::Timestamp;
use tokio_postgres::types::Type;

use super::rows::{batch_transaction, statement};
use super::PostgresStorage;
use crate::error::HqResult;
use crate::storage::BlobStore;

#[async_trait]
impl BlobStore for PostgresStorage {
    async fn missing_blobs(&self, hashes: &[String]) -> HqResult<Vec<String>> {
        // Planned for its hashes each time (see `rows::statement`).
        let rows = self
            .pool
            .get()
            .await?
            .query_typed(
                "SELECT h FROM UNNEST($1::text[]) AS h
                 WHERE NOT EXISTS (SELECT 1 FROM blobs WHERE hash = h)",
                &[(&hashes, Type::TEXT_ARRAY)],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|row| row.try_get(0))
            .collect::<Result<_, _>>()?)
    }

    async fn put_blobs(
        &self,
        blobs: Vec<(String, Vec<u8>)>,
        now: Timestamp,
    ) -> HqResult<Vec<bool>> {
        let hashes: Vec<&str> = blobs.iter().map(|(hash, _)| hash.as_str()).collect();
        let sizes: Vec<i64> = blobs.iter().map(|(_, bytes)| bytes.len() as i64).collect();
        let bytes: Vec<&[u8]> = blobs.iter().map(|(_, bytes)| bytes.as_slice()).collect();
        // One statement, so one commit for the batch.
        let mut client = self.pool.get().await?;
        let tx = batch_transaction(&mut client).await?;
        let insert = statement(
            &tx,
            "INSERT INTO blobs (hash, size, bytes, created_at)
             SELECT h, s, b, $4 FROM UNNEST($1::text[], $2::bigint[], $3::bytea[]) AS t(h, s, b)
             ON CONFLICT (hash) DO NOTHING RETURNING hash",
        )
        .await?;
        let rows = tx.query(&insert, &[&hashes, &sizes, &bytes, &now]).await?;
        tx.commit().await?;
        let created: std::collections::HashSet<String> = rows
            .iter()
            .map(|row| row.try_get(0))
            .collect::<Result<_, _>>()?;
        Ok(hashes.iter().map(|h| created.contains(*h)).collect())
    }

    async fn blob(&self, hash: &str) -> HqResult<Option<Vec<u8>>> {
        let row = self
            .pool
            .get()
            .await?
            .query_opt("SELECT bytes FROM blobs WHERE hash = $1", &[&hash])
            .await?;
        Ok(row.map(|row| row.try_get(0)).transpose()?)
    }
}
