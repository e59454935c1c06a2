//! Jobs from a CSV file, imported for the dispatcher who sends it.

use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use doorstep_core::wire::MAX_BLOB_BYTES;

use super::extract::{read_body, Dispatcher};
use crate::error::{HqError, HqResult};
use crate::service::Hq;

pub(super) async fn import_jobs(
    State(hq): State<Hq>,
    Dispatcher(dispatcher): Dispatcher,
    body: Body,
) -> HqResult<impl IntoResponse> {
    let bytes = read_body(body, MAX_BLOB_BYTES).await?;
    let text = String::from_utf8(bytes)
        .map_err(|_| HqError::bad_request("bad_body", "the CSV must be UTF-8"))?;
    Ok((
        StatusCode::CREATED,
        Json(hq.by(&dispatcher).import_csv(&text).await?),
    ))
}
