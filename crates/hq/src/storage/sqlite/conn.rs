//! The SQLite files, their migrations and their connections: each file in WAL with one writer
//! connection behind a mutex (SQLite has one writer anyway) and a few
//! readers, work moved off the async runtime with spawn_blocking, and a
//! thread of its own that checkpoints the WAL.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::{Connection, Transaction, TransactionBehavior};
use rusqlite_migration::{Migrations, M};

use crate::error::{HqError, HqResult};

/// Migrations, append-only and named by date. Never edit one that has shipped.
pub(super) fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(include_str!(
            "../../../migrations/sqlite/2026-11-23_initial.sql"
        )),
        M::up(include_str!(
            "../../../migrations/sqlite/2026-11-23_conflict_outcomes.sql"
        )),
        M::up(include_str!(
            "../../../migrations/sqlite/2026-11-24_blobs_in_own_file.sql"
        )),
        M::up(include_str!(
            "../../../migrations/sqlite/2026-11-25_records_from_ops.sql"
        )),
        M::up(include_str!(
            "../../../migrations/sqlite/2026-11-25_lean_ops.sql"
        )),
        M::up(include_str!(
            "../../../migrations/sqlite/2026-12-02_visits.sql"
        )),
        M::up(include_str!(
            "../../../migrations/sqlite/2026-12-02_refused_ops.sql"
        )),
        M::up(include_str!(
            "../../../migrations/sqlite/2026-12-02_clock_skew.sql"
        )),
        M::up(include_str!(
            "../../../migrations/sqlite/2026-12-02_epoch.sql"
        )),
        M::up(include_str!(
            "../../../migrations/sqlite/2026-12-02_audit.sql"
        )),
        M::up(include_str!(
            "../../../migrations/sqlite/2026-12-02_support.sql"
        )),
        M::up(include_str!(
            "../../../migrations/sqlite/2026-12-02_calls_by_time.sql"
        )),
        M::up(include_str!(
            "../../../migrations/sqlite/2026-12-02_complaints.sql"
        )),
        M::up(include_str!(
            "../../../migrations/sqlite/2026-12-02_leads.sql"
        )),
        M::up(include_str!(
            "../../../migrations/sqlite/2026-12-03_customers.sql"
        )),
        M::up(include_str!(
            "../../../migrations/sqlite/2026-12-02_documents.sql"
        )),
        M::up(include_str!(
            "../../../migrations/sqlite/2026-12-02_repair_targets.sql"
        )),
        M::up(include_str!(
            "../../../migrations/sqlite/2026-12-02_price_list.sql"
        )),
    ])
}

/// Migrations of the blob file, append-only and named by date.
pub(super) fn blob_migrations() -> Migrations<'static> {
    Migrations::new(vec![M::up(include_str!(
        "../../../migrations/sqlite-blobs/2026-11-24_initial.sql"
    ))])
}

/// The blob file that goes with the database at `path`.
pub(in crate::storage) fn blob_file(path: &Path) -> std::path::PathBuf {
    path.with_extension("blobs.sqlite3")
}

/// One SQLite file: its writer, its readers and its checkpointer.
#[derive(Clone)]
pub(super) struct Db {
    writer: Arc<Mutex<Connection>>,
    /// Writes waiting for the writer, committed together (see `write`).
    queue: Arc<Mutex<Vec<QueuedWrite>>>,
    readers: Arc<Readers>,
    checkpointer: Checkpointer,
}

/// Connections for work that only reads. In WAL mode a reader sees the last
/// commit and never waits for the writer, so a device's token check or pull
/// does not queue behind another device's upload.
pub(super) struct Readers {
    conns: Vec<Mutex<Connection>>,
    next: AtomicUsize,
}

pub(super) const READERS: usize = 4;

impl Readers {
    fn open(path: &Path) -> HqResult<Readers> {
        let conns = (0..READERS)
            .map(|_| {
                let conn = Connection::open(path)?;
                conn.execute_batch(
                    "PRAGMA query_only = ON;
                     PRAGMA foreign_keys = ON;
                     PRAGMA busy_timeout = 5000;",
                )?;
                conn.set_prepared_statement_cache_capacity(64);
                Ok(Mutex::new(conn))
            })
            .collect::<HqResult<_>>()?;
        Ok(Readers {
            conns,
            next: AtomicUsize::new(0),
        })
    }

    /// A free connection if there is one, else the next in turn.
    fn any(&self) -> std::sync::MutexGuard<'_, Connection> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let turn = |n: usize| &self.conns[(start + n) % self.conns.len()];
        (0..self.conns.len())
            .find_map(|n| turn(n).try_lock().ok())
            .unwrap_or_else(|| {
                turn(0)
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
            })
    }
}

/// Copies the WAL into the database file on its own thread and connection.
/// SQLite's automatic checkpoint runs inside the committing call, so a large
/// commit (a batch of blobs) would pay to write its bytes twice before
/// answering; here a commit costs one WAL append and its fsync. Copies wait
/// for a lull, so a burst of commits (a depot sync) does not share the disk
/// with copying itself; a steady load still gets copied every `LONGEST_WAIT`.
#[derive(Clone)]
pub(super) struct Checkpointer {
    wake: SyncSender<()>,
}

