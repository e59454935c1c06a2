//! The standard's rules, judged on visits built in memory with fixed times.

use chrono::{DateTime, Duration, Utc};
use doorstep_core::change::Change;
use doorstep_core::rules::{
    judge_arrival, knock_prompt, missing_for_completion, Missing, Punctuality,
};
use doorstep_core::signature::{signature_is_valid, ServiceForm};
use doorstep_core::*;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn job(job_type: JobType) -> Job {
    Job {
        id: JobId::new(),
        customer: Customer {
            id: CustomerId::new(),
            name: "陈美玲".into(),
            phone: "13581590830".into(),
            address: "福州市鼓楼区五四路168号".into(),
        },
        job_type,
        sub_case: SubCase::Indoor,
        fault_description: "机顶盒无信号".into(),
        window_start: at("2026-11-23T09:00:00+08:00"),
        window_end: at("2026-11-23T10:00:00+08:00"),
        status: JobStatus::Scheduled,
        earlier_visits: vec![],
        visit: 1,
    }
}

fn full_kit() -> KitCheck {
    KitCheck {
        mat_cloth: true,
        cover_cloth: true,
        wiping_cloth: true,
        shoe_covers: true,
        missing_reason: String::new(),
    }
}

fn some_work() -> Work {
    Work {
        indoor: true,
        line_test: true,
        fault_point: "入户 F 头".into(),
        description: "重做 F 头,信号恢复".into(),
        ..Work::default()
    }
}

fn signature_for(visit: &VisitRecord) -> Signature {
    Signature {
        signed_content_hash: ServiceForm::from_visit(visit).content_hash(),
        png_hash: "00".repeat(32),
        strokes_hash: "11".repeat(32),
        width: 300,
        height: 100,
        signed_at: at("2026-11-23T09:50:00+08:00"),
    }
}

/// A fault visit with everything the standard requires, arrived on time.
fn complete_visit() -> VisitRecord {
    let now = at("2026-11-23T09:00:00+08:00");
    let mut visit = VisitRecord::new(job(JobType::Fault));
    let changes = [
        Change::SaveArrival(Arrival {
            arrived_at: Some(at("2026-11-23T08:52:00+08:00")),
            badge_shown: true,
            fault_point_verified: true,
            ..Arrival::default()
        }),
        Change::SaveKit(full_kit()),
        Change::SaveWork(some_work()),
        Change::SaveFeedback(Feedback {
            mot: Some(2),
            opinion: "师傅很专业".into(),
        }),
        Change::SaveCleanup(Cleanup {
            site_checked: true,
            tools_packed: true,
            restored: true,
            rubbish_taken: true,
            splitter_checked: true,
        }),
    ];
    for change in &changes {
        change
            .apply(&mut visit, now)
            .expect("a valid change applies");
    }
    let signature = signature_for(&visit);
    Change::Sign(signature).apply(&mut visit, now).unwrap();
    visit
}

#[test]
fn punctuality_follows_the_five_to_ten_minute_rule() {
    let start = at("2026-11-23T09:00:00Z");
    let cases = [
        ("2026-11-23T08:45:00Z", Punctuality::Early(15)),
        ("2026-11-23T08:50:00Z", Punctuality::OnTime(10)),
        ("2026-11-23T08:55:00Z", Punctuality::OnTime(5)),
        ("2026-11-23T08:57:30Z", Punctuality::Tight(2)),
        ("2026-11-23T09:00:00Z", Punctuality::Tight(0)),
        ("2026-11-23T09:00:01Z", Punctuality::Late(1)),
        ("2026-11-23T09:12:00Z", Punctuality::Late(12)),
    ];
    for (arrived, expected) in cases {
        assert_eq!(
            judge_arrival(at(arrived), start),
            expected,
            "arrival at {arrived} for a 09:00 appointment"
        );
    }
}

#[test]
fn knock_timer_reknocks_every_30_seconds_and_calls_after_3_minutes() {
    let start = at("2026-11-23T09:00:00Z");
    let early = knock_prompt(start, start + Duration::seconds(45));
    assert_eq!(early.knocks_due, 2, "one knock at 0 s and one at 30 s");
    assert_eq!(early.next_knock_in_seconds, 15);
    assert!(
        !early.call_now,
        "under 3 minutes the technician keeps knocking"
    );
    let late = knock_prompt(start, start + Duration::seconds(180));
    assert!(late.call_now, "at 3 minutes the app prompts a call");
}

