//! Doorstep's HQ server: the sync API the app talks to, the dispatcher's API,
//! and storage on SQLite (one box, zero set-up) or PostgreSQL (several
//! stateless servers, one database).
//!
//! Layers, each importing only the ones below it: `api` (axum router, thin
//! handlers by audience) -> `service::Hq` (one function per request: checks,
//! then storage; the only holder of the storage handle) -> `storage` (one
//! trait per concern, one implementation per backend, each method one
//! transaction). Beside them: `rules` (every decision about HQ's data, pure),
//! `records` (the data HQ holds), `dto` (request and response bodies),
//! `time_range` (the years a time may be in) and `throttle` (rate limits).

pub mod admin;
pub mod api;
pub mod console;
pub mod dto;
pub mod error;
pub mod openapi;
pub mod records;
pub mod rules;
pub mod service;
pub mod storage;
pub mod throttle;
pub mod time_range;

pub use api::{router, router_with, HttpOptions};
pub use error::{HqError, HqResult};
pub use service::{system_clock, Clock, Hq};
