//! Extractors whose rejections are HQ's JSON errors: the protocol header,
//! a device's token, a dispatcher's session, JSON bodies, paths, queries and
//! raw bodies.

use axum::body::Body;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use doorstep_core::wire::{MAX_JSON_BYTES, PROTOCOL_HEADER, PROTOCOL_VERSION};
use serde::de::DeserializeOwned;

use super::{HttpOptions, SESSION_COOKIE, X_FORWARDED_FOR};
use crate::error::{HqError, HqResult};
use crate::records::{DeviceAuth, DispatcherSession};
use crate::service::Hq;

pub(super) fn protocol_of(headers: &HeaderMap) -> Option<Result<u32, ()>> {
    headers.get(PROTOCOL_HEADER).map(|v| {
        v.to_str()
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or(())
    })
}

pub(super) fn protocol_error(got: Option<Result<u32, ()>>) -> HqError {
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

pub(super) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))?;
    Some(token.trim()).filter(|t| !t.is_empty() && t.len() <= 256)
}

pub(super) fn session_cookie(headers: &HeaderMap) -> Option<&str> {
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

/// The client's address, for rate limits: the connection's peer or, when
/// HQ sits behind a reverse proxy (`HttpOptions::behind_proxy`), the address
/// the proxy appended last to `X-Forwarded-For` (earlier entries are the
/// client's own word). `None` when HQ was not told (the router served
/// without connection info).
pub struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = HqError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, HqError> {
        let behind_proxy = parts
            .extensions
            .get::<HttpOptions>()
            .is_some_and(|options| options.behind_proxy);
        let forwarded = || {
            let last = parts.headers.get_all(X_FORWARDED_FOR).iter().next_back()?;
            last.to_str().ok()?.rsplit(',').next()?.trim().parse().ok()
        };
        let peer = || {
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip())
        };
        Ok(ClientAddr(if behind_proxy {
            forwarded().or_else(peer)
        } else {
            peer()
        }))
    }
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
pub(super) async fn read_body(body: Body, max: usize) -> HqResult<Vec<u8>> {
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
