//! The standard's rules: punctuality, the knock timer, kit gating and what a
//! job needs before it may complete. Every function takes the time it judges.

use chrono::{Duration, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{DomainError, Lang};
use crate::model::{
    Arrival, ArrivalCorrection, CallOutcome, Complaint, ComplaintCallback, ComplaintRecord,
    ComplaintReply, JobStatus, JobType, Reschedule, SubCase, Timestamp, Validate, VisitRecord,
    Work,
};
use crate::phone::next_call_time;
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

/// Follow-ups may still be recorded on a completed job: a call (the
/// confirmation after an outdoor repair, item 10, is made after the visit),
/// a complaint and its callback (item 19). None is part of the signed form,
/// so the signature stays valid.
pub fn check_may_follow_up(visit: &VisitRecord) -> Result<(), DomainError> {
    if visit.job.status == JobStatus::Completed {
        return Ok(());
    }
    check_open(visit)
}

/// A complaint taken now, or an edit of one taken earlier (`existing`),
/// which keeps when it was taken and any callback made. The promised reply
/// must lie ahead.
pub fn complaint_taken(
    existing: Option<&ComplaintRecord>,
    complaint: &Complaint,
    now: Timestamp,
) -> Result<ComplaintRecord, DomainError> {
    complaint.validate()?;
    if complaint.reply_by <= now {
        return Err(DomainError::ReplyDeadlinePast);
    }
    Ok(ComplaintRecord {
        id: complaint.id,
        taken_by: complaint.taken_by.trim().to_string(),
        issue: complaint.issue.trim().to_string(),
        reply_by: complaint.reply_by,
        raised_at: existing.map_or(now, |e| e.raised_at),
        callback: existing.and_then(|e| e.callback.clone()),
    })
}

/// The callback on one of the visit's complaints, made now.
pub fn complaint_called_back(
    complaints: &mut [ComplaintRecord],
    callback: &ComplaintCallback,
    now: Timestamp,
) -> Result<(), DomainError> {
    callback.validate()?;
    let complaint = complaints
        .iter_mut()
        .find(|c| c.id == callback.complaint_id)
        .ok_or(DomainError::UnknownComplaint)?;
    complaint.callback = Some(ComplaintReply {
        at: now,
        result: callback.result.trim().to_string(),
        satisfied: callback.satisfied,
    });
    Ok(())
}

/// A complaint is overdue when its promised reply time has passed with no
/// callback made (flagged in the app and the console).
pub fn complaint_overdue(complaint: &ComplaintRecord, now: Timestamp) -> bool {
    complaint.callback.is_none() && complaint.reply_by < now
}

/// How long after an outdoor repair the confirmation call falls due: time
/// for the customer to have used the service again.
pub const CONFIRM_CALL_AFTER_HOURS: i64 = 2;

/// The confirm-by-phone task of a job (standard item 10): after a completed
/// fault repair that touched the outdoor line, the technician phones the
/// customer to confirm the service works. Due two hours after completion,
/// moved into the next allowed call time in `zone`; none once a
/// `RepairConfirmed` call is logged.
pub fn confirm_call_due<Tz: TimeZone>(visit: &VisitRecord, zone: &Tz) -> Option<Timestamp> {
    let completed = visit.completed_at?;
    let outdoor = visit.job.sub_case == SubCase::Outdoor || visit.work.outdoor_line;
    let confirmed = visit
        .call_logs
        .iter()
        .any(|call| call.outcome == CallOutcome::RepairConfirmed);
    if visit.job.status != JobStatus::Completed
        || visit.job.job_type != JobType::Fault
        || !outdoor
        || confirmed
    {
        return None;
    }
    let earliest = completed + Duration::hours(CONFIRM_CALL_AFTER_HOURS);
    let due_local = next_call_time(earliest.with_timezone(zone).naive_local());
    // A local time skipped by a daylight-saving change: the hour after it.
    zone.from_local_datetime(&due_local)
        .earliest()
        .or_else(|| {
            zone.from_local_datetime(&(due_local + Duration::hours(1)))
                .earliest()
        })
        .map(|due| due.with_timezone(&Utc))
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

/// A job is past its repair-time target (standard item 21, 超出修复时限)
/// once its due-by time has passed and it is not done. Rescheduled is not
/// done: the customer's fault is still there, so a rescheduled job stays
/// flagged until a later visit completes it. A cancelled job needs no repair.
/// A job without a due-by time (its type has no target) is never past it.
/// HQ's board and the laptop's job list both judge with this.
pub fn is_past_target(status: JobStatus, due_by: Option<Timestamp>, now: Timestamp) -> bool {
    let done = matches!(status, JobStatus::Completed | JobStatus::Cancelled);
    !done && due_by.is_some_and(|due| now > due)
}

/// When a job reported at `reported_at` is due under a target of `hours`.
/// The target in force when HQ receives the job fixes it: changing a target
/// later moves no job already reported, so a technician's due time never
/// shifts under them.
pub fn repair_due_by(reported_at: Timestamp, target_hours: u32) -> Option<Timestamp> {
    reported_at.checked_add_signed(Duration::hours(target_hours.into()))
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
