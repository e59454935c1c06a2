//! The HTTP API in-process (`oneshot`), and once over a real loopback
//! listener with reqwest. Storage is SQLite in a temp dir; the clock is fixed.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::Router;
use common::*;
use doorstep_core::change::Change;
use doorstep_core::signature::sha256_hex;
use doorstep_core::wire::{EnrollResponse, PullResponse, PushResponse, TechnicianRef};
use doorstep_hq::{router, Hq};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

struct Api {
    app: Router,
    hq: Hq,
    session: String,
    _dir: tempfile::TempDir,
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Value,
}

/// The session token from a log-in's `Set-Cookie`.
fn session_of(login: &Reply) -> String {
    let cookie = login.headers["set-cookie"].to_str().unwrap();
    let token = cookie
        .strip_prefix("doorstep_session=")
        .and_then(|rest| rest.split(';').next())
        .unwrap();
    token.to_string()
}

impl Api {
    async fn new() -> Api {
        let (storage, dir) = sqlite();
        let hq = Hq::new(storage, fixed_clock());
        hq.create_dispatcher("ann", "correct horse").await.unwrap();
        let app = router(hq.clone());
        let mut api = Api {
            app,
            hq,
            session: String::new(),
            _dir: dir,
        };
        let login = api
            .send(
                Method::POST,
                "/api/v1/login",
                &[],
                Some(json!({"username": "ann", "password": "correct horse"})),
            )
            .await;
        assert_eq!(login.status, StatusCode::OK, "the dispatcher can log in");
        api.session = session_of(&login);
        api
    }

    async fn raw(&self, request: Request<Body>) -> Reply {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::String("<not json>".into()))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    async fn send(
        &self,
        method: Method,
        uri: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = match body {
            Some(body) => request
                .header("content-type", "application/json")
                .body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        };
        self.raw(request.unwrap()).await
    }

    /// As the logged-in dispatcher (cookie).
    async fn console(&self, method: Method, uri: &str, body: Option<Value>) -> Reply {
        let cookie = format!("doorstep_session={}", self.session);
        self.send(method, uri, &[("cookie", &cookie)], body).await
    }

    /// A log-in attempt, as the console makes it.
    async fn login(&self, username: &str, password: &str) -> Reply {
        self.send(
            Method::POST,
            "/api/v1/login",
            &[],
            Some(json!({"username": username, "password": password})),
        )
        .await
    }

    /// As the dispatcher whose session cookie this is.
    async fn as_session(
        &self,
        session: &str,
        method: Method,
        uri: &str,
        body: Option<Value>,
    ) -> Reply {
        let cookie = format!("doorstep_session={session}");
        self.send(method, uri, &[("cookie", &cookie)], body).await
    }

    /// As a device: protocol header and bearer token.
    async fn device(&self, token: &str, method: Method, uri: &str, body: Option<Value>) -> Reply {
        let bearer = format!("Bearer {token}");
        self.send(
            method,
            uri,
            &[("x-doorstep-protocol", "1"), ("authorization", &bearer)],
            body,
        )
        .await
    }

