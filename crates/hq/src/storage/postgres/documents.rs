//! Technical documents: their rows (the content is a blob, stored before
//! the row names it). A change takes the change counter's lock first, so
//! two publications of one document take turns and commit in counter order.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use doorstep_core::wire::{DocumentId, DocumentState};
use doorstep_core::Timestamp;
use tokio_postgres::Row;

use super::audit::write_audit;
use super::rows::{next_change, statement, visit_from_sql, visit_to_sql};
use super::PostgresStorage;
use crate::error::{HqError, HqResult};
use crate::records::{AuditRecord, Document, DocumentUpload};
use crate::rules;
use crate::storage::codec::{enum_parse, enum_text};
use crate::storage::DocumentStore;

const DOCUMENT_COLUMNS: &str =
    "id, title_zh, title_en, kind, version, content_hash, size, state, published_at, retired_at";

fn read_document(row: &Row) -> HqResult<Document> {
    Ok(Document {
        id: DocumentId(row.try_get(0)?),
        title_zh: row.try_get(1)?,
        title_en: row.try_get(2)?,
        kind: enum_parse(row.try_get(3)?)?,
        // A version counts like a visit: from 1, in an INTEGER.
        version: visit_from_sql(row.try_get(4)?)?,
        content_hash: row.try_get(5)?,
        size: u64::try_from(row.try_get::<_, i64>(6)?).map_err(HqError::storage)?,
        state: enum_parse(row.try_get(7)?)?,
        published_at: row.try_get(8)?,
        retired_at: row.try_get(9)?,
    })
}

async fn load<C: GenericClient>(client: &C, id: DocumentId) -> HqResult<Option<Document>> {
    client
        .query_opt(
            &format!("SELECT {DOCUMENT_COLUMNS} FROM documents WHERE id = $1"),
            &[&id.0],
        )
        .await?
        .as_ref()
        .map(read_document)
        .transpose()
}

#[async_trait]
impl DocumentStore for PostgresStorage {
    async fn publish_document(
        &self,
        upload: &DocumentUpload,
        now: Timestamp,
        audit: &AuditRecord,
    ) -> HqResult<Document> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let seq = next_change(&tx).await?;
        let held = load(&tx, upload.id).await?;
        if upload.replaces && held.is_none() {
            return Err(HqError::NotFound(format!("document {}", upload.id)));
        }
        let version = rules::document_version(held.map(|d| d.version));
        let size = i64::try_from(upload.size).map_err(HqError::storage)?;
        tx.execute(
            "INSERT INTO documents (id, title_zh, title_en, kind, version, content_hash, size,
                 state, published_at, retired_at, change_seq)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, $10)
             ON CONFLICT (id) DO UPDATE SET title_zh = excluded.title_zh,
                 title_en = excluded.title_en, kind = excluded.kind,
                 version = excluded.version, content_hash = excluded.content_hash,
                 size = excluded.size, state = excluded.state,
                 published_at = excluded.published_at, retired_at = NULL,
                 change_seq = excluded.change_seq",
            &[
                &upload.id.0,
                &upload.title_zh,
                &upload.title_en,
                &enum_text(&upload.kind),
                &visit_to_sql(version)?,
                &upload.content_hash,
                &size,
                &enum_text(&DocumentState::Published),
                &now,
                &seq,
            ],
        )
        .await?;
        write_audit(&tx, audit).await?;
        let stored = load(&tx, upload.id)
            .await?
            .ok_or_else(|| HqError::storage("the document was not stored"))?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn retire_document(
        &self,
        id: DocumentId,
        now: Timestamp,
        audit: &AuditRecord,
    ) -> HqResult<Document> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let seq = next_change(&tx).await?;
        let held = load(&tx, id)
            .await?
            .ok_or_else(|| HqError::NotFound(format!("document {id}")))?;
        rules::may_retire_document(held.state)?;
        tx.execute(
            "UPDATE documents SET state = $2, retired_at = $3, change_seq = $4 WHERE id = $1",
            &[&id.0, &enum_text(&DocumentState::Retired), &now, &seq],
        )
        .await?;
        write_audit(&tx, audit).await?;
        let stored = load(&tx, id)
            .await?
            .ok_or_else(|| HqError::storage("the document was not stored"))?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn documents(&self) -> HqResult<Vec<Document>> {
        self.pool
            .get()
            .await?
            .query(
                &format!("SELECT {DOCUMENT_COLUMNS} FROM documents ORDER BY published_at DESC, id"),
                &[],
            )
            .await?
            .iter()
            .map(read_document)
            .collect()
    }

    async fn document(&self, id: DocumentId) -> HqResult<Option<Document>> {
        load(&self.pool.get().await?, id).await
    }
}

/// The documents changed since `since`, in the order they changed, as a
/// pull carries them (`rules::document_in_pull`).
pub(super) async fn documents_since<C: GenericClient>(
    client: &C,
    since: i64,
) -> HqResult<Vec<Document>> {
    let changed = statement(
        client,
        &format!(
            "SELECT {DOCUMENT_COLUMNS} FROM documents WHERE change_seq > $1 ORDER BY change_seq"
        ),
    )
    .await?;
    Ok(client
        .query(&changed, &[&since])
        .await?
        .iter()
        .map(read_document)
        .collect::<HqResult<Vec<_>>>()?
        .into_iter()
        .filter(|d| rules::document_in_pull(since, d.state))
        .collect())
}
