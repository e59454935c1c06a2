//! Unlocking the store at start: with the keychain's key, or with the
//! technician's passphrase where no keychain answers. Until the store is
//! open no `AppState` exists, so no other command can reach the store.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::Utc;
use doorstep_core::Lang;
use doorstep_store::Store;
use doorstep_vault::VaultError;
use serde::Serialize;
use tauri::{AppHandle, Manager, State};

use crate::error::IpcError;

/// Why the store is not open yet, while it is not.
pub struct Vault {
    dir: PathBuf,
    locked: Mutex<Option<VaultError>>,
}

/// What the unlock screen shows.
#[derive(Serialize)]
pub struct LockState {
    code: &'static str,
    /// A passphrase can open the store (else `message` says what happened).
    passphrase: bool,
    /// No passphrase has been set yet: ask for it twice.
    first: bool,
    /// The store cannot be opened (its key is lost): the technician may
    /// move it aside and start again (`start_again`).
    start_again: bool,
    message: String,
}

/// Opens the store with the keychain's key and starts the app on it; where
/// that fails, the window shows the unlock screen instead.
pub fn start(app: &AppHandle, dir: PathBuf) -> Result<(), VaultError> {
    doorstep_vault::create_data_dir(&dir)?;
    let locked = match doorstep_vault::open_with_keychain(&dir) {
        Ok(store) => {
            crate::start(app, dir.clone(), store)?;
            None
        }
        Err(error) => Some(error),
    };
    app.manage(Vault {
        dir,
        locked: Mutex::new(locked),
    });
    Ok(())
}

fn lock_state(dir: &Path, error: &VaultError, lang: Lang) -> LockState {
    let passphrase = matches!(
        error,
        VaultError::NoKeychain(_) | VaultError::PassphraseNeeded
    );
    LockState {
        code: error.code(),
        passphrase,
        first: passphrase && !doorstep_vault::uses_passphrase(dir),
        start_again: doorstep_vault::may_set_aside(dir, error),
        message: error.message(lang),
    }
}

/// Why the store is locked, or nothing once it is open.
#[tauri::command]
pub fn unlock_state(vault: State<Vault>, locale: String) -> Option<LockState> {
    let lang = Lang::from_tag(&locale).unwrap_or_default();
    let locked = vault.locked.lock().unwrap_or_else(|e| e.into_inner());
    locked
        .as_ref()
        .map(|error| lock_state(&vault.dir, error, lang))
}

/// Opens the store with the passphrase (setting it, the first time).
#[tauri::command]
pub async fn unlock(
    app: AppHandle,
    vault: State<'_, Vault>,
    passphrase: String,
    locale: String,
) -> Result<(), IpcError> {
    let lang = Lang::from_tag(&locale).unwrap_or_default();
    let mut locked = vault.locked.lock().unwrap_or_else(|e| e.into_inner());
    if locked.is_none() {
        return Ok(());
    }
    let store: Store = doorstep_vault::open_with_passphrase(&vault.dir, &passphrase)
        .map_err(|e| vault_error(e, lang))?;
    crate::start(&app, vault.dir.clone(), store).map_err(|e| vault_error(e, lang))?;
    *locked = None;
    Ok(())
}

fn vault_error(error: VaultError, lang: Lang) -> IpcError {
    IpcError {
        code: error.code().into(),
        message: error.message(lang),
    }
}

/// The store cannot be opened (its key is lost, or the keychain's key does
/// not open it): moves it aside, kept in a dated folder in the data
/// directory, and starts the app on a new, empty store, to be enrolled
/// again. Returns that folder. Refused while the store is open, or where a
/// passphrase unlocks it.
#[tauri::command]
pub async fn start_again(
    app: AppHandle,
    vault: State<'_, Vault>,
    locale: String,
) -> Result<String, IpcError> {
    let lang = Lang::from_tag(&locale).unwrap_or_default();
    let mut locked = vault.locked.lock().unwrap_or_else(|e| e.into_inner());
    match locked.as_ref() {
        Some(error) if doorstep_vault::may_set_aside(&vault.dir, error) => {}
        Some(_) | None => {
            return Err(IpcError::bad_request(
                lang,
                "only a store that cannot be opened is moved aside",
            ))
        }
    }
    let (store, folder) = doorstep_vault::set_aside_and_start_again(&vault.dir, Utc::now())
        .map_err(|e| vault_error(e, lang))?;
    crate::start(&app, vault.dir.clone(), store).map_err(|e| vault_error(e, lang))?;
    *locked = None;
    Ok(folder.display().to_string())
}
