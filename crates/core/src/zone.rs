//! The operator's time zone: the one every time is shown in and every day
//! boundary is drawn in, at HQ, in the console and on the laptop, whatever
//! zone the machine or the browser is set to. An IANA name (Asia/Shanghai),
//! chosen at HQ (`doorstep-hq serve --time-zone`) and carried to laptops on
//! each pull (`PullResponse::time_zone`).

use chrono::{Duration, NaiveDate, NaiveTime, TimeZone};
pub use chrono_tz::Tz;

use crate::model::Timestamp;

/// The zone until an operator names another: the standard's operators work
/// in China, on Beijing time.
pub const DEFAULT_TIME_ZONE: Tz = chrono_tz::Asia::Shanghai;

/// An IANA zone name, or why it is not one (in both languages: an operator
/// reads it at the command line, the laptop when HQ sends a name it lacks).
pub fn parse_time_zone(name: &str) -> Result<Tz, String> {
    name.trim().parse::<Tz>().map_err(|_| {
        format!(
            "“{name}” 不是 IANA 时区名(例如 Asia/Shanghai) / \
             “{name}” is not an IANA time zone name (for example Asia/Shanghai)"
        )
    })
}

/// The first instant of `date` in `zone`. Where a clock change skips
/// midnight, the day starts at the first time that exists after it.
pub fn start_of_day(date: NaiveDate, zone: Tz) -> Option<Timestamp> {
    let midnight = date.and_time(NaiveTime::MIN);
    (0..=2)
        .find_map(|hour| {
            zone.from_local_datetime(&(midnight + Duration::hours(hour)))
                .earliest()
        })
        .map(|t| t.to_utc())
}

/// The instants of `date` in `zone`: from its start up to the next day's
/// (23 or 25 hours on a day the clocks change).
pub fn day_range(date: NaiveDate, zone: Tz) -> Option<(Timestamp, Timestamp)> {
    Some((
        start_of_day(date, zone)?,
        start_of_day(date.succ_opt()?, zone)?,
    ))
}

/// The date it is in `zone` at `now`.
pub fn date_in(now: Timestamp, zone: Tz) -> NaiveDate {
    now.with_timezone(&zone).date_naive()
}

/// The end of the day it is in `zone` at `now`: the laptop's Today list
/// holds the jobs starting before it.
pub fn end_of_today(now: Timestamp, zone: Tz) -> Timestamp {
    date_in(now, zone)
        .succ_opt()
        .and_then(|tomorrow| start_of_day(tomorrow, zone))
        .unwrap_or(now + Duration::days(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    fn at(text: &str) -> Timestamp {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    /// A day in Shanghai runs from 16:00 UTC the day before: a job at
    /// 07:30 Beijing time belongs to that Beijing day, not to the UTC day
    /// before it, which is what made the board and the Today list disagree
    /// with the operator's calendar.
    #[test]
    fn a_day_is_drawn_in_the_operators_zone() {
        let date = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        let (from, to) = day_range(date, DEFAULT_TIME_ZONE).unwrap();
        assert_eq!(from, at("2026-12-01T16:00:00Z"));
        assert_eq!(to, at("2026-12-02T16:00:00Z"));
        assert_eq!(date_in(at("2026-12-01T23:30:00Z"), DEFAULT_TIME_ZONE), date);
        assert_eq!(
            end_of_today(at("2026-12-01T23:30:00Z"), DEFAULT_TIME_ZONE),
            at("2026-12-02T16:00:00Z")
        );
    }

    /// Where the clocks go forward the day is 23 hours long; a fixed offset
    /// would put an hour of the next day in it.
    #[test]
    fn a_day_the_clocks_change_has_its_real_length() {
        let berlin = parse_time_zone("Europe/Berlin").unwrap();
        let date = NaiveDate::from_ymd_opt(2026, 3, 29).unwrap();
        let (from, to) = day_range(date, berlin).unwrap();
        assert_eq!(to - from, Duration::hours(23));
    }

    /// A name that is not a zone is refused with a message that says what
    /// is expected, rather than silently falling back to some zone.
    #[test]
    fn an_unknown_zone_is_refused_with_an_example() {
        let err = parse_time_zone("Beijing").unwrap_err();
        assert!(err.contains("Asia/Shanghai"), "{err}");
        assert_eq!(
            parse_time_zone(" Asia/Shanghai ").unwrap(),
            DEFAULT_TIME_ZONE
        );
    }
}
