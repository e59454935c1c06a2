//! PostgreSQL backend: a deadpool pool of tokio-postgres clients, so several
//! stateless `doorstep-hq` servers can share one database. Migrations are SQL
//! files applied in order, recorded in `schema_migrations`, under an advisory
//! lock so two servers starting at once do not race.
//!
//! Serialization: the change counter is one row, so dispatch writes take its
//! lock and commit in counter order (a pull never skips a change); a push
//! locks its device row, so one device's batches apply one at a time.

use std::collections::HashMap;

use async_trait::async_trait;
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod};
use doorstep_core::wire::{
    ConflictId, ConflictNotice, ConflictReason, DeviceId, DispatcherId, PushEntry, PushResponse,
    Receipt, TechnicianId, TechnicianRef,
};
use doorstep_core::{Customer, Job, JobId, JobStatus, Timestamp};
use futures_util::future::try_join_all;
use tokio_postgres::{NoTls, Row};
use uuid::Uuid;

use super::sqlite::{enum_parse, enum_text};
use super::{
    Conflict, DeviceAuth, DeviceInfo, DispatchChange, DispatchedJob, DispatcherLogin,
    DispatcherSession, JobRecords, PullBatch, Resolution, Storage, StoredOp,
};
use crate::error::{HqError, HqResult};
use crate::push;

/// Migrations in the order they apply; the version is the position (1-based).
/// Append-only, named by date. Never edit one that has shipped.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/postgres/2026-11-23_initial.sql"),
    include_str!("../../migrations/postgres/2026-11-23_conflict_outcomes.sql"),
    include_str!("../../migrations/postgres/2026-11-25_records_from_ops.sql"),
    include_str!("../../migrations/postgres/2026-12-02_visits.sql"),
];

/// Any number, as long as it stays the same: the advisory lock key for migrations.
const MIGRATION_LOCK: i64 = 0x646f_6f72_7374_6570;

#[derive(Clone)]
pub struct PostgresStorage {
    pool: Pool,
}

const JOB_COLUMNS: &str = "id, customer_id, customer_name, phone, address, job_type, sub_case, \
     fault_description, window_start, window_end, status, earlier_visits, technician_id, visit";

fn read_job(row: &Row) -> HqResult<DispatchedJob> {
    Ok(DispatchedJob {
        job: Job {
            id: JobId(row.try_get(0)?),
            customer: Customer {
                id: doorstep_core::CustomerId(row.try_get(1)?),
                name: row.try_get(2)?,
                phone: row.try_get(3)?,
                address: row.try_get(4)?,
            },
            job_type: enum_parse(row.try_get(5)?)?,
            sub_case: enum_parse(row.try_get(6)?)?,
            fault_description: row.try_get(7)?,
            window_start: row.try_get(8)?,
            window_end: row.try_get(9)?,
            status: enum_parse(row.try_get(10)?)?,
            earlier_visits: serde_json::from_str(row.try_get(11)?).map_err(HqError::storage)?,
            visit: visit_from_sql(row.try_get(13)?)?,
        },
        technician_id: row.try_get::<_, Option<Uuid>>(12)?.map(TechnicianId),
    })
}

/// A visit number as PostgreSQL's INTEGER holds it.
fn visit_to_sql(visit: u32) -> HqResult<i32> {
    i32::try_from(visit).map_err(HqError::storage)
}

fn visit_from_sql(visit: i32) -> HqResult<u32> {
    u32::try_from(visit).map_err(HqError::storage)
}

const DEVICE_COLUMNS: &str = "id, name, technician_id, enrolled_at, revoked_at, last_seq";

fn read_device(row: &Row) -> HqResult<DeviceInfo> {
    Ok(DeviceInfo {
        id: DeviceId(row.try_get(0)?),
        name: row.try_get(1)?,
        technician_id: TechnicianId(row.try_get(2)?),
        enrolled_at: row.try_get(3)?,
        revoked_at: row.try_get(4)?,
        last_seq: row.try_get(5)?,
    })
}

const CONFLICT_COLUMNS: &str = "id, job_id, device_id, technician_id, reason, op_id, created_at, \
     resolved_at, resolution, note, resolved_by";

