//! The standard's rules: punctuality, the knock timer, kit gating and what a
//! job needs before it may complete. Every function takes the time it judges.

use chrono::Duration;
use serde::{Deserialize, Serialize};

use crate::error::{DomainError, Lang};
use crate::model::{
    Arrival, ArrivalCorrection, CallOutcome, JobStatus, JobType, Reschedule, Timestamp, Validate,
    VisitRecord, Work,
};
use crate::signature::signature_is_valid;

/// How an arrival compares with the appointment (arrive 5-10 minutes early).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "minutes", rename_all = "snake_case")]
pub enum Punctuality {
    /// More than 10 minutes early.
    Early(i64),
    /// 5 to 10 minutes early: what the standard asks.
    OnTime(i64),
    /// Less than 5 minutes early: flagged, not late.
    Tight(i64),
    /// After the appointment start: a call and an apology are due.
    Late(i64),
}

pub fn judge_arrival(arrived_at: Timestamp, window_start: Timestamp) -> Punctuality {
    let seconds_early = (window_start - arrived_at).num_seconds();
    let minutes_early = seconds_early.div_euclid(60);
    if seconds_early < 0 {
        Punctuality::Late((-seconds_early + 59) / 60)
    } else if minutes_early > 10 {
        Punctuality::Early(minutes_early)
    } else if minutes_early >= 5 {
        Punctuality::OnTime(minutes_early)
    } else {
        Punctuality::Tight(minutes_early)
    }
}

/// Knock twice, three taps, every 30 s; after 3 minutes, phone the customer.
pub const KNOCK_INTERVAL_SECONDS: i64 = 30;
pub const KNOCK_CALL_AFTER_SECONDS: i64 = 180;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct KnockPrompt {
    pub elapsed_seconds: i64,
    pub knocks_due: i64,
    pub next_knock_in_seconds: i64,
    pub call_now: bool,
}

pub fn knock_prompt(started_at: Timestamp, now: Timestamp) -> KnockPrompt {
    let elapsed = (now - started_at).num_seconds().max(0);
    KnockPrompt {
        elapsed_seconds: elapsed,
        knocks_due: elapsed / KNOCK_INTERVAL_SECONDS + 1,
        next_knock_in_seconds: KNOCK_INTERVAL_SECONDS - elapsed % KNOCK_INTERVAL_SECONDS,
        call_now: elapsed >= KNOCK_CALL_AFTER_SECONDS,
    }
}

/// Work is recorded only once the kit is ticked or its absence explained.
pub fn check_work_may_be_recorded(visit: &VisitRecord, work: &Work) -> Result<(), DomainError> {
    work.validate()?;
    let records_something = work != &Work::default();
    if records_something && !visit.kit.permits_work() {
        return Err(DomainError::KitIncomplete);
    }
    Ok(())
}

pub fn check_reschedule(reschedule: &Reschedule, now: Timestamp) -> Result<(), DomainError> {
    reschedule.validate()?;
    if reschedule.new_start <= now {
        return Err(DomainError::BadSlot);
    }
    Ok(())
}

pub fn check_open(visit: &VisitRecord) -> Result<(), DomainError> {
    if visit.job.status.is_closed() {
        return Err(DomainError::JobClosed);
    }
    Ok(())
}

/// What the standard requires before a job may complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Missing {
    Arrival,
    BadgeShown,
    FaultPointVerified,
    LateCall,
    Kit,
    Work,
    ReplacementLog,
    Mot,
    Signature,
    SignatureOutdated,
    Cleanup,
    /// Fees were charged and no receipt for their total is recorded.
    PaymentReceipt,
}

impl Missing {
    pub fn label(self, lang: Lang) -> String {
        let (zh, en) = match self {
            Missing::Arrival => ("到达时间", "arrival time"),
            Missing::BadgeShown => ("出示工牌", "badge shown"),
            Missing::FaultPointVerified => ("核实故障点", "fault point verified"),
            Missing::LateCall => ("迟到致电致歉记录", "a logged late-arrival call and apology"),
            Missing::Kit => (
                "四个一道具勾选(或未带齐原因)",
                "four-item kit ticked (or a reason)",
            ),
            Missing::Work => ("作业内容", "work performed"),
            Missing::ReplacementLog => ("更换设备记录", "replacement log"),
            Missing::Mot => ("客户 MOT 评分", "customer's MOT score"),
            Missing::Signature => ("客户签名", "customer's signature"),
            Missing::SignatureOutdated => (
                "客户重新签名(服务单签名后已修改)",
                "a new signature (the form changed after signing)",
            ),
            Missing::Cleanup => ("清理现场检查单", "clean-up checklist"),
            Missing::PaymentReceipt => (
                "收费收据(收据号、与收费合计相同的金额、付款方式)",
                "the receipt for the fees (number, an amount equal to their total, payment method)",
            ),
        };
        match lang {
            Lang::Zh => zh.to_string(),
            Lang::En => en.to_string(),
        }
    }
}

