//! How the sync client reaches HQ: https except on loopback, an operator's
//! private CA trusted when given at enrollment, and every failure named by
//! what went wrong. Against a real HQ served over real TLS on loopback.

use std::future::IntoFuture;
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use doorstep_core::Lang;
use doorstep_hq::{router, system_clock, Hq};
use doorstep_store::{Store, StoreKey};
use doorstep_sync::{enroll, sync_once, Enrollment, HqClient, SyncError, SyncSummary};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};

const KEY: StoreKey = StoreKey::from_bytes([0x42; 32]);

/// A private certificate authority and a certificate it issued for
/// `localhost`, as an operator running HQ on its own network would have.
struct Pki {
    ca_pem: String,
    server_cert_pem: String,
    server_key_pem: String,
}

fn operator_pki() -> Pki {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "Operator private CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate().unwrap();
    let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::new(ca, ca_key);
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&server_key, &issuer)
        .unwrap();
    Pki {
        ca_pem,
        server_cert_pem: server.pem(),
        server_key_pem: server_key.serialize_pem(),
    }
}

/// A real HQ with the demo set, served over TLS with `pki`'s certificate:
/// its `https://localhost:PORT` address and an enrollment code.
async fn start_hq_over_tls(pki: &Pki) -> (Hq, tempfile::TempDir, String, String) {
    // reqwest picks its own TLS provider; the server here uses the process's.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let storage = doorstep_hq::storage::open(&format!(
        "sqlite:{}",
        dir.path().join("hq.sqlite3").display()
    ))
    .await
    .unwrap();
    let hq = Hq::new(storage, system_clock());
    let demo = doorstep_hq::admin::load_demo(&hq).await.unwrap();
    let tls = axum_server::tls_rustls::RustlsConfig::from_pem(
        pki.server_cert_pem.as_bytes().to_vec(),
        pki.server_key_pem.as_bytes().to_vec(),
    )
    .await
    .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = axum_server::from_tcp_rustls(listener, tls)
        .unwrap()
        .serve(router(hq.clone()).into_make_service());
    tokio::spawn(server);
    (hq, dir, format!("https://localhost:{port}"), demo.code.code)
}

fn app_store() -> (tempfile::TempDir, Mutex<Store>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("app.sqlite3"), &KEY).unwrap();
    (dir, Mutex::new(store))
}

async fn sync(store: &Mutex<Store>) -> Result<SyncSummary, SyncError> {
    sync_once(store, &mut |_| {}, &AtomicBool::new(false)).await
}

#[tokio::test]
async fn hq_with_a_private_ca_is_trusted_only_with_that_ca_given_at_enrollment() {
    let pki = operator_pki();
    let (_hq, _hq_dir, url, code) = start_hq_over_tls(&pki).await;
    let (_dir, store) = app_store();

    // Without the operator's CA, HQ's certificate is not trusted.
    let refused = enroll(&store, &url, &code, "laptop-1", None).await;
    let Err(error @ SyncError::Certificate(_)) = refused else {
        panic!("an unknown CA is a certificate error, not being offline: {refused:?}");
    };
    assert_eq!(error.code(), "certificate_untrusted");
    assert!(
        error.message(Lang::Zh).contains("证书不受信任"),
        "{}",
        error.message(Lang::Zh)
    );
    assert!(error
        .message(Lang::En)
        .contains("HQ's certificate is not trusted"));
    assert!(
        Enrollment::load(&store.lock().unwrap()).unwrap().is_none(),
        "nothing of a failed enrollment is kept"
    );

    // With it, the same code (HQ never saw the first try) enrolls.
    let enrolled = enroll(&store, &url, &code, "laptop-1", Some(&pki.ca_pem))
        .await
        .expect("HQ's certificate chains to the CA given");
    assert_eq!(
        enrolled.private_ca.as_deref(),
        Some(pki.ca_pem.as_str()),
        "the CA is kept with the enrollment"
    );
    let kept = Enrollment::load(&store.lock().unwrap()).unwrap().unwrap();
    assert_eq!(
        kept, enrolled,
        "the enrollment, CA included, is read back from the store"
    );

    // Every sync trusts that CA for that HQ.
    let summary = sync(&store).await.expect("a sync over TLS goes through");
    assert!(summary.jobs_pulled > 0, "the demo jobs come down over TLS");
}

