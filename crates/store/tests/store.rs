//! The store against a real SQLite file in a temporary directory.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};
use doorstep_core::change::Change;
use doorstep_core::media::CleanImage;
use doorstep_core::signature::signature_is_valid;
use doorstep_core::*;
use doorstep_store::{migrations, JobFilter, OutboxSize, Store, StoreKey, Tab};
use rusqlite::{Connection, OpenFlags};

/// One key for every store these tests open; the keychain's part is tested
/// in doorstep-vault.
const KEY: StoreKey = StoreKey::from_bytes([0x5a; 32]);

fn open(path: &std::path::Path) -> Store {
    Store::open(path, &KEY).expect("the store opens with its key")
}

/// A second connection to the encrypted file, as the tests' own eyes.
fn raw(path: &std::path::Path) -> Connection {
    doorstep_store::connect(path, &KEY, OpenFlags::default()).unwrap()
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn job(name: &str, phone: &str, start: &str, status: JobStatus) -> Job {
    let start = at(start);
    Job {
        id: JobId::new(),
        customer: Customer {
            id: CustomerId::new(),
            name: name.into(),
            phone: phone.into(),
            address: format!("{name}家,福州市鼓楼区五四路1号"),
            account_number: None,
        },
        job_type: JobType::Fault,
        sub_case: SubCase::Indoor,
        fault_description: "无信号".into(),
        window_start: start,
        window_end: start + Duration::hours(1),
        status,
        earlier_visits: vec![EarlierVisit {
            date: NaiveDate::from_ymd_opt(2026, 5, 1).unwrap(),
            summary: "重做 F 头".into(),
        }],
        visit: 1,
        repeat_of: None,
        reported_at: None,
        due_by: None,
    }
}

fn outbox_len(dir: &std::path::Path) -> i64 {
    raw(&dir.join("db"))
        .query_row("SELECT count(*) FROM outbox", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn migrates_from_empty_and_from_every_earlier_version() {
    let dir = tempfile::tempdir().unwrap();
    migrations()
        .validate()
        .expect("the migrations are well-formed");
    let store = open(&dir.path().join("db"));
    assert!(store.schema_version().unwrap() >= 1);

    // An older file with rows in it, plain as every release before
    // encryption wrote it, is encrypted and upgraded without losing them.
    let total: usize = store.schema_version().unwrap() as usize;
    for version in 1..=total {
        let path = dir.path().join(format!("v{version}.db"));
        let mut conn = Connection::open(&path).unwrap();
        migrations()
            .to_version(&mut conn, version)
            .expect("every earlier version is reachable");
        conn.execute(
            "INSERT INTO customers (id, name, phone, address) VALUES ('c', '王', '1', '厦门')",
            [],
        )
        .unwrap();
        drop(conn);
        let upgraded = open(&path);
        assert_eq!(upgraded.schema_version().unwrap() as usize, total);
        let kept: i64 = raw(&path)
            .query_row("SELECT count(*) FROM customers", [], |r| r.get(0))
            .unwrap();
        assert_eq!(kept, 1, "upgrading from v{version} keeps its rows");
    }
}

/// Outbox rows as any schema version holds them; `sent` is the old
/// per-entry `sent_at` (version 3 and before).
fn insert_outbox(conn: &Connection, seqs: std::ops::RangeInclusive<i64>, sent: &[(i64, &str)]) {
    let job = JobId::new();
    for seq in seqs {
        conn.execute(
            "INSERT INTO outbox (seq, op_id, job_id, kind, payload, device_time)
             VALUES (?1, ?2, ?3, 'complete', '\"complete\"', '2026-11-23T01:00:00Z')",
            rusqlite::params![seq, format!("op{seq}"), job.to_string()],
        )
        .unwrap();
    }
    for (seq, at) in sent {
        conn.execute(
            "UPDATE outbox SET sent_at = ?2 WHERE seq = ?1",
            rusqlite::params![seq, at],
        )
        .unwrap();
    }
}

fn pending_seqs(store: &Store) -> Vec<i64> {
    store
        .pending_outbox()
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect()
}

#[test]
fn hq_acknowledges_a_prefix_of_the_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    drop(open(&path));
    insert_outbox(&raw(&path), 1..=5, &[]);
    let mut store = open(&path);
    assert_eq!(pending_seqs(&store), [1, 2, 3, 4, 5]);

    let now = at("2026-11-23T02:00:00Z");
    store.mark_sent_through(2, &now).unwrap();
    assert_eq!(pending_seqs(&store), [3, 4, 5]);
    store.mark_sent_through(1, &now).unwrap();
    assert_eq!(
        pending_seqs(&store),
        [3, 4, 5],
        "an older answer changes nothing"
    );
    let answer = doorstep_core::wire::PushResponse {
        applied_through_seq: 4,
        receipts: Vec::new(),
        conflicts: Vec::new(),
    };
    store.record_push(&answer, &now).unwrap();
    assert_eq!(pending_seqs(&store), [5]);
    assert_eq!(store.outbox_batch(0, 10).unwrap().len(), 1);
    assert_eq!(store.pending_outbox_size().unwrap().entries, 1);
    assert_eq!(store.sync_counts().unwrap().pending_changes, 1);
    assert_eq!(outbox_len(dir.path()), 5, "acknowledged entries are kept");
}

#[test]
fn entries_acknowledged_before_the_upgrade_stay_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v3.db");
    let mut conn = Connection::open(&path).unwrap();
    migrations().to_version(&mut conn, 3).unwrap();
    let (t1, t2) = ("2026-11-23T02:00:00Z", "2026-11-23T03:00:00Z");
    insert_outbox(&conn, 1..=5, &[(1, t1), (2, t1), (3, t2)]);
    drop(conn);

    let store = open(&path);
    assert_eq!(
        pending_seqs(&store),
        [4, 5],
        "entries sent before stay sent"
    );
    let acks: Vec<(i64, String)> = raw(&path)
        .prepare("SELECT through_seq, acked_at FROM outbox_acks ORDER BY through_seq")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        acks,
        [(2, t1.to_string()), (3, t2.to_string())],
        "and when HQ acknowledged them is kept"
    );
}

