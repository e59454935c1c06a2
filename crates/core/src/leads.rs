//! Leads (standard item 16): a value-added service the customer may want,
//! followed up by phone. A reminder is always a time the standard allows a
//! call; a lead is called at most three times after the visit, without
//! pressure, and stops being due once it is settled (success or declined).

use chrono::{DateTime, FixedOffset, TimeZone};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::DomainError;
use crate::model::{Interest, Lead, LeadContact, Timestamp};
use crate::phone;

/// Follow-up calls after the visit: "call up to three times without pressure".
pub const MAX_FOLLOW_UPS: usize = 3;

/// The reminder kept for a proposed time: the proposal itself when a call
/// is allowed then, or else the next time one is (a technician who picks
/// 12:30 wants the call after the midday rest, not a refusal). Judged in
/// the proposal's own offset, the technician's local time.
pub fn reminder_time(proposed: DateTime<FixedOffset>) -> DateTime<FixedOffset> {
    let next = phone::next_call_time(proposed.naive_local());
    // A fixed offset maps every local time to exactly one instant.
    proposed
        .offset()
        .from_local_datetime(&next)
        .single()
        .unwrap_or(proposed)
}

/// Success and declined end the follow-up: nothing more is owed.
pub fn is_settled(interest: Interest) -> bool {
    matches!(interest, Interest::Success | Interest::Declined)
}

/// Whether a follow-up call is still owed on this lead.
pub fn is_open(lead: &Lead) -> bool {
    !is_settled(lead.interest) && lead.contacts.len() < MAX_FOLLOW_UPS
}

/// How soon an open lead's reminder falls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Due {
    /// The reminder time has come.
    Now,
    /// Later on the same local day.
    Today,
    Later,
}

/// When the lead is due, judged at `now`; `None` when no call is owed or
/// none is planned. "Today" is the reminder's own local day.
pub fn due(lead: &Lead, now: Timestamp) -> Option<Due> {
    let at = lead.follow_up_at.filter(|_| is_open(lead))?;
    if at <= now {
        Some(Due::Now)
    } else if now.with_timezone(at.offset()).date_naive() == at.date_naive() {
        Some(Due::Today)
    } else {
        Some(Due::Later)
    }
}

/// The lead as a save leaves it: the follow-up calls already logged stay
/// (only `log_contact` adds them), and the reminder is moved into the call
/// windows.
pub fn lead_after_save(existing: Option<&Lead>, saved: &Lead) -> Lead {
    Lead {
        follow_up_at: saved.follow_up_at.map(reminder_time),
        contacts: existing.map(|l| l.contacts.clone()).unwrap_or_default(),
        ..saved.clone()
    }
}

/// Logs a follow-up call: the lead takes the call's result and its next
/// reminder (moved into the call windows). A fourth call is refused, and so
/// is one on a settled lead: the customer said yes or no. The same call
/// logged again (a replay) replaces itself.
pub fn log_contact(lead: &mut Lead, contact: &LeadContact) -> Result<(), DomainError> {
    let contact = LeadContact {
        next_follow_up_at: contact.next_follow_up_at.map(reminder_time),
        ..contact.clone()
    };
    let logged = lead.contacts.iter().position(|c| c.id == contact.id);
    match logged {
        Some(index) => lead.contacts[index] = contact.clone(),
        None if lead.contacts.len() >= MAX_FOLLOW_UPS => return Err(DomainError::FollowUpsUsed),
        None if is_settled(lead.interest) => return Err(DomainError::LeadSettled),
        None => lead.contacts.push(contact.clone()),
    }
    if lead.contacts.last().map(|c| c.id) == Some(contact.id) {
        lead.interest = contact.interest;
        lead.follow_up_at = contact.next_follow_up_at;
    }
    Ok(())
}

/// The intent's name as the standard writes it (and in English), for
/// exports; the apps' own screens use their translation files.
pub fn interest_label(interest: Interest, lang: crate::Lang) -> &'static str {
    use crate::Lang::{En, Zh};
    match (interest, lang) {
        (Interest::Unreachable, Zh) => "联系不上",
        (Interest::Success, Zh) => "成功",
        (Interest::FairlyInterested, Zh) => "较有意向",
        (Interest::Interested, Zh) => "有意向",
        (Interest::Declined, Zh) => "不申请",
        (Interest::Unreachable, En) => "Unreachable",
        (Interest::Success, En) => "Signed up",
        (Interest::FairlyInterested, En) => "Fairly interested",
        (Interest::Interested, En) => "Interested",
        (Interest::Declined, En) => "Declined",
    }
}
