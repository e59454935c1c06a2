//! Thin Tauri commands: parse, call the store or the domain, map the error.

use base64::Engine;
use chrono::Utc;
use doorstep_core::change::Change;
use doorstep_core::phone::{phone_guide as guide, PhoneGuide};
use doorstep_core::report::service_report_html;
use doorstep_core::view::VisitView;
use doorstep_core::{media, JobId, Lang, PastVisit, PhotoKind, PriceList, VisitRecord};
use doorstep_store::{
    ConfirmCall, JobFilter, JobPage, LeadList, ListCursor, OpenComplaint, Store, StoreError,
};
use serde::Serialize;
use tauri::ipc::{InvokeBody, Request};
use tauri::State;

use crate::blobs;
use crate::error::IpcError;
use crate::AppState;

type Result<T> = std::result::Result<T, IpcError>;

/// Who the app greets before HQ has named the technician (the demo).
const DEMO_TECHNICIAN: &str = "林师傅";

pub fn lang(store: &Store) -> Lang {
    store.locale().ok().flatten().unwrap_or_default()
}

/// Runs `f` with the store and the UI language, mapping store errors.
fn with_store<T>(
    state: &State<AppState>,
    f: impl FnOnce(&mut Store, Lang) -> std::result::Result<T, StoreError>,
) -> Result<T> {
    let mut store = state.store.lock().unwrap_or_else(|e| e.into_inner());
    let lang = lang(&store);
    f(&mut store, lang).map_err(|e| IpcError::store(e, lang))
}

/// A job id as the UI sends it: every command that takes one parses it here.
pub fn parse_job_id(text: &str, lang: Lang) -> Result<JobId> {
    text.parse()
        .map_err(|e| IpcError::bad_request(lang, format!("job id {text:?}: {e}")))
}

#[derive(Serialize)]
pub struct AppInfo {
    locale: String,
    /// The operator's time zone (IANA name): the UI shows every time in it.
    time_zone: String,
    technician: String,
    last_job_id: Option<String>,
    version: String,
    data_dir: String,
}

#[tauri::command]
pub async fn app_info(state: State<'_, AppState>) -> Result<AppInfo> {
    with_store(&state, |store, lang| {
        Ok(AppInfo {
            locale: lang.tag().into(),
            time_zone: store.time_zone()?.name().into(),
            technician: store
                .technician()?
                .unwrap_or_else(|| DEMO_TECHNICIAN.into()),
            last_job_id: store.last_job()?.map(|id| id.to_string()),
            version: env!("CARGO_PKG_VERSION").into(),
            data_dir: state.data_dir.display().to_string(),
        })
    })
}

#[tauri::command]
pub async fn set_locale(state: State<'_, AppState>, locale: String) -> Result<()> {
    let store = state.store.lock().unwrap_or_else(|e| e.into_inner());
    let lang = Lang::from_tag(&locale)
        .ok_or_else(|| IpcError::bad_request(self::lang(&store), format!("locale {locale:?}")))?;
    store.set_locale(lang).map_err(|e| IpcError::store(e, lang))
}

#[tauri::command]
pub async fn list_jobs(
    state: State<'_, AppState>,
    tab: doorstep_store::Tab,
    query: String,
    after: Option<ListCursor>,
) -> Result<JobPage> {
    let now = Utc::now();
    with_store(&state, |store, _| {
        store.list_jobs(
            &JobFilter { tab, query },
            store.today_ends(now)?,
            now,
            after.as_ref(),
        )
    })
}

/// A visit as the UI shows it, punctuality judged on HQ's clock while the
/// last sync's measurement of the laptop's clock is recent.
fn visit_view(
    store: &Store,
    visit: VisitRecord,
    lang: Lang,
) -> std::result::Result<VisitView, StoreError> {
    Ok(VisitView::new(
        visit,
        lang,
        store.clock_offset()?.as_ref(),
        Utc::now(),
        &store.time_zone()?,
    ))
}

/// Complaints taken on the technician's jobs still awaiting their callback.
#[tauri::command]
pub async fn open_complaints(state: State<'_, AppState>) -> Result<Vec<OpenComplaint>> {
    with_store(&state, |store, _| store.open_complaints(Utc::now()))
}

/// The confirm-by-phone calls still to make after outdoor repairs.
#[tauri::command]
pub async fn confirm_calls(state: State<'_, AppState>) -> Result<Vec<ConfirmCall>> {
    with_store(&state, |store, _| store.confirm_calls(Utc::now()))
}

#[tauri::command]
pub async fn open_job(state: State<'_, AppState>, job_id: String) -> Result<VisitView> {
    let lang = lang(&state.store.lock().unwrap_or_else(|e| e.into_inner()));
    let id = parse_job_id(&job_id, lang)?;
    with_store(&state, |store, lang| {
        let visit = store.visit(id)?;
        store.set_last_job(Some(id))?;
        visit_view(store, visit, lang)
    })
}

/// The job's earlier visits, as they stood when the next one began.
#[tauri::command]
pub async fn past_visits(state: State<'_, AppState>, job_id: String) -> Result<Vec<PastVisit>> {
    let lang = lang(&state.store.lock().unwrap_or_else(|e| e.into_inner()));
    let id = parse_job_id(&job_id, lang)?;
    with_store(&state, |store, _| store.past_visits(id))
}

