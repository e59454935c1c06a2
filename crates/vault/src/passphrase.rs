//! The fallback where no keychain can be reached: the key is derived from an
//! unlock passphrase with Argon2id. The salt is kept beside the store (it is
//! not secret); its presence marks a store unlocked this way.

use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use argon2::Argon2;
use doorstep_store::{StoreError, StoreKey};

use crate::VaultError;

const SALT_FILE: &str = "doorstep.salt";
const MIN_CHARS: usize = 8;

fn salt_path(dir: &Path) -> PathBuf {
    dir.join(SALT_FILE)
}

/// Whether the store in `dir` is unlocked with a passphrase.
pub fn uses_passphrase(dir: &Path) -> bool {
    salt_path(dir).exists()
}

/// The key derived from `passphrase` with this directory's salt (made, and
/// durably written, the first time).
pub fn passphrase_key(dir: &Path, passphrase: &str) -> Result<StoreKey, VaultError> {
    let salt = match fs::read(salt_path(dir)) {
        Ok(salt) => salt,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            if passphrase.chars().count() < MIN_CHARS {
                return Err(VaultError::WeakPassphrase);
            }
            new_salt(dir)?
        }
        Err(e) => return Err(e.into()),
    };
    let mut key = [0u8; 32];
    Argon2::default()
        .hash_password_into(passphrase.as_bytes(), &salt, &mut key)
        .map_err(|e| StoreError::Key(e.to_string()))?;
    Ok(StoreKey::from_bytes(key))
}

/// Writes a fresh 16-byte salt and makes it durable before any store is
/// encrypted with a key derived from it.
fn new_salt(dir: &Path) -> Result<Vec<u8>, VaultError> {
    let mut salt = vec![0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| StoreError::Key(e.to_string()))?;
    let temp = dir.join(format!("{SALT_FILE}.new"));
    let mut file = fs::File::create(&temp)?;
    file.write_all(&salt)?;
    file.sync_all()?;
    fs::rename(&temp, salt_path(dir))?;
    #[cfg(unix)]
    fs::File::open(dir)?.sync_all()?;
    Ok(salt)
}
