//! Device sync: the pull, and the push in one transaction. The push's
//! statements go out pipelined, so a batch costs a few round trips rather
//! than a few per entry; what each change does is `rules`' call.

use std::collections::{BTreeSet, HashMap, HashSet};

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use doorstep_core::wire::{
    ConflictId, ConflictNotice, ConflictReason, PushEntry, PushResponse, Receipt, TechnicianId,
};
use doorstep_core::{CustomerId, JobId, RequestedSupport, Timestamp};
use futures_util::future::try_join_all;
use uuid::Uuid;

use super::customers::history;
use super::documents::documents_since;
use super::leads::write_leads;
use super::rows::{
    load_job, lock_jobs, read_conflict, read_job, rebuilt_visit, visit_to_sql, CONFLICT_COLUMNS,
    JOB_COLUMNS,
};
use super::PostgresStorage;
use crate::error::{HqError, HqResult};
use crate::records::{DeviceAuth, DispatchedJob, IncomingPush, PullBatch};
use crate::rules;
use crate::storage::codec::{enum_parse, enum_text};
use crate::storage::SyncStore;

#[async_trait]
impl SyncStore for PostgresStorage {
    async fn pull(&self, technician: TechnicianId, since: i64) -> HqResult<PullBatch> {
        let mut client = self.pool.get().await?;
        // One snapshot for the cursor and the rows it covers.
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let cursor: i64 = tx
            .query_one("SELECT value FROM counters WHERE name = 'job_change'", &[])
            .await?
            .try_get(0)?;
        let jobs = tx
            .query(
                &format!(
                    "SELECT {JOB_COLUMNS} FROM jobs WHERE technician_id = $1 AND change_seq > $2
                     ORDER BY change_seq"
                ),
                &[&technician.0, &since],
            )
            .await?
            .iter()
            .map(|row| read_job(row).map(|d| d.job))
            .collect::<HqResult<Vec<_>>>()?;
        let customers: BTreeSet<CustomerId> = jobs.iter().map(|j| j.customer.id).collect();
        let mut histories = Vec::with_capacity(customers.len());
        for customer in customers {
            histories.extend(history(&tx, customer).await?);
        }
        let removed = tx
            .query(
                "SELECT job_id FROM job_assignments
                 WHERE technician_id = $1 AND unassigned_seq > $2 ORDER BY unassigned_seq",
                &[&technician.0, &since],
            )
            .await?
            .iter()
            .map(|row| Ok(JobId(row.try_get(0)?)))
            .collect::<HqResult<Vec<_>>>()?;
        let resolved = tx
            .query(
                &format!(
                    "SELECT {CONFLICT_COLUMNS} FROM conflicts
                     WHERE technician_id = $1 AND resolved_seq > $2 ORDER BY resolved_seq"
                ),
                &[&technician.0, &since],
            )
            .await?
            .iter()
            .map(read_conflict)
            .collect::<HqResult<Vec<_>>>()?;
        let documents = documents_since(&tx, since).await?;
        tx.commit().await?;
        Ok(PullBatch {
            cursor,
            jobs,
            removed,
            resolved,
            histories,
            documents,
        })
    }

    async fn push(
        &self,
        device: &DeviceAuth,
        push: &IncomingPush,
        now: Timestamp,
    ) -> HqResult<PushResponse> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let response = push_in(&tx, device, push, now).await?;
        tx.commit().await?;
        Ok(response)
    }
}

