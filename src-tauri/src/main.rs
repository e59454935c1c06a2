// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod commands;
mod error;
mod sync;

use std::path::PathBuf;
use std::sync::Mutex;

use chrono::Local;
use doorstep_store::Store;
use tauri::Manager;

/// The app's shared state: the one open store, and the sync in progress.
pub struct AppState {
    pub store: Mutex<Store>,
    pub data_dir: PathBuf,
    /// Held while a sync runs, so the depot's "Sync now" and the background
    /// loop never run at once.
    pub sync_running: tokio::sync::Mutex<()>,
    pub sync_cancel: std::sync::atomic::AtomicBool,
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

fn open_store(dir: &std::path::Path) -> Result<Store, Box<dyn std::error::Error>> {
    std::fs::create_dir_all(dir)?;
    let mut store = Store::open(&dir.join("doorstep.sqlite3"))?;
    // With an HQ to sync with, the jobs come from HQ; without one, a newcomer
    // sees the demo set.
    if std::env::var_os(sync::HQ_URL_ENV).is_none() {
        let now = Local::now();
        store.seed_demo_if_empty(now.date_naive(), *now.offset())?;
    }
    Ok(store)
}

fn main() {
    tauri::Builder::default()
        .setup(|app| {
            let dir = data_dir(app);
            let store = open_store(&dir)
                .map_err(|e| format!("cannot open the local store in {}: {e}", dir.display()))?;
            app.manage(AppState {
                store: Mutex::new(store),
                data_dir: dir,
                sync_running: tokio::sync::Mutex::new(()),
                sync_cancel: Default::default(),
            });
            sync::start_background(app.handle().clone());
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::set_locale,
            commands::list_jobs,
            commands::open_job,
            commands::close_job,
            commands::past_visits,
            commands::apply_change,
            commands::save_signature,
            commands::add_photo,
            commands::blob_data_url,
            commands::phone_guide,
            commands::price_list,
            commands::service_report,
            sync::sync_status,
            sync::enroll,
            sync::sync_now,
            sync::cancel_sync,
            sync::job_sync_state,
        ])
        .run(tauri::generate_context!())
        .expect("error while running Doorstep");
}
