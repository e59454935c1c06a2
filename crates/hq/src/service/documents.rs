//! Technical documents (standard item 24): a dispatcher publishes a PDF or
//! an HTML page for every laptop, a new version of one, or retires one; a
//! device downloads what the pull announced. The content is checked here
//! (what it is, how large) and stored as a blob by its SHA-256.

use doorstep_core::signature::sha256_hex;
use doorstep_core::wire::{DocumentId, DocumentKind, DocumentState, MAX_DOCUMENT_BYTES};

use super::{check_text, Hq};
use crate::dto::DocumentTitles;
use crate::error::{HqError, HqResult};
use crate::records::{AuditAction, Document, DocumentUpload};

/// What the bytes are: a PDF (`%PDF-` first, as every PDF starts) or an
/// HTML page (UTF-8 text whose first tag is an HTML one). Anything else is
/// refused: the app would not know how to show it safely.
pub fn document_kind(bytes: &[u8]) -> HqResult<DocumentKind> {
    if bytes.starts_with(b"%PDF-") {
        return Ok(DocumentKind::Pdf);
    }
    let text = std::str::from_utf8(bytes).unwrap_or_default();
    let start = text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .chars()
        .take(16)
        .collect::<String>()
        .to_lowercase();
    const HTML_STARTS: [&str; 6] = ["<!doctype html", "<html", "<head", "<body", "<meta", "<!--"];
    if HTML_STARTS.iter().any(|tag| start.starts_with(tag)) {
        Ok(DocumentKind::Html)
    } else {
        Err(HqError::invalid(
            "document_type",
            "a document is a PDF (its bytes start with %PDF-) or an HTML page",
        ))
    }
}

/// The titles, trimmed: at least one, each short.
fn checked_titles(titles: &DocumentTitles) -> HqResult<(String, String)> {
    let zh = titles.title_zh.as_deref().unwrap_or_default().trim();
    let en = titles.title_en.as_deref().unwrap_or_default().trim();
    for (field, title) in [("title_zh", zh), ("title_en", en)] {
        check_text(field, title, doorstep_core::SHORT_TEXT_MAX, false)
            .map_err(|m| HqError::invalid("bad_title", m))?;
    }
    if zh.is_empty() && en.is_empty() {
        return Err(HqError::invalid(
            "title_required",
            "a document needs a title (title_zh, title_en or both)",
        ));
    }
    Ok((zh.to_string(), en.to_string()))
}

impl Hq {
    /// Publishes `bytes` as a new document, or as the next version of
    /// `replaces`. The blob is stored first (blobs are never deleted), then
    /// the document with its audit entry.
    pub async fn publish_document(
        &self,
        titles: &DocumentTitles,
        bytes: Vec<u8>,
        replaces: Option<DocumentId>,
    ) -> HqResult<Document> {
        if bytes.len() > MAX_DOCUMENT_BYTES {
            return Err(HqError::TooLarge(format!(
                "a document is at most {} MiB",
                MAX_DOCUMENT_BYTES / (1024 * 1024)
            )));
        }
        let (title_zh, title_en) = checked_titles(titles)?;
        let kind = document_kind(&bytes)?;
        let size = bytes.len() as u64;
        // Hashing megabytes is CPU work: keep it off the async workers.
        let (hash, bytes) = tokio::task::spawn_blocking(move || (sha256_hex(&bytes), bytes))
            .await
            .map_err(HqError::storage)?;
        self.storage
            .put_blobs(vec![(hash.clone(), bytes)], self.now())
            .await?;
        let upload = DocumentUpload {
            id: replaces.unwrap_or_default(),
            replaces: replaces.is_some(),
            title_zh,
            title_en,
            kind,
            content_hash: hash,
            size,
        };
        let title = if upload.title_zh.is_empty() {
            &upload.title_en
        } else {
            &upload.title_zh
        };
        let audit = self.audit_detail(
            AuditAction::PublishDocument,
            &format!("{} {title}", upload.id),
        );
        self.storage
            .publish_document(&upload, self.now(), &audit)
            .await
    }

    pub async fn retire_document(&self, id: DocumentId) -> HqResult<Document> {
        let audit = self.audit_detail(AuditAction::RetireDocument, &id.to_string());
        self.storage.retire_document(id, self.now(), &audit).await
    }

    pub async fn documents(&self) -> HqResult<Vec<Document>> {
        self.storage.documents().await
    }

    /// A published document's content, for a device: a retired or unknown
    /// one is not found (the device hears of the retirement at its pull).
    pub async fn document_content(&self, id: DocumentId) -> HqResult<(Document, Vec<u8>)> {
        let document = self
            .storage
            .document(id)
            .await?
            .filter(|d| d.state == DocumentState::Published)
            .ok_or_else(|| HqError::NotFound(format!("document {id}")))?;
        let bytes = self.blob(&document.content_hash).await?;
        Ok((document, bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The app shows a PDF in its viewer and HTML in a sandbox; anything
    /// else (a Word file, an image, an executable) must not reach it.
    #[test]
    fn only_a_pdf_or_an_html_page_is_a_document() {
        assert_eq!(document_kind(b"%PDF-1.7\n...").unwrap(), DocumentKind::Pdf);
        for page in [
            "<!DOCTYPE html><title>x</title>",
            "\u{feff}  <html lang=zh>",
            "\n<!-- export --><html>",
            "<HEAD><meta charset=utf-8>",
        ] {
            assert_eq!(
                document_kind(page.as_bytes()).unwrap(),
                DocumentKind::Html,
                "{page}"
            );
        }
        for other in [
            &b""[..],
            b"PK\x03\x04 a docx",
            b"\x89PNG\r\n",
            b"plain text <html>",
            b"<svg onload=alert(1)>",
            b"\xff\xfe<\x00h\x00t\x00",
        ] {
            let error = document_kind(other).unwrap_err();
            assert_eq!(error.code(), "document_type");
        }
    }

    #[test]
    fn a_document_needs_one_title_at_least() {
        let titles = |zh: &str, en: &str| DocumentTitles {
            title_zh: Some(zh.into()),
            title_en: Some(en.into()),
        };
        assert_eq!(
            checked_titles(&titles(" 机顶盒安装 ", "")).unwrap(),
            ("机顶盒安装".to_string(), String::new())
        );
        assert!(checked_titles(&titles("", "Modem guide")).is_ok());
        assert_eq!(
            checked_titles(&titles("  ", "")).unwrap_err().code(),
            "title_required"
        );
        assert_eq!(
            checked_titles(&titles(&"长".repeat(201), ""))
                .unwrap_err()
                .code(),
            "bad_title"
        );
    }
}
