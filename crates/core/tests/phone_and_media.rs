//! The phone step's rules and the image checks.

use std::io::Cursor;

use chrono::NaiveTime;
use doorstep_core::media::{
    clean_photo, clean_signature, photo_thumbnail, PHOTO_MAX_SIDE, THUMBNAIL_MAX_SIDE,
};
use doorstep_core::phone::{call_window, greeting, CallWindow};
use doorstep_core::{DomainError, Lang};
use image::{ImageFormat, Rgba, RgbaImage};

fn t(hour: u32, minute: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(hour, minute, 0).unwrap()
}

#[test]
fn greeting_follows_the_time_of_day_and_never_says_wei() {
    assert_eq!(greeting(t(8, 0), Lang::Zh), "早上好");
    assert_eq!(greeting(t(10, 30), Lang::Zh), "上午好");
    assert_eq!(greeting(t(15, 0), Lang::Zh), "下午好");
    assert_eq!(greeting(t(20, 0), Lang::Zh), "晚上好");
    for hour in 0..24 {
        assert!(
            !greeting(t(hour, 0), Lang::Zh).contains('喂'),
            "hour {hour}"
        );
    }
}

#[test]
fn calls_outside_seven_to_ten_are_forbidden() {
    assert_eq!(call_window(t(6, 59)), CallWindow::Forbidden);
    assert_eq!(call_window(t(7, 0)), CallWindow::Allowed);
    assert_eq!(call_window(t(12, 30)), CallWindow::Mealtime);
    assert_eq!(call_window(t(21, 59)), CallWindow::Allowed);
    assert_eq!(call_window(t(22, 0)), CallWindow::Forbidden);
}

fn encode(image: &RgbaImage, format: ImageFormat) -> Vec<u8> {
    let mut bytes = Vec::new();
    image::DynamicImage::ImageRgba8(image.clone())
        .to_rgb8()
        .write_to(&mut Cursor::new(&mut bytes), format)
        .unwrap();
    bytes
}

#[test]
fn a_signature_is_trimmed_to_its_ink() {
    let mut canvas = RgbaImage::from_pixel(600, 200, Rgba([0, 0, 0, 0]));
    for x in 100..300 {
        canvas.put_pixel(x, 80, Rgba([10, 10, 10, 255]));
        canvas.put_pixel(x, 81, Rgba([10, 10, 10, 255]));
    }
    let mut png = Vec::new();
    canvas
        .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
        .unwrap();
    let clean = clean_signature(&png).unwrap();
    assert_eq!(
        (clean.width, clean.height),
        (200 + 16, 2 + 16),
        "ink plus an 8 px margin"
    );
    let decoded = image::load_from_memory(&clean.bytes).unwrap();
    assert_eq!(decoded.width(), clean.width);
}

#[test]
fn a_blank_or_corrupt_signature_is_refused() {
    let blank = RgbaImage::from_pixel(300, 100, Rgba([255, 255, 255, 0]));
    let mut png = Vec::new();
    blank
        .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
        .unwrap();
    assert_eq!(clean_signature(&png), Err(DomainError::BlankSignature));
    let mut corrupt = png.clone();
    corrupt.truncate(40);
    assert!(matches!(
        clean_signature(&corrupt),
        Err(DomainError::NotAnImage(_))
    ));
}

#[test]
fn a_photo_is_downscaled_and_loses_its_exif() {
    let photo = RgbaImage::from_pixel(3200, 1800, Rgba([200, 120, 40, 255]));
    let jpeg = encode(&photo, ImageFormat::Jpeg);
    // Splice an EXIF segment (APP1) with a recognisable marker after the SOI.
    let marker = b"Exif\0\0GPS-SECRET-LOCATION";
    let mut with_exif = jpeg[..2].to_vec();
    with_exif.extend_from_slice(&[0xFF, 0xE1]);
    with_exif.extend_from_slice(&((marker.len() + 2) as u16).to_be_bytes());
    with_exif.extend_from_slice(marker);
    with_exif.extend_from_slice(&jpeg[2..]);
    assert!(
        image::load_from_memory(&with_exif).is_ok(),
        "the test photo is a valid JPEG"
    );

    let clean = clean_photo(&with_exif).unwrap();
    assert_eq!((clean.width, clean.height), (PHOTO_MAX_SIDE, 900));
    let has_secret = clean
        .bytes
        .windows(b"GPS-SECRET".len())
        .any(|w| w == b"GPS-SECRET");
    assert!(!has_secret, "EXIF must not survive re-encoding");
}

/// The job view shows thumbnails: a stored photo shrinks to the
/// thumbnail's size with its shape kept (a squashed or cropped thumbnail
/// would misreport the site), still a JPEG the web view can show; one
/// already small is not blown up.
#[test]
fn a_thumbnail_keeps_the_photos_shape_at_a_fraction_of_its_pixels() {
    let photo = RgbaImage::from_fn(3200, 1800, |x, y| {
        Rgba([(x % 256) as u8, (y % 256) as u8, 90, 255])
    });
    let stored = clean_photo(&encode(&photo, ImageFormat::Jpeg)).unwrap();
    let thumb = photo_thumbnail(&stored.bytes).unwrap();
    assert_eq!((thumb.width, thumb.height), (THUMBNAIL_MAX_SIDE, 270));
    let decoded = image::load_from_memory_with_format(&thumb.bytes, ImageFormat::Jpeg).unwrap();
    assert_eq!(
        (decoded.width(), decoded.height()),
        (thumb.width, thumb.height)
    );
    assert!(thumb.bytes.len() < stored.bytes.len() / 4);

    let small = clean_photo(&encode(
        &RgbaImage::from_pixel(300, 400, Rgba([9, 9, 9, 255])),
        ImageFormat::Jpeg,
    ))
    .unwrap();
    let thumb = photo_thumbnail(&small.bytes).unwrap();
    assert_eq!((thumb.width, thumb.height), (300, 400));
}

#[test]
fn a_large_file_that_is_not_an_image_is_refused_with_a_clear_message() {
    let garbage = vec![0x42u8; 10 * 1024 * 1024];
    let error = clean_photo(&garbage).unwrap_err();
    assert_eq!(error.code(), "not_an_image");
    assert!(error.message(Lang::Zh).contains("图片"));
    let huge = vec![0u8; 26_000_000];
    assert_eq!(clean_photo(&huge).unwrap_err().code(), "file_too_large");
}
