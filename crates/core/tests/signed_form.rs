//! What the customer signs stays what they signed: the signature binds the
//! service form and the customer's feedback, a signature over anything else is
//! refused, and signatures made under the first form layout stay valid.

use chrono::{DateTime, Utc};
use doorstep_core::change::Change;
use doorstep_core::rules::{missing_for_completion, Missing};
use doorstep_core::signature::{sha256_hex, signature_is_valid, ServiceForm, FORM_VERSION};
use doorstep_core::*;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn visit() -> VisitRecord {
    let mut visit = VisitRecord::new(Job {
        id: "0192d6e0-0000-7000-8000-000000000001".parse().unwrap(),
        customer: Customer {
            id: CustomerId::new(),
            name: "陈美玲".into(),
            phone: "13581590830".into(),
            address: "福州市鼓楼区五四路168号".into(),
            account_number: None,
        },
        job_type: JobType::Fault,
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
    });
    let now = at("2026-11-23T09:30:00+08:00");
    for change in [
        Change::SaveKit(KitCheck {
            mat_cloth: true,
            cover_cloth: true,
            wiping_cloth: true,
            shoe_covers: true,
            missing_reason: String::new(),
        }),
        Change::SaveWork(Work {
            indoor: true,
            line_test: true,
            fault_point: "入户 F 头".into(),
            description: "重做 F 头,信号恢复".into(),
            ..Work::default()
        }),
        Change::SaveFeedback(Feedback {
            mot: Some(2),
            opinion: "师傅很专业".into(),
        }),
    ] {
        change
            .apply(&mut visit, now)
            .expect("a valid change applies");
    }
    visit
}

fn signature(signed_content_hash: String) -> Signature {
    Signature {
        signed_content_hash,
        png_hash: "00".repeat(32),
        strokes_hash: "11".repeat(32),
        width: 300,
        height: 100,
        signed_at: at("2026-11-23T09:50:00+08:00"),
    }
}

fn sign_as_it_stands(visit: &mut VisitRecord) {
    let hash = ServiceForm::from_visit(visit).content_hash();
    Change::Sign(signature(hash))
        .apply(visit, at("2026-11-23T09:50:00+08:00"))
        .expect("a signature over the form as it stands is accepted");
}

fn save_feedback(visit: &mut VisitRecord, feedback: Feedback) {
    Change::SaveFeedback(feedback)
        .apply(visit, at("2026-11-23T09:55:00+08:00"))
        .unwrap();
}

#[test]
fn changing_the_mot_score_after_signing_invalidates_the_signature() {
    let mut visit = visit();
    sign_as_it_stands(&mut visit);
    assert!(signature_is_valid(&visit), "freshly signed");
    let mut feedback = visit.feedback.clone();
    feedback.mot = Some(-3);
    save_feedback(&mut visit, feedback);
    assert!(
        !signature_is_valid(&visit),
        "the customer signed a score of +2; a -3 is not what they signed"
    );
    assert!(
        missing_for_completion(&visit).contains(&Missing::SignatureOutdated),
        "completion asks for a new signature"
    );
}

#[test]
fn changing_the_opinion_after_signing_invalidates_the_signature() {
    let mut visit = visit();
    sign_as_it_stands(&mut visit);
    let mut feedback = visit.feedback.clone();
    feedback.opinion = "不满意".into();
    save_feedback(&mut visit, feedback);
    assert!(
        !signature_is_valid(&visit),
        "the opinion is part of what the customer signed"
    );
    sign_as_it_stands(&mut visit);
    assert!(
        signature_is_valid(&visit),
        "signing again binds the new opinion"
    );
}

#[test]
fn a_signature_over_other_content_is_refused_and_changes_nothing() {
    let mut visit = visit();
    let before = visit.clone();
    let mut other = visit.clone();
    other.feedback.mot = Some(3);
    let stale = ServiceForm::from_visit(&other).content_hash();
    let refused = Change::Sign(signature(stale)).apply(&mut visit, at("2026-11-23T09:50:00Z"));
    assert_eq!(
        refused,
        Err(DomainError::SignatureMismatch),
        "a signature must be made over the form as it stands"
    );
    assert_eq!(visit, before, "a refused signature writes nothing");
    let message = DomainError::SignatureMismatch.message(Lang::Zh);
    assert!(message.contains("重新签名"), "zh-CN first: {message}");
}

#[test]
fn the_generic_edit_path_refuses_signatures_and_photos_in_the_users_language() {
    let sign = Change::Sign(signature("f".repeat(64)));
    let photo = Change::AddPhoto(Photo {
        id: RecordId::new(),
        kind: PhotoKind::After,
        blob_hash: "c".repeat(64),
        width: 1,
        height: 1,
        added_at: at("2026-11-23T09:50:00Z"),
    });
    for change in [sign, photo] {
        let error = change
            .check_generic_edit()
            .expect_err("a signature or photo enters only through its own command");
        assert_eq!(error.code(), "needs_own_command");
        let (zh, en) = (error.message(Lang::Zh), error.message(Lang::En));
        assert!(
            zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)) && en.is_ascii(),
            "the message is in the user's language: {zh} / {en}"
        );
    }
    assert_eq!(
        Change::SaveFeedback(Feedback::default()).check_generic_edit(),
        Ok(()),
        "ordinary edits go through the generic path"
    );
}

