//! Whether syncing works right now, for the sync button's badge and the
//! reason in the sync view. The background sync runs unseen: without this,
//! a sync that fails every time would fail in silence.

use chrono::{DateTime, Utc};

use crate::SyncError;

/// The failure the syncs are stuck on, if any. The last sync decides: one
/// that goes through clears it.
#[derive(Debug, Default)]
pub struct SyncHealth {
    failure: Option<SyncFailure>,
}

#[derive(Debug)]
pub struct SyncFailure {
    /// Why the last sync failed.
    pub error: SyncError,
    /// When the first of the failed syncs in a row ended.
    pub since: DateTime<Utc>,
    /// Failed syncs in a row.
    pub attempts: u32,
}

impl SyncHealth {
    /// Takes in how a sync ended at `now`. A sync the technician cancelled
    /// says nothing about HQ, so it changes nothing.
    pub fn record<T>(&mut self, outcome: Result<T, SyncError>, now: DateTime<Utc>) {
        match outcome {
            Ok(_) => self.failure = None,
            Err(SyncError::Cancelled) => {}
            Err(error) => {
                let (since, attempts) = self
                    .failure
                    .as_ref()
                    .map_or((now, 0), |before| (before.since, before.attempts));
                self.failure = Some(SyncFailure {
                    error,
                    since,
                    attempts: attempts + 1,
                });
            }
        }
    }

    pub fn failure(&self) -> Option<&SyncFailure> {
        self.failure.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;
    use doorstep_core::Lang;

    use super::*;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + TimeDelta::minutes(minutes)
    }

    fn hq_error() -> SyncError {
        SyncError::HqFailed {
            status: 500,
            detail: "HQ could not complete the request; try again".into(),
        }
    }

    #[test]
    fn all_is_well_before_any_sync() {
        assert!(
            SyncHealth::default().failure().is_none(),
            "no badge on a fresh start"
        );
    }

    #[test]
    fn failures_in_a_row_keep_when_they_began_and_the_latest_reason() {
        let mut health = SyncHealth::default();
        health.record::<()>(Err(SyncError::Network("refused".into())), at(0));
        health.record::<()>(Err(hq_error()), at(1));
        health.record::<()>(Err(hq_error()), at(2));
        let failure = health.failure().expect("three failures are a failure");
        assert_eq!(failure.attempts, 3, "each failed sync counts");
        assert_eq!(failure.since, at(0), "failing since the first of them");
        assert_eq!(
            failure.error.code(),
            "hq_error",
            "the reason shown is the latest one, not the first"
        );
        assert!(
            failure.error.message(Lang::Zh).contains("总部出错"),
            "the reason reads as HQ's error, not as being offline: {}",
            failure.error.message(Lang::Zh)
        );
    }

    #[test]
    fn a_sync_that_goes_through_clears_the_failure() {
        let mut health = SyncHealth::default();
        health.record::<()>(Err(hq_error()), at(0));
        health.record(Ok(()), at(1));
        assert!(health.failure().is_none(), "the badge goes once HQ is back");
        health.record::<()>(Err(hq_error()), at(5));
        let failure = health.failure().unwrap();
        assert_eq!(
            (failure.since, failure.attempts),
            (at(5), 1),
            "a new run of failures starts afresh"
        );
    }

    #[test]
    fn a_cancelled_sync_neither_sets_nor_clears_the_failure() {
        let mut health = SyncHealth::default();
        health.record::<()>(Err(SyncError::Cancelled), at(0));
        assert!(
            health.failure().is_none(),
            "cancelling is the technician's choice, not a failure"
        );
        health.record::<()>(Err(hq_error()), at(1));
        health.record::<()>(Err(SyncError::Cancelled), at(2));
        assert_eq!(
            health.failure().map(|f| f.attempts),
            Some(1),
            "HQ's failure still stands after a cancel"
        );
    }
}
