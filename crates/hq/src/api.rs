//! The HTTP surface: `router(state)` and thin handlers. Each handler parses
//! (with extractors that turn every rejection into a JSON `{code, message}`),
//! calls one `Hq` function, and maps the result.

use axum::body::Body;
use axum::extract::multipart::{MultipartError, MultipartRejection};
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{
    DefaultBodyLimit, FromRequest, FromRequestParts, Multipart, Path, Query, Request, State,
};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::NaiveDate;
use doorstep_core::wire::{
    BlobQuery, ConflictId, DeviceId, EnrollRequest, EnrollmentCodeRequest, MissingBlobs,
    PushRequest, StoredBlobs, TechnicianId, MAX_BLOB_BATCH_BYTES, MAX_BLOB_BYTES, MAX_JSON_BYTES,
    PROTOCOL_HEADER, PROTOCOL_VERSION,
};
use doorstep_core::{JobId, Timestamp};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::{HqError, HqResult};
use crate::service::{Hq, LoginRequest, NewJob};
use crate::storage::{DeviceAuth, DispatcherSession, Resolution};

/// The session cookie a dispatcher's browser carries.
pub const SESSION_COOKIE: &str = "doorstep_session";

pub type AppState = Hq;

/// The whole server. Tests call this and drive it with `oneshot`.
pub fn router(state: Hq) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/openapi.json", get(openapi))
        // Device endpoints (the app's sync client).
        .route("/api/v1/enroll", post(enroll))
        .route("/api/v1/sync/jobs", get(pull))
        .route("/api/v1/sync/push", post(push))
        .route(
            "/api/v1/blobs",
            post(put_blobs).layer(DefaultBodyLimit::max(MAX_BLOB_BATCH_BYTES)),
        )
        .route("/api/v1/blobs/missing", post(missing_blobs))
        .route(
            "/api/v1/blobs/{hash}",
            put(put_blob).head(head_blob).get(get_blob),
        )
        // Dispatcher endpoints (the console).
        .route("/api/v1/login", post(login))
        .route("/api/v1/logout", post(logout))
        .route("/api/v1/enrollment-codes", post(issue_code))
        .route("/api/v1/devices", get(devices))
        .route("/api/v1/devices/{id}/revoke", post(revoke))
        .route(
            "/api/v1/technicians",
            get(technicians).post(create_technician),
        )
        .route("/api/v1/jobs", post(create_job))
        .route("/api/v1/jobs/import", post(import_jobs))
        .route("/api/v1/jobs/{id}", get(job_detail))
        .route("/api/v1/jobs/{id}/assign", post(assign))
        .route("/api/v1/jobs/{id}/cancel", post(cancel))
        .route("/api/v1/jobs/{id}/reschedule", post(reschedule))
        .route("/api/v1/board", get(board))
        .route("/api/v1/conflicts", get(conflicts))
        .route("/api/v1/conflicts/{id}/resolve", post(resolve))
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

fn protocol_of(headers: &HeaderMap) -> Option<Result<u32, ()>> {
    headers.get(PROTOCOL_HEADER).map(|v| {
        v.to_str()
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or(())
    })
}

fn protocol_error(got: Option<Result<u32, ()>>) -> HqError {
    HqError::ProtocolVersion(match got {
        None => format!(
            "this HQ needs the {PROTOCOL_HEADER} header; update the app (HQ speaks version {PROTOCOL_VERSION})"
        ),
        Some(Ok(v)) if v > PROTOCOL_VERSION => format!(
            "the app speaks protocol {v}, this HQ only {PROTOCOL_VERSION}: HQ needs an update"
        ),
        Some(Ok(v)) => format!(
            "the app speaks protocol {v}, this HQ needs {PROTOCOL_VERSION}: update the app"
        ),
        Some(Err(())) => format!("{PROTOCOL_HEADER} must be a number"),
    })
}

/// Any request that names a protocol HQ does not speak gets 426, whatever
/// the route, before authentication: an old app gets a clear answer.
async fn reject_other_protocol(request: Request, next: Next) -> Response {
    match protocol_of(request.headers()) {
        Some(Ok(PROTOCOL_VERSION)) | None => next.run(request).await,
        other => protocol_error(other).into_response(),
    }
}

/// Device endpoints require the protocol header. Put it first among a
/// handler's extractors so the version is checked before the token.
pub struct Protocol;

