//! Safe on a network: rate limits on log-in and enrollment, the password
//! checks' cap, the session token kept out of bodies, Origin checks, body
//! size, time and concurrency limits, safety headers and request ids
//! (in-process, `oneshot`); then the real `doorstep-hq` binary over
//! loopback: HTTPS, the reverse-proxy set-up and what its request log holds;
//! and PostgreSQL over TLS.

mod common;

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use common::*;
use doorstep_core::signature::sha256_hex;
use doorstep_core::wire::EnrollRequest;
use doorstep_hq::storage::PostgresStorage;
use doorstep_hq::throttle::{quota, Limits};
use doorstep_hq::{router, router_with, Hq, HttpOptions};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

async fn call(app: &Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
    }
}

/// A JSON request, as if from `from` (the connection's peer address).
fn request(
    method: Method,
    uri: &str,
    headers: &[(&str, &str)],
    body: Value,
    from: Option<IpAddr>,
) -> Request<Body> {
    let mut builder = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let mut request = builder.body(Body::from(body.to_string())).unwrap();
    if let Some(ip) = from {
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::new(ip, 40_000)));
    }
    request
}

fn login(username: &str, password: &str, from: Option<IpAddr>) -> Request<Body> {
    request(
        Method::POST,
        "/api/v1/login",
        &[],
        json!({"username": username, "password": password}),
        from,
    )
}

fn address(n: u8) -> Option<IpAddr> {
    Some(IpAddr::V4(Ipv4Addr::new(198, 51, 100, n)))
}

async fn hq_with_ann() -> (Hq, tempfile::TempDir) {
    let (storage, dir) = sqlite();
    let hq = Hq::new(storage, fixed_clock());
    hq.create_dispatcher("ann", "correct horse").await.unwrap();
    (hq, dir)
}

/// A device token for a new technician.
async fn device_token(hq: &Hq) -> String {
    let technician = hq.create_technician("Lin").await.unwrap();
    let code = hq.issue_enrollment_code(technician.id).await.unwrap();
    hq.enroll(
        EnrollRequest {
            code: code.code,
            device_name: "laptop".into(),
        },
        None,
    )
    .await
    .unwrap()
    .token
}

fn session_cookie(reply: &Reply) -> String {
    let cookie = reply.headers["set-cookie"].to_str().unwrap();
    cookie.split(';').next().unwrap().to_string()
}

#[tokio::test]
async fn log_in_is_rate_limited_per_username_and_per_address() {
    // Guessing a password needs many tries: a username gets 10 at once,
    // however many addresses they come from, and an address gets 20,
    // whichever usernames they name.
    let (hq, _dir) = hq_with_ann().await;
    let app = router(hq);
    for n in 0..10 {
        let reply = call(&app, login("ann", "wrong", address(n))).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "attempt {n}");
    }
    let held = call(&app, login("Ann", "correct horse", address(50))).await;
    assert_eq!(
        held.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{:?}",
        held.body
    );
    assert_eq!(held.body["code"], "rate_limited");
    let wait: u64 = held.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=6).contains(&wait), "Retry-After says when: {wait}");

    for n in 0..20 {
        let reply = call(&app, login(&format!("guess{n}"), "x", address(99))).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "attempt {n}");
    }
    let held = call(&app, login("bob", "x", address(99))).await;
    assert_eq!(held.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(held.headers.contains_key("retry-after"));
    let other = call(&app, login("bob", "x", address(98))).await;
    assert_eq!(
        other.status,
        StatusCode::UNAUTHORIZED,
        "another address is not held up"
    );
}

#[tokio::test]
async fn enrollment_is_rate_limited_per_address() {
    // Codes are hard to guess; the limit keeps a script from trying anyway,
    // while a depot behind one address still enrolls 60 laptops at once.
    let (hq, _dir) = hq_with_ann().await;
    let app = router(hq);
    let enroll = |from| {
        request(
            Method::POST,
            "/api/v1/enroll",
            &[("x-doorstep-protocol", "1")],
            json!({"code": "AAAAA-AAAAA", "device_name": "laptop"}),
            from,
        )
    };
    for n in 0..60 {
        let reply = call(&app, enroll(address(7))).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "attempt {n}");
    }
    let held = call(&app, enroll(address(7))).await;
    assert_eq!(held.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(held.body["code"], "rate_limited");
    assert!(held.headers.contains_key("retry-after"));
    assert_eq!(
        call(&app, enroll(address(8))).await.status,
        StatusCode::UNAUTHORIZED
    );
}

