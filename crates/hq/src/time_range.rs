//! The times HQ accepts: years 2000 to 2100, wherever a time comes in
//! (a dispatcher's job, CSV row, re-booking or board date; a device's op
//! and the times inside its change that HQ computes with). Anything outside
//! is a typing or clock mistake, and a time far enough out (year 10000 and
//! on) breaks storage and date arithmetic, so it is refused where it enters.

use chrono::{Datelike, NaiveDate};
use doorstep_core::change::Change;
use doorstep_core::wire::PushEntry;
use doorstep_core::Timestamp;

/// The first and last year HQ accepts a time in.
pub const FIRST_YEAR: i32 = 2000;
pub const LAST_YEAR: i32 = 2100;

fn year_in_range(year: i32) -> bool {
    (FIRST_YEAR..=LAST_YEAR).contains(&year)
}

/// A time in the accepted years, or the message saying why not.
pub fn check_time(field: &str, time: Timestamp) -> Result<(), String> {
    if year_in_range(time.year()) {
        Ok(())
    } else {
        Err(out_of_range(field, &time.to_rfc3339()))
    }
}

/// A date in the accepted years, or the message saying why not.
pub fn check_date(field: &str, date: NaiveDate) -> Result<(), String> {
    if year_in_range(date.year()) {
        Ok(())
    } else {
        Err(out_of_range(field, &date.to_string()))
    }
}

/// The times inside a device's change that HQ computes with when it
/// replays the visit: the arrival (punctuality) and a reschedule's window.
pub fn check_change(change: &Change) -> Result<(), String> {
    match change {
        Change::SaveArrival(arrival) => {
            if let Some(at) = arrival.arrived_at {
                check_time("arrived_at", at)?;
            }
            if let Some(at) = arrival.knock_started_at {
                check_time("knock_started_at", at)?;
            }
            Ok(())
        }
        Change::Reschedule(reschedule) => {
            check_time("new_start", reschedule.new_start)?;
            check_time("new_end", reschedule.new_end)
        }
        // A lead's reminder is stored and listed by its time.
        Change::AddLead(lead) => match lead.follow_up_at {
            Some(at) => check_time("follow_up_at", at.to_utc()),
            None => Ok(()),
        },
        Change::LogLeadContact(contact) => {
            check_time("at", contact.at)?;
            match contact.next_follow_up_at {
                Some(at) => check_time("next_follow_up_at", at.to_utc()),
                None => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

/// Whether a device's change carries only times HQ accepts: its own
/// stamp and the times inside it (`check_change`).
pub fn check_entry(entry: &PushEntry) -> Result<(), String> {
    check_time("device_time", entry.device_time)?;
    check_change(&entry.payload)
}

/// Whether any clock could have shown this time (years 1 to 9999, what the
/// wire's four-digit years hold). A device's change outside HQ's years but
/// inside these came from a clock set wrong and is kept apart with a
/// conflict; one outside these is garbage, refused with the request, and
/// could not be stored on every backend.
pub fn check_entry_is_storable(entry: &PushEntry) -> Result<(), String> {
    let storable = |field: &str, time: Timestamp| {
        if (1..=9999).contains(&time.year()) {
            Ok(())
        } else {
            Err(format!(
                "{field}: {} is no time a clock shows",
                time.to_rfc3339()
            ))
        }
    };
    storable("device_time", entry.device_time)?;
    match &entry.payload {
        Change::SaveArrival(arrival) => {
            for at in [arrival.arrived_at, arrival.knock_started_at]
                .into_iter()
                .flatten()
            {
                storable("arrived_at", at)?;
            }
            Ok(())
        }
        Change::Reschedule(reschedule) => {
            storable("new_start", reschedule.new_start)?;
            storable("new_end", reschedule.new_end)
        }
        Change::AddLead(lead) => match lead.follow_up_at {
            Some(at) => storable("follow_up_at", at.to_utc()),
            None => Ok(()),
        },
        Change::LogLeadContact(contact) => {
            storable("at", contact.at)?;
            match contact.next_follow_up_at {
                Some(at) => storable("next_follow_up_at", at.to_utc()),
                None => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

fn out_of_range(field: &str, value: &str) -> String {
    format!("{field}: {value} is outside the years {FIRST_YEAR} to {LAST_YEAR}")
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    #[test]
    fn the_range_includes_both_end_years_and_nothing_outside() {
        let at = |y: i32, m: u32, d: u32| Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap();
        assert!(check_time("t", at(2000, 1, 1)).is_ok(), "2000 is accepted");
        assert!(
            check_time("t", at(2100, 12, 31)).is_ok(),
            "2100 is accepted"
        );
        assert!(
            check_time("t", at(1999, 12, 31)).is_err(),
            "1999 is refused"
        );
        assert!(check_time("t", at(2101, 1, 1)).is_err(), "2101 is refused");
        let far = NaiveDate::from_ymd_opt(262_142, 12, 31).unwrap();
        let refused = check_date("date", far).unwrap_err();
        assert!(
            refused.starts_with("date:") && refused.contains("2000 to 2100"),
            "the message names the field and the range: {refused}"
        );
    }
}
