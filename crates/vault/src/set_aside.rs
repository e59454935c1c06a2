//! When the store cannot be opened (its key is lost, or the keychain's key
//! does not open it), the technician may move it aside and start again. The
//! unreadable files are moved, never deleted, into a dated folder in the
//! data directory: an operator who still has the key can recover them.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use doorstep_store::Store;

use crate::{keychain_key, uses_passphrase, VaultError, STORE_FILE};

/// The store's files, in the order they are moved: its WAL and shared
/// memory before the database, so an interruption never leaves a stale
/// WAL beside a new database (the database stays, still unreadable, and
/// the technician is offered the same choice again). `.sealing` is an
/// unfinished conversion's encrypted copy.
const STORE_FILES: [&str; 4] = ["-wal", "-shm", ".sealing", ""];

/// Whether the technician may be offered to move the store aside: the
/// keychain holds no key for it, or one that does not open it. A store
/// unlocked with a passphrase is never offered this: a wrong passphrase is
/// typed again.
pub fn may_set_aside(dir: &Path, error: &VaultError) -> bool {
    let unreadable = matches!(
        error,
        VaultError::KeyLost | VaultError::Store(doorstep_store::StoreError::WrongKey)
    );
    unreadable && !uses_passphrase(dir)
}

/// Moves the unreadable store in `dir` into a folder named for `now`
/// (`unreadable-YYYYMMDD-HHMMSS`) and opens a new, empty store with the
/// keychain's key. Returns the new store and the folder.
///
/// The keychain's entry is kept when it holds a key: if the file was
/// damaged rather than its key lost, that key is what recovers it (the new
/// store is encrypted with it too). An entry that holds no key is replaced.
pub fn set_aside_and_start_again(
    dir: &Path,
    now: DateTime<Utc>,
) -> Result<(Store, PathBuf), VaultError> {
    if uses_passphrase(dir) {
        return Err(VaultError::PassphraseNeeded);
    }
    let folder = new_folder(dir, now)?;
    for suffix in STORE_FILES {
        let name = format!("{STORE_FILE}{suffix}");
        match fs::rename(dir.join(&name), folder.join(&name)) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    #[cfg(unix)]
    {
        // The renames are durable before a new store is made in their place.
        fs::File::open(&folder)?.sync_all()?;
        fs::File::open(dir)?.sync_all()?;
    }
    let key = match keychain_key(dir) {
        Err(VaultError::KeyLost) => {
            crate::forget_keychain_key(dir)?;
            keychain_key(dir)?
        }
        other => other?,
    };
    let store = Store::open(&dir.join(STORE_FILE), &key)?;
    Ok((store, folder))
}

/// A folder of its own for this attempt, owner-only like the directory.
fn new_folder(dir: &Path, now: DateTime<Utc>) -> Result<PathBuf, VaultError> {
    let base = format!("unreadable-{}", now.format("%Y%m%d-%H%M%S"));
    for attempt in 0.. {
        let name = match attempt {
            0 => base.clone(),
            n => format!("{base}-{n}"),
        };
        let folder = dir.join(name);
        match fs::create_dir(&folder) {
            Ok(()) => {
                crate::create_data_dir(&folder)?;
                return Ok(folder);
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e.into()),
        }
    }
    unreachable!("some folder name is free")
}