#[test]
fn a_visit_round_trips_through_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let mut store = open(&path);
    let dispatched = job(
        "林建华",
        "18913909960",
        "2026-11-23T01:00:00Z",
        JobStatus::Scheduled,
    );
    store
        .upsert_jobs(std::slice::from_ref(&dispatched))
        .unwrap();
    let now = at("2026-11-23T00:50:00Z");
    let changes = vec![
        Change::SetStep(Step::Operate),
        Change::LogCall(CallLog {
            id: RecordId::new(),
            at: now,
            outcome: CallOutcome::Booked,
            note: "客户说“上午都在家”😀".into(),
            duration_seconds: None,
        }),
        Change::SaveKit(KitCheck {
            mat_cloth: true,
            cover_cloth: true,
            wiping_cloth: true,
            shoe_covers: true,
            missing_reason: String::new(),
        }),
        Change::SaveWork(Work {
            replacement: true,
            description: "更换机顶盒".into(),
            ..Work::default()
        }),
        Change::AddReplacement(Replacement {
            id: RecordId::new(),
            item: ReplacedItem::SetTopBox,
            old_serial: "STB-OLD-1".into(),
            new_serial: "STB-NEW-2".into(),
            told_in_advance: true,
            consent: true,
        }),
        Change::SetFees(vec![FeeLine {
            code: "remote".into(),
            quantity: 1,
            priced: Some(legacy_price_list().item("remote").unwrap().priced_at(1)),
        }]),
        Change::AddLead(Lead {
            id: RecordId::new(),
            product: "高清互动".into(),
            interest: Interest::Interested,
            note: String::new(),
            follow_up_at: DateTime::parse_from_rfc3339("2026-11-30T10:00:00+08:00").ok(),
            contacts: vec![],
        }),
    ];
    let mut expected = None;
    for change in &changes {
        expected = Some(store.apply(dispatched.id, change, now).unwrap());
    }
    let png = CleanImage {
        bytes: vec![0x89, b'P', b'N', b'G', 1, 2, 3],
        width: 120,
        height: 40,
    };
    let signed = store
        .sign(dispatched.id, &png, r#"[{"points":[]}]"#, now)
        .unwrap();
    assert!(
        signature_is_valid(&signed),
        "signed against the stored form"
    );
    drop(store);

    let reopened = open(&path);
    let visit = reopened.visit(dispatched.id).unwrap();
    assert_eq!(visit, signed, "everything reads back exactly as written");
    assert_eq!(visit.job.earlier_visits, dispatched.earlier_visits);
    assert_eq!(visit.step, Step::Operate);
    assert_eq!(visit.job.status, JobStatus::InProgress);
    assert_ne!(Some(&visit), expected.as_ref(), "the signature came after");
    let signature = visit.signature.unwrap();
    let blob = reopened.blob(&signature.png_hash).unwrap();
    assert_eq!(blob.bytes, png.bytes);
    let asked = [signature.strokes_hash.clone(), signature.png_hash.clone()];
    assert_eq!(
        reopened.blob_reader().unwrap().blobs(&asked).unwrap(),
        vec![br#"[{"points":[]}]"#.to_vec(), png.bytes.clone()],
        "read together, in the order asked"
    );
    assert!(matches!(
        reopened
            .blob_reader()
            .unwrap()
            .blobs(&[signature.png_hash, "0".repeat(64)]),
        Err(doorstep_store::StoreError::NotFound(hash)) if hash == "0".repeat(64)
    ));
}

#[test]
fn the_signed_feedback_binds_and_a_signature_over_another_form_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let mut store = open(&path);
    let dispatched = job(
        "郑志强",
        "13905910001",
        "2026-11-23T01:00:00Z",
        JobStatus::Scheduled,
    );
    store
        .upsert_jobs(std::slice::from_ref(&dispatched))
        .unwrap();
    let now = at("2026-11-23T00:50:00Z");
    let feedback = |mot| {
        Change::SaveFeedback(Feedback {
            mot: Some(mot),
            opinion: "满意".into(),
        })
    };
    store.apply(dispatched.id, &feedback(2), now).unwrap();
    let png = CleanImage {
        bytes: vec![0x89, b'P', b'N', b'G', 4, 5, 6],
        width: 120,
        height: 40,
    };
    let signed = store.sign(dispatched.id, &png, "[]", now).unwrap();
    assert!(signature_is_valid(&signed), "signed over the stored form");

    let rescored = store.apply(dispatched.id, &feedback(-2), now).unwrap();
    assert!(
        !signature_is_valid(&rescored),
        "the customer signed a score of +2, not -2"
    );
    drop(store);
    let mut store = open(&path);
    assert!(
        !signature_is_valid(&store.visit(dispatched.id).unwrap()),
        "read back from the file, the signature is still outdated"
    );

    let queued = store.pending_outbox().unwrap().len();
    let refused = store.apply(
        dispatched.id,
        &Change::Sign(signed.signature.clone().unwrap()),
        now,
    );
    assert_eq!(
        refused.unwrap_err().code(),
        "signature_mismatch",
        "an old signature cannot be put back over the changed score"
    );
    assert_eq!(
        store.pending_outbox().unwrap().len(),
        queued,
        "a refused signature queues nothing"
    );
    assert_eq!(
        store.visit(dispatched.id).unwrap(),
        rescored,
        "and changes nothing"
    );
}

