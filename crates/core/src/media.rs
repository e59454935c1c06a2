//! Images from outside: the customer's signature and site photos.
//!
//! Both are decoded and re-encoded here, so what is stored is always a clean
//! image of bounded size: a trimmed PNG for a signature, and a downscaled JPEG
//! for a photo (re-encoding drops EXIF, so no GPS position or camera serial
//! leaves the customer's home).

use std::io::Cursor;

use image::{DynamicImage, GenericImageView, ImageFormat, ImageReader, Limits};

use crate::error::DomainError;

pub const SIGNATURE_MAX_BYTES: usize = 2_000_000;
pub const PHOTO_MAX_BYTES: usize = 25_000_000;
/// Longest side of a stored photo, in pixels.
pub const PHOTO_MAX_SIDE: u32 = 1600;
/// Longest side of a photo's thumbnail, in pixels: twice the widest the
/// job view draws one (about 240 CSS pixels), so it stays sharp on a
/// high-density screen while the web view decodes a seventh of the pixels.
pub const THUMBNAIL_MAX_SIDE: u32 = 480;
/// Transparent margin left around the trimmed signature, in pixels.
const SIGNATURE_MARGIN: u32 = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanImage {
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

fn decode(bytes: &[u8], max_bytes: usize) -> Result<DynamicImage, DomainError> {
    if bytes.len() > max_bytes {
        return Err(DomainError::FileTooLarge {
            size: bytes.len(),
            max: max_bytes,
        });
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| DomainError::NotAnImage(e.to_string()))?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(12_000);
    limits.max_image_height = Some(12_000);
    limits.max_alloc = Some(512 * 1024 * 1024);
    reader.limits(limits);
    match reader.format() {
        Some(ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::WebP) => {}
        other => return Err(DomainError::NotAnImage(format!("{other:?}"))),
    }
    reader
        .decode()
        .map_err(|e| DomainError::NotAnImage(e.to_string()))
}

/// Validates a signature PNG, trims it to the ink and re-encodes it.
pub fn clean_signature(png: &[u8]) -> Result<CleanImage, DomainError> {
    let image = decode(png, SIGNATURE_MAX_BYTES)?.to_rgba8();
    let (width, height) = image.dimensions();
    let mut bounds: Option<(u32, u32, u32, u32)> = None;
    for (x, y, pixel) in image.enumerate_pixels() {
        // Ink is any pixel that is not transparent and not near-white.
        let [r, g, b, a] = pixel.0;
        let is_ink = a > 32 && (r < 200 || g < 200 || b < 200);
        if is_ink {
            bounds = Some(match bounds {
                None => (x, y, x, y),
                Some((x0, y0, x1, y1)) => (x0.min(x), y0.min(y), x1.max(x), y1.max(y)),
            });
        }
    }
    let (x0, y0, x1, y1) = bounds.ok_or(DomainError::BlankSignature)?;
    let x0 = x0.saturating_sub(SIGNATURE_MARGIN);
    let y0 = y0.saturating_sub(SIGNATURE_MARGIN);
    let x1 = (x1 + SIGNATURE_MARGIN).min(width - 1);
    let y1 = (y1 + SIGNATURE_MARGIN).min(height - 1);
    let trimmed = DynamicImage::ImageRgba8(image).crop_imm(x0, y0, x1 - x0 + 1, y1 - y0 + 1);
    let mut bytes = Vec::new();
    trimmed
        .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
        .map_err(|e| DomainError::NotAnImage(e.to_string()))?;
    Ok(CleanImage {
        bytes,
        width: trimmed.width(),
        height: trimmed.height(),
    })
}

/// Validates a photo, downscales it and re-encodes it as JPEG without metadata.
pub fn clean_photo(bytes: &[u8]) -> Result<CleanImage, DomainError> {
    let image = decode(bytes, PHOTO_MAX_BYTES)?;
    let (width, height) = image.dimensions();
    let image = if width.max(height) > PHOTO_MAX_SIDE {
        image.resize(
            PHOTO_MAX_SIDE,
            PHOTO_MAX_SIDE,
            image::imageops::FilterType::Triangle,
        )
    } else {
        image
    };
    encode_jpeg(&image)
}

/// A small copy of a stored photo, for the job view's thumbnails: the web
/// view holds every photo it shows decoded, 7 MiB for a full-size one.
/// A photo already that small comes back re-encoded as it is.
pub fn photo_thumbnail(jpeg: &[u8]) -> Result<CleanImage, DomainError> {
    let image = decode(jpeg, PHOTO_MAX_BYTES)?;
    // `thumbnail` averages whole pixels: quicker than a filtered resize
    // and as good at a quarter of the size.
    let image = if image.width().max(image.height()) > THUMBNAIL_MAX_SIDE {
        image.thumbnail(THUMBNAIL_MAX_SIDE, THUMBNAIL_MAX_SIDE)
    } else {
        image
    };
    encode_jpeg(&image)
}

fn encode_jpeg(image: &DynamicImage) -> Result<CleanImage, DomainError> {
    let rgb = DynamicImage::ImageRgb8(image.to_rgb8());
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85);
    rgb.write_with_encoder(encoder)
        .map_err(|e| DomainError::NotAnImage(e.to_string()))?;
    Ok(CleanImage {
        bytes: out,
        width: rgb.width(),
        height: rgb.height(),
    })
}