async fn fastest_of_three(app: &Router, username: &str) -> Duration {
    let mut fastest = Duration::MAX;
    for n in 0..3 {
        let start = Instant::now();
        let reply = call(app, login(username, "wrong password", address(n))).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        fastest = fastest.min(start.elapsed());
    }
    fastest
}

#[tokio::test]
async fn an_unknown_username_takes_as_long_as_a_wrong_password() {
    // Otherwise the answer's time tells which usernames exist. Without the
    // stand-in hash an unknown name answers in about a millisecond, tens
    // of times faster; the two are measured in turns, so both meet the
    // same load from other tests, and the fastest of each is compared.
    let (hq, _dir) = hq_with_ann().await;
    let app = router(hq);
    let (mut wrong_password, mut unknown_user) = (Duration::MAX, Duration::MAX);
    for n in 0..5 {
        for (username, fastest) in [("ann", &mut wrong_password), ("nobody", &mut unknown_user)] {
            let start = Instant::now();
            let reply = call(&app, login(username, "wrong password", address(n))).await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
            *fastest = (*fastest).min(start.elapsed());
        }
    }
    assert!(
        unknown_user * 3 > wrong_password,
        "unknown user {unknown_user:?}, wrong password {wrong_password:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_in_flood_waits_for_password_checks_while_syncs_go_on() {
    // One password check at a time: eight at once take eight times one, and
    // a device's pull in the middle of them is answered long before.
    let (hq, _dir) = hq_with_ann().await;
    let hq = hq.with_limits(&Limits {
        login_per_address: quota(1000, Duration::from_millis(1)),
        login_per_username: quota(1000, Duration::from_millis(1)),
        enroll_per_address: quota(1000, Duration::from_millis(1)),
        password_checks: 1,
    });
    let token = device_token(&hq).await;
    let app = router(hq);
    let one = fastest_of_three(&app, "ann").await;

    let start = Instant::now();
    let flood: Vec<_> = (0..8)
        .map(|n| {
            let app = app.clone();
            tokio::spawn(async move {
                call(&app, login(&format!("flood{n}"), "x", None))
                    .await
                    .status
            })
        })
        .collect();
    tokio::time::sleep(one / 2).await;
    let pull_started = Instant::now();
    let pull = call(
        &app,
        request(
            Method::GET,
            "/api/v1/sync/jobs",
            &[
                ("x-doorstep-protocol", "1"),
                ("authorization", &format!("Bearer {token}")),
            ],
            Value::Null,
            None,
        ),
    )
    .await;
    let pull_took = pull_started.elapsed();
    assert_eq!(pull.status, StatusCode::OK);
    for login in flood {
        assert_eq!(login.await.unwrap(), StatusCode::UNAUTHORIZED);
    }
    let flood_took = start.elapsed();
    // Run side by side on two cores, eight checks would take about four
    // times one; one at a time, eight. Five leaves room for a shared
    // machine's noise in the one measured alone.
    assert!(
        flood_took >= one * 5,
        "8 checks one at a time: {flood_took:?}, one takes {one:?}"
    );
    assert!(
        pull_took < flood_took / 2,
        "the pull did not wait for the flood: {pull_took:?} of {flood_took:?}"
    );
}

#[tokio::test]
async fn the_session_token_is_only_in_the_http_only_cookie() {
    // A script injected into the console could read a body, never an
    // HttpOnly cookie.
    let (hq, _dir) = hq_with_ann().await;
    let app = router(hq);
    let reply = call(&app, login("ann", "correct horse", None)).await;
    assert_eq!(reply.status, StatusCode::OK);
    let cookie = session_cookie(&reply);
    let token = cookie.strip_prefix("doorstep_session=").unwrap();
    assert_eq!(token.len(), 64);
    assert!(!reply.body.to_string().contains(token), "{}", reply.body);
    assert_eq!(
        reply.body.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["expires_at", "username"]
    );
}

#[tokio::test]
async fn changes_from_another_site_are_refused() {
    // A page on another site can make the dispatcher's browser send a POST;
    // the browser then says where it came from, and HQ refuses it.
    let (hq, _dir) = hq_with_ann().await;
    let app = router(hq);
    let cookie = session_cookie(&call(&app, login("ann", "correct horse", None)).await);
    let create = |origin: Option<&str>| {
        let mut headers = vec![("cookie", cookie.as_str()), ("host", "hq.example:8443")];
        if let Some(origin) = origin {
            headers.push(("origin", origin));
        }
        request(
            Method::POST,
            "/api/v1/technicians",
            &headers,
            json!({"name": "Lin"}),
            None,
        )
    };
    for foreign in [
        "https://evil.example",
        "https://hq.example",
        "https://hq.example:8444",
        "null",
    ] {
        let refused = call(&app, create(Some(foreign))).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{foreign}");
        assert_eq!(refused.body["code"], "cross_origin", "{foreign}");
        assert!(refused.body["message"]
            .as_str()
            .unwrap()
            .contains("another site"));
    }
    let same = call(&app, create(Some("https://HQ.example:8443"))).await;
    assert_eq!(same.status, StatusCode::CREATED, "the console itself");
    let program = call(&app, create(None)).await;
    assert_eq!(
        program.status,
        StatusCode::CREATED,
        "a script sends no Origin"
    );

    // Logging the victim into the attacker's account is refused too.
    let forged_login = call(
        &app,
        request(
            Method::POST,
            "/api/v1/login",
            &[("origin", "https://evil.example"), ("host", "hq.example")],
            json!({"username": "ann", "password": "correct horse"}),
            None,
        ),
    )
    .await;
    assert_eq!(forged_login.status, StatusCode::FORBIDDEN);
    // Reading is no change (and the browser keeps the answer from the page).
    let read = call(
        &app,
        request(
            Method::GET,
            "/api/v1/technicians",
            &[("cookie", &cookie), ("origin", "https://evil.example")],
            Value::Null,
            None,
        ),
    )
    .await;
    assert_eq!(read.status, StatusCode::OK);
}

#[tokio::test]
async fn log_in_and_enrollment_take_only_small_bodies() {
    // Anyone can reach these two: HQ reads no more than a few KiB for them.
    let (hq, _dir) = hq_with_ann().await;
    let app = router(hq);
    let padding = "x".repeat(5 * 1024);
    let big_login = call(&app, login("ann", &padding, None)).await;
    assert_eq!(big_login.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(big_login.body["code"], "too_large");
    let big_enroll = call(
        &app,
        request(
            Method::POST,
            "/api/v1/enroll",
            &[("x-doorstep-protocol", "1")],
            json!({"code": "AAAAA-AAAAA", "device_name": padding}),
            None,
        ),
    )
    .await;
    assert_eq!(big_enroll.status, StatusCode::PAYLOAD_TOO_LARGE);
}

/// A log-in whose body never arrives: it holds its request open. The
/// receiver hears when HQ starts reading the body (the request is in).
fn trickling_login() -> (Request<Body>, tokio::sync::oneshot::Receiver<()>) {
    let (reading, read) = tokio::sync::oneshot::channel();
    let mut reading = Some(reading);
    let body = futures_util::stream::poll_fn(move |_| {
        if let Some(reading) = reading.take() {
            let _ = reading.send(());
        }
        std::task::Poll::<Option<Result<Vec<u8>, std::io::Error>>>::Pending
    });
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/login")
        .header("content-type", "application/json")
        .body(Body::from_stream(body))
        .unwrap();
    (request, read)
}

#[tokio::test]
async fn a_request_that_takes_too_long_is_answered_503() {
    // A client that trickles its body cannot hold a request slot for ever.
    let (hq, _dir) = hq_with_ann().await;
    let app = router_with(
        hq,
        HttpOptions {
            request_timeout: Duration::from_secs(1),
            ..HttpOptions::default()
        },
    );
    let start = Instant::now();
    let reply = tokio::time::timeout(Duration::from_secs(10), call(&app, trickling_login().0))
        .await
        .expect("HQ answers a stalled request");
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.body["code"], "timeout");
    assert!(start.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn requests_beyond_the_cap_wait_their_turn() {
    // With one request allowed at once, a second waits for the first (here
    // until the first times out), whatever route it asks for.
    let (hq, _dir) = hq_with_ann().await;
    let app = router_with(
        hq,
        HttpOptions {
            request_timeout: Duration::from_secs(2),
            max_requests: 1,
            ..HttpOptions::default()
        },
    );
    let (stalled, inside) = trickling_login();
    let first = tokio::spawn({
        let app = app.clone();
        async move { call(&app, stalled).await.status }
    });
    inside.await.expect("the first request is being handled");
    // The second starts later, so its own time runs out after the first's.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let start = Instant::now();
    let health = call(&app, Request::get("/health").body(Body::empty()).unwrap()).await;
    assert_eq!(health.status, StatusCode::OK);
    assert!(
        start.elapsed() >= Duration::from_millis(1200),
        "the second request waited for the first: {:?}",
        start.elapsed()
    );
    assert_eq!(first.await.unwrap(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn the_console_and_blobs_carry_safety_headers() {
    let (hq, _dir) = hq_with_ann().await;
    let token = device_token(&hq).await;
    let app = router(hq);

    // The console is never framed by another site (click-jacking) and runs
    // only HQ's own scripts.
    let console = call(&app, Request::get("/console/").body(Body::empty()).unwrap()).await;
    let csp = console.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("script-src 'self'"), "{csp}");

    // A customer's photo is downloaded as what it is, never run as a page.
    let bytes = b"\x89PNG not really".to_vec();
    let hash = sha256_hex(&bytes);
    let put = Request::put(format!("/api/v1/blobs/{hash}"))
        .header("x-doorstep-protocol", "1")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::from(bytes))
        .unwrap();
    assert_eq!(call(&app, put).await.status, StatusCode::CREATED);
    let cookie = session_cookie(&call(&app, login("ann", "correct horse", None)).await);
    let blob = call(
        &app,
        Request::get(format!("/api/v1/blobs/{hash}"))
            .header("cookie", cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(blob.status, StatusCode::OK);
    assert_eq!(blob.headers["x-content-type-options"], "nosniff");
    assert_eq!(blob.headers["content-disposition"], "attachment");
    assert_eq!(blob.headers["content-type"], "image/png");

    let api = call(&app, Request::get("/health").body(Body::empty()).unwrap()).await;
    assert_eq!(api.headers["x-content-type-options"], "nosniff");
    assert!(api.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
}

#[tokio::test]
async fn every_answer_carries_a_request_id() {
    // The id ties a user's report to HQ's log line; a proxy's id is kept.
    let (hq, _dir) = hq_with_ann().await;
    let app = router(hq);
    let fresh = call(&app, Request::get("/health").body(Body::empty()).unwrap()).await;
    let id = fresh.headers["x-request-id"].to_str().unwrap();
    assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 4);
    let given = call(
        &app,
        Request::get("/nowhere")
            .header("x-request-id", "proxy-42")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(given.status, StatusCode::NOT_FOUND);
    assert_eq!(given.headers["x-request-id"], "proxy-42");
}

// --- The real binary over loopback ---------------------------------------

/// `doorstep-hq serve` on a SQLite database holding the demo set, on a
/// free loopback port; its stderr (the log) is collected.
struct Server {
    child: Child,
    base: String,
    log: Arc<Mutex<String>>,
    code: String,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start(args: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let database = format!("sqlite:{}", dir.path().join("hq.sqlite3").display());
        let hq = Hq::new(
            doorstep_hq::storage::open(&database).await.unwrap(),
            doorstep_hq::system_clock(),
        );
        let demo = doorstep_hq::admin::load_demo(&hq).await.unwrap();
        drop(hq);
        let mut child = Command::new(env!("CARGO_BIN_EXE_doorstep-hq"))
            .args(["serve", "--listen", "127.0.0.1:0", "--database", &database])
            .args(args)
            .env_remove("RUST_LOG")
            .env_remove("DOORSTEP_HQ_BEHIND_PROXY")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn({
            let log = log.clone();
            move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if let Some((_, url)) = line.split_once("listening on ") {
                        let _ = tx.send(url.trim().to_string());
                    }
                    let mut log = log.lock().unwrap();
                    log.push_str(&line);
                    log.push('\n');
                }
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("doorstep-hq did not start: {}", log.lock().unwrap()));
        Server {
            child,
            base,
            log,
            code: demo.code.code,
            _dir: dir,
        }
    }

    fn port(&self) -> u16 {
        self.base.rsplit(':').next().unwrap().parse().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A CA, and a certificate for 127.0.0.1 it signed, as PEM files in `dir`:
/// (ca, cert, key).
fn certificates(dir: &std::path::Path) -> (std::path::PathBuf, String, String) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let paths = ["ca.pem", "cert.pem", "key.pem"].map(|name| dir.join(name));
    std::fs::write(&paths[0], ca.pem()).unwrap();
    std::fs::write(&paths[1], cert.pem()).unwrap();
    std::fs::write(&paths[2], key.serialize_pem()).unwrap();
    let [ca, cert, key] = paths;
    (ca, cert.display().to_string(), key.display().to_string())
}

async fn demo_login(client: &reqwest::Client, base: &str) -> reqwest::Response {
    client
        .post(format!("{base}/api/v1/login"))
        .json(&json!({"username": "dispatcher", "password": "doorstep-demo"}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn serve_with_tls_speaks_https_and_the_cookie_is_secure() {
    let certs = tempfile::tempdir().unwrap();
    let (ca, cert, key) = certificates(certs.path());
    let server = Server::start(&["--tls-cert", &cert, "--tls-key", &key]).await;
    assert!(
        server.base.starts_with("https://127.0.0.1:"),
        "{}",
        server.base
    );
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&std::fs::read(&ca).unwrap()).unwrap())
        .build()
        .unwrap();
    let login = demo_login(&client, &server.base).await;
    assert_eq!(login.status(), 200);
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("; Secure") && cookie.contains("HttpOnly"),
        "over https the cookie never travels in the clear: {cookie}"
    );
    // Plain http to the same port is no way in.
    let plain = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{}/health", server.port()))
        .send()
        .await;
    assert!(
        plain.map_or(true, |r| !r.status().is_success()),
        "no plain http"
    );
    // A client that does not trust the certificate cannot talk to it.
    assert!(reqwest::Client::new()
        .get(format!("{}/health", server.base))
        .send()
        .await
        .is_err());
}

#[tokio::test]
async fn behind_a_proxy_the_cookie_is_secure_and_limits_go_by_the_forwarded_address() {
    // The proxy serves https and appends each client's address; without
    // --behind-proxy every client would share the proxy's one address.
    let server = Server::start(&["--behind-proxy"]).await;
    let client = reqwest::Client::new();
    let login = demo_login(&client, &server.base).await;
    assert_eq!(login.status(), 200);
    let cookie = login.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");

    let attempt = |n: usize, forwarded: &'static str| {
        client
            .post(format!("{}/api/v1/login", server.base))
            .header("x-forwarded-for", forwarded)
            .json(&json!({"username": format!("guess{n}"), "password": "x"}))
            .send()
    };
    for n in 0..20 {
        let reply = attempt(n, "10.9.9.9, 203.0.113.7").await.unwrap();
        assert_eq!(reply.status(), 401, "attempt {n}");
    }
    let held = attempt(20, "203.0.113.7").await.unwrap();
    assert_eq!(held.status(), 429, "that client is held up");
    let other = attempt(21, "10.9.9.9, 203.0.113.8").await.unwrap();
    assert_eq!(
        other.status(),
        401,
        "another client behind the same proxy is not, whatever it claims first"
    );
}

#[tokio::test]
async fn the_request_log_holds_no_token_password_or_customer_data() {
    let server = Server::start(&[]).await;
    let base = &server.base;
    let client = reqwest::Client::new();
    let login = demo_login(&client, base).await;
    assert_eq!(login.status(), 200);
    let session = login.headers()["set-cookie"].to_str().unwrap().to_string();
    let session_token = session
        .strip_prefix("doorstep_session=")
        .and_then(|rest| rest.split(';').next())
        .unwrap()
        .to_string();
    let wrong = client
        .post(format!("{base}/api/v1/login"))
        .json(&json!({"username": "dispatcher", "password": "not-the-password-9"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);

    let enrolled: Value = client
        .post(format!("{base}/api/v1/enroll"))
        .header("x-doorstep-protocol", "1")
        .json(&json!({"code": server.code, "device_name": "field laptop"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let device_token = enrolled["token"].as_str().unwrap().to_string();
    client
        .get(format!("{base}/api/v1/sync/jobs?since=cursor-in-the-query"))
        .header("x-doorstep-protocol", "1")
        .header("x-request-id", "sync-1")
        .bearer_auth(&device_token)
        .send()
        .await
        .unwrap();
    let full: Value = client
        .get(format!("{base}/api/v1/sync/jobs"))
        .header("x-doorstep-protocol", "1")
        .bearer_auth(&device_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let customer = &full["jobs"][0]["customer"];
    let pushed = client
        .post(format!("{base}/api/v1/sync/push"))
        .header("x-doorstep-protocol", "1")
        .bearer_auth(&device_token)
        .json(&json!({"device_id": enrolled["device_id"], "entries": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(pushed.status(), 200);

    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = server.log.lock().unwrap().clone();
    for secret in [
        "doorstep-demo",
        "not-the-password-9",
        session_token.as_str(),
        device_token.as_str(),
        server.code.as_str(),
        "cursor-in-the-query",
        customer["name"].as_str().unwrap(),
        customer["phone"].as_str().unwrap(),
        customer["address"].as_str().unwrap(),
    ] {
        assert!(!log.contains(secret), "the log holds {secret:?}:\n{log}");
    }
    // What it does hold: one line per request, with its id, method, path
    // (without the query), status and latency; and the failed log-in.
    let sync_line = log
        .lines()
        .find(|line| line.contains("id=sync-1"))
        .unwrap_or_else(|| panic!("no line for the request id:\n{log}"));
    for field in [
        "method=GET",
        "path=/api/v1/sync/jobs",
        "status=",
        "latency_ms=",
    ] {
        assert!(sync_line.contains(field), "{field} in {sync_line}");
    }
    assert!(
        log.lines()
            .any(|line| line.contains("path=/api/v1/login") && line.contains("status=401")),
        "{log}"
    );
    assert!(
        log.contains("log-in refused") && log.contains("username=\"dispatcher\"")
            || log.contains("log-in refused") && log.contains("username=dispatcher"),
        "a failed log-in is logged with its username: {log}"
    );
}

#[tokio::test]
async fn postgres_over_tls_checks_the_server_certificate() {
    let (Ok(url), Ok(ca)) = (
        std::env::var(PG_ENV),
        std::env::var("DOORSTEP_TEST_POSTGRES_CA"),
    ) else {
        eprintln!("SKIPPED: PostgreSQL over TLS needs {PG_ENV} and DOORSTEP_TEST_POSTGRES_CA (scripts/postgres.sh)");
        return;
    };
    let schema = format!("t_{}", uuid::Uuid::now_v7().simple());
    // sslmode=require only connects if the server speaks TLS, and only with
    // a certificate the given CA signed.
    let tls_url = format!("{url}?sslmode=require&sslrootcert={ca}");
    let storage = PostgresStorage::connect(&tls_url, Some(&schema)).await;
    assert!(storage.is_ok(), "{:?}", storage.err());
    let hq = Hq::new(Arc::new(storage.unwrap()), fixed_clock());
    hq.create_technician("Lin").await.unwrap();
    assert_eq!(hq.technicians().await.unwrap().len(), 1);

    let other = tempfile::tempdir().unwrap();
    let (other_ca, _, _) = certificates(other.path());
    let refused = PostgresStorage::connect(
        &format!("{url}?sslmode=require&sslrootcert={}", other_ca.display()),
        Some(&schema),
    )
    .await;
    assert!(
        refused.is_err(),
        "a server whose certificate the CA did not sign is refused"
    );
    PostgresStorage::drop_schema(&tls_url, &schema)
        .await
        .unwrap();
}
