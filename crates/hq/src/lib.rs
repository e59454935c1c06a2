//! Doorstep's HQ server: the sync API the app talks to, the dispatcher's API,
//! and storage on SQLite (one box, zero set-up) or PostgreSQL (several
//! stateless servers, one database).
//!
//! Layers: `api` (axum router, thin handlers) -> `service::Hq` (one function
//! per request: checks, then storage) -> `storage::Storage` (one trait, one
//! implementation per backend, each method one transaction). `push` holds
//! the sync rules both backends share.

pub mod admin;
pub mod api;
pub mod console;
pub mod error;
pub mod openapi;
pub mod push;
pub mod service;
pub mod storage;

pub use api::router;
pub use error::{HqError, HqResult};
pub use service::{system_clock, Clock, Hq};
