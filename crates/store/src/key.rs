//! The store's SQLCipher key and how a connection is opened with it.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::StoreError;

/// The 32 random bytes that encrypt the store, used by SQLCipher as a raw key:
/// no key derivation on open, so opening costs what it did in plain SQLite.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreKey([u8; 32]);

impl StoreKey {
    pub const fn from_bytes(bytes: [u8; 32]) -> StoreKey {
        StoreKey(bytes)
    }

    /// A fresh key from the OS's random source.
    pub fn generate() -> Result<StoreKey, StoreError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| StoreError::Key(e.to_string()))?;
        Ok(StoreKey(bytes))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn from_hex(text: &str) -> Option<StoreKey> {
        let bytes: [u8; 32] = hex::decode(text.trim()).ok()?.try_into().ok()?;
        Some(StoreKey(bytes))
    }

    /// The value of `PRAGMA key` and `ATTACH ... KEY` for a raw key.
    pub(crate) fn sql_literal(&self) -> String {
        format!("\"x'{}'\"", self.to_hex())
    }
}

/// Never prints the key itself, so it cannot end up in a log.
impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreKey(..)")
    }
}

/// Opens the encrypted file at `path` with `key`. A wrong key, or a file that
/// is not this store, is `StoreError::WrongKey`; nothing is written then.
pub fn connect(path: &Path, key: &StoreKey, flags: OpenFlags) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(path, flags)?;
    conn.execute_batch(&format!("PRAGMA key = {};", key.sql_literal()))?;
    // SQLCipher checks the key on the first read of the file.
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
        .map_err(|e| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::NotADatabase) => StoreError::WrongKey,
            _ => StoreError::Sqlite(e),
        })?;
    // Sorts and temporary tables stay in memory: a temporary file would be
    // customer data on disk outside the encrypted file.
    conn.execute_batch("PRAGMA temp_store = MEMORY;")?;
    Ok(conn)
}
