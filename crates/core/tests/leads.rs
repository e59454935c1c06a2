//! Leads (standard item 16): reminders inside the call windows, three
//! follow-up calls at most, and when a lead is due.

use chrono::{DateTime, FixedOffset, NaiveDate};
use doorstep_core::change::Change;
use doorstep_core::demo::demo_jobs;
use doorstep_core::leads::{due, is_open, reminder_time, Due, MAX_FOLLOW_UPS};
use doorstep_core::phone::next_call_time;
use doorstep_core::*;

fn local(text: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(text).unwrap()
}

fn at(text: &str) -> Timestamp {
    local(text).to_utc()
}

fn visit() -> VisitRecord {
    let offset = FixedOffset::east_opt(8 * 3600).unwrap();
    let job = demo_jobs(NaiveDate::from_ymd_opt(2026, 12, 2).unwrap(), offset).remove(0);
    VisitRecord::new(job)
}

fn lead(follow_up_at: Option<&str>) -> Lead {
    Lead {
        id: RecordId::new(),
        product: "高清互动".into(),
        interest: Interest::Interested,
        note: "想先和家人商量".into(),
        follow_up_at: follow_up_at.map(local),
        contacts: vec![],
    }
}

fn contact(lead: &Lead, interest: Interest, next: Option<&str>) -> LeadContact {
    LeadContact {
        id: RecordId::new(),
        lead_id: lead.id,
        at: at("2026-12-03T10:00:00+08:00"),
        interest,
        note: String::new(),
        next_follow_up_at: next.map(local),
    }
}

/// The standard: calls from 07:00 to 22:00, never at midday rest or a
/// mealtime. A reminder outside them moves to the next time a call is
/// allowed, in the technician's own offset; one inside stays as picked.
#[test]
fn a_reminder_moves_to_the_next_time_a_call_is_allowed() {
    let cases = [
        ("2026-12-03T10:15:00+08:00", "2026-12-03T10:15:00+08:00"),
        ("2026-12-03T12:30:00+08:00", "2026-12-03T14:00:00+08:00"),
        ("2026-12-03T18:05:00+08:00", "2026-12-03T19:00:00+08:00"),
        ("2026-12-03T22:00:00+08:00", "2026-12-04T07:00:00+08:00"),
        ("2026-12-03T23:59:30+08:00", "2026-12-04T07:00:00+08:00"),
        ("2026-12-03T06:59:00+08:00", "2026-12-03T07:00:00+08:00"),
        ("2026-12-03T21:59:00+08:00", "2026-12-03T21:59:00+08:00"),
        // Another offset is judged in its own local time, not HQ's.
        ("2026-12-03T12:30:00+01:00", "2026-12-03T14:00:00+01:00"),
    ];
    for (proposed, kept) in cases {
        let moved = reminder_time(local(proposed));
        assert_eq!(moved, local(kept), "{proposed}");
        assert_eq!(moved.offset(), local(kept).offset(), "{proposed}");
    }
    let night = local("2026-12-03T23:00:00+08:00").naive_local();
    assert_eq!(
        phone::call_window(next_call_time(night).time()),
        phone::CallWindow::Allowed
    );
}

/// Saving a lead keeps its reminder inside the call windows on the laptop
/// and on HQ's replay alike, since both apply the same change.
#[test]
fn adding_a_lead_moves_its_reminder_out_of_mealtime() {
    let mut v = visit();
    let l = lead(Some("2026-12-03T12:10:00+08:00"));
    Change::AddLead(l.clone())
        .apply(&mut v, at("2026-12-02T09:30:00+08:00"))
        .unwrap();
    assert_eq!(
        v.leads[0].follow_up_at,
        Some(local("2026-12-03T14:00:00+08:00"))
    );
}

/// "Call up to three times without pressure": a fourth follow-up is refused
/// and writes nothing; the lead stops being due after the third.
#[test]
fn a_lead_takes_three_follow_up_calls_and_no_more() {
    let mut v = visit();
    let now = at("2026-12-02T09:30:00+08:00");
    let l = lead(Some("2026-12-03T10:00:00+08:00"));
    Change::AddLead(l.clone()).apply(&mut v, now).unwrap();
    v.job.status = JobStatus::Completed; // calls come after the visit
    for _ in 0..MAX_FOLLOW_UPS {
        let call = contact(&l, Interest::Unreachable, Some("2026-12-04T10:00:00+08:00"));
        Change::LogLeadContact(call).apply(&mut v, now).unwrap();
    }
    assert!(!is_open(&v.leads[0]));
    assert_eq!(due(&v.leads[0], at("2026-12-05T10:00:00+08:00")), None);
    let before = v.clone();
    let fourth = contact(&l, Interest::Interested, None);
    assert_eq!(
        Change::LogLeadContact(fourth).apply(&mut v, now),
        Err(DomainError::FollowUpsUsed)
    );
    assert_eq!(v, before);
}

/// A follow-up call carries the result (intent) and the next reminder; a
/// settled lead (success or declined) takes no more calls and is never due.
#[test]
fn a_follow_up_call_sets_the_intent_and_the_next_reminder() {
    let mut v = visit();
    let now = at("2026-12-02T09:30:00+08:00");
    let l = lead(Some("2026-12-03T10:00:00+08:00"));
    Change::AddLead(l.clone()).apply(&mut v, now).unwrap();
    let call = contact(
        &l,
        Interest::FairlyInterested,
        Some("2026-12-04T12:45:00+08:00"),
    );
    Change::LogLeadContact(call).apply(&mut v, now).unwrap();
    assert_eq!(v.leads[0].interest, Interest::FairlyInterested);
    assert_eq!(
        v.leads[0].follow_up_at,
        Some(local("2026-12-04T14:00:00+08:00")),
        "the next reminder is moved out of the midday rest too"
    );
    // Saving the lead again (an edit) keeps the calls logged.
    Change::AddLead(Lead {
        id: l.id,
        note: "改了备注".into(),
        ..lead(Some("2026-12-04T15:00:00+08:00"))
    })
    .apply(&mut v, now)
    .unwrap();
    assert_eq!(v.leads[0].contacts.len(), 1);

    let won = contact(&l, Interest::Success, None);
    Change::LogLeadContact(won).apply(&mut v, now).unwrap();
    assert_eq!(due(&v.leads[0], now), None);
    assert_eq!(
        Change::LogLeadContact(contact(&l, Interest::Interested, None)).apply(&mut v, now),
        Err(DomainError::LeadSettled)
    );
    assert_eq!(
        Change::LogLeadContact(LeadContact {
            lead_id: RecordId::new(),
            ..contact(&l, Interest::Interested, None)
        })
        .apply(&mut v, now),
        Err(DomainError::UnknownLead)
    );
}

/// Due now once the reminder has come, due today later on its local day,
/// and later after that: the laptop's list puts them in that order.
#[test]
fn a_lead_is_due_now_today_or_later() {
    let l = lead(Some("2026-12-03T15:00:00+08:00"));
    assert_eq!(due(&l, at("2026-12-03T15:00:00+08:00")), Some(Due::Now));
    assert_eq!(due(&l, at("2026-12-03T08:00:00+08:00")), Some(Due::Today));
    assert_eq!(due(&l, at("2026-12-02T23:00:00+08:00")), Some(Due::Later));
    assert_eq!(due(&lead(None), at("2026-12-03T08:00:00+08:00")), None);
}
