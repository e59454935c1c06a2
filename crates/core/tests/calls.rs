//! Calls: a script for every call type, durations, when calls may be made,
//! and the confirm-by-phone task after an outdoor repair (items 10, 17, 20).

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use doorstep_core::change::Change;
use doorstep_core::phone::{call_script, next_call_time, phone_guide, CallKind};
use doorstep_core::rules::confirm_call_due;
use doorstep_core::words::banned_phrases_in;
use doorstep_core::*;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn local(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
}

fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap()
}

fn job(job_type: JobType, sub_case: SubCase) -> Job {
    Job {
        id: JobId::new(),
        customer: Customer {
            id: CustomerId::new(),
            name: "陈美玲".into(),
            phone: "13581590830".into(),
            address: "福州市鼓楼区五四路168号".into(),
            account_number: None,
        },
        job_type,
        sub_case,
        fault_description: "机顶盒无信号".into(),
        window_start: at("2026-11-23T09:00:00+08:00"),
        window_end: at("2026-11-23T10:00:00+08:00"),
        status: JobStatus::Scheduled,
        earlier_visits: vec![],
        visit: 1,
        repeat_of: None,
        reported_at: None,
        due_by: None,
    }
}

/// A visit closed as HQ and the store see it: completed at `completed`.
fn completed(job_type: JobType, sub_case: SubCase, completed: &str) -> VisitRecord {
    let mut visit = VisitRecord::new(job(job_type, sub_case));
    visit.job.status = JobStatus::Completed;
    visit.completed_at = Some(at(completed));
    visit
}

fn call(outcome: CallOutcome, duration_seconds: Option<u32>) -> Change {
    Change::LogCall(CallLog {
        id: RecordId::new(),
        at: at("2026-11-23T15:00:00+08:00"),
        outcome,
        note: String::new(),
        duration_seconds,
    })
}

#[test]
fn every_call_type_has_a_script_in_both_languages_that_says_who_is_calling() {
    let noon = NaiveTime::from_hms_opt(10, 0, 0).unwrap();
    let guide = phone_guide(JobType::Fault, noon, "林师傅", Lang::Zh);
    // The phone step offers each call type of the standard (item 17).
    let kinds: Vec<CallKind> = guide.scripts.iter().map(|s| s.kind).collect();
    assert_eq!(kinds, CallKind::ALL.to_vec());
    for kind in CallKind::ALL {
        for lang in [Lang::Zh, Lang::En] {
            let lines = call_script(kind, JobType::Install, noon, "林师傅", lang);
            assert!(lines.len() >= 2, "{kind:?} {lang:?}");
            // The first 15 seconds: who is calling, by name.
            assert!(
                lines[0].contains("林师傅"),
                "{kind:?} {lang:?}: {}",
                lines[0]
            );
            if lang == Lang::Zh {
                // A script must not teach the phrases the standard bans.
                let text = lines.join("");
                assert!(
                    banned_phrases_in(&text).is_empty(),
                    "{kind:?}: {:?}",
                    banned_phrases_in(&text)
                );
            }
        }
    }
}

#[test]
fn the_next_call_time_skips_nights_and_mealtimes() {
    // Allowed already: unchanged.
    assert_eq!(
        next_call_time(local("2026-11-23 10:15")),
        local("2026-11-23 10:15")
    );
    // Midday rest and the evening meal end at 14:00 and 19:00.
    assert_eq!(
        next_call_time(local("2026-11-23 12:30")),
        local("2026-11-23 14:00")
    );
    assert_eq!(
        next_call_time(local("2026-11-23 18:05")),
        local("2026-11-23 19:00")
    );
    // Before 07:00: the same morning; from 22:00: the next morning.
    assert_eq!(
        next_call_time(local("2026-11-23 05:00")),
        local("2026-11-23 07:00")
    );
    assert_eq!(
        next_call_time(local("2026-11-23 22:00")),
        local("2026-11-24 07:00")
    );
    assert_eq!(
        next_call_time(local("2026-11-30 23:59")),
        local("2026-12-01 07:00")
    );
    // Whatever the start, the answer is a time the standard allows.
    let day = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    for minute in (0..24 * 60).step_by(7) {
        let start = day.and_hms_opt(minute / 60, minute % 60, 0).unwrap();
        let next = next_call_time(start);
        assert!(next >= start);
        assert_eq!(
            phone::call_window(next.time()),
            phone::CallWindow::Allowed,
            "{start} -> {next}"
        );
    }
}

