//! SQLite backend: two files, each in WAL with one writer connection behind
//! a mutex (SQLite has one writer anyway) and a few readers, work moved off
//! the async runtime with spawn_blocking. Blobs live in a file of their own
//! beside the database (`NAME.blobs.sqlite3`) with 64 KiB pages: a 20 KiB
//! signature then fits in one page instead of a chain of six, which makes a
//! depot sync's blobs several times cheaper to write, and their writer never
//! waits for the records' writer (or the other way round).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use doorstep_core::wire::{
    ConflictId, ConflictNotice, ConflictReason, DeviceId, DispatcherId, PushEntry, PushResponse,
    Receipt, TechnicianId, TechnicianRef,
};
use doorstep_core::{Customer, Job, JobId, JobStatus, Timestamp};
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction, TransactionBehavior};
use rusqlite_migration::{Migrations, M};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{
    Conflict, DeviceAuth, DeviceInfo, DispatchChange, DispatchedJob, DispatcherLogin,
    DispatcherSession, JobRecords, PullBatch, Resolution, Storage, StoredOp,
};
use crate::error::{HqError, HqResult};
use crate::push;

/// Migrations, append-only and named by date. Never edit one that has shipped.
pub fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(include_str!(
            "../../migrations/sqlite/2026-11-23_initial.sql"
        )),
        M::up(include_str!(
            "../../migrations/sqlite/2026-11-23_conflict_outcomes.sql"
        )),
        M::up(include_str!(
            "../../migrations/sqlite/2026-11-24_blobs_in_own_file.sql"
        )),
        M::up(include_str!(
            "../../migrations/sqlite/2026-11-25_records_from_ops.sql"
        )),
        M::up(include_str!(
            "../../migrations/sqlite/2026-11-25_lean_ops.sql"
        )),
        M::up(include_str!(
            "../../migrations/sqlite/2026-12-02_visits.sql"
        )),
    ])
}

/// Migrations of the blob file, append-only and named by date.
pub fn blob_migrations() -> Migrations<'static> {
    Migrations::new(vec![M::up(include_str!(
        "../../migrations/sqlite-blobs/2026-11-24_initial.sql"
    ))])
}

/// The blob file that goes with the database at `path`.
pub fn blob_file(path: &Path) -> std::path::PathBuf {
    path.with_extension("blobs.sqlite3")
}

#[derive(Clone)]
pub struct SqliteStorage {
    records: Db,
    blobs: Db,
}

/// One SQLite file: its writer, its readers and its checkpointer.
#[derive(Clone)]
struct Db {
    writer: Arc<Mutex<Connection>>,
    readers: Arc<Readers>,
    checkpointer: Checkpointer,
}

/// Connections for work that only reads. In WAL mode a reader sees the last
/// commit and never waits for the writer, so a device's token check or pull
/// does not queue behind another device's upload.
struct Readers {
    conns: Vec<Mutex<Connection>>,
    next: AtomicUsize,
}

const READERS: usize = 4;

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
struct Checkpointer {
    wake: SyncSender<()>,
}

const LULL: Duration = Duration::from_millis(200);
const LONGEST_WAIT: Duration = Duration::from_secs(2);

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

fn ts(t: &Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse_ts(text: &str) -> HqResult<Timestamp> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| HqError::storage(format!("bad time in database: {text}")))
}

fn opt_ts(text: Option<String>) -> HqResult<Option<Timestamp>> {
    text.as_deref().map(parse_ts).transpose()
}

pub fn enum_text<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

pub fn enum_parse<T: DeserializeOwned>(text: &str) -> HqResult<T> {
    serde_json::from_value(serde_json::Value::String(text.to_string()))
        .map_err(|_| HqError::storage(format!("bad value in database: {text}")))
}

fn id<T: std::str::FromStr>(text: &str) -> HqResult<T> {
    text.parse()
        .map_err(|_| HqError::storage(format!("bad id in database: {text}")))
}

const JOB_COLUMNS: &str = "id, customer_id, customer_name, phone, address, job_type, sub_case, \
     fault_description, window_start, window_end, status, earlier_visits, technician_id, visit";

fn read_job(row: &Row) -> HqResult<DispatchedJob> {
    let technician: Option<String> = row.get(12)?;
    Ok(DispatchedJob {
        job: Job {
            id: id(&row.get::<_, String>(0)?)?,
            customer: Customer {
                id: id(&row.get::<_, String>(1)?)?,
                name: row.get(2)?,
                phone: row.get(3)?,
                address: row.get(4)?,
            },
            job_type: enum_parse(&row.get::<_, String>(5)?)?,
            sub_case: enum_parse(&row.get::<_, String>(6)?)?,
            fault_description: row.get(7)?,
            window_start: parse_ts(&row.get::<_, String>(8)?)?,
            window_end: parse_ts(&row.get::<_, String>(9)?)?,
            status: enum_parse(&row.get::<_, String>(10)?)?,
            earlier_visits: serde_json::from_str(&row.get::<_, String>(11)?)
                .map_err(HqError::storage)?,
            visit: row.get(13)?,
        },
        technician_id: technician.as_deref().map(id).transpose()?,
    })
}

