//! Where the store's key lives, and opening the store with it.
//!
//! The key is 32 random bytes made at first start and kept in the OS
//! keychain (Secret Service on Linux, Credential Manager on Windows, Keychain
//! on macOS), one entry per data directory. Where no keychain can be
//! reached, the technician chooses an unlock passphrase instead and the key
//! is derived from it with Argon2id (`passphrase.rs`). Either way the store is
//! never written in the clear. A store whose key is lost can be moved aside
//! (kept, never deleted) for a new one (`set_aside.rs`).

mod data_dir;
mod error;
mod keychain;
mod passphrase;
mod set_aside;

use std::path::Path;

use doorstep_store::Store;

pub use data_dir::{create_data_dir, STORE_FILE};
pub use error::VaultError;
pub use keychain::{forget_keychain_key, keychain_key};
pub use passphrase::{passphrase_key, uses_passphrase};
pub use set_aside::{may_set_aside, set_aside_and_start_again};

/// Opens the store in `dir` with the key from the keychain (made and kept
/// there at first start). `VaultError::NoKeychain` means a passphrase is
/// needed instead; see `open_with_passphrase`.
pub fn open_with_keychain(dir: &Path) -> Result<Store, VaultError> {
    if uses_passphrase(dir) {
        return Err(VaultError::PassphraseNeeded);
    }
    let key = keychain_key(dir)?;
    Ok(Store::open(&dir.join(STORE_FILE), &key)?)
}

/// Opens the store in `dir` with the key derived from `passphrase`. The
/// first time, this sets the passphrase (a plaintext store is converted).
/// A wrong passphrase is `VaultError::Store(StoreError::WrongKey)`.
pub fn open_with_passphrase(dir: &Path, passphrase: &str) -> Result<Store, VaultError> {
    let key = passphrase_key(dir, passphrase)?;
    Ok(Store::open(&dir.join(STORE_FILE), &key)?)
}
