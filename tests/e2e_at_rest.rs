//! Customers' data sealed at rest, in the real window: a job worked and the
//! app closed leave no customer name or phone in any file under the data
//! directory, and `sqlite3` cannot read the database. Where no keychain
//! answers, the unlock passphrase screen opens the store instead.
//! Run by scripts/test.sh under Xvfb with a keyring session.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::App;
use fantoccini::Locator;

/// A session bus address nothing listens on: no keychain can be reached.
const NO_BUS: &str = "unix:path=/nonexistent/doorstep-test-bus";

/// Opens the first of today's jobs; returns its customer's name and phone.
async fn open_first_job(app: &App) -> (String, String) {
    app.click("job-tab-today").await;
    app.find("job-row").await.click().await.unwrap();
    let view = app.find("job-view").await;
    let name = view
        .find(Locator::Css("h2"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let phone = view
        .find(Locator::Css("a[href^='tel:']"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    (name, phone)
}

async fn stop_and_wait(app: App) {
    let data_dir = app.data_dir.clone();
    let pid = app.app_pid();
    app.stop().await;
    let deadline = Instant::now() + common::WAIT;
    while pid.is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists()) {
        assert!(
            Instant::now() < deadline,
            "the app exits on {}",
            data_dir.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The files under `dir` that contain `text`, by `grep -r`, as a person
/// would look.
fn grep(dir: &Path, text: &str) -> String {
    let out = Command::new("grep")
        .args(["-r", "-l", "-F", "-a", text])
        .arg(dir)
        .output()
        .expect("grep runs");
    assert!(
        out.status.code() != Some(2),
        "grep failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn assert_nothing_readable(data: &Path, name: &str, phone: &str) {
    assert!(
        !name.is_empty() && !phone.is_empty(),
        "the job shows its customer"
    );
    for text in [name, phone] {
        assert_eq!(
            grep(data, text),
            "",
            "no file under the data directory holds {text} in the clear"
        );
    }
    let out = Command::new("sqlite3")
        .arg(data.join("doorstep.sqlite3"))
        .arg("SELECT count(*) FROM customers")
        .output()
        .expect("the sqlite3 CLI runs (scripts/setup.sh installs it)");
    assert!(
        !out.status.success(),
        "sqlite3 cannot read the database without the key: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[tokio::test]
#[ignore = "needs a display, tauri-driver and a keyring: run by scripts/test.sh"]
async fn a_worked_job_leaves_no_customer_data_in_the_clear() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let app = App::start(&data).await;
    let (name, phone) = open_first_job(&app).await;

    app.click("step-phone").await;
    app.find("call-outcome")
        .await
        .select_by_value("booked")
        .await
        .unwrap();
    app.type_into("call-note", &format!("{name} 说上午在家,电话 {phone}"))
        .await;
    app.click("call-log-add").await;
    app.find("call-log-row").await;
    app.click("step-operate").await;
    for item in ["mat_cloth", "cover_cloth", "wiping_cloth", "shoe_covers"] {
        app.click(&format!("kit-{item}")).await;
    }
    app.wait_saved().await;
    app.click("step-evaluate").await;
    app.click("mot-2").await;
    app.type_into("opinion", "师傅很专业").await;
    app.wait_saved().await;
    app.draw_signature().await;
    app.click("signature-save").await;
    app.find("signature-image").await;
    stop_and_wait(app).await;

    assert_nothing_readable(&data, &name, &phone);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&data).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "the data directory is its owner's only");
    }

    // The key is in the keyring: a restart opens the worked job again.
    let app = App::start(&data).await;
    app.find("job-view").await;
    app.click("step-phone").await;
    app.find("call-log-row").await;
    stop_and_wait(app).await;
    doorstep_vault::forget_keychain_key(&data).unwrap();
}

#[tokio::test]
#[ignore = "needs a display and tauri-driver: run by scripts/test.sh"]
async fn without_a_keychain_an_unlock_passphrase_opens_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let no_keychain = [("DBUS_SESSION_BUS_ADDRESS", NO_BUS)];
    let passphrase = "门前的榕树 2026";

    let (app, _) = App::start_with_env(&data, &no_keychain).await;
    let screen = app.find("unlock-view").await;
    assert_eq!(
        screen.attr("data-code").await.unwrap().as_deref(),
        Some("no_keychain"),
        "the screen says no keychain answers"
    );
    let message = app.find("unlock-message").await.text().await.unwrap();
    assert!(
        message.contains("钥匙串"),
        "explained in Chinese first: {message}"
    );
    assert!(
        !data.join("doorstep.sqlite3").exists(),
        "nothing is written before there is a key"
    );
    app.type_into("unlock-passphrase", passphrase).await;
    app.type_into("unlock-confirm", passphrase).await;
    app.click("unlock-submit").await;
    let (name, phone) = open_first_job(&app).await;
    app.click("back-to-list").await;
    stop_and_wait(app).await;
    assert_nothing_readable(&data, &name, &phone);

    let (app, _) = App::start_with_env(&data, &no_keychain).await;
    app.find("unlock-view").await;
    assert!(
        app.all("unlock-confirm").await.is_empty(),
        "a set passphrase is asked once"
    );
    app.type_into("unlock-passphrase", "not the passphrase")
        .await;
    app.click("unlock-submit").await;
    let banner = app.find("error-banner").await;
    assert_eq!(
        banner.attr("data-code").await.unwrap().as_deref(),
        Some("wrong_key"),
        "a wrong passphrase is refused"
    );
    app.find("unlock-passphrase").await.clear().await.unwrap();
    app.type_into("unlock-passphrase", passphrase).await;
    app.click("unlock-submit").await;
    app.find("job-row").await;
    stop_and_wait(app).await;
}

#[tokio::test]
#[ignore = "needs a display, tauri-driver and a keyring: run by scripts/test.sh"]
async fn a_store_whose_key_is_lost_is_moved_aside_and_the_app_starts_again() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let app = App::start(&data).await;
    let (name, phone) = open_first_job(&app).await;
    app.click("back-to-list").await;
    stop_and_wait(app).await;
    let old = std::fs::read(data.join("doorstep.sqlite3")).unwrap();
    doorstep_vault::forget_keychain_key(&data).unwrap();

    let app = App::start(&data).await;
    let screen = app.find("unlock-view").await;
    assert_eq!(
        screen.attr("data-code").await.unwrap().as_deref(),
        Some("key_lost"),
        "the screen says the key is lost"
    );
    assert!(
        app.all("unlock-passphrase").await.is_empty(),
        "no passphrase can open a store whose key is lost"
    );
    app.click("unlock-start-again").await;
    let explained = app
        .find("unlock-start-again-explain")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        explained.contains("不会删除") && explained.contains("密钥"),
        "what starting again means is said first, in Chinese: {explained}"
    );
    app.click("unlock-start-again-confirm").await;
    let notice = app.find("sync-set-aside").await.text().await.unwrap();
    app.find("sync-enroll").await;
    stop_and_wait(app).await;

    let folders: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.is_dir())
        .collect();
    assert_eq!(folders.len(), 1, "one dated folder holds the old store");
    assert!(
        notice.contains(&*folders[0].to_string_lossy()),
        "the technician is told where: {notice}"
    );
    assert_eq!(
        std::fs::read(folders[0].join("doorstep.sqlite3")).unwrap(),
        old,
        "the unreadable store is kept as it was"
    );
    assert_nothing_readable(&data, &name, &phone);
    doorstep_vault::forget_keychain_key(&data).unwrap();
}