    async fn technician(&self, name: &str) -> TechnicianRef {
        let reply = self
            .console(
                Method::POST,
                "/api/v1/technicians",
                Some(json!({"name": name})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        serde_json::from_value(reply.body).unwrap()
    }

    async fn enroll(&self, technician: &TechnicianRef) -> EnrollResponse {
        let code = self
            .console(
                Method::POST,
                "/api/v1/enrollment-codes",
                Some(json!({"technician_id": technician.id})),
            )
            .await;
        assert_eq!(code.status, StatusCode::CREATED, "{:?}", code.body);
        let enrolled = self
            .send(
                Method::POST,
                "/api/v1/enroll",
                &[("x-doorstep-protocol", "1")],
                Some(json!({"code": code.body["code"], "device_name": "laptop"})),
            )
            .await;
        assert_eq!(enrolled.status, StatusCode::CREATED, "{:?}", enrolled.body);
        serde_json::from_value(enrolled.body).unwrap()
    }

    async fn job(&self, technician: &TechnicianRef) -> String {
        let reply = self
            .console(
                Method::POST,
                "/api/v1/jobs",
                Some(json!({
                    "customer_name": "王女士", "phone": "13800000000", "address": "福州",
                    "job_type": "fault", "sub_case": "indoor",
                    "window_start": at(60), "window_end": at(120),
                    "technician_id": technician.id,
                })),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        reply.body["job"]["id"].as_str().unwrap().to_string()
    }
}

fn push_body(device: &EnrollResponse, entries: Vec<doorstep_core::wire::PushEntry>) -> Value {
    json!({"device_id": device.device_id, "entries": entries})
}

fn job_id(text: &str) -> doorstep_core::JobId {
    text.parse().unwrap()
}

/// Every error is JSON with a code and a message.
fn assert_error(reply: &Reply, status: StatusCode, code: &str, why: &str) {
    assert_eq!(reply.status, status, "{why}: {:?}", reply.body);
    assert_eq!(reply.body["code"], code, "{why}: {:?}", reply.body);
    assert!(
        reply.body["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{why}: an error always says what is wrong"
    );
}

#[tokio::test]
async fn health_and_openapi_cover_every_route() {
    let api = Api::new().await;
    let health = api.send(Method::GET, "/health", &[], None).await;
    assert_eq!(health.status, StatusCode::OK, "health answers 200");
    let doc = api.send(Method::GET, "/openapi.json", &[], None).await;
    assert_eq!(doc.status, StatusCode::OK, "the OpenAPI document is served");
    assert!(doc.body["openapi"].as_str().unwrap().starts_with("3."));
    for route in doorstep_hq::openapi::ROUTES {
        let (verb, path) = (route.method, route.path);
        assert!(
            doc.body["paths"][path][verb.to_lowercase()].is_object(),
            "the document lists {verb} {path}"
        );
        let uri = path
            .replace("{hash}", &"0".repeat(64))
            .replace("{username}", "nobody")
            .replace("{id}", &uuid::Uuid::now_v7().to_string());
        let method = Method::from_bytes(verb.as_bytes()).unwrap();
        let reply = api.console(method, &uri, None).await;
        assert!(
            !(reply.status == StatusCode::NOT_FOUND && reply.body["message"] == "route not found")
                && reply.status != StatusCode::METHOD_NOT_ALLOWED,
            "{verb} {path} is documented, so the router must have it"
        );
    }

    // Every schema the document points to is in it, down to the nested ones.
    let schemas = &doc.body["components"]["schemas"];
    for name in [
        "PushRequest",
        "Change",
        "VisitRecord",
        "JobDetail",
        "ApiError",
    ] {
        assert!(schemas[name].is_object(), "{name} is described");
    }
    let mut refs = Vec::new();
    collect_refs(&doc.body, &mut refs);
    assert!(refs.len() > 50, "bodies point to schemas ({})", refs.len());
    for reference in refs {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected $ref {reference}"));
        assert!(schemas[name].is_object(), "{reference} resolves");
    }
    assert_eq!(
        doc.body["paths"]["/api/v1/sync/push"]["post"]["requestBody"]["content"]
            ["application/json"]["schema"]["$ref"],
        "#/components/schemas/PushRequest"
    );
    let change = schemas["Change"].to_string();
    assert!(
        change.contains("\"sign\"") && change.contains("\"data\""),
        "a change is described as its wire form, tag and data: {change}"
    );
}

/// The property-based fuzzer (scripts/fuzz-hq.sh) generates requests from
/// the document alone and holds every answer to it, so the document must
/// declare every parameter a route reads and every status it answers with.
/// It found each of these missing: a path whose `{id}` was not declared (it
/// refused the document), device routes without their protocol header (all
/// it sent got 426), the CSV and blob bodies described as nothing, PUT
/// blob's 200 for a blob already held, and HEAD's 404, which has no body.
#[tokio::test]
async fn the_document_declares_every_parameter_and_status() {
    let api = Api::new().await;
    let doc = api.send(Method::GET, "/openapi.json", &[], None).await.body;
    for route in doorstep_hq::openapi::ROUTES {
        let operation = &doc["paths"][route.path][route.method.to_lowercase()];
        let parameters = operation["parameters"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let declared = |name: &str, place: &str| {
            parameters
                .iter()
                .any(|p| p["name"] == name && p["in"] == place && p["required"] == true)
        };
        for name in route
            .path
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split('}').next())
        {
            assert!(
                declared(name, "path"),
                "{} {} declares its path parameter {name}",
                route.method,
                route.path
            );
        }
        if route.tag == "device" {
            assert!(
                declared("X-Doorstep-Protocol", "header"),
                "{} {} declares the protocol header every device request needs",
                route.method,
                route.path
            );
        }
    }
    let board = doc["paths"]["/api/v1/board"]["get"]["parameters"].to_string();
    assert!(
        board.contains("\"date\""),
        "the board's query is declared: {board}"
    );
    let body_of =
        |path: &str, verb: &str| doc["paths"][path][verb]["requestBody"]["content"].clone();
    assert!(body_of("/api/v1/jobs/import", "post")["text/csv"].is_object());
    assert!(body_of("/api/v1/blobs", "post")["multipart/form-data"].is_object());
    assert!(body_of("/api/v1/blobs/{hash}", "put")["application/octet-stream"].is_object());

    let put = &doc["paths"]["/api/v1/blobs/{hash}"]["put"]["responses"];
    assert!(
        put["201"].is_object() && put["200"]["content"]["application/json"].is_object(),
        "a blob stored (201) and one already held (200) are both documented: {put}"
    );
    // A dispatcher's text is described with the limits HQ holds it to, so
    // the fuzzer's valid cases are ones HQ takes.
    let schemas = &doc["components"]["schemas"];
    for (schema, field, max) in [
        ("NewJob", "customer_name", doorstep_core::SHORT_TEXT_MAX),
        ("NewJob", "phone", doorstep_core::SHORT_TEXT_MAX),
        ("NewJob", "address", doorstep_core::SHORT_TEXT_MAX),
        ("NewJob", "fault_description", doorstep_core::LONG_TEXT_MAX),
        ("NewTechnician", "name", doorstep_core::SHORT_TEXT_MAX),
        ("ResolveRequest", "note", doorstep_core::LONG_TEXT_MAX),
    ] {
        assert_eq!(
            schemas[schema]["properties"][field]["maxLength"],
            json!(max),
            "{schema}.{field} is documented with HQ's own limit"
        );
    }
    let head = &doc["paths"]["/api/v1/blobs/{hash}"]["head"]["responses"];
    assert!(
        head["404"].is_object() && head["404"]["content"].is_null(),
        "HEAD's 404 (not held) is documented without a body: {head}"
    );
}

fn collect_refs(value: &Value, refs: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("$ref", Value::String(target)) => refs.push(target.clone()),
                    _ => collect_refs(inner, refs),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_refs(item, refs)),
        _ => {}
    }
}

#[tokio::test]
async fn protocol_version_mismatch_gets_426() {
    let api = Api::new().await;
    let body = Some(json!({"code": "X", "device_name": "d"}));
    let missing = api
        .send(Method::POST, "/api/v1/enroll", &[], body.clone())
        .await;
    assert_error(
        &missing,
        StatusCode::UPGRADE_REQUIRED,
        "protocol_version",
        "an app that sends no version is too old for this HQ",
    );
    assert_eq!(
        missing.body["supported"],
        json!([1]),
        "the answer says which versions HQ speaks"
    );
    let newer = api
        .send(
            Method::GET,
            "/api/v1/sync/jobs",
            &[("x-doorstep-protocol", "2"), ("authorization", "Bearer x")],
            None,
        )
        .await;
    assert_error(
        &newer,
        StatusCode::UPGRADE_REQUIRED,
        "protocol_version",
        "a newer app gets 426 before its token is even looked at",
    );
    let console = api
        .send(
            Method::GET,
            "/api/v1/technicians",
            &[("x-doorstep-protocol", "0")],
            None,
        )
        .await;
    assert_eq!(
        console.status,
        StatusCode::UPGRADE_REQUIRED,
        "any route refuses a version it does not speak"
    );
}

#[tokio::test]
async fn devices_see_and_write_only_their_technicians_jobs() {
    let api = Api::new().await;
    let (a, b) = (api.technician("A").await, api.technician("B").await);
    let (dev_a, dev_b) = (api.enroll(&a).await, api.enroll(&b).await);
    let job_a = api.job(&a).await;
    let job_b = api.job(&b).await;

    let pulled = api
        .device(&dev_a.token, Method::GET, "/api/v1/sync/jobs", None)
        .await;
    let pulled: PullResponse = serde_json::from_value(pulled.body).unwrap();
    assert_eq!(pulled.jobs.len(), 1, "A's device gets only A's job");
    assert_eq!(pulled.jobs[0].id.to_string(), job_a);

    let refused = api
        .device(
            &dev_a.token,
            Method::POST,
            "/api/v1/sync/push",
            Some(push_body(&dev_a, vec![entry(1, job_id(&job_b), kit())])),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::OK,
        "a write to B's job does not refuse A's batch: {:?}",
        refused.body
    );
    assert_eq!(
        (
            &refused.body["conflicts"][0]["job_id"],
            &refused.body["conflicts"][0]["reason"]
        ),
        (&json!(job_b), &json!("not_assigned")),
        "the answer names the job A may not write, as a conflict"
    );
    assert_eq!(
        refused.body["receipts"],
        json!([]),
        "and gives A no receipt of B's job"
    );

    let spoofed = api
        .device(
            &dev_a.token,
            Method::POST,
            "/api/v1/sync/push",
            Some(push_body(&dev_b, vec![])),
        )
        .await;
    assert_error(
        &spoofed,
        StatusCode::FORBIDDEN,
        "device_mismatch",
        "a device may not push in another device's name",
    );

    let no_token = api
        .send(
            Method::GET,
            "/api/v1/sync/jobs",
            &[("x-doorstep-protocol", "1")],
            None,
        )
        .await;
    assert_error(
        &no_token,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "no token, no jobs",
    );
    let bad_token = api
        .device("not-a-token", Method::GET, "/api/v1/sync/jobs", None)
        .await;
    assert_error(
        &bad_token,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "an unknown token is refused",
    );

    let revoke = api
        .console(
            Method::POST,
            &format!("/api/v1/devices/{}/revoke", dev_a.device_id),
            None,
        )
        .await;
    assert_eq!(
        revoke.status,
        StatusCode::OK,
        "the dispatcher revokes A's device"
    );
    let revoked = api
        .device(&dev_a.token, Method::GET, "/api/v1/sync/jobs", None)
        .await;
    assert_error(
        &revoked,
        StatusCode::UNAUTHORIZED,
        "device_revoked",
        "a revoked device is told so",
    );
    let still = api
        .device(&dev_b.token, Method::GET, "/api/v1/sync/jobs", None)
        .await;
    assert_eq!(still.status, StatusCode::OK, "revoking A leaves B alone");
}

#[tokio::test]
async fn enrollment_codes_work_once() {
    let api = Api::new().await;
    let a = api.technician("A").await;
    let code = api
        .console(
            Method::POST,
            "/api/v1/enrollment-codes",
            Some(json!({"technician_id": a.id})),
        )
        .await;
    let typed = code.body["code"]
        .as_str()
        .unwrap()
        .to_lowercase()
        .replace('-', " ");
    let first = api
        .send(
            Method::POST,
            "/api/v1/enroll",
            &[("x-doorstep-protocol", "1")],
            Some(json!({"code": typed, "device_name": "laptop"})),
        )
        .await;
    assert_eq!(
        first.status,
        StatusCode::CREATED,
        "case and dashes do not matter when a code is typed: {:?}",
        first.body
    );
    assert_eq!(
        first.body["technician"]["name"], "A",
        "the device learns its technician"
    );
    let second = api
        .send(
            Method::POST,
            "/api/v1/enroll",
            &[("x-doorstep-protocol", "1")],
            Some(json!({"code": code.body["code"], "device_name": "other"})),
        )
        .await;
    assert_error(
        &second,
        StatusCode::UNAUTHORIZED,
        "invalid_code",
        "a code enrolls one device only",
    );
}

#[tokio::test]
async fn console_endpoints_need_a_login() {
    let api = Api::new().await;
    let id = uuid::Uuid::now_v7();
    let hash = "0".repeat(64);
    let endpoints = [
        (Method::POST, "/api/v1/enrollment-codes".to_string()),
        (Method::GET, "/api/v1/devices".to_string()),
        (Method::POST, format!("/api/v1/devices/{id}/revoke")),
        (Method::GET, "/api/v1/technicians".to_string()),
        (Method::POST, "/api/v1/technicians".to_string()),
        (Method::POST, "/api/v1/jobs".to_string()),
        (Method::POST, "/api/v1/jobs/import".to_string()),
        (Method::GET, format!("/api/v1/jobs/{id}")),
        (Method::POST, format!("/api/v1/jobs/{id}/assign")),
        (Method::POST, format!("/api/v1/jobs/{id}/cancel")),
        (Method::POST, format!("/api/v1/jobs/{id}/reschedule")),
        (Method::GET, "/api/v1/board?date=2026-12-01".to_string()),
        (Method::GET, "/api/v1/conflicts".to_string()),
        (Method::POST, format!("/api/v1/conflicts/{id}/resolve")),
        (Method::GET, format!("/api/v1/blobs/{hash}")),
        (Method::GET, "/api/v1/enrollment-codes".to_string()),
        (
            Method::POST,
            format!("/api/v1/enrollment-codes/{id}/revoke"),
        ),
        (Method::GET, "/api/v1/dispatchers".to_string()),
        (Method::POST, "/api/v1/dispatchers/ann/disable".to_string()),
        (Method::POST, "/api/v1/dispatchers/ann/enable".to_string()),
        (Method::POST, "/api/v1/account/password".to_string()),
        (Method::GET, "/api/v1/audit".to_string()),
    ];
    for (method, uri) in endpoints {
        let reply = api.send(method.clone(), &uri, &[], Some(json!({}))).await;
        assert_error(
            &reply,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            &format!("{method} {uri} is for logged-in dispatchers only"),
        );
        let forged = api
            .send(
                method.clone(),
                &uri,
                &[("cookie", "doorstep_session=forged")],
                Some(json!({})),
            )
            .await;
        assert_eq!(
            forged.status,
            StatusCode::UNAUTHORIZED,
            "{method} {uri}: a made-up session is no login"
        );
    }
    let wrong = api
        .send(
            Method::POST,
            "/api/v1/login",
            &[],
            Some(json!({"username": "ann", "password": "wrong"})),
        )
        .await;
    assert_error(
        &wrong,
        StatusCode::UNAUTHORIZED,
        "bad_credentials",
        "a wrong password does not log in",
    );
    let login = api
        .send(
            Method::POST,
            "/api/v1/login",
            &[],
            Some(json!({"username": "ann", "password": "correct horse"})),
        )
        .await;
    let cookie = login.headers["set-cookie"].to_str().unwrap();
    assert!(
        cookie.starts_with("doorstep_session=") && cookie.contains("HttpOnly"),
        "the session is an HttpOnly cookie: {cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "over plain http a Secure cookie would never come back: {cookie}"
    );
    // A script on the page (an XSS) must not be able to read the session:
    // it is in the HttpOnly cookie only, never in the body.
    let token = session_of(&login);
    assert!(
        !login.body.to_string().contains(&token),
        "the login's body carries no session token: {}",
        login.body
    );
    assert_eq!(login.body["username"], "ann");

    // Logging out ends the session on HQ, not just in the browser.
    let session = format!("doorstep_session={token}");
    let devices = api
        .send(
            Method::GET,
            "/api/v1/devices",
            &[("cookie", &session)],
            None,
        )
        .await;
    assert_eq!(devices.status, StatusCode::OK, "logged in");
    let logout = api
        .send(
            Method::POST,
            "/api/v1/logout",
            &[("cookie", &session)],
            None,
        )
        .await;
    assert_eq!(logout.status, StatusCode::NO_CONTENT);
    assert!(
        logout.headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0"),
        "the browser drops the cookie"
    );
    let after = api
        .send(
            Method::GET,
            "/api/v1/devices",
            &[("cookie", &session)],
            None,
        )
        .await;
    assert_error(
        &after,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "a copied cookie is useless after logout",
    );
    let again = api
        .send(
            Method::POST,
            "/api/v1/logout",
            &[("cookie", &session)],
            None,
        )
        .await;
    assert_eq!(
        again.status,
        StatusCode::NO_CONTENT,
        "logging out twice is harmless"
    );
}

#[tokio::test]
async fn malformed_requests_get_json_4xx() {
    let api = Api::new().await;
    let a = api.technician("A").await;
    let dev = api.enroll(&a).await;
    let bearer = format!("Bearer {}", dev.token);
    let device_headers = [
        ("x-doorstep-protocol", "1"),
        ("authorization", bearer.as_str()),
        ("content-type", "application/json"),
    ];
    let raw = |uri: &str, body: Body| {
        let mut request = Request::builder().method(Method::POST).uri(uri);
        for (name, value) in device_headers {
            request = request.header(name, value);
        }
        request.body(body).unwrap()
    };

    let syntax = api
        .raw(raw("/api/v1/sync/push", Body::from("{not json")))
        .await;
    assert_error(
        &syntax,
        StatusCode::BAD_REQUEST,
        "bad_json",
        "broken JSON is a 400",
    );
    let types = api
        .raw(raw(
            "/api/v1/sync/push",
            Body::from(json!({"device_id": 5, "entries": "no"}).to_string()),
        ))
        .await;
    assert_error(
        &types,
        StatusCode::UNPROCESSABLE_ENTITY,
        "bad_json",
        "wrong types are a 422",
    );
    let bad_change = api
        .raw(raw(
            "/api/v1/sync/push",
            Body::from(
                json!({"device_id": dev.device_id, "entries": [{
                    "seq": 1, "op_id": uuid::Uuid::now_v7(), "job_id": uuid::Uuid::now_v7(),
                    "kind": "explode", "payload": {"type": "explode"}, "device_time": at(0)
                }]})
                .to_string(),
            ),
        ))
        .await;
    assert_error(
        &bad_change,
        StatusCode::UNPROCESSABLE_ENTITY,
        "bad_json",
        "an unknown change type is refused, not stored",
    );
    assert!(
        bad_change.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("entries[0]")),
        "the message names the entry at fault: {:?}",
        bad_change.body
    );
    let job = api.job(&a).await;
    let mut mismatched = entry(1, job_id(&job), kit());
    mismatched.kind = "complete".into();
    let kind = api
        .device(
            &dev.token,
            Method::POST,
            "/api/v1/sync/push",
            Some(push_body(&dev, vec![mismatched])),
        )
        .await;
    assert_error(
        &kind,
        StatusCode::UNPROCESSABLE_ENTITY,
        "kind_mismatch",
        "kind must say what the payload is",
    );
    let huge = api
        .raw(raw(
            "/api/v1/sync/push",
            Body::from(vec![b' '; doorstep_core::wire::MAX_JSON_BYTES + 1]),
        ))
        .await;
    assert_error(
        &huge,
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        "a body over the limit is a 413",
    );
    let no_type = api.send(Method::POST, "/api/v1/login", &[], None).await;
    assert_error(
        &no_type,
        StatusCode::BAD_REQUEST,
        "content_type",
        "JSON endpoints say when the body is not JSON",
    );
    let bad_uuid = api
        .console(Method::GET, "/api/v1/jobs/not-a-uuid", None)
        .await;
    assert_error(
        &bad_uuid,
        StatusCode::BAD_REQUEST,
        "bad_path",
        "a bad UUID is a 400",
    );
    let unknown_job = api
        .console(
            Method::GET,
            &format!("/api/v1/jobs/{}", uuid::Uuid::now_v7()),
            None,
        )
        .await;
    assert_error(
        &unknown_job,
        StatusCode::NOT_FOUND,
        "not_found",
        "no such job",
    );
    let route = api.send(Method::GET, "/nothing/here", &[], None).await;
    assert_error(
        &route,
        StatusCode::NOT_FOUND,
        "not_found",
        "unknown routes are JSON 404s",
    );
    let method = api.send(Method::DELETE, "/api/v1/login", &[], None).await;
    assert_error(
        &method,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "a wrong method is a JSON 405",
    );
    let cursor = api
        .device(&dev.token, Method::GET, "/api/v1/sync/jobs?since=abc", None)
        .await;
    assert_error(
        &cursor,
        StatusCode::BAD_REQUEST,
        "bad_cursor",
        "a cursor HQ never gave",
    );
    let date = api
        .console(Method::GET, "/api/v1/board?date=yesterday", None)
        .await;
    assert_error(
        &date,
        StatusCode::BAD_REQUEST,
        "bad_query",
        "a date is YYYY-MM-DD",
    );
    let window = api
        .console(
            Method::POST,
            &format!("/api/v1/jobs/{job}/reschedule"),
            Some(json!({"window_start": at(10), "window_end": at(5)})),
        )
        .await;
    assert_error(
        &window,
        StatusCode::UNPROCESSABLE_ENTITY,
        "bad_window",
        "a window ends after it starts",
    );
    let empty_name = api
        .console(
            Method::POST,
            "/api/v1/technicians",
            Some(json!({"name": "  "})),
        )
        .await;
    assert_error(
        &empty_name,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
        "a technician has a name",
    );
}

#[tokio::test]
async fn push_over_http_is_idempotent_and_ordered() {
    let api = Api::new().await;
    let a = api.technician("A").await;
    let dev = api.enroll(&a).await;
    let job = job_id(&api.job(&a).await);
    let batch = vec![entry(1, job, kit()), entry(2, job, work("fixed"))];
    let first = api
        .device(
            &dev.token,
            Method::POST,
            "/api/v1/sync/push",
            Some(push_body(&dev, batch.clone())),
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    let first: PushResponse = serde_json::from_value(first.body).unwrap();
    assert_eq!(first.applied_through_seq, 2);
    assert_eq!(first.receipts.len(), 1, "a receipt for the job");
    assert_eq!(first.receipts[0].content_hash.len(), 64, "a SHA-256 hex");

    let again = api
        .device(
            &dev.token,
            Method::POST,
            "/api/v1/sync/push",
            Some(push_body(&dev, batch)),
        )
        .await;
    let again: PushResponse = serde_json::from_value(again.body).unwrap();
    assert_eq!(again, first, "the same batch twice has the effect of one");

    let gap = api
        .device(
            &dev.token,
            Method::POST,
            "/api/v1/sync/push",
            Some(push_body(&dev, vec![entry(4, job, kit())])),
        )
        .await;
    assert_error(
        &gap,
        StatusCode::CONFLICT,
        "sequence_gap",
        "seq 3 is missing",
    );
    assert_eq!(gap.body["expected_seq"], 3, "HQ says where to resume");

    let detail = api
        .console(Method::GET, &format!("/api/v1/jobs/{job}"), None)
        .await;
    assert_eq!(detail.status, StatusCode::OK);
    assert_eq!(
        detail.body["timeline"].as_array().unwrap().len(),
        2,
        "the timeline holds each op once"
    );
    assert_eq!(
        detail.body["timeline"][0]["device_time"],
        json!(at(1)),
        "with the device's time"
    );
    assert_eq!(
        detail.body["timeline"][0]["server_time"],
        json!(t0()),
        "and HQ's receive time"
    );
    assert_eq!(
        detail.body["receipt"]["content_hash"],
        json!(first.receipts[0].content_hash),
        "the console shows the receipt the device got"
    );
}

#[tokio::test]
async fn blobs_are_verified_and_limited() {
    let api = Api::new().await;
    let a = api.technician("A").await;
    let dev = api.enroll(&a).await;
    let put = |hash: &str, bytes: Vec<u8>| {
        Request::builder()
            .method(Method::PUT)
            .uri(format!("/api/v1/blobs/{hash}"))
            .header("x-doorstep-protocol", "1")
            .header("authorization", format!("Bearer {}", dev.token))
            .body(Body::from(bytes))
            .unwrap()
    };
    let bytes = b"\x89PNG fake signature".to_vec();
    let hash = sha256_hex(&bytes);
    let head = api
        .device(
            &dev.token,
            Method::HEAD,
            &format!("/api/v1/blobs/{hash}"),
            None,
        )
        .await;
    assert_eq!(head.status, StatusCode::NOT_FOUND, "not uploaded yet");
    let wrong = api.raw(put(&sha256_hex(b"other"), bytes.clone())).await;
    assert_error(
        &wrong,
        StatusCode::UNPROCESSABLE_ENTITY,
        "hash_mismatch",
        "bytes that do not hash to the name are refused",
    );
    let created = api.raw(put(&hash, bytes.clone())).await;
    assert_eq!(
        created.status,
        StatusCode::CREATED,
        "first upload stores it"
    );
    let again = api.raw(put(&hash, bytes.clone())).await;
    assert_eq!(again.status, StatusCode::OK, "the same blob twice is fine");
    let head = api
        .device(
            &dev.token,
            Method::HEAD,
            &format!("/api/v1/blobs/{hash}"),
            None,
        )
        .await;
    assert_eq!(
        head.status,
        StatusCode::OK,
        "HEAD tells the app it is there"
    );
    let big = vec![0u8; doorstep_core::wire::MAX_BLOB_BYTES + 1];
    let too_big = api.raw(put(&sha256_hex(&big), big)).await;
    assert_error(
        &too_big,
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        "blobs over 16 MiB are refused",
    );
    let bad_name = api.raw(put("xyz", bytes.clone())).await;
    assert_error(
        &bad_name,
        StatusCode::BAD_REQUEST,
        "bad_hash",
        "a blob is named by its hash",
    );
    let cookie = format!("doorstep_session={}", api.session);
    let get = api
        .raw(
            Request::builder()
                .uri(format!("/api/v1/blobs/{hash}"))
                .header("cookie", cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(get.status, StatusCode::OK, "a dispatcher can read it");
    assert_eq!(get.headers["content-type"], "image/png");
}

/// A multipart body with one part per (name, bytes), as the app sends blobs.
fn multipart(parts: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "doorstep-test-boundary";
    let mut body = Vec::new();
    for (name, bytes) in parts {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn blobs_go_up_in_batches_all_or_nothing() {
    let api = Api::new().await;
    let a = api.technician("A").await;
    let dev = api.enroll(&a).await;
    let upload = |content_type: &str, body: Vec<u8>, token: Option<&str>| {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri("/api/v1/blobs")
            .header("x-doorstep-protocol", "1")
            .header("content-type", content_type);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        request.body(Body::from(body)).unwrap()
    };
    let (png, strokes) = (b"\x89PNG signature".to_vec(), b"[[1,2],[3,4]]".to_vec());
    let (png_hash, strokes_hash) = (sha256_hex(&png), sha256_hex(&strokes));
    let missing = |hashes: Vec<String>| {
        let token = dev.token.clone();
        let api = &api;
        async move {
            api.device(
                &token,
                Method::POST,
                "/api/v1/blobs/missing",
                Some(json!({ "hashes": hashes })),
            )
            .await
        }
    };
    let asked = missing(vec![png_hash.clone(), strokes_hash.to_uppercase()]).await;
    assert_eq!(asked.status, StatusCode::OK);
    assert_eq!(
        asked.body["missing"],
        json!([png_hash, strokes_hash]),
        "HQ lacks both, named in lower case"
    );

    let (content_type, body) = multipart(&[
        (&png_hash, &png),
        (&sha256_hex(b"something else"), &strokes),
    ]);
    let wrong = api.raw(upload(&content_type, body, Some(&dev.token))).await;
    assert_error(
        &wrong,
        StatusCode::UNPROCESSABLE_ENTITY,
        "hash_mismatch",
        "one wrong part refuses the batch",
    );
    let after_wrong = missing(vec![png_hash.clone()]).await;
    assert_eq!(
        after_wrong.body["missing"],
        json!([png_hash]),
        "nothing of a refused batch is kept, not even its good part"
    );

    let (content_type, body) = multipart(&[(&png_hash, &png), (&strokes_hash, &strokes)]);
    let cut = api
        .raw(upload(
            &content_type,
            body[..body.len() / 2].to_vec(),
            Some(&dev.token),
        ))
        .await;
    assert_error(
        &cut,
        StatusCode::BAD_REQUEST,
        "bad_body",
        "a body cut mid-part is refused, not half-stored",
    );
    assert_eq!(
        missing(vec![png_hash.clone()]).await.body["missing"],
        json!([png_hash])
    );
    let anonymous = api.raw(upload(&content_type, body.clone(), None)).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let not_multipart = api
        .raw(upload("application/json", b"{}".to_vec(), Some(&dev.token)))
        .await;
    assert_error(
        &not_multipart,
        StatusCode::BAD_REQUEST,
        "content_type",
        "the batch must be multipart",
    );

    let stored = api.raw(upload(&content_type, body, Some(&dev.token))).await;
    assert_eq!(stored.status, StatusCode::CREATED, "{:?}", stored.body);
    assert_eq!(
        stored.body["stored"],
        json!([
            {"hash": png_hash, "size": png.len(), "created": true},
            {"hash": strokes_hash, "size": strokes.len(), "created": true},
        ])
    );
    let (content_type, body) = multipart(&[(&png_hash, &png)]);
    let again = api.raw(upload(&content_type, body, Some(&dev.token))).await;
    assert_eq!(
        again.body["stored"][0]["created"],
        json!(false),
        "a blob sent twice is stored once"
    );
    assert_eq!(
        missing(vec![png_hash.clone(), strokes_hash.clone()])
            .await
            .body["missing"],
        json!([])
    );

    let bad = missing(vec!["not-a-hash".into()]).await;
    assert_error(
        &bad,
        StatusCode::BAD_REQUEST,
        "bad_hash",
        "names are hashes",
    );
    let too_many = missing(vec![
        png_hash.clone();
        doorstep_core::wire::MAX_BLOB_QUERY + 1
    ])
    .await;
    assert_error(
        &too_many,
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        "the question has a size limit",
    );
}

#[tokio::test]
async fn dispatcher_flow_import_board_conflict() {
    let api = Api::new().await;
    let a = api.technician("A").await;
    let dev = api.enroll(&a).await;
    let csv = |rows: &str| {
        let cookie = format!("doorstep_session={}", api.session);
        Request::builder()
            .method(Method::POST)
            .uri("/api/v1/jobs/import")
            .header("cookie", cookie)
            .header("content-type", "text/csv")
            .body(Body::from(format!(
                "customer_name,phone,address,job_type,sub_case,fault_description,window_start,window_end,technician\n{rows}"
            )))
            .unwrap()
    };
    let bad = api
        .raw(csv(
            "王,1380,福州,fault,indoor,no signal,2026-12-01T09:00:00+08:00,2026-12-01T10:00:00+08:00,A\n\
             李,1381,厦门,repair,indoor,,2026-12-01T09:00:00+08:00,2026-12-01T10:00:00+08:00,\n\
             陈,1382,泉州,install,outdoor,,2026-12-01T11:00:00+08:00,2026-12-01T10:00:00+08:00,Nobody\n",
        ))
        .await;
    assert_error(
        &bad,
        StatusCode::UNPROCESSABLE_ENTITY,
        "import_invalid",
        "bad rows refuse the import",
    );
    let rows: Vec<u64> = bad.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["row"].as_u64().unwrap())
        .collect();
    assert_eq!(rows, vec![2, 3], "each bad row is reported by number");
    let board = api
        .console(Method::GET, "/api/v1/board?date=2026-12-01", None)
        .await;
    let total: usize = board.body["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["jobs"].as_array().unwrap().len())
        .sum();
    assert_eq!(total, 0, "nothing is half-imported");

    let good = api
        .raw(csv(
            "王,1380,福州,fault,indoor,no signal,2026-12-01T09:00:00+08:00,2026-12-01T10:00:00+08:00,A\n\
             李,1381,厦门,install,drilling_wiring,,2026-12-01T13:00:00+08:00,2026-12-01T14:00:00+08:00,\n",
        ))
        .await;
    assert_eq!(good.status, StatusCode::CREATED, "{:?}", good.body);
    let created: Vec<String> = serde_json::from_value(good.body["created"].clone()).unwrap();
    assert_eq!(created.len(), 2);
    let board = api
        .console(Method::GET, "/api/v1/board?date=2026-12-01", None)
        .await;
    let columns = board.body["columns"].as_array().unwrap();
    assert_eq!(
        columns[0]["technician"]["name"], "A",
        "a column per technician"
    );
    assert_eq!(columns[0]["counts"]["scheduled"], 1, "counted by status");
    assert!(
        columns.last().unwrap()["technician"].is_null()
            && columns.last().unwrap()["jobs"].as_array().unwrap().len() == 1,
        "unassigned jobs have their own column"
    );

    // A conflict: HQ cancels, the device completes offline and pushes.
    let job = &created[0];
    let cancel = api
        .console(Method::POST, &format!("/api/v1/jobs/{job}/cancel"), None)
        .await;
    assert_eq!(cancel.status, StatusCode::OK);
    let pushed = api
        .device(
            &dev.token,
            Method::POST,
            "/api/v1/sync/push",
            Some(push_body(
                &dev,
                vec![
                    entry(1, job_id(job), kit()),
                    entry(2, job_id(job), Change::Complete),
                ],
            )),
        )
        .await;
    assert_eq!(
        pushed.status,
        StatusCode::OK,
        "the records are kept: {:?}",
        pushed.body
    );
    assert_eq!(
        pushed.body["conflicts"][0]["reason"], "cancelled",
        "and the push says they ran into a cancellation"
    );
    let queue = api.console(Method::GET, "/api/v1/conflicts", None).await;
    let conflict = queue.body[0]["id"].as_str().unwrap().to_string();
    let resolved = api
        .console(
            Method::POST,
            &format!("/api/v1/conflicts/{conflict}/resolve"),
            Some(json!({"resolution": "keep_cancelled", "note": "customer cancelled"})),
        )
        .await;
    assert_eq!(resolved.status, StatusCode::OK, "{:?}", resolved.body);
    assert_eq!(
        resolved.body["resolved_by"], "ann",
        "who resolved it is kept"
    );
    let bad_resolution = api
        .console(
            Method::POST,
            &format!("/api/v1/conflicts/{conflict}/resolve"),
            Some(json!({"resolution": "flip_a_coin"})),
        )
        .await;
    assert_eq!(
        bad_resolution.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "only the two resolutions exist"
    );
    let pulled = api
        .device(&dev.token, Method::GET, "/api/v1/sync/jobs", None)
        .await;
    let pulled: PullResponse = serde_json::from_value(pulled.body).unwrap();
    assert_eq!(
        pulled
            .jobs
            .iter()
            .find(|j| j.id.to_string() == *job)
            .map(|j| j.status),
        Some(doorstep_core::JobStatus::Cancelled),
        "the device learns the job stays cancelled"
    );
}

#[tokio::test]
async fn sync_over_a_real_listener() {
    let (storage, _dir) = sqlite();
    let hq = Hq::new(storage, fixed_clock());
    let demo = doorstep_hq::admin::load_demo(&hq).await.unwrap();
    assert!(demo.jobs >= 20, "the demo set has a day's worth of jobs");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        axum::serve(listener, router(hq)).await.unwrap();
    });
    let client = reqwest::Client::new();

    let health = client.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(health.status(), 200, "the server is up on a real port");
    let enrolled: EnrollResponse = client
        .post(format!("{base}/api/v1/enroll"))
        .header("x-doorstep-protocol", "1")
        .json(&json!({"code": demo.code.code, "device_name": "field laptop"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(enrolled.technician.id, demo.technicians[0].id);
    let pulled: PullResponse = client
        .get(format!("{base}/api/v1/sync/jobs"))
        .header("x-doorstep-protocol", "1")
        .bearer_auth(&enrolled.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        pulled.jobs.len(),
        demo.jobs.div_ceil(2),
        "the first technician gets half the demo jobs"
    );
    let job = pulled.jobs[0].id;
    let response: PushResponse = client
        .post(format!("{base}/api/v1/sync/push"))
        .header("x-doorstep-protocol", "1")
        .bearer_auth(&enrolled.token)
        .json(&push_body(&enrolled, vec![entry(1, job, kit())]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        response.applied_through_seq, 1,
        "the push lands over the wire"
    );
    let blob = vec![7u8; 20 * 1024];
    let put = client
        .put(format!("{base}/api/v1/blobs/{}", sha256_hex(&blob)))
        .header("x-doorstep-protocol", "1")
        .bearer_auth(&enrolled.token)
        .body(blob)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 201, "a 20 KiB blob uploads");
    let next: PullResponse = client
        .get(format!("{base}/api/v1/sync/jobs?since={}", pulled.cursor))
        .header("x-doorstep-protocol", "1")
        .bearer_auth(&enrolled.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        next.jobs.is_empty(),
        "the device's own progress is not a dispatch change to pull again"
    );
    server.abort();
}

/// A CSV upload as the logged-in dispatcher, under the expected header.
fn csv_import(api: &Api, rows: &str) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri("/api/v1/jobs/import")
        .header("cookie", format!("doorstep_session={}", api.session))
        .header("content-type", "text/csv")
        .body(Body::from(format!(
            "customer_name,phone,address,job_type,sub_case,fault_description,window_start,window_end,technician\n{rows}"
        )))
        .unwrap()
}

/// A refusal that names the field and the years HQ accepts.
fn assert_out_of_range(reply: &Reply, status: StatusCode, code: &str, field: &str, why: &str) {
    assert_error(reply, status, code, why);
    let message = reply.body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(field) && message.contains("2000 to 2100"),
        "{why}: the message must name {field} and the accepted years: {message}"
    );
}

#[tokio::test]
async fn times_outside_2000_to_2100_are_refused_or_kept_apart_where_they_enter() {
    let api = Api::new().await;
    let a = api.technician("A").await;
    let dev = api.enroll(&a).await;
    let job = api.job(&a).await;

    // The dispatcher's job: created, imported, re-booked.
    for (start, end) in [
        ("2101-01-01T09:00:00Z", "2101-01-01T10:00:00Z"),
        ("1999-12-31T09:00:00Z", "2026-12-01T10:00:00Z"),
    ] {
        let created = api
            .console(
                Method::POST,
                "/api/v1/jobs",
                Some(json!({
                    "customer_name": "王女士", "phone": "13800000000", "address": "福州",
                    "job_type": "fault", "sub_case": "indoor",
                    "window_start": start, "window_end": end,
                    "technician_id": a.id,
                })),
            )
            .await;
        assert_out_of_range(
            &created,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            "window_start",
            "a job window outside the years HQ accepts is refused",
        );
    }
    let far = api
        .console(
            Method::POST,
            "/api/v1/jobs",
            Some(json!({
                "customer_name": "王女士", "phone": "13800000000", "address": "福州",
                "job_type": "fault", "sub_case": "indoor",
                "window_start": at(60), "window_end": at(120),
                "earlier_visits": [{"date": "2101-01-01", "summary": "?"}],
            })),
        )
        .await;
    assert_out_of_range(
        &far,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
        "earlier_visits",
        "an earlier visit's date is checked too",
    );
    let imported = api
        .raw(csv_import(
            &api,
            "王,1380,福州,fault,indoor,,2026-12-01T09:00:00+08:00,2026-12-01T10:00:00+08:00,A\n\
             李,1381,厦门,fault,indoor,,2026-12-01T09:00:00+08:00,2101-12-01T10:00:00+08:00,A\n",
        ))
        .await;
    assert_error(
        &imported,
        StatusCode::UNPROCESSABLE_ENTITY,
        "import_invalid",
        "a CSV row out of range refuses the import",
    );
    assert_eq!(imported.body["errors"][0]["row"], 2, "the bad row is named");
    let message = imported.body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("window_end") && message.contains("2000 to 2100"),
        "the row's message names the field and the accepted years: {message}"
    );
    let rebooked = api
        .console(
            Method::POST,
            &format!("/api/v1/jobs/{job}/reschedule"),
            Some(json!({"window_start": "9999-12-31T00:00:00Z", "window_end": "9999-12-31T01:00:00Z"})),
        )
        .await;
    assert_out_of_range(
        &rebooked,
        StatusCode::UNPROCESSABLE_ENTITY,
        "time_out_of_range",
        "window_start",
        "re-booking into year 9999 is refused",
    );

    // The board's date: in range, or a 400 (never a panic or a 500).
    for date in [
        "2101-01-01",
        "%2B262142-12-31",
        "+262142-12-31",
        "-262143-01-01",
    ] {
        let board = api
            .console(Method::GET, &format!("/api/v1/board?date={date}"), None)
            .await;
        assert_eq!(
            board.status,
            StatusCode::BAD_REQUEST,
            "board date {date} is refused as a bad request: {:?}",
            board.body
        );
    }
    let board = api
        .console(Method::GET, "/api/v1/board?date=2101-01-01", None)
        .await;
    assert_out_of_range(
        &board,
        StatusCode::BAD_REQUEST,
        "time_out_of_range",
        "date",
        "a board date outside the years HQ accepts",
    );

    // The device: an op's time, and the times HQ computes with inside it.
    let job = job_id(&job);
    let mut late_clock = entry(1, job, kit());
    late_clock.device_time = "2101-01-01T00:00:00Z".parse().unwrap();
    let arrival = Change::SaveArrival(doorstep_core::Arrival {
        arrived_at: Some("1970-01-01T00:00:00Z".parse().unwrap()),
        knock_started_at: None,
        door_answered: true,
        badge_shown: true,
        fault_point_verified: true,
        service_form_left: true,
        corrections: Vec::new(),
    });
    let reschedule = Change::Reschedule(doorstep_core::Reschedule {
        reason: doorstep_core::RescheduleReason::NeedsSupport,
        note: "ladder".into(),
        new_start: "2200-01-01T00:00:00Z".parse().unwrap(),
        new_end: "2200-01-01T01:00:00Z".parse().unwrap(),
    });
    // A clock set years wrong (a flat CMOS battery) must not stop the
    // device's sync for good, nor lose its work: each such change is kept
    // apart with a conflict, and the changes behind it go on.
    let mut entries = vec![
        late_clock,
        entry(2, job, arrival),
        entry(3, job, reschedule),
    ];
    entries.push(entry(4, job, kit()));
    let mut body = push_body(&dev, entries);
    body["sent_at"] = json!("2026-12-04T12:00:00Z");
    let reply = api
        .device(&dev.token, Method::POST, "/api/v1/sync/push", Some(body))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["applied_through_seq"], 4, "{:?}", reply.body);
    assert_eq!(
        reply.body["conflicts"][0]["reason"], "impossible_time",
        "the device hears why: {:?}",
        reply.body
    );
    let detail = api
        .console(Method::GET, &format!("/api/v1/jobs/{job}"), None)
        .await;
    let timeline = detail.body["timeline"].as_array().unwrap();
    assert_eq!(
        timeline.iter().map(|op| &op["seq"]).collect::<Vec<_>>(),
        vec![&json!(4)],
        "only the change with possible times entered the job: {timeline:?}"
    );
    assert_eq!(
        timeline[0]["clock_skew_seconds"],
        3 * 86_400,
        "sent from a clock three days fast, the change is flagged"
    );

    // A time no clock shows is garbage: the request is refused whole.
    let mut garbage = entry(5, job, kit());
    garbage.device_time = "+10000-01-01T00:00:00Z".parse().unwrap();
    let reply = api
        .device(
            &dev.token,
            Method::POST,
            "/api/v1/sync/push",
            Some(push_body(&dev, vec![garbage])),
        )
        .await;
    assert_error(
        &reply,
        StatusCode::UNPROCESSABLE_ENTITY,
        "time_out_of_range",
        "a time outside years 1 to 9999 is refused with the request",
    );
    let message = reply.body["message"].as_str().unwrap_or_default();
    assert!(message.contains("device_time"), "{message}");
    let pulled = api
        .device(&dev.token, Method::GET, "/api/v1/sync/jobs", None)
        .await;
    assert_eq!(
        pulled.status,
        StatusCode::OK,
        "nothing impossible entered a job, so the technician's pull still works: {:?}",
        pulled.body
    );
}

#[tokio::test]
async fn csv_import_refuses_a_name_two_technicians_share() {
    let api = Api::new().await;
    let first = api.technician("林").await;
    api.technician("林").await;
    let row = |technician: &str| {
        format!("王,1380,福州,fault,indoor,,2026-12-01T09:00:00+08:00,2026-12-01T10:00:00+08:00,{technician}\n")
    };
    let shared = api.raw(csv_import(&api, &row("林"))).await;
    assert_error(
        &shared,
        StatusCode::UNPROCESSABLE_ENTITY,
        "import_invalid",
        "a shared name cannot say which technician is meant",
    );
    assert_eq!(shared.body["errors"][0]["row"], 1, "the row is named");
    let message = shared.body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("more than one") && message.contains("林"),
        "the message says the name is shared: {message}"
    );
    let by_id = api.raw(csv_import(&api, &row(&first.id.to_string()))).await;
    assert_eq!(
        by_id.status,
        StatusCode::CREATED,
        "the technician's id still picks one of them: {:?}",
        by_id.body
    );
}

/// A CSV may end each row with when the customer reported the job: the
/// repair-time target runs from it, not from the upload. A file without the
/// column (made before it existed) still imports; a bad report time is its
/// row's error.
#[tokio::test]
async fn csv_import_takes_an_optional_report_time() {
    let api = Api::new().await;
    let target = api
        .console(
            Method::POST,
            "/api/v1/settings/repair-targets",
            Some(json!({"job_type": "fault", "hours": 24})),
        )
        .await;
    assert_eq!(target.status, StatusCode::OK, "{:?}", target.body);
    let upload = |body: &str| {
        Request::builder()
            .method(Method::POST)
            .uri("/api/v1/jobs/import")
            .header("cookie", format!("doorstep_session={}", api.session))
            .header("content-type", "text/csv")
            .body(Body::from(format!(
                "customer_name,phone,address,job_type,sub_case,fault_description,window_start,\
                 window_end,technician,reported_at\n{body}"
            )))
            .unwrap()
    };
    let bad = api
        .raw(upload("王,1380,福州,fault,indoor,,2026-12-01T09:00:00+08:00,2026-12-01T10:00:00+08:00,,yesterday\n"))
        .await;
    assert_error(
        &bad,
        StatusCode::UNPROCESSABLE_ENTITY,
        "import_invalid",
        "a report time that is no time",
    );
    let good = api
        .raw(upload("王,1380,福州,fault,indoor,,2026-12-01T09:00:00+08:00,2026-12-01T10:00:00+08:00,,2026-11-30T08:00:00+08:00\n"))
        .await;
    assert_eq!(good.status, StatusCode::CREATED, "{:?}", good.body);
    let id = good.body["created"][0].as_str().unwrap();
    let detail = api
        .console(Method::GET, &format!("/api/v1/jobs/{id}"), None)
        .await;
    assert_eq!(detail.body["repair"]["reported_at"], "2026-11-30T00:00:00Z");
    assert_eq!(detail.body["repair"]["due_by"], "2026-12-01T00:00:00Z");
    let old = api
        .raw(csv_import(
            &api,
            "李,1381,厦门,fault,indoor,,2026-12-01T13:00:00+08:00,2026-12-01T14:00:00+08:00,\n",
        ))
        .await;
    assert_eq!(old.status, StatusCode::CREATED, "{:?}", old.body);
}

/// The session a successful log-in set, from its cookie.
fn session_cookie_of(reply: &Reply) -> String {
    let cookie = reply.headers["set-cookie"].to_str().unwrap();
    let value = cookie
        .strip_prefix("doorstep_session=")
        .and_then(|rest| rest.split(';').next())
        .unwrap();
    value.to_string()
}

/// The audit log's entries for a query, newest first.
async fn audit(api: &Api, query: &str) -> Vec<Value> {
    let reply = api
        .console(Method::GET, &format!("/api/v1/audit{query}"), None)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{query}: {:?}", reply.body);
    reply.body["entries"].as_array().unwrap().clone()
}

fn actions(entries: &[Value]) -> Vec<&str> {
    entries
        .iter()
        .rev()
        .map(|e| e["action"].as_str().unwrap())
        .collect()
}

/// Every dispatcher action through the API lands in the audit log under the
/// dispatcher who did it, naming what it acted on; failed log-ins too, under
/// the name typed and without the password. The log filters by actor,
/// action, job and time, pages, and a job's page shows its own entries.
#[tokio::test]
async fn every_dispatcher_action_is_in_the_audit_log() {
    let api = Api::new().await;
    assert_eq!(
        api.login("ann", "wrong horse!").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        api.login("mallory", "correct horse").await.status,
        StatusCode::UNAUTHORIZED
    );
    let a = api.technician("A").await;
    let dev = api.enroll(&a).await;
    let job = api.job(&a).await;
    let b = api.technician("B").await;
    let assign = api
        .console(
            Method::POST,
            &format!("/api/v1/jobs/{job}/assign"),
            Some(json!({"technician_id": a.id})),
        )
        .await;
    assert_eq!(assign.status, StatusCode::OK, "{:?}", assign.body);
    let reschedule = api
        .console(
            Method::POST,
            &format!("/api/v1/jobs/{job}/reschedule"),
            Some(json!({"window_start": at(180), "window_end": at(240)})),
        )
        .await;
    assert_eq!(reschedule.status, StatusCode::OK, "{:?}", reschedule.body);
    let pushed = api
        .device(
            &dev.token,
            Method::POST,
            "/api/v1/sync/push",
            Some(push_body(&dev, vec![entry(1, job_id(&job), kit())])),
        )
        .await;
    assert_eq!(pushed.status, StatusCode::OK, "{:?}", pushed.body);
    let cancel = api
        .console(Method::POST, &format!("/api/v1/jobs/{job}/cancel"), None)
        .await;
    assert_eq!(cancel.status, StatusCode::OK);
    let pushed = api
        .device(
            &dev.token,
            Method::POST,
            "/api/v1/sync/push",
            Some(push_body(
                &dev,
                vec![entry(2, job_id(&job), Change::Complete)],
            )),
        )
        .await;
    assert_eq!(pushed.body["conflicts"][0]["reason"], "cancelled");
    let conflict = pushed.body["conflicts"][0]["conflict_id"]
        .as_str()
        .unwrap()
        .to_string();
    let resolved = api
        .console(
            Method::POST,
            &format!("/api/v1/conflicts/{conflict}/resolve"),
            Some(json!({"resolution": "keep_cancelled", "note": "客户取消"})),
        )
        .await;
    assert_eq!(resolved.status, StatusCode::OK, "{:?}", resolved.body);
    let import = api
        .raw(
            Request::builder()
                .method(Method::POST)
                .uri("/api/v1/jobs/import")
                .header("cookie", format!("doorstep_session={}", api.session))
                .header("content-type", "text/csv")
                .body(Body::from(
                    "customer_name,phone,address,job_type,sub_case,fault_description,window_start,window_end,technician\n\
                     王,1380,福州,fault,indoor,,2026-12-01T09:00:00+08:00,2026-12-01T10:00:00+08:00,B\n",
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(import.status, StatusCode::CREATED, "{:?}", import.body);
    let imported = import.body["created"][0].as_str().unwrap().to_string();
    let revoke = api
        .console(
            Method::POST,
            &format!("/api/v1/devices/{}/revoke", dev.device_id),
            None,
        )
        .await;
    assert_eq!(revoke.status, StatusCode::OK);

    let entries = audit(&api, "").await;
    assert_eq!(
        actions(&entries),
        vec![
            "create_dispatcher",
            "login",
            "login_failed",
            "login_failed",
            "create_technician",
            "issue_code",
            "create_job",
            "create_technician",
            "assign",
            "reschedule",
            "cancel",
            "resolve_conflict",
            "import",
            "revoke_device",
        ],
        "every action, in order: {entries:#?}"
    );
    let named = |action: &str| entries.iter().find(|e| e["action"] == action).unwrap();
    for entry in &entries {
        match entry["action"].as_str() {
            Some("create_dispatcher") => {
                assert_eq!(entry["actor"], Value::Null, "the command line: {entry}")
            }
            Some("login_failed") => {}
            _ => assert_eq!(entry["actor"], "ann", "who did it: {entry}"),
        }
        assert_eq!(
            entry["at"]
                .as_str()
                .map(|t| t.parse::<doorstep_core::Timestamp>().unwrap()),
            Some(t0()),
            "when, on HQ's clock"
        );
    }
    let failed: Vec<(&Value, &Value)> = entries
        .iter()
        .filter(|e| e["action"] == "login_failed")
        .map(|e| (&e["actor"], &e["detail"]))
        .collect();
    assert_eq!(
        failed,
        vec![
            (&json!("mallory"), &json!("unknown username")),
            (&json!("ann"), &json!("wrong password")),
        ],
        "a failed log-in is kept under the name typed, with why"
    );
    assert!(
        !entries.iter().any(|e| e.to_string().contains("horse")),
        "no password ever reaches the log"
    );
    assert_eq!(named("cancel")["job_id"], json!(job));
    assert_eq!(named("assign")["technician_id"], json!(a.id));
    assert_eq!(named("resolve_conflict")["job_id"], json!(job));
    assert_eq!(
        named("resolve_conflict")["detail"],
        "keep_cancelled: 客户取消"
    );
    assert_eq!(named("import")["job_id"], json!(imported));
    assert_eq!(named("import")["technician_id"], json!(b.id));
    assert_eq!(named("revoke_device")["device_id"], json!(dev.device_id));
    assert_eq!(named("issue_code")["technician_id"], json!(a.id));
    assert_eq!(named("create_technician")["technician_id"], json!(b.id));

    // Filters, alone and together.
    assert_eq!(
        actions(&audit(&api, &format!("?job={job}")).await),
        vec![
            "create_job",
            "assign",
            "reschedule",
            "cancel",
            "resolve_conflict"
        ]
    );
    assert_eq!(
        actions(&audit(&api, "?action=cancel").await),
        vec!["cancel"]
    );
    assert_eq!(
        actions(&audit(&api, "?actor=mallory").await),
        vec!["login_failed"]
    );
    assert_eq!(
        actions(&audit(&api, &format!("?actor=ann&job={imported}")).await),
        vec!["import"]
    );
    let from = at(0).to_rfc3339().replace('+', "%2B");
    let later = at(1).to_rfc3339().replace('+', "%2B");
    assert_eq!(
        audit(&api, &format!("?from={from}")).await.len(),
        entries.len()
    );
    assert!(audit(&api, &format!("?from={later}")).await.is_empty());
    assert!(audit(&api, &format!("?to={from}")).await.is_empty());

    // Pages: `next_before` leads on until the last page.
    let mut seen = Vec::new();
    let mut query = "?limit=5".to_string();
    loop {
        let page = api
            .console(Method::GET, &format!("/api/v1/audit{query}"), None)
            .await;
        let page_entries = page.body["entries"].as_array().unwrap();
        assert!(page_entries.len() <= 5);
        seen.extend(page_entries.iter().map(|e| e["id"].clone()));
        match page.body["next_before"].as_i64() {
            Some(before) => query = format!("?limit=5&before={before}"),
            None => break,
        }
    }
    let all: Vec<Value> = entries.iter().map(|e| e["id"].clone()).collect();
    assert_eq!(seen, all, "the pages together are the whole log, once");

    for (query, code) in [
        ("?limit=0", "bad_query"),
        ("?limit=501", "bad_query"),
        ("?action=launch_missiles", "bad_query"),
        ("?job=not-a-uuid", "bad_query"),
        ("?from=yesterday", "bad_query"),
        ("?from=1999-12-31T00:00:00Z", "time_out_of_range"),
    ] {
        let reply = api
            .console(Method::GET, &format!("/api/v1/audit{query}"), None)
            .await;
        assert_error(&reply, StatusCode::BAD_REQUEST, code, query);
    }

    // The job's page shows the dispatchers' actions on it, oldest first.
    let detail = api
        .console(Method::GET, &format!("/api/v1/jobs/{job}"), None)
        .await;
    let on_job: Vec<&str> = detail.body["dispatcher_actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        on_job,
        vec![
            "create_job",
            "assign",
            "reschedule",
            "cancel",
            "resolve_conflict"
        ]
    );
}

/// Disabling a dispatcher ends their sessions and refuses their log-ins; a
/// dispatcher cannot disable their own account. Each change is audited.
#[tokio::test]
async fn a_disabled_dispatcher_is_locked_out() {
    let api = Api::new().await;
    api.hq
        .create_dispatcher("bob", "battery staple")
        .await
        .unwrap();
    let bob = session_cookie_of(&api.login("bob", "battery staple").await);
    assert_eq!(
        api.as_session(&bob, Method::GET, "/api/v1/technicians", None)
            .await
            .status,
        StatusCode::OK
    );
    let own = api
        .console(Method::POST, "/api/v1/dispatchers/ann/disable", None)
        .await;
    assert_error(
        &own,
        StatusCode::CONFLICT,
        "own_account",
        "the console never locks out its user",
    );
    let disabled = api
        .console(Method::POST, "/api/v1/dispatchers/bob/disable", None)
        .await;
    assert_eq!(disabled.status, StatusCode::OK, "{:?}", disabled.body);
    assert!(disabled.body["disabled_at"].is_string());
    let locked = api
        .as_session(&bob, Method::GET, "/api/v1/technicians", None)
        .await;
    assert_error(
        &locked,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "bob's session ended",
    );
    let login = api.login("bob", "battery staple").await;
    assert_error(
        &login,
        StatusCode::FORBIDDEN,
        "account_disabled",
        "a disabled dispatcher cannot log in",
    );
    assert!(
        login.headers.get("set-cookie").is_none(),
        "and gets no session"
    );
    let wrong = api.login("bob", "not his password").await;
    assert_error(
        &wrong,
        StatusCode::UNAUTHORIZED,
        "bad_credentials",
        "a wrong password says only that",
    );
    let missing = api
        .console(Method::POST, "/api/v1/dispatchers/nobody/disable", None)
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let listed = api.console(Method::GET, "/api/v1/dispatchers", None).await;
    let names: Vec<(&str, bool)> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["username"].as_str().unwrap(),
                d["disabled_at"].is_string(),
            )
        })
        .collect();
    assert_eq!(names, vec![("ann", false), ("bob", true)]);
    let enabled = api
        .console(Method::POST, "/api/v1/dispatchers/bob/enable", None)
        .await;
    assert_eq!(enabled.status, StatusCode::OK);
    assert_eq!(
        api.login("bob", "battery staple").await.status,
        StatusCode::OK
    );

    let entries = audit(&api, "?actor=bob").await;
    let details: Vec<(&str, &str)> = entries
        .iter()
        .rev()
        .map(|e| (e["action"].as_str().unwrap(), e["detail"].as_str().unwrap()))
        .collect();
    assert_eq!(
        details,
        vec![
            ("login", ""),
            ("login_failed", "account disabled"),
            ("login_failed", "wrong password"),
            ("login", ""),
        ]
    );
    let by_ann: Vec<(String, Value)> = audit(&api, "?actor=ann")
        .await
        .iter()
        .rev()
        .filter(|e| e["action"] != "login")
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_string(),
                e["username"].clone(),
            )
        })
        .collect();
    assert_eq!(
        by_ann,
        vec![
            ("disable_dispatcher".to_string(), json!("bob")),
            ("enable_dispatcher".to_string(), json!("bob")),
        ],
        "the refused disables leave no entry"
    );
}