async fn push_in<C: GenericClient>(
    tx: &C,
    device: &DeviceAuth,
    push: &IncomingPush,
    now: Timestamp,
) -> HqResult<PushResponse> {
    let entries = &push.entries;
    // The device row lock: one batch per device at a time.
    let row = tx
        .query_one(
            "SELECT last_seq, revoked_at IS NOT NULL FROM devices WHERE id = $1 FOR UPDATE",
            &[&device.id.0],
        )
        .await?;
    let last_seq: i64 = row.try_get(0)?;
    rules::may_sync(row.try_get::<_, bool>(1)?)?;
    let fresh = rules::fresh(last_seq, entries)?;

    let mut named: Vec<JobId> = entries.iter().map(|e| e.job_id).collect();
    named.sort();
    named.dedup();
    let named_ids: Vec<Uuid> = named.iter().map(|j| j.0).collect();
    // Locked before they are read: a dispatcher's change to one of them
    // waits for this push, so the push never writes a job back over a
    // change committed after it read the job.
    lock_jobs(tx, &named_ids).await?;
    let allowed: Vec<Uuid> = tx
        .query(
            "SELECT job_id FROM job_assignments WHERE job_id = ANY($1) AND technician_id = $2",
            &[&named_ids, &device.technician_id.0],
        )
        .await?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?;

    // Statements go out pipelined (all sent, then all answered, in order),
    // so a batch costs a few round trips, not a few per entry. The server
    // runs them in the order sent, as if one by one.
    let found = try_join_all(named.iter().map(|job| load_job(tx, *job))).await?;
    // A job HQ does not hold, or never this technician's: its changes are
    // kept apart (`refused_ops`) with a conflict, and the batch goes on.
    let mut jobs: HashMap<JobId, DispatchedJob> = HashMap::with_capacity(named.len());
    let mut refused: HashMap<JobId, ConflictReason> = HashMap::new();
    for (job, found) in named.iter().zip(found) {
        let ever_assigned = allowed.contains(&job.0);
        match rules::refused_write(found.is_some(), ever_assigned) {
            Some(reason) => {
                refused.insert(*job, reason);
            }
            None => {
                let found = found.ok_or_else(|| HqError::NotFound(format!("job {job}")))?;
                jobs.insert(*job, found);
            }
        }
    }
    let refused_ids: Vec<Uuid> = refused.keys().map(|job| job.0).collect();
    let accepted_ids: Vec<Uuid> = jobs.keys().map(|job| job.0).collect();
    let reason_kept_apart = |entry: &PushEntry| {
        rules::refused_entry(
            refused.get(&entry.job_id).copied(),
            push.entry_refusal(entry),
        )
    };
    let (kept_apart, accepted): (Vec<&PushEntry>, Vec<&PushEntry>) = fresh
        .iter()
        .partition(|entry| reason_kept_apart(entry).is_some());
    let kept_apart: Vec<(&PushEntry, ConflictReason)> = kept_apart
        .into_iter()
        .filter_map(|entry| Some((entry, reason_kept_apart(entry)?)))
        .collect();

    let insert_op = tx
        .prepare(
            "INSERT INTO ops (op_id, device_id, seq, job_id, kind, payload, device_time,
                 server_time, visit, clock_skew_seconds)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (op_id) DO NOTHING",
        )
        .await?;
    let columns = accepted
        .iter()
        .map(|entry| {
            let payload = serde_json::to_string(&entry.payload).map_err(HqError::storage)?;
            Ok((payload, visit_to_sql(entry.visit)?))
        })
        .collect::<HqResult<Vec<_>>>()?;
    let (insert_op, now) = (&insert_op, &now);
    let inserted = try_join_all(accepted.iter().zip(&columns).map(
        |(entry, (payload, visit))| async move {
            tx.execute(
                insert_op,
                &[
                    &entry.op_id,
                    &device.id.0,
                    &entry.seq,
                    &entry.job_id.0,
                    &entry.kind,
                    payload,
                    &entry.device_time,
                    now,
                    visit,
                    &push.clock_skew_seconds,
                ],
            )
            .await
        },
    ))
    .await?;
    // An op_id applied before (from another seq) changes nothing; an op of
    // an earlier visit is kept as evidence, nothing more.
    let applied: Vec<&PushEntry> = accepted
        .iter()
        .copied()
        .zip(inserted)
        .filter(|(_, count)| *count == 1)
        .map(|(entry, _)| entry)
        .filter(|entry| rules::in_current_visit(&jobs[&entry.job_id].job, entry.visit))
        .collect();

    let mut touched: Vec<JobId> = applied.iter().map(|entry| entry.job_id).collect();
    touched.sort();
    touched.dedup();
    // The jobs a change would conflict on that have a conflict open already;
    // the batch may open more.
    let conflicting: Vec<Uuid> = jobs
        .iter()
        .filter(|(_, job)| rules::conflict_reason(job, device.technician_id).is_some())
        .map(|(id, _)| id.0)
        .collect();
    let mut open: HashSet<JobId> = HashSet::new();
    if !conflicting.is_empty() {
        for row in tx
            .query(
                "SELECT DISTINCT job_id FROM conflicts
                 WHERE job_id = ANY($1) AND resolved_at IS NULL",
                &[&conflicting],
            )
            .await?
        {
            open.insert(JobId(row.try_get(0)?));
        }
    }
    for entry in &applied {
        let job = &jobs[&entry.job_id];
        let open_on_job = open.contains(&entry.job_id);
        if let Some(reason) = rules::conflict_to_open(job, device.technician_id, open_on_job) {
            tx.execute(
                "INSERT INTO conflicts (id, job_id, device_id, technician_id, reason, op_id,
                     created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &ConflictId::new().0,
                    &entry.job_id.0,
                    &device.id.0,
                    &device.technician_id.0,
                    &enum_text(&reason),
                    &entry.op_id,
                    &now,
                ],
            )
            .await?;
            open.insert(entry.job_id);
        }
    }
    keep_refused(tx, device, &kept_apart, push.clock_skew_seconds, now).await?;
    if let Some(last) = fresh.last() {
        tx.execute(
            "UPDATE devices SET last_seq = $2 WHERE id = $1",
            &[&device.id.0, &last.seq],
        )
        .await?;
    }

    // Receipts: recomputed for the jobs this batch changed.
    let visits = try_join_all(touched.iter().map(|job| rebuilt_visit(tx, &jobs[job]))).await?;
    let update_job = tx
        .prepare("UPDATE jobs SET content_hash = $2, receipt_at = $3, status = $4 WHERE id = $1")
        .await?;
    let updates: Vec<(String, String)> = touched
        .iter()
        .zip(&visits)
        .map(|(job_id, visit)| {
            let status = rules::status_after_push(&jobs[job_id], device.technician_id, visit);
            (rules::content_hash(visit), enum_text(&status))
        })
        .collect();
    let support: Vec<(JobId, Option<RequestedSupport>)> = touched
        .iter()
        .zip(&visits)
        .filter_map(|(job_id, visit)| {
            let batch: Vec<&PushEntry> = applied
                .iter()
                .copied()
                .filter(|entry| entry.job_id == *job_id)
                .collect();
            match rules::support_after_push(&jobs[job_id], device.technician_id, visit, &batch) {
                rules::SupportFact::Raise(request) => Some((*job_id, Some(request))),
                rules::SupportFact::Clear => Some((*job_id, None)),
                rules::SupportFact::Keep => None,
            }
        })
        .collect();
    for (job_id, visit) in touched.iter().zip(&visits) {
        let job = &jobs[job_id];
        let batch: Vec<&PushEntry> = applied
            .iter()
            .copied()
            .filter(|entry| entry.job_id == *job_id)
            .collect();
        let leads = rules::leads_after_push(job, device.technician_id, visit, &batch);
        write_leads(tx, job, device.technician_id, &leads, *now).await?;
    }
    for (job_id, request) in &support {
        tx.execute(
            "UPDATE jobs SET support_problem = $2, support_requested_at = $3 WHERE id = $1",
            &[
                &job_id.0,
                &request.as_ref().map(|r| r.problem.as_str()),
                &request.as_ref().map(|r| r.requested_at),
            ],
        )
        .await?;
    }
    let update_job = &update_job;
    try_join_all(
        touched
            .iter()
            .zip(&updates)
            .map(|(job_id, (hash, status))| async move {
                tx.execute(update_job, &[&job_id.0, hash, now, status])
                    .await
            }),
    )
    .await?;

    let mut receipts = Vec::new();
    for row in tx
        .query(
            "SELECT id, content_hash, receipt_at FROM jobs
             WHERE id = ANY($1) AND content_hash IS NOT NULL ORDER BY id",
            &[&accepted_ids],
        )
        .await?
    {
        receipts.push(Receipt {
            job_id: JobId(row.try_get(0)?),
            content_hash: row.try_get(1)?,
            server_time: row.try_get(2)?,
        });
    }
    let mut conflicts = Vec::new();
    for row in tx
        .query(
            // Of a job it may not write, the device hears only its own conflicts.
            "SELECT id, job_id, reason FROM conflicts
             WHERE resolved_at IS NULL
                 AND (job_id = ANY($1) OR (job_id = ANY($2) AND technician_id = $3))
             ORDER BY job_id",
            &[&accepted_ids, &refused_ids, &device.technician_id.0],
        )
        .await?
    {
        conflicts.push(ConflictNotice {
            conflict_id: ConflictId(row.try_get(0)?),
            job_id: JobId(row.try_get(1)?),
            reason: enum_parse::<ConflictReason>(row.try_get(2)?)?,
        });
    }
    Ok(PushResponse {
        applied_through_seq: fresh.last().map(|e| e.seq).unwrap_or(last_seq),
        receipts,
        conflicts,
    })
}