#[test]
fn every_change_has_one_outbox_entry_and_a_refused_change_has_none() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir.path().join("db"));
    let dispatched = job(
        "黄秀英",
        "13800000000",
        "2026-11-23T01:00:00Z",
        JobStatus::Scheduled,
    );
    store
        .upsert_jobs(std::slice::from_ref(&dispatched))
        .unwrap();
    let now = at("2026-11-23T00:50:00Z");
    store
        .apply(
            dispatched.id,
            &Change::SaveFeedback(Feedback {
                mot: Some(1),
                opinion: "好".into(),
            }),
            now,
        )
        .unwrap();
    let refused = store.apply(
        dispatched.id,
        &Change::SaveWork(Work {
            indoor: true,
            description: "x".into(),
            ..Work::default()
        }),
        now,
    );
    assert_eq!(refused.unwrap_err().code(), "kit_incomplete");
    let refused = store.apply(dispatched.id, &Change::Complete, now);
    assert_eq!(refused.unwrap_err().code(), "incomplete");

    let pending = store.pending_outbox().unwrap();
    assert_eq!(
        pending.len(),
        1,
        "only the accepted change is queued: {pending:?}"
    );
    assert_eq!(pending[0].kind, "save_feedback");
    assert_eq!(
        store.pending_outbox_size().unwrap(),
        OutboxSize {
            entries: 1,
            payload_bytes: pending[0].payload.len() as u64,
        },
        "bytes, not characters: the opinion is Chinese"
    );
    assert_eq!(
        store.pending_payloads_of(&["save_feedback"]).unwrap(),
        vec![(pending[0].seq, pending[0].payload.clone())]
    );
    assert!(store.pending_payloads_of(&["sign"]).unwrap().is_empty());
    let replayed: Change = serde_json::from_str(&pending[0].payload).unwrap();
    assert!(matches!(replayed, Change::SaveFeedback(ref f) if f.mot == Some(1)));
    assert_eq!(outbox_len(dir.path()), 1);
    assert_eq!(
        store.visit(dispatched.id).unwrap().feedback.mot,
        Some(1),
        "what was saved before the refusals stays saved"
    );
}

