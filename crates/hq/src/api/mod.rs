//! The HTTP surface: `router(state)` and thin handlers, split by audience:
//! `device` (the app's sync client), `auth` (dispatcher log-in), `dispatcher`
//! (the console), `account` (dispatcher accounts), `import` (CSV). Each handler parses (with the extractors in
//! `extract`, which turn every rejection into a JSON `{code, message}`),
//! calls one `Hq` function, and maps the result. Bodies are `crate::dto`.

mod account;
mod auth;
mod device;
mod dispatcher;
mod extract;
mod import;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use doorstep_core::wire::{MAX_BLOB_BATCH_BYTES, MAX_JSON_BYTES, PROTOCOL_VERSION};

use crate::error::HqError;
use crate::service::Hq;

pub use extract::{Device, Dispatcher, JsonBody, PathParam, Protocol, QueryParam};

/// The session cookie a dispatcher's browser carries.
pub const SESSION_COOKIE: &str = "doorstep_session";

pub type AppState = Hq;

/// The whole server. Tests call this and drive it with `oneshot`.
pub fn router(state: Hq) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/openapi.json", get(openapi))
        // Device endpoints (the app's sync client).
        .route("/api/v1/enroll", post(device::enroll))
        .route("/api/v1/sync/jobs", get(device::pull))
        .route("/api/v1/sync/push", post(device::push))
        .route(
            "/api/v1/blobs",
            post(device::put_blobs).layer(DefaultBodyLimit::max(MAX_BLOB_BATCH_BYTES)),
        )
        .route("/api/v1/blobs/missing", post(device::missing_blobs))
        .route(
            "/api/v1/blobs/{hash}",
            put(device::put_blob)
                .head(device::head_blob)
                .get(dispatcher::get_blob),
        )
        // Dispatcher endpoints (the console).
        .route("/api/v1/login", post(auth::login))
        .route("/api/v1/logout", post(auth::logout))
        .route(
            "/api/v1/enrollment-codes",
            get(dispatcher::outstanding_codes).post(dispatcher::issue_code),
        )
        .route(
            "/api/v1/enrollment-codes/{id}/revoke",
            post(dispatcher::revoke_code),
        )
        .route("/api/v1/dispatchers", get(account::dispatchers))
        .route(
            "/api/v1/dispatchers/{username}/disable",
            post(account::disable),
        )
        .route(
            "/api/v1/dispatchers/{username}/enable",
            post(account::enable),
        )
        .route("/api/v1/account/password", post(account::change_password))
        .route("/api/v1/audit", get(dispatcher::audit))
        .route("/api/v1/devices", get(dispatcher::devices))
        .route("/api/v1/devices/{id}/revoke", post(dispatcher::revoke))
        .route(
            "/api/v1/technicians",
            get(dispatcher::technicians).post(dispatcher::create_technician),
        )
        .route("/api/v1/jobs", post(dispatcher::create_job))
        .route("/api/v1/jobs/import", post(import::import_jobs))
        .route("/api/v1/jobs/{id}", get(dispatcher::job_detail))
        .route("/api/v1/jobs/{id}/assign", post(dispatcher::assign))
        .route("/api/v1/jobs/{id}/cancel", post(dispatcher::cancel))
        .route("/api/v1/jobs/{id}/reschedule", post(dispatcher::reschedule))
        .route("/api/v1/board", get(dispatcher::board))
        .route("/api/v1/conflicts", get(dispatcher::conflicts))
        .route("/api/v1/conflicts/{id}/resolve", post(dispatcher::resolve))
        // The dispatcher console (static files) at /console/.
        .merge(crate::console::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(reject_other_protocol))
        .layer(DefaultBodyLimit::max(MAX_JSON_BYTES))
        .with_state(state)
}

async fn not_found() -> HqError {
    HqError::NotFound("route".into())
}

async fn method_not_allowed() -> HqError {
    HqError::MethodNotAllowed
}

/// Any request that names a protocol HQ does not speak gets 426, whatever
/// the route, before authentication: an old app gets a clear answer.
async fn reject_other_protocol(request: Request, next: Next) -> Response {
    match extract::protocol_of(request.headers()) {
        Some(Ok(PROTOCOL_VERSION)) | None => next.run(request).await,
        other => extract::protocol_error(other).into_response(),
    }
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok", "protocol": PROTOCOL_VERSION}))
}

async fn openapi() -> Response {
    (
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        crate::openapi::document(),
    )
        .into_response()
}
