//! The pool, and migrations: SQL files applied in order, recorded in
//! `schema_migrations`, under an advisory lock so two servers starting at
//! once do not race.

use std::sync::Arc;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

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
    include_str!("../../../migrations/postgres/2026-12-02_clock_skew.sql"),
    include_str!("../../../migrations/postgres/2026-12-02_epoch.sql"),
    include_str!("../../../migrations/postgres/2026-12-02_audit.sql"),
    include_str!("../../../migrations/postgres/2026-12-02_support.sql"),
    include_str!("../../../migrations/postgres/2026-12-02_calls_by_time.sql"),
    include_str!("../../../migrations/postgres/2026-12-02_complaints.sql"),
    include_str!("../../../migrations/postgres/2026-12-02_leads.sql"),
    include_str!("../../../migrations/postgres/2026-12-03_customers.sql"),
    include_str!("../../../migrations/postgres/2026-12-02_documents.sql"),
    include_str!("../../../migrations/postgres/2026-12-02_repair_targets.sql"),
    include_str!("../../../migrations/postgres/2026-12-02_price_list.sql"),
    include_str!("../../../migrations/postgres/2026-12-03_blobs_stored_as_is.sql"),
    include_str!("../../../migrations/postgres/2026-12-03_lean_ops.sql"),
];

/// Any number, as long as it stays the same: the advisory lock key for migrations.
const MIGRATION_LOCK: i64 = 0x646f_6f72_7374_6570;

/// The connection settings and the TLS connector for a PostgreSQL URL.
///
/// TLS is used when the URL says `sslmode=require`, and then the server's
/// certificate is always checked: against the CA in the URL's
/// `sslrootcert=FILE` (PEM; taken out of the URL here, tokio-postgres does
/// not read it), or else the public roots. Without `sslmode=require` the
/// connection is plain, as libpq's `prefer` would be on a server without
/// TLS; an opportunistic TLS that checked nothing would only look safe.
fn pg_config(url: &str) -> HqResult<(tokio_postgres::Config, MakeRustlsConnect)> {
    let (url, root_cert) = take_param(url, "sslrootcert");
    let mut config = url
        .parse::<tokio_postgres::Config>()
        .map_err(|err| HqError::storage(format!("bad PostgreSQL URL: {err}")))?;
    if config.get_ssl_mode() != SslMode::Require {
        config.ssl_mode(SslMode::Disable);
    }
    let mut roots = rustls::RootCertStore::empty();
    match root_cert {
        Some(path) => {
            let pem = std::fs::read(&path)
                .map_err(|err| HqError::storage(format!("reading sslrootcert {path}: {err}")))?;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|err| {
                    HqError::storage(format!("sslrootcert {path} is not PEM certificates: {err}"))
                })?;
                roots
                    .add(cert)
                    .map_err(|err| HqError::storage(format!("sslrootcert {path}: {err}")))?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(HqError::storage)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok((config, MakeRustlsConnect::new(tls)))
}

/// `url` without its query parameter `name`, and that parameter's value.
fn take_param(url: &str, name: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_string(), None);
    };
    let mut value = None;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| match pair.split_once('=') {
            Some((key, found)) if key == name => {
                value = Some(found.to_string());
                false
            }
            _ => true,
        })
        .collect();
    if kept.is_empty() {
        (base.to_string(), value)
    } else {
        (format!("{base}?{}", kept.join("&")), value)
    }
}

impl PostgresStorage {
    /// Connects and migrates forward. With `schema`, everything lives in that
    /// schema (created if missing): the tests give each run its own.
    pub async fn connect(url: &str, schema: Option<&str>) -> HqResult<PostgresStorage> {
        let (mut config, tls) = pg_config(url)?;
        if let Some(schema) = schema {
            if !schema
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err(HqError::storage("schema names are letters, digits and _"));
            }
            let (mut client, connection) = config.connect(tls.clone()).await?;
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
            tls,
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
        let (config, tls) = pg_config(url)?;
        let (client, connection) = config.connect(tls).await?;
        let task = tokio::spawn(connection);
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .await?;
        drop(client);
        let _ = task.await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::take_param;

    #[test]
    fn sslrootcert_is_taken_out_of_the_url() {
        // tokio-postgres refuses parameters it does not know.
        assert_eq!(
            take_param(
                "postgres://u@h/db?sslmode=require&sslrootcert=/ca.pem",
                "sslrootcert"
            ),
            (
                "postgres://u@h/db?sslmode=require".into(),
                Some("/ca.pem".into())
            )
        );
        assert_eq!(
            take_param("postgres://u@h/db?sslrootcert=/ca.pem", "sslrootcert"),
            ("postgres://u@h/db".into(), Some("/ca.pem".into()))
        );
        assert_eq!(
            take_param("postgres://u@h/db", "sslrootcert"),
            ("postgres://u@h/db".into(), None)
        );
    }
}