/// A dispatcher changes their own password with the current one: the
/// session in use goes on, their other sessions end, the old password stops
/// working.
#[tokio::test]
async fn a_dispatcher_changes_their_own_password() {
    let api = Api::new().await;
    let other = session_cookie_of(&api.login("ann", "correct horse").await);
    let change = |current: &str, new: &str| {
        api.console(
            Method::POST,
            "/api/v1/account/password",
            Some(json!({"current_password": current, "new_password": new})),
        )
    };
    assert_error(
        &change("wrong horse", "battery staple").await,
        StatusCode::FORBIDDEN,
        "wrong_password",
        "the current password is needed",
    );
    assert_error(
        &change("correct horse", "short").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "weak_password",
        "at least 8 characters",
    );
    let changed = change("correct horse", "battery staple").await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{:?}", changed.body);
    assert_eq!(
        api.console(Method::GET, "/api/v1/technicians", None)
            .await
            .status,
        StatusCode::OK,
        "the session that changed it goes on"
    );
    assert_eq!(
        api.as_session(&other, Method::GET, "/api/v1/technicians", None)
            .await
            .status,
        StatusCode::UNAUTHORIZED,
        "another session of the same dispatcher ends"
    );
    assert_eq!(
        api.login("ann", "correct horse").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        api.login("ann", "battery staple").await.status,
        StatusCode::OK
    );
    let changes = audit(&api, "?action=change_password").await;
    assert_eq!(changes.len(), 1, "one entry for the one change");
    assert_eq!(changes[0]["actor"], "ann");
    assert_eq!(changes[0]["username"], "ann");

    // The admin command's way: every session ends.
    api.hq.set_password("ann", "third password").await.unwrap();
    assert_eq!(
        api.console(Method::GET, "/api/v1/technicians", None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

/// An outstanding code can be revoked and then enrolls nothing; the list
/// shows only codes that could still enroll.
#[tokio::test]
async fn an_enrollment_code_can_be_revoked() {
    let api = Api::new().await;
    let a = api.technician("A").await;
    let issue = || {
        api.console(
            Method::POST,
            "/api/v1/enrollment-codes",
            Some(json!({"technician_id": a.id})),
        )
    };
    let kept = issue().await;
    let revoked = issue().await;
    assert_eq!(revoked.status, StatusCode::CREATED);
    let listed = api
        .console(Method::GET, "/api/v1/enrollment-codes", None)
        .await;
    let ids: Vec<&Value> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["id"])
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&&revoked.body["id"]) && ids.contains(&&kept.body["id"]));
    assert!(
        !listed
            .body
            .to_string()
            .contains(kept.body["code"].as_str().unwrap()),
        "the list never shows a code itself"
    );
    let id = revoked.body["id"].as_str().unwrap();
    let reply = api
        .console(
            Method::POST,
            &format!("/api/v1/enrollment-codes/{id}/revoke"),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{:?}", reply.body);
    let enroll = api
        .send(
            Method::POST,
            "/api/v1/enroll",
            &[("x-doorstep-protocol", "1")],
            Some(json!({"code": revoked.body["code"], "device_name": "laptop"})),
        )
        .await;
    assert_error(
        &enroll,
        StatusCode::UNAUTHORIZED,
        "invalid_code",
        "a revoked code enrolls nothing",
    );
    let again = api
        .console(
            Method::POST,
            &format!("/api/v1/enrollment-codes/{id}/revoke"),
            None,
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    let listed = api
        .console(Method::GET, "/api/v1/enrollment-codes", None)
        .await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
    let revokes = audit(&api, "?action=revoke_code").await;
    assert_eq!(revokes.len(), 1);
    assert_eq!(revokes[0]["detail"], format!("code {id}"));
}

/// Admin commands take a password from standard input (or a prompt), never
/// from their arguments, where every user of the machine could read it in
/// the process list.
#[tokio::test]
async fn admin_commands_read_passwords_from_stdin() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", dir.path().join("hq.sqlite3").display());
    let admin = |args: &[&str], stdin: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_doorstep-hq"))
            .arg("admin")
            .args(args)
            .args(["--database", &database])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let created = admin(
        &["create-dispatcher", "--username", "ann", "--password-stdin"],
        "first password\n",
    );
    assert!(created.status.success(), "{created:?}");
    let argv = admin(
        &[
            "create-dispatcher",
            "--username",
            "bob",
            "--password",
            "in plain sight",
        ],
        "",
    );
    assert!(
        !argv.status.success(),
        "a password argument is refused: {argv:?}"
    );
    let set = admin(
        &["set-password", "--username", "ann", "--password-stdin"],
        "second password\r\n",
    );
    assert!(set.status.success(), "{set:?}");
    let disabled = admin(&["disable-dispatcher", "--username", "ann"], "");
    assert!(disabled.status.success(), "{disabled:?}");

    let storage = doorstep_hq::storage::open(&database).await.unwrap();
    let hq = Hq::new(storage, fixed_clock());
    let login = |password: &str| {
        hq.login(
            doorstep_hq::dto::LoginRequest {
                username: "ann".into(),
                password: password.into(),
            },
            None,
        )
    };
    let refused = login("second password").await.unwrap_err();
    assert_eq!(
        refused.code(),
        "account_disabled",
        "disabled by the command"
    );
    let enabled = admin(&["enable-dispatcher", "--username", "ann"], "");
    assert!(enabled.status.success(), "{enabled:?}");
    assert!(
        login("second password").await.is_ok(),
        "the line read, without its line ending, is the password"
    );
    assert_eq!(
        login("first password").await.unwrap_err().code(),
        "bad_credentials"
    );
}

fn logged_call(id: doorstep_core::RecordId, seconds: u32, note: &str) -> Change {
    Change::LogCall(doorstep_core::CallLog {
        id,
        at: at(5),
        outcome: doorstep_core::CallOutcome::Booked,
        note: note.into(),
        duration_seconds: Some(seconds),
    })
}

/// Item 20: a supervisor reviews each technician's calls with their
/// durations. A call edited on the laptop shows once, as last edited, and
/// counts once in the totals; a range that makes no sense is a 400.
#[tokio::test]
async fn calls_are_listed_per_technician_with_durations() {
    let api = Api::new().await;
    let a = api.technician("A").await;
    let b = api.technician("B").await;
    let (dev_a, dev_b) = (api.enroll(&a).await, api.enroll(&b).await);
    let (job_a, job_b) = (job_id(&api.job(&a).await), job_id(&api.job(&b).await));
    let edited = doorstep_core::RecordId::new();
    for (device, entries) in [
        (
            &dev_a,
            vec![
                entry(1, job_a, logged_call(edited, 60, "first")),
                entry(2, job_a, logged_call(edited, 75, "as edited")),
                entry(
                    3,
                    job_a,
                    logged_call(doorstep_core::RecordId::new(), 30, ""),
                ),
            ],
        ),
        (
            &dev_b,
            vec![entry(
                1,
                job_b,
                logged_call(doorstep_core::RecordId::new(), 100, ""),
            )],
        ),
    ] {
        let pushed = api
            .device(
                &device.token,
                Method::POST,
                "/api/v1/sync/push",
                Some(push_body(device, entries)),
            )
            .await;
        assert_eq!(pushed.status, StatusCode::OK, "{:?}", pushed.body);
    }
    let range = format!(
        "from={}&to={}",
        urlencoding(&at(0).to_rfc3339()),
        urlencoding(&at(60).to_rfc3339())
    );
    let all = api
        .console(Method::GET, &format!("/api/v1/calls?{range}"), None)
        .await;
    assert_eq!(all.status, StatusCode::OK, "{:?}", all.body);
    let calls = all.body["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 3, "the edited call shows once: {calls:?}");
    assert_eq!(calls[0]["note"], "as edited");
    assert_eq!(calls[0]["duration_seconds"], 75);
    assert_eq!(calls[0]["customer_name"], "王女士");
    let totals: Vec<(String, u64, u64)> = all.body["technicians"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["technician"]["name"].as_str().unwrap().to_string(),
                t["calls"].as_u64().unwrap(),
                t["total_seconds"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        totals,
        vec![("A".to_string(), 2, 105), ("B".to_string(), 1, 100)],
        "each technician's count and total time, the edit counted once"
    );

    let only_b = api
        .console(
            Method::GET,
            &format!("/api/v1/calls?{range}&technician={}", b.id),
            None,
        )
        .await;
    assert_eq!(only_b.body["calls"].as_array().unwrap().len(), 1);

    let backwards = format!(
        "/api/v1/calls?from={}&to={}",
        urlencoding(&at(60).to_rfc3339()),
        urlencoding(&at(0).to_rfc3339())
    );
    let refused = api.console(Method::GET, &backwards, None).await;
    assert_error(
        &refused,
        StatusCode::BAD_REQUEST,
        "bad_query",
        "a range that ends before it starts",
    );
    let unauthenticated = api.send(Method::GET, "/api/v1/calls", &[], None).await;
    assert_eq!(
        unauthenticated.status,
        StatusCode::UNAUTHORIZED,
        "calls are for dispatchers only"
    );
}

/// `+` in an RFC 3339 offset must be escaped in a query string.
fn urlencoding(text: &str) -> String {
    text.replace('+', "%2B").replace(':', "%3A")
}

/// Item 19: complaints taken on site (a technician's changes) and at HQ (a
/// dispatcher, who owns the reply) are listed together, those awaiting a
/// reply first and flagged once the promise has passed; a dispatcher calls
/// back only on those taken at HQ.
#[tokio::test]
async fn complaints_from_site_and_hq_are_listed_with_overdue_flags() {
    let api = Api::new().await;
    let a = api.technician("A").await;
    let dev = api.enroll(&a).await;
    let job = job_id(&api.job(&a).await);
    // On site, two hours before HQ's now, a reply promised an hour later:
    // overdue now. Another, called back on the laptop.
    let (late, answered) = (
        doorstep_core::RecordId::new(),
        doorstep_core::RecordId::new(),
    );
    let raise = |id, issue: &str| {
        Change::RaiseComplaint(doorstep_core::Complaint {
            id,
            taken_by: "A".into(),
            issue: issue.into(),
            reply_by: at(-60),
        })
    };
    let entries = vec![
        doorstep_core::wire::PushEntry {
            device_time: at(-120),
            ..entry(1, job, raise(late, "又没信号"))
        },
        doorstep_core::wire::PushEntry {
            device_time: at(-120),
            ..entry(2, job, raise(answered, "师傅迟到"))
        },
        doorstep_core::wire::PushEntry {
            device_time: at(-90),
            ..entry(
                3,
                job,
                Change::LogComplaintCallback(doorstep_core::ComplaintCallback {
                    complaint_id: answered,
                    result: "已致歉".into(),
                    satisfied: true,
                }),
            )
        },
    ];
    let pushed = api
        .device(
            &dev.token,
            Method::POST,
            "/api/v1/sync/push",
            Some(push_body(&dev, entries)),
        )
        .await;
    assert_eq!(pushed.status, StatusCode::OK, "{:?}", pushed.body);

    // At HQ: a promise in the past is refused; one for tomorrow is taken.
    let past = api
        .console(
            Method::POST,
            &format!("/api/v1/jobs/{job}/complaints"),
            Some(json!({"issue": "电话投诉", "reply_by": at(-1)})),
        )
        .await;
    assert_error(
        &past,
        StatusCode::UNPROCESSABLE_ENTITY,
        "reply_deadline_past",
        "a promise already broken",
    );
    let taken = api
        .console(
            Method::POST,
            &format!("/api/v1/jobs/{job}/complaints"),
            Some(json!({"issue": "电话投诉:收费不合理", "reply_by": at(24 * 60)})),
        )
        .await;
    assert_eq!(taken.status, StatusCode::CREATED, "{:?}", taken.body);
    assert_eq!(
        taken.body["taken_by"], "ann",
        "the dispatcher who took it owns it"
    );
    let hq_id = taken.body["id"].as_str().unwrap().to_string();

    let listed = api.console(Method::GET, "/api/v1/complaints", None).await;
    assert_eq!(listed.status, StatusCode::OK, "{:?}", listed.body);
    let rows: Vec<(String, String, bool, bool)> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["complaint"]["issue"].as_str().unwrap().to_string(),
                c["source"].as_str().unwrap().to_string(),
                c["overdue"].as_bool().unwrap(),
                c["complaint"]["callback"].is_null(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("又没信号".to_string(), "on_site".to_string(), true, true),
            (
                "电话投诉:收费不合理".to_string(),
                "hq".to_string(),
                false,
                true
            ),
            ("师傅迟到".to_string(), "on_site".to_string(), false, false),
        ],
        "awaiting a reply first, soonest promised first; the missed promise flagged"
    );
    assert_eq!(listed.body[0]["customer_name"], "王女士");
    assert_eq!(listed.body[0]["technician"]["name"], "A");

    // A dispatcher cannot call back on the technician's complaint; they
    // call back on their own.
    let not_theirs = api
        .console(
            Method::POST,
            &format!("/api/v1/complaints/{late}/callback"),
            Some(json!({"result": "x", "satisfied": true})),
        )
        .await;
    assert_eq!(not_theirs.status, StatusCode::NOT_FOUND);
    let called = api
        .console(
            Method::POST,
            &format!("/api/v1/complaints/{hq_id}/callback"),
            Some(json!({"result": "已退还多收的 20 元", "satisfied": true})),
        )
        .await;
    assert_eq!(called.status, StatusCode::OK, "{:?}", called.body);
    let open = api
        .console(Method::GET, "/api/v1/complaints?open=true", None)
        .await;
    assert_eq!(
        open.body.as_array().unwrap().len(),
        1,
        "only the overdue one awaits a reply"
    );
    let actions = actions(&audit(&api, "").await).join(",");
    assert!(
        actions.contains("take_complaint") && actions.contains("call_back_complaint"),
        "{actions}"
    );
}

/// Item 16 at HQ: a lead a device pushed is listed for the console and
/// exported as a CSV file to download, where a cell that would start a
/// spreadsheet formula arrives as text (CSV injection), and a bad filter
/// is a JSON 4xx.
#[tokio::test]
async fn leads_are_listed_and_exported_as_csv() {
    let api = Api::new().await;
    let a = api.technician("A").await;
    let dev = api.enroll(&a).await;
    let job = job_id(&api.job(&a).await);
    let lead = doorstep_core::Lead {
        id: doorstep_core::RecordId::new(),
        product: "@SUM(A1)".into(),
        interest: doorstep_core::Interest::Interested,
        note: "=HYPERLINK(\"http://example.invalid\")".into(),
        follow_up_at: chrono::DateTime::parse_from_rfc3339("2026-12-01T10:00:00+08:00").ok(),
        contacts: vec![],
    };
    let pushed = api
        .device(
            &dev.token,
            Method::POST,
            "/api/v1/sync/push",
            Some(push_body(&dev, vec![entry(1, job, Change::AddLead(lead))])),
        )
        .await;
    assert_eq!(pushed.status, StatusCode::OK, "{:?}", pushed.body);

    let list = api.console(Method::GET, "/api/v1/leads", None).await;
    assert_eq!(list.status, StatusCode::OK, "{:?}", list.body);
    assert_eq!(list.body.as_array().unwrap().len(), 1);
    assert_eq!(list.body[0]["technician"]["name"], "A");
    assert_eq!(list.body[0]["customer_name"], "王女士");
    assert_eq!(
        list.body[0]["due"], "now",
        "its reminder has come at HQ's time"
    );

    let request = Request::builder()
        .uri("/api/v1/leads/export?lang=en")
        .header("cookie", format!("doorstep_session={}", api.session))
        .body(Body::empty())
        .unwrap();
    let response = api.app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    assert_eq!(
        response.headers()["content-disposition"],
        "attachment; filename=\"leads.csv\"",
        "the browser saves it rather than showing it"
    );
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let mut lines = text.trim_start_matches('\u{feff}').lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("Technician,Customer,Phone,Product,Intent"));
    let row = lines.next().unwrap();
    assert!(
        row.starts_with("A,王女士,13800000000,'@SUM(A1),Interested,2026-12-01 10:00,now,0,"),
        "{row}"
    );
    assert!(
        row.contains("\"'=HYPERLINK(\"\"http://example.invalid\"\")\""),
        "the formula is text: {row}"
    );

    let bad = api
        .console(Method::GET, "/api/v1/leads?interest=maybe", None)
        .await;
    assert!(bad.status.is_client_error(), "{:?}", bad.status);
    assert!(bad.body["code"].is_string(), "a JSON error: {:?}", bad.body);
}
/// A document as the console uploads it: the titles in the query, the
/// content as the body.
fn upload_document(api: &Api, path: &str, query: &str, bytes: Vec<u8>) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri(format!("{path}?{query}"))
        .header("cookie", format!("doorstep_session={}", api.session))
        .header("content-type", "application/pdf")
        .body(Body::from(bytes))
        .unwrap()
}

