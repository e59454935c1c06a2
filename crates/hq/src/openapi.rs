//! The OpenAPI document served at `GET /openapi.json`, built from one table
//! of routes so it cannot drift from `api::router` unnoticed: a test checks
//! that every route here answers something other than 404 in the router.
//! The shapes are the types in `doorstep_core::wire` and `crate::service`.

use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem, PathsBuilder};
use utoipa::openapi::{Info, OpenApiBuilder, Response};

/// (method, path, tag, summary, success status, description)
pub const ROUTES: &[(&str, &str, &str, &str, &str, &str)] = &[
    ("GET", "/health", "meta", "Liveness", "200", "`{status:\"ok\", protocol:1}`"),
    ("GET", "/openapi.json", "meta", "This document", "200", ""),
    ("POST", "/api/v1/enroll", "device", "Trade a one-time code for a device token", "201",
     "Header X-Doorstep-Protocol: 1. Body `{code, device_name}`. Returns `{device_id, token, technician:{id,name}}`. 401 `invalid_code` when unknown, used or expired."),
    ("GET", "/api/v1/sync/jobs", "device", "Pull the technician's jobs changed since a cursor", "200",
     "Query `since=CURSOR` (omit for everything). Returns `{cursor, jobs:[Job], removed:[job_id]}`; cancelled jobs come with status `cancelled`, reassigned-away ids in `removed`."),
    ("POST", "/api/v1/sync/push", "device", "Push outbox entries", "200",
     "Body `{device_id, entries:[{seq, op_id, job_id, kind, payload:Change, device_time}]}`. Returns `{applied_through_seq, receipts:[{job_id, server_time, content_hash}], conflicts:[{conflict_id, job_id, reason}]}`. 409 `sequence_gap` with `expected_seq`; 403 `forbidden_job` with `job_id`; 422 `kind_mismatch`, `bad_seq`, `duplicate_seq`."),
    ("PUT", "/api/v1/blobs/{hash}", "device", "Upload a blob named by its SHA-256", "201",
     "Raw body, at most 16 MiB (413 `too_large`). 201 new, 200 already held; 422 `hash_mismatch`; 400 `bad_hash`."),
    ("POST", "/api/v1/blobs/missing", "device", "Which of these blobs HQ lacks", "200",
     "Body `{hashes:[sha256 hex]}`, at most 10,000. Returns `{missing:[hash]}`, lower-cased. 400 `bad_hash`; 413 `too_large`."),
    ("POST", "/api/v1/blobs", "device", "Upload many blobs in one transaction", "201",
     "multipart/form-data, one part per blob, each part named by the blob's SHA-256; at most 64 MiB in all and 16 MiB per blob. Returns `{stored:[{hash, size, created}]}`. All or none: 422 `hash_mismatch` stores nothing; 400 `content_type`, `bad_body`, `bad_hash`; 413 `too_large`."),
    ("HEAD", "/api/v1/blobs/{hash}", "device", "Whether HQ holds a blob", "200", "200 held, 404 not held."),
    ("GET", "/api/v1/blobs/{hash}", "dispatcher", "Download a blob", "200", ""),
    ("POST", "/api/v1/login", "dispatcher", "Log in", "200",
     "Body `{username, password}`. Returns `{token, username, expires_at}` and sets cookie `doorstep_session`. 401 `bad_credentials`."),
    ("POST", "/api/v1/logout", "dispatcher", "Log out", "204",
     "Ends the session named by the cookie or Bearer token and clears the cookie."),
    ("POST", "/api/v1/enrollment-codes", "dispatcher", "Issue a one-time enrollment code", "201",
     "Body `{technician_id}`. Returns `{code, technician_id, expires_at}`."),
    ("GET", "/api/v1/devices", "dispatcher", "List devices", "200", ""),
    ("POST", "/api/v1/devices/{id}/revoke", "dispatcher", "Revoke a device", "200",
     "The device's token then gets 401 `device_revoked`."),
    ("GET", "/api/v1/technicians", "dispatcher", "List technicians", "200", ""),
    ("POST", "/api/v1/technicians", "dispatcher", "Create a technician", "201", "Body `{name}`."),
    ("POST", "/api/v1/jobs", "dispatcher", "Create a job", "201",
     "Body `{customer_name, phone, address, job_type, sub_case, fault_description, window_start, window_end, technician_id?, earlier_visits?}`."),
    ("POST", "/api/v1/jobs/import", "dispatcher", "Import jobs from CSV", "201",
     "text/csv with header customer_name,phone,address,job_type,sub_case,fault_description,window_start,window_end,technician. All rows or none: 422 `import_invalid` with `errors:[{row, message}]`."),
    ("GET", "/api/v1/jobs/{id}", "dispatcher", "A job with all technician records, timeline, receipt and conflicts", "200", ""),
    ("POST", "/api/v1/jobs/{id}/assign", "dispatcher", "Assign a job", "200", "Body `{technician_id}`."),
    ("POST", "/api/v1/jobs/{id}/cancel", "dispatcher", "Cancel a job", "200", ""),
    ("POST", "/api/v1/jobs/{id}/reschedule", "dispatcher", "Move a job's window", "200", "Body `{window_start, window_end}`."),
    ("GET", "/api/v1/board", "dispatcher", "The day's jobs by technician and status", "200",
     "Query `date=YYYY-MM-DD&utc_offset_minutes=480`."),
    ("GET", "/api/v1/conflicts", "dispatcher", "Open conflicts (`?all=true` for all)", "200", ""),
    ("POST", "/api/v1/conflicts/{id}/resolve", "dispatcher", "Resolve a conflict", "200",
     "Body `{resolution: \"accept_completion\"|\"keep_cancelled\", note}`."),
];

fn method(name: &str) -> HttpMethod {
    match name {
        "POST" => HttpMethod::Post,
        "PUT" => HttpMethod::Put,
        "HEAD" => HttpMethod::Head,
        _ => HttpMethod::Get,
    }
}

pub fn document() -> String {
    let mut paths = PathsBuilder::new();
    for (verb, path, tag, summary, status, description) in ROUTES {
        let mut operation = OperationBuilder::new()
            .tag(*tag)
            .summary(Some(*summary))
            .response(*status, Response::new("success"))
            .response(
                "4XX",
                Response::new("`{code, message}`; 426 `protocol_version` with `supported`"),
            );
        if !description.is_empty() {
            operation = operation.description(Some(*description));
        }
        paths = paths.path(*path, PathItem::new(method(verb), operation.build()));
    }
    let mut info = Info::new("Doorstep HQ", env!("CARGO_PKG_VERSION"));
    info.description = Some(
        "Device endpoints need `X-Doorstep-Protocol: 1` and `Authorization: Bearer DEVICE_TOKEN`; \
         dispatcher endpoints need the `doorstep_session` cookie or `Authorization: Bearer SESSION_TOKEN`. \
         Errors are `{code, message}`."
            .into(),
    );
    OpenApiBuilder::new()
        .info(info)
        .paths(paths.build())
        .build()
        .to_pretty_json()
        .unwrap_or_else(|_| "{}".into())
}
