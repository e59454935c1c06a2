//! Technical documents HQ published, offline: the list searched by title,
//! and one document's bytes for the UI to show (a PDF in the web view's
//! own viewer, an HTML page in a sandboxed frame that runs no scripts).

use doorstep_core::wire::DocumentId;
use doorstep_store::DocumentSummary;
use tauri::ipc::Response;
use tauri::State;

use crate::commands::lang;
use crate::error::IpcError;
use crate::AppState;

#[tauri::command]
pub async fn list_documents(
    state: State<'_, AppState>,
    query: String,
) -> Result<Vec<DocumentSummary>, IpcError> {
    let store = state.store.lock().unwrap_or_else(|e| e.into_inner());
    store
        .documents(&query)
        .map_err(|e| IpcError::store(e, lang(&store)))
}

/// The content as raw bytes (no JSON or base64 for a document of megabytes).
#[tauri::command]
pub async fn document_content(
    state: State<'_, AppState>,
    document_id: String,
) -> Result<Response, IpcError> {
    let store = state.store.lock().unwrap_or_else(|e| e.into_inner());
    let lang = lang(&store);
    let id: DocumentId = document_id
        .parse()
        .map_err(|e| IpcError::bad_request(lang, format!("document id {document_id:?}: {e}")))?;
    let (_, content) = store.document(id).map_err(|e| IpcError::store(e, lang))?;
    Ok(Response::new(content))
}