/// Arrival recorded twice keeps the first time: the store writes the
/// section core kept (the first time and the correction log), not the body
/// the second change carried, so the first time survives a reopen; the
/// outbox holds each change as made, which HQ replays to the same section.
#[test]
fn a_second_arrival_is_kept_as_a_correction_across_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let mut store = open(&path);
    let dispatched = job(
        "林建华",
        "18913909960",
        "2026-11-23T01:00:00Z",
        JobStatus::Scheduled,
    );
    store
        .upsert_jobs(std::slice::from_ref(&dispatched))
        .unwrap();
    let first = at("2026-11-23T01:04:00Z");
    let proposed = at("2026-11-23T00:55:00Z");
    let corrected_at = at("2026-11-23T01:10:00Z");
    for (arrived_at, now) in [(first, first), (proposed, corrected_at)] {
        let arrival = Arrival {
            arrived_at: Some(arrived_at),
            badge_shown: true,
            ..Arrival::default()
        };
        store
            .apply(dispatched.id, &Change::SaveArrival(arrival), now)
            .unwrap();
    }
    drop(store);
    let store = open(&path);
    let arrival = store.visit(dispatched.id).unwrap().arrival;
    assert_eq!(arrival.arrived_at, Some(first));
    assert_eq!(
        arrival.corrections,
        vec![ArrivalCorrection {
            proposed,
            at: corrected_at,
        }]
    );
    let sent = store.pending_payloads_of(&["save_arrival"]).unwrap();
    assert_eq!(sent.len(), 2, "both recordings go to HQ as made");
}

