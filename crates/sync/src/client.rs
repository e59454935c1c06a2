//! HQ's API over HTTP, one method per endpoint. Every request names the
//! protocol version; every refusal comes back as HQ's `{code, message}`.

use std::time::Duration;

use doorstep_core::wire::{
    ApiError, BlobQuery, DocumentId, EnrollRequest, EnrollResponse, MissingBlobs, PullResponse,
    PushRequest, PushResponse, StoredBlobs, PROTOCOL_HEADER, PROTOCOL_VERSION,
};
use reqwest::multipart::{Form, Part};
use reqwest::{RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;

use crate::{secure, SyncError};

#[derive(Debug, Clone)]
pub struct HqClient {
    base: String,
    http: reqwest::Client,
    token: Option<String>,
}

impl HqClient {
    /// A client for HQ at `base_url` (https, or http on loopback), trusting
    /// the certificates in `private_ca` (PEM) besides the public roots.
    pub fn new(
        base_url: &str,
        token: Option<String>,
        private_ca: Option<&str>,
    ) -> Result<HqClient, SyncError> {
        let base = secure::checked_base(base_url)?;
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120));
        if let Some(pem) = private_ca {
            for root in secure::private_roots(pem)? {
                builder = builder.add_root_certificate(root);
            }
        }
        let http = builder
            .build()
            .map_err(|e| SyncError::BadCaFile(e.to_string()))?;
        Ok(HqClient { base, http, token })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn request(&self, method: reqwest::Method, path: &str) -> RequestBuilder {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string());
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        request
    }

    async fn send<T: DeserializeOwned>(request: RequestBuilder) -> Result<T, SyncError> {
        let response = request.send().await.map_err(unreached)?;
        let status = response.status();
        if status.is_success() {
            return response
                .json()
                .await
                .map_err(|e| SyncError::Network(format!("reading HQ's answer: {e}")));
        }
        Err(refusal(status, response).await)
    }

    pub async fn enroll(&self, code: &str, device_name: &str) -> Result<EnrollResponse, SyncError> {
        Self::send(
            self.request(reqwest::Method::POST, "/api/v1/enroll")
                .json(&EnrollRequest {
                    code: code.trim().to_string(),
                    device_name: device_name.to_string(),
                }),
        )
        .await
    }

    /// HQ's dispatch since the cursor, and its price list unless it is the
    /// version the laptop holds (`price_list_held`).
    pub async fn pull(
        &self,
        since: Option<&str>,
        price_list_held: u32,
    ) -> Result<PullResponse, SyncError> {
        let mut request = self
            .request(reqwest::Method::GET, "/api/v1/sync/jobs")
            .query(&[("price_list_version", price_list_held)]);
        if let Some(cursor) = since {
            request = request.query(&[("since", cursor)]);
        }
        Self::send(request).await
    }

    pub async fn push(&self, batch: &PushRequest) -> Result<PushResponse, SyncError> {
        Self::send(
            self.request(reqwest::Method::POST, "/api/v1/sync/push")
                .json(batch),
        )
        .await
    }

    /// The hashes among `hashes` (at most `MAX_BLOB_QUERY`) HQ does not hold.
    pub async fn missing_blobs(&self, hashes: &[String]) -> Result<Vec<String>, SyncError> {
        let answer: MissingBlobs = Self::send(
            self.request(reqwest::Method::POST, "/api/v1/blobs/missing")
                .json(&BlobQuery {
                    hashes: hashes.to_vec(),
                }),
        )
        .await?;
        Ok(answer.missing)
    }

    /// Uploads blobs, each named by its SHA-256, in one request: HQ keeps
    /// all of them or none.
    pub async fn put_blobs(&self, blobs: Vec<(String, Vec<u8>)>) -> Result<StoredBlobs, SyncError> {
        let form = blobs.into_iter().fold(Form::new(), |form, (hash, bytes)| {
            form.part(hash.clone(), Part::bytes(bytes).file_name(hash))
        });
        Self::send(
            self.request(reqwest::Method::POST, "/api/v1/blobs")
                .multipart(form),
        )
        .await
    }
}

impl HqClient {
    /// A published document's content; None when HQ no longer serves it
    /// (retired since the pull that announced it: the next pull says so).
    pub async fn document(&self, id: DocumentId) -> Result<Option<Vec<u8>>, SyncError> {
        let response = self
            .request(
                reqwest::Method::GET,
                &format!("/api/v1/sync/documents/{id}"),
            )
            .send()
            .await
            .map_err(unreached)?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(refusal(status, response).await);
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| SyncError::Network(format!("reading a document: {e}")))?;
        Ok(Some(bytes.to_vec()))
    }
}

/// Why a request got no answer from HQ.
fn unreached(error: reqwest::Error) -> SyncError {
    if secure::is_certificate_error(&error) {
        SyncError::Certificate(with_causes(&error))
    } else {
        SyncError::Network(with_causes(&error))
    }
}

/// An error and what caused it, on one line (reqwest's own message omits
/// the cause, e.g. which certificate check failed).
fn with_causes(error: &(dyn std::error::Error + 'static)) -> String {
    std::iter::successors(Some(error), |&e| e.source())
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
}

const GATEWAY_FAILURES: [StatusCode; 3] = [
    StatusCode::BAD_GATEWAY,
    StatusCode::SERVICE_UNAVAILABLE,
    StatusCode::GATEWAY_TIMEOUT,
];

async fn refusal(status: StatusCode, response: reqwest::Response) -> SyncError {
    let body = response.text().await.unwrap_or_default();
    match serde_json::from_str::<ApiError>(&body) {
        Ok(error) if error.code == "protocol_version" => SyncError::Protocol {
            supported: error.supported.unwrap_or_default(),
        },
        // HQ got a truncated body: the connection broke under the request.
        Ok(error) if error.code == "bad_body" => {
            SyncError::Network(format!("request cut short: {}", error.message))
        }
        // A gateway in front of HQ that could not reach it.
        Err(_) if GATEWAY_FAILURES.contains(&status) => {
            SyncError::Network(format!("HQ answered {status}"))
        }
        // HQ, or whatever answers in its place, failed to handle the request.
        answer if status.is_server_error() => SyncError::HqFailed {
            status: status.as_u16(),
            detail: match answer {
                Ok(error) => error.message,
                Err(_) => body.chars().take(200).collect(),
            },
        },
        Ok(error) => SyncError::Refused {
            status: status.as_u16(),
            error: Box::new(error),
        },
        Err(_) => SyncError::Refused {
            status: status.as_u16(),
            error: Box::new(ApiError {
                code: "unexpected_answer".into(),
                message: format!("{status}: {}", body.chars().take(200).collect::<String>()),
                supported: None,
                expected_seq: None,
                job_id: None,
                errors: None,
            }),
        },
    }
}
