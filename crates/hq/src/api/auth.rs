//! A dispatcher's log-in and log-out: the session cookie.

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::Json;

use super::extract::{bearer, session_cookie, JsonBody};
use super::SESSION_COOKIE;
use crate::dto::LoginRequest;
use crate::error::{HqError, HqResult};
use crate::service::{Hq, SESSION_TTL_HOURS};

pub(super) async fn login(
    State(hq): State<Hq>,
    JsonBody(request): JsonBody<LoginRequest>,
) -> HqResult<impl IntoResponse> {
    let session = hq.login(request).await?;
    let cookie = format!(
        "{SESSION_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        session.token,
        SESSION_TTL_HOURS * 3600
    );
    let cookie = HeaderValue::from_str(&cookie).map_err(HqError::storage)?;
    Ok(([(SET_COOKIE, cookie)], Json(session)))
}

/// Ends the session and clears the cookie; harmless when not logged in.
pub(super) async fn logout(
    State(hq): State<Hq>,
    headers: HeaderMap,
) -> HqResult<impl IntoResponse> {
    if let Some(token) = session_cookie(&headers).or_else(|| bearer(&headers)) {
        hq.logout(token).await?;
    }
    let cleared =
        HeaderValue::from_static("doorstep_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    Ok(([(SET_COOKIE, cleared)], StatusCode::NO_CONTENT))
}