#[test]
fn lists_by_tab_and_searches_name_address_and_phone() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir.path().join("db"));
    let tomorrow = at("2026-11-24T00:00:00+08:00");
    let today = job(
        "陈美玲",
        "13581590830",
        "2026-11-23T09:00:00+08:00",
        JobStatus::Scheduled,
    );
    let overdue = job(
        "郑国平",
        "13500000001",
        "2026-11-22T15:00:00+08:00",
        JobStatus::InProgress,
    );
    let later = job(
        "吴丽娟",
        "13900000002",
        "2026-11-25T09:00:00+08:00",
        JobStatus::Scheduled,
    );
    let done = job(
        "张志强",
        "13700000003",
        "2026-11-21T09:00:00+08:00",
        JobStatus::Completed,
    );
    store
        .upsert_jobs(&[today.clone(), overdue.clone(), later.clone(), done.clone()])
        .unwrap();
    // Late morning of the 23rd: today's 09:00-10:00 job has passed its window too.
    let now = at("2026-11-23T11:00:00+08:00");
    let listed = |tab: Tab, query: &str| {
        store
            .list_jobs(
                &JobFilter {
                    tab,
                    query: query.into(),
                },
                tomorrow,
                now,
                None,
            )
            .unwrap()
            .jobs
    };
    let ids = |tab: Tab, query: &str| -> Vec<JobId> {
        listed(tab, query).into_iter().map(|j| j.id).collect()
    };
    assert_eq!(
        ids(Tab::Today, ""),
        vec![overdue.id, today.id],
        "overdue first, then today"
    );
    // Each row says whether it is overdue (the rule is core's
    // `is_overdue`): open and past its window, never a closed or later job.
    let overdue_of = |tab: Tab| -> Vec<(JobId, bool)> {
        listed(tab, "")
            .into_iter()
            .map(|j| (j.id, j.overdue))
            .collect()
    };
    assert_eq!(
        overdue_of(Tab::Today),
        vec![(overdue.id, true), (today.id, true)]
    );
    assert_eq!(overdue_of(Tab::Upcoming), vec![(later.id, false)]);
    assert_eq!(overdue_of(Tab::Done), vec![(done.id, false)]);
    assert_eq!(ids(Tab::Upcoming, ""), vec![later.id]);
    assert_eq!(ids(Tab::Done, ""), vec![done.id]);
    assert_eq!(
        ids(Tab::Today, "丽娟"),
        vec![later.id],
        "search covers every tab"
    );
    assert_eq!(ids(Tab::Done, "13581590830"), vec![today.id], "by phone");
    assert_eq!(ids(Tab::Done, "张志强家"), vec![done.id], "by address");
    assert!(
        ids(Tab::Today, "%").is_empty(),
        "LIKE wildcards are plain text"
    );
}

/// A list never stops silently: 450 jobs due today (many sharing a start
/// time, as a day's slots do) come in pages of 200, 200 and 50, each job
/// exactly once, in order; a search pages the same way.
#[test]
fn the_list_pages_past_200_without_skipping_or_repeating() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir.path().join("db"));
    let slots = ["2026-11-23T09:00:00+08:00", "2026-11-23T14:00:00+08:00"];
    let jobs: Vec<Job> = (0..450)
        .map(|n| {
            job(
                &format!("分页客户{n}"),
                "13800000000",
                slots[n % 2],
                JobStatus::Scheduled,
            )
        })
        .collect();
    store.upsert_jobs(&jobs).unwrap();
    let tomorrow = at("2026-11-24T00:00:00+08:00");
    for (tab, query) in [(Tab::Today, ""), (Tab::Done, "分页客户")] {
        let filter = JobFilter {
            tab,
            query: query.into(),
        };
        let mut seen = Vec::new();
        let mut sizes = Vec::new();
        let mut after = None;
        loop {
            let page = store
                .list_jobs(&filter, tomorrow, tomorrow, after.as_ref())
                .unwrap();
            sizes.push(page.jobs.len());
            seen.extend(page.jobs.iter().map(|j| (j.window_start, j.id)));
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        assert_eq!(sizes, vec![200, 200, 50], "{query:?}: pages of 200");
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 450, "{query:?}: every job once");
        let mut ordered = seen.clone();
        ordered.sort();
        if query.is_empty() {
            assert_eq!(seen, ordered, "today's list runs by start time");
        } else {
            ordered.reverse();
            assert_eq!(seen, ordered, "search results run newest first");
        }
    }
}

