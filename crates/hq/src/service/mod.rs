//! What HQ does, one function per request, split by audience: `auth`
//! (dispatchers, technicians, enrollment and devices), `sync` (a device's
//! pull, push and blobs), `dispatch` (the dispatcher's jobs and conflicts),
//! `import` (CSV and the demo set), `customers` (the repeat flag, the
//! customer's story, the customer page, the proactive revisit), `epoch`
//! (the identity of HQ's history, renewed by a restore), `audit` (the audit
//! log), `calls` (the calls technicians logged, for review), `complaints`
//! (taken at HQ or on site), `leads` (the leads list and its CSV export),
//! `documents` (technical documents for laptops), `prices` (the price list).
//! Handlers and admin
//! commands parse, call one of these, and map the error; these check inputs
//! and call the storage, which only `Hq` holds. Decisions about stored data
//! are `crate::rules'`; what goes into the audit log is decided here, by each
//! action, and storage writes it with the action.
//!
//! An `Hq` acts for someone: `Hq::new` for the command line, `Hq::by` for a
//! signed-in dispatcher. Handlers of dispatcher routes act through `by`.

mod audit;
mod auth;
mod calls;
mod complaints;
mod customers;
mod dispatch;
mod documents;
mod epoch;
mod import;
mod leads;
mod prices;
mod settings;
mod sync;

use std::sync::Arc;

use doorstep_core::zone::{Tz, DEFAULT_TIME_ZONE};
use doorstep_core::Timestamp;

use crate::records::DispatcherSession;
use crate::storage::Storage;
use crate::throttle::{Limits, Throttle};

pub use crate::dto::{
    Board, BoardColumn, ImportResult, IssuedCode, JobDetail, LoginRequest, LoginResponse, NewJob,
    TimelineEntry,
};
pub use crate::records::Actor;
pub use auth::NewSession;
pub use auth::{
    enrollment_code, hash_password, normalize_code, random_token, token_hash,
    ENROLLMENT_CODE_TTL_HOURS, SESSION_TTL_HOURS,
};
pub use sync::check_hash;

/// Where HQ gets the time; tests pass a fixed one.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(chrono::Utc::now)
}

#[derive(Clone)]
pub struct Hq {
    storage: Arc<dyn Storage>,
    clock: Clock,
    throttle: Arc<Throttle>,
    /// The operator's time zone: the board's days are drawn in it and
    /// the console and laptops show times in it.
    time_zone: Tz,
    /// Who the actions of this handle are for, in the audit log.
    actor: Actor,
    /// How many days back a fault job looks for another (standard item 15).
    repeat_fault_days: u32,
}

impl Hq {
    /// HQ acting for the command line (admin commands, tests).
    pub fn new(storage: Arc<dyn Storage>, clock: Clock) -> Hq {
        Hq {
            storage,
            clock,
            throttle: Arc::new(Throttle::new(&Limits::default())),
            time_zone: DEFAULT_TIME_ZONE,
            actor: Actor::CommandLine,
            repeat_fault_days: crate::rules::DEFAULT_REPEAT_FAULT_DAYS,
        }
    }

    /// The same HQ in the operator's time zone (`serve --time-zone`).
    pub fn in_time_zone(self, time_zone: Tz) -> Hq {
        Hq { time_zone, ..self }
    }

    pub fn time_zone(&self) -> Tz {
        self.time_zone
    }

    /// The same HQ with other rate limits and password-check cap (tests).
    pub fn with_limits(self, limits: &Limits) -> Hq {
        Hq {
            throttle: Arc::new(Throttle::new(limits)),
            ..self
        }
    }

    /// The same HQ acting for a signed-in dispatcher.
    pub fn by(&self, dispatcher: &DispatcherSession) -> Hq {
        Hq {
            actor: Actor::Dispatcher(dispatcher.clone()),
            ..self.clone()
        }
    }

    pub fn now(&self) -> Timestamp {
        (self.clock)()
    }

    /// Which storage backend serves this HQ, for logs.
    pub fn backend(&self) -> &'static str {
        self.storage.backend()
    }
}

/// Text a person typed: required or not, and at most `max` characters.
pub(crate) fn check_text(
    field: &str,
    text: &str,
    max: usize,
    required: bool,
) -> Result<(), String> {
    if required && text.trim().is_empty() {
        return Err(format!("{field} is required"));
    }
    let len = text.chars().count();
    if len > max {
        return Err(format!("{field} is {len} characters; at most {max}"));
    }
    Ok(())
}
