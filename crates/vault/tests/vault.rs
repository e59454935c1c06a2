//! The store's key in the real OS keychain (scripts/test.sh starts a session
//! bus with gnome-keyring), and the passphrase where none can be reached.

use std::path::Path;
use std::process::Command;

use doorstep_core::{Customer, CustomerId, Job, JobId, JobStatus, JobType, SubCase, FIRST_VISIT};
use doorstep_store::StoreError;
use doorstep_vault::*;

const NO_BUS: &str = "unix:path=/nonexistent/doorstep-test-bus";

fn job() -> Job {
    let start = chrono::Utc::now();
    Job {
        id: JobId::new(),
        customer: Customer {
            id: CustomerId::new(),
            name: "郑丽华".into(),
            phone: "13705918866".into(),
            address: "福州市台江区八一七中路 8 号".into(),
            account_number: None,
        },
        job_type: JobType::Fault,
        sub_case: SubCase::Indoor,
        fault_description: "无信号".into(),
        window_start: start,
        window_end: start + chrono::Duration::hours(1),
        status: JobStatus::Scheduled,
        earlier_visits: Vec::new(),
        visit: FIRST_VISIT,
        repeat_of: None,
        reported_at: None,
        due_by: None,
    }
}

/// Runs the child test `name` of this binary with `dir` and extra variables;
/// returns its stdout, failing if the child failed.
fn child(name: &str, dir: &Path, env: &[(&str, &str)]) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env("DOORSTEP_VAULT_TEST_DIR", dir)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "child {name} failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn child_dir() -> Option<std::path::PathBuf> {
    std::env::var_os("DOORSTEP_VAULT_TEST_DIR").map(Into::into)
}

/// Child: opens the store with the keychain's key and stores a job.
#[test]
fn write_child() {
    let Some(dir) = child_dir() else { return };
    let mut store = open_with_keychain(&dir).expect("the keychain answers (run scripts/test.sh)");
    let job = job();
    store.upsert_jobs(std::slice::from_ref(&job)).unwrap();
    println!("job {}", job.id);
}

/// Child: a new process opens the same store and reads the job back.
#[test]
fn read_child() {
    let Some(dir) = child_dir() else { return };
    let id: JobId = std::env::var("DOORSTEP_VAULT_TEST_JOB")
        .unwrap()
        .parse()
        .unwrap();
    let store = open_with_keychain(&dir).expect("the key is found again after a restart");
    println!("customer {}", store.visit(id).unwrap().job.customer.name);
}

/// Child: no keychain reachable (no session bus).
#[test]
fn no_keychain_child() {
    let Some(dir) = child_dir() else { return };
    match open_with_keychain(&dir) {
        Err(VaultError::NoKeychain(_)) => println!("no keychain"),
        other => println!("unexpected: {:?}", other.map(|_| ())),
    }
}

#[test]
fn the_key_survives_a_restart_in_the_real_keychain() {
    let dir = tempfile::tempdir().unwrap();
    let out = child("write_child", dir.path(), &[]);
    let id = out
        .lines()
        // libtest prints "test write_child ... " before the child's line.
        .find_map(|l| l.split_once("job ").map(|(_, id)| id.trim()))
        .expect("the first process stored a job");
    let out = child("read_child", dir.path(), &[("DOORSTEP_VAULT_TEST_JOB", id)]);
    assert!(
        out.contains("customer 郑丽华"),
        "a second process reads the store with the key the first one kept: {out}"
    );
    assert!(
        !std::fs::read(dir.path().join(STORE_FILE))
            .unwrap()
            .starts_with(b"SQLite format 3"),
        "the store is encrypted"
    );
    forget_keychain_key(dir.path()).unwrap();
    assert!(
        matches!(keychain_key(dir.path()), Err(VaultError::KeyLost)),
        "with its key gone, the store is reported lost, not replaced by a new key"
    );
}

#[test]
fn each_data_directory_has_its_own_key() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let key_a = keychain_key(a.path()).expect("the keychain answers (run scripts/test.sh)");
    let key_b = keychain_key(b.path()).unwrap();
    assert_ne!(key_a, key_b, "two data directories never share a key");
    assert_eq!(
        keychain_key(a.path()).unwrap(),
        key_a,
        "asking again returns the kept key"
    );
    forget_keychain_key(a.path()).unwrap();
    forget_keychain_key(b.path()).unwrap();
}

#[test]
fn without_a_keychain_a_passphrase_unlocks_and_nothing_is_plain() {
    let dir = tempfile::tempdir().unwrap();
    let out = child(
        "no_keychain_child",
        dir.path(),
        &[("DBUS_SESSION_BUS_ADDRESS", NO_BUS)],
    );
    assert!(
        out.contains("no keychain"),
        "with no session bus the keychain is unreachable, said so: {out}"
    );
    assert!(
        !dir.path().join(STORE_FILE).exists(),
        "nothing is written before a key is there"
    );
    assert!(
        matches!(
            open_with_passphrase(dir.path(), "short"),
            Err(VaultError::WeakPassphrase)
        ),
        "a new passphrase has at least 8 characters"
    );
    let mut store = open_with_passphrase(dir.path(), "门口的猫很乖 2026").unwrap();
    let job = job();
    store.upsert_jobs(std::slice::from_ref(&job)).unwrap();
    drop(store);
    assert!(uses_passphrase(dir.path()));
    assert!(
        matches!(
            open_with_keychain(dir.path()),
            Err(VaultError::PassphraseNeeded)
        ),
        "a passphrase store is never given a keychain key"
    );
    assert!(
        matches!(
            open_with_passphrase(dir.path(), "wrong passphrase"),
            Err(VaultError::Store(StoreError::WrongKey))
        ),
        "a wrong passphrase opens nothing"
    );
    let store = open_with_passphrase(dir.path(), "门口的猫很乖 2026").unwrap();
    assert_eq!(store.visit(job.id).unwrap().job.customer.name, "郑丽华");
    let bytes = std::fs::read(dir.path().join(STORE_FILE)).unwrap();
    assert!(
        !bytes.windows(6).any(|w| w == "郑丽".as_bytes()),
        "the passphrase store is encrypted"
    );
}