/// Everything still missing before the job may complete, in visit order.
pub fn missing_for_completion(visit: &VisitRecord) -> Vec<Missing> {
    let mut missing = Vec::new();
    match visit.arrival.arrived_at {
        None => missing.push(Missing::Arrival),
        Some(arrived_at) => {
            let late = matches!(
                judge_arrival(arrived_at, visit.job.window_start),
                Punctuality::Late(_)
            );
            let apologised = visit
                .call_logs
                .iter()
                .any(|call| call.outcome == CallOutcome::LateApology);
            if late && !apologised {
                missing.push(Missing::LateCall);
            }
        }
    }
    if !visit.arrival.badge_shown {
        missing.push(Missing::BadgeShown);
    }
    if visit.job.job_type == JobType::Fault && !visit.arrival.fault_point_verified {
        missing.push(Missing::FaultPointVerified);
    }
    if !visit.kit.permits_work() {
        missing.push(Missing::Kit);
    }
    if !visit.work.is_recorded() {
        missing.push(Missing::Work);
    }
    if visit.work.replacement && visit.replacements.is_empty() {
        missing.push(Missing::ReplacementLog);
    }
    if visit.feedback.mot.is_none() {
        missing.push(Missing::Mot);
    }
    match &visit.signature {
        None => missing.push(Missing::Signature),
        Some(_) if !signature_is_valid(visit) => missing.push(Missing::SignatureOutdated),
        Some(_) => {}
    }
    if !visit.cleanup.all_done() {
        missing.push(Missing::Cleanup);
    }
    let receipted = visit
        .payment
        .as_ref()
        .is_some_and(|receipt| receipt.covers(&visit.fees));
    // Only an app that records receipts prices its lines: a visit whose
    // fees all come from an older app (no recorded price) never had a way
    // to record one, and HQ replaying its completion must not refuse it.
    let from_receipting_app = visit.fees.iter().any(|line| line.priced.is_some());
    if from_receipting_app && !receipted {
        missing.push(Missing::PaymentReceipt);
    }
    missing
}

pub fn check_completion(visit: &VisitRecord) -> Result<(), DomainError> {
    check_open(visit)?;
    let missing = missing_for_completion(visit);
    if missing.is_empty() {
        Ok(())
    } else {
        Err(DomainError::Incomplete(missing))
    }
}

/// An appointment later than a day before now counts as upcoming, not today.
pub fn is_today(window_start: Timestamp, today_start: Timestamp) -> bool {
    window_start >= today_start && window_start < today_start + Duration::days(1)
}

/// A job is overdue (已超时) once its appointment window has ended and it is
/// still open: a completed, rescheduled or cancelled job is never overdue.
/// The job list marks it; this is the one place that decides it.
pub fn is_overdue(status: JobStatus, window_end: Timestamp, now: Timestamp) -> bool {
    !status.is_closed() && now > window_end
}

/// The arrival section after `saved` is recorded over `current` at `now`.
/// Arrival recorded twice keeps the first time: once `arrived_at` is set, a
/// different time is logged as a correction, not written over it, so a
/// technician cannot move a late arrival earlier after the fact. Clearing it
/// keeps it too. The log is the visit's own: whatever `saved` carries there is
/// ignored, and saving the same proposal again (the UI resends the whole
/// section with every tick) logs nothing more. The rest of the section is
/// the technician's to change.
pub fn arrival_after_save(current: &Arrival, saved: &Arrival, now: Timestamp) -> Arrival {
    let mut next = Arrival {
        corrections: current.corrections.clone(),
        ..saved.clone()
    };
    if let Some(first) = current.arrived_at {
        next.arrived_at = Some(first);
        if let Some(proposed) = saved.arrived_at {
            let logged_last = current
                .corrections
                .last()
                .is_some_and(|correction| correction.proposed == proposed);
            if proposed != first && !logged_last {
                next.corrections
                    .push(ArrivalCorrection { proposed, at: now });
            }
        }
    }
    next
}