fn read_conflict(row: &Row) -> HqResult<Conflict> {
    Ok(Conflict {
        id: ConflictId(row.try_get(0)?),
        job_id: JobId(row.try_get(1)?),
        device_id: DeviceId(row.try_get(2)?),
        technician_id: TechnicianId(row.try_get(3)?),
        reason: enum_parse(row.try_get(4)?)?,
        op_id: row.try_get(5)?,
        created_at: row.try_get(6)?,
        resolved_at: row.try_get(7)?,
        resolution: row
            .try_get::<_, Option<&str>>(8)?
            .map(enum_parse)
            .transpose()?,
        note: row.try_get(9)?,
        resolved_by: row.try_get(10)?,
    })
}

async fn load_job<C: GenericClient>(client: &C, job: JobId) -> HqResult<Option<DispatchedJob>> {
    client
        .query_opt(
            &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"),
            &[&job.0],
        )
        .await?
        .as_ref()
        .map(read_job)
        .transpose()
}

async fn next_change<C: GenericClient>(client: &C) -> HqResult<i64> {
    Ok(client
        .query_one(
            "UPDATE counters SET value = value + 1 WHERE name = 'job_change' RETURNING value",
            &[],
        )
        .await?
        .try_get(0)?)
}

async fn job_ops<C: GenericClient>(client: &C, job: JobId) -> HqResult<Vec<StoredOp>> {
    client
        .query(
            "SELECT op_id, device_id, seq, job_id, kind, payload, device_time, server_time, visit
             FROM ops WHERE job_id = $1 ORDER BY id",
            &[&job.0],
        )
        .await?
        .iter()
        .map(|row| {
            Ok(StoredOp {
                op_id: row.try_get(0)?,
                device_id: DeviceId(row.try_get(1)?),
                seq: row.try_get(2)?,
                job_id: JobId(row.try_get(3)?),
                kind: row.try_get(4)?,
                payload: row.try_get(5)?,
                device_time: row.try_get(6)?,
                server_time: row.try_get(7)?,
                visit: visit_from_sql(row.try_get(8)?)?,
            })
        })
        .collect()
}

async fn rebuilt_visit<C: GenericClient>(
    client: &C,
    job: &DispatchedJob,
) -> HqResult<doorstep_core::VisitRecord> {
    let ops = job_ops(client, job.job.id).await?;
    Ok(push::rebuild_visit(
        job.job.clone(),
        push::current_visit_ops(&job.job, &ops),
    ))
}

async fn assign<C: GenericClient>(
    client: &C,
    job: JobId,
    technician: TechnicianId,
    seq: i64,
) -> HqResult<()> {
    client
        .execute(
            "UPDATE job_assignments SET unassigned_seq = $3
             WHERE job_id = $1 AND technician_id <> $2 AND unassigned_seq IS NULL",
            &[&job.0, &technician.0, &seq],
        )
        .await?;
    client
        .execute(
            "INSERT INTO job_assignments (job_id, technician_id, assigned_seq) VALUES ($1, $2, $3)
             ON CONFLICT (job_id, technician_id) DO UPDATE
                 SET assigned_seq = excluded.assigned_seq, unassigned_seq = NULL",
            &[&job.0, &technician.0, &seq],
        )
        .await?;
    client
        .execute(
            "UPDATE jobs SET technician_id = $2, change_seq = $3 WHERE id = $1",
            &[&job.0, &technician.0, &seq],
        )
        .await?;
    Ok(())
}

fn pg_config(url: &str) -> HqResult<tokio_postgres::Config> {
    url.parse::<tokio_postgres::Config>()
        .map_err(|err| HqError::storage(format!("bad PostgreSQL URL: {err}")))
}