/// Technical documents over HTTP: the console's upload refuses what the
/// app could not show safely (not a PDF or an HTML page), what is too
/// large, and a document without a title, each with its own code; a
/// device downloads only a published document, typed by kind and
/// sandboxed, never as a page of HQ's; the pull announces it to every
/// technician with the hash the download must match.
#[tokio::test]
async fn documents_are_checked_on_upload_and_served_to_devices() {
    let api = Api::new().await;
    let a = api.technician("A").await;
    let dev = api.enroll(&a).await;
    let pdf = b"%PDF-1.4\n% a modem guide\n".to_vec();

    let refused = [
        (
            b"PK\x03\x04 a docx".to_vec(),
            "title_zh=%E6%8C%87%E5%8D%97",
            StatusCode::UNPROCESSABLE_ENTITY,
            "document_type",
            "only a PDF or an HTML page is a document",
        ),
        (
            pdf.clone(),
            "title_zh=%20",
            StatusCode::UNPROCESSABLE_ENTITY,
            "title_required",
            "a document needs a title",
        ),
        (
            [
                b"%PDF-".as_slice(),
                &vec![0u8; doorstep_core::wire::MAX_DOCUMENT_BYTES],
            ]
            .concat(),
            "title_en=Big",
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "a document over 20 MiB is refused",
        ),
    ];
    for (bytes, query, status, code, why) in refused {
        let reply = api
            .raw(upload_document(&api, "/api/v1/documents", query, bytes))
            .await;
        assert_error(&reply, status, code, why);
        if code == "too_large" {
            assert!(
                reply.body["message"].as_str().unwrap().contains("20 MiB"),
                "the message says the limit: {:?}",
                reply.body
            );
        }
    }

    let published = api
        .raw(upload_document(
            &api,
            "/api/v1/documents",
            "title_zh=%E5%85%89%E7%8C%AB%E6%8C%87%E5%8D%97&title_en=Modem%20guide",
            pdf.clone(),
        ))
        .await;
    assert_eq!(
        published.status,
        StatusCode::CREATED,
        "{:?}",
        published.body
    );
    assert_eq!(published.body["title_zh"], "光猫指南");
    assert_eq!(published.body["kind"], "pdf");
    assert_eq!(published.body["content_hash"], sha256_hex(&pdf));
    let id = published.body["id"].as_str().unwrap().to_string();

    let pulled: PullResponse = serde_json::from_value(
        api.device(&dev.token, Method::GET, "/api/v1/sync/jobs", None)
            .await
            .body,
    )
    .unwrap();
    assert_eq!(pulled.documents.len(), 1, "the pull announces it");
    assert_eq!(pulled.documents[0].content_hash, sha256_hex(&pdf));

    let content_uri = format!("/api/v1/sync/documents/{id}");
    let download = api
        .device(&dev.token, Method::GET, &content_uri, None)
        .await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(download.headers["content-type"], "application/pdf");
    assert_eq!(download.headers["content-disposition"], "attachment");
    assert_eq!(download.headers["content-security-policy"], "sandbox");
    let console_try = api.console(Method::GET, &content_uri, None).await;
    assert_ne!(
        console_try.status,
        StatusCode::OK,
        "the download is a device's: a session is not a device token"
    );

    let html = b"<!doctype html><title>STB</title><script>alert(1)</script>".to_vec();
    let version = api
        .raw(upload_document(
            &api,
            &format!("/api/v1/documents/{id}/versions"),
            "title_en=Modem%20guide%202",
            html,
        ))
        .await;
    assert_eq!(version.status, StatusCode::CREATED, "{:?}", version.body);
    assert_eq!(version.body["version"], 2);
    assert_eq!(version.body["kind"], "html");
    let html_download = api
        .device(&dev.token, Method::GET, &content_uri, None)
        .await;
    assert_eq!(
        html_download.headers["content-type"],
        "text/html; charset=utf-8"
    );
    assert_eq!(
        html_download.headers["content-security-policy"], "sandbox",
        "an HTML document's scripts never run, even opened straight from HQ"
    );

    let retired = api
        .console(
            Method::POST,
            &format!("/api/v1/documents/{id}/retire"),
            None,
        )
        .await;
    assert_eq!(retired.status, StatusCode::OK);
    assert_eq!(retired.body["state"], "retired");
    let gone = api
        .device(&dev.token, Method::GET, &content_uri, None)
        .await;
    assert_eq!(
        gone.status,
        StatusCode::NOT_FOUND,
        "a retired document is no longer served"
    );
    let listed = api.console(Method::GET, "/api/v1/documents", None).await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
    let entries = audit(&api, "").await;
    let logged = actions(&entries);
    assert!(
        logged.contains(&"publish_document") && logged.contains(&"retire_document"),
        "publishing and retiring are in the audit log: {logged:?}"
    );
}