pub(super) const LULL: Duration = Duration::from_millis(200);
pub(super) const LONGEST_WAIT: Duration = Duration::from_secs(2);

impl Checkpointer {
    fn start(path: &Path) -> HqResult<Checkpointer> {
        let conn = Connection::open(path)?;
        conn.execute_batch("PRAGMA busy_timeout = 5000;")?;
        // A checkpoint that fails is retried after the next commit; the WAL
        // itself is already durable.
        let checkpoint = move || {
            let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
        };
        // One pending wake-up is enough: a checkpoint takes in every commit
        // made before it starts. The thread ends when the storage is dropped.
        let (wake, woken) = sync_channel::<()>(1);
        std::thread::Builder::new()
            .name("hq-sqlite-checkpoint".into())
            .spawn(move || {
                while woken.recv().is_ok() {
                    let first = Instant::now();
                    loop {
                        let left = LONGEST_WAIT.saturating_sub(first.elapsed());
                        match woken.recv_timeout(LULL.min(left)) {
                            Ok(()) if !left.is_zero() => continue,
                            // A lull, the longest wait, or the storage dropped.
                            _ => break,
                        }
                    }
                    checkpoint();
                }
            })
            .map_err(HqError::storage)?;
        Ok(Checkpointer { wake })
    }

    fn after_commit(&self) {
        let _ = self.wake.try_send(());
    }
}

/// The largest page SQLite has: a 20 KiB signature fits in one.
pub(super) const BLOB_PAGE_SIZE: u32 = 65536;

impl Db {
    /// The writer connection, set up; `page_size` only takes effect when the
    /// file is created.
    pub(super) fn connect(path: &Path, page_size: Option<u32>) -> HqResult<Connection> {
        let conn = Connection::open(path)?;
        if let Some(size) = page_size {
            conn.execute_batch(&format!("PRAGMA page_size = {size};"))?;
        }
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA foreign_keys = ON;
             PRAGMA busy_timeout = 5000;
             PRAGMA wal_autocheckpoint = 0;
             PRAGMA journal_size_limit = 67108864;",
        )?;
        Ok(conn)
    }

    pub(super) fn new(writer: Connection, path: &Path) -> HqResult<Db> {
        Ok(Db {
            writer: Arc::new(Mutex::new(writer)),
            queue: Arc::default(),
            readers: Arc::new(Readers::open(path)?),
            checkpointer: Checkpointer::start(path)?,
        })
    }

    /// Runs `work` on a reader connection, off the async runtime.
    pub(super) async fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> HqResult<T> + Send + 'static,
    ) -> HqResult<T> {
        let readers = self.readers.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = readers.any();
            // One snapshot for all of `work`'s queries: they agree with each
            // other, and take the WAL's read lock once rather than per query.
            let tx = conn.transaction()?;
            work(&tx)
        })
        .await
        .map_err(HqError::storage)?
    }

    /// Runs `work` in an IMMEDIATE transaction on the writer connection,
    /// and answers once it is committed. Writes that queue while another
    /// commits go in together, each in a savepoint of one transaction, and
    /// share its commit: one wait for the disk (`synchronous = FULL`) for
    /// all of them, where each used to wait its turn for one of its own.
    /// A write that fails is rolled back to its savepoint alone; the others
    /// go on, as if each had been a transaction of its own in turn.
    pub(super) async fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Transaction) -> HqResult<T> + Send + 'static,
    ) -> HqResult<T> {
        let (answer, answered) = std::sync::mpsc::sync_channel::<HqResult<T>>(1);
        let queued: QueuedWrite = Box::new(move |tx: Option<&Transaction>| {
            let (out, sound) = match tx {
                Some(tx) => in_savepoint(tx, work),
                None => (Err(HqError::storage("the write did not run")), true),
            };
            let answer: Answer = Box::new(move |committed: HqResult<()>| {
                let _ = answer.send(committed.and(out));
            });
            (answer, sound)
        });
        let (writer, queue) = (self.writer.clone(), self.queue.clone());
        let out = tokio::task::spawn_blocking(move || {
            lock(&queue).push(queued);
            // Whoever holds the writer next commits everything queued by
            // then, this write included, unless an earlier holder took it.
            let mut conn = lock(&writer);
            let batch = std::mem::take(&mut *lock(&queue));
            if !batch.is_empty() {
                commit_together(&mut conn, batch);
            }
            drop(conn);
            answered
                .recv()
                .unwrap_or_else(|_| Err(HqError::storage("the write was lost")))
        })
        .await
        .map_err(HqError::storage)??;
        self.checkpointer.after_commit();
        Ok(out)
    }
}

