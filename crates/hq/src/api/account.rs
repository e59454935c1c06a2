//! Dispatcher accounts: the list, disabling and enabling one, and changing
//! one's own password.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;

use super::extract::{bearer, session_cookie, Dispatcher, JsonBody, PathParam};
use crate::dto::ChangePasswordRequest;
use crate::error::{HqError, HqResult};
use crate::service::Hq;

pub(super) async fn dispatchers(
    State(hq): State<Hq>,
    Dispatcher(_): Dispatcher,
) -> HqResult<impl IntoResponse> {
    Ok(Json(hq.dispatchers().await?))
}

pub(super) async fn disable(
    State(hq): State<Hq>,
    Dispatcher(dispatcher): Dispatcher,
    PathParam(username): PathParam<String>,
) -> HqResult<impl IntoResponse> {
    Ok(Json(
        hq.by(&dispatcher).disable_dispatcher(&username).await?,
    ))
}

pub(super) async fn enable(
    State(hq): State<Hq>,
    Dispatcher(dispatcher): Dispatcher,
    PathParam(username): PathParam<String>,
) -> HqResult<impl IntoResponse> {
    Ok(Json(hq.by(&dispatcher).enable_dispatcher(&username).await?))
}

/// The session that asks keeps going; the dispatcher's others end. The
/// session is checked before the body is read, as on every console route.
pub(super) async fn change_password(
    State(hq): State<Hq>,
    Dispatcher(_): Dispatcher,
    headers: HeaderMap,
    JsonBody(request): JsonBody<ChangePasswordRequest>,
) -> HqResult<impl IntoResponse> {
    let token = session_cookie(&headers)
        .or_else(|| bearer(&headers))
        .ok_or_else(|| HqError::unauthorized("unauthorized", "log in as a dispatcher"))?;
    hq.change_own_password(token, &request.current_password, &request.new_password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
