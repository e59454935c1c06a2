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
//! (pool and migrations), `rows` (row decoding), `auth`, `dispatch`, `push`
//! (device sync), `blobs`, `epoch` (the identity of HQ's history), `audit`.

mod audit;
mod auth;
mod blobs;
mod conn;
mod dispatch;
mod epoch;
mod prices;
mod push;
mod rows;

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
