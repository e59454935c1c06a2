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
            account_number: None,
        },
        job_type,
        sub_case: SubCase::Indoor,
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
        duration_seconds: None,
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
        priced: None,
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
        priced: None,
    }])
    .apply(&mut visit, now);
    assert_eq!(bad, Err(DomainError::UnknownFee("tip".into())));
    Change::SetFees(vec![
        FeeLine {
            code: "remote".into(),
            quantity: 1,
            priced: None,
        },
        FeeLine {
            code: "indoor_cable_m".into(),
            quantity: 12,
            priced: None,
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

/// The Today list marks a job overdue from this rule alone: only an open job
/// whose window has ended is overdue, so a finished or handed-back job never
/// nags the technician, and a job inside its window is not flagged early.
#[test]
fn an_open_job_past_its_window_is_overdue() {
    use doorstep_core::rules::is_overdue;
    let end = at("2026-11-23T10:00:00+08:00");
    let inside = at("2026-11-23T09:59:00+08:00");
    let after = at("2026-11-23T10:01:00+08:00");
    for open in [JobStatus::Scheduled, JobStatus::InProgress] {
        assert!(!is_overdue(open, end, inside), "{open:?} inside its window");
        assert!(
            !is_overdue(open, end, end),
            "{open:?} at the window's last moment"
        );
        assert!(is_overdue(open, end, after), "{open:?} past its window");
    }
    for closed in [
        JobStatus::Completed,
        JobStatus::Rescheduled,
        JobStatus::Cancelled,
    ] {
        assert!(!is_overdue(closed, end, after), "{closed:?} is done with");
    }
}

/// Arrival recorded twice keeps the first time: punctuality is judged on the
/// first stamp, so a later one (a second tap, or an attempt to make a late
/// arrival look early) is logged as a correction beside it, never written
/// over it. The log belongs to the visit: a change cannot rewrite it, and
/// the same proposal saved again (the UI resends the whole section with
/// every tick) is logged once.
#[test]
fn arrival_recorded_twice_keeps_the_first_time_and_logs_the_correction() {
    let mut visit = VisitRecord::new(job(JobType::Fault));
    let first = at("2026-11-23T09:07:00+08:00");
    let arrival = Arrival {
        arrived_at: Some(first),
        ..Arrival::default()
    };
    Change::SaveArrival(arrival.clone())
        .apply(&mut visit, first)
        .unwrap();
    assert_eq!(visit.arrival.arrived_at, Some(first));
    assert!(visit.arrival.corrections.is_empty());

    let earlier = at("2026-11-23T08:50:00+08:00");
    let corrected_at = at("2026-11-23T09:20:00+08:00");
    let forged = ArrivalCorrection {
        proposed: earlier,
        at: earlier,
    };
    let second = Arrival {
        arrived_at: Some(earlier),
        badge_shown: true,
        corrections: vec![forged],
        ..Arrival::default()
    };
    Change::SaveArrival(second.clone())
        .apply(&mut visit, corrected_at)
        .unwrap();
    assert_eq!(
        visit.arrival.arrived_at,
        Some(first),
        "the first time stands"
    );
    assert!(
        visit.arrival.badge_shown,
        "the rest of the section is saved"
    );
    assert_eq!(
        visit.arrival.corrections,
        vec![ArrivalCorrection {
            proposed: earlier,
            at: corrected_at,
        }],
        "the correction is logged with when it was made, not what the change claimed"
    );
    assert_eq!(
        judge_arrival(visit.arrival.arrived_at.unwrap(), visit.job.window_start),
        Punctuality::Late(7),
        "still late: the correction does not move punctuality"
    );

    // Ticking another box resends the same proposal: nothing more is logged.
    let tick = Arrival {
        fault_point_verified: true,
        ..second
    };
    Change::SaveArrival(tick)
        .apply(&mut visit, at("2026-11-23T09:21:00+08:00"))
        .unwrap();
    assert_eq!(visit.arrival.corrections.len(), 1);
    assert!(visit.arrival.fault_point_verified);

    // Clearing the time keeps it; the same time as the first logs nothing.
    for again in [None, Some(first)] {
        Change::SaveArrival(Arrival {
            arrived_at: again,
            ..visit.arrival.clone()
        })
        .apply(&mut visit, at("2026-11-23T09:22:00+08:00"))
        .unwrap();
        assert_eq!(visit.arrival.arrived_at, Some(first));
        assert_eq!(visit.arrival.corrections.len(), 1);
    }

    // A third, different time is logged after the second.
    let third = at("2026-11-23T09:05:00+08:00");
    Change::SaveArrival(Arrival {
        arrived_at: Some(third),
        ..visit.arrival.clone()
    })
    .apply(&mut visit, at("2026-11-23T09:30:00+08:00"))
    .unwrap();
    assert_eq!(
        visit
            .arrival
            .corrections
            .iter()
            .map(|c| c.proposed)
            .collect::<Vec<_>>(),
        vec![earlier, third]
    );
}

/// The correction log is no part of what the customer signs: logging one
/// leaves the service form's hash, and so HQ's receipt, as it was.
#[test]
fn an_arrival_correction_leaves_the_signed_form_alone() {
    let mut visit = complete_visit();
    let before = ServiceForm::from_visit(&visit).content_hash();
    Change::SaveArrival(Arrival {
        arrived_at: Some(at("2026-11-23T08:40:00+08:00")),
        ..visit.arrival.clone()
    })
    .apply(&mut visit, at("2026-11-23T09:45:00+08:00"))
    .unwrap();
    assert_eq!(visit.arrival.corrections.len(), 1);
    assert_eq!(ServiceForm::from_visit(&visit).content_hash(), before);
    assert!(signature_is_valid(&visit));
}

/// Repair-time targets (standard item 21): a job not done by its due-by
/// time is flagged on HQ's board and in the laptop's list, from this rule
/// alone. A rescheduled job is not done (the fault is still there); a
/// completed or cancelled one is; a job without a target is never flagged,
/// and the due-by moment itself is still in time.
#[test]
fn a_job_not_done_by_its_due_time_is_past_its_target() {
    use doorstep_core::rules::{is_past_target, repair_due_by};
    let reported = at("2026-11-23T09:00:00+08:00");
    let due = repair_due_by(reported, 24).unwrap();
    assert_eq!(due, at("2026-11-24T09:00:00+08:00"));
    let after = due + Duration::minutes(1);
    for not_done in [
        JobStatus::Scheduled,
        JobStatus::InProgress,
        JobStatus::Rescheduled,
    ] {
        assert!(
            !is_past_target(not_done, Some(due), due),
            "{not_done:?} at the due time"
        );
        assert!(
            is_past_target(not_done, Some(due), after),
            "{not_done:?} after it"
        );
        assert!(
            !is_past_target(not_done, None, after),
            "{not_done:?} without a target"
        );
    }
    for done in [JobStatus::Completed, JobStatus::Cancelled] {
        assert!(!is_past_target(done, Some(due), after), "{done:?} is done");
    }
}

/// Standard item 11: charges come with an invoice/receipt record. A visit
/// with fees completes only once a receipt for exactly their total is
/// recorded; a visit without fees needs none.
#[test]
fn a_visit_with_fees_completes_only_with_a_receipt_for_their_total() {
    let mut visit = complete_visit();
    assert!(
        missing_for_completion(&visit).is_empty(),
        "no fees, no receipt"
    );
    let now = at("2026-11-23T09:55:00+08:00");
    Change::SetFees(vec![FeeLine {
        code: "splitter".into(),
        quantity: 2,
        priced: Some(legacy_price_list().item("splitter").unwrap().priced_at(1)),
    }])
    .apply(&mut visit, now)
    .unwrap();
    let signature = signature_for(&visit);
    Change::Sign(signature).apply(&mut visit, now).unwrap();
    assert_eq!(
        missing_for_completion(&visit),
        vec![Missing::PaymentReceipt]
    );
    let short = PaymentReceipt {
        receipt_no: "FJ-000123".into(),
        amount_fen: 1500,
        method: PaymentMethod::Cash,
    };
    Change::SavePayment(short.clone())
        .apply(&mut visit, now)
        .unwrap();
    assert_eq!(
        missing_for_completion(&visit),
        vec![Missing::PaymentReceipt],
        "a receipt for less than the fees does not stand for them"
    );
    Change::SavePayment(PaymentReceipt {
        amount_fen: 3000,
        ..short
    })
    .apply(&mut visit, now)
    .unwrap();
    assert!(missing_for_completion(&visit).is_empty());
    assert!(
        signature_is_valid(&visit),
        "the receipt is not part of the signed form: recording it after signing voids nothing"
    );
}

/// An app from before receipts records fee lines without a price, and
/// completes without a receipt: HQ replays its completion, so the receipt
/// rule must not refuse it (HQ is upgraded before the apps).
#[test]
fn fees_from_an_app_without_receipts_do_not_block_its_completion() {
    let mut visit = complete_visit();
    let now = at("2026-11-23T09:55:00+08:00");
    Change::SetFees(vec![FeeLine {
        code: "splitter".into(),
        quantity: 1,
        priced: None,
    }])
    .apply(&mut visit, now)
    .unwrap();
    let signature = signature_for(&visit);
    Change::Sign(signature).apply(&mut visit, now).unwrap();
    assert!(missing_for_completion(&visit).is_empty());
}
