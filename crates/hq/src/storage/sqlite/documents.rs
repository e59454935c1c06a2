//! Technical documents: their rows (the content is a blob in the blobs
//! file, stored before the row names it).

use async_trait::async_trait;
use doorstep_core::wire::{DocumentId, DocumentState};
use doorstep_core::Timestamp;
use rusqlite::{params, Connection, Row};

use super::audit::write_audit;
use super::rows::{collect, id, next_change, opt_ts, parse_ts, ts};
use super::SqliteStorage;
use crate::error::{HqError, HqResult};
use crate::records::{AuditRecord, Document, DocumentUpload};
use crate::rules;
use crate::storage::codec::{enum_parse, enum_text};
use crate::storage::DocumentStore;

pub(super) const DOCUMENT_COLUMNS: &str =
    "id, title_zh, title_en, kind, version, content_hash, size, state, published_at, retired_at";

pub(super) fn read_document(row: &Row) -> HqResult<Document> {
    Ok(Document {
        id: id(&row.get::<_, String>(0)?)?,
        title_zh: row.get(1)?,
        title_en: row.get(2)?,
        kind: enum_parse(&row.get::<_, String>(3)?)?,
        version: row.get(4)?,
        content_hash: row.get(5)?,
        size: row.get::<_, i64>(6)? as u64,
        state: enum_parse(&row.get::<_, String>(7)?)?,
        published_at: parse_ts(&row.get::<_, String>(8)?)?,
        retired_at: opt_ts(row.get(9)?)?,
    })
}

fn load(conn: &Connection, id: DocumentId) -> HqResult<Option<Document>> {
    Ok(collect(
        conn,
        &format!("SELECT {DOCUMENT_COLUMNS} FROM documents WHERE id = ?1"),
        [id.to_string()],
        read_document,
    )?
    .pop())
}

#[async_trait]
impl DocumentStore for SqliteStorage {
    async fn publish_document(
        &self,
        upload: &DocumentUpload,
        now: Timestamp,
        audit: &AuditRecord,
    ) -> HqResult<Document> {
        let (upload, audit) = (upload.clone(), audit.clone());
        self.write(move |tx| {
            let held = load(tx, upload.id)?;
            if upload.replaces && held.is_none() {
                return Err(HqError::NotFound(format!("document {}", upload.id)));
            }
            let version = rules::document_version(held.map(|d| d.version));
            let seq = next_change(tx)?;
            tx.execute(
                "INSERT INTO documents (id, title_zh, title_en, kind, version, content_hash, size,
                     state, published_at, retired_at, change_seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, NULL, ?10)
                 ON CONFLICT (id) DO UPDATE SET title_zh = excluded.title_zh,
                     title_en = excluded.title_en, kind = excluded.kind,
                     version = excluded.version, content_hash = excluded.content_hash,
                     size = excluded.size, state = excluded.state,
                     published_at = excluded.published_at, retired_at = NULL,
                     change_seq = excluded.change_seq",
                params![
                    upload.id.to_string(),
                    upload.title_zh,
                    upload.title_en,
                    enum_text(&upload.kind),
                    version,
                    upload.content_hash,
                    upload.size as i64,
                    enum_text(&DocumentState::Published),
                    ts(&now),
                    seq
                ],
            )?;
            write_audit(tx, &audit)?;
            load(tx, upload.id)?.ok_or_else(|| HqError::storage("the document was not stored"))
        })
        .await
    }

    async fn retire_document(
        &self,
        id: DocumentId,
        now: Timestamp,
        audit: &AuditRecord,
    ) -> HqResult<Document> {
        let audit = audit.clone();
        self.write(move |tx| {
            let held = load(tx, id)?.ok_or_else(|| HqError::NotFound(format!("document {id}")))?;
            rules::may_retire_document(held.state)?;
            let seq = next_change(tx)?;
            tx.execute(
                "UPDATE documents SET state = ?2, retired_at = ?3, change_seq = ?4 WHERE id = ?1",
                params![
                    id.to_string(),
                    enum_text(&DocumentState::Retired),
                    ts(&now),
                    seq
                ],
            )?;
            write_audit(tx, &audit)?;
            load(tx, id)?.ok_or_else(|| HqError::storage("the document was not stored"))
        })
        .await
    }

    async fn documents(&self) -> HqResult<Vec<Document>> {
        self.read(|conn| {
            collect(
                conn,
                &format!("SELECT {DOCUMENT_COLUMNS} FROM documents ORDER BY published_at DESC, id"),
                [],
                read_document,
            )
        })
        .await
    }

    async fn document(&self, id: DocumentId) -> HqResult<Option<Document>> {
        self.read(move |conn| load(conn, id)).await
    }
}

/// The documents changed since `since`, in the order they changed, as a
/// pull carries them (`rules::document_in_pull`).
pub(super) fn documents_since(conn: &Connection, since: i64) -> HqResult<Vec<Document>> {
    Ok(collect(
        conn,
        &format!(
            "SELECT {DOCUMENT_COLUMNS} FROM documents WHERE change_seq > ?1 ORDER BY change_seq"
        ),
        [since],
        read_document,
    )?
    .into_iter()
    .filter(|d| rules::document_in_pull(since, d.state))
    .collect())
}
