//! The store encrypted at rest: plaintext stores from before encryption are
//! converted with every row, a kill at any moment of the conversion loses
//! nothing, and no file beside the store holds customer data in the clear.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{FixedOffset, NaiveDate, Utc};
use doorstep_core::change::Change;
use doorstep_core::media::CleanImage;
use doorstep_core::*;
use doorstep_store::{connect, demo::demo_jobs, JobFilter, Store, StoreError, StoreKey, Tab};
use rusqlite::{types::Value, Connection, OpenFlags};

const KEY: StoreKey = StoreKey::from_bytes([0x3c; 32]);
const NAME: &str = "林秋萍";
const PHONE: &str = "13959107788";

/// `copies` rounds of the demo set, the first job worked: calls, a kit, a
/// signature.
fn worked_store(path: &Path, copies: i64) -> Store {
    let mut store = Store::open(path, &KEY).unwrap();
    let zone = FixedOffset::east_opt(8 * 3600).unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let mut jobs = Vec::new();
    for day in 0..copies {
        jobs.extend(demo_jobs(today + chrono::Duration::days(day), zone));
    }
    jobs[0].customer.name = NAME.into();
    jobs[0].customer.phone = PHONE.into();
    store.upsert_jobs(&jobs).unwrap();
    let now = Utc::now();
    let id = jobs[0].id;
    store
        .apply(
            id,
            &Change::LogCall(CallLog {
                id: RecordId::new(),
                at: now,
                outcome: CallOutcome::Booked,
                note: format!("{NAME} 上午在家"),
                duration_seconds: None,
            }),
            now,
        )
        .unwrap();
    let png = CleanImage {
        bytes: vec![0x89, b'P', b'N', b'G', 7, 7, 7],
        width: 10,
        height: 10,
    };
    store.sign(id, &png, "[]", now).unwrap();
    store
}

/// Writes `store`'s rows out as a plaintext file, as the release before
/// encryption kept them (same migrations, same rows), in WAL mode.
fn previous_release_copy(store_path: &Path, plain: &Path) {
    let conn = connect(store_path, &KEY, OpenFlags::default()).unwrap();
    conn.execute_batch(&format!(
        "ATTACH DATABASE '{}' AS plain KEY '';
         SELECT sqlcipher_export('plain');
         PRAGMA plain.user_version = {};
         DETACH DATABASE plain;",
        plain.display(),
        conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
            .unwrap()
    ))
    .unwrap();
    Connection::open(plain)
        .unwrap()
        .execute_batch("PRAGMA journal_mode = WAL;")
        .unwrap();
}

/// Every row of every table, in a stable order, with the schema version.
fn dump(conn: &Connection) -> Vec<String> {
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = vec![format!(
        "user_version {}",
        conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
            .unwrap()
    )];
    for table in tables {
        let mut statement = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let columns = statement.column_count();
        let mut rows: Vec<String> = statement
            .query_map([], |row| {
                let values: Vec<Value> =
                    (0..columns).map(|i| row.get(i)).collect::<Result<_, _>>()?;
                Ok(format!("{table} {values:?}"))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        rows.sort();
        out.extend(rows);
    }
    out
}

fn is_plain(path: &Path) -> bool {
    std::fs::read(path)
        .unwrap()
        .starts_with(b"SQLite format 3\0")
}

/// Whether `needle` appears in any file under `dir`.
fn found_in_files(dir: &Path, needle: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|entry| {
            let bytes = std::fs::read(entry.path()).unwrap_or_default();
            bytes
                .windows(needle.len())
                .any(|window| window == needle.as_bytes())
        })
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn a_store_of_the_previous_release_is_encrypted_with_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.sqlite3");
    drop(worked_store(&source, 1));
    let path = dir.path().join("doorstep.sqlite3");
    previous_release_copy(&source, &path);
    let before = dump(&Connection::open(&path).unwrap());
    assert!(
        before.len() > 30,
        "the demo set and the worked job are there"
    );

    // The release before ran WAL, and a kill leaves rows only in the WAL:
    // copy the file and its WAL while a connection holds them so.
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(
        "PRAGMA wal_autocheckpoint = 0;
         INSERT INTO settings (key, value) VALUES ('only_in_the_wal', '1');",
    )
    .unwrap();
    let before = dump(&conn);
    let killed = dir.path().join("killed.sqlite3");
    std::fs::copy(&path, &killed).unwrap();
    std::fs::copy(
        format!("{}-wal", path.display()),
        format!("{}-wal", killed.display()),
    )
    .unwrap();
    drop(conn);
    std::fs::remove_file(&path).unwrap();
    std::fs::rename(&killed, &path).unwrap();
    std::fs::rename(
        format!("{}-wal", killed.display()),
        format!("{}-wal", path.display()),
    )
    .unwrap();

    let store = Store::open(&path, &KEY).expect("a plaintext store is converted on open");
    drop(store);
    assert!(!is_plain(&path), "the file is encrypted now");
    let after = dump(&connect(&path, &KEY, OpenFlags::default()).unwrap());
    assert_eq!(before, after, "every row and the schema version survive");
    assert_eq!(
        found_in_files(dir.path(), NAME),
        Vec::<String>::new(),
        "no plaintext copy of the customer is left beside the store (WAL included)"
    );
    assert!(
        Connection::open(&path)
            .unwrap()
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r
                .get::<_, i64>(0))
            .is_err(),
        "plain SQLite cannot read the converted file"
    );
}

#[test]
fn a_wrong_key_opens_nothing_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doorstep.sqlite3");
    drop(worked_store(&path, 1));
    let bytes = std::fs::read(&path).unwrap();
    let other = StoreKey::generate().unwrap();
    assert!(
        matches!(Store::open(&path, &other), Err(StoreError::WrongKey)),
        "another key does not open the store"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        bytes,
        "a refused key writes nothing"
    );
}

