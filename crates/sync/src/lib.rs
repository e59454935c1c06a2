//! The app's sync client. Enrollment once at the depot; then each sync pulls
//! HQ's dispatch (applied by the ownership rules), sends blobs HQ lacks (by
//! hash, each once), and pushes the outbox in order, in batches that HQ
//! applies idempotently. Any interruption is resumed by the next sync: an
//! entry is marked sent only after HQ said it is durable.

mod background;
mod client;
mod error;
mod health;
mod recovery;
mod run;
mod secure;

pub use background::{background_loop, next_delay, SYNC_INTERVAL};
pub use client::HqClient;
pub use error::SyncError;
pub use health::{SyncFailure, SyncHealth};
pub use recovery::{refusal, Refusal};
pub use run::{
    enroll, sync_once, sync_once_with_clock, Enrollment, NotSent, Progress, SyncSummary, BATCH_SIZE,
};
