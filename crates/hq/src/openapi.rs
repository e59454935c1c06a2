//! The OpenAPI document served at `GET /openapi.json`, built from one table
//! of routes so it cannot drift from `api::router` unnoticed: a test checks
//! that every route here answers something other than 404 in the router, and
//! that every body named here is a schema in the document. The schemas are
//! derived (utoipa) from the very types the handlers parse and return.
//! `scripts/fuzz-hq.sh` holds HQ to this document: it draws requests from it
//! and fails on any answer it does not describe.

use doorstep_core::wire::{PROTOCOL_HEADER, PROTOCOL_VERSION};
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, Parameter, ParameterBuilder, ParameterIn, PathItem, PathsBuilder,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{SchemaFormat, Type};
use utoipa::openapi::{
    ArrayBuilder, ContentBuilder, Info, ObjectBuilder, OpenApiBuilder, Ref, RefOr, Required,
    ResponseBuilder, Schema,
};
use utoipa::OpenApi;

/// One route of the API, as the document describes it.
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub tag: &'static str,
    pub summary: &'static str,
    pub status: &'static str,
    pub description: &'static str,
    /// The JSON request body's schema, if the route takes one.
    pub request: Option<&'static str>,
    /// The JSON success body's schema; `[Name]` is an array of `Name`.
    pub response: Option<&'static str>,
    /// A request body that is not JSON: its media type.
    pub raw_request: Option<&'static str>,
    /// A success body that is not JSON: its media type.
    pub raw_response: Option<&'static str>,
    /// Another success status the route answers with the same body.
    pub also: Option<&'static str>,
    /// A status the route answers with no body (a HEAD's 404), and what it means.
    pub bodiless: Option<(&'static str, &'static str)>,
    pub query: &'static [Query],
}

/// A query parameter.
pub struct Query {
    pub name: &'static str,
    pub required: bool,
    pub kind: QueryKind,
}

pub enum QueryKind {
    Text,
    Date,
    Integer,
    Boolean,
}

const fn query(name: &'static str, required: bool, kind: QueryKind) -> Query {
    Query {
        name,
        required,
        kind,
    }
}

const fn route(
    method: &'static str,
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
    status: &'static str,
    description: &'static str,
) -> Route {
    Route {
        method,
        path,
        tag,
        summary,
        status,
        description,
        request: None,
        response: None,
        raw_request: None,
        raw_response: None,
        also: None,
        bodiless: None,
        query: &[],
    }
}

impl Route {
    const fn takes(self, schema: &'static str) -> Route {
        Route {
            request: Some(schema),
            ..self
        }
    }

    const fn returns(self, schema: &'static str) -> Route {
        Route {
            response: Some(schema),
            ..self
        }
    }

    const fn takes_raw(self, media_type: &'static str) -> Route {
        Route {
            raw_request: Some(media_type),
            ..self
        }
    }

    const fn returns_raw(self, media_type: &'static str) -> Route {
        Route {
            raw_response: Some(media_type),
            ..self
        }
    }

    const fn also(self, status: &'static str) -> Route {
        Route {
            also: Some(status),
            ..self
        }
    }

    const fn or_bodiless(self, status: &'static str, meaning: &'static str) -> Route {
        Route {
            bodiless: Some((status, meaning)),
            ..self
        }
    }

    const fn query(self, query: &'static [Query]) -> Route {
        Route { query, ..self }
    }
}

