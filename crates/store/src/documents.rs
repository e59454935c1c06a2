//! Technical documents from HQ: what a pull announced, what the laptop has
//! downloaded, and searching them by title. A document is listed only once
//! its whole content is in the store (`keep_document`, one transaction), so
//! a download cut short never shows; one a pull retired is removed.

use doorstep_core::signature::sha256_hex;
use doorstep_core::wire::{DocumentId, DocumentKind, DocumentNotice, DocumentState};
use rusqlite::{params, OptionalExtension, Row, Transaction};
use serde::Serialize;

use crate::codec::{enum_from_sql, enum_to_sql, id_from_sql, json_from_sql, json_to_sql};
use crate::{Store, StoreError};

/// A document the laptop holds, as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocumentSummary {
    pub id: DocumentId,
    pub title_zh: String,
    pub title_en: String,
    pub kind: DocumentKind,
    pub version: u32,
    pub size: u64,
}

const SUMMARY_COLUMNS: &str = "id, title_zh, title_en, kind, version, size";

fn read_summary(row: &Row) -> Result<DocumentSummary, StoreError> {
    Ok(DocumentSummary {
        id: id_from_sql(&row.get::<_, String>(0)?)?,
        title_zh: row.get(1)?,
        title_en: row.get(2)?,
        kind: enum_from_sql(&row.get::<_, String>(3)?)?,
        version: row.get(4)?,
        size: row.get::<_, i64>(5)? as u64,
    })
}

/// Applies a pull's document notices, in the pull's transaction. A retired
/// document leaves the laptop; a published one the laptop holds in that
/// content only has its titles updated; any other is wanted, to download.
/// A pull from no cursor announces every published document, so one the
/// laptop holds that it does not name was retired meanwhile (or belongs to
/// another HQ) and goes too.
pub(crate) fn apply_notices(
    tx: &Transaction,
    notices: &[DocumentNotice],
    from_scratch: bool,
) -> Result<(), StoreError> {
    if from_scratch {
        let named = json_to_sql(&notices.iter().map(|n| n.id).collect::<Vec<_>>());
        for table in ["documents", "documents_wanted"] {
            tx.execute(
                &format!("DELETE FROM {table} WHERE id NOT IN (SELECT value FROM json_each(?1))"),
                [&named],
            )?;
        }
    }
    for notice in notices {
        let id = notice.id.to_string();
        match notice.state {
            DocumentState::Retired => {
                tx.execute("DELETE FROM documents WHERE id = ?1", [&id])?;
                tx.execute("DELETE FROM documents_wanted WHERE id = ?1", [&id])?;
            }
            DocumentState::Published => {
                let same_content = tx.execute(
                    "UPDATE documents SET title_zh = ?2, title_en = ?3, version = ?4
                     WHERE id = ?1 AND content_hash = ?5",
                    params![
                        id,
                        notice.title_zh,
                        notice.title_en,
                        notice.version,
                        notice.content_hash
                    ],
                )? == 1;
                if same_content {
                    tx.execute("DELETE FROM documents_wanted WHERE id = ?1", [&id])?;
                } else {
                    tx.execute(
                        "INSERT INTO documents_wanted (id, notice) VALUES (?1, ?2)
                         ON CONFLICT (id) DO UPDATE SET notice = excluded.notice",
                        params![id, json_to_sql(notice)],
                    )?;
                }
            }
        }
    }
    Ok(())
}

impl Store {
    /// What a pull announced that the laptop has not downloaded yet.
    pub fn documents_to_fetch(&self) -> Result<Vec<DocumentNotice>, StoreError> {
        let mut statement = self
            .conn
            .prepare_cached("SELECT notice FROM documents_wanted ORDER BY id")?;
        let mut rows = statement.query([])?;
        let mut wanted = Vec::new();
        while let Some(row) = rows.next()? {
            wanted.push(json_from_sql(&row.get::<_, String>(0)?)?);
        }
        Ok(wanted)
    }

    /// Keeps a downloaded document, in one transaction, if it is still the
    /// one wanted (a pull since may have retired or replaced it: then this
    /// content is dropped and true is not returned). Content that does not
    /// hash to the notice's hash is refused and nothing changes.
    pub fn keep_document(
        &mut self,
        notice: &DocumentNotice,
        content: &[u8],
    ) -> Result<bool, StoreError> {
        let actual = sha256_hex(content);
        if actual != notice.content_hash {
            return Err(StoreError::Corrupt(format!(
                "document {}: the content hashes to {actual}, not {}",
                notice.id, notice.content_hash
            )));
        }
        let tx = self.conn.transaction()?;
        let still_wanted = tx
            .query_row(
                "SELECT notice FROM documents_wanted WHERE id = ?1",
                [notice.id.to_string()],
                |row| row.get::<_, String>(0),
            )
            .optional()?
            .map(|text| json_from_sql::<DocumentNotice>(&text))
            .transpose()?
            .is_some_and(|wanted| wanted == *notice);
        if still_wanted {
            tx.execute(
                "INSERT INTO documents (id, title_zh, title_en, kind, version, content_hash, size,
                     content)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (id) DO UPDATE SET title_zh = excluded.title_zh,
                     title_en = excluded.title_en, kind = excluded.kind,
                     version = excluded.version, content_hash = excluded.content_hash,
                     size = excluded.size, content = excluded.content",
                params![
                    notice.id.to_string(),
                    notice.title_zh,
                    notice.title_en,
                    enum_to_sql(&notice.kind),
                    notice.version,
                    notice.content_hash,
                    content.len() as i64,
                    content
                ],
            )?;
            tx.execute(
                "DELETE FROM documents_wanted WHERE id = ?1",
                [notice.id.to_string()],
            )?;
        }
        tx.commit()?;
        Ok(still_wanted)
    }

    /// The documents the laptop can open whose title (either language)
    /// contains `query` (all of them for an empty one), by title.
    pub fn documents(&self, query: &str) -> Result<Vec<DocumentSummary>, StoreError> {
        let pattern = format!(
            "%{}%",
            query
                .trim()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let mut statement = self.conn.prepare_cached(&format!(
            "SELECT {SUMMARY_COLUMNS} FROM documents
             WHERE title_zh LIKE ?1 ESCAPE '\\' OR title_en LIKE ?1 ESCAPE '\\'
             ORDER BY CASE title_zh WHEN '' THEN title_en ELSE title_zh END, id"
        ))?;
        let mut rows = statement.query([pattern])?;
        let mut found = Vec::new();
        while let Some(row) = rows.next()? {
            found.push(read_summary(row)?);
        }
        Ok(found)
    }

    /// A document and its content, to open it.
    pub fn document(&self, id: DocumentId) -> Result<(DocumentSummary, Vec<u8>), StoreError> {
        self.conn
            .query_row(
                &format!("SELECT {SUMMARY_COLUMNS}, content FROM documents WHERE id = ?1"),
                [id.to_string()],
                |row| Ok((read_summary(row), row.get::<_, Vec<u8>>(6)?)),
            )
            .optional()?
            .map(|(summary, content)| Ok((summary?, content)))
            .unwrap_or_else(|| Err(StoreError::NotFound(format!("document {id}"))))
    }
}