impl<S: Send + Sync> FromRequestParts<S> for Protocol {
    type Rejection = HqError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, HqError> {
        match protocol_of(&parts.headers) {
            Some(Ok(PROTOCOL_VERSION)) => Ok(Protocol),
            other => Err(protocol_error(other)),
        }
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))?;
    Some(token.trim()).filter(|t| !t.is_empty() && t.len() <= 256)
}

fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|t| !t.is_empty() && t.len() <= 256)
}

/// An enrolled, not revoked device (from `Authorization: Bearer`).
pub struct Device(pub DeviceAuth);

impl FromRequestParts<Hq> for Device {
    type Rejection = HqError;
    async fn from_request_parts(parts: &mut Parts, hq: &Hq) -> Result<Self, HqError> {
        let token = bearer(&parts.headers).ok_or_else(|| {
            HqError::unauthorized("unauthorized", "send Authorization: Bearer DEVICE_TOKEN")
        })?;
        Ok(Device(hq.device(token).await?))
    }
}

/// A logged-in dispatcher (cookie `doorstep_session`, or a Bearer session token).
pub struct Dispatcher(pub DispatcherSession);

impl FromRequestParts<Hq> for Dispatcher {
    type Rejection = HqError;
    async fn from_request_parts(parts: &mut Parts, hq: &Hq) -> Result<Self, HqError> {
        let token = session_cookie(&parts.headers)
            .or_else(|| bearer(&parts.headers))
            .ok_or_else(|| HqError::unauthorized("unauthorized", "log in as a dispatcher"))?;
        Ok(Dispatcher(hq.dispatcher(token).await?))
    }
}

/// `Json<T>` whose rejections are JSON errors. A body is parsed with plain
/// serde_json; only one that fails is parsed again by `Json`, whose error
/// names the path to the bad field. (`Json` tracks that path for every
/// value, which costs a depot sync's push about twice the parsing.)
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = HqError;
    async fn from_request(request: Request, state: &S) -> Result<Self, HqError> {
        if !is_json(request.headers()) {
            return Err(HqError::bad_request(
                "content_type",
                "send Content-Type: application/json",
            ));
        }
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    HqError::TooLarge(format!("the body is larger than {MAX_JSON_BYTES} bytes"))
                } else {
                    HqError::bad_request("bad_body", rejection.body_text())
                }
            })?;
        match serde_json::from_slice(&bytes) {
            Ok(value) => Ok(JsonBody(value)),
            Err(_) => match Json::<T>::from_bytes(&bytes) {
                Ok(Json(value)) => Ok(JsonBody(value)),
                Err(rejection) => Err(json_rejection(rejection)),
            },
        }
    }
}

/// `application/json`, or a type that says it is JSON (`+json`).
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn json_rejection(rejection: JsonRejection) -> HqError {
    match &rejection {
        JsonRejection::JsonDataError(_) => HqError::invalid("bad_json", rejection.body_text()),
        JsonRejection::JsonSyntaxError(_) => {
            HqError::bad_request("bad_json", rejection.body_text())
        }
        _ => HqError::bad_request("bad_body", rejection.body_text()),
    }
}

/// `Path<T>` whose rejections are JSON errors (a bad UUID is a 400).
pub struct PathParam<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathParam<T> {
    type Rejection = HqError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, HqError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| PathParam(value))
            .map_err(|rejection: PathRejection| {
                HqError::bad_request("bad_path", rejection.body_text())
            })
    }
}

/// `Query<T>` whose rejections are JSON errors.
pub struct QueryParam<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParam<T> {
    type Rejection = HqError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, HqError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| QueryParam(value))
            .map_err(|rejection: QueryRejection| {
                HqError::bad_request("bad_query", rejection.body_text())
            })
    }
}