pub const ROUTES: &[Route] = &[
    route("GET", "/health", "meta", "Liveness", "200", "`{status:\"ok\", protocol:1}`"),
    route("GET", "/openapi.json", "meta", "This document", "200", ""),
    route("POST", "/api/v1/enroll", "device", "Trade a one-time code for a device token", "201",
        "401 `invalid_code` when the code is unknown, used or expired; 429 `rate_limited` with Retry-After when one address tries too often; 413 `too_large` over 4 KiB.").takes("EnrollRequest").returns("EnrollResponse"),
    route("GET", "/api/v1/sync/jobs", "device", "Pull the technician's jobs changed since a cursor", "200",
        "Query `since=CURSOR` (omit for everything) and `price_list_version` (the version the device holds; `price_list` comes when HQ's differs). Cancelled jobs come with status `cancelled`, reassigned-away ids in `removed`, conflicts a dispatcher settled in `outcomes`.").returns("PullResponse")
        .query(&[query("since", false, QueryKind::Text), query("price_list_version", false, QueryKind::Integer)]),
    route("POST", "/api/v1/sync/push", "device", "Push outbox entries", "200",
        "409 `sequence_gap` with `expected_seq`; 422 `kind_mismatch`, `bad_seq`, `duplicate_seq`.").takes("PushRequest").returns("PushResponse"),
    route("GET", "/api/v1/sync/documents/{id}", "device", "Download a published technical document", "200",
        "The content the pull's `documents` announced (it hashes to `content_hash`), typed `application/pdf` or `text/html`, with `Content-Disposition: attachment` and `Content-Security-Policy: sandbox`. 404 when unknown or retired."),
    route("POST", "/api/v1/blobs/missing", "device", "Which of these blobs HQ lacks", "200",
        "At most 10,000 hashes; answers lower-cased. 400 `bad_hash`; 413 `too_large`.").takes("BlobQuery").returns("MissingBlobs"),
    route("POST", "/api/v1/blobs", "device", "Upload many blobs in one transaction", "201",
        "multipart/form-data, one part per blob, each part named by the blob's SHA-256; at most 64 MiB in all and 16 MiB per blob. All or none: 422 `hash_mismatch` stores nothing; 400 `content_type`, `bad_body`, `bad_hash`; 413 `too_large`.").takes_raw("multipart/form-data").returns("StoredBlobs"),
    route("PUT", "/api/v1/blobs/{hash}", "device", "Upload one blob named by its SHA-256", "201",
        "Raw body, at most 16 MiB (413 `too_large`). 201 new, 200 already held; 422 `hash_mismatch`; 400 `bad_hash`.").takes_raw("application/octet-stream").returns("StoredBlob").also("200"),
    route("HEAD", "/api/v1/blobs/{hash}", "device", "Whether HQ holds a blob", "200", "200 held, 404 not held.")
        .or_bodiless("404", "not held"),
    route("GET", "/api/v1/blobs/{hash}", "dispatcher", "Download a blob", "200", "The bytes, with a sniffed Content-Type, `Content-Disposition: attachment` and `X-Content-Type-Options: nosniff`."),
    route("POST", "/api/v1/login", "dispatcher", "Log in", "200",
        "Sets the `doorstep_session` cookie (HttpOnly, SameSite=Strict, Secure over https); the token is never in the body. 401 `bad_credentials`; 403 `account_disabled`; 429 `rate_limited` with Retry-After when an address or a username tries too often; 413 `too_large` over 4 KiB. Every attempt goes into the audit log.").takes("LoginRequest").returns("LoginResponse"),
    route("POST", "/api/v1/logout", "dispatcher", "Log out", "204",
        "Ends the session named by the cookie or Bearer token and clears the cookie."),
    route("POST", "/api/v1/enrollment-codes", "dispatcher", "Issue a one-time enrollment code", "201",
        "The code is shown once; `id` names it for revoking. Expired sessions and codes are purged.").takes("EnrollmentCodeRequest").returns("IssuedCode"),
    route("GET", "/api/v1/enrollment-codes", "dispatcher", "Outstanding enrollment codes (not used, not expired)", "200", "").returns("[OutstandingCode]"),
    route("POST", "/api/v1/enrollment-codes/{id}/revoke", "dispatcher", "Revoke an outstanding enrollment code", "204",
        "It then enrolls nothing (`invalid_code`). 404 unknown id; 409 `code_not_outstanding` when used or expired."),
    route("GET", "/api/v1/dispatchers", "dispatcher", "List dispatcher accounts", "200", "").returns("[DispatcherAccount]"),
    route("POST", "/api/v1/dispatchers/{username}/disable", "dispatcher", "Disable a dispatcher", "200",
        "They can no longer log in (403 `account_disabled`) and their sessions end. 409 `own_account` for one's own.").returns("DispatcherAccount"),
    route("POST", "/api/v1/dispatchers/{username}/enable", "dispatcher", "Enable a disabled dispatcher", "200", "").returns("DispatcherAccount"),
    route("POST", "/api/v1/account/password", "dispatcher", "Change one's own password", "204",
        "Needs the current password (403 `wrong_password`); 422 `weak_password` under 8 characters. The dispatcher's other sessions end.").takes("ChangePasswordRequest"),
    route("GET", "/api/v1/audit", "dispatcher", "The audit log, newest first", "200",
        "Query `actor`, `action`, `job`, `from`, `to` (RFC 3339; from inclusive, to exclusive), `limit` (1 to 500, default 100) and `before` (the last page's `next_before`).").returns("AuditPage")
        .query(&[
            query("actor", false, QueryKind::Text),
            query("action", false, QueryKind::Text),
            query("job", false, QueryKind::Text),
            query("from", false, QueryKind::Text),
            query("to", false, QueryKind::Text),
            query("limit", false, QueryKind::Integer),
            query("before", false, QueryKind::Integer),
        ]),
    route("GET", "/api/v1/calls", "dispatcher", "Calls the technicians logged, for a supervisor's review", "200",
        "Query `technician` (an id; omit for all), `from` and `to` (RFC 3339, on the devices' clocks; from inclusive, to exclusive; default the last 7 days, at most 93 days). Oldest first, with each technician's count and total duration; `truncated` when more than 2,000 calls matched. 400 `bad_query` for a range that ends before it starts or is too long.").returns("CallReview")
        .query(&[
            query("technician", false, QueryKind::Text),
            query("from", false, QueryKind::Text),
            query("to", false, QueryKind::Text),
        ]),
    route("GET", "/api/v1/devices", "dispatcher", "List devices", "200", "").returns("[DeviceInfo]"),
    route("POST", "/api/v1/devices/{id}/revoke", "dispatcher", "Revoke a device", "200",
        "The device's token then gets 401 `device_revoked`.").returns("DeviceInfo"),
    route("GET", "/api/v1/technicians", "dispatcher", "List technicians", "200", "").returns("[TechnicianRef]"),
    route("POST", "/api/v1/technicians", "dispatcher", "Create a technician", "201", "").takes("NewTechnician").returns("TechnicianRef"),
    route("POST", "/api/v1/jobs", "dispatcher", "Create a job", "201",
        "The customer is matched by `account_number`, or by phone when there is none, or created.").takes("NewJob").returns("DispatchedJob"),
    route("POST", "/api/v1/jobs/import", "dispatcher", "Import jobs from CSV", "201",
        "text/csv with header customer_name,phone,address,job_type,sub_case,fault_description,window_start,window_end,technician, then optionally account_number (the customer is matched by it, or by phone when it is empty) and optionally reported_at (RFC 3339; empty: when HQ receives it), in that order. All rows or none: 422 `import_invalid` with `errors:[{row, message}]`.").takes_raw("text/csv").returns("ImportResult"),
    route("GET", "/api/v1/jobs/{id}", "dispatcher", "A job with all technician records, timeline, receipt and conflicts", "200", "").returns("JobDetail"),
    route("POST", "/api/v1/jobs/{id}/assign", "dispatcher", "Assign a job", "200", "").takes("AssignRequest").returns("DispatchedJob"),
    route("POST", "/api/v1/jobs/{id}/cancel", "dispatcher", "Cancel a job", "200", "").returns("DispatchedJob"),
    route("POST", "/api/v1/jobs/{id}/reschedule", "dispatcher", "Move a job's window", "200", "").takes("RescheduleRequest").returns("DispatchedJob"),
    route("POST", "/api/v1/jobs/{id}/complaints", "dispatcher", "Take a complaint on a job at HQ", "201",
        "The signed-in dispatcher owns the reply (first-contact responsibility). 422 `reply_deadline_past` when the promised reply time is not in the future, `required` or `too_long` for the issue; 404 when there is no such job.").takes("NewComplaint").returns("ComplaintRecord"),
    route("GET", "/api/v1/complaints", "dispatcher", "Complaints taken at HQ or on site", "200",
        "Those awaiting their callback first, the soonest promised first, each with `overdue` when its promised reply time has passed. Query `open=true` for those awaiting their callback only.").returns("[ComplaintEntry]")
        .query(&[query("open", false, QueryKind::Boolean)]),
    route("POST", "/api/v1/complaints/{id}/callback", "dispatcher", "Record the callback on a complaint taken at HQ", "200",
        "404 when no complaint was taken at HQ under this id (one taken on site is its technician's to call back); 422 `required` when the result is empty.").takes("ComplaintCallbackRequest").returns("ComplaintRecord"),
    route("POST", "/api/v1/jobs/{id}/revisit", "dispatcher", "Create a proactive revisit of the job's customer", "201",
        "A new fault job for the same customer (standard item 15, from a repeat fault). 422 `bad_window`, `time_out_of_range`, `unknown_technician`.").takes("RevisitRequest").returns("DispatchedJob"),
    route("GET", "/api/v1/customers", "dispatcher", "Find customers by name, phone or account number", "200",
        "Query `q`; at most 50, by name. An empty `q` finds nobody.").returns("[CustomerRecord]")
        .query(&[query("q", false, QueryKind::Text)]),
    route("GET", "/api/v1/customers/{id}", "dispatcher", "A customer with their story and jobs", "200", "").returns("CustomerDetail"),
    route("POST", "/api/v1/customers/{id}/vip-grade", "dispatcher", "Set a customer's VIP grade", "200",
        "Their open jobs go out again to the technicians' laptops with it.").takes("VipGradeRequest").returns("CustomerRecord"),
    route("GET", "/api/v1/board", "dispatcher", "The day's jobs by technician and status", "200",
        "Query `date=YYYY-MM-DD`, a day in the operator's time zone (`serve --time-zone`). `past_target` lists the jobs past their repair-time target and not done.").returns("Board")
        .query(&[query("date", true, QueryKind::Date)]),
    route("GET", "/api/v1/settings", "dispatcher", "What the operator set at HQ: time zone, repair-time targets", "200",
        "The console shows every time in `time_zone`, whatever the browser's.").returns("OperatorSettings"),
    route("POST", "/api/v1/settings/repair-targets", "dispatcher", "Set or remove a job type's repair-time target", "200",
        "`hours` 1 to 720, or null to remove; 422 `bad_target` otherwise. Applies to jobs HQ receives from then on. Audit-logged.").takes("RepairTargetChange").returns("OperatorSettings"),
    route("GET", "/api/v1/support-requests", "dispatcher", "Jobs awaiting support, the longest waiting first", "200",
        "A job shows here from the push that asked for support until it closes or a dispatcher re-books it.").returns("[SupportRequestEntry]"),
    route("GET", "/api/v1/leads", "dispatcher", "Leads owed a follow-up call, the reminder soonest first", "200",
        "Query `technician` (id), `interest`, `due_before` (RFC 3339: HQ's now for due now, the end of the day for due today), `all=true` to include settled leads (success, declined, three calls made). At most 5,000.").returns("[LeadEntry]")
        .query(&[
            query("technician", false, QueryKind::Text),
            query("interest", false, QueryKind::Text),
            query("due_before", false, QueryKind::Text),
            query("all", false, QueryKind::Boolean),
        ]),
    route("GET", "/api/v1/leads/export", "dispatcher", "The same leads as a CSV file", "200",
        "text/csv (UTF-8 with a byte-order mark) with `Content-Disposition: attachment`; the same query as the list, and `lang` (`zh-CN` or `en`) for the header and labels. A cell starting with = + - @ is prefixed with an apostrophe.").returns_raw("text/csv")
        .query(&[
            query("technician", false, QueryKind::Text),
            query("interest", false, QueryKind::Text),
            query("due_before", false, QueryKind::Text),
            query("all", false, QueryKind::Boolean),
            query("lang", false, QueryKind::Text),
        ]),
    route("GET", "/api/v1/documents", "dispatcher", "Technical documents, the latest published first", "200", "").returns("[Document]"),
    route("POST", "/api/v1/documents", "dispatcher", "Publish a technical document", "201",
        "Query `title_zh`, `title_en` (one at least: 422 `title_required`; at most 200 characters each: 422 `bad_title`); the body is the content, a PDF (starting with `%PDF-`) or an HTML page (422 `document_type` otherwise), at most 20 MiB (413 `too_large`). Laptops get it at their next sync.").takes_raw("application/octet-stream").returns("Document")
        .query(&[query("title_zh", false, QueryKind::Text), query("title_en", false, QueryKind::Text)]),
    route("POST", "/api/v1/documents/{id}/versions", "dispatcher", "Publish a new version of a technical document", "201",
        "As publishing, for a document HQ holds (404 otherwise): its version goes up by one and it is published again if it was retired.").takes_raw("application/octet-stream").returns("Document")
        .query(&[query("title_zh", false, QueryKind::Text), query("title_en", false, QueryKind::Text)]),
    route("POST", "/api/v1/documents/{id}/retire", "dispatcher", "Retire a technical document", "200",
        "Laptops drop it at their next sync. 404 unknown id; 409 `document_retired` when it is already.").returns("Document"),
    route("GET", "/api/v1/price-list", "dispatcher", "The price list as it stands, retired items flagged", "200", "").returns("PriceList"),
    route("POST", "/api/v1/price-list", "dispatcher", "Add an item to the price list", "201",
        "The list's next version. 422 `bad_price_code` (lower-case letters, digits, underscores; a letter first; at most 40), `price_name_required` (both languages), `bad_unit_price` (1 to 10,000,000 fen), `invalid_field` (a name over 200 characters); 409 `price_code_taken` for a code ever used.").takes("NewPriceItem").returns("PriceList"),
    route("PUT", "/api/v1/price-list/{code}", "dispatcher", "Change an item's names or price", "200",
        "The list's next version; fee lines recorded before keep their price. 404 unknown code; 409 `price_item_retired`; 422 as adding does.").takes("PriceItemChange").returns("PriceList"),
    route("POST", "/api/v1/price-list/{code}/retire", "dispatcher", "Retire an item", "200",
        "No new fee may charge it; jobs that did still read it. 404 unknown code; 409 `price_item_retired`.").returns("PriceList"),
    route("GET", "/api/v1/conflicts", "dispatcher", "Open conflicts (`?all=true` for all)", "200", "").returns("[Conflict]")
        .query(&[query("all", false, QueryKind::Boolean)]),
    route("POST", "/api/v1/conflicts/{id}/resolve", "dispatcher", "Resolve a conflict", "200", "").takes("ResolveRequest").returns("Conflict"),
];