#[test]
fn work_cannot_start_until_the_kit_is_ticked_or_explained() {
    let now = at("2026-11-23T09:00:00+08:00");
    let mut visit = VisitRecord::new(job(JobType::Fault));
    let refused = Change::SaveWork(some_work()).apply(&mut visit, now);
    assert_eq!(
        refused,
        Err(DomainError::KitIncomplete),
        "recording work with no kit ticked must be refused"
    );
    assert_eq!(
        visit.work,
        Work::default(),
        "a refused change leaves the visit as it was"
    );

    let mut partial = full_kit();
    partial.shoe_covers = false;
    Change::SaveKit(partial.clone())
        .apply(&mut visit, now)
        .unwrap();
    assert!(Change::SaveWork(some_work())
        .apply(&mut visit, now)
        .is_err());

    partial.missing_reason = "鞋套用完,客户同意穿自带拖鞋".into();
    Change::SaveKit(partial).apply(&mut visit, now).unwrap();
    Change::SaveWork(some_work())
        .apply(&mut visit, now)
        .expect("a recorded reason permits work");
}

#[test]
fn a_complete_visit_completes() {
    let mut visit = complete_visit();
    assert_eq!(missing_for_completion(&visit), vec![]);
    let now = at("2026-11-23T10:00:00+08:00");
    Change::Complete.apply(&mut visit, now).unwrap();
    assert_eq!(visit.job.status, JobStatus::Completed);
    assert_eq!(visit.completed_at, Some(now));
    assert_eq!(
        Change::SaveFeedback(Feedback::default()).apply(&mut visit, now),
        Err(DomainError::JobClosed),
        "a completed job is read-only"
    );
}

#[test]
fn completion_lists_exactly_what_is_missing() {
    let visit = VisitRecord::new(job(JobType::Fault));
    assert_eq!(
        missing_for_completion(&visit),
        vec![
            Missing::Arrival,
            Missing::BadgeShown,
            Missing::FaultPointVerified,
            Missing::Kit,
            Missing::Work,
            Missing::Mot,
            Missing::Signature,
            Missing::Cleanup,
        ]
    );
    let mut install = VisitRecord::new(job(JobType::Install));
    install.arrival.badge_shown = true;
    assert!(
        !missing_for_completion(&install).contains(&Missing::FaultPointVerified),
        "an installation has no fault point to verify"
    );
    let error = Change::Complete
        .apply(
            &mut VisitRecord::new(job(JobType::Fault)),
            at("2026-11-23T10:00:00Z"),
        )
        .unwrap_err();
    assert!(
        error.message(Lang::Zh).contains("客户签名")
            && error.message(Lang::En).contains("signature"),
        "the refusal names what is missing in both languages: {error:?}"
    );
}

#[test]
fn a_late_arrival_needs_a_logged_apology_call() {
    let mut visit = complete_visit();
    visit.arrival.arrived_at = Some(at("2026-11-23T09:20:00+08:00"));
    assert_eq!(missing_for_completion(&visit), vec![Missing::LateCall]);
    visit.call_logs.push(CallLog {
        id: RecordId::new(),
        at: at("2026-11-23T08:50:00+08:00"),
        outcome: CallOutcome::LateApology,
        note: "路上堵车,致歉".into(),
    });
    assert_eq!(missing_for_completion(&visit), vec![]);
}

#[test]
fn a_replacement_ticked_needs_a_replacement_logged() {
    let mut visit = complete_visit();
    visit.work.replacement = true;
    let missing = missing_for_completion(&visit);
    assert!(missing.contains(&Missing::ReplacementLog), "{missing:?}");
}

#[test]
fn editing_the_form_after_signing_invalidates_the_signature() {
    let mut visit = complete_visit();
    assert!(signature_is_valid(&visit), "freshly signed");
    let now = at("2026-11-23T09:55:00+08:00");
    let mut work = visit.work.clone();
    work.description.push_str(",另更换分配器");
    Change::SaveWork(work).apply(&mut visit, now).unwrap();
    assert!(!signature_is_valid(&visit), "the signed content changed");
    assert_eq!(
        missing_for_completion(&visit),
        vec![Missing::SignatureOutdated]
    );

    Change::SetFees(vec![FeeLine {
        code: "splitter".into(),
        quantity: 1,
    }])
    .apply(&mut visit, now)
    .unwrap();
    let signature = signature_for(&visit);
    Change::Sign(signature).apply(&mut visit, now).unwrap();
    assert!(
        signature_is_valid(&visit),
        "signing again binds to the new content"
    );
}

#[test]
fn fees_come_only_from_the_price_list() {
    let mut visit = VisitRecord::new(job(JobType::Fault));
    let now = at("2026-11-23T09:00:00Z");
    let bad = Change::SetFees(vec![FeeLine {
        code: "tip".into(),
        quantity: 1,
    }])
    .apply(&mut visit, now);
    assert_eq!(bad, Err(DomainError::UnknownFee("tip".into())));
    Change::SetFees(vec![
        FeeLine {
            code: "remote".into(),
            quantity: 1,
        },
        FeeLine {
            code: "indoor_cable_m".into(),
            quantity: 12,
        },
    ])
    .apply(&mut visit, now)
    .unwrap();
    assert_eq!(ServiceForm::from_visit(&visit).total_fen, 3500 + 12 * 200);
}

