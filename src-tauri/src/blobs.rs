//! Photos and signatures reach the web view as URLs of the app's own scheme,
//! `doorstep-blob`, served from the store's blobs by their SHA-256, rather
//! than as base64 `data:` URLs over IPC: the bytes cross once, as bytes, the
//! UI holds a short string, and the web view may drop a decoded image it no
//! longer shows and fetch it again. Not `blob`: that is the web's own scheme
//! for object URLs, which WebKit keeps for itself (the document viewer uses
//! it).
//!
//! The URL is `doorstep-blob://localhost/<hash>` on Linux and macOS, and
//! `http://doorstep-blob.localhost/<hash>` on Windows and Android (Tauri's
//! mapping for custom schemes, which the UI's `convertFileSrc` follows).
//! The CSP's `img-src` names both.
//!
//! Only a path that is one SHA-256 in the store's own spelling reaches the
//! store, as a bound parameter of the one blob query: nothing else (no file,
//! no other table) can be read through the scheme. Only images are served,
//! so a signature's strokes (a JSON blob) stay out of the web view's reach.
//! The bytes come from the encrypted store into memory and go straight to
//! the web view; nothing is written anywhere.

use doorstep_store::{StoreError, StoredBlob};
use tauri::http::{header, Method, Request, Response, StatusCode};
use tauri::{Manager, Runtime, UriSchemeContext, UriSchemeResponder};

use crate::AppState;

pub const SCHEME: &str = "doorstep-blob";

/// The types the store keeps photos (JPEG) and signatures (PNG) in.
const IMAGE_TYPES: [&str; 2] = ["image/jpeg", "image/png"];

/// The URL of a stored blob, for HTML the shell builds (the service report).
pub fn url(hash: &str) -> String {
    if cfg!(any(windows, target_os = "android")) {
        format!("http://{SCHEME}.localhost/{hash}")
    } else {
        format!("{SCHEME}://localhost/{hash}")
    }
}

/// The scheme's handler: answers off the UI thread, on the store's blob
/// reader, a connection of its own: a sync or a command holding the store's
/// lock does not hold up an image, and image pages do not fill the store's
/// page cache (kept large for searches) as they did through it.
pub fn serve<R: Runtime>(
    context: UriSchemeContext<'_, R>,
    request: Request<Vec<u8>>,
    responder: UriSchemeResponder,
) {
    let app = context.app_handle().clone();
    tauri::async_runtime::spawn_blocking(move || {
        let response = match app.try_state::<AppState>() {
            Some(state) => respond(request.method(), request.uri().path(), |hash| {
                let blobs = state.blobs.lock().unwrap_or_else(|e| e.into_inner());
                blobs.blob(hash)
            }),
            // Before the store is unlocked, there is no blob to serve.
            None => status(StatusCode::NOT_FOUND),
        };
        responder.respond(response);
    });
}

/// Whether `text` is a SHA-256 as the store writes it: 64 lowercase hex digits.
fn is_hash(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The answer to a request for `path`, reading the blob with `read`.
fn respond(
    method: &Method,
    path: &str,
    read: impl FnOnce(&str) -> Result<StoredBlob, StoreError>,
) -> Response<Vec<u8>> {
    if method != Method::GET {
        return status(StatusCode::METHOD_NOT_ALLOWED);
    }
    let Some(hash) = path.strip_prefix('/').filter(|hash| is_hash(hash)) else {
        return status(StatusCode::NOT_FOUND);
    };
    match read(hash) {
        Ok(blob) if IMAGE_TYPES.contains(&blob.mime.as_str()) => Response::builder()
            .header(header::CONTENT_TYPE, blob.mime)
            // Named by its content: what a hash names never changes.
            .header(header::CACHE_CONTROL, "max-age=31536000, immutable")
            .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
            .body(blob.bytes)
            .expect("a response of valid headers"),
        Ok(_) | Err(StoreError::NotFound(_)) => status(StatusCode::NOT_FOUND),
        Err(error) => {
            eprintln!("doorstep: reading a stored image failed: {}", error.code());
            status(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

fn status(code: StatusCode) -> Response<Vec<u8>> {
    Response::builder()
        .status(code)
        .body(Vec::new())
        .expect("a response of a status alone")
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    fn blob(mime: &str) -> Result<StoredBlob, StoreError> {
        Ok(StoredBlob {
            mime: mime.into(),
            bytes: vec![1, 2, 3],
        })
    }

    /// A stored photo comes back whole with its own type, cacheable for
    /// good: the web view shows it and need not ask again.
    #[test]
    fn a_stored_image_is_served_with_its_type() {
        let mut asked = None;
        let response = respond(&Method::GET, &format!("/{HASH}"), |hash| {
            asked = Some(hash.to_string());
            blob("image/jpeg")
        });
        assert_eq!(asked.as_deref(), Some(HASH));
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "image/jpeg");
        assert!(response.headers()[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("immutable"));
        assert_eq!(response.body(), &vec![1, 2, 3]);
    }

    /// A hash the store lacks is a 404, not an error page or an empty image.
    #[test]
    fn an_unknown_hash_is_not_found() {
        let response = respond(&Method::GET, &format!("/{HASH}"), |hash| {
            Err(StoreError::NotFound(hash.into()))
        });
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }

    /// Anything but one hash never reaches the store: no path, no other
    /// spelling, nothing the query could be bent with.
    #[test]
    fn only_a_hash_reaches_the_store() {
        for path in [
            "/",
            "/../doorstep.sqlite3",
            "/..%2Fdoorstep.sqlite3",
            &format!("/{HASH}/x"),
            &format!("/x/{HASH}"),
            &format!("/{}", HASH.to_uppercase()),
            &format!("/{}", &HASH[1..]),
            &format!("/{HASH}0"),
            &format!("/{}' OR '1'='1", &HASH[..50]),
            HASH,
        ] {
            let response = respond(&Method::GET, path, |_| panic!("{path} reached the store"));
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        }
    }

    /// A signature's strokes are stored as JSON beside its PNG; the scheme
    /// serves images alone.
    #[test]
    fn a_blob_that_is_not_an_image_is_not_served() {
        for mime in ["application/json", "text/html", "image/svg+xml"] {
            let response = respond(&Method::GET, &format!("/{HASH}"), |_| blob(mime));
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{mime}");
        }
    }

    /// The scheme only reads.
    #[test]
    fn only_get_is_answered() {
        let response = respond(&Method::POST, &format!("/{HASH}"), |_| blob("image/png"));
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    }
}
