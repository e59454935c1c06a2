//! Complaints (standard item 19): taken with an owner and a promised reply
//! time, called back with the result, overdue when the promise is missed.

use chrono::{DateTime, Duration, Utc};
use doorstep_core::change::Change;
use doorstep_core::rules::complaint_overdue;
use doorstep_core::*;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn visit() -> VisitRecord {
    VisitRecord::new(Job {
        id: JobId::new(),
        customer: Customer {
            id: CustomerId::new(),
            name: "投诉客户".into(),
            phone: "13800000000".into(),
            address: "福州".into(),
            account_number: None,
        },
        job_type: JobType::Fault,
        sub_case: SubCase::Indoor,
        fault_description: String::new(),
        window_start: at("2026-11-23T09:00:00+08:00"),
        window_end: at("2026-11-23T10:00:00+08:00"),
        status: JobStatus::Scheduled,
        earlier_visits: vec![],
        visit: 1,
        repeat_of: None,
        reported_at: None,
        due_by: None,
    })
}

fn complaint(id: RecordId, reply_by: DateTime<Utc>) -> Change {
    Change::RaiseComplaint(Complaint {
        id,
        taken_by: "林师傅".into(),
        issue: "上次维修后三天又没信号".into(),
        reply_by,
    })
}

#[test]
fn a_complaint_is_owned_promised_and_called_back() {
    let mut visit = visit();
    let now = at("2026-11-23T09:30:00+08:00");
    let id = RecordId::new();
    complaint(id, now + Duration::hours(24))
        .apply(&mut visit, now)
        .unwrap();
    let taken = &visit.complaints[0];
    assert_eq!(
        taken.taken_by, "林师傅",
        "the owner under first-contact responsibility"
    );
    assert_eq!(taken.raised_at, now);
    assert!(taken.callback.is_none());
    assert!(!complaint_overdue(taken, now + Duration::hours(23)));
    // The promise passes with no callback: overdue.
    assert!(complaint_overdue(taken, now + Duration::hours(25)));

    let later = now + Duration::hours(20);
    Change::LogComplaintCallback(ComplaintCallback {
        complaint_id: id,
        result: "已更换分支器,客户确认恢复".into(),
        satisfied: true,
    })
    .apply(&mut visit, later)
    .unwrap();
    let answered = &visit.complaints[0];
    assert_eq!(answered.callback.as_ref().unwrap().at, later);
    assert!(
        !complaint_overdue(answered, now + Duration::days(3)),
        "a complaint called back is never overdue"
    );

    // Editing the complaint keeps when it was taken and its callback.
    complaint(id, later + Duration::hours(1))
        .apply(&mut visit, later)
        .unwrap();
    assert_eq!(visit.complaints.len(), 1);
    assert_eq!(visit.complaints[0].raised_at, now);
    assert!(visit.complaints[0].callback.is_some());
}

#[test]
fn a_promise_in_the_past_or_an_unknown_complaint_is_refused_and_changes_nothing() {
    let mut visit = visit();
    let now = at("2026-11-23T09:30:00+08:00");
    let before = visit.clone();
    let past = complaint(RecordId::new(), now - Duration::minutes(1)).apply(&mut visit, now);
    assert_eq!(past, Err(DomainError::ReplyDeadlinePast));
    assert!(past.unwrap_err().message(Lang::Zh).contains("承诺答复时间"));
    let unknown = Change::LogComplaintCallback(ComplaintCallback {
        complaint_id: RecordId::new(),
        result: "已处理".into(),
        satisfied: true,
    })
    .apply(&mut visit, now);
    assert_eq!(unknown, Err(DomainError::UnknownComplaint));
    assert_eq!(visit, before, "nothing saved");
}

#[test]
fn a_complaint_and_its_callback_are_taken_on_a_completed_job() {
    // A complaint often comes on the confirmation call after the visit.
    let mut visit = visit();
    visit.job.status = JobStatus::Completed;
    let now = at("2026-11-24T10:00:00+08:00");
    let id = RecordId::new();
    complaint(id, now + Duration::hours(4))
        .apply(&mut visit, now)
        .expect("a completed job takes a complaint");
    assert_eq!(visit.job.status, JobStatus::Completed);
    // A cancelled job takes none.
    let mut cancelled = self::visit();
    cancelled.job.status = JobStatus::Cancelled;
    assert_eq!(
        complaint(RecordId::new(), now + Duration::hours(4)).apply(&mut cancelled, now),
        Err(DomainError::JobClosed)
    );
}
