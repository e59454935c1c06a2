//! Blobs, in their own file with its own writer (see `conn`).

use async_trait::async_trait;
use doorstep_core::Timestamp;
use rusqlite::{params, OptionalExtension};

use super::rows::ts;
use super::SqliteStorage;
use crate::error::HqResult;
use crate::storage::BlobStore;

#[async_trait]
impl BlobStore for SqliteStorage {
    async fn missing_blobs(&self, hashes: &[String]) -> HqResult<Vec<String>> {
        let hashes = hashes.to_vec();
        self.blobs
            .read(move |conn| {
                let mut held =
                    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM blobs WHERE hash = ?1)")?;
                let mut missing = Vec::new();
                for hash in hashes {
                    if !held.query_row([&hash], |row| row.get::<_, bool>(0))? {
                        missing.push(hash);
                    }
                }
                Ok(missing)
            })
            .await
    }

    async fn put_blobs(
        &self,
        blobs: Vec<(String, Vec<u8>)>,
        now: Timestamp,
    ) -> HqResult<Vec<bool>> {
        self.blobs
            .write(move |tx| {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO blobs (hash, size, bytes, created_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (hash) DO NOTHING",
                )?;
                let now = ts(&now);
                let mut created = Vec::with_capacity(blobs.len());
                for (hash, bytes) in &blobs {
                    created
                        .push(insert.execute(params![hash, bytes.len() as i64, bytes, now])? == 1);
                }
                Ok(created)
            })
            .await
    }

    async fn blob(&self, hash: &str) -> HqResult<Option<Vec<u8>>> {
        let hash = hash.to_string();
        self.blobs
            .read(move |conn| {
                Ok(conn
                    .query_row("SELECT bytes FROM blobs WHERE hash = ?1", [hash], |row| {
                        row.get(0)
                    })
                    .optional()?)
            })
            .await
    }
}
