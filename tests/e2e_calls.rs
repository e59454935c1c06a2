//! Follow-ups in the real window. The confirm-by-phone task after an
//! outdoor repair (standard item 10): Today lists the call to make; the
//! completed job offers the confirmation script, a call timer and the
//! outcome; logging the confirmation ends the task, and the call keeps its
//! duration. Complaints (item 19): taken on a job with an owner and a
//! promised reply time, listed on Today until the callback is recorded.
//! Run by scripts/test.sh under Xvfb (it needs a display and tauri-driver).

mod common;

use chrono::{Duration, Utc};
use common::App;
use doorstep_core::change::Change;
use doorstep_core::media::CleanImage;
use doorstep_core::*;

/// A store for `dir` as the app opens it (its key in the OS keyring),
/// holding one outdoor line repair completed three hours ago: its
/// confirmation call is due.
fn store_with_a_finished_outdoor_repair(dir: &std::path::Path) -> JobId {
    let mut store = doorstep_vault::open_with_keychain(dir).expect("the keyring opens the store");
    let done = Utc::now() - Duration::hours(3);
    let job = Job {
        id: JobId::new(),
        customer: Customer {
            id: CustomerId::new(),
            name: "回访客户".into(),
            phone: "13900000777".into(),
            address: "福州市鼓楼区回访路7号".into(),
            account_number: None,
        },
        job_type: JobType::Fault,
        sub_case: SubCase::Outdoor,
        fault_description: "户外线路中断".into(),
        window_start: done - Duration::hours(1),
        window_end: done,
        status: JobStatus::Scheduled,
        earlier_visits: Vec::new(),
        visit: FIRST_VISIT,
        repeat_of: None,
        reported_at: None,
        due_by: None,
    };
    store.upsert_jobs(std::slice::from_ref(&job)).unwrap();
    let changes = [
        Change::SaveArrival(Arrival {
            arrived_at: Some(job.window_start - Duration::minutes(8)),
            badge_shown: true,
            fault_point_verified: true,
            ..Arrival::default()
        }),
        Change::SaveKit(KitCheck {
            mat_cloth: true,
            cover_cloth: true,
            wiping_cloth: true,
            shoe_covers: true,
            missing_reason: String::new(),
        }),
        Change::SaveWork(Work {
            outdoor_line: true,
            fault_point: "楼道分支器进水".into(),
            description: "更换分支器,重做接头".into(),
            ..Work::default()
        }),
        Change::SaveFeedback(Feedback {
            mot: Some(3),
            opinion: "满意".into(),
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
        store.apply(job.id, change, done).unwrap();
    }
    let signature = CleanImage {
        bytes: vec![0x89, b'P', b'N', b'G'],
        width: 10,
        height: 10,
    };
    store.sign(job.id, &signature, "[]", done).unwrap();
    store.apply(job.id, &Change::Complete, done).unwrap();
    job.id
}

#[tokio::test]
#[ignore = "needs a display and tauri-driver: run by scripts/test.sh"]
async fn an_outdoor_repair_is_confirmed_by_phone_from_the_today_list() {
    let dir = tempfile::tempdir().unwrap();
    let job = store_with_a_finished_outdoor_repair(dir.path());
    let app = App::start(dir.path()).await;
    app.click("job-tab-today").await;

    // Today lists the confirmation call, in the app's language.
    let task = app.find("confirm-call-task").await;
    assert_eq!(
        task.attr("data-job-id").await.unwrap().as_deref(),
        Some(job.to_string().as_str())
    );
    let text = task.text().await.unwrap();
    assert!(text.contains("回访客户"), "{text}");
    assert!(text.contains("13900000777"), "{text}");
    task.click().await.unwrap();

    // The completed job offers the confirmation: its script names the
    // technician and the repair, and the call is timed.
    app.find("job-view").await;
    app.wait_attr("job-status", "data-status", "completed")
        .await;
    let panel = app.find("confirm-call-panel").await;
    let script = app.find("call-script").await.text().await.unwrap();
    assert!(
        script.contains("户外线路"),
        "the confirm-after-repair script: {script}"
    );
    assert_eq!(
        app.value("call-outcome").await,
        "repair_confirmed",
        "the confirmation is the outcome offered first"
    );
    app.click("call-timer").await;
    tokio::time::sleep(std::time::Duration::from_millis(2200)).await;
    app.click("call-timer").await;
    let timed = app.value("call-duration").await;
    assert!(
        timed.starts_with("00:0") && timed != "00:00",
        "the timer filled in the duration: {timed}"
    );
    app.type_into("call-note", "客户确认信号正常").await;
    let shot = std::env::temp_dir().join("doorstep-confirm-call.png");
    app.screenshot(&shot).await;
    app.click("call-log-add").await;

    // Logged: the task ends, the job stays completed, and the call keeps
    // its duration in the phone step's log.
    for _ in 0..100 {
        if app.all("confirm-call-panel").await.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        app.all("confirm-call-panel").await.is_empty(),
        "the confirmation ends the task"
    );
    drop(panel);
    app.wait_attr("job-status", "data-status", "completed")
        .await;
    app.click("step-phone").await;
    let row = app.find("call-log-row").await;
    assert_eq!(
        row.attr("data-outcome").await.unwrap().as_deref(),
        Some("repair_confirmed")
    );
    let duration = app.find("call-log-duration").await.text().await.unwrap();
    assert_eq!(duration, timed, "the call keeps its duration");
    app.click("back-to-list").await;
    app.find("job-list").await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(
        app.all("confirm-call-task").await.is_empty(),
        "Today no longer lists it"
    );
    app.stop().await;
}

#[tokio::test]
#[ignore = "needs a display and tauri-driver: run by scripts/test.sh"]
async fn a_complaint_taken_on_site_is_owed_a_callback_until_one_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::start(dir.path()).await;
    app.click("job-tab-today").await;
    let row = app.find("job-row").await;
    let job = row.attr("data-job-id").await.unwrap().unwrap();
    row.click().await.unwrap();
    app.find("job-view").await;

    // A promise already past is refused in the user's language, and the
    // form keeps what was typed.
    app.click("complaint-new").await;
    assert_eq!(
        app.value("complaint-taken-by").await,
        "林师傅",
        "whoever takes it owns it: the technician by default"
    );
    app.type_into("complaint-issue", "上次修好三天又没信号,要求赔偿")
        .await;
    app.client
        .execute(
            "const input = document.querySelector('[data-testid=complaint-reply-by]');
             input.value = '2020-01-01T09:00';
             input.dispatchEvent(new Event('input', { bubbles: true }));",
            vec![],
        )
        .await
        .unwrap();
    app.click("complaint-save").await;
    let error = app.find("complaint-error").await.text().await.unwrap();
    assert!(error.contains("承诺答复时间"), "{error}");
    assert!(app.all("complaint").await.is_empty(), "nothing saved");

    // A reply promised for tomorrow is taken.
    app.client
        .execute(
            "const input = document.querySelector('[data-testid=complaint-reply-by]');
             const d = new Date(Date.now() + 24 * 3600 * 1000);
             const p = (n) => String(n).padStart(2, '0');
             input.value = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
             input.dispatchEvent(new Event('input', { bubbles: true }));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        app.value("complaint-issue").await,
        "上次修好三天又没信号,要求赔偿",
        "what was typed is kept after the refusal"
    );
    app.click("complaint-save").await;
    app.wait_attr("complaint", "data-state", "open").await;

    // Today lists it as owed a reply.
    app.click("back-to-list").await;
    let owed = app.find("open-complaint").await;
    assert_eq!(
        owed.attr("data-job-id").await.unwrap().as_deref(),
        Some(job.as_str())
    );
    let shot = std::env::temp_dir().join("doorstep-open-complaints.png");
    app.screenshot(&shot).await;
    // textContent: the issue may be cut short with an ellipsis on screen.
    let text = owed.prop("textContent").await.unwrap().unwrap_or_default();
    assert!(text.contains("要求赔偿"), "{text}");
    owed.click().await.unwrap();

    // The callback with the result closes it.
    app.click("complaint-callback-start").await;
    app.type_into("complaint-result", "已更换分支器,减免本次费用")
        .await;
    app.click("complaint-callback-save").await;
    app.wait_attr("complaint", "data-state", "answered").await;
    let answered = app.find("complaint-callback").await.text().await.unwrap();
    assert!(answered.contains("客户满意"), "{answered}");
    app.click("back-to-list").await;
    app.find("job-list").await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(
        app.all("open-complaint").await.is_empty(),
        "no reply is owed any more"
    );
    app.stop().await;
}
