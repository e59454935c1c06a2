//! Technical documents: the console publishes, lists and retires them (a
//! dispatcher's session); a device downloads one the pull announced.

use axum::body::Body;
use axum::extract::State;
use axum::http::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use doorstep_core::wire::{DocumentId, DocumentKind, MAX_DOCUMENT_BYTES};

use super::extract::{read_body, Device, Dispatcher, PathParam, Protocol, QueryParam};
use crate::dto::DocumentTitles;
use crate::error::{HqError, HqResult};
use crate::service::Hq;

/// The body is the content itself; a larger one is refused with a message
/// that says the limit.
async fn content(body: Body) -> HqResult<Vec<u8>> {
    read_body(body, MAX_DOCUMENT_BYTES)
        .await
        .map_err(|error| match error {
            HqError::TooLarge(_) => HqError::TooLarge(format!(
                "a document is at most {} MiB",
                MAX_DOCUMENT_BYTES / (1024 * 1024)
            )),
            other => other,
        })
}

pub(super) async fn publish(
    State(hq): State<Hq>,
    Dispatcher(dispatcher): Dispatcher,
    QueryParam(titles): QueryParam<DocumentTitles>,
    body: Body,
) -> HqResult<impl IntoResponse> {
    let bytes = content(body).await?;
    Ok((
        StatusCode::CREATED,
        Json(
            hq.by(&dispatcher)
                .publish_document(&titles, bytes, None)
                .await?,
        ),
    ))
}

pub(super) async fn publish_version(
    State(hq): State<Hq>,
    Dispatcher(dispatcher): Dispatcher,
    PathParam(id): PathParam<DocumentId>,
    QueryParam(titles): QueryParam<DocumentTitles>,
    body: Body,
) -> HqResult<impl IntoResponse> {
    let bytes = content(body).await?;
    Ok((
        StatusCode::CREATED,
        Json(
            hq.by(&dispatcher)
                .publish_document(&titles, bytes, Some(id))
                .await?,
        ),
    ))
}

pub(super) async fn list(
    State(hq): State<Hq>,
    Dispatcher(_): Dispatcher,
) -> HqResult<impl IntoResponse> {
    Ok(Json(hq.documents().await?))
}

pub(super) async fn retire(
    State(hq): State<Hq>,
    Dispatcher(dispatcher): Dispatcher,
    PathParam(id): PathParam<DocumentId>,
) -> HqResult<impl IntoResponse> {
    Ok(Json(hq.by(&dispatcher).retire_document(id).await?))
}

/// A document's bytes for a device, typed by kind. An HTML page gets a
/// sandboxing Content-Security-Policy besides the router's attachment and
/// nosniff headers, so even a browser pointed at this URL runs none of its
/// scripts.
pub(super) async fn device_content(
    _: Protocol,
    State(hq): State<Hq>,
    Device(_): Device,
    PathParam(id): PathParam<DocumentId>,
) -> HqResult<impl IntoResponse> {
    let (document, bytes) = hq.document_content(id).await?;
    let media_type = match document.kind {
        DocumentKind::Pdf => "application/pdf",
        DocumentKind::Html => "text/html; charset=utf-8",
    };
    Ok((
        [
            (CONTENT_TYPE, HeaderValue::from_static(media_type)),
            (CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox")),
        ],
        bytes,
    ))
}