/// Standard item 11 through HQ's API: dispatchers edit the price list (each
/// edit the next version, in the audit log, refused edits naming what is
/// wrong), a device's pull carries the list only when its version is not the
/// one the device holds, and pushed fees are judged against the version the
/// laptop held when it recorded them: a price HQ has changed since stands
/// (the customer was shown it), a price no list had is kept apart.
#[tokio::test]
async fn the_price_list_is_edited_synced_and_judges_pushed_fees() {
    let api = Api::new().await;
    let a = api.technician("A").await;
    let dev = api.enroll(&a).await;
    let job = api.job(&a).await;

    let list = api.console(Method::GET, "/api/v1/price-list", None).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body["version"], 1);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 6);

    let mount = json!({"code": "wall_mount", "name_zh": "壁挂支架", "name_en": "Wall mount",
                       "unit_price_fen": 8000});
    let added = api
        .console(Method::POST, "/api/v1/price-list", Some(mount.clone()))
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{:?}", added.body);
    assert_eq!(added.body["version"], 2);
    for (bad, code) in [
        (
            json!({"code": "Wall Mount", "name_zh": "x", "name_en": "x", "unit_price_fen": 1}),
            "bad_price_code",
        ),
        (
            json!({"code": "free", "name_zh": "x", "name_en": "x", "unit_price_fen": 0}),
            "bad_unit_price",
        ),
        (
            json!({"code": "no_en", "name_zh": "x", "name_en": " ", "unit_price_fen": 1}),
            "price_name_required",
        ),
    ] {
        let reply = api
            .console(Method::POST, "/api/v1/price-list", Some(bad))
            .await;
        assert_error(
            &reply,
            StatusCode::UNPROCESSABLE_ENTITY,
            code,
            "the item rules hold at HQ, each refusal named",
        );
    }
    let again = api
        .console(Method::POST, "/api/v1/price-list", Some(mount))
        .await;
    assert_error(
        &again,
        StatusCode::CONFLICT,
        "price_code_taken",
        "a code keeps its meaning",
    );

    let pull = |held: &str| {
        let uri = format!("/api/v1/sync/jobs{held}");
        let token = dev.token.clone();
        let api = &api;
        async move {
            let reply = api.device(&token, Method::GET, &uri, None).await;
            assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
            serde_json::from_value::<PullResponse>(reply.body).unwrap()
        }
    };
    let fresh = pull("?price_list_version=1").await;
    let synced = fresh.price_list.expect("the device holds an older list");
    assert_eq!(synced.version, 2);
    assert!(synced.chargeable("wall_mount").is_some());
    assert!(
        pull("?price_list_version=2").await.price_list.is_none(),
        "unchanged: not sent"
    );
    assert!(
        pull("").await.price_list.is_none(),
        "an older app does not ask"
    );

    // Recorded at version 2's price; HQ changes the price before the push.
    let line = |version: u32, fen: u32| doorstep_core::FeeLine {
        code: "wall_mount".into(),
        quantity: 1,
        priced: Some(doorstep_core::PricedAt {
            list_version: version,
            name_zh: "壁挂支架".into(),
            name_en: "Wall mount".into(),
            unit_price_fen: fen,
        }),
    };
    let changed = api
        .console(
            Method::PUT,
            "/api/v1/price-list/wall_mount",
            Some(json!({"name_zh": "壁挂支架", "name_en": "Wall mount", "unit_price_fen": 9000})),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{:?}", changed.body);
    assert_eq!(changed.body["version"], 3);
    let job_ref = job_id(&job);
    let push = |entries| push_body(&dev, entries);
    let reply = api
        .device(
            &dev.token,
            Method::POST,
            "/api/v1/sync/push",
            Some(push(vec![entry(
                1,
                job_ref,
                Change::SetFees(vec![line(2, 8000)]),
            )])),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(
        reply.body["conflicts"],
        json!([]),
        "the price the laptop's list had when it was recorded stands"
    );
    let reply = api
        .device(
            &dev.token,
            Method::POST,
            "/api/v1/sync/push",
            Some(push(vec![entry(
                2,
                job_ref,
                Change::SetFees(vec![line(3, 8000)]),
            )])),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(
        reply.body["conflicts"][0]["reason"], "off_price_list",
        "version 3 charges 90 yuan: 80 is off the list: {:?}",
        reply.body
    );

    let retired = api
        .console(Method::POST, "/api/v1/price-list/wall_mount/retire", None)
        .await;
    assert_eq!(retired.status, StatusCode::OK, "{:?}", retired.body);
    let item = retired.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["code"] == "wall_mount")
        .cloned()
        .unwrap();
    assert_eq!(item["retired"], true, "retired, still readable");
    let twice = api
        .console(Method::POST, "/api/v1/price-list/wall_mount/retire", None)
        .await;
    assert_error(
        &twice,
        StatusCode::CONFLICT,
        "price_item_retired",
        "retired once",
    );
    let unknown = api
        .console(Method::POST, "/api/v1/price-list/nothing/retire", None)
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    let entries = audit(&api, "").await;
    let logged = actions(&entries);
    for action in ["add_price_item", "change_price_item", "retire_price_item"] {
        assert!(logged.contains(&action), "{action} is audited: {logged:?}");
    }
}