/// Every body type the routes name; utoipa adds the types they contain.
#[derive(OpenApi)]
#[openapi(components(schemas(
    doorstep_core::wire::ApiError,
    doorstep_core::wire::EnrollRequest,
    doorstep_core::wire::EnrollResponse,
    doorstep_core::wire::PullResponse,
    doorstep_core::wire::PushRequest,
    doorstep_core::wire::PushResponse,
    doorstep_core::wire::BlobQuery,
    doorstep_core::wire::MissingBlobs,
    doorstep_core::wire::StoredBlobs,
    doorstep_core::wire::StoredBlob,
    doorstep_core::wire::EnrollmentCodeRequest,
    crate::dto::IssuedCode,
    crate::dto::ChangePasswordRequest,
    crate::dto::AuditPage,
    crate::dto::CallReview,
    crate::dto::NewComplaint,
    crate::dto::ComplaintCallbackRequest,
    crate::dto::ComplaintEntry,
    doorstep_core::ComplaintRecord,
    crate::records::OutstandingCode,
    crate::records::DispatcherAccount,
    doorstep_core::wire::TechnicianRef,
    crate::dto::LoginRequest,
    crate::dto::LoginResponse,
    crate::dto::NewJob,
    crate::dto::ImportResult,
    crate::dto::JobDetail,
    crate::dto::Board,
    crate::dto::SupportRequestEntry,
    crate::dto::LeadEntry,
    crate::dto::OperatorSettings,
    crate::dto::RepairTargetChange,
    crate::records::DeviceInfo,
    crate::records::DispatchedJob,
    crate::records::Conflict,
    crate::records::Document,
    crate::dto::NewTechnician,
    crate::dto::AssignRequest,
    crate::dto::RescheduleRequest,
    crate::dto::ResolveRequest,
    crate::dto::RevisitRequest,
    crate::dto::CustomerDetail,
    crate::dto::VipGradeRequest,
    crate::records::CustomerRecord,
    doorstep_core::PriceList,
    crate::dto::NewPriceItem,
    crate::dto::PriceItemChange,
)))]
struct Schemas;