/// The first layout's bytes, written out by hand: stores in the field hold
/// signatures over exactly these, so they must never change.
fn v1_canonical_json(visit: &VisitRecord) -> String {
    format!(
        concat!(
            r#"{{"job_id":"{}","customer_name":"陈美玲","address":"福州市鼓楼区五四路168号","#,
            r#""job_type":"fault","sub_case":"indoor","fault_point":"入户 F 头","#,
            r#""work_description":"重做 F 头,信号恢复","indoor":true,"line_test":true,"#,
            r#""outdoor_line":false,"replacement":false,"drilling_wiring":false,"#,
            r#""replacements":[],"fees":[],"total_fen":0}}"#
        ),
        visit.job.id
    )
}

#[test]
fn signatures_made_under_the_first_form_layout_stay_valid() {
    let mut visit = visit();
    let v1_hash = sha256_hex(v1_canonical_json(&visit).as_bytes());
    assert_eq!(
        ServiceForm::from_visit(&visit).v1_content_hash(),
        v1_hash,
        "the first layout is frozen: a change would invalidate every signature made under it"
    );
    Change::Sign(signature(v1_hash))
        .apply(&mut visit, at("2026-11-23T09:50:00Z"))
        .expect("HQ replays signatures made before the upgrade, and old apps still send them");
    assert!(
        signature_is_valid(&visit),
        "an upgrade alone invalidates nothing"
    );

    let mut feedback = visit.feedback.clone();
    feedback.mot = Some(-1);
    save_feedback(&mut visit, feedback);
    assert!(
        signature_is_valid(&visit),
        "a first-layout signature never covered the feedback, so editing it leaves the signature as it was"
    );

    let mut work = visit.work.clone();
    work.description.push_str(",另更换分配器");
    Change::SaveWork(work)
        .apply(&mut visit, at("2026-11-23T09:56:00Z"))
        .unwrap();
    assert!(
        !signature_is_valid(&visit),
        "an edit to what the first layout covered still invalidates it"
    );
}

#[test]
fn the_current_layout_names_its_version_and_the_feedback() {
    let visit = visit();
    let json: serde_json::Value =
        serde_json::from_slice(&ServiceForm::from_visit(&visit).canonical_bytes()).unwrap();
    assert_eq!(
        json["form_version"], FORM_VERSION,
        "what is hashed says its layout"
    );
    assert_eq!(json["mot"], 2, "the MOT score is signed");
    assert_eq!(json["opinion"], "师傅很专业", "the opinion is signed");
    assert_ne!(
        ServiceForm::from_visit(&visit).content_hash(),
        ServiceForm::from_visit(&visit).v1_content_hash(),
        "the two layouts never share a hash, so a signature's layout is known from its hash"
    );
}

/// Fee lines recorded before the price list came from HQ carry only a code
/// and a quantity: the form reads them from the first list, byte for byte
/// what customers signed then, so those signatures stay valid.
#[test]
fn fees_from_before_hq_kept_the_price_list_read_as_they_were_signed() {
    let mut visit = visit();
    Change::SetFees(vec![FeeLine {
        code: "remote".into(),
        quantity: 2,
        priced: None,
    }])
    .apply(&mut visit, at("2026-11-23T09:40:00Z"))
    .unwrap();
    let bytes = String::from_utf8(ServiceForm::from_visit(&visit).canonical_bytes()).unwrap();
    assert!(
        bytes.contains(concat!(
            r#""fees":[{"code":"remote","name_zh":"遥控器(非保修)","#,
            r#""name_en":"Remote control (out of warranty)","quantity":2,"#,
            r#""unit_price_fen":3500,"line_total_fen":7000}],"total_fen":7000"#
        )),
        "{bytes}"
    );
}

/// A line carries the price it was recorded at: the form (and the hash the
/// customer signed) is built from it, not from whatever HQ's list says
/// later; and a line priced as the first list priced it reads exactly as an
/// old line did, so the form's layout did not change.
#[test]
fn a_fee_line_is_signed_at_the_price_it_was_recorded_at() {
    let now = at("2026-11-23T09:40:00Z");
    let mut old = visit();
    Change::SetFees(vec![FeeLine {
        code: "remote".into(),
        quantity: 1,
        priced: None,
    }])
    .apply(&mut old, now)
    .unwrap();
    let mut new = visit();
    let list = legacy_price_list();
    Change::SetFees(vec![FeeLine {
        code: "remote".into(),
        quantity: 1,
        priced: Some(list.item("remote").unwrap().priced_at(list.version)),
    }])
    .apply(&mut new, now)
    .unwrap();
    assert_eq!(
        ServiceForm::from_visit(&old).content_hash(),
        ServiceForm::from_visit(&new).content_hash()
    );

    let mut dearer = visit();
    Change::SetFees(vec![FeeLine {
        code: "remote".into(),
        quantity: 1,
        priced: Some(PricedAt {
            list_version: 7,
            name_zh: "遥控器(非保修)".into(),
            name_en: "Remote control (out of warranty)".into(),
            unit_price_fen: 4200,
        }),
    }])
    .apply(&mut dearer, now)
    .unwrap();
    let form = ServiceForm::from_visit(&dearer);
    assert_eq!(
        form.total_fen, 4200,
        "the recorded price, not the first list's"
    );
}
