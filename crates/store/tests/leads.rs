//! The laptop's leads: recorded during a visit, followed up by phone after
//! it, listed by when they are due, and kept across restarts.

use chrono::{DateTime, FixedOffset, NaiveDate};
use doorstep_core::change::Change;
use doorstep_core::demo::demo_jobs;
use doorstep_core::leads::Due;
use doorstep_core::*;
use doorstep_store::{Store, StoreKey};

const KEY: StoreKey = StoreKey::from_bytes([0x5a; 32]);

fn local(text: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(text).unwrap()
}

fn at(text: &str) -> Timestamp {
    local(text).to_utc()
}

fn jobs() -> Vec<Job> {
    let offset = FixedOffset::east_opt(8 * 3600).unwrap();
    demo_jobs(NaiveDate::from_ymd_opt(2026, 12, 2).unwrap(), offset)
}

fn lead(product: &str, follow_up_at: Option<&str>) -> Lead {
    Lead {
        id: RecordId::new(),
        product: product.into(),
        interest: Interest::Interested,
        note: String::new(),
        follow_up_at: follow_up_at.map(local),
        contacts: vec![],
    }
}

/// The list is what the technician works from: only leads still owed a
/// call, the due ones first (the badge counts those due now or today), each
/// with the customer to call; the follow-up call after the job closed is
/// kept, goes to the outbox, and survives a restart.
#[test]
fn leads_are_listed_by_when_they_are_due_and_follow_ups_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let mut store = Store::open(&path, &KEY).unwrap();
    let jobs = jobs();
    store.upsert_jobs(&jobs[..2]).unwrap();
    let (first, second) = (&jobs[0], &jobs[1]);
    let now = at("2026-12-03T09:00:00+08:00");

    let later = lead("宽带提速", Some("2026-12-05T10:00:00+08:00"));
    let today = lead("回看", Some("2026-12-03T12:30:00+08:00"));
    let overdue = lead("高清互动", Some("2026-12-02T20:00:00+08:00"));
    let unplanned = lead("高清互动", None);
    let declined = Lead {
        interest: Interest::Declined,
        ..lead("回看", Some("2026-12-03T10:00:00+08:00"))
    };
    for (job, l) in [
        (first, &later),
        (first, &today),
        (second, &overdue),
        (second, &unplanned),
        (second, &declined),
    ] {
        store
            .apply(job.id, &Change::AddLead(l.clone()), now)
            .unwrap();
    }

    let list = store.list_leads(now).unwrap();
    let order: Vec<_> = list.leads.iter().map(|i| (i.lead.id, i.due)).collect();
    assert_eq!(
        order,
        vec![
            (overdue.id, Some(Due::Now)),
            (today.id, Some(Due::Today)),
            (later.id, Some(Due::Later)),
            (unplanned.id, None),
        ],
        "due first; a declined lead is owed no call"
    );
    assert_eq!(list.due_count, 2);
    assert_eq!(list.leads[0].customer_name, second.customer.name);
    assert_eq!(
        list.leads[1].lead.follow_up_at,
        Some(local("2026-12-03T14:00:00+08:00")),
        "the reminder was moved out of the midday rest"
    );

    // The follow-up call comes after the visit, on a closed job.
    store
        .apply(
            second.id,
            &Change::Reschedule(Reschedule {
                reason: RescheduleReason::ConditionsNotMet,
                note: String::new(),
                new_start: at("2026-12-04T09:00:00+08:00"),
                new_end: at("2026-12-04T10:00:00+08:00"),
            }),
            now,
        )
        .unwrap();
    let call = LeadContact {
        id: RecordId::new(),
        lead_id: overdue.id,
        at: now,
        interest: Interest::FairlyInterested,
        note: "周末再联系".into(),
        next_follow_up_at: Some(local("2026-12-06T18:30:00+08:00")),
    };
    store
        .apply(second.id, &Change::LogLeadContact(call.clone()), now)
        .unwrap();
    let last = store.pending_outbox().unwrap().pop().unwrap();
    assert_eq!(last.kind, "log_lead_contact", "the call goes to HQ on sync");
    drop(store);

    let store = Store::open(&path, &KEY).unwrap();
    let list = store.list_leads(now).unwrap();
    let followed = list.leads.iter().find(|i| i.lead.id == overdue.id).unwrap();
    assert_eq!(followed.lead.interest, Interest::FairlyInterested);
    assert_eq!(followed.lead.contacts.len(), 1);
    assert_eq!(followed.lead.contacts[0].note, "周末再联系");
    assert_eq!(
        followed.lead.follow_up_at,
        Some(local("2026-12-06T19:00:00+08:00"))
    );
    assert_eq!(followed.due, Some(Due::Later));
    assert_eq!(list.due_count, 1);
}
