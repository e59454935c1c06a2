//! A dispatcher's log-in and log-out: the session cookie.

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::{Extension, Json};

use super::extract::{bearer, session_cookie, ClientAddr, JsonBody};
use super::{HttpOptions, SESSION_COOKIE};
use crate::dto::{LoginRequest, LoginResponse};
use crate::error::{HqError, HqResult};
use crate::service::{Hq, SESSION_TTL_HOURS};

pub(super) async fn login(
    State(hq): State<Hq>,
    Extension(options): Extension<HttpOptions>,
    ClientAddr(client): ClientAddr,
    JsonBody(request): JsonBody<LoginRequest>,
) -> HqResult<impl IntoResponse> {
    let session = hq.login(request, client).await?;
    let cookie = cookie(&session.token, SESSION_TTL_HOURS * 3600, &options)?;
    Ok((
        [(SET_COOKIE, cookie)],
        Json(LoginResponse {
            username: session.username,
            expires_at: session.expires_at,
        }),
    ))
}

/// Ends the session and clears the cookie; harmless when not logged in.
pub(super) async fn logout(
    State(hq): State<Hq>,
    Extension(options): Extension<HttpOptions>,
    headers: HeaderMap,
) -> HqResult<impl IntoResponse> {
    if let Some(token) = session_cookie(&headers).or_else(|| bearer(&headers)) {
        hq.logout(token).await?;
    }
    Ok((
        [(SET_COOKIE, cookie("", 0, &options)?)],
        StatusCode::NO_CONTENT,
    ))
}

/// HttpOnly (no script reads it), SameSite=Strict (no other site sends
/// it), and Secure whenever browsers reach HQ over https, directly or
/// through a reverse proxy, so it never travels in the clear.
fn cookie(token: &str, max_age: i64, options: &HttpOptions) -> HqResult<HeaderValue> {
    let secure = if options.secure_cookie {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}"
    ))
    .map_err(HqError::storage)
}
