//! The web view's settings that tauri leaves at WebKitGTK's defaults, chosen
//! for an app that shows a job list and forms rather than for a browser.
//!
//! - No hardware acceleration: the job list, forms and signature pad draw
//!   nothing a GPU speeds up, while the accelerated compositing path holds
//!   its own copies of every layer. Measured under Xvfb after opening 20 jobs
//!   (benches/app.rs prints the figures), it is most of the web process's
//!   memory. The signature pad is a plain 2D canvas and stays smooth.
//! - The document-viewer cache model: the app loads its own few pages from
//!   its own bundle, so WebKit's memory and disk caches for browsing the web
//!   only hold memory.

use tauri::{App, Manager};

pub fn tune(app: &App) {
    #[cfg(target_os = "linux")]
    for window in app.webview_windows().values() {
        let tuned = window.with_webview(|webview| {
            use webkit2gtk::{
                CacheModel, HardwareAccelerationPolicy, SettingsExt, WebContextExt, WebViewExt,
            };
            let view = webview.inner();
            if let Some(settings) = view.settings() {
                settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
            }
            if let Some(context) = view.context() {
                context.set_cache_model(CacheModel::DocumentViewer);
            }
        });
        if let Err(error) = tuned {
            eprintln!("doorstep: the web view's settings were left as they were: {error}");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = app;
}