fn collect<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    read: impl Fn(&Row) -> HqResult<T>,
) -> HqResult<Vec<T>> {
    let mut statement = conn.prepare_cached(sql)?;
    let mut rows = statement.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(read(row)?);
    }
    Ok(out)
}

fn load_job(conn: &Connection, job: &str) -> HqResult<Option<DispatchedJob>> {
    let mut statement =
        conn.prepare_cached(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1"))?;
    let mut rows = statement.query([job])?;
    match rows.next()? {
        Some(row) => Ok(Some(read_job(row)?)),
        None => Ok(None),
    }
}

fn read_device(row: &Row) -> HqResult<DeviceInfo> {
    Ok(DeviceInfo {
        id: id(&row.get::<_, String>(0)?)?,
        name: row.get(1)?,
        technician_id: id(&row.get::<_, String>(2)?)?,
        enrolled_at: parse_ts(&row.get::<_, String>(3)?)?,
        revoked_at: opt_ts(row.get(4)?)?,
        last_seq: row.get(5)?,
    })
}

const DEVICE_COLUMNS: &str = "id, name, technician_id, enrolled_at, revoked_at, last_seq";

const CONFLICT_COLUMNS: &str = "id, job_id, device_id, technician_id, reason, op_id, created_at, \
     resolved_at, resolution, note, resolved_by";

fn read_conflict(row: &Row) -> HqResult<Conflict> {
    let resolution: Option<String> = row.get(8)?;
    Ok(Conflict {
        id: id(&row.get::<_, String>(0)?)?,
        job_id: id(&row.get::<_, String>(1)?)?,
        device_id: id(&row.get::<_, String>(2)?)?,
        technician_id: id(&row.get::<_, String>(3)?)?,
        reason: enum_parse(&row.get::<_, String>(4)?)?,
        op_id: id(&row.get::<_, String>(5)?)?,
        created_at: parse_ts(&row.get::<_, String>(6)?)?,
        resolved_at: opt_ts(row.get(7)?)?,
        resolution: resolution.as_deref().map(enum_parse).transpose()?,
        note: row.get(9)?,
        resolved_by: row.get(10)?,
    })
}

/// The next value of the job change counter (HQ's cursor clock).
fn next_change(tx: &Transaction) -> HqResult<i64> {
    Ok(tx.query_row(
        "UPDATE counters SET value = value + 1 WHERE name = 'job_change' RETURNING value",
        [],
        |row| row.get(0),
    )?)
}

fn job_ops(conn: &Connection, job: &str) -> HqResult<Vec<StoredOp>> {
    collect(
        conn,
        "SELECT op_id, device_id, seq, job_id, kind, payload, device_time, server_time, visit
         FROM ops WHERE job_id = ?1 ORDER BY id",
        [job],
        |row| {
            Ok(StoredOp {
                op_id: id(&row.get::<_, String>(0)?)?,
                device_id: id(&row.get::<_, String>(1)?)?,
                seq: row.get(2)?,
                job_id: id(&row.get::<_, String>(3)?)?,
                kind: row.get(4)?,
                payload: row.get(5)?,
                device_time: parse_ts(&row.get::<_, String>(6)?)?,
                server_time: parse_ts(&row.get::<_, String>(7)?)?,
                visit: row.get(8)?,
            })
        },
    )
}

/// The visit HQ holds for a job, rebuilt from its op log.
fn rebuilt_visit(conn: &Connection, job: &DispatchedJob) -> HqResult<doorstep_core::VisitRecord> {
    let ops = job_ops(conn, &job.job.id.to_string())?;
    Ok(push::rebuild_visit(
        job.job.clone(),
        push::current_visit_ops(&job.job, &ops),
    ))
}

fn assign(tx: &Transaction, job: &str, technician: &str, seq: i64) -> HqResult<()> {
    tx.execute(
        "UPDATE job_assignments SET unassigned_seq = ?3
         WHERE job_id = ?1 AND technician_id <> ?2 AND unassigned_seq IS NULL",
        params![job, technician, seq],
    )?;
    tx.execute(
        "INSERT INTO job_assignments (job_id, technician_id, assigned_seq) VALUES (?1, ?2, ?3)
         ON CONFLICT (job_id, technician_id) DO UPDATE SET assigned_seq = excluded.assigned_seq,
             unassigned_seq = NULL",
        params![job, technician, seq],
    )?;
    tx.execute(
        "UPDATE jobs SET technician_id = ?2, change_seq = ?3 WHERE id = ?1",
        params![job, technician, seq],
    )?;
    Ok(())
}

impl SqliteStorage {
    /// Opens (or creates) the database file and its blob file, and migrates
    /// both forward.
    pub fn open(path: &Path) -> HqResult<SqliteStorage> {
        let mut records = Db::connect(path, None)?;
        // The push path alone keeps a dozen statements hot.
        records.set_prepared_statement_cache_capacity(64);
        let blob_path = blob_file(path);
        let mut blobs = Db::connect(&blob_path, Some(BLOB_PAGE_SIZE))?;
        blob_migrations()
            .to_latest(&mut blobs)
            .map_err(HqError::storage)?;
        move_blobs_from_records(&records, &blobs, path)?;
        migrations()
            .to_latest(&mut records)
            .map_err(HqError::storage)?;
        Ok(SqliteStorage {
            records: Db::new(records, path)?,
            blobs: Db::new(blobs, &blob_path)?,
        })
    }

    /// Runs `work` in one read transaction on a reader of the records, off
    /// the async runtime.
    async fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> HqResult<T> + Send + 'static,
    ) -> HqResult<T> {
        self.records.read(work).await
    }

    /// Runs `work` in one IMMEDIATE transaction on the records' writer.
    async fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Transaction) -> HqResult<T> + Send + 'static,
    ) -> HqResult<T> {
        self.records.write(work).await
    }
}