impl PostgresStorage {
    /// Connects and migrates forward. With `schema`, everything lives in that
    /// schema (created if missing): the tests give each run its own.
    pub async fn connect(url: &str, schema: Option<&str>) -> HqResult<PostgresStorage> {
        let mut config = pg_config(url)?;
        if let Some(schema) = schema {
            if !schema
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err(HqError::storage("schema names are letters, digits and _"));
            }
            let (mut client, connection) = config.connect(NoTls).await?;
            let task = tokio::spawn(connection);
            // CREATE SCHEMA IF NOT EXISTS races with itself: servers starting
            // together take the migration lock for it too.
            let tx = client.transaction().await?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
                .await?;
            tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
                .await?;
            tx.commit().await?;
            drop(client);
            let _ = task.await;
            config.options(format!("-c search_path={schema}"));
        }
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(16)
            .build()
            .map_err(HqError::storage)?;
        let storage = PostgresStorage { pool };
        storage.migrate().await?;
        Ok(storage)
    }

    async fn migrate(&self) -> HqResult<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version    BIGINT PRIMARY KEY,
                 applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
        )
        .await?;
        let current: i64 = tx
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                &[],
            )
            .await?
            .try_get(0)?;
        for (index, sql) in MIGRATIONS.iter().enumerate() {
            let version = index as i64 + 1;
            if version > current {
                tx.batch_execute(sql).await?;
                tx.execute(
                    "INSERT INTO schema_migrations (version) VALUES ($1)",
                    &[&version],
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Drops a schema and everything in it (the tests clean up with this).
    pub async fn drop_schema(url: &str, schema: &str) -> HqResult<()> {
        if !schema
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(HqError::storage("schema names are letters, digits and _"));
        }
        let (client, connection) = pg_config(url)?.connect(NoTls).await?;
        let task = tokio::spawn(connection);
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .await?;
        drop(client);
        let _ = task.await;
        Ok(())
    }
}

#[async_trait]
impl Storage for PostgresStorage {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn create_technician(&self, name: &str, now: Timestamp) -> HqResult<TechnicianRef> {
        let tech = TechnicianRef {
            id: TechnicianId::new(),
            name: name.to_string(),
        };
        self.pool
            .get()
            .await?
            .execute(
                "INSERT INTO technicians (id, name, created_at) VALUES ($1, $2, $3)",
                &[&tech.id.0, &tech.name, &now],
            )
            .await?;
        Ok(tech)
    }

    async fn technicians(&self) -> HqResult<Vec<TechnicianRef>> {
        self.pool
            .get()
            .await?
            .query("SELECT id, name FROM technicians ORDER BY name, id", &[])
            .await?
            .iter()
            .map(|row| {
                Ok(TechnicianRef {
                    id: TechnicianId(row.try_get(0)?),
                    name: row.try_get(1)?,
                })
            })
            .collect()
    }

    async fn technician(&self, tech: TechnicianId) -> HqResult<Option<TechnicianRef>> {
        let row = self
            .pool
            .get()
            .await?
            .query_opt("SELECT name FROM technicians WHERE id = $1", &[&tech.0])
            .await?;
        row.map(|row| {
            Ok(TechnicianRef {
                id: tech,
                name: row.try_get(0)?,
            })
        })
        .transpose()
    }

    async fn create_dispatcher(
        &self,
        username: &str,
        password_hash: &str,
        now: Timestamp,
    ) -> HqResult<DispatcherId> {
        let dispatcher = DispatcherId::new();
        let inserted = self
            .pool
            .get()
            .await?
            .execute(
                "INSERT INTO dispatchers (id, username, password_hash, created_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (username) DO NOTHING",
                &[&dispatcher.0, &username, &password_hash, &now],
            )
            .await?;
        if inserted == 0 {
            return Err(HqError::conflict(
                "username_taken",
                format!("a dispatcher named {username} exists"),
            ));
        }
        Ok(dispatcher)
    }

    async fn dispatcher_by_username(&self, username: &str) -> HqResult<Option<DispatcherLogin>> {
        let row = self
            .pool
            .get()
            .await?
            .query_opt(
                "SELECT id, password_hash FROM dispatchers WHERE username = $1",
                &[&username],
            )
            .await?;
        row.map(|row| {
            Ok(DispatcherLogin {
                id: DispatcherId(row.try_get(0)?),
                username: username.to_string(),
                password_hash: row.try_get(1)?,
            })
        })
        .transpose()
    }

    async fn create_session(
        &self,
        token_hash: &str,
        dispatcher: DispatcherId,
        expires_at: Timestamp,
    ) -> HqResult<()> {
        self.pool
            .get()
            .await?
            .execute(
                "INSERT INTO sessions (token_hash, dispatcher_id, expires_at) VALUES ($1, $2, $3)",
                &[&token_hash, &dispatcher.0, &expires_at],
            )
            .await?;
        Ok(())
    }

    async fn delete_session(&self, token_hash: &str) -> HqResult<()> {
        self.pool
            .get()
            .await?
            .execute("DELETE FROM sessions WHERE token_hash = $1", &[&token_hash])
            .await?;
        Ok(())
    }

    async fn session(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> HqResult<Option<DispatcherSession>> {
        let row = self
            .pool
            .get()
            .await?
            .query_opt(
                "SELECT d.id, d.username FROM sessions s
                 JOIN dispatchers d ON d.id = s.dispatcher_id
                 WHERE s.token_hash = $1 AND s.expires_at > $2",
                &[&token_hash, &now],
            )
            .await?;
        row.map(|row| {
            Ok(DispatcherSession {
                dispatcher_id: DispatcherId(row.try_get(0)?),
                username: row.try_get(1)?,
            })
        })
        .transpose()
    }

    async fn create_enrollment_code(
        &self,
        code_hash: &str,
        technician: TechnicianId,
        expires_at: Timestamp,
    ) -> HqResult<()> {
        self.pool
            .get()
            .await?
            .execute(
                "INSERT INTO enrollment_codes (code_hash, technician_id, expires_at)
                 VALUES ($1, $2, $3)",
                &[&code_hash, &technician.0, &expires_at],
            )
            .await?;
        Ok(())
    }

    async fn enroll(
        &self,
        code_hash: &str,
        device: DeviceId,
        device_name: &str,
        token_hash: &str,
        now: Timestamp,
    ) -> HqResult<TechnicianRef> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let row = tx
            .query_opt(
                "UPDATE enrollment_codes c SET used_at = $2, device_id = $3
                 FROM technicians t
                 WHERE c.code_hash = $1 AND c.used_at IS NULL AND c.expires_at > $2
                   AND t.id = c.technician_id
                 RETURNING t.id, t.name",
                &[&code_hash, &now, &device.0],
            )
            .await?;
        let Some(row) = row else {
            return Err(HqError::unauthorized(
                "invalid_code",
                "the enrollment code is unknown, used or expired",
            ));
        };
        let technician = TechnicianRef {
            id: TechnicianId(row.try_get(0)?),
            name: row.try_get(1)?,
        };
        tx.execute(
            "INSERT INTO devices (id, technician_id, name, token_hash, enrolled_at)
             VALUES ($1, $2, $3, $4, $5)",
            &[&device.0, &technician.id.0, &device_name, &token_hash, &now],
        )
        .await?;
        tx.commit().await?;
        Ok(technician)
    }

    async fn device_by_token(&self, token_hash: &str) -> HqResult<Option<DeviceAuth>> {
        let row = self
            .pool
            .get()
            .await?
            .query_opt(
                "SELECT id, technician_id, revoked_at IS NOT NULL FROM devices
                 WHERE token_hash = $1",
                &[&token_hash],
            )
            .await?;
        row.map(|row| {
            Ok(DeviceAuth {
                id: DeviceId(row.try_get(0)?),
                technician_id: TechnicianId(row.try_get(1)?),
                revoked: row.try_get(2)?,
            })
        })
        .transpose()
    }

    async fn revoke_device(&self, device: DeviceId, now: Timestamp) -> HqResult<DeviceInfo> {
        let row = self
            .pool
            .get()
            .await?
            .query_opt(
                &format!(
                    "UPDATE devices SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1
                     RETURNING {DEVICE_COLUMNS}"
                ),
                &[&device.0, &now],
            )
            .await?;
        row.as_ref()
            .map(read_device)
            .transpose()?
            .ok_or_else(|| HqError::NotFound(format!("device {device}")))
    }

    async fn devices(&self) -> HqResult<Vec<DeviceInfo>> {
        self.pool
            .get()
            .await?
            .query(
                &format!("SELECT {DEVICE_COLUMNS} FROM devices ORDER BY enrolled_at, id"),
                &[],
            )
            .await?
            .iter()
            .map(read_device)
            .collect()
    }

    async fn create_jobs(&self, jobs: &[DispatchedJob], now: Timestamp) -> HqResult<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        for dispatched in jobs {
            let seq = next_change(&tx).await?;
            let job = &dispatched.job;
            let earlier = serde_json::to_string(&job.earlier_visits).map_err(HqError::storage)?;
            let inserted = tx
                .execute(
                    "INSERT INTO jobs (id, customer_id, customer_name, phone, address, job_type,
                        sub_case, fault_description, window_start, window_end, status,
                        earlier_visits, technician_id, change_seq, created_at, visit)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, $13, $14,
                        $15)
                     ON CONFLICT (id) DO NOTHING",
                    &[
                        &job.id.0,
                        &job.customer.id.0,
                        &job.customer.name,
                        &job.customer.phone,
                        &job.customer.address,
                        &enum_text(&job.job_type),
                        &enum_text(&job.sub_case),
                        &job.fault_description,
                        &job.window_start,
                        &job.window_end,
                        &enum_text(&job.status),
                        &earlier,
                        &seq,
                        &now,
                        &visit_to_sql(job.visit)?,
                    ],
                )
                .await?;
            if inserted == 0 {
                return Err(HqError::conflict(
                    "job_exists",
                    format!("job {} exists", job.id),
                ));
            }
            if let Some(technician) = dispatched.technician_id {
                assign(&tx, job.id, technician, seq).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn change_job(&self, job: JobId, change: DispatchChange) -> HqResult<DispatchedJob> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // Take the counter first: dispatch writes commit in counter order.
        let seq = next_change(&tx).await?;
        let current = load_job(&tx, job)
            .await?
            .ok_or_else(|| HqError::NotFound(format!("job {job}")))?;
        if current.job.status == JobStatus::Cancelled {
            return Err(HqError::conflict("job_cancelled", "the job is cancelled"));
        }
        if current.job.status == JobStatus::Completed {
            return Err(HqError::conflict("job_completed", "the job is completed"));
        }
        match change {
            DispatchChange::Assign(technician) => assign(&tx, job, technician, seq).await?,
            DispatchChange::Cancel => {
                tx.execute(
                    "UPDATE jobs SET status = 'cancelled', change_seq = $2 WHERE id = $1",
                    &[&job.0, &seq],
                )
                .await?;
            }
            DispatchChange::Reschedule { start, end } => {
                // A next visit has no receipt until its own changes come.
                tx.execute(
                    "UPDATE jobs SET window_start = $2, window_end = $3, status = $4,
                         change_seq = $5, visit = $6,
                         content_hash = CASE WHEN visit = $6 THEN content_hash END,
                         receipt_at = CASE WHEN visit = $6 THEN receipt_at END
                     WHERE id = $1",
                    &[
                        &job.0,
                        &start,
                        &end,
                        &enum_text(&JobStatus::Scheduled),
                        &seq,
                        &visit_to_sql(push::visit_after_rebooking(&current.job))?,
                    ],
                )
                .await?;
            }
        }
        let out = load_job(&tx, job)
            .await?
            .ok_or_else(|| HqError::NotFound(format!("job {job}")))?;
        tx.commit().await?;
        Ok(out)
    }

    async fn pull(&self, technician: TechnicianId, since: i64) -> HqResult<PullBatch> {
        let mut client = self.pool.get().await?;
        // One snapshot for the cursor and the rows it covers.
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let cursor: i64 = tx
            .query_one("SELECT value FROM counters WHERE name = 'job_change'", &[])
            .await?
            .try_get(0)?;
        let jobs = tx
            .query(
                &format!(
                    "SELECT {JOB_COLUMNS} FROM jobs WHERE technician_id = $1 AND change_seq > $2
                     ORDER BY change_seq"
                ),
                &[&technician.0, &since],
            )
            .await?
            .iter()
            .map(|row| read_job(row).map(|d| d.job))
            .collect::<HqResult<Vec<_>>>()?;
        let removed = tx
            .query(
                "SELECT job_id FROM job_assignments
                 WHERE technician_id = $1 AND unassigned_seq > $2 ORDER BY unassigned_seq",
                &[&technician.0, &since],
            )
            .await?
            .iter()
            .map(|row| Ok(JobId(row.try_get(0)?)))
            .collect::<HqResult<Vec<_>>>()?;
        let resolved = tx
            .query(
                &format!(
                    "SELECT {CONFLICT_COLUMNS} FROM conflicts
                     WHERE technician_id = $1 AND resolved_seq > $2 ORDER BY resolved_seq"
                ),
                &[&technician.0, &since],
            )
            .await?
            .iter()
            .map(read_conflict)
            .collect::<HqResult<Vec<_>>>()?;
        tx.commit().await?;
        Ok(PullBatch {
            cursor,
            jobs,
            removed,
            resolved,
        })
    }

    async fn jobs_between(&self, from: Timestamp, to: Timestamp) -> HqResult<Vec<DispatchedJob>> {
        self.pool
            .get()
            .await?
            .query(
                &format!(
                    "SELECT {JOB_COLUMNS} FROM jobs WHERE window_start >= $1 AND window_start < $2
                     ORDER BY window_start, id"
                ),
                &[&from, &to],
            )
            .await?
            .iter()
            .map(read_job)
            .collect()
    }

    async fn job_records(&self, job: JobId) -> HqResult<Option<JobRecords>> {
        let mut client = self.pool.get().await?;
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let Some(dispatch) = load_job(&tx, job).await? else {
            return Ok(None);
        };
        let ops = job_ops(&tx, job).await?;
        let records = push::latest_records(&ops);
        let row = tx
            .query_one(
                "SELECT content_hash, receipt_at FROM jobs WHERE id = $1",
                &[&job.0],
            )
            .await?;
        let receipt = match (
            row.try_get::<_, Option<String>>(0)?,
            row.try_get::<_, Option<Timestamp>>(1)?,
        ) {
            (Some(content_hash), Some(server_time)) => Some(Receipt {
                job_id: job,
                server_time,
                content_hash,
            }),
            _ => None,
        };
        let conflicts = tx
            .query(
                &format!(
                    "SELECT {CONFLICT_COLUMNS} FROM conflicts WHERE job_id = $1
                     ORDER BY created_at, id"
                ),
                &[&job.0],
            )
            .await?
            .iter()
            .map(read_conflict)
            .collect::<HqResult<Vec<_>>>()?;
        tx.commit().await?;
        Ok(Some(JobRecords {
            dispatch,
            records,
            ops,
            receipt,
            conflicts,
        }))
    }

    async fn push(
        &self,
        device: &DeviceAuth,
        entries: &[PushEntry],
        now: Timestamp,
    ) -> HqResult<PushResponse> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let response = push_in(&tx, device, entries, now).await?;
        tx.commit().await?;
        Ok(response)
    }

    async fn conflicts(&self, open_only: bool) -> HqResult<Vec<Conflict>> {
        self.pool
            .get()
            .await?
            .query(
                &format!(
                    "SELECT {CONFLICT_COLUMNS} FROM conflicts
                     WHERE ($1 = false OR resolved_at IS NULL) ORDER BY created_at, id"
                ),
                &[&open_only],
            )
            .await?
            .iter()
            .map(read_conflict)
            .collect()
    }

    async fn resolve_conflict(
        &self,
        conflict: ConflictId,
        resolution: Resolution,
        note: &str,
        by: &str,
        now: Timestamp,
    ) -> HqResult<Conflict> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let select = format!("SELECT {CONFLICT_COLUMNS} FROM conflicts WHERE id = $1");
        let found = tx
            .query_opt(&format!("{select} FOR UPDATE"), &[&conflict.0])
            .await?
            .as_ref()
            .map(read_conflict)
            .transpose()?
            .ok_or_else(|| HqError::NotFound(format!("conflict {conflict}")))?;
        if found.resolved_at.is_some() {
            return Err(HqError::conflict(
                "already_resolved",
                "the conflict is already resolved",
            ));
        }
        let seq = next_change(&tx).await?;
        if resolution == Resolution::AcceptCompletion {
            let job = load_job(&tx, found.job_id)
                .await?
                .ok_or_else(|| HqError::NotFound(format!("job {}", found.job_id)))?;
            let visit = rebuilt_visit(&tx, &job).await?;
            assign(&tx, found.job_id, found.technician_id, seq).await?;
            tx.execute(
                "UPDATE jobs SET status = $2 WHERE id = $1",
                &[&found.job_id.0, &enum_text(&visit.job.status)],
            )
            .await?;
        }
        tx.execute(
            "UPDATE conflicts SET resolved_at = $2, resolution = $3, note = $4, resolved_by = $5,
                 resolved_seq = $6
             WHERE job_id = $1 AND resolved_at IS NULL",
            &[
                &found.job_id.0,
                &now,
                &enum_text(&resolution),
                &note,
                &by,
                &seq,
            ],
        )
        .await?;
        let out = tx
            .query_one(&select, &[&conflict.0])
            .await
            .map_err(HqError::from)
            .and_then(|row| read_conflict(&row))?;
        tx.commit().await?;
        Ok(out)
    }

    async fn missing_blobs(&self, hashes: &[String]) -> HqResult<Vec<String>> {
        let rows = self
            .pool
            .get()
            .await?
            .query(
                "SELECT h FROM UNNEST($1::text[]) AS h
                 WHERE NOT EXISTS (SELECT 1 FROM blobs WHERE hash = h)",
                &[&hashes],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|row| row.try_get(0))
            .collect::<Result<_, _>>()?)
    }

    async fn put_blobs(
        &self,
        blobs: Vec<(String, Vec<u8>)>,
        now: Timestamp,
    ) -> HqResult<Vec<bool>> {
        let hashes: Vec<&str> = blobs.iter().map(|(hash, _)| hash.as_str()).collect();
        let sizes: Vec<i64> = blobs.iter().map(|(_, bytes)| bytes.len() as i64).collect();
        let bytes: Vec<&[u8]> = blobs.iter().map(|(_, bytes)| bytes.as_slice()).collect();
        // One statement, so one round trip and one commit for the batch.
        let rows = self
            .pool
            .get()
            .await?
            .query(
                "INSERT INTO blobs (hash, size, bytes, created_at)
                 SELECT h, s, b, $4 FROM UNNEST($1::text[], $2::bigint[], $3::bytea[]) AS t(h, s, b)
                 ON CONFLICT (hash) DO NOTHING RETURNING hash",
                &[&hashes, &sizes, &bytes, &now],
            )
            .await?;
        let created: std::collections::HashSet<String> = rows
            .iter()
            .map(|row| row.try_get(0))
            .collect::<Result<_, _>>()?;
        Ok(hashes.iter().map(|h| created.contains(*h)).collect())
    }

    async fn blob(&self, hash: &str) -> HqResult<Option<Vec<u8>>> {
        let row = self
            .pool
            .get()
            .await?
            .query_opt("SELECT bytes FROM blobs WHERE hash = $1", &[&hash])
            .await?;
        Ok(row.map(|row| row.try_get(0)).transpose()?)
    }
}