#[test]
fn no_file_beside_an_open_store_holds_customer_data_in_the_clear() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doorstep.sqlite3");
    let store = worked_store(&path, 1);
    // While the store is open, its last commits sit in the WAL.
    assert!(
        std::fs::metadata(format!("{}-wal", path.display()))
            .unwrap()
            .len()
            > 0,
        "the WAL is in use"
    );
    let _reader = store.blob_reader().unwrap();
    // The search index holds the customer's name in its terms, inside the
    // encrypted file: SQLite keeps it in tables of the store, and no file
    // of its own appears beside it.
    let filter = JobFilter {
        tab: Tab::Today,
        query: NAME.into(),
    };
    let now = Utc::now();
    assert_eq!(
        store.list_jobs(&filter, now, now, None).unwrap().jobs.len(),
        1
    );
    let indexed: i64 = connect(&path, &KEY, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM job_search WHERE job_search MATCH ?1",
            [format!("\"{NAME}\"")],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(indexed, 1, "the index holds the name");
    let mut files: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "doorstep.sqlite3",
            "doorstep.sqlite3-shm",
            "doorstep.sqlite3-wal"
        ],
        "the database, its WAL and shared memory, nothing else"
    );
    for needle in [NAME, PHONE, "上午在家", "鼓楼区"] {
        assert_eq!(
            found_in_files(dir.path(), needle),
            Vec::<String>::new(),
            "{needle} is in no file: the database, its WAL and -shm are encrypted"
        );
    }
}

/// The child half of the kill test: opens (and so converts) the store named
/// in the environment, saying when it starts and when it is done.
#[test]
fn seal_child() {
    let Ok(path) = std::env::var("DOORSTEP_SEAL_TEST_DB") else {
        return;
    };
    println!("opening");
    Store::open(Path::new(&path), &KEY).unwrap();
    println!("opened");
}

/// Starts the child on `path`; kills it `after` its "opening" line (or lets
/// it finish when `after` is None) and returns how long it ran.
fn run_child(path: &Path, after: Option<Duration>) -> Duration {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "seal_child", "--nocapture", "--test-threads=1"])
        .env("DOORSTEP_SEAL_TEST_DB", path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // libtest prints "test seal_child ... " just before the child's first line.
    while !lines.next().unwrap().unwrap().ends_with("opening") {}
    let started = Instant::now();
    match after {
        Some(delay) => {
            std::thread::sleep(delay);
            child.kill().unwrap(); // SIGKILL on Unix: no chance to clean up
        }
        None => while !lines.next().unwrap().unwrap().ends_with("opened") {},
    }
    child.wait().unwrap();
    started.elapsed()
}

#[test]
fn sigkill_at_any_moment_of_the_conversion_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.sqlite3");
    drop(worked_store(&source, 150)); // about 4,500 jobs: a conversion that takes a while
    let plain = dir.path().join("plain.sqlite3");
    previous_release_copy(&source, &plain);
    let expected = dump(&Connection::open(&plain).unwrap());

    // How long one whole conversion takes, child start included.
    let path = dir.path().join("doorstep.sqlite3");
    std::fs::copy(&plain, &path).unwrap();
    let whole = run_child(&path, None);
    assert!(
        !is_plain(&path),
        "an uninterrupted child converts the store"
    );

    // Kill children at points spread over that time, each time on the
    // file as the last kill left it; it must always hold every row.
    std::fs::remove_file(&path).unwrap();
    std::fs::copy(&plain, &path).unwrap();
    let (mut seen_plain_after_kill, mut seen_encrypted_after_kill) = (0, 0);
    // A spread with jitter over 0%..120% of the whole run; then, since a
    // loaded machine can run slower than it did when timed, later and later
    // kills until one has landed after the rename too (at most 16 more).
    for step in 0..32u32 {
        if step >= 16 && seen_encrypted_after_kill > 0 && seen_plain_after_kill > 0 {
            break;
        }
        let fraction = if step < 16 {
            (step as f64 + 0.37 * ((step * 7919) % 11) as f64 / 11.0) / 13.0
        } else {
            1.2 + 0.25 * (step - 15) as f64
        };
        run_child(&path, Some(whole.mul_f64(fraction)));
        let rows = if is_plain(&path) {
            // The next child starts from what this kill left.
            seen_plain_after_kill += 1;
            dump(&Connection::open(&path).unwrap())
        } else {
            seen_encrypted_after_kill += 1;
            let rows = dump(&connect(&path, &KEY, OpenFlags::default()).unwrap());
            // Back to the plain original, so later kills hit a conversion.
            for file in std::fs::read_dir(dir.path()).unwrap().flatten() {
                if file.file_name().to_string_lossy().starts_with("doorstep.") {
                    std::fs::remove_file(file.path()).unwrap();
                }
            }
            std::fs::copy(&plain, &path).unwrap();
            rows
        };
        assert_eq!(
            rows, expected,
            "after a kill at {fraction:.2} of the conversion the store holds every row"
        );
    }
    assert!(
        seen_plain_after_kill > 0 && seen_encrypted_after_kill > 0,
        "kills landed both before and after the conversion's rename \
         ({seen_plain_after_kill} before, {seen_encrypted_after_kill} after)"
    );
    let store = Store::open(&path, &KEY).expect("the next start finishes the conversion");
    drop(store);
    assert_eq!(
        dump(&connect(&path, &KEY, OpenFlags::default()).unwrap()),
        expected,
        "and then every row is there, encrypted"
    );
}