/// The largest page SQLite has: a 20 KiB signature fits in one.
const BLOB_PAGE_SIZE: u32 = 65536;

impl Db {
    /// The writer connection, set up; `page_size` only takes effect when the
    /// file is created.
    fn connect(path: &Path, page_size: Option<u32>) -> HqResult<Connection> {
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

    fn new(writer: Connection, path: &Path) -> HqResult<Db> {
        Ok(Db {
            writer: Arc::new(Mutex::new(writer)),
            readers: Arc::new(Readers::open(path)?),
            checkpointer: Checkpointer::start(path)?,
        })
    }

    /// Runs `work` on a reader connection, off the async runtime.
    async fn read<T: Send + 'static>(
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

    /// Runs `work` in one IMMEDIATE transaction on the writer connection.
    async fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Transaction) -> HqResult<T> + Send + 'static,
    ) -> HqResult<T> {
        let writer = self.writer.clone();
        let out = tokio::task::spawn_blocking(move || {
            let mut conn = writer
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = work(&tx)?;
            tx.commit()?;
            Ok::<T, HqError>(out)
        })
        .await
        .map_err(HqError::storage)??;
        self.checkpointer.after_commit();
        Ok(out)
    }
}

/// Databases made before blobs had their own file kept them in a `blobs`
/// table; copy those into the blob file, committed, before the migration that
/// drops the table runs. A crash in between copies them again next time.
fn move_blobs_from_records(records: &Connection, blobs: &Connection, path: &Path) -> HqResult<()> {
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

#[async_trait]
impl Storage for SqliteStorage {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn create_technician(&self, name: &str, now: Timestamp) -> HqResult<TechnicianRef> {
        let tech = TechnicianRef {
            id: TechnicianId::new(),
            name: name.to_string(),
        };
        let row = tech.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO technicians (id, name, created_at) VALUES (?1, ?2, ?3)",
                params![row.id.to_string(), row.name, ts(&now)],
            )?;
            Ok(())
        })
        .await?;
        Ok(tech)
    }

    async fn technicians(&self) -> HqResult<Vec<TechnicianRef>> {
        self.read(|conn| {
            collect(
                conn,
                "SELECT id, name FROM technicians ORDER BY name, id",
                [],
                |row| {
                    Ok(TechnicianRef {
                        id: id(&row.get::<_, String>(0)?)?,
                        name: row.get(1)?,
                    })
                },
            )
        })
        .await
    }

    async fn technician(&self, tech: TechnicianId) -> HqResult<Option<TechnicianRef>> {
        self.read(move |conn| {
            let name: Option<String> = conn
                .query_row(
                    "SELECT name FROM technicians WHERE id = ?1",
                    [tech.to_string()],
                    |row| row.get(0),
                )
                .optional()?;
            Ok(name.map(|name| TechnicianRef { id: tech, name }))
        })
        .await
    }

    async fn create_dispatcher(
        &self,
        username: &str,
        password_hash: &str,
        now: Timestamp,
    ) -> HqResult<DispatcherId> {
        let dispatcher = DispatcherId::new();
        let (username, password_hash) = (username.to_string(), password_hash.to_string());
        self.write(move |tx| {
            let taken: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM dispatchers WHERE username = ?1)",
                [&username],
                |row| row.get(0),
            )?;
            if taken {
                return Err(HqError::conflict(
                    "username_taken",
                    format!("a dispatcher named {username} exists"),
                ));
            }
            tx.execute(
                "INSERT INTO dispatchers (id, username, password_hash, created_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![dispatcher.to_string(), username, password_hash, ts(&now)],
            )?;
            Ok(dispatcher)
        })
        .await
    }

    async fn dispatcher_by_username(&self, username: &str) -> HqResult<Option<DispatcherLogin>> {
        let username = username.to_string();
        self.read(move |conn| {
            let row: Option<(String, String)> = conn
                .query_row(
                    "SELECT id, password_hash FROM dispatchers WHERE username = ?1",
                    [&username],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()?;
            row.map(|(dispatcher, password_hash)| {
                Ok(DispatcherLogin {
                    id: id(&dispatcher)?,
                    username: username.clone(),
                    password_hash,
                })
            })
            .transpose()
        })
        .await
    }

    async fn create_session(
        &self,
        token_hash: &str,
        dispatcher: DispatcherId,
        expires_at: Timestamp,
    ) -> HqResult<()> {
        let token_hash = token_hash.to_string();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO sessions (token_hash, dispatcher_id, expires_at) VALUES (?1, ?2, ?3)",
                params![token_hash, dispatcher.to_string(), ts(&expires_at)],
            )?;
            Ok(())
        })
        .await
    }

    async fn delete_session(&self, token_hash: &str) -> HqResult<()> {
        let token_hash = token_hash.to_string();
        self.write(move |tx| {
            tx.execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])?;
            Ok(())
        })
        .await
    }

    async fn session(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> HqResult<Option<DispatcherSession>> {
        let token_hash = token_hash.to_string();
        self.read(move |conn| {
            let row: Option<(String, String)> = conn
                .query_row(
                    "SELECT d.id, d.username FROM sessions s
                     JOIN dispatchers d ON d.id = s.dispatcher_id
                     WHERE s.token_hash = ?1 AND s.expires_at > ?2",
                    params![token_hash, ts(&now)],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()?;
            row.map(|(dispatcher, username)| {
                Ok(DispatcherSession {
                    dispatcher_id: id(&dispatcher)?,
                    username,
                })
            })
            .transpose()
        })
        .await
    }

    async fn create_enrollment_code(
        &self,
        code_hash: &str,
        technician: TechnicianId,
        expires_at: Timestamp,
    ) -> HqResult<()> {
        let code_hash = code_hash.to_string();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO enrollment_codes (code_hash, technician_id, expires_at)
                 VALUES (?1, ?2, ?3)",
                params![code_hash, technician.to_string(), ts(&expires_at)],
            )?;
            Ok(())
        })
        .await
    }

    async fn enroll(
        &self,
        code_hash: &str,
        device: DeviceId,
        device_name: &str,
        token_hash: &str,
        now: Timestamp,
    ) -> HqResult<TechnicianRef> {
        let (code_hash, device_name, token_hash) = (
            code_hash.to_string(),
            device_name.to_string(),
            token_hash.to_string(),
        );
        self.write(move |tx| {
            let row: Option<(String, String)> = tx
                .query_row(
                    "UPDATE enrollment_codes SET used_at = ?2, device_id = ?3
                     WHERE code_hash = ?1 AND used_at IS NULL AND expires_at > ?2
                     RETURNING technician_id,
                        (SELECT name FROM technicians t WHERE t.id = technician_id)",
                    params![code_hash, ts(&now), device.to_string()],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()?;
            let Some((technician, name)) = row else {
                return Err(HqError::unauthorized(
                    "invalid_code",
                    "the enrollment code is unknown, used or expired",
                ));
            };
            tx.execute(
                "INSERT INTO devices (id, technician_id, name, token_hash, enrolled_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    device.to_string(),
                    technician,
                    device_name,
                    token_hash,
                    ts(&now)
                ],
            )?;
            Ok(TechnicianRef {
                id: id(&technician)?,
                name,
            })
        })
        .await
    }

    async fn device_by_token(&self, token_hash: &str) -> HqResult<Option<DeviceAuth>> {
        let token_hash = token_hash.to_string();
        self.read(move |conn| {
            let row: Option<(String, String, Option<String>)> = conn
                .query_row(
                    "SELECT id, technician_id, revoked_at FROM devices WHERE token_hash = ?1",
                    [&token_hash],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )
                .optional()?;
            row.map(|(device, technician, revoked)| {
                Ok(DeviceAuth {
                    id: id(&device)?,
                    technician_id: id(&technician)?,
                    revoked: revoked.is_some(),
                })
            })
            .transpose()
        })
        .await
    }

    async fn revoke_device(&self, device: DeviceId, now: Timestamp) -> HqResult<DeviceInfo> {
        self.write(move |tx| {
            tx.execute(
                "UPDATE devices SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1",
                params![device.to_string(), ts(&now)],
            )?;
            collect(
                tx,
                &format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE id = ?1"),
                [device.to_string()],
                read_device,
            )?
            .pop()
            .ok_or_else(|| HqError::NotFound(format!("device {device}")))
        })
        .await
    }

    async fn devices(&self) -> HqResult<Vec<DeviceInfo>> {
        self.read(|conn| {
            collect(
                conn,
                &format!("SELECT {DEVICE_COLUMNS} FROM devices ORDER BY enrolled_at, id"),
                [],
                read_device,
            )
        })
        .await
    }

    async fn create_jobs(&self, jobs: &[DispatchedJob], now: Timestamp) -> HqResult<()> {
        let jobs = jobs.to_vec();
        self.write(move |tx| {
            for dispatched in &jobs {
                let seq = next_change(tx)?;
                let job = &dispatched.job;
                let inserted = tx.execute(
                    "INSERT INTO jobs (id, customer_id, customer_name, phone, address, job_type,
                        sub_case, fault_description, window_start, window_end, status,
                        earlier_visits, technician_id, change_seq, created_at, visit)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, NULL, ?13, ?14, ?15)
                     ON CONFLICT (id) DO NOTHING",
                    params![
                        job.id.to_string(),
                        job.customer.id.to_string(),
                        job.customer.name,
                        job.customer.phone,
                        job.customer.address,
                        enum_text(&job.job_type),
                        enum_text(&job.sub_case),
                        job.fault_description,
                        ts(&job.window_start),
                        ts(&job.window_end),
                        enum_text(&job.status),
                        serde_json::to_string(&job.earlier_visits).map_err(HqError::storage)?,
                        seq,
                        ts(&now),
                        job.visit,
                    ],
                )?;
                if inserted == 0 {
                    return Err(HqError::conflict(
                        "job_exists",
                        format!("job {} exists", job.id),
                    ));
                }
                if let Some(technician) = dispatched.technician_id {
                    assign(tx, &job.id.to_string(), &technician.to_string(), seq)?;
                }
            }
            Ok(())
        })
        .await
    }

    async fn change_job(&self, job: JobId, change: DispatchChange) -> HqResult<DispatchedJob> {
        self.write(move |tx| {
            let key = job.to_string();
            let current =
                load_job(tx, &key)?.ok_or_else(|| HqError::NotFound(format!("job {job}")))?;
            if current.job.status == JobStatus::Cancelled {
                return Err(HqError::conflict("job_cancelled", "the job is cancelled"));
            }
            if current.job.status == JobStatus::Completed {
                return Err(HqError::conflict("job_completed", "the job is completed"));
            }
            let seq = next_change(tx)?;
            match change {
                DispatchChange::Assign(technician) => {
                    assign(tx, &key, &technician.to_string(), seq)?;
                }
                DispatchChange::Cancel => {
                    tx.execute(
                        "UPDATE jobs SET status = 'cancelled', change_seq = ?2 WHERE id = ?1",
                        params![key, seq],
                    )?;
                }
                DispatchChange::Reschedule { start, end } => {
                    // A next visit has no receipt until its own changes come.
                    tx.execute(
                        "UPDATE jobs SET window_start = ?2, window_end = ?3, status = ?4,
                             change_seq = ?5, visit = ?6,
                             content_hash = CASE WHEN visit = ?6 THEN content_hash END,
                             receipt_at = CASE WHEN visit = ?6 THEN receipt_at END
                         WHERE id = ?1",
                        params![
                            key,
                            ts(&start),
                            ts(&end),
                            enum_text(&JobStatus::Scheduled),
                            seq,
                            push::visit_after_rebooking(&current.job)
                        ],
                    )?;
                }
            }
            load_job(tx, &key)?.ok_or_else(|| HqError::NotFound(format!("job {job}")))
        })
        .await
    }

    async fn pull(&self, technician: TechnicianId, since: i64) -> HqResult<PullBatch> {
        self.read(move |conn| {
            let tech = technician.to_string();
            let cursor: i64 = conn.query_row(
                "SELECT value FROM counters WHERE name = 'job_change'",
                [],
                |row| row.get(0),
            )?;
            let jobs = collect(
                conn,
                &format!(
                    "SELECT {JOB_COLUMNS} FROM jobs WHERE technician_id = ?1 AND change_seq > ?2
                     ORDER BY change_seq"
                ),
                params![tech, since],
                read_job,
            )?
            .into_iter()
            .map(|d| d.job)
            .collect();
            let removed = collect(
                conn,
                "SELECT job_id FROM job_assignments
                 WHERE technician_id = ?1 AND unassigned_seq > ?2 ORDER BY unassigned_seq",
                params![tech, since],
                |row| id(&row.get::<_, String>(0)?),
            )?;
            let resolved = collect(
                conn,
                &format!(
                    "SELECT {CONFLICT_COLUMNS} FROM conflicts
                     WHERE technician_id = ?1 AND resolved_seq > ?2 ORDER BY resolved_seq"
                ),
                params![tech, since],
                read_conflict,
            )?;
            Ok(PullBatch {
                cursor,
                jobs,
                removed,
                resolved,
            })
        })
        .await
    }

    async fn jobs_between(&self, from: Timestamp, to: Timestamp) -> HqResult<Vec<DispatchedJob>> {
        self.read(move |conn| {
            collect(
                conn,
                &format!(
                    "SELECT {JOB_COLUMNS} FROM jobs WHERE window_start >= ?1 AND window_start < ?2
                     ORDER BY window_start, id"
                ),
                params![ts(&from), ts(&to)],
                read_job,
            )
        })
        .await
    }

    async fn job_records(&self, job: JobId) -> HqResult<Option<JobRecords>> {
        self.read(move |conn| {
            let key = job.to_string();
            let Some(dispatch) = load_job(conn, &key)? else {
                return Ok(None);
            };
            let ops = job_ops(conn, &key)?;
            let records = push::latest_records(&ops);
            let receipt: Option<(Option<String>, Option<String>)> = conn
                .query_row(
                    "SELECT content_hash, receipt_at FROM jobs WHERE id = ?1",
                    [&key],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()?;
            let receipt = match receipt {
                Some((Some(content_hash), Some(at))) => Some(Receipt {
                    job_id: job,
                    server_time: parse_ts(&at)?,
                    content_hash,
                }),
                _ => None,
            };
            let conflicts = collect(
                conn,
                &format!("SELECT {CONFLICT_COLUMNS} FROM conflicts WHERE job_id = ?1 ORDER BY created_at, id"),
                [&key],
                read_conflict,
            )?;
            Ok(Some(JobRecords {
                dispatch,
                records,
                ops,
                receipt,
                conflicts,
            }))
        })
        .await
    }

    async fn push(
        &self,
        device: &DeviceAuth,
        entries: &[PushEntry],
        now: Timestamp,
    ) -> HqResult<PushResponse> {
        let device = device.clone();
        let entries = entries.to_vec();
        self.write(move |tx| push_in(tx, &device, &entries, now))
            .await
    }

    async fn conflicts(&self, open_only: bool) -> HqResult<Vec<Conflict>> {
        self.read(move |conn| {
            collect(
                conn,
                &format!(
                    "SELECT {CONFLICT_COLUMNS} FROM conflicts
                     WHERE (?1 = 0 OR resolved_at IS NULL) ORDER BY created_at, id"
                ),
                [open_only],
                read_conflict,
            )
        })
        .await
    }

    async fn resolve_conflict(
        &self,
        conflict: ConflictId,
        resolution: Resolution,
        note: &str,
        by: &str,
        now: Timestamp,
    ) -> HqResult<Conflict> {
        let (note, by) = (note.to_string(), by.to_string());
        self.write(move |tx| {
            let select = format!("SELECT {CONFLICT_COLUMNS} FROM conflicts WHERE id = ?1");
            let found = collect(tx, &select, [conflict.to_string()], read_conflict)?
                .pop()
                .ok_or_else(|| HqError::NotFound(format!("conflict {conflict}")))?;
            if found.resolved_at.is_some() {
                return Err(HqError::conflict(
                    "already_resolved",
                    "the conflict is already resolved",
                ));
            }
            let seq = next_change(tx)?;
            if resolution == Resolution::AcceptCompletion {
                let key = found.job_id.to_string();
                let job = load_job(tx, &key)?
                    .ok_or_else(|| HqError::NotFound(format!("job {}", found.job_id)))?;
                let visit = rebuilt_visit(tx, &job)?;
                assign(tx, &key, &found.technician_id.to_string(), seq)?;
                tx.execute(
                    "UPDATE jobs SET status = ?2 WHERE id = ?1",
                    params![key, enum_text(&visit.job.status)],
                )?;
            }
            // Every open conflict on the job is settled by the same decision.
            tx.execute(
                "UPDATE conflicts SET resolved_at = ?2, resolution = ?3, note = ?4,
                     resolved_by = ?5, resolved_seq = ?6 WHERE job_id = ?1 AND resolved_at IS NULL",
                params![
                    found.job_id.to_string(),
                    ts(&now),
                    enum_text(&resolution),
                    note,
                    by,
                    seq
                ],
            )?;
            collect(tx, &select, [conflict.to_string()], read_conflict)?
                .pop()
                .ok_or_else(|| HqError::NotFound(format!("conflict {conflict}")))
        })
        .await
    }

    async fn missing_blobs(&self, hashes: &[String]) -> HqResult<Vec<String>> {
        let hashes = hashes.to_vec();
        self.blobs
            .read(move |conn| {
                let mut held =
                    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM blobs WHERE hash = ?1)")?;
                let mut missing = Vec::new();
                for hash in hashes {
                    if !held.query_row([&hash], |row| row.get::<_, bool>(0))? {
                        missing.push(hash);
                    }
                }
                Ok(missing)
            })
            .await
    }

    async fn put_blobs(
        &self,
        blobs: Vec<(String, Vec<u8>)>,
        now: Timestamp,
    ) -> HqResult<Vec<bool>> {
        self.blobs
            .write(move |tx| {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO blobs (hash, size, bytes, created_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (hash) DO NOTHING",
                )?;
                let now = ts(&now);
                let mut created = Vec::with_capacity(blobs.len());
                for (hash, bytes) in &blobs {
                    created
                        .push(insert.execute(params![hash, bytes.len() as i64, bytes, now])? == 1);
                }
                Ok(created)
            })
            .await
    }

    async fn blob(&self, hash: &str) -> HqResult<Option<Vec<u8>>> {
        let hash = hash.to_string();
        self.blobs
            .read(move |conn| {
                Ok(conn
                    .query_row("SELECT bytes FROM blobs WHERE hash = ?1", [hash], |row| {
                        row.get(0)
                    })
                    .optional()?)
            })
            .await
    }
}

