//! How long the app took to show its first job list, from the process's
//! start: the UI reports the moment once (`list_shown`), and it is printed
//! once to stderr. It is the line `benches/app.rs` waits for to time a cold
//! start without a WebDriver session in the way, and a technician's support
//! log shows it too.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

static STARTED: OnceLock<Instant> = OnceLock::new();
static SHOWN: AtomicBool = AtomicBool::new(false);

/// The line's fixed start, which the bench looks for.
pub const LIST_SHOWN: &str = "doorstep: first job list shown";

/// Marks the process's start; the first thing `main` does.
pub fn mark_start() {
    STARTED.get_or_init(Instant::now);
}

/// The UI has drawn its first job list: printed the first time only (the
/// list is drawn again on every tab, search and return from a job).
#[tauri::command]
pub fn list_shown() {
    if SHOWN.swap(true, Ordering::Relaxed) {
        return;
    }
    let since = STARTED.get().map(Instant::elapsed).unwrap_or_default();
    eprintln!("{LIST_SHOWN} {} ms after start", since.as_millis());
}
