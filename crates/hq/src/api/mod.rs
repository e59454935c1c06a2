//! The HTTP surface: `router(state)` and thin handlers, split by audience:
//! `device` (the app's sync client), `auth` (dispatcher log-in), `dispatcher`
//! (the console), `account` (dispatcher accounts), `import` (CSV). Each handler parses (with the extractors in
//! `extract`, which turn every rejection into a JSON `{code, message}`),
//! calls one `Hq` function, and maps the result. Bodies are `crate::dto`.

mod account;
mod auth;
mod device;
mod dispatcher;
mod documents;
mod extract;
mod import;

use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::header::{
    CONTENT_DISPOSITION, CONTENT_SECURITY_POLICY, CONTENT_TYPE, HOST, ORIGIN,
    X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Extension, Json, Router};
use doorstep_core::wire::{MAX_BLOB_BATCH_BYTES, MAX_JSON_BYTES, PROTOCOL_VERSION};
use tower::limit::GlobalConcurrencyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::error::HqError;
use crate::service::Hq;

pub use extract::{ClientAddr, Device, Dispatcher, JsonBody, PathParam, Protocol, QueryParam};

/// The session cookie a dispatcher's browser carries.
pub const SESSION_COOKIE: &str = "doorstep_session";

/// Log-in and enrollment bodies are a name and a secret: a few KiB is plenty,
/// and nobody unauthenticated gets HQ to read more.
pub const SMALL_BODY_BYTES: usize = 4 * 1024;

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The console's pages: scripts, styles and images from HQ only, no
/// plug-ins, and never inside another site's frame (click-jacking).
const CONSOLE_CSP: &str =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
form-action 'self'; frame-ancestors 'none'";
/// Every other answer is data, never a page to render or frame.
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

pub type AppState = Hq;

/// How HQ is reached, for what HTTP itself must do about it.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Browsers reach HQ over https (HQ serves TLS, or a proxy in front of
    /// it does): the session cookie is `Secure`.
    pub secure_cookie: bool,
    /// A reverse proxy in front appends each client's address to
    /// `X-Forwarded-For`; rate limits go by that address.
    pub behind_proxy: bool,
    /// The longest a request may take; then HQ answers 503 `timeout`.
    pub request_timeout: Duration,
    /// Requests handled at once; more wait their turn (within the timeout).
    pub max_requests: usize,
}

impl Default for HttpOptions {
    fn default() -> HttpOptions {
        HttpOptions {
            secure_cookie: false,
            behind_proxy: false,
            // A sync request carries at most 2 MiB: a minute allows a slow link.
            request_timeout: Duration::from_secs(60),
            max_requests: 512,
        }
    }
}

/// The whole server with the default options. Tests call this and drive it
/// with `oneshot`.
pub fn router(state: Hq) -> Router {
    router_with(state, HttpOptions::default())
}