#[test]
fn an_outdoor_repair_leaves_a_confirm_call_due_inside_the_call_window() {
    // Completed 10:00 in China: due two hours later, but 12:00 is the
    // midday rest, so 14:00.
    let visit = completed(
        JobType::Fault,
        SubCase::Outdoor,
        "2026-11-23T10:00:00+08:00",
    );
    assert_eq!(
        confirm_call_due(&visit, &china()),
        Some(at("2026-11-23T14:00:00+08:00"))
    );
    // Completed 21:00: not at 23:00 but the next morning.
    let late = completed(
        JobType::Fault,
        SubCase::Outdoor,
        "2026-11-23T21:00:00+08:00",
    );
    assert_eq!(
        confirm_call_due(&late, &china()),
        Some(at("2026-11-24T07:00:00+08:00"))
    );
    // An indoor repair that worked on the outdoor line needs one too.
    let mut indoor = completed(JobType::Fault, SubCase::Indoor, "2026-11-23T15:00:00+08:00");
    indoor.work.outdoor_line = true;
    assert_eq!(
        confirm_call_due(&indoor, &china()),
        Some(at("2026-11-23T17:00:00+08:00"))
    );
}

#[test]
fn no_confirm_call_for_indoor_work_installs_open_jobs_or_once_confirmed() {
    let indoor = completed(JobType::Fault, SubCase::Indoor, "2026-11-23T10:00:00+08:00");
    assert_eq!(confirm_call_due(&indoor, &china()), None);
    let install = completed(
        JobType::Install,
        SubCase::Outdoor,
        "2026-11-23T10:00:00+08:00",
    );
    assert_eq!(confirm_call_due(&install, &china()), None);
    let open = VisitRecord::new(job(JobType::Fault, SubCase::Outdoor));
    assert_eq!(confirm_call_due(&open, &china()), None);

    // A call that did not reach the customer leaves the task due; the
    // confirmation ends it.
    let mut visit = completed(
        JobType::Fault,
        SubCase::Outdoor,
        "2026-11-23T10:00:00+08:00",
    );
    let now = at("2026-11-23T15:00:00+08:00");
    call(CallOutcome::NoAnswer, Some(20))
        .apply(&mut visit, now)
        .unwrap();
    assert!(confirm_call_due(&visit, &china()).is_some());
    call(CallOutcome::RepairConfirmed, Some(95))
        .apply(&mut visit, now)
        .expect("a call may be logged on a completed job: the confirmation comes after it");
    assert_eq!(confirm_call_due(&visit, &china()), None);
    assert_eq!(visit.job.status, JobStatus::Completed);
}

#[test]
fn a_call_on_a_rescheduled_or_cancelled_job_is_refused() {
    // Only a completed job takes calls after closing: a rescheduled one is
    // worked again as its next visit, a cancelled one not at all.
    for status in [JobStatus::Rescheduled, JobStatus::Cancelled] {
        let mut visit = VisitRecord::new(job(JobType::Fault, SubCase::Outdoor));
        visit.job.status = status;
        let before = visit.clone();
        let refused =
            call(CallOutcome::Other, None).apply(&mut visit, at("2026-11-23T15:00:00+08:00"));
        assert_eq!(refused, Err(DomainError::JobClosed), "{status:?}");
        assert_eq!(visit, before);
    }
}

#[test]
fn a_call_longer_than_four_hours_is_refused_in_the_users_language() {
    let mut visit = VisitRecord::new(job(JobType::Fault, SubCase::Indoor));
    let now = at("2026-11-23T15:00:00+08:00");
    let refused =
        call(CallOutcome::Booked, Some(CALL_DURATION_MAX_SECONDS + 1)).apply(&mut visit, now);
    let error = refused.expect_err("a timer left running is not a call");
    assert!(
        error.message(Lang::Zh).contains("通话时长"),
        "{}",
        error.message(Lang::Zh)
    );
    assert!(error.message(Lang::En).contains("Call duration"));
    assert!(visit.call_logs.is_empty(), "nothing saved");
    call(CallOutcome::Booked, Some(CALL_DURATION_MAX_SECONDS))
        .apply(&mut visit, now)
        .unwrap();
    assert_eq!(
        visit.call_logs[0].duration_seconds,
        Some(CALL_DURATION_MAX_SECONDS)
    );
}

#[test]
fn a_call_logged_before_durations_were_kept_still_reads() {
    let old = r#"{"id":"0193b4a0-0000-7000-8000-000000000001","at":"2026-11-23T07:00:00Z","outcome":"booked","note":""}"#;
    let call: CallLog = serde_json::from_str(old).unwrap();
    assert_eq!(call.duration_seconds, None);
}
