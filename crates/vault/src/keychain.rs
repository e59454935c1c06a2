//! The store's key in the OS keychain, one entry per data directory.

use std::path::Path;

use doorstep_store::StoreKey;
use keyring::Entry;

use crate::{VaultError, STORE_FILE};

/// The keychain's service name for Doorstep's store keys.
const SERVICE: &str = "com.doorstep.technician";

/// The entry for the data directory `dir` (by its canonical path), so test
/// and demo directories never share a key with a real one.
fn entry(dir: &Path) -> Result<Entry, VaultError> {
    let dir = dir.canonicalize()?;
    let account = format!("store-key:{}", dir.display());
    Entry::new(SERVICE, &account).map_err(unreachable)
}

fn unreachable(error: keyring::Error) -> VaultError {
    VaultError::NoKeychain(error.to_string())
}

/// The key of the store in `dir`: read from the keychain, or made and kept
/// there when the directory has no store yet (or only a plaintext one). It is
/// read back from the keychain before it is returned, so a store is never
/// encrypted with a key the keychain did not keep.
pub fn keychain_key(dir: &Path) -> Result<StoreKey, VaultError> {
    match entry(dir)?.get_password() {
        Ok(hex) => StoreKey::from_hex(&hex).ok_or(VaultError::KeyLost),
        Err(keyring::Error::NoEntry) => {
            if holds_encrypted_store(dir)? {
                return Err(VaultError::KeyLost);
            }
            let key = StoreKey::generate()?;
            entry(dir)?
                .set_password(&key.to_hex())
                .map_err(unreachable)?;
            let kept = entry(dir)?.get_password().map_err(unreachable)?;
            if StoreKey::from_hex(&kept).as_ref() != Some(&key) {
                return Err(VaultError::NoKeychain(
                    "the keychain did not keep the key".into(),
                ));
            }
            Ok(key)
        }
        Err(other) => Err(unreachable(other)),
    }
}

/// Removes the key of `dir` from the keychain (tests and demos clean up with
/// it; a store whose key is removed can never be opened again).
pub fn forget_keychain_key(dir: &Path) -> Result<(), VaultError> {
    match entry(dir)?.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(other) => Err(unreachable(other)),
    }
}

/// Whether `dir` holds a store that is neither missing, empty nor plaintext.
fn holds_encrypted_store(dir: &Path) -> Result<bool, VaultError> {
    use std::io::Read;
    let mut header = Vec::with_capacity(16);
    match std::fs::File::open(dir.join(STORE_FILE)) {
        Ok(file) => file.take(16).read_to_end(&mut header)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    Ok(!header.is_empty() && header != b"SQLite format 3\0")
}
