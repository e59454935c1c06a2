//! The job list in the real window never stops silently: with 450 jobs due
//! today, the list shows 200, "show more" brings the next 200 and then the
//! last 50, and the button goes once everything is shown. Every one of them
//! is past its window, so every row is marked overdue. Only the rows on
//! screen are in the page (the list is virtualized), yet scrolling reaches
//! every job, the last one included, and the keyboard walks the rows.
//! Run by scripts/test.sh under Xvfb (it needs a display and tauri-driver).

mod common;

use chrono::{Duration, Utc};
use common::App;
use doorstep_core::{Customer, CustomerId, Job, JobId, JobStatus, JobType, SubCase};

const JOBS: usize = 450;

/// A store for `dir` as the app opens it (its key in the OS keyring),
/// holding `JOBS` open jobs due before tomorrow, so all of them belong on
/// the Today tab. Returns their ids in the list's order (start time, then
/// id: UUIDv7 ids grow in the order they are made).
fn store_with_a_long_day(dir: &std::path::Path) -> Vec<String> {
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
    jobs.iter().map(|job| job.id.to_string()).collect()
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

/// Waits until the list has `count` jobs loaded (the page holds only
/// those on screen).
async fn wait_for_loaded(app: &App, count: usize) {
    app.wait_attr("job-list", "data-loaded", &count.to_string())
        .await;
}

/// Runs `script` in the window and reads its answer.
async fn script<T: serde::de::DeserializeOwned>(app: &App, script: &str) -> T {
    serde_json::from_value(app.client.execute(script, Vec::new()).await.unwrap()).unwrap()
}

/// The ids of the rows inside the visible part of the scrolling <main>.
async fn visible_ids(app: &App) -> Vec<String> {
    script(
        app,
        "const view = document.querySelector('main').getBoundingClientRect();
         return [...document.querySelectorAll('[data-testid=job-row]')]
             .filter((row) => {
                 const r = row.getBoundingClientRect();
                 return r.bottom > view.top && r.top < view.bottom;
             })
             .map((row) => row.dataset.jobId);",
    )
    .await
}

/// Scrolls <main> to `top` (pixels) and lets the list catch up.
async fn scroll_to(app: &App, top: &str) {
    app.client
        .execute(
            &format!("const main = document.querySelector('main'); main.scrollTop = {top};"),
            Vec::new(),
        )
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
}

/// Waits until the row of `id` is in view.
async fn wait_in_view(app: &App, id: &str) {
    let deadline = std::time::Instant::now() + common::WAIT;
    while !visible_ids(app).await.iter().any(|shown| shown == id) {
        assert!(
            std::time::Instant::now() < deadline,
            "the row of {id} comes into view"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

#[tokio::test]
#[ignore = "needs a display and tauri-driver: run by scripts/test.sh"]
async fn the_job_list_pages_past_200_with_show_more() {
    let dir = tempfile::tempdir().unwrap();
    let order = store_with_a_long_day(dir.path());
    let app = App::start(dir.path()).await;
    app.click("job-tab-today").await;

    wait_for_loaded(&app, 200).await;
    app.find("job-row").await;
    // Every one of these jobs ended its window an hour ago and is still
    // open, so each row carries the overdue badge, in the app's language.
    let badges: Vec<String> = script(
        &app,
        "return [...document.querySelectorAll('[data-testid=job-row]')]
             .map((row) => row.querySelector('[data-testid=overdue]')?.textContent ?? '');",
    )
    .await;
    assert!(!badges.is_empty());
    assert!(
        badges.iter().all(|badge| badge.trim() == "已超时"),
        "every row past its window is marked overdue: {:?}",
        badges.iter().find(|badge| badge.trim() != "已超时")
    );
    for expected in [400, JOBS] {
        app.click("job-list-more").await;
        wait_for_loaded(&app, expected).await;
    }
    assert!(
        app.all("job-list-more").await.is_empty(),
        "with everything shown, there is no more to show"
    );

    // Virtualized: 450 jobs loaded, a few screens' worth of rows in the
    // page (about ten rows fill the window; a screen more either side).
    let in_page = row_ids(&app).await.len();
    assert!(
        in_page > 0 && in_page <= 60,
        "the page holds the rows on screen, not all {JOBS}: it holds {in_page}"
    );
    // Scrolling a screen at a time reaches every job, each once, in order,
    // and the end of the list shows the last job.
    let mut seen: Vec<String> = Vec::new();
    let height: f64 = script(&app, "return document.querySelector('main').clientHeight;").await;
    let total: f64 = script(&app, "return document.querySelector('main').scrollHeight;").await;
    let mut top = 0.0;
    while top < total {
        scroll_to(&app, &top.to_string()).await;
        for id in visible_ids(&app).await {
            if !seen.contains(&id) {
                seen.push(id);
            }
        }
        top += height / 2.0;
    }
    assert_eq!(
        seen, order,
        "scrolling shows every job once, in the list's order"
    );
    scroll_to(&app, "0").await;
    scroll_to(&app, "document.querySelector('main').scrollHeight").await;
    wait_in_view(&app, order.last().unwrap()).await;
    assert!(
        row_ids(&app).await.len() <= 60,
        "at the end, too, only the rows on screen are in the page"
    );
    // A tap on a row as the list moves opens it (the virtualizer would
    // have the list ignore the pointer while it scrolls).
    let last = order.last().unwrap();
    app.client
        .execute(
            "document.querySelector('main').scrollBy(0, -40);",
            Vec::new(),
        )
        .await
        .unwrap();
    app.client
        .find(fantoccini::Locator::Css(&format!(
            "[data-testid='job-row'][data-job-id='{last}']"
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    app.wait_attr("job-view", "data-job-id", last).await;
    app.click("back-to-list").await;
    wait_for_loaded(&app, 200).await;

    // The keyboard walks the rows: from the first, each Tab focuses the
    // next, past those the page held at first, and brings it into view.
    scroll_to(&app, "0").await;
    app.client
        .execute(
            "document.querySelector('[data-testid=job-row]').focus();",
            Vec::new(),
        )
        .await
        .unwrap();
    const STEPS: usize = 60;
    for _ in 0..STEPS {
        app.client
            .active_element()
            .await
            .unwrap()
            .send_keys("\u{E004}")
            .await
            .unwrap();
    }
    let focused: Option<String> = script(
        &app,
        "return document.activeElement?.dataset?.jobId ?? null;",
    )
    .await;
    assert_eq!(
        focused.as_deref(),
        Some(order[STEPS].as_str()),
        "Tab moves row by row"
    );
    wait_in_view(&app, &order[STEPS]).await;

    // A search pages the same way, and says more follow.
    scroll_to(&app, "0").await;
    app.type_into("job-search", "长队客户").await;
    wait_for_loaded(&app, 200).await;
    let count = app.find("job-search-count").await.text().await.unwrap();
    assert!(
        count.contains("200"),
        "the count says a page is shown and more follow: {count}"
    );
    app.click("job-list-more").await;
    wait_for_loaded(&app, 400).await;
    app.stop().await;
}
