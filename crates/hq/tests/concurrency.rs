//! A device's push and a dispatcher's change on the same job, run at the same
//! time, many times over, on every storage backend: the dispatcher's change
//! always stands. Either the push came first (and the dispatcher's change,
//! made after it, is what HQ holds), or it came after and runs into the
//! dispatch state as a conflict; never a push that read the job before the
//! dispatcher's change and wrote its status back over it.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use doorstep_core::change::Change;
use doorstep_core::wire::{DeviceId, PushEntry, TechnicianId};
use doorstep_core::{JobStatus, Reschedule, RescheduleReason, Step};
use doorstep_hq::storage::{DeviceAuth, DispatchChange, DispatchedJob, Storage};
use uuid::Uuid;

/// Rounds of each dispatcher action: hundreds of races in all.
const ROUNDS: usize = 100;
/// The races must finish well inside a test run.
const BUDGET: Duration = Duration::from_secs(30);

async fn enrolled(storage: &Arc<dyn Storage>, name: &str) -> (TechnicianId, DeviceAuth) {
    let tech = technician(storage, name).await;
    let code = format!("code-{}", tech.id);
    storage
        .create_enrollment_code(Uuid::now_v7(), &code, tech.id, at(60), &any_entry())
        .await
        .unwrap();
    let device = DeviceId::new();
    let token = format!("token-{device}");
    storage
        .enroll(&code, device, "laptop", &token, t0())
        .await
        .unwrap();
    let auth = storage.device_by_token(&token).await.unwrap().unwrap();
    (tech.id, auth)
}

/// The technician's laptop: its ops numbered in order.
struct Laptop {
    auth: DeviceAuth,
    seq: i64,
}

impl Laptop {
    fn next(&mut self, job: &DispatchedJob, change: Change) -> PushEntry {
        self.seq += 1;
        PushEntry {
            visit: job.job.visit,
            ..entry(self.seq, job.job.id, change)
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Action {
    Cancel,
    Reassign,
    Rebook,
}

/// One race: a fresh job of technician A, then `action` by the dispatcher
/// and A's push at the same time.
async fn race(
    storage: &Arc<dyn Storage>,
    laptop: &mut Laptop,
    a: TechnicianId,
    b: TechnicianId,
    action: Action,
    round: usize,
) {
    let job = job_for(Some(a), &format!("{action:?} {round}"));
    storage
        .create_jobs(std::slice::from_ref(&job), t0(), &[])
        .await
        .unwrap();
    let id = job.job.id;
    let (change, pushed) = match action {
        // A starts work on the job as the dispatcher cancels or reassigns it.
        Action::Cancel | Action::Reassign => {
            let change = match action {
                Action::Cancel => DispatchChange::Cancel,
                _ => DispatchChange::Assign(b),
            };
            (change, laptop.next(&job, kit()))
        }
        // A rescheduled the job; the dispatcher re-books it (visit 2) as a
        // late note of visit 1 arrives.
        Action::Rebook => {
            let start = laptop.next(&job, Change::SetStep(Step::Visit));
            let reschedule = laptop.next(
                &job,
                Change::Reschedule(Reschedule {
                    reason: RescheduleReason::NeedsSupport,
                    note: "needs a ladder".into(),
                    new_start: at(24 * 60),
                    new_end: at(25 * 60),
                }),
            );
            storage
                .push(&laptop.auth, &plain(&[start, reschedule]), at(5))
                .await
                .unwrap();
            let change = DispatchChange::Reschedule {
                start: at(48 * 60),
                end: at(49 * 60),
            };
            (change, laptop.next(&job, work("late note")))
        }
    };

    let audit = any_entry();
    let batch = plain(std::slice::from_ref(&pushed));
    let (dispatched, push) = tokio::join!(
        storage.change_job(id, change, &audit),
        storage.push(&laptop.auth, &batch, at(10)),
    );
    let dispatched = dispatched.expect("the dispatcher's change applies");
    let push = push.expect("the push applies");
    let held = storage.job_records(id).await.unwrap().unwrap();

    assert_eq!(
        held.dispatch, dispatched,
        "{action:?} round {round}: the job HQ holds must be the one the dispatcher's change \
         left, whichever came first; a push must never write over it"
    );
    let push_saw_dispatch = !push.conflicts.is_empty();
    match action {
        Action::Cancel => {}
        // The reassignment's result shows whether the push came first: its
        // progress is in the job the dispatcher's change returned.
        Action::Reassign => assert_eq!(
            push_saw_dispatch,
            dispatched.job.status == JobStatus::Scheduled,
            "{action:?} round {round}: a push after the reassignment must be a conflict, \
             one before it must not: {dispatched:?} / {push:?}"
        ),
        Action::Rebook => assert!(
            !push_saw_dispatch && held.receipt.is_none(),
            "{action:?} round {round}: a late op of visit 1 is evidence only: no conflict and \
             no receipt for visit 2: {held:?}"
        ),
    }
    if push_saw_dispatch {
        assert!(
            held.conflicts.iter().any(|c| c.op_id == pushed.op_id),
            "{action:?} round {round}: the conflict the push reported is recorded"
        );
    }
    assert!(
        held.ops.iter().any(|op| op.op_id == pushed.op_id),
        "{action:?} round {round}: the pushed op is kept either way"
    );
}

async fn a_push_never_overwrites_a_dispatch_change(storage: Arc<dyn Storage>) {
    let (a, auth) = enrolled(&storage, "A").await;
    let (b, _) = enrolled(&storage, "B").await;
    let mut laptop = Laptop { auth, seq: 0 };
    let started = Instant::now();
    for round in 0..ROUNDS {
        for action in [Action::Cancel, Action::Reassign, Action::Rebook] {
            race(&storage, &mut laptop, a, b, action, round).await;
        }
    }
    assert!(
        started.elapsed() < BUDGET,
        "{} races took {:?}; they must stay cheap enough to run every time",
        ROUNDS * 3,
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_push_never_overwrites_a_dispatch_change() {
    let (storage, _dir) = sqlite();
    a_push_never_overwrites_a_dispatch_change(storage).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_push_never_overwrites_a_dispatch_change() {
    let Some((storage, schema)) = postgres("push_never_overwrites_a_dispatch_change").await else {
        return;
    };
    a_push_never_overwrites_a_dispatch_change(storage).await;
    schema.drop().await;
}
