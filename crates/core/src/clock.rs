//! The laptop's clock against HQ's. Every sync measures how far the
//! laptop's clock is from HQ's; a skew over five minutes is worth a warning,
//! and while a measurement is recent, times the laptop stamped are read on
//! HQ's clock (a technician's punctuality is judged by the real time, not a
//! laptop set three days wrong).

use chrono::Duration;
use serde::{Deserialize, Serialize};

use crate::model::Timestamp;

/// A skew beyond this is shown to the technician.
pub const SKEW_WORTH_A_WARNING: Duration = Duration::minutes(5);

/// A measurement older than this (on the laptop's clock) is not trusted to
/// correct anything: the clock may have been set since.
pub const OFFSET_STAYS_RECENT: Duration = Duration::days(2);

/// How far the laptop's clock ran from HQ's at one sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockOffset {
    /// Laptop time minus HQ time: positive when the laptop is ahead.
    pub laptop_ahead_seconds: i64,
    /// When it was measured, on the laptop's clock.
    pub measured_at: Timestamp,
}

impl ClockOffset {
    /// The offset seen when HQ said `hq_now` and the laptop said `laptop_now`.
    pub fn measure(laptop_now: Timestamp, hq_now: Timestamp) -> ClockOffset {
        ClockOffset {
            laptop_ahead_seconds: (laptop_now - hq_now).num_seconds(),
            measured_at: laptop_now,
        }
    }

    /// Whether the laptop's clock is far enough off to warn about.
    pub fn worth_a_warning(&self) -> bool {
        self.laptop_ahead_seconds.abs() > SKEW_WORTH_A_WARNING.num_seconds()
    }

    /// Whether it may still correct times stamped at `laptop_now`.
    pub fn is_recent(&self, laptop_now: Timestamp) -> bool {
        let age = laptop_now - self.measured_at;
        age >= Duration::zero() && age <= OFFSET_STAYS_RECENT
    }
}

/// A time the laptop stamped, on HQ's clock when a recent offset is known
/// (else as stamped).
pub fn on_hq_clock(
    stamped: Timestamp,
    offset: Option<&ClockOffset>,
    laptop_now: Timestamp,
) -> Timestamp {
    match offset {
        Some(offset) if offset.is_recent(laptop_now) => {
            stamped - Duration::seconds(offset.laptop_ahead_seconds)
        }
        _ => stamped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{judge_arrival, Punctuality};
    use chrono::TimeZone;

    fn hq_now() -> Timestamp {
        chrono::Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, 0).unwrap()
    }

    #[test]
    fn a_clock_days_off_either_way_is_worth_a_warning() {
        for days in [3, -3] {
            let laptop_now = hq_now() + Duration::days(days);
            let offset = ClockOffset::measure(laptop_now, hq_now());
            assert_eq!(
                offset.laptop_ahead_seconds,
                days * 86_400,
                "the sign says which way the laptop is off"
            );
            assert!(
                offset.worth_a_warning(),
                "{days} days off must be shown to the technician"
            );
        }
        let close = ClockOffset::measure(hq_now() + Duration::minutes(5), hq_now());
        assert!(
            !close.worth_a_warning(),
            "five minutes is within what a laptop's clock drifts"
        );
    }

    #[test]
    fn punctuality_is_judged_on_hqs_clock_while_the_offset_is_recent() {
        let window_start = hq_now() + Duration::minutes(8);
        for days in [3, -3] {
            let skew = Duration::days(days);
            let offset = ClockOffset::measure(hq_now() + skew, hq_now());
            // The technician arrived at HQ's 09:00, 8 minutes early; the
            // laptop stamped its own, wrong, time.
            let stamped = hq_now() + skew;
            let laptop_now = stamped + Duration::hours(1);
            let real = on_hq_clock(stamped, Some(&offset), laptop_now);
            assert_eq!(real, hq_now(), "the stamp is read on HQ's clock");
            assert_eq!(
                judge_arrival(real, window_start),
                Punctuality::OnTime(8),
                "the technician was on time whatever the laptop's clock said"
            );
            let stale = laptop_now + OFFSET_STAYS_RECENT + Duration::hours(1);
            assert_eq!(
                on_hq_clock(stamped, Some(&offset), stale),
                stamped,
                "an old measurement corrects nothing: the clock may have been set since"
            );
        }
        assert_eq!(on_hq_clock(hq_now(), None, hq_now()), hq_now());
    }
}
