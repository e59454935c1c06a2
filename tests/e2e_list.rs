//! The job list in the real window never stops silently: with 450 jobs due
//! today, the list shows 200, "show more" brings the next 200 and then the
//! last 50, and the button goes once everything is shown. Every one of them
//! is past its window, so every row is marked overdue.
//! Run by scripts/test.sh under Xvfb (it needs a display and tauri-driver).

mod common;

use chrono::{Duration, Utc};
use common::App;
use doorstep_core::{Customer, CustomerId, Job, JobId, JobStatus, JobType, SubCase};

const JOBS: usize = 450;

/// A store for `dir` as the app opens it (its key in the OS keyring),
/// holding `JOBS` open jobs due before tomorrow, so all of them belong on
/// the Today tab.
fn store_with_a_long_day(dir: &std::path::Path) {
    let mut store = doorstep_vault::open_with_keychain(dir).expect("the keyring opens the store");
    let start = Utc::now() - Duration::hours(2);
    let jobs: Vec<Job> = (0..JOBS)
        .map(|n| Job {
            id: JobId::new(),
            customer: Customer {
                id: CustomerId::new(),
                name: format!("长队客户{n:03}"),
                phone: format!("13900{n:06}"),
                address: format!("福州市鼓楼区长队路{n}号"),
                account_number: None,
            },
            job_type: JobType::Fault,
            sub_case: SubCase::Indoor,
            fault_description: "无信号".into(),
            // Ten jobs to a start time: pages must not skip or repeat
            // rows that share one.
            window_start: start + Duration::minutes((n / 10) as i64),
            window_end: start + Duration::hours(1),
            status: JobStatus::Scheduled,
            earlier_visits: Vec::new(),
            visit: 1,
            repeat_of: None,
            reported_at: None,
            due_by: None,
        })
        .collect();
    store.upsert_jobs(&jobs).unwrap();
}

/// The job ids of the rows on screen, read in one script call (450 rows
/// one WebDriver call each would take longer than the list).
async fn row_ids(app: &App) -> Vec<String> {
    let ids = app
        .client
        .execute(
            "return [...document.querySelectorAll('[data-testid=job-row]')]
                 .map((row) => row.dataset.jobId);",
            Vec::new(),
        )
        .await
        .unwrap();
    serde_json::from_value(ids).unwrap()
}

/// Waits until the list holds `count` rows.
async fn wait_for_rows(app: &App, count: usize) -> Vec<String> {
    let deadline = std::time::Instant::now() + common::WAIT;
    loop {
        let ids = row_ids(app).await;
        if ids.len() == count {
            return ids;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the list shows {count} rows (it shows {})",
            ids.len()
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

#[tokio::test]
#[ignore = "needs a display and tauri-driver: run by scripts/test.sh"]
async fn the_job_list_pages_past_200_with_show_more() {
    let dir = tempfile::tempdir().unwrap();
    store_with_a_long_day(dir.path());
    let app = App::start(dir.path()).await;
    app.click("job-tab-today").await;

    let mut shown = wait_for_rows(&app, 200).await;
    // Every one of these jobs ended its window an hour ago and is still
    // open, so each row carries the overdue badge, in the app's language.
    let badges: Vec<String> = serde_json::from_value(
        app.client
            .execute(
                "return [...document.querySelectorAll('[data-testid=job-row]')]
                     .map((row) => row.querySelector('[data-testid=overdue]')?.textContent ?? '');",
                Vec::new(),
            )
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(badges.len(), 200);
    assert!(
        badges.iter().all(|badge| badge.trim() == "已超时"),
        "every row past its window is marked overdue: {:?}",
        badges.iter().find(|badge| badge.trim() != "已超时")
    );
    for expected in [400, JOBS] {
        app.click("job-list-more").await;
        shown = wait_for_rows(&app, expected).await;
    }
    let mut unique = shown.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), JOBS, "every job is listed exactly once");
    assert!(
        app.all("job-list-more").await.is_empty(),
        "with everything shown, there is no more to show"
    );

    // A search pages the same way, and says more follow.
    app.type_into("job-search", "长队客户").await;
    wait_for_rows(&app, 200).await;
    let count = app.find("job-search-count").await.text().await.unwrap();
    assert!(
        count.contains("200"),
        "the count says a page is shown and more follow: {count}"
    );
    app.click("job-list-more").await;
    wait_for_rows(&app, 400).await;
    app.stop().await;
}