/// Keeps the changes HQ cannot apply apart from the op log, each with the
/// reason `rules::refused_entry` gave it, and opens one conflict per job for
/// this technician's refused changes, unless one is open.
async fn keep_refused<C: GenericClient>(
    tx: &C,
    device: &DeviceAuth,
    entries: &[(&PushEntry, ConflictReason)],
    clock_skew_seconds: Option<i64>,
    now: &Timestamp,
) -> HqResult<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let jobs: Vec<Uuid> = entries.iter().map(|(entry, _)| entry.job_id.0).collect();
    let mut open: HashSet<JobId> = HashSet::new();
    for row in tx
        .query(
            "SELECT DISTINCT job_id FROM conflicts
             WHERE job_id = ANY($1) AND technician_id = $2 AND resolved_at IS NULL",
            &[&jobs, &device.technician_id.0],
        )
        .await?
    {
        open.insert(JobId(row.try_get(0)?));
    }
    for &(entry, reason) in entries {
        let payload = serde_json::to_string(&entry.payload).map_err(HqError::storage)?;
        tx.execute(
            "INSERT INTO refused_ops (op_id, device_id, seq, job_id, kind, payload, device_time,
                 server_time, visit, clock_skew_seconds)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (op_id) DO NOTHING",
            &[
                &entry.op_id,
                &device.id.0,
                &entry.seq,
                &entry.job_id.0,
                &entry.kind,
                &payload,
                &entry.device_time,
                now,
                &visit_to_sql(entry.visit)?,
                &clock_skew_seconds,
            ],
        )
        .await?;
        if let Some(reason) = rules::unless_open(Some(reason), open.contains(&entry.job_id)) {
            tx.execute(
                "INSERT INTO conflicts (id, job_id, device_id, technician_id, reason, op_id,
                     created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &ConflictId::new().0,
                    &entry.job_id.0,
                    &device.id.0,
                    &device.technician_id.0,
                    &enum_text(&reason),
                    &entry.op_id,
                    now,
                ],
            )
            .await?;
            open.insert(entry.job_id);
        }
    }
    Ok(())
}