/// A raw body of at most `max` bytes; more is a 413 JSON error.
async fn read_body(body: Body, max: usize) -> HqResult<Vec<u8>> {
    match axum::body::to_bytes(body, max).await {
        Ok(bytes) => Ok(bytes.to_vec()),
        Err(err) => {
            let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&err);
            while let Some(current) = source {
                if current.is::<http_body_util::LengthLimitError>() {
                    return Err(HqError::TooLarge(format!(
                        "the body is larger than {max} bytes"
                    )));
                }
                source = current.source();
            }
            Err(HqError::bad_request(
                "bad_body",
                "the body could not be read",
            ))
        }
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

async fn enroll(
    _: Protocol,
    State(hq): State<Hq>,
    JsonBody(request): JsonBody<EnrollRequest>,
) -> HqResult<impl IntoResponse> {
    Ok((StatusCode::CREATED, Json(hq.enroll(request).await?)))
}

#[derive(Deserialize)]
struct PullQuery {
    since: Option<String>,
}

async fn pull(
    _: Protocol,
    State(hq): State<Hq>,
    Device(device): Device,
    QueryParam(query): QueryParam<PullQuery>,
) -> HqResult<impl IntoResponse> {
    Ok(Json(hq.pull(&device, query.since.as_deref()).await?))
}

async fn push(
    _: Protocol,
    State(hq): State<Hq>,
    Device(device): Device,
    JsonBody(request): JsonBody<PushRequest>,
) -> HqResult<impl IntoResponse> {
    Ok(Json(hq.push(&device, request).await?))
}

async fn put_blob(
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
async fn put_blobs(
    _: Protocol,
    State(hq): State<Hq>,
    Device(_): Device,
    multipart: Result<Multipart, MultipartRejection>,
) -> HqResult<impl IntoResponse> {
    let mut multipart = multipart
        .map_err(|rejection| HqError::bad_request("content_type", rejection.body_text()))?;
    let mut blobs = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        let hash = field.name().unwrap_or_default().to_string();
        let bytes = field.bytes().await.map_err(multipart_error)?;
        blobs.push((hash, bytes.to_vec()));
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

async fn missing_blobs(
    _: Protocol,
    State(hq): State<Hq>,
    Device(_): Device,
    JsonBody(query): JsonBody<BlobQuery>,
) -> HqResult<impl IntoResponse> {
    Ok(Json(MissingBlobs {
        missing: hq.missing_blobs(&query.hashes).await?,
    }))
}

async fn head_blob(
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

async fn get_blob(
    State(hq): State<Hq>,
    Dispatcher(_): Dispatcher,
    PathParam(hash): PathParam<String>,
) -> HqResult<impl IntoResponse> {
    let bytes = hq.blob(&hash).await?;
    Ok((
        [(CONTENT_TYPE, HeaderValue::from_static(sniff_mime(&bytes)))],
        bytes,
    ))
}

fn sniff_mime(bytes: &[u8]) -> &'static str {
    if bytes.starts_with(b"\x89PNG") {
        "image/png"
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        "image/jpeg"
    } else if bytes.starts_with(b"[") || bytes.starts_with(b"{") {
        "application/json"
    } else {
        "application/octet-stream"
    }
}

async fn login(
    State(hq): State<Hq>,
    JsonBody(request): JsonBody<LoginRequest>,
) -> HqResult<impl IntoResponse> {
    let session = hq.login(request).await?;
    let cookie = format!(
        "{SESSION_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        session.token,
        crate::service::SESSION_TTL_HOURS * 3600
    );
    let cookie = HeaderValue::from_str(&cookie).map_err(HqError::storage)?;
    Ok(([(SET_COOKIE, cookie)], Json(session)))
}

/// Ends the session and clears the cookie; harmless when not logged in.
async fn logout(State(hq): State<Hq>, headers: HeaderMap) -> HqResult<impl IntoResponse> {
    if let Some(token) = session_cookie(&headers).or_else(|| bearer(&headers)) {
        hq.logout(token).await?;
    }
    let cleared =
        HeaderValue::from_static("doorstep_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    Ok(([(SET_COOKIE, cleared)], StatusCode::NO_CONTENT))
}

async fn issue_code(
    State(hq): State<Hq>,
    Dispatcher(_): Dispatcher,
    JsonBody(request): JsonBody<EnrollmentCodeRequest>,
) -> HqResult<impl IntoResponse> {
    Ok((
        StatusCode::CREATED,
        Json(hq.issue_enrollment_code(request.technician_id).await?),
    ))
}

async fn devices(State(hq): State<Hq>, Dispatcher(_): Dispatcher) -> HqResult<impl IntoResponse> {
    Ok(Json(hq.storage.devices().await?))
}

async fn revoke(
    State(hq): State<Hq>,
    Dispatcher(_): Dispatcher,
    PathParam(id): PathParam<DeviceId>,
) -> HqResult<impl IntoResponse> {
    Ok(Json(hq.revoke_device(id).await?))
}

async fn technicians(
    State(hq): State<Hq>,
    Dispatcher(_): Dispatcher,
) -> HqResult<impl IntoResponse> {
    Ok(Json(hq.storage.technicians().await?))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct NewTechnician {
    name: String,
}

async fn create_technician(
    State(hq): State<Hq>,
    Dispatcher(_): Dispatcher,
    JsonBody(request): JsonBody<NewTechnician>,
) -> HqResult<impl IntoResponse> {
    Ok((
        StatusCode::CREATED,
        Json(hq.create_technician(&request.name).await?),
    ))
}

async fn create_job(
    State(hq): State<Hq>,
    Dispatcher(_): Dispatcher,
    JsonBody(request): JsonBody<NewJob>,
) -> HqResult<impl IntoResponse> {
    Ok((StatusCode::CREATED, Json(hq.create_job(request).await?)))
}

async fn import_jobs(
    State(hq): State<Hq>,
    Dispatcher(_): Dispatcher,
    body: Body,
) -> HqResult<impl IntoResponse> {
    let bytes = read_body(body, MAX_BLOB_BYTES).await?;
    let text = String::from_utf8(bytes)
        .map_err(|_| HqError::bad_request("bad_body", "the CSV must be UTF-8"))?;
    Ok((StatusCode::CREATED, Json(hq.import_csv(&text).await?)))
}

async fn job_detail(
    State(hq): State<Hq>,
    Dispatcher(_): Dispatcher,
    PathParam(id): PathParam<JobId>,
) -> HqResult<impl IntoResponse> {
    Ok(Json(hq.job_detail(id).await?))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct AssignRequest {
    technician_id: TechnicianId,
}

async fn assign(
    State(hq): State<Hq>,
    Dispatcher(_): Dispatcher,
    PathParam(id): PathParam<JobId>,
    JsonBody(request): JsonBody<AssignRequest>,
) -> HqResult<impl IntoResponse> {
    Ok(Json(hq.assign(id, request.technician_id).await?))
}

async fn cancel(
    State(hq): State<Hq>,
    Dispatcher(_): Dispatcher,
    PathParam(id): PathParam<JobId>,
) -> HqResult<impl IntoResponse> {
    Ok(Json(hq.cancel(id).await?))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct RescheduleRequest {
    #[schema(value_type = String, format = DateTime)]
    window_start: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    window_end: Timestamp,
}

async fn reschedule(
    State(hq): State<Hq>,
    Dispatcher(_): Dispatcher,
    PathParam(id): PathParam<JobId>,
    JsonBody(request): JsonBody<RescheduleRequest>,
) -> HqResult<impl IntoResponse> {
    Ok(Json(
        hq.reschedule(id, request.window_start, request.window_end)
            .await?,
    ))
}

#[derive(Deserialize)]
struct BoardQuery {
    date: NaiveDate,
    #[serde(default)]
    utc_offset_minutes: i32,
}

async fn board(
    State(hq): State<Hq>,
    Dispatcher(_): Dispatcher,
    QueryParam(query): QueryParam<BoardQuery>,
) -> HqResult<impl IntoResponse> {
    Ok(Json(hq.board(query.date, query.utc_offset_minutes).await?))
}

#[derive(Deserialize)]
struct ConflictsQuery {
    #[serde(default)]
    all: bool,
}

async fn conflicts(
    State(hq): State<Hq>,
    Dispatcher(_): Dispatcher,
    QueryParam(query): QueryParam<ConflictsQuery>,
) -> HqResult<impl IntoResponse> {
    Ok(Json(hq.conflicts(!query.all).await?))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct ResolveRequest {
    resolution: Resolution,
    #[serde(default)]
    note: String,
}

async fn resolve(
    State(hq): State<Hq>,
    Dispatcher(dispatcher): Dispatcher,
    PathParam(id): PathParam<ConflictId>,
    JsonBody(request): JsonBody<ResolveRequest>,
) -> HqResult<impl IntoResponse> {
    Ok(Json(
        hq.resolve_conflict(id, request.resolution, &request.note, &dispatcher)
            .await?,
    ))
}
