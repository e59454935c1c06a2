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
//!
//! `?thumb` after a photo's hash asks for its thumbnail, made here on the
//! blob thread each time it is asked for (about 20 ms): the job view shows
//! photos a few hundred pixels wide, and the web view holds each image it
//! shows decoded, 7 MiB for a stored 1600-pixel photo against under 1 MiB
//! for its thumbnail. Kept nowhere, as the photo itself is kept only in the
//! encrypted store.

use doorstep_core::media::photo_thumbnail;
use doorstep_store::{StoreError, StoredBlob};
use tauri::http::{header, Method, Request, Response, StatusCode, Uri};
use tauri::{Manager, Runtime, UriSchemeContext, UriSchemeResponder};

use crate::AppState;

pub const SCHEME: &str = "doorstep-blob";

/// The type the store keeps photos in.
const PHOTO_TYPE: &str = "image/jpeg";
/// The types the store keeps photos (JPEG) and signatures (PNG) in.
const IMAGE_TYPES: [&str; 2] = [PHOTO_TYPE, "image/png"];
/// The query that asks for a photo's thumbnail.
const THUMBNAIL_QUERY: &str = "thumb";

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
            Some(state) => respond(request.method(), request.uri(), |hash| {
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

/// The answer to a request for `uri`, reading the blob with `read`.
fn respond(
    method: &Method,
    uri: &Uri,
    read: impl FnOnce(&str) -> Result<StoredBlob, StoreError>,
) -> Response<Vec<u8>> {
    if method != Method::GET {
        return status(StatusCode::METHOD_NOT_ALLOWED);
    }
    let Some(hash) = uri.path().strip_prefix('/').filter(|hash| is_hash(hash)) else {
        return status(StatusCode::NOT_FOUND);
    };
    let thumbnail = match uri.query() {
        None => false,
        Some(THUMBNAIL_QUERY) => true,
        Some(_) => return status(StatusCode::NOT_FOUND),
    };
    match read(hash) {
        Ok(blob) if thumbnail && blob.mime == PHOTO_TYPE => match photo_thumbnail(&blob.bytes) {
            Ok(small) => image(blob.mime, small.bytes),
            Err(error) => {
                eprintln!(
                    "doorstep: making a photo's thumbnail failed: {}",
                    error.code()
                );
                status(StatusCode::INTERNAL_SERVER_ERROR)
            }
        },
        Ok(blob) if !thumbnail && IMAGE_TYPES.contains(&blob.mime.as_str()) => {
            image(blob.mime, blob.bytes)
        }
        Ok(_) | Err(StoreError::NotFound(_)) => status(StatusCode::NOT_FOUND),
        Err(error) => {
            eprintln!("doorstep: reading a stored image failed: {}", error.code());
            status(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

fn image(mime: String, bytes: Vec<u8>) -> Response<Vec<u8>> {
    Response::builder()
        .header(header::CONTENT_TYPE, mime)
        // Named by its content: what a hash names never changes.
        .header(header::CACHE_CONTROL, "max-age=31536000, immutable")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .body(bytes)
        .expect("a response of valid headers")
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

    fn uri(path_and_query: &str) -> Uri {
        path_and_query.parse().unwrap()
    }

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
        let response = respond(&Method::GET, &uri(&format!("/{HASH}")), |hash| {
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
        let response = respond(&Method::GET, &uri(&format!("/{HASH}")), |hash| {
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
            &format!("/{}'%20OR%20'1'='1", &HASH[..50]),
            &format!("/{HASH}?thumb=1"),
            &format!("/{HASH}?x"),
        ] {
            let response = respond(&Method::GET, &uri(path), |_| {
                panic!("{path} reached the store")
            });
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        }
    }

    /// A signature's strokes are stored as JSON beside its PNG; the scheme
    /// serves images alone.
    #[test]
    fn a_blob_that_is_not_an_image_is_not_served() {
        for mime in ["application/json", "text/html", "image/svg+xml"] {
            let response = respond(&Method::GET, &uri(&format!("/{HASH}")), |_| blob(mime));
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{mime}");
        }
    }

    /// `?thumb` gives a photo at the thumbnail's size, still a JPEG
    /// cacheable for good (a thumbnail too is named by its photo's hash).
    #[test]
    fn a_photos_thumbnail_is_served_small() {
        let photo = image::RgbImage::from_pixel(1600, 1200, image::Rgb([90, 140, 200]));
        let mut jpeg = Vec::new();
        photo
            .write_to(
                &mut std::io::Cursor::new(&mut jpeg),
                image::ImageFormat::Jpeg,
            )
            .unwrap();
        let response = respond(&Method::GET, &uri(&format!("/{HASH}?thumb")), |_| {
            Ok(StoredBlob {
                mime: PHOTO_TYPE.into(),
                bytes: jpeg,
            })
        });
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], PHOTO_TYPE);
        assert!(response.headers().contains_key(header::CACHE_CONTROL));
        let thumb = image::load_from_memory(response.body()).unwrap();
        assert_eq!(
            (thumb.width(), thumb.height()),
            (doorstep_core::media::THUMBNAIL_MAX_SIDE, 360)
        );
    }

    /// Only photos have thumbnails: a signature is asked for whole.
    #[test]
    fn a_signature_has_no_thumbnail() {
        let response = respond(&Method::GET, &uri(&format!("/{HASH}?thumb")), |_| {
            blob("image/png")
        });
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }

    /// The scheme only reads.
    #[test]
    fn only_get_is_answered() {
        let response = respond(&Method::POST, &uri(&format!("/{HASH}")), |_| {
            blob("image/png")
        });
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    }
}