#[cfg(unix)]
#[test]
fn the_data_directory_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("data");
    create_data_dir(&dir).unwrap();
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "others cannot list or read the data directory");
}

/// The folders `set_aside_and_start_again` made in `dir`.
fn set_aside_folders(dir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.is_dir())
        .collect()
}

#[test]
fn a_store_whose_key_is_lost_is_moved_aside_kept_and_a_new_one_made() {
    let dir = tempfile::tempdir().unwrap();
    let mut store =
        open_with_keychain(dir.path()).expect("the keychain answers (run scripts/test.sh)");
    store.upsert_jobs(&[job()]).unwrap();
    drop(store);
    let old_bytes = std::fs::read(dir.path().join(STORE_FILE)).unwrap();
    // As a crash would leave them: its WAL and shared memory beside it.
    for (suffix, bytes) in [("-wal", b"wal"), ("-shm", b"shm")] {
        std::fs::write(dir.path().join(format!("{STORE_FILE}{suffix}")), bytes).unwrap();
    }
    forget_keychain_key(dir.path()).unwrap();
    let lost = open_with_keychain(dir.path()).map(|_| ()).unwrap_err();
    assert!(matches!(lost, VaultError::KeyLost));
    assert!(
        may_set_aside(dir.path(), &lost),
        "a store whose key is lost may be moved aside"
    );

    let now = chrono::DateTime::parse_from_rfc3339("2026-12-02T13:30:05Z")
        .unwrap()
        .to_utc();
    let (store, folder) = set_aside_and_start_again(dir.path(), now).unwrap();
    assert_eq!(store.job_count().unwrap(), 0, "the new store starts empty");
    drop(store);
    assert_eq!(folder, dir.path().join("unreadable-20261202-133005"));
    assert_eq!(
        std::fs::read(folder.join(STORE_FILE)).unwrap(),
        old_bytes,
        "the unreadable file is kept as it was, never deleted"
    );
    for (suffix, bytes) in [("-wal", b"wal"), ("-shm", b"shm")] {
        let name = format!("{STORE_FILE}{suffix}");
        assert_eq!(
            std::fs::read(folder.join(&name)).unwrap(),
            bytes,
            "its {suffix} goes with it"
        );
        assert!(
            !dir.path().join(&name).exists(),
            "no stale {suffix} is left beside the new store"
        );
    }
    let reopened = open_with_keychain(dir.path()).expect("the new store opens at the next start");
    assert_eq!(reopened.job_count().unwrap(), 0);
    drop(reopened);

    // A second time in the same second gets a folder of its own.
    forget_keychain_key(dir.path()).unwrap();
    let (_, again) = set_aside_and_start_again(dir.path(), now).unwrap();
    assert_ne!(again, folder);
    assert_eq!(set_aside_folders(dir.path()).len(), 2);
    forget_keychain_key(dir.path()).unwrap();
}

#[test]
fn a_store_the_keychains_key_does_not_open_keeps_that_key_and_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let kept_key = keychain_key(dir.path()).expect("the keychain answers (run scripts/test.sh)");
    // A store made with another key: the keychain's key does not open it.
    let its_key = doorstep_store::StoreKey::from_bytes([0x77; 32]);
    let job = job();
    doorstep_store::Store::open(&dir.path().join(STORE_FILE), &its_key)
        .unwrap()
        .upsert_jobs(std::slice::from_ref(&job))
        .unwrap();
    let refused = open_with_keychain(dir.path()).map(|_| ()).unwrap_err();
    assert!(matches!(refused, VaultError::Store(StoreError::WrongKey)));
    assert!(may_set_aside(dir.path(), &refused));

    let (_, folder) = set_aside_and_start_again(dir.path(), chrono::Utc::now()).unwrap();
    assert_eq!(
        keychain_key(dir.path()).unwrap(),
        kept_key,
        "the keychain's key stays: if the file was damaged, it is what recovers it"
    );
    let recovered = doorstep_store::Store::open(&folder.join(STORE_FILE), &its_key)
        .expect("with its key, an operator opens the file that was moved aside");
    assert_eq!(
        recovered.visit(job.id).unwrap().job.customer.name,
        "郑丽华",
        "nothing in it was lost"
    );
    forget_keychain_key(dir.path()).unwrap();
}

#[test]
fn a_passphrase_store_is_never_moved_aside() {
    let dir = tempfile::tempdir().unwrap();
    drop(open_with_passphrase(dir.path(), "门口的猫很乖 2026").unwrap());
    let wrong = open_with_passphrase(dir.path(), "wrong passphrase")
        .map(|_| ())
        .unwrap_err();
    assert!(
        !may_set_aside(dir.path(), &wrong),
        "a wrong passphrase is typed again, not a reason to start over"
    );
    assert!(matches!(
        set_aside_and_start_again(dir.path(), chrono::Utc::now()),
        Err(VaultError::PassphraseNeeded)
    ));
    assert!(dir.path().join(STORE_FILE).exists());
}
