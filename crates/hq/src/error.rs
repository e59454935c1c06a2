//! One error type for the whole server. Each variant knows its HTTP status and
//! its stable `code`; the body is always `doorstep_core::wire::ApiError`.

use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use doorstep_core::wire::{ApiError, RowError, SUPPORTED_PROTOCOLS};
use doorstep_core::JobId;

#[derive(Debug, thiserror::Error)]
pub enum HqError {
    /// 400: the request is malformed (bad JSON, bad query, bad id).
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// 422: well-formed but not acceptable.
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    /// 401: no or unknown credentials.
    #[error("{message}")]
    Unauthorized { code: &'static str, message: String },
    /// 403: known caller, not allowed.
    #[error("{message}")]
    Forbidden {
        code: &'static str,
        message: String,
        job_id: Option<JobId>,
    },
    /// 404.
    #[error("{0} not found")]
    NotFound(String),
    /// 409: the state on HQ does not allow it.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// 409: the device skipped outbox entries.
    #[error("sequence gap: expected seq {expected_seq}")]
    SequenceGap { expected_seq: i64 },
    /// 413.
    #[error("{0}")]
    TooLarge(String),
    /// 426.
    #[error("{0}")]
    ProtocolVersion(String),
    /// 422: rows of an import are wrong; nothing was imported.
    #[error("{} rows have errors; nothing was imported", .0.len())]
    ImportInvalid(Vec<RowError>),
    /// 405.
    #[error("method not allowed here")]
    MethodNotAllowed,
    /// 429: too many attempts (log-in, enrollment); sent with Retry-After.
    #[error("too many attempts; try again in {retry_after} s")]
    TooManyRequests { retry_after: u64 },
    /// 503: the request took longer than HQ gives one.
    #[error("HQ gave up on the request after {0} s; try again")]
    TimedOut(u64),
    /// 500: the database failed; never caused by input.
    #[error("storage: {0}")]
    Storage(String),
}

impl HqError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        HqError::BadRequest {
            code,
            message: message.into(),
        }
    }
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        HqError::Invalid {
            code,
            message: message.into(),
        }
    }
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        HqError::Unauthorized {
            code,
            message: message.into(),
        }
    }
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        HqError::Forbidden {
            code,
            message: message.into(),
            job_id: None,
        }
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        HqError::Conflict {
            code,
            message: message.into(),
        }
    }
    pub fn storage(err: impl std::fmt::Display) -> Self {
        HqError::Storage(err.to_string())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            HqError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            HqError::Invalid { .. } | HqError::ImportInvalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            HqError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            HqError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            HqError::Forbidden { .. } => StatusCode::FORBIDDEN,
            HqError::NotFound(_) => StatusCode::NOT_FOUND,
            HqError::Conflict { .. } | HqError::SequenceGap { .. } => StatusCode::CONFLICT,
            HqError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            HqError::ProtocolVersion(_) => StatusCode::UPGRADE_REQUIRED,
            HqError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            HqError::TimedOut(_) => StatusCode::SERVICE_UNAVAILABLE,
            HqError::Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            HqError::BadRequest { code, .. }
            | HqError::Invalid { code, .. }
            | HqError::Unauthorized { code, .. }
            | HqError::Forbidden { code, .. }
            | HqError::Conflict { code, .. } => code,
            HqError::NotFound(_) => "not_found",
            HqError::ImportInvalid(_) => "import_invalid",
            HqError::MethodNotAllowed => "method_not_allowed",
            HqError::SequenceGap { .. } => "sequence_gap",
            HqError::TooLarge(_) => "too_large",
            HqError::ProtocolVersion(_) => "protocol_version",
            HqError::TooManyRequests { .. } => "rate_limited",
            HqError::TimedOut(_) => "timeout",
            HqError::Storage(_) => "internal",
        }
    }

    pub fn body(&self) -> ApiError {
        ApiError {
            code: self.code().to_string(),
            message: match self {
                // Database details stay in the server log.
                HqError::Storage(_) => "HQ could not complete the request; try again".into(),
                other => other.to_string(),
            },
            supported: matches!(self, HqError::ProtocolVersion(_))
                .then(|| SUPPORTED_PROTOCOLS.to_vec()),
            expected_seq: match self {
                HqError::SequenceGap { expected_seq } => Some(*expected_seq),
                _ => None,
            },
            job_id: match self {
                HqError::Forbidden { job_id, .. } => *job_id,
                _ => None,
            },
            errors: match self {
                HqError::ImportInvalid(errors) => Some(errors.clone()),
                _ => None,
            },
        }
    }
}

impl IntoResponse for HqError {
    fn into_response(self) -> Response {
        if let HqError::Storage(detail) = &self {
            tracing::error!("storage error: {detail}");
        }
        let mut response = (self.status(), Json(self.body())).into_response();
        if let HqError::TooManyRequests { retry_after } = self {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(retry_after));
        }
        response
    }
}

impl From<rusqlite::Error> for HqError {
    fn from(err: rusqlite::Error) -> Self {
        HqError::storage(err)
    }
}

impl From<tokio_postgres::Error> for HqError {
    fn from(err: tokio_postgres::Error) -> Self {
        // The error's own text is only "db error"; the server's says what.
        match err.as_db_error() {
            Some(db) => HqError::storage(format!("{} ({})", db.message(), db.code().code())),
            None => HqError::storage(err),
        }
    }
}

impl From<deadpool_postgres::PoolError> for HqError {
    fn from(err: deadpool_postgres::PoolError) -> Self {
        HqError::storage(err)
    }
}

pub type HqResult<T> = Result<T, HqError>;
