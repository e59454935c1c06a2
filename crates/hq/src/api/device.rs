//! The app's sync client: enroll, pull, push, blobs. Every route needs the
//! protocol header first, then the device's token.

use axum::body::Body;
use axum::extract::multipart::{MultipartError, MultipartRejection};
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use doorstep_core::wire::{
    BlobQuery, EnrollRequest, MissingBlobs, PushRequest, StoredBlobs, MAX_BLOB_BATCH_BYTES,
    MAX_BLOB_BYTES,
};

use super::extract::{read_body, ClientAddr, Device, JsonBody, PathParam, Protocol, QueryParam};
use crate::dto::PullQuery;
use crate::error::{HqError, HqResult};
use crate::service::Hq;

pub(super) async fn enroll(
    _: Protocol,
    State(hq): State<Hq>,
    ClientAddr(client): ClientAddr,
    JsonBody(request): JsonBody<EnrollRequest>,
) -> HqResult<impl IntoResponse> {
    Ok((StatusCode::CREATED, Json(hq.enroll(request, client).await?)))
}

pub(super) async fn pull(
    _: Protocol,
    State(hq): State<Hq>,
    Device(device): Device,
    QueryParam(query): QueryParam<PullQuery>,
) -> HqResult<impl IntoResponse> {
    Ok(Json(
        hq.pull(&device, query.since.as_deref(), query.price_list_version)
            .await?,
    ))
}

pub(super) async fn push(
    _: Protocol,
    State(hq): State<Hq>,
    Device(device): Device,
    JsonBody(request): JsonBody<PushRequest>,
) -> HqResult<impl IntoResponse> {
    Ok(Json(hq.push(&device, request).await?))
}

pub(super) async fn put_blob(
    _: Protocol,
    State(hq): State<Hq>,
    Device(_): Device,
    PathParam(hash): PathParam<String>,
    headers: HeaderMap,
    body: Body,
) -> HqResult<impl IntoResponse> {
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BLOB_BYTES as u64) {
        return Err(HqError::TooLarge(format!(
            "a blob is at most {MAX_BLOB_BYTES} bytes"
        )));
    }
    let bytes = read_body(body, MAX_BLOB_BYTES).await?;
    let stored = hq
        .put_blobs(vec![(hash, bytes)])
        .await?
        .pop()
        .ok_or_else(|| HqError::storage("the blob was not stored"))?;
    let status = if stored.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(stored)))
}

/// Many blobs in one request and one transaction: a multipart body with one
/// part per blob, each part named by the blob's hash.
pub(super) async fn put_blobs(
    _: Protocol,
    State(hq): State<Hq>,
    Device(_): Device,
    multipart: Result<Multipart, MultipartRejection>,
) -> HqResult<impl IntoResponse> {
    let mut multipart = multipart
        .map_err(|rejection| HqError::bad_request("content_type", rejection.body_text()))?;
    let mut blobs = Vec::new();
    // The body streams in part by part; each blob is held whole (its hash
    // is checked before it is stored, and the batch commits in one
    // transaction), so a part is refused as soon as it outgrows a blob.
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        let hash = field.name().unwrap_or_default().to_string();
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
            if bytes.len() + chunk.len() > MAX_BLOB_BYTES {
                return Err(HqError::TooLarge(format!(
                    "blob {hash}: a blob is at most {MAX_BLOB_BYTES} bytes"
                )));
            }
            bytes.extend_from_slice(&chunk);
        }
        blobs.push((hash, bytes));
    }
    if blobs.is_empty() {
        return Err(HqError::invalid("no_blobs", "send at least one part"));
    }
    let stored = hq.put_blobs(blobs).await?;
    Ok((StatusCode::CREATED, Json(StoredBlobs { stored })))
}

fn multipart_error(error: MultipartError) -> HqError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        HqError::TooLarge(format!(
            "the body is larger than {MAX_BLOB_BATCH_BYTES} bytes"
        ))
    } else {
        // Also what a connection cut mid-upload looks like from here.
        HqError::bad_request("bad_body", error.body_text())
    }
}

pub(super) async fn missing_blobs(
    _: Protocol,
    State(hq): State<Hq>,
    Device(_): Device,
    JsonBody(query): JsonBody<BlobQuery>,
) -> HqResult<impl IntoResponse> {
    Ok(Json(MissingBlobs {
        missing: hq.missing_blobs(&query.hashes).await?,
    }))
}

pub(super) async fn head_blob(
    _: Protocol,
    State(hq): State<Hq>,
    Device(_): Device,
    PathParam(hash): PathParam<String>,
) -> HqResult<StatusCode> {
    Ok(if hq.missing_blobs(&[hash]).await?.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    })
}
