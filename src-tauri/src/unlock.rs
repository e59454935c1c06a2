//! Unlocking the store at start: with the keychain's key, or with the
//! technician's passphrase where no keychain answers. Until the store is
//! open no `AppState` exists, so no other command can reach the store.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

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
    let fail = |e: VaultError| IpcError {
        code: e.code().into(),
        message: e.message(lang),
    };
    let store: Store =
        doorstep_vault::open_with_passphrase(&vault.dir, &passphrase).map_err(fail)?;
    crate::start(&app, vault.dir.clone(), store).map_err(fail)?;
    *locked = None;
    Ok(())
}