async fn push_in<C: GenericClient>(
    tx: &C,
    device: &DeviceAuth,
    entries: &[PushEntry],
    now: Timestamp,
) -> HqResult<PushResponse> {
    // The device row lock: one batch per device at a time.
    let row = tx
        .query_one(
            "SELECT last_seq, revoked_at IS NOT NULL FROM devices WHERE id = $1 FOR UPDATE",
            &[&device.id.0],
        )
        .await?;
    let last_seq: i64 = row.try_get(0)?;
    if row.try_get::<_, bool>(1)? {
        return Err(HqError::unauthorized(
            "device_revoked",
            "this device was revoked",
        ));
    }
    let fresh = push::fresh(last_seq, entries)?;

    let mut named: Vec<JobId> = entries.iter().map(|e| e.job_id).collect();
    named.sort();
    named.dedup();
    let named_ids: Vec<Uuid> = named.iter().map(|j| j.0).collect();
    let allowed: Vec<Uuid> = tx
        .query(
            "SELECT job_id FROM job_assignments WHERE job_id = ANY($1) AND technician_id = $2",
            &[&named_ids, &device.technician_id.0],
        )
        .await?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?;
    if let Some(job) = named.iter().find(|j| !allowed.contains(&j.0)) {
        return Err(HqError::Forbidden {
            code: "forbidden_job",
            message: format!("job {job} is not one of this technician's jobs"),
            job_id: Some(*job),
        });
    }

    // Statements go out pipelined (all sent, then all answered, in order),
    // so a batch costs a few round trips, not a few per entry. The server
    // runs them in the order sent, as if one by one.
    let jobs: HashMap<JobId, DispatchedJob> = try_join_all(named.iter().map(|job| async move {
        let found = load_job(tx, *job)
            .await?
            .ok_or_else(|| HqError::NotFound(format!("job {job}")))?;
        Ok::<_, HqError>((*job, found))
    }))
    .await?
    .into_iter()
    .collect();

    let insert_op = tx
        .prepare(
            "INSERT INTO ops (op_id, device_id, seq, job_id, kind, payload, device_time,
                 server_time, visit) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (op_id) DO NOTHING",
        )
        .await?;
    let payloads = fresh
        .iter()
        .map(|entry| {
            let payload = serde_json::to_string(&entry.payload).map_err(HqError::storage)?;
            Ok((payload, visit_to_sql(entry.visit)?))
        })
        .collect::<HqResult<Vec<_>>>()?;
    let (insert_op, now) = (&insert_op, &now);
    let inserted = try_join_all(fresh.iter().zip(&payloads).map(
        |(entry, (payload, visit))| async move {
            tx.execute(
                insert_op,
                &[
                    &entry.op_id,
                    &device.id.0,
                    &entry.seq,
                    &entry.job_id.0,
                    &entry.kind,
                    payload,
                    &entry.device_time,
                    now,
                    visit,
                ],
            )
            .await
        },
    ))
    .await?;
    // An op_id applied before (from another seq) changes nothing; an op of
    // an earlier visit is kept as evidence, nothing more.
    let applied: Vec<&PushEntry> = fresh
        .iter()
        .zip(inserted)
        .filter(|(_, count)| *count == 1)
        .map(|(entry, _)| entry)
        .filter(|entry| push::in_current_visit(&jobs[&entry.job_id].job, entry.visit))
        .collect();

    let mut touched: Vec<JobId> = applied.iter().map(|entry| entry.job_id).collect();
    touched.sort();
    touched.dedup();
    for entry in &applied {
        let job = &jobs[&entry.job_id];
        if let Some(reason) =
            push::conflict_reason(job.job.status, job.technician_id, device.technician_id)
        {
            tx.execute(
                "INSERT INTO conflicts (id, job_id, device_id, technician_id, reason, op_id,
                     created_at)
                 SELECT $1, $2, $3, $4, $5, $6, $7
                 WHERE NOT EXISTS (SELECT 1 FROM conflicts WHERE job_id = $2
                                   AND resolved_at IS NULL)",
                &[
                    &ConflictId::new().0,
                    &entry.job_id.0,
                    &device.id.0,
                    &device.technician_id.0,
                    &enum_text(&reason),
                    &entry.op_id,
                    &now,
                ],
            )
            .await?;
        }
    }
    if let Some(last) = fresh.last() {
        tx.execute(
            "UPDATE devices SET last_seq = $2 WHERE id = $1",
            &[&device.id.0, &last.seq],
        )
        .await?;
    }

    // Receipts: recomputed for the jobs this batch changed.
    let visits = try_join_all(touched.iter().map(|job| rebuilt_visit(tx, &jobs[job]))).await?;
    let update_job = tx
        .prepare("UPDATE jobs SET content_hash = $2, receipt_at = $3, status = $4 WHERE id = $1")
        .await?;
    let updates: Vec<(String, String)> = touched
        .iter()
        .zip(&visits)
        .map(|(job_id, visit)| {
            let job = &jobs[job_id];
            let status = match push::conflict_reason(
                job.job.status,
                job.technician_id,
                device.technician_id,
            ) {
                Some(_) => job.job.status,
                None => push::progressed_status(job.job.status, visit),
            };
            (push::content_hash(visit), enum_text(&status))
        })
        .collect();
    let update_job = &update_job;
    try_join_all(
        touched
            .iter()
            .zip(&updates)
            .map(|(job_id, (hash, status))| async move {
                tx.execute(update_job, &[&job_id.0, hash, now, status])
                    .await
            }),
    )
    .await?;

    let mut receipts = Vec::new();
    for row in tx
        .query(
            "SELECT id, content_hash, receipt_at FROM jobs
             WHERE id = ANY($1) AND content_hash IS NOT NULL ORDER BY id",
            &[&named_ids],
        )
        .await?
    {
        receipts.push(Receipt {
            job_id: JobId(row.try_get(0)?),
            content_hash: row.try_get(1)?,
            server_time: row.try_get(2)?,
        });
    }
    let mut conflicts = Vec::new();
    for row in tx
        .query(
            "SELECT id, job_id, reason FROM conflicts
             WHERE job_id = ANY($1) AND resolved_at IS NULL ORDER BY job_id",
            &[&named_ids],
        )
        .await?
    {
        conflicts.push(ConflictNotice {
            conflict_id: ConflictId(row.try_get(0)?),
            job_id: JobId(row.try_get(1)?),
            reason: enum_parse::<ConflictReason>(row.try_get(2)?)?,
        });
    }
    Ok(PushResponse {
        applied_through_seq: fresh.last().map(|e| e.seq).unwrap_or(last_seq),
        receipts,
        conflicts,
    })
}
