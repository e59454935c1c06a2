//! Fixtures shared by the HQ tests.
#![allow(dead_code)]

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use doorstep_core::change::Change;
use doorstep_core::wire::TechnicianRef;
use doorstep_core::wire::{PushEntry, TechnicianId};
use doorstep_core::{
    Customer, CustomerId, Job, JobId, JobStatus, JobType, KitCheck, SubCase, Timestamp, Work,
};
use doorstep_hq::records::{AuditAction, AuditRecord};
use doorstep_hq::storage::{DispatchedJob, IncomingPush, PostgresStorage, SqliteStorage, Storage};
use doorstep_hq::Clock;

pub const PG_ENV: &str = "DOORSTEP_TEST_POSTGRES_URL";

/// Noon, 1 December 2026, UTC: tests never read the real clock.
pub fn t0() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap()
}

pub fn at(minutes: i64) -> Timestamp {
    t0() + chrono::Duration::minutes(minutes)
}

pub fn fixed_clock() -> Clock {
    Arc::new(t0)
}

/// The audit entry of an action, by the command line at t0, naming nothing.
pub fn note(action: AuditAction) -> AuditRecord {
    AuditRecord {
        at: t0(),
        actor: None,
        action,
        job_id: None,
        technician_id: None,
        device_id: None,
        username: None,
        detail: String::new(),
    }
}

/// An audit entry for a storage call whose entry the test does not look at.
pub fn any_entry() -> AuditRecord {
    note(AuditAction::CreateJob)
}

/// A technician, stored at t0.
pub async fn technician(storage: &Arc<dyn Storage>, name: &str) -> TechnicianRef {
    let technician = TechnicianRef {
        id: TechnicianId::new(),
        name: name.to_string(),
    };
    storage
        .create_technician(&technician, t0(), &any_entry())
        .await
        .unwrap();
    technician
}

pub fn job_for(technician: Option<TechnicianId>, name: &str) -> DispatchedJob {
    DispatchedJob {
        job: Job {
            id: JobId::new(),
            customer: Customer {
                id: CustomerId::new(),
                name: name.to_string(),
                phone: "13800000000".into(),
                address: "福州市鼓楼区 1 号".into(),
                account_number: None,
            },
            job_type: JobType::Fault,
            sub_case: SubCase::Indoor,
            fault_description: "no signal".into(),
            window_start: at(60),
            window_end: at(120),
            status: JobStatus::Scheduled,
            earlier_visits: vec![],
            visit: 1,
            repeat_of: None,
            reported_at: None,
            due_by: None,
        },
        technician_id: technician,
    }
}

pub fn kit() -> Change {
    Change::SaveKit(KitCheck {
        mat_cloth: true,
        cover_cloth: true,
        wiping_cloth: true,
        shoe_covers: true,
        missing_reason: String::new(),
    })
}

pub fn work(description: &str) -> Change {
    Change::SaveWork(Work {
        indoor: true,
        description: description.into(),
        fault_point: "splitter".into(),
        ..Work::default()
    })
}

pub fn entry(seq: i64, job: JobId, change: Change) -> PushEntry {
    PushEntry {
        seq,
        op_id: uuid::Uuid::now_v7(),
        job_id: job,
        kind: change.kind().to_string(),
        payload: change,
        device_time: at(seq),
        visit: 1,
    }
}

/// A fresh SQLite database in a temp dir (kept alive by the returned guard).
/// A batch as the service hands it to storage when every time in it is
/// one HQ accepts and the device's clock is right.
pub fn plain(entries: &[PushEntry]) -> IncomingPush {
    IncomingPush {
        entries: entries.to_vec(),
        impossible_time: HashSet::new(),
        off_price_list: HashSet::new(),
        clock_skew_seconds: None,
    }
}

pub fn sqlite() -> (Arc<dyn Storage>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let storage = SqliteStorage::open(&dir.path().join("hq.sqlite3")).unwrap();
    (Arc::new(storage), dir)
}

/// A fresh schema in the PostgreSQL that DOORSTEP_TEST_POSTGRES_URL names,
/// or None (with a notice) when it is not set.
pub async fn postgres(test: &str) -> Option<(Arc<dyn Storage>, PgSchema)> {
    let Ok(url) = std::env::var(PG_ENV) else {
        // The test harness captures eprintln! of passing tests: write to the
        // process's stderr itself so a skip is seen.
        let notice = format!(
            "SKIPPED {test} on PostgreSQL: {PG_ENV} is not set (scripts/postgres.sh starts one)"
        );
        use std::io::Write;
        match std::fs::OpenOptions::new().append(true).open("/dev/stderr") {
            Ok(mut stderr) => {
                let _ = writeln!(stderr, "{notice}");
            }
            Err(_) => eprintln!("{notice}"),
        }
        return None;
    };
    let schema = format!("t_{}", uuid::Uuid::now_v7().simple());
    let storage = PostgresStorage::connect(&url, Some(&schema))
        .await
        .expect("PostgreSQL from DOORSTEP_TEST_POSTGRES_URL must be reachable");
    Some((Arc::new(storage), PgSchema { url, schema }))
}

pub struct PgSchema {
    url: String,
    schema: String,
}

impl PgSchema {
    pub async fn drop(self) {
        PostgresStorage::drop_schema(&self.url, &self.schema)
            .await
            .unwrap();
    }
}