fn method(name: &str) -> HttpMethod {
    match name {
        "POST" => HttpMethod::Post,
        "PUT" => HttpMethod::Put,
        "HEAD" => HttpMethod::Head,
        _ => HttpMethod::Get,
    }
}

/// `Name` as a reference to its schema; `[Name]` as an array of them.
fn schema(name: &str) -> RefOr<Schema> {
    match name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
        Some(item) => ArrayBuilder::new()
            .items(Ref::from_schema_name(item))
            .into(),
        None => Ref::from_schema_name(name).into(),
    }
}

fn json(name: &str) -> utoipa::openapi::Content {
    ContentBuilder::new().schema(Some(schema(name))).build()
}

fn string(format: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::Custom(format.into())))
}

fn parameter(name: &str, place: ParameterIn, required: bool, schema: Schema) -> Parameter {
    let required = if required {
        Required::True
    } else {
        Required::False
    };
    ParameterBuilder::new()
        .name(name)
        .parameter_in(place)
        .required(required)
        .schema(Some(schema))
        .build()
}

/// The parameters of a route: each `{name}` of its path (`id` a UUID,
/// `hash` a SHA-256 in hex, any other a string), its query, and the
/// protocol header device routes need.
fn parameters(route: &Route) -> Vec<Parameter> {
    let mut parameters = Vec::new();
    let names = route
        .path
        .split('{')
        .skip(1)
        .filter_map(|rest| rest.split('}').next());
    for name in names {
        let schema = match name {
            "id" => string("uuid"),
            "hash" => ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^[0-9a-fA-F]{64}$")),
            _ => ObjectBuilder::new().schema_type(Type::String),
        };
        parameters.push(parameter(name, ParameterIn::Path, true, schema.into()));
    }
    for query in route.query {
        let schema = match query.kind {
            QueryKind::Text => ObjectBuilder::new().schema_type(Type::String),
            QueryKind::Date => string("date"),
            QueryKind::Integer => ObjectBuilder::new().schema_type(Type::Integer),
            QueryKind::Boolean => ObjectBuilder::new().schema_type(Type::Boolean),
        };
        parameters.push(parameter(
            query.name,
            ParameterIn::Query,
            query.required,
            schema.into(),
        ));
    }
    if route.tag == "device" {
        let version = ObjectBuilder::new()
            .schema_type(Type::Integer)
            .enum_values(Some([PROTOCOL_VERSION]));
        parameters.push(parameter(
            PROTOCOL_HEADER,
            ParameterIn::Header,
            true,
            version.into(),
        ));
    }
    parameters
}