fn push_in(
    tx: &Transaction,
    device: &DeviceAuth,
    entries: &[PushEntry],
    now: Timestamp,
) -> HqResult<PushResponse> {
    let device_key = device.id.to_string();
    let tech_key = device.technician_id.to_string();
    let now_text = ts(&now);
    let (last_seq, revoked): (i64, Option<String>) = tx.query_row(
        "SELECT last_seq, revoked_at FROM devices WHERE id = ?1",
        [&device_key],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    if revoked.is_some() {
        return Err(HqError::unauthorized(
            "device_revoked",
            "this device was revoked",
        ));
    }
    let fresh = push::fresh(last_seq, entries)?;
    // Ops up to this id were stored before the batch; the batch's own are
    // replayed from memory rather than read back and parsed again.
    let stored_through: i64 =
        tx.query_row("SELECT COALESCE(MAX(id), 0) FROM ops", [], |row| row.get(0))?;

    // Every job named in the batch: it must have been this technician's.
    // Each is read once here; the batch changes only technician records.
    let mut named: Vec<JobId> = entries.iter().map(|e| e.job_id).collect();
    named.sort();
    named.dedup();
    let mut jobs = std::collections::HashMap::with_capacity(named.len());
    {
        let mut ever = tx.prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM job_assignments WHERE job_id = ?1 AND technician_id = ?2)",
        )?;
        for job in &named {
            if !ever.query_row(params![job.to_string(), tech_key], |row| {
                row.get::<_, bool>(0)
            })? {
                return Err(HqError::Forbidden {
                    code: "forbidden_job",
                    message: format!("job {job} is not one of this technician's jobs"),
                    job_id: Some(*job),
                });
            }
            let dispatched = load_job(tx, &job.to_string())?
                .ok_or_else(|| HqError::NotFound(format!("job {job}")))?;
            jobs.insert(*job, dispatched);
        }
    }

    let mut insert_op = tx.prepare_cached(
        "INSERT INTO ops (op_id, device_id, seq, job_id, kind, payload, device_time, server_time,
             visit) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (op_id) DO NOTHING",
    )?;
    let mut conflict_open = tx.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM conflicts WHERE job_id = ?1 AND resolved_at IS NULL)",
    )?;
    let mut insert_conflict = tx.prepare_cached(
        "INSERT INTO conflicts (id, job_id, device_id, technician_id, reason, op_id,
             created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let mut applied: BTreeMap<JobId, Vec<&PushEntry>> = BTreeMap::new();
    for entry in fresh {
        let op_key = entry.op_id.to_string();
        let job_key = entry.job_id.to_string();
        let payload = serde_json::to_string(&entry.payload).map_err(HqError::storage)?;
        let device_time = ts(&entry.device_time);
        let inserted = insert_op.execute(params![
            op_key,
            device_key,
            entry.seq,
            job_key,
            entry.kind,
            payload,
            device_time,
            now_text,
            entry.visit
        ])?;
        if inserted == 0 {
            continue; // this op_id was applied before (from another seq)
        }
        let job = &jobs[&entry.job_id];
        if !push::in_current_visit(&job.job, entry.visit) {
            continue; // kept as evidence of an earlier visit, nothing more
        }
        applied.entry(entry.job_id).or_default().push(entry);
        if let Some(reason) =
            push::conflict_reason(job.job.status, job.technician_id, device.technician_id)
        {
            if !conflict_open.query_row([&job_key], |row| row.get::<_, bool>(0))? {
                insert_conflict.execute(params![
                    ConflictId::new().to_string(),
                    job_key,
                    device_key,
                    tech_key,
                    enum_text(&reason),
                    op_key,
                    now_text
                ])?;
            }
        }
    }
    if let Some(last) = fresh.last() {
        tx.execute(
            "UPDATE devices SET last_seq = ?2 WHERE id = ?1",
            params![device_key, last.seq],
        )?;
    }

    // Receipts: recomputed for the jobs this batch changed.
    let mut update_job = tx.prepare_cached(
        "UPDATE jobs SET content_hash = ?2, receipt_at = ?3, status = ?4 WHERE id = ?1",
    )?;
    let mut earlier_ops = tx.prepare_cached(
        "SELECT payload, device_time FROM ops WHERE job_id = ?1 AND id <= ?2 AND visit = ?3
         ORDER BY id",
    )?;
    for (job_id, batch) in &applied {
        let job = &jobs[job_id];
        let earlier = earlier_ops
            .query_map(
                params![job_id.to_string(), stored_through, job.job.visit],
                |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)),
            )?
            .map(|row| {
                let (payload, at) = row?;
                Ok((payload, parse_ts(&at)?))
            })
            .collect::<HqResult<Vec<_>>>()?;
        let mut visit = push::rebuild_visit(
            job.job.clone(),
            earlier.iter().map(|(payload, at)| (payload.as_str(), *at)),
        );
        for entry in batch {
            push::replay(&mut visit, &entry.payload, entry.device_time);
        }
        let hash = push::content_hash(&visit);
        let status =
            match push::conflict_reason(job.job.status, job.technician_id, device.technician_id) {
                Some(_) => job.job.status,
                None => push::progressed_status(job.job.status, &visit),
            };
        update_job.execute(params![
            job_id.to_string(),
            hash,
            now_text,
            enum_text(&status)
        ])?;
    }

    let mut receipts = Vec::new();
    let mut conflicts = Vec::new();
    let mut receipt_of =
        tx.prepare_cached("SELECT content_hash, receipt_at FROM jobs WHERE id = ?1")?;
    for job_id in &named {
        let key = job_id.to_string();
        let (hash, at): (Option<String>, Option<String>) =
            receipt_of.query_row([&key], |row| Ok((row.get(0)?, row.get(1)?)))?;
        if let (Some(content_hash), Some(at)) = (hash, at) {
            receipts.push(Receipt {
                job_id: *job_id,
                server_time: parse_ts(&at)?,
                content_hash,
            });
        }
        for (conflict, reason) in collect(
            tx,
            "SELECT id, reason FROM conflicts WHERE job_id = ?1 AND resolved_at IS NULL",
            [&key],
            |row| {
                Ok((
                    id::<ConflictId>(&row.get::<_, String>(0)?)?,
                    enum_parse::<ConflictReason>(&row.get::<_, String>(1)?)?,
                ))
            },
        )? {
            conflicts.push(ConflictNotice {
                conflict_id: conflict,
                job_id: *job_id,
                reason,
            });
        }
    }
    let applied_through_seq = fresh.last().map(|e| e.seq).unwrap_or(last_seq);
    Ok(PushResponse {
        applied_through_seq,
        receipts,
        conflicts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database from before the blob file keeps its blobs: they move into
    /// the blob file, and the old table goes.
    #[tokio::test]
    async fn blobs_kept_in_an_older_database_move_to_the_blob_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hq.sqlite3");
        let hash = "b".repeat(64);
        {
            let mut conn = Connection::open(&path).unwrap();
            migrations().to_version(&mut conn, 2).unwrap();
            conn.execute(
                "INSERT INTO blobs (hash, size, bytes, created_at)
                 VALUES (?1, 3, x'010203', '2026-11-23T08:00:00.000000Z')",
                [&hash],
            )
            .unwrap();
        }
        let storage = SqliteStorage::open(&path).unwrap();
        assert_eq!(storage.blob(&hash).await.unwrap(), Some(vec![1, 2, 3]));
        assert!(storage.missing_blobs(&[hash]).await.unwrap().is_empty());
        let records = Connection::open(&path).unwrap();
        let table_left: bool = records
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'blobs')",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert!(!table_left, "the database still has its blobs table");
        let page_size: u32 = Connection::open(blob_file(&path))
            .unwrap()
            .query_row("PRAGMA page_size", [], |row| row.get(0))
            .unwrap();
        assert_eq!(page_size, BLOB_PAGE_SIZE);
    }

    /// The op log keeps every op, in its order, through the move to the
    /// leaner table.
    #[tokio::test]
    async fn ops_of_an_older_database_survive_the_lean_op_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hq.sqlite3");
        let job = JobId::new();
        let (first, second) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
        let (tech, device, customer) = (TechnicianId::new(), DeviceId::new(), uuid::Uuid::now_v7());
        {
            let mut conn = Connection::open(&path).unwrap();
            migrations().to_version(&mut conn, 4).unwrap();
            conn.execute_batch(&format!(
                "INSERT INTO technicians VALUES ('{tech}', '林', '2026-11-23T08:00:00.000000Z');
                 INSERT INTO devices (id, technician_id, name, token_hash, enrolled_at)
                     VALUES ('{device}', '{tech}', 'laptop', 'x', '2026-11-23T08:00:00.000000Z');
                 INSERT INTO jobs (id, customer_id, customer_name, phone, address, job_type,
                     sub_case, fault_description, window_start, window_end, status,
                     earlier_visits, technician_id, change_seq, created_at)
                     VALUES ('{job}', '{customer}', '黄', '13800000000', '福州', 'fault', 'indoor', '',
                     '2026-11-23T09:00:00.000000Z', '2026-11-23T10:00:00.000000Z', 'scheduled',
                     '[]', '{tech}', 1, '2026-11-23T08:00:00.000000Z');
                 INSERT INTO ops (id, op_id, device_id, seq, job_id, kind, payload, device_time,
                     server_time)
                 VALUES (9, '{second}', '{device}', 2, '{job}', 'complete', '{{\"type\":\"complete\"}}',
                     '2026-11-23T09:30:00.000000Z', '2026-11-23T11:00:00.000000Z'),
                     (5, '{first}', '{device}', 1, '{job}', 'set_step', '{{\"type\":\"set_step\",\"data\":\"visit\"}}',
                     '2026-11-23T09:10:00.000000Z', '2026-11-23T11:00:00.000000Z');"
            ))
            .unwrap();
        }
        let storage = SqliteStorage::open(&path).unwrap();
        let records = storage.job_records(job).await.unwrap().unwrap();
        let ops: Vec<_> = records.ops.iter().map(|op| (op.op_id, op.seq)).collect();
        assert_eq!(
            ops,
            vec![(first, 1), (second, 2)],
            "every op, in applied order"
        );
        assert_eq!(records.records.len(), 2, "and the records read off them");
    }

    /// Commits skip SQLite's inline checkpoint, so the checkpointer thread
    /// must be the one that moves committed pages into the database file.
    #[tokio::test]
    async fn the_checkpointer_moves_commits_into_the_database_file() {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(&dir.path().join("hq.sqlite3")).unwrap();
        let path = blob_file(&dir.path().join("hq.sqlite3"));
        let before = std::fs::metadata(&path).unwrap().len();
        let blob = vec![7u8; 4 << 20];
        storage
            .put_blobs(vec![("a".repeat(64), blob)], Utc::now())
            .await
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::fs::metadata(&path).unwrap().len() < before + (4 << 20) {
            assert!(
                std::time::Instant::now() < deadline,
                "the 4 MiB commit never reached the database file"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}
