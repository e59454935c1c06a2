//! Converting a plaintext store (every install from before encryption) into
//! an encrypted one, in place and crash-safe.
//!
//! The plain file stays whole until one rename replaces it with a complete,
//! checked and fsynced encrypted copy. A kill at any moment therefore leaves
//! either the plain store, which the next start converts again from the
//! beginning, or the encrypted one. The key must already be kept where the
//! next start finds it (the keychain) before this runs.

use std::fs::{self, File};
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::{StoreError, StoreKey};

/// The first 16 bytes of every plaintext SQLite file. An encrypted file
/// starts with its random salt instead.
const PLAIN_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Whether the file at `path` is a plaintext SQLite database (false when it
/// does not exist or is empty).
pub(crate) fn is_plaintext(path: &Path) -> Result<bool, StoreError> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    let mut header = [0u8; 16];
    match file.read_exact(&mut header) {
        Ok(()) => Ok(&header == PLAIN_HEADER),
        Err(e) if e.kind() == ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Where the encrypted copy is built before it replaces the plain file.
fn sealing_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".sealing");
    PathBuf::from(name)
}

/// Removes what an interrupted conversion left: an unfinished encrypted copy
/// and its journal. (Only a conversion that never reached its rename leaves
/// one, so the plain file is still whole then.)
fn remove_unfinished_copy(path: &Path) -> Result<(), StoreError> {
    let copy = sealing_path(path);
    let mut journal = copy.as_os_str().to_owned();
    journal.push("-journal");
    for leftover in [copy, PathBuf::from(journal)] {
        match fs::remove_file(&leftover) {
            Err(e) if e.kind() != ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
    }
    Ok(())
}

/// Replaces the plaintext store at `path` with an encrypted copy under `key`.
pub(crate) fn seal_in_place(path: &Path, key: &StoreKey) -> Result<(), StoreError> {
    remove_unfinished_copy(path)?;
    let copy = sealing_path(path);
    {
        let conn = Connection::open(path)?;
        // Everything into the main file and no WAL left beside it: a WAL of
        // the plain file must never be replayed into the encrypted one.
        conn.execute_batch(
            "PRAGMA busy_timeout = 5000;
             PRAGMA temp_store = MEMORY;
             PRAGMA wal_checkpoint(TRUNCATE);",
        )?;
        let mode: String = conn.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))?;
        if mode != "delete" {
            return Err(StoreError::Seal(format!(
                "the plain store is in use elsewhere (journal mode stays {mode})"
            )));
        }
        let copy_text = copy
            .to_str()
            .ok_or_else(|| StoreError::Seal(format!("path is not UTF-8: {}", copy.display())))?;
        conn.execute_batch(&format!(
            "ATTACH DATABASE '{}' AS sealed KEY {};",
            copy_text.replace('\'', "''"),
            key.sql_literal()
        ))?;
        conn.query_row("SELECT sqlcipher_export('sealed')", [], |_| Ok(()))?;
        // sqlcipher_export copies schema and rows, not the schema version.
        let version: i64 = conn.query_row("PRAGMA main.user_version", [], |r| r.get(0))?;
        conn.execute_batch(&format!("PRAGMA sealed.user_version = {version};"))?;
        check_same_rows(&conn)?;
        conn.execute_batch("DETACH DATABASE sealed;")?;
    }
    File::open(&copy)?.sync_all()?;
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    if Path::new(&wal).exists() {
        return Err(StoreError::Seal(
            "the plain store's WAL is still there".into(),
        ));
    }
    fs::rename(&copy, path)?;
    sync_parent(path)
}

/// Every table of the plain store has as many rows in the encrypted copy.
/// A virtual table (the job search's index) holds no rows of its own: its
/// shadow tables are counted, and the copy's schema, which
/// `sqlcipher_export` wrote under this connection, does not know it until
/// the file is opened again.
fn check_same_rows(conn: &Connection) -> Result<(), StoreError> {
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM main.sqlite_master WHERE type = 'table' AND rootpage > 0")?
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    for table in tables {
        let quoted = table.replace('"', "\"\"");
        let count = |schema: &str| -> Result<i64, rusqlite::Error> {
            conn.query_row(
                &format!("SELECT count(*) FROM {schema}.\"{quoted}\""),
                [],
                |r| r.get(0),
            )
        };
        let (plain, sealed) = (count("main")?, count("sealed")?);
        if plain != sealed {
            return Err(StoreError::Seal(format!(
                "table {table}: {plain} rows, the encrypted copy has {sealed}"
            )));
        }
    }
    Ok(())
}

/// Makes the rename durable: on Unix a directory's entries are synced on
/// their own.
fn sync_parent(path: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        File::open(parent)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}
