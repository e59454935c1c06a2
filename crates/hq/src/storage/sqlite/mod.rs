//! SQLite backend: two files, each in WAL with one writer connection behind
//! a mutex (SQLite has one writer anyway; writes queued behind it share a
//! commit, see `conn::Db::write`) and a few readers, work moved off the
//! async runtime with spawn_blocking. Blobs live in a file of their own
//! beside the database (`NAME.blobs.sqlite3`) with 64 KiB pages: a 20 KiB
//! signature then fits in one page instead of a chain of six, which makes a
//! depot sync's blobs several times cheaper to write, and their writer never
//! waits for the records' writer (or the other way round).
//!
//! One file per concern, the same names as the PostgreSQL backend's:
//! `conn` (files and connections), `rows` (row decoding), `auth`,
//! `dispatch`, `customers`, `push` (device sync), `blobs`, `epoch` (the identity of
//! HQ's history), `audit`, `documents`. `backup` has no PostgreSQL twin: there, pg_dump
//! and pg_restore do its work (README).

mod audit;
mod auth;
pub(super) mod backup;
mod blobs;
mod complaints;
mod conn;
mod customers;
mod dispatch;
mod documents;
mod epoch;
mod leads;
mod prices;
mod push;
mod rows;
mod targets;

use std::path::Path;

use rusqlite::{Connection, Transaction};

use super::Storage;
use crate::error::{HqError, HqResult};
pub(super) use conn::blob_file;
use conn::{blob_migrations, migrations, move_blobs_from_records, Db, BLOB_PAGE_SIZE};

#[derive(Clone)]
pub struct SqliteStorage {
    records: Db,
    blobs: Db,
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

impl Storage for SqliteStorage {
    fn backend(&self) -> &'static str {
        "sqlite"
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use doorstep_core::wire::{DeviceId, TechnicianId};
    use doorstep_core::JobId;

    use super::*;
    use crate::storage::{BlobStore, DispatchStore};

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

    /// Every job from before customers were kept keeps its customer id, now
    /// a customer's row (with the phone key matching reads), so its history
    /// and the next job on that phone find it.
    #[tokio::test]
    async fn existing_jobs_customers_become_customers_under_their_ids() {
        use crate::storage::{CustomerStore, DispatchStore};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hq.sqlite3");
        let (job, customer) = (JobId::new(), uuid::Uuid::now_v7());
        {
            let mut conn = Connection::open(&path).unwrap();
            migrations().to_version(&mut conn, 11).unwrap();
            conn.execute_batch(&format!(
                "INSERT INTO jobs (id, customer_id, customer_name, phone, address, job_type,
                     sub_case, fault_description, window_start, window_end, status,
                     earlier_visits, technician_id, change_seq, created_at)
                 VALUES ('{job}', '{customer}', '黄', '138 0000-0000', '福州', 'fault', 'indoor',
                     '', '2026-11-23T09:00:00.000000Z', '2026-11-23T10:00:00.000000Z',
                     'scheduled', '[]', NULL, 1, '2026-11-23T08:00:00.000000Z');"
            ))
            .unwrap();
        }
        let storage = SqliteStorage::open(&path).unwrap();
        let history = storage
            .customer_history(doorstep_core::CustomerId(customer))
            .await
            .unwrap()
            .expect("the job's customer is a customer");
        assert_eq!(history.customer.name, "黄");
        assert_eq!(history.jobs.len(), 1);
        let mut next = history.jobs[0].dispatch.clone();
        next.job.id = JobId::new();
        next.job.customer.id = doorstep_core::CustomerId::new();
        next.job.customer.phone = "13800000000".into();
        let created = storage
            .create_jobs(&[next], chrono::Utc::now(), &[])
            .await
            .unwrap();
        assert_eq!(
            created[0].job.customer.id.0, customer,
            "the migrated phone key matches the phone typed without separators"
        );
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
