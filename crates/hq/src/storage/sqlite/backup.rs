//! Backup and restore of HQ's two SQLite files: the records (`NAME.sqlite3`)
//! and their blobs (`NAME.blobs.sqlite3`). A backup is the same pair,
//! `PATH` and `PATH`'s blob file, so it is itself an HQ database.
//!
//! Each file is copied with SQLite's online backup API in one step: one
//! read transaction, so the copy is the file as one commit left it, and in
//! WAL mode HQ's writers go on meanwhile. (Stepping a few pages at a time
//! starts over whenever HQ commits, and under load may never end; `VACUUM
//! INTO` would rebuild every table and index rather than copy pages.)
//!
//! The two files agree because the records are copied first: a change
//! names a blob only after HQ confirmed that blob to the device (the sync
//! client pushes an entry only once every blob it names is confirmed), so
//! every blob the records' copy names was committed to the blob file
//! before that copy began; blobs are content-addressed and never deleted,
//! so the later copy of the blob file holds them all. It may hold a few
//! more, which nothing names yet: harmless.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use super::conn::blob_file;

/// Both files of the database at `path`: the records first.
fn pair(path: &Path) -> [PathBuf; 2] {
    [path.to_path_buf(), blob_file(path)]
}

/// Copies HQ's database at `database` to `to` (and `to`'s blob file) while
/// HQ serves. Refuses to overwrite anything. Each copy is written beside
/// its place as `….partial`, checked, flushed to disk and renamed into
/// place, the records last: a backup whose records file is in place is
/// whole.
pub fn back_up(database: &Path, to: &Path) -> anyhow::Result<()> {
    for file in pair(database) {
        if !file.exists() {
            bail!(
                "没有找到总部数据库文件 {0} / no HQ database file at {0}",
                file.display()
            );
        }
    }
    let dir = parent(to);
    if !dir.is_dir() {
        bail!("目录 {0} 不存在 / there is no directory {0}", dir.display());
    }
    let targets = pair(to);
    for target in &targets {
        if target.exists() {
            bail!(
                "{0} 已存在，备份不会覆盖文件 / {0} exists: a backup never overwrites a file",
                target.display()
            );
        }
    }
    let partials = targets.clone().map(|target| partial(&target));
    for (source, copy) in pair(database).iter().zip(&partials) {
        let _ = std::fs::remove_file(copy);
        copy_snapshot(source, copy)
            .with_context(|| format!("backing up {} to {}", source.display(), copy.display()))?;
        check(copy)?;
        File::open(copy)?.sync_all()?;
    }
    for (copy, target) in partials.iter().zip(&targets).rev() {
        std::fs::rename(copy, target)?;
    }
    sync_dir(to)
}

/// Puts the backup at `from` (and its blob file) in place of the database
/// at `database`. HQ must be stopped: a database any connection holds
/// open is refused. The records go first, so a restore cut short leaves
/// the backup's records beside the newer blob file, which holds every blob
/// they name; run it again to finish. The caller then starts a new epoch.
pub fn restore(from: &Path, database: &Path) -> anyhow::Result<()> {
    for file in pair(from) {
        if !file.exists() {
            bail!(
                "没有找到备份文件 {0} / no backup file at {0}",
                file.display()
            );
        }
        check(&file)?;
    }
    if database.exists() && same_file(from, database)? {
        bail!("备份就是该数据库本身 / the backup is the database itself");
    }
    // Every target locked before anything is written: HQ running on either
    // file stops the restore before it starts.
    let mut targets = pair(database)
        .iter()
        .map(|file| lock_unused(file))
        .collect::<anyhow::Result<Vec<_>>>()?;
    for (source, target) in pair(from).iter().zip(&mut targets) {
        let source = Connection::open_with_flags(source, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        copy_all(&source, target).with_context(|| format!("restoring {}", database.display()))?;
    }
    Ok(())
}

/// A connection to `file` that no other connection shares, held so until
/// it is dropped. HQ's connections keep a shared lock on the file while
/// open, so a running HQ makes this fail after a short wait.
fn lock_unused(file: &Path) -> anyhow::Result<Connection> {
    let conn = Connection::open(file)?;
    conn.busy_timeout(Duration::from_secs(2))?;
    conn.execute_batch("PRAGMA locking_mode = EXCLUSIVE;")?;
    match conn.execute_batch("BEGIN EXCLUSIVE; COMMIT;") {
        Ok(()) => Ok(conn),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ) =>
        {
            bail!(
                "{0} 正在使用中：请先停止使用它的每个 doorstep-hq，再恢复 / \
                 {0} is in use: stop every doorstep-hq that serves it, then restore",
                file.display()
            )
        }
        Err(e) => Err(e.into()),
    }
}

/// A new file `copy` holding `source` as one commit left it, in one file:
/// switched out of WAL mode, so it has no `-wal` or `-shm` beside it and
/// opens read-only (HQ switches it back when it serves it).
fn copy_snapshot(source: &Path, copy: &Path) -> anyhow::Result<()> {
    let source = Connection::open_with_flags(
        source,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    source.execute_batch("PRAGMA query_only = ON;")?;
    let mut copy = Connection::open(copy)?;
    copy_all(&source, &mut copy)?;
    copy.execute_batch("PRAGMA journal_mode = DELETE;")?;
    Ok(())
}

/// Every page of `source` into `target` in one step (-1: all pages; see
/// the module's comment), tried again while a lock is busy.
fn copy_all(source: &Connection, target: &mut Connection) -> anyhow::Result<()> {
    let backup = Backup::new(source, target)?;
    let started = std::time::Instant::now();
    loop {
        match backup.step(-1)? {
            StepResult::Done => return Ok(()),
            _ if started.elapsed() > BUSY_FOR_AT_MOST => {
                bail!("数据库一直忙 / the database stayed busy for {BUSY_FOR_AT_MOST:?}")
            }
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// How long a backup or restore waits for a lock before it gives up.
const BUSY_FOR_AT_MOST: Duration = Duration::from_secs(30);

/// A backup that does not pass SQLite's own check is not used.
fn check(file: &Path) -> anyhow::Result<()> {
    let conn = Connection::open_with_flags(file, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let verdict: String = conn.query_row("PRAGMA quick_check", [], |row| row.get(0))?;
    if verdict != "ok" {
        bail!("{0} 已损坏 / {0} is damaged: {verdict}", file.display());
    }
    Ok(())
}

fn partial(target: &Path) -> PathBuf {
    let mut name = target.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

fn same_file(a: &Path, b: &Path) -> anyhow::Result<bool> {
    Ok(a.canonicalize()? == b.canonicalize()?)
}

/// The directory `file` is in.
fn parent(file: &Path) -> &Path {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// The renames into `file`'s directory survive a power cut.
fn sync_dir(file: &Path) -> anyhow::Result<()> {
    File::open(parent(file))?.sync_all()?;
    Ok(())
}