/// A CSV import HQ takes: the header and one unassigned job. The fuzzer
/// sends it as drawn (random bytes never make the header).
const CSV_EXAMPLE: &str = "customer_name,phone,address,job_type,sub_case,fault_description,window_start,window_end,technician,account_number\n\
    王女士,13800000000,福州市鼓楼区,fault,indoor,没有信号,2026-12-01T09:00:00+08:00,2026-12-01T10:00:00+08:00,,FZ-0001\n";

/// A body that is not JSON: bytes, multipart parts of bytes, or CSV text.
fn raw_content(media_type: &str) -> utoipa::openapi::Content {
    match media_type {
        "multipart/form-data" => ContentBuilder::new()
            .schema(Some(
                ObjectBuilder::new().additional_properties(Some(string("binary"))),
            ))
            .build(),
        "text/csv" => ContentBuilder::new()
            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
            .example(Some(CSV_EXAMPLE.into()))
            .build(),
        _ => ContentBuilder::new().schema(Some(string("binary"))).build(),
    }
}

pub fn document() -> String {
    let mut paths = PathsBuilder::new();
    for route in ROUTES {
        let mut success = ResponseBuilder::new().description("success");
        if let Some(name) = route.response {
            success = success.content("application/json", json(name));
        }
        if let Some(media_type) = route.raw_response {
            success = success.content(
                media_type,
                ContentBuilder::new()
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                    .build(),
            );
        }
        let success = success.build();
        let mut operation = OperationBuilder::new()
            .tag(route.tag)
            .summary(Some(route.summary))
            .parameters(Some(parameters(route)))
            .response(route.status, success.clone())
            .response(
                "4XX",
                ResponseBuilder::new()
                    .description("`{code, message}`; 426 `protocol_version` with `supported`")
                    .content("application/json", json("ApiError"))
                    .build(),
            );
        if let Some(status) = route.also {
            operation = operation.response(status, success);
        }
        if let Some((status, meaning)) = route.bodiless {
            operation =
                operation.response(status, ResponseBuilder::new().description(meaning).build());
        }
        if let Some(name) = route.request {
            operation = operation.request_body(Some(
                RequestBodyBuilder::new()
                    .content("application/json", json(name))
                    .required(Some(Required::True))
                    .build(),
            ));
        }
        if let Some(media_type) = route.raw_request {
            operation = operation.request_body(Some(
                RequestBodyBuilder::new()
                    .content(media_type, raw_content(media_type))
                    .required(Some(Required::True))
                    .build(),
            ));
        }
        if !route.description.is_empty() {
            operation = operation.description(Some(route.description));
        }
        paths = paths.path(
            route.path,
            PathItem::new(method(route.method), operation.build()),
        );
    }
    let mut info = Info::new("Doorstep HQ", env!("CARGO_PKG_VERSION"));
    info.description = Some(
        "Device endpoints need `X-Doorstep-Protocol: 1` and `Authorization: Bearer DEVICE_TOKEN`; \
         dispatcher endpoints need the `doorstep_session` cookie or `Authorization: Bearer SESSION_TOKEN`. \
         Errors are `{code, message}`. Any request that changes something and carries an `Origin` of another \
         site gets 403 `cross_origin`; a request that takes longer than a minute gets 503 `timeout`. \
         Every answer carries `x-request-id` (the caller's, or a new one)."
            .into(),
    );
    OpenApiBuilder::new()
        .info(info)
        .paths(paths.build())
        .components(Schemas::openapi().components)
        .build()
        .to_pretty_json()
        .unwrap_or_else(|_| "{}".into())
}