/// A write waiting for the writer: it runs in the shared transaction (or,
/// given none, does not run) and hands back what to tell its caller once
/// the commit is known, and whether the transaction is still sound.
type QueuedWrite = Box<dyn FnOnce(Option<&Transaction>) -> (Answer, bool) + Send>;
type Answer = Box<dyn FnOnce(HqResult<()>)>;

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `work` in a savepoint of `tx`: kept if it succeeds, undone if it fails.
/// Also whether the transaction is sound after it: a savepoint that could
/// not be released or rolled back to, or a transaction SQLite rolled back
/// whole (as it does on some errors), leaves it unknown.
fn in_savepoint<T>(
    tx: &Transaction,
    work: impl FnOnce(&Transaction) -> HqResult<T>,
) -> (HqResult<T>, bool) {
    if let Err(e) = tx.execute_batch("SAVEPOINT write") {
        return (Err(e.into()), !tx.is_autocommit());
    }
    let out = work(tx);
    let ended = match &out {
        Ok(_) => tx.execute_batch("RELEASE write"),
        Err(_) => tx.execute_batch("ROLLBACK TO write; RELEASE write"),
    };
    let sound = ended.is_ok() && !tx.is_autocommit();
    (out, sound)
}

/// Runs `batch` in one IMMEDIATE transaction and commits it once; each
/// write hears whether it is durable. If the transaction cannot begin or
/// commit, or a write leaves it unsound, none of them is.
fn commit_together(conn: &mut Connection, batch: Vec<QueuedWrite>) {
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            let e = e.to_string();
            for write in batch {
                write(None).0(Err(HqError::storage(&e)));
            }
            return;
        }
    };
    let mut answers: Vec<Answer> = Vec::with_capacity(batch.len());
    let mut sound = true;
    for write in batch {
        let (answer, kept) = write(sound.then_some(&tx));
        answers.push(answer);
        sound &= kept;
    }
    let committed = if sound {
        tx.commit().map_err(|e| e.to_string())
    } else {
        Err("a write in the same transaction left it unsound; rolled back".to_string())
    };
    for answer in answers {
        answer(committed.clone().map_err(HqError::storage));
    }
}

/// Databases made before blobs had their own file kept them in a `blobs`
/// table; copy those into the blob file, committed, before the migration that
/// drops the table runs. A crash in between copies them again next time.
pub(super) fn move_blobs_from_records(
    records: &Connection,
    blobs: &Connection,
    path: &Path,
) -> HqResult<()> {
    let legacy: bool = records.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'blobs')",
        [],
        |row| row.get(0),
    )?;
    if !legacy {
        return Ok(());
    }
    let source = path.to_str().ok_or_else(|| {
        HqError::storage(format!("database path is not UTF-8: {}", path.display()))
    })?;
    blobs.execute("ATTACH DATABASE ?1 AS records", [source])?;
    let copied = blobs.execute_batch(
        "BEGIN IMMEDIATE;
         INSERT OR IGNORE INTO main.blobs (hash, size, bytes, created_at)
             SELECT hash, size, bytes, created_at FROM records.blobs;
         COMMIT;",
    );
    blobs.execute_batch("DETACH DATABASE records;")?;
    Ok(copied?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes queued behind one that holds the writer commit together; each
    /// must still act as a transaction of its own: a write that fails leaves
    /// nothing behind, and the others in its commit are kept.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_committed_together_fail_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("group.sqlite3");
        let conn = Db::connect(&path, None).unwrap();
        conn.execute_batch("CREATE TABLE t (n INTEGER PRIMARY KEY)")
            .unwrap();
        let db = Db::new(conn, &path).unwrap();
        // Another thread holds the writer until every write has queued.
        let (release, released) = sync_channel::<()>(1);
        let (holding, held) = sync_channel::<()>(1);
        let writer = db.writer.clone();
        let holder = std::thread::spawn(move || {
            let _writer = lock(&writer);
            holding.send(()).unwrap();
            let _ = released.recv();
        });
        held.recv().unwrap();
        let writes: Vec<_> = (0..6_i64)
            .map(|n| {
                let db = db.clone();
                tokio::spawn(async move {
                    db.write(move |tx| {
                        tx.execute("INSERT INTO t (n) VALUES (?1)", [n])?;
                        match n % 2 {
                            0 => Ok(n),
                            _ => Err(HqError::storage("odd numbers refused")),
                        }
                    })
                    .await
                })
            })
            .collect();
        while lock(&db.queue).len() < 6 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        release.send(()).unwrap();
        holder.join().unwrap();
        let mut answers = Vec::new();
        for write in writes {
            answers.push(write.await.unwrap().ok());
        }
        assert_eq!(
            answers,
            vec![Some(0), None, Some(2), None, Some(4), None],
            "each write hears its own outcome"
        );
        let kept: Vec<i64> = db
            .read(|conn| {
                let mut rows = conn.prepare("SELECT n FROM t ORDER BY n")?;
                let kept = rows
                    .query_map([], |row| row.get(0))?
                    .collect::<Result<_, _>>()?;
                Ok(kept)
            })
            .await
            .unwrap();
        assert_eq!(kept, vec![0, 2, 4], "the failed writes left nothing");
    }
}
