//! The pool, and migrations: SQL files applied in order, recorded in
//! `schema_migrations`, under an advisory lock so two servers starting at
//! once do not race.

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

use super::PostgresStorage;
use crate::error::{HqError, HqResult};

/// Migrations in the order they apply; the version is the position (1-based).
/// Append-only, named by date. Never edit one that has shipped.
const MIGRATIONS: &[&str] = &[
    include_str!("../../../migrations/postgres/2026-11-23_initial.sql"),
    include_str!("../../../migrations/postgres/2026-11-23_conflict_outcomes.sql"),
    include_str!("../../../migrations/postgres/2026-11-25_records_from_ops.sql"),
    include_str!("../../../migrations/postgres/2026-12-02_visits.sql"),
    include_str!("../../../migrations/postgres/2026-12-02_refused_ops.sql"),
    include_str!("../../../migrations/postgres/2026-12-02_audit.sql"),
];

/// Any number, as long as it stays the same: the advisory lock key for migrations.
const MIGRATION_LOCK: i64 = 0x646f_6f72_7374_6570;

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
