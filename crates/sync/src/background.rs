//! Sync in the background whenever HQ can be reached, backing off while it
//! cannot. One sync at a time: a depot "Sync now" and this loop share a lock.

use std::sync::atomic::AtomicBool;
use std::sync::Mutex;
use std::time::Duration;

use doorstep_store::Store;

use crate::{sync_once, Enrollment, SyncError, SyncSummary};

/// Between syncs while all is well.
pub const SYNC_INTERVAL: Duration = Duration::from_secs(30);
const FIRST_RETRY: Duration = Duration::from_secs(5);
const LONGEST_RETRY: Duration = Duration::from_secs(300);

/// How long to wait after `failures` failed syncs in a row: 30 s after a
/// success, then 5 s, 10 s, 20 s, ... up to 5 minutes.
pub fn next_delay(failures: u32) -> Duration {
    if failures == 0 {
        return SYNC_INTERVAL;
    }
    let factor = 2u32.saturating_pow(failures - 1);
    FIRST_RETRY.saturating_mul(factor).min(LONGEST_RETRY)
}

/// Runs forever: syncs, hands over each outcome, sleeps, repeats. Skips a
/// round while another sync holds `running`, or while the device is not
/// enrolled.
pub async fn background_loop(
    store: &Mutex<Store>,
    running: &tokio::sync::Mutex<()>,
    mut on_outcome: impl FnMut(Result<SyncSummary, SyncError>),
) {
    let never_cancelled = AtomicBool::new(false);
    let mut failures = 0;
    loop {
        let enrolled = matches!(
            Enrollment::load(&store.lock().unwrap_or_else(|e| e.into_inner())),
            Ok(Some(_))
        );
        if enrolled {
            if let Ok(_guard) = running.try_lock() {
                let outcome = sync_once(store, &mut |_| {}, &never_cancelled).await;
                failures = match &outcome {
                    Ok(_) => 0,
                    Err(_) => failures + 1,
                };
                on_outcome(outcome);
            }
        }
        tokio::time::sleep(next_delay(failures)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backs_off_from_five_seconds_to_five_minutes() {
        let delays: Vec<u64> = (0..9).map(|n| next_delay(n).as_secs()).collect();
        assert_eq!(delays, vec![30, 5, 10, 20, 40, 80, 160, 300, 300]);
        assert_eq!(
            next_delay(u32::MAX),
            LONGEST_RETRY,
            "no overflow after days offline"
        );
    }
}
