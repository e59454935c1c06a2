// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod blobs;
mod commands;
mod documents;
mod error;
mod memory;
mod startup;
mod sync;
mod unlock;
mod webview;

use std::path::PathBuf;
use std::sync::Mutex;

use chrono::{Offset, Utc};
use doorstep_store::{BlobReader, Store};
use doorstep_vault::VaultError;
use tauri::{AppHandle, Manager};

/// The app's shared state: the one open store, and the sync in progress.
pub struct AppState {
    pub store: Mutex<Store>,
    /// The store's blobs on a connection of their own, for the web view's
    /// photos and signatures (`blobs.rs`).
    pub blobs: Mutex<BlobReader>,
    pub data_dir: PathBuf,
    /// Held while a sync runs, so the depot's "Sync now" and the background
    /// loop never run at once.
    pub sync_running: tokio::sync::Mutex<()>,
    pub sync_cancel: std::sync::atomic::AtomicBool,
    pub sync_health: Mutex<doorstep_sync::SyncHealth>,
}

fn data_dir(app: &tauri::App) -> PathBuf {
    match std::env::var_os("DOORSTEP_DATA_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => app
            .path()
            .app_data_dir()
            .expect("the OS has an app-data directory"),
    }
}

/// Starts the app on the open store: the demo set for a newcomer without an
/// HQ (with one, the jobs come from HQ), the shared state, background sync.
pub fn start(app: &AppHandle, data_dir: PathBuf, mut store: Store) -> Result<(), VaultError> {
    if std::env::var_os(sync::HQ_URL_ENV).is_none() {
        // Around today in the operator's zone, the one the Today list uses.
        let now = Utc::now().with_timezone(&store.time_zone()?);
        store.seed_demo_if_empty(now.date_naive(), now.offset().fix())?;
    }
    sweep_retention(&mut store);
    let blobs = store.blob_reader()?;
    app.manage(AppState {
        store: Mutex::new(store),
        blobs: Mutex::new(blobs),
        data_dir,
        sync_running: tokio::sync::Mutex::new(()),
        sync_cancel: Default::default(),
        sync_health: Default::default(),
    });
    sync::start_background(app.clone());
    Ok(())
}

/// Removes the jobs the retention rule lets go (see doorstep-store's
/// `retention.rs`); at start and after each sync. A failure is only
/// reported: the next sweep tries again, and nothing is lost by waiting.
pub fn sweep_retention(store: &mut Store) {
    if let Err(error) = store.sweep_retention(Utc::now()) {
        eprintln!("doorstep: removing jobs past their retention failed: {error}");
    }
}

fn main() {
    startup::mark_start();
    memory::return_freed_memory();
    tauri::Builder::default()
        .register_asynchronous_uri_scheme_protocol(blobs::SCHEME, blobs::serve)
        .setup(|app| {
            startup::mark_setup();
            webview::tune(app);
            let dir = data_dir(app);
            unlock::start(app.handle(), dir.clone())
                .map_err(|e| format!("cannot open the local store in {}: {e}", dir.display()))?;
            startup::mark_store_open();
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            unlock::unlock_state,
            unlock::unlock,
            unlock::start_again,
            commands::app_info,
            startup::list_shown,
            commands::set_locale,
            commands::list_jobs,
            commands::open_job,
            commands::close_job,
            commands::past_visits,
            commands::customer_story,
            commands::apply_change,
            commands::save_signature,
            commands::add_photo,
            commands::phone_guide,
            commands::confirm_calls,
            commands::open_complaints,
            commands::price_list,
            commands::list_leads,
            commands::service_report,
            sync::sync_status,
            sync::enroll,
            sync::sync_now,
            sync::cancel_sync,
            sync::job_sync_state,
            documents::list_documents,
            documents::document_content,
        ])
        .run(tauri::generate_context!())
        .expect("error while running Doorstep");
}