#[test]
fn the_demo_set_is_loaded_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir.path().join("db"));
    let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let zone = FixedOffset::east_opt(8 * 3600).unwrap();
    assert!(store.seed_demo_if_empty(today, zone).unwrap());
    let count = store.job_count().unwrap();
    assert!(
        (25..=40).contains(&count),
        "about 30 demo jobs, got {count}"
    );
    assert!(
        !store.seed_demo_if_empty(today, zone).unwrap(),
        "a store with jobs is left alone"
    );
    assert_eq!(store.job_count().unwrap(), count);
    let tomorrow = at("2026-11-24T00:00:00+08:00");
    let todays = store
        .list_jobs(
            &JobFilter {
                tab: Tab::Today,
                query: String::new(),
            },
            tomorrow,
            tomorrow,
            None,
        )
        .unwrap()
        .jobs;
    assert!(!todays.is_empty(), "a newcomer sees jobs for today");
    let all = doorstep_store::demo::demo_jobs(today, zone);
    assert!(
        all.iter().any(|j| j.job_type == JobType::Install),
        "installations"
    );
    assert!(all.iter().any(|j| j.job_type == JobType::Fault), "faults");
    assert!(
        all.iter().any(|j| !j.earlier_visits.is_empty()),
        "some with history"
    );
}

/// The child half of the kill test: writes changes until killed, printing
/// each change's number once its commit has returned.
#[test]
fn kill_child_writer() {
    let Ok(path) = std::env::var("DOORSTEP_KILL_TEST_DB") else {
        return;
    };
    let job_id: JobId = std::env::var("DOORSTEP_KILL_TEST_JOB")
        .unwrap()
        .parse()
        .unwrap();
    let mut store = open(std::path::Path::new(&path));
    let now = at("2026-11-23T00:50:00Z");
    for n in 0.. {
        store
            .apply(
                job_id,
                &Change::LogCall(CallLog {
                    id: RecordId::new(),
                    at: now,
                    outcome: CallOutcome::Other,
                    note: format!("call {n}"),
                    duration_seconds: None,
                }),
                now,
            )
            .unwrap();
        println!("committed {n}");
    }
}

#[test]
fn sigkill_mid_write_loses_nothing_that_was_committed() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let dispatched = job(
        "许淑芬",
        "13600000004",
        "2026-11-23T01:00:00Z",
        JobStatus::Scheduled,
    );
    open(&path)
        .upsert_jobs(std::slice::from_ref(&dispatched))
        .unwrap();

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "kill_child_writer",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("DOORSTEP_KILL_TEST_DB", &path)
        .env("DOORSTEP_KILL_TEST_JOB", dispatched.id.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut last_committed = None;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(n) = line.strip_prefix("committed ") {
            last_committed = Some(n.parse::<usize>().unwrap());
            if last_committed == Some(40) {
                child.kill().unwrap(); // SIGKILL on Unix: no chance to clean up
                break;
            }
        }
    }
    child.wait().unwrap();
    let last = last_committed.expect("the child committed something before it was killed");

    let store = Store::open(&path, &KEY).expect("the file opens after a kill");
    let integrity: String = raw(&path)
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let calls = store.visit(dispatched.id).unwrap().call_logs;
    assert!(
        calls.len() > last,
        "every change reported committed ({}) is there, found {}",
        last + 1,
        calls.len()
    );
    assert_eq!(
        store.pending_outbox().unwrap().len(),
        calls.len(),
        "each saved change has exactly one outbox entry, even across a kill"
    );
}
