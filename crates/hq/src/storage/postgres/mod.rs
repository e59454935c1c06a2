//! PostgreSQL backend: a deadpool pool of tokio-postgres clients, so several
//! stateless `doorstep-hq` servers can share one database. Migrations are SQL
//! files applied in order, recorded in `schema_migrations`, under an advisory
//! lock so two servers starting at once do not race.
//!
//! Serialization: the change counter is one row, so dispatch writes take its
//! lock and commit in counter order (a pull never skips a change); a push
//! locks its device row, so one device's batches apply one at a time.
//!
//! One file per concern, the same names as the SQLite backend's: `conn`
//! (pool and migrations), `rows` (row decoding), `auth`, `dispatch`, `customers`, `push`
//! (device sync), `blobs`, `epoch` (the identity of HQ's history), `audit`,
//! `documents`.

mod audit;
mod auth;
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

use deadpool_postgres::Pool;

use super::Storage;

#[derive(Clone)]
pub struct PostgresStorage {
    pool: Pool,
}

impl Storage for PostgresStorage {
    fn backend(&self) -> &'static str {
        "postgres"
    }
}
