//! Thin commands for enrollment and sync, and the background sync task.

use std::sync::atomic::Ordering;

use chrono::{DateTime, Utc};
use doorstep_core::Lang;
use doorstep_store::{JobSyncState, SyncCounts};
use doorstep_sync::{Enrollment, Progress, Refusal, SyncError, SyncFailure, SyncSummary};
use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager, State};

use crate::error::IpcError;
use crate::AppState;

/// Presets the HQ address on the enrollment screen.
pub const HQ_URL_ENV: &str = "DOORSTEP_HQ_URL";
/// With DOORSTEP_HQ_URL, enrolls at start without asking (for demos).
const ENROLL_CODE_ENV: &str = "DOORSTEP_ENROLL_CODE";
/// With DOORSTEP_ENROLL_CODE, the PEM file of the operator's CA that HQ's
/// certificate comes from (the demo's HQ over https).
const HQ_CA_ENV: &str = "DOORSTEP_HQ_CA";

fn lang(state: &AppState) -> Lang {
    crate::commands::lang(&state.store.lock().unwrap_or_else(|e| e.into_inner()))
}

fn sync_error(state: &AppState, error: &SyncError) -> IpcError {
    IpcError {
        code: error.code(),
        message: error.message(lang(state)),
    }
}

fn device_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "laptop".into())
}

/// The outcome of the last sync, for the status line.
#[derive(Clone, Serialize)]
struct Outcome {
    ok: bool,
    code: Option<String>,
    message: Option<String>,
    summary: Option<SyncSummary>,
}

fn outcome(state: &AppState, result: &Result<SyncSummary, SyncError>) -> Outcome {
    match result {
        Ok(summary) => Outcome {
            ok: true,
            code: None,
            message: None,
            summary: Some(summary.clone()),
        },
        Err(error) => Outcome {
            ok: false,
            code: Some(error.code()),
            message: Some(error.message(lang(state))),
            summary: None,
        },
    }
}

/// Keeps how a sync ended for the sync button, lets go of the jobs HQ has
/// held long enough (a sync may have acknowledged some), then tells the
/// window (which reads the failure, if any, with `sync_status`).
fn finished(app: &AppHandle, state: &AppState, result: Result<SyncSummary, SyncError>) {
    let event = outcome(state, &result);
    crate::sweep_retention(&mut state.store.lock().unwrap_or_else(|e| e.into_inner()));
    (state.sync_health.lock().unwrap_or_else(|e| e.into_inner())).record(result, Utc::now());
    let _ = app.emit("sync-finished", event);
}

pub fn start_background(app: AppHandle) {
    tauri::async_runtime::spawn(async move {
        let state = app.state::<AppState>();
        if let (Ok(url), Ok(code)) = (std::env::var(HQ_URL_ENV), std::env::var(ENROLL_CODE_ENV)) {
            let enrolled = Enrollment::load(&state.store.lock().unwrap_or_else(|e| e.into_inner()));
            if matches!(enrolled, Ok(None)) {
                let private_ca = std::env::var(HQ_CA_ENV)
                    .ok()
                    .and_then(|path| std::fs::read_to_string(path).ok());
                let result = doorstep_sync::enroll(
                    &state.store,
                    &url,
                    &code,
                    &device_name(),
                    private_ca.as_deref(),
                )
                .await;
                if let Err(error) = result {
                    eprintln!("doorstep: enrollment at {url} failed: {error}");
                }
            }
        }
        doorstep_sync::background_loop(&state.store, &state.sync_running, |result| {
            finished(&app, &state, result)
        })
        .await;
    });
}

/// Why syncing has been failing, in the UI's language.
#[derive(Serialize)]
pub struct FailureView {
    code: String,
    message: String,
    since: DateTime<Utc>,
    attempts: u32,
}

impl FailureView {
    fn new(failure: &SyncFailure, lang: Lang) -> FailureView {
        FailureView {
            code: failure.error.code(),
            message: failure.error.message(lang),
            since: failure.since,
            attempts: failure.attempts,
        }
    }
}

#[derive(Serialize)]
pub struct SyncStatus {
    enrollment: Option<Enrollment>,
    counts: SyncCounts,
    /// Why HQ refused this device's token, until it enrolls again.
    refused: Option<Refusal>,
    running: bool,
    default_hq_url: Option<String>,
    /// Set while syncs fail, cleared by one that goes through.
    failure: Option<FailureView>,
}

#[tauri::command]
pub async fn sync_status(state: State<'_, AppState>) -> Result<SyncStatus, IpcError> {
    let store = state.store.lock().unwrap_or_else(|e| e.into_inner());
    let lang = crate::commands::lang(&store);
    let map = |e: doorstep_store::StoreError| IpcError::store(e, lang);
    let health = state.sync_health.lock().unwrap_or_else(|e| e.into_inner());
    Ok(SyncStatus {
        enrollment: Enrollment::load(&store).map_err(map)?,
        counts: store.sync_counts().map_err(map)?,
        refused: doorstep_sync::refusal(&store).map_err(map)?,
        running: state.sync_running.try_lock().is_err(),
        default_hq_url: std::env::var(HQ_URL_ENV).ok(),
        failure: health.failure().map(|f| FailureView::new(f, lang)),
    })
}

/// `private_ca`: the PEM text of the operator's CA certificate, when HQ's
/// certificate comes from a private one.
#[tauri::command]
pub async fn enroll(
    state: State<'_, AppState>,
    hq_url: String,
    code: String,
    private_ca: Option<String>,
) -> Result<Enrollment, IpcError> {
    let private_ca = private_ca.filter(|pem| !pem.trim().is_empty());
    doorstep_sync::enroll(
        &state.store,
        &hq_url,
        &code,
        &device_name(),
        private_ca.as_deref(),
    )
    .await
    .map_err(|e| sync_error(&state, &e))
}

/// The depot's "Sync now": reports progress as `sync-progress` events.
#[tauri::command]
pub async fn sync_now(app: AppHandle, state: State<'_, AppState>) -> Result<SyncSummary, IpcError> {
    let _running = state.sync_running.lock().await;
    state.sync_cancel.store(false, Ordering::Relaxed);
    let mut report = |progress: &Progress| {
        let _ = app.emit("sync-progress", progress);
    };
    let result = doorstep_sync::sync_once(&state.store, &mut report, &state.sync_cancel).await;
    let reply = match &result {
        Ok(summary) => Ok(summary.clone()),
        Err(e) => Err(sync_error(&state, e)),
    };
    finished(&app, &state, result);
    reply
}

#[tauri::command]
pub fn cancel_sync(state: State<'_, AppState>) {
    state.sync_cancel.store(true, Ordering::Relaxed);
}

#[tauri::command]
pub async fn job_sync_state(
    state: State<'_, AppState>,
    job_id: String,
) -> Result<JobSyncState, IpcError> {
    let store = state.store.lock().unwrap_or_else(|e| e.into_inner());
    let lang = crate::commands::lang(&store);
    let id = crate::commands::parse_job_id(&job_id, lang)?;
    store
        .job_sync_state(id)
        .map_err(|e| IpcError::store(e, lang))
}
