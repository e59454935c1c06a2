//! The dispatcher console: the Vite build in `ui/dist-console`, served at
//! `/console/`. Release builds embed the folder (rust-embed; build the console
//! first); debug builds read it from disk at run time, so a rebuilt console
//! needs no cargo build. A console that was never built is a clear 404 page,
//! never a panic, and a missing folder never stops HQ from compiling.

use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, X_CONTENT_TYPE_OPTIONS};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

#[derive(rust_embed::RustEmbed)]
#[folder = "../../ui/dist-console"]
#[allow_missing = true]
struct Assets;

/// A file of the console build, by its path inside `dist-console`. Debug
/// builds read the disk themselves: rust-embed's own debug mode cannot find
/// a folder that did not exist when HQ was compiled. (Both branches compile
/// in every profile, so a debug build type-checks the release one.)
fn file(path: &str) -> Option<Vec<u8>> {
    if cfg!(debug_assertions) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/dist-console");
        std::fs::read(dir.join(path)).ok()
    } else {
        Assets::get(path).map(|f| f.data.into_owned())
    }
}

/// The console's routes, merged into `api::router`.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/console", get(redirect))
        .route("/console/", get(index))
        .route("/console/{*path}", get(asset))
}

async fn redirect() -> Response {
    (
        StatusCode::PERMANENT_REDIRECT,
        [(LOCATION, HeaderValue::from_static("/console/"))],
    )
        .into_response()
}

async fn index() -> Response {
    serve("index.html").unwrap_or_else(not_built)
}

async fn asset(Path(path): Path<String>) -> Response {
    serve(&path).unwrap_or_else(|| {
        if file("index.html").is_none() {
            not_built()
        } else {
            missing(&path)
        }
    })
}

fn serve(path: &str) -> Option<Response> {
    // Only plain relative paths inside the build folder.
    if path.contains('\\') || path.split('/').any(|part| matches!(part, "" | "." | "..")) {
        return None;
    }
    let bytes = file(path)?;
    // Vite names assets by their content hash: they never change.
    let cache = if path.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    Some(
        (
            [
                (CONTENT_TYPE, HeaderValue::from_static(mime(path))),
                (CACHE_CONTROL, HeaderValue::from_static(cache)),
                (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            ],
            bytes,
        )
            .into_response(),
    )
}

fn mime(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "map" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

fn not_built() -> Response {
    html(
        StatusCode::NOT_FOUND,
        "<!doctype html><html lang=\"zh-CN\"><meta charset=\"utf-8\">\
         <title>Doorstep HQ</title>\
         <h1>调度台尚未构建 / The dispatcher console was not built</h1>\
         <p>This HQ server has no console files. Build them with \
         <code>npm --prefix ui run build:console</code> (output: <code>ui/dist-console</code>), \
         then restart HQ (a release build embeds them; rebuild it).</p></html>"
            .to_string(),
    )
}

fn missing(path: &str) -> Response {
    let path: String = path
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-_./".contains(*c))
        .take(200)
        .collect();
    html(
        StatusCode::NOT_FOUND,
        format!(
            "<!doctype html><meta charset=\"utf-8\"><title>404</title>\
             <p>Not found: /console/{path}</p><p><a href=\"/console/\">Doorstep console</a></p>"
        ),
    )
}
