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
        },
        job_type: JobType::Fault,
        sub_case: SubCase::Indoor,
        fault_description: "无信号".into(),
        window_start: start,
        window_end: start + chrono::Duration::hours(1),
        status: JobStatus::Scheduled,
        earlier_visits: Vec::new(),
        visit: FIRST_VISIT,
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
