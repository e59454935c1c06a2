//! How long the app took to show its first job list, from the process's
//! start: the UI reports the moment once (`list_shown`), and it is printed
//! once to stderr with the steps on the way (the window made, the store
//! open, the page's load begun, then the steps the page noted: its script
//! run, the app mounted, the list asked for and answered), so a slow start
//! says which step was slow.
//! It is the line `benches/app.rs` waits for to time a cold start without a
//! WebDriver session in the way, and a technician's support log shows it
//! too.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

static STARTED: OnceLock<Instant> = OnceLock::new();
static SETUP: OnceLock<Instant> = OnceLock::new();
static STORE_OPEN: OnceLock<Instant> = OnceLock::new();
static SHOWN: AtomicBool = AtomicBool::new(false);

/// The line's fixed start, which the bench looks for.
pub const LIST_SHOWN: &str = "doorstep: first job list shown";

/// Marks the process's start; the first thing `main` does.
pub fn mark_start() {
    STARTED.get_or_init(Instant::now);
}

/// Marks the app's own set-up begun: tauri has made the window and its
/// web view.
pub fn mark_setup() {
    SETUP.get_or_init(Instant::now);
}

/// Marks the store open (or found locked): the app's own set-up is done.
pub fn mark_store_open() {
    STORE_OPEN.get_or_init(Instant::now);
}

fn ms_since_start(at: Instant) -> f64 {
    STARTED
        .get()
        .map(|started| at.duration_since(*started).as_secs_f64() * 1e3)
        .unwrap_or_default()
}

/// The UI has drawn its first job list: printed the first time only (the
/// list is drawn again on every tab, search and return from a job).
/// `page_ms` is the page's clock then (`performance.now()`: ms since its
/// load began), `page_marks` the steps the page noted on the same clock.
#[tauri::command]
pub fn list_shown(page_ms: f64, page_marks: Vec<(String, f64)>) {
    if SHOWN.swap(true, Ordering::Relaxed) {
        return;
    }
    let shown = ms_since_start(Instant::now());
    let page_began = shown - page_ms;
    let mark = |at: &OnceLock<Instant>| at.get().copied().map_or(f64::NAN, ms_since_start);
    let page_steps: String = page_marks
        .iter()
        .map(|(step, at)| format!(", {step} at {:.0} ms", page_began + at))
        .collect();
    eprintln!(
        "{LIST_SHOWN} {shown:.0} ms after start (window made at {:.0} ms, store open at {:.0} ms, page load began at {page_began:.0} ms{page_steps})",
        mark(&SETUP),
        mark(&STORE_OPEN),
    );
}