#[tokio::test]
async fn another_ca_than_hqs_is_refused_as_a_certificate_error() {
    let pki = operator_pki();
    let stranger = operator_pki();
    let (_hq, _hq_dir, url, code) = start_hq_over_tls(&pki).await;
    let (_dir, store) = app_store();
    let refused = enroll(&store, &url, &code, "laptop-1", Some(&stranger.ca_pem)).await;
    assert!(
        matches!(refused, Err(SyncError::Certificate(_))),
        "a CA that did not issue HQ's certificate proves nothing: {refused:?}"
    );
}

#[tokio::test]
async fn a_ca_file_that_holds_no_certificate_is_refused_at_enrollment() {
    let (_dir, store) = app_store();
    let refused = enroll(
        &store,
        "https://localhost:9",
        "CODE",
        "laptop-1",
        Some("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
    )
    .await;
    let Err(error @ SyncError::BadCaFile(_)) = refused else {
        panic!("a key is not a CA certificate: {refused:?}");
    };
    assert_eq!(error.code(), "bad_ca_file");
    assert!(error.message(Lang::Zh).contains("CA 证书文件无效"));
    assert!(error
        .message(Lang::En)
        .contains("CA certificate file is not valid"));
}

#[tokio::test]
async fn plain_http_beyond_loopback_is_refused_before_any_request() {
    let (_dir, store) = app_store();
    let refused = enroll(
        &store,
        "http://hq.example.com:8080",
        "CODE",
        "laptop-1",
        None,
    )
    .await;
    let Err(error @ SyncError::Insecure(_)) = refused else {
        panic!("enrolling over plain http to another host is refused: {refused:?}");
    };
    assert_eq!(error.code(), "insecure_url");
    assert!(
        error.message(Lang::Zh).contains("https://"),
        "{}",
        error.message(Lang::Zh)
    );
    assert!(error.message(Lang::En).contains("not encrypted"));

    // An enrollment whose address became plain http is refused at sync too.
    let pki = operator_pki();
    let (_hq, _hq_dir, url, code) = start_hq_over_tls(&pki).await;
    enroll(&store, &url, &code, "laptop-1", Some(&pki.ca_pem))
        .await
        .unwrap();
    store
        .lock()
        .unwrap()
        .set_hq_url("http://10.1.2.3:8080")
        .unwrap();
    let refused = sync(&store).await;
    assert!(
        matches!(refused, Err(SyncError::Insecure(_))),
        "the token never goes over plain http to another host: {refused:?}"
    );
}

/// Serves fixed answers: `/CASE/api/v1/sync/jobs` answers as CASE says.
async fn start_answering_server() -> String {
    async fn answer(
        axum::extract::Path(case): axum::extract::Path<String>,
    ) -> axum::response::Response {
        let api_error = |code: &str, message: &str| {
            Json(serde_json::json!({ "code": code, "message": message }))
        };
        match case.as_str() {
            "hq-fails" => (
                StatusCode::INTERNAL_SERVER_ERROR,
                api_error("internal", "HQ could not complete the request; try again"),
            )
                .into_response(),
            "crashes" => (StatusCode::INTERNAL_SERVER_ERROR, "panic").into_response(),
            "gateway" => (StatusCode::BAD_GATEWAY, "<html>Bad Gateway</html>").into_response(),
            "unknown-token" => (
                StatusCode::UNAUTHORIZED,
                api_error("unauthorized", "unknown device token"),
            )
                .into_response(),
            _ => StatusCode::NOT_FOUND.into_response(),
        }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().route("/{case}/api/v1/sync/jobs", axum::routing::get(answer));
    tokio::spawn(axum::serve(listener, app).into_future());
    url
}

async fn pull_error(url: &str) -> SyncError {
    let client = HqClient::new(url, Some("token".into()), None).unwrap();
    client.pull(None, 1).await.expect_err("the pull fails")
}

#[tokio::test]
async fn a_failed_pull_is_named_by_what_went_wrong() {
    let server = start_answering_server().await;
    let unused = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let cases = [
        (format!("{server}/hq-fails"), "hq_error", "总部出错"),
        (format!("{server}/crashes"), "hq_error", "总部出错"),
        (format!("{server}/gateway"), "offline", "连不上总部"),
        (
            format!("{server}/unknown-token"),
            "unauthorized",
            "重新登记",
        ),
        (unused, "offline", "连不上总部"),
    ];
    for (url, code, says) in cases {
        let error = pull_error(&url).await;
        assert_eq!(error.code(), code, "{url}: {error}");
        assert!(
            error.message(Lang::Zh).contains(says),
            "{url}: the technician reads {says:?}, not {:?}",
            error.message(Lang::Zh)
        );
    }
}