#[test]
fn text_limits_and_mot_range_are_enforced() {
    let mut visit = VisitRecord::new(job(JobType::Fault));
    let now = at("2026-11-23T09:00:00Z");
    let long = "长".repeat(LONG_TEXT_MAX + 1);
    let result = Change::SaveCommunicate(Communicate {
        notes: long,
        ..Communicate::default()
    })
    .apply(&mut visit, now);
    assert!(
        matches!(result, Err(DomainError::TooLong { .. })),
        "{result:?}"
    );
    let emoji = "客户说“很好”😀 'quoted' \"double\"".to_string();
    Change::SaveCommunicate(Communicate {
        notes: emoji.clone(),
        ..Communicate::default()
    })
    .apply(&mut visit, now)
    .expect("emoji and quotes are ordinary text");
    assert_eq!(visit.communicate.notes, emoji);
    let result = Change::SaveFeedback(Feedback {
        mot: Some(4),
        opinion: String::new(),
    })
    .apply(&mut visit, now);
    assert_eq!(result, Err(DomainError::OutOfRange("mot")));
}

#[test]
fn reschedule_needs_a_future_slot_and_closes_the_job() {
    let mut visit = VisitRecord::new(job(JobType::Install));
    let now = at("2026-11-23T09:00:00Z");
    let past = Reschedule {
        reason: RescheduleReason::ConditionsNotMet,
        note: "墙体未完工".into(),
        new_start: at("2026-11-22T09:00:00Z"),
        new_end: at("2026-11-22T10:00:00Z"),
    };
    assert_eq!(
        Change::Reschedule(past.clone()).apply(&mut visit, now),
        Err(DomainError::BadSlot)
    );
    let future = Reschedule {
        new_start: at("2026-11-25T09:00:00Z"),
        new_end: at("2026-11-25T11:00:00Z"),
        ..past
    };
    Change::Reschedule(future).apply(&mut visit, now).unwrap();
    assert_eq!(visit.job.status, JobStatus::Rescheduled);
}

/// Item 23: asking for support records the problem and leaves the job open
/// (unlike a reschedule), so the technician can go on once support comes; a
/// request with no problem tells HQ nothing and is refused.
#[test]
fn support_request_needs_a_problem_and_keeps_the_job_open() {
    let mut visit = VisitRecord::new(job(JobType::Fault));
    let now = at("2026-11-23T09:30:00Z");
    let blank = SupportRequest {
        problem: "  ".into(),
    };
    assert_eq!(
        Change::RequestSupport(blank).apply(&mut visit, now),
        Err(DomainError::Required("problem"))
    );
    assert_eq!(visit.support_request, None);
    let too_long = SupportRequest {
        problem: "信".repeat(LONG_TEXT_MAX + 1),
    };
    assert!(matches!(
        Change::RequestSupport(too_long).apply(&mut visit, now),
        Err(DomainError::TooLong {
            field: "problem",
            ..
        })
    ));
    let request = SupportRequest {
        problem: "光功率过低,需线路班支持".into(),
    };
    Change::RequestSupport(request)
        .apply(&mut visit, now)
        .unwrap();
    assert_eq!(visit.job.status, JobStatus::InProgress);
    assert!(!visit.job.status.is_closed());
    assert_eq!(
        visit.support_request,
        Some(RequestedSupport {
            problem: "光功率过低,需线路班支持".into(),
            requested_at: now,
        })
    );
    // The job stays open: the visit goes on and can still be recorded.
    Change::SaveKit(full_kit()).apply(&mut visit, now).unwrap();
    let json = r#"{"type":"request_support","data":{"problem":"需要支持"}}"#;
    let change: Change = serde_json::from_str(json).unwrap();
    assert_eq!(change.kind(), "request_support");
}

#[test]
fn change_json_is_the_shape_the_ui_sends() {
    let json = r#"{"type":"save_kit","data":{"mat_cloth":true,"cover_cloth":true,"wiping_cloth":false,"shoe_covers":true,"missing_reason":""}}"#;
    let change: Change = serde_json::from_str(json).unwrap();
    assert!(matches!(change, Change::SaveKit(ref kit) if kit.mat_cloth && !kit.wiping_cloth));
    let complete: Change = serde_json::from_str(r#"{"type":"complete"}"#).unwrap();
    assert_eq!(complete, Change::Complete);
}