/// The story HQ last sent of the job's customer (earlier visits, products,
/// VIP grade); null before a pull brought one.
#[tauri::command]
pub async fn customer_story(
    state: State<'_, AppState>,
    job_id: String,
) -> Result<Option<doorstep_core::CustomerStory>> {
    let lang = lang(&state.store.lock().unwrap_or_else(|e| e.into_inner()));
    let id = parse_job_id(&job_id, lang)?;
    with_store(&state, |store, _| store.customer_story(id))
}

#[tauri::command]
pub async fn close_job(state: State<'_, AppState>) -> Result<()> {
    with_store(&state, |store, _| store.set_last_job(None))
}

/// Any edit but a signature or a photo, which have their own commands.
#[tauri::command]
pub async fn apply_change(
    state: State<'_, AppState>,
    job_id: String,
    change: Change,
) -> Result<VisitView> {
    let lang = lang(&state.store.lock().unwrap_or_else(|e| e.into_inner()));
    let id = parse_job_id(&job_id, lang)?;
    with_store(&state, |store, lang| {
        change.check_generic_edit()?;
        let visit = store.apply(id, &change, Utc::now())?;
        visit_view(store, visit, lang)
    })
}

#[tauri::command]
pub async fn save_signature(
    state: State<'_, AppState>,
    job_id: String,
    png_base64: String,
    strokes: serde_json::Value,
) -> Result<VisitView> {
    let lang = lang(&state.store.lock().unwrap_or_else(|e| e.into_inner()));
    let id = parse_job_id(&job_id, lang)?;
    let png = base64::engine::general_purpose::STANDARD
        .decode(png_base64.trim())
        .map_err(|_| IpcError::domain(doorstep_core::DomainError::BlankSignature, lang))?;
    let clean = media::clean_signature(&png).map_err(|e| IpcError::domain(e, lang))?;
    with_store(&state, |store, lang| {
        let visit = store.sign(id, &clean, &strokes.to_string(), Utc::now())?;
        visit_view(store, visit, lang)
    })
}

/// Takes the photo's raw bytes as the request body (no JSON round trip for
/// megabytes), with the job and the kind in headers.
#[tauri::command]
pub async fn add_photo(state: State<'_, AppState>, request: Request<'_>) -> Result<VisitView> {
    let lang = lang(&state.store.lock().unwrap_or_else(|e| e.into_inner()));
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| IpcError::bad_request(lang, format!("missing header {name}")))
    };
    let id = parse_job_id(&header("job-id")?, lang)?;
    let kind = match header("photo-kind")?.as_str() {
        "before" => PhotoKind::Before,
        "after" => PhotoKind::After,
        other => return Err(IpcError::bad_request(lang, format!("photo kind {other:?}"))),
    };
    // WebKitGTK's IPC may deliver the bytes as a JSON array of numbers
    // instead of a raw body; both carry the same file.
    let bytes: std::borrow::Cow<[u8]> = match request.body() {
        InvokeBody::Raw(bytes) => bytes.into(),
        InvokeBody::Json(serde_json::Value::Array(items)) => items
            .iter()
            .map(|v| v.as_u64().and_then(|n| u8::try_from(n).ok()))
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(|| IpcError::bad_request(lang, "expected the file's bytes"))?
            .into(),
        _ => return Err(IpcError::bad_request(lang, "expected the file's bytes")),
    };
    let clean = media::clean_photo(&bytes).map_err(|e| IpcError::domain(e, lang))?;
    with_store(&state, |store, lang| {
        let visit = store.add_photo(id, kind, &clean, Utc::now())?;
        visit_view(store, visit, lang)
    })
}

#[tauri::command]
pub async fn phone_guide(state: State<'_, AppState>, job_id: String) -> Result<PhoneGuide> {
    let lang = lang(&state.store.lock().unwrap_or_else(|e| e.into_inner()));
    let id = parse_job_id(&job_id, lang)?;
    with_store(&state, |store, lang| {
        let visit = store.visit(id)?;
        let technician = store
            .technician()?
            .unwrap_or_else(|| DEMO_TECHNICIAN.into());
        Ok(guide(
            visit.job.job_type,
            Utc::now().with_timezone(&store.time_zone()?).time(),
            &technician,
            lang,
        ))
    })
}

/// The leads owed a follow-up call, the due ones first, and how many are
/// due now or today (the main screen's badge).
#[tauri::command]
pub async fn list_leads(state: State<'_, AppState>) -> Result<LeadList> {
    with_store(&state, |store, _| store.list_leads(Utc::now()))
}

/// The price list the fee picker offers: the one the last sync brought
/// from HQ, retired items included so old lines can be read.
#[tauri::command]
pub async fn price_list(state: State<'_, AppState>) -> Result<PriceList> {
    with_store(&state, |store, _| store.price_list())
}

#[tauri::command]
pub async fn service_report(state: State<'_, AppState>, job_id: String) -> Result<String> {
    let lang = lang(&state.store.lock().unwrap_or_else(|e| e.into_inner()));
    let id = parse_job_id(&job_id, lang)?;
    with_store(&state, |store, lang| {
        let visit = store.visit(id)?;
        let signature = visit
            .signature
            .as_ref()
            .map(|sig| blobs::url(&sig.png_hash));
        Ok(service_report_html(
            &visit,
            signature.as_deref(),
            store.time_zone()?,
            lang,
        ))
    })
}