/// The whole server: the routes, then the limits, headers and request logs
/// every route gets, as layers (the last added runs first).
pub fn router_with(state: Hq, options: HttpOptions) -> Router {
    let timeout = options.request_timeout;
    Router::new()
        .route("/health", get(health))
        .route("/openapi.json", get(openapi))
        // Device endpoints (the app's sync client).
        .route(
            "/api/v1/enroll",
            post(device::enroll).layer(DefaultBodyLimit::max(SMALL_BODY_BYTES)),
        )
        .route("/api/v1/sync/jobs", get(device::pull))
        .route("/api/v1/sync/push", post(device::push))
        .route(
            "/api/v1/blobs",
            post(device::put_blobs).layer(DefaultBodyLimit::max(MAX_BLOB_BATCH_BYTES)),
        )
        .route(
            "/api/v1/sync/documents/{id}",
            // A document is saved by the app, never shown as a page of HQ's.
            get(documents::device_content).layer(SetResponseHeaderLayer::overriding(
                CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment"),
            )),
        )
        .route("/api/v1/blobs/missing", post(device::missing_blobs))
        .route(
            "/api/v1/blobs/{hash}",
            put(device::put_blob)
                .head(device::head_blob)
                // A customer's photo or signature is saved, never shown as a
                // page of HQ's own.
                .get(dispatcher::get_blob)
                .layer(SetResponseHeaderLayer::overriding(
                    CONTENT_DISPOSITION,
                    HeaderValue::from_static("attachment"),
                )),
        )
        // Dispatcher endpoints (the console).
        .route(
            "/api/v1/login",
            post(auth::login).layer(DefaultBodyLimit::max(SMALL_BODY_BYTES)),
        )
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
        .route("/api/v1/calls", get(dispatcher::calls))
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
        .route(
            "/api/v1/jobs/{id}/complaints",
            post(dispatcher::take_complaint),
        )
        .route("/api/v1/complaints", get(dispatcher::complaints))
        .route(
            "/api/v1/complaints/{id}/callback",
            post(dispatcher::call_back_complaint),
        )
        .route("/api/v1/jobs/{id}/revisit", post(dispatcher::revisit))
        .route("/api/v1/customers", get(dispatcher::customers))
        .route("/api/v1/customers/{id}", get(dispatcher::customer_detail))
        .route(
            "/api/v1/customers/{id}/vip-grade",
            post(dispatcher::set_vip_grade),
        )
        .route("/api/v1/board", get(dispatcher::board))
        .route(
            "/api/v1/support-requests",
            get(dispatcher::support_requests),
        )
        .route("/api/v1/leads", get(dispatcher::leads))
        .route("/api/v1/leads/export", get(dispatcher::leads_export))
        .route(
            "/api/v1/documents",
            get(documents::list).post(documents::publish),
        )
        .route(
            "/api/v1/documents/{id}/versions",
            post(documents::publish_version),
        )
        .route("/api/v1/documents/{id}/retire", post(documents::retire))
        .route("/api/v1/settings", get(dispatcher::settings))
        .route(
            "/api/v1/settings/repair-targets",
            post(dispatcher::set_repair_target),
        )
        .route(
            "/api/v1/price-list",
            get(dispatcher::price_list).post(dispatcher::add_price_item),
        )
        .route(
            "/api/v1/price-list/{code}",
            put(dispatcher::change_price_item),
        )
        .route(
            "/api/v1/price-list/{code}/retire",
            post(dispatcher::retire_price_item),
        )
        .route("/api/v1/conflicts", get(dispatcher::conflicts))
        .route("/api/v1/conflicts/{id}/resolve", post(dispatcher::resolve))
        // The dispatcher console (static files) at /console/.
        .merge(
            crate::console::routes().layer(SetResponseHeaderLayer::overriding(
                CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CONSOLE_CSP),
            )),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(reject_other_protocol))
        .layer(middleware::from_fn(same_origin_changes))
        .layer(DefaultBodyLimit::max(MAX_JSON_BYTES))
        .layer(SetResponseHeaderLayer::if_not_present(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(API_CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(GlobalConcurrencyLimitLayer::new(
            options.max_requests.max(1),
        ))
        .layer(middleware::from_fn(move |request: Request, next: Next| {
            time_limit(timeout, request, next)
        }))
        .layer(PropagateRequestIdLayer::new(X_REQUEST_ID))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_request(())
                .on_response(log_response)
                .on_failure(()),
        )
        .layer(SetRequestIdLayer::new(X_REQUEST_ID, MakeRequestUuid))
        .layer(Extension(options))
        .with_state(state)
}

/// One span per request: its id (the caller's `x-request-id`, or a new
/// UUID), method and path. Never the query string (it can carry a cursor
/// or a date, and in a mistaken URL a secret), headers or body.
fn request_span(request: &Request) -> Span {
    let id = request
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|id| id.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        id = %id,
        method = %request.method(),
        path = %request.uri().path()
    )
}

fn log_response(response: &Response, latency: Duration, _: &Span) {
    tracing::info!(
        status = response.status().as_u16(),
        latency_ms = latency.as_millis() as u64,
        "answered"
    );
}

/// A request that takes longer than HQ gives one is answered 503, so a
/// client that trickles its body cannot hold a slot for ever.
async fn time_limit(limit: Duration, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => HqError::TimedOut(limit.as_secs()).into_response(),
    }
}

/// A browser sends `Origin` with every request that changes something; one
/// from another site (a page trying to act with the dispatcher's cookie) is
/// refused with 403. Requests without `Origin` come from programs (the
/// app, scripts), which a web page cannot make carry the cookie.
async fn same_origin_changes(request: Request, next: Next) -> Response {
    if !request.method().is_safe() {
        if let Some(origin) = request.headers().get(ORIGIN) {
            let host = request
                .headers()
                .get(HOST)
                .and_then(|host| host.to_str().ok())
                .or_else(|| request.uri().authority().map(|a| a.as_str()));
            let origin = origin.to_str().unwrap_or("");
            if !same_origin(origin, host) {
                return HqError::forbidden(
                    "cross_origin",
                    format!(
                        "HQ refuses a change sent from another site ({origin}); use HQ's own console"
                    ),
                )
                .into_response();
            }
        }
    }
    next.run(request).await
}

/// Whether `origin` (`scheme://host[:port]`) names the host the request
/// was sent to; a default port may be written or left out on either side.
/// `null` (a sandboxed frame, a redirect across sites) never matches.
fn same_origin(origin: &str, host: Option<&str>) -> bool {
    let (Some((scheme, authority)), Some(host)) = (origin.split_once("://"), host) else {
        return false;
    };
    let default_port = match scheme {
        "https" => ":443",
        "http" => ":80",
        _ => return false,
    };
    let bare = |value: &str| {
        let value = value.to_ascii_lowercase();
        value
            .strip_suffix(default_port)
            .map(str::to_string)
            .unwrap_or(value)
    };
    bare(authority) == bare(host)
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
