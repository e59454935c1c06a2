//! Device sync: the pull, and the push in one transaction. A push is a
//! handful of statements whatever its size: each reads or writes the whole
//! batch (arrays through UNNEST), they are prepared once per connection,
//! and those that do not wait on each other go out pipelined in one round
//! trip. The batch's own changes are replayed from memory. What each change
//! does is `rules`' call.

use std::collections::{BTreeSet, HashMap, HashSet};

use async_trait::async_trait;
use deadpool_postgres::{GenericClient, Transaction};
use doorstep_core::wire::{
    ConflictId, ConflictNotice, ConflictReason, PushEntry, PushResponse, Receipt, TechnicianId,
};
use doorstep_core::{CustomerId, JobId, Timestamp};
use tokio_postgres::types::{ToSql, Type};
use uuid::Uuid;

use super::customers::histories;
use super::documents::documents_since;
use super::leads::write_leads;
use super::rows::{
    batch_transaction, lock_and_load_jobs, read_conflict, read_job, statement, visit_from_sql,
    visit_to_sql, CONFLICT_COLUMNS, JOB_COLUMNS,
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
        // Every device asks at every sync: the statements are prepared once
        // per connection and go out in one round trip.
        let cursor = statement(&tx, "SELECT value FROM counters WHERE name = 'job_change'").await?;
        let changed = statement(
            &tx,
            &format!(
                "SELECT {JOB_COLUMNS} FROM jobs WHERE technician_id = $1 AND change_seq > $2
                 ORDER BY change_seq"
            ),
        )
        .await?;
        let removed = statement(
            &tx,
            "SELECT job_id FROM job_assignments
             WHERE technician_id = $1 AND unassigned_seq > $2 ORDER BY unassigned_seq",
        )
        .await?;
        let resolved = statement(
            &tx,
            &format!(
                "SELECT {CONFLICT_COLUMNS} FROM conflicts
                 WHERE technician_id = $1 AND resolved_seq > $2 ORDER BY resolved_seq"
            ),
        )
        .await?;
        let by_technician: [&(dyn ToSql + Sync); 2] = [&technician.0, &since];
        let (cursor, jobs, removed, resolved) = tokio::try_join!(
            tx.query_one(&cursor, &[]),
            tx.query(&changed, &by_technician),
            tx.query(&removed, &by_technician),
            tx.query(&resolved, &by_technician),
        )?;
        let cursor: i64 = cursor.try_get(0)?;
        let jobs = jobs
            .iter()
            .map(|row| read_job(row).map(|d| d.job))
            .collect::<HqResult<Vec<_>>>()?;
        let customers: BTreeSet<CustomerId> = jobs.iter().map(|j| j.customer.id).collect();
        let customers: Vec<CustomerId> = customers.into_iter().collect();
        let histories = histories(&tx, &customers).await?;
        let removed = removed
            .iter()
            .map(|row| Ok(JobId(row.try_get(0)?)))
            .collect::<HqResult<Vec<_>>>()?;
        let resolved = resolved
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
        let tx = batch_transaction(&mut client).await?;
        let response = push_in(&tx, device, push, now).await?;
        tx.commit().await?;
        Ok(response)
    }
}

async fn push_in(
    tx: &Transaction<'_>,
    device: &DeviceAuth,
    push: &IncomingPush,
    now: Timestamp,
) -> HqResult<PushResponse> {
    let entries = &push.entries;
    // The device row lock: one batch per device at a time.
    let row = tx
        .query_one(
            &statement(
                tx,
                "SELECT last_seq, revoked_at IS NOT NULL FROM devices WHERE id = $1 FOR UPDATE",
            )
            .await?,
            &[&device.id.0],
        )
        .await?;
    let last_seq: i64 = row.try_get(0)?;
    rules::may_sync(row.try_get::<_, bool>(1)?)?;
    let fresh = rules::fresh(last_seq, entries)?;

    let mut named: Vec<Uuid> = entries.iter().map(|e| e.job_id.0).collect();
    named.sort();
    named.dedup();
    // The named jobs are locked as they are read (`lock_and_load_jobs`), and
    // which of them were ever this technician's comes in the same round trip.
    let ever_assigned = statement(
        tx,
        "SELECT job_id FROM job_assignments WHERE job_id = ANY($1) AND technician_id = $2",
    )
    .await?;
    let (found, allowed) = tokio::try_join!(lock_and_load_jobs(tx, &named), async {
        Ok::<_, HqError>(
            tx.query(&ever_assigned, &[&named, &device.technician_id.0])
                .await?,
        )
    })?;
    let allowed: HashSet<Uuid> = allowed
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?;
    let mut found: HashMap<JobId, DispatchedJob> =
        found.into_iter().map(|job| (job.job.id, job)).collect();
    // A job HQ does not hold, or never this technician's: its changes are
    // kept apart (`refused_ops`) with a conflict, and the batch goes on.
    let mut jobs: HashMap<JobId, DispatchedJob> = HashMap::with_capacity(named.len());
    let mut refused: HashMap<JobId, ConflictReason> = HashMap::new();
    for job in named.iter().map(|id| JobId(*id)) {
        let held = found.remove(&job);
        match rules::refused_write(held.is_some(), allowed.contains(&job.0)) {
            Some(reason) => {
                refused.insert(job, reason);
            }
            None => {
                let held = held.ok_or_else(|| HqError::NotFound(format!("job {job}")))?;
                jobs.insert(job, held);
            }
        }
    }
    let refused_ids: Vec<Uuid> = refused.keys().map(|job| job.0).collect();
    let mut accepted_ids: Vec<Uuid> = jobs.keys().map(|job| job.0).collect();
    accepted_ids.sort();
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

    // The ops the accepted jobs held before this batch (their rows are
    // locked, so no other push adds to them), read in the round trip that
    // inserts the batch's: sent first, so the read sees none of the batch,
    // whose own changes are replayed from memory.
    // One statement for the batch's ops, in seq order (`WITH ORDINALITY`, so
    // ids follow it). An op_id applied before (from another seq) changes
    // nothing: it is sent once, and RETURNING names the ones stored now.
    let insert_ops = statement(
        tx,
        "INSERT INTO ops (op_id, device_id, seq, job_id, kind, payload, device_time,
             server_time, visit, clock_skew_seconds)
         SELECT op_id, $1, seq, job_id, kind, payload, device_time, $2, visit, $3
         FROM UNNEST($4::uuid[], $5::bigint[], $6::uuid[], $7::text[], $8::text[],
                     $9::timestamptz[], $10::integer[])
             WITH ORDINALITY AS batch(op_id, seq, job_id, kind, payload, device_time, visit, n)
         ORDER BY n
         ON CONFLICT (op_id) DO NOTHING RETURNING op_id",
    )
    .await?;
    let mut sent_op_ids = HashSet::new();
    let first_of_op: Vec<&PushEntry> = accepted
        .iter()
        .copied()
        .filter(|entry| sent_op_ids.insert(entry.op_id))
        .collect();
    let op_ids: Vec<Uuid> = first_of_op.iter().map(|e| e.op_id).collect();
    let seqs: Vec<i64> = first_of_op.iter().map(|e| e.seq).collect();
    let job_ids: Vec<Uuid> = first_of_op.iter().map(|e| e.job_id.0).collect();
    let kinds: Vec<&str> = first_of_op.iter().map(|e| e.kind.as_str()).collect();
    let payloads = first_of_op
        .iter()
        .map(|e| serde_json::to_string(&e.payload).map_err(HqError::storage))
        .collect::<HqResult<Vec<String>>>()?;
    let device_times: Vec<Timestamp> = first_of_op.iter().map(|e| e.device_time).collect();
    let visits = first_of_op
        .iter()
        .map(|e| visit_to_sql(e.visit))
        .collect::<HqResult<Vec<i32>>>()?;
    let (earlier, inserted) = tokio::try_join!(
        async {
            Ok::<_, HqError>(
                tx.query_typed(
                    "SELECT o.job_id, o.payload, o.device_time, o.visit, d.technician_id
                     FROM ops o JOIN devices d ON d.id = o.device_id
                     WHERE o.job_id = ANY($1) ORDER BY o.job_id, o.id",
                    &[(&accepted_ids, Type::UUID_ARRAY)],
                )
                .await?,
            )
        },
        async {
            Ok::<_, HqError>(
                tx.query(
                    &insert_ops,
                    &[
                        &device.id.0,
                        &now,
                        &push.clock_skew_seconds,
                        &op_ids,
                        &seqs,
                        &job_ids,
                        &kinds,
                        &payloads,
                        &device_times,
                        &visits,
                    ],
                )
                .await?,
            )
        }
    )?;
    let inserted: HashSet<Uuid> = inserted
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?;
    // An op of an earlier visit is kept as evidence, nothing more.
    let applied: Vec<&PushEntry> = first_of_op
        .iter()
        .copied()
        .filter(|entry| inserted.contains(&entry.op_id))
        .filter(|entry| rules::in_current_visit(&jobs[&entry.job_id].job, entry.visit))
        .collect();
    let mut earlier_by_job: HashMap<JobId, Vec<(String, Timestamp, u32, TechnicianId)>> =
        HashMap::new();
    for row in &earlier {
        earlier_by_job
            .entry(JobId(row.try_get(0)?))
            .or_default()
            .push((
                row.try_get(1)?,
                row.try_get(2)?,
                visit_from_sql(row.try_get(3)?)?,
                TechnicianId(row.try_get(4)?),
            ));
    }

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
    keep_refused(tx, device, &kept_apart, push.clock_skew_seconds, &now).await?;

    // Receipts: recomputed for the jobs this batch changed.
    let mut batches: HashMap<JobId, Vec<&PushEntry>> = HashMap::new();
    for entry in &applied {
        batches.entry(entry.job_id).or_default().push(entry);
    }
    let mut receipt_ids = Vec::with_capacity(touched.len());
    let mut hashes = Vec::with_capacity(touched.len());
    let mut statuses = Vec::with_capacity(touched.len());
    // Per job: whether its support request changes, and to what.
    let mut support_set = Vec::with_capacity(touched.len());
    let mut problems: Vec<Option<String>> = Vec::with_capacity(touched.len());
    let mut requested_at: Vec<Option<Timestamp>> = Vec::with_capacity(touched.len());
    for job_id in &touched {
        let job = &jobs[job_id];
        let batch = &batches[job_id];
        let visit = rules::visit_after_push(
            job,
            earlier_by_job.get(job_id).into_iter().flatten().map(
                |(payload, at, visit, technician)| (payload.as_str(), *at, *visit, *technician),
            ),
            batch,
            device.technician_id,
        );
        receipt_ids.push(job_id.0);
        hashes.push(rules::content_hash(&visit));
        statuses.push(enum_text(&rules::status_after_push(
            job,
            device.technician_id,
            &visit,
        )));
        let (set, request) =
            match rules::support_after_push(job, device.technician_id, &visit, batch) {
                rules::SupportFact::Raise(request) => (true, Some(request)),
                rules::SupportFact::Clear => (true, None),
                rules::SupportFact::Keep => (false, None),
            };
        support_set.push(set);
        problems.push(request.as_ref().map(|r| r.problem.clone()));
        requested_at.push(request.map(|r| r.requested_at));
        let leads = rules::leads_after_push(job, device.technician_id, &visit, batch);
        write_leads(tx, job, device.technician_id, &leads, now).await?;
    }
    // The writes go out together, then the answer's reads, in that order
    // on the connection, so the reads see the writes.
    let set_last_seq = statement(
        tx,
        "UPDATE devices SET last_seq = $2 WHERE id = $1 AND last_seq <> $2",
    )
    .await?;
    // One new version of each job row: its receipt, status and, where
    // `support_after_push` changed it, its support request.
    let set_jobs = statement(
        tx,
        "UPDATE jobs SET content_hash = batch.hash, receipt_at = $1, status = batch.status,
             support_problem = CASE WHEN batch.support_set THEN batch.problem
                                    ELSE support_problem END,
             support_requested_at = CASE WHEN batch.support_set THEN batch.at
                                         ELSE support_requested_at END
         FROM UNNEST($2::uuid[], $3::text[], $4::text[], $5::boolean[], $6::text[],
                     $7::timestamptz[]) AS batch(id, hash, status, support_set, problem, at)
         WHERE jobs.id = batch.id",
    )
    .await?;
    let read_receipts = statement(
        tx,
        "SELECT id, content_hash, receipt_at FROM jobs
         WHERE id = ANY($1) AND content_hash IS NOT NULL ORDER BY id",
    )
    .await?;
    let read_conflicts = statement(
        tx,
        // Of a job it may not write, the device hears only its own conflicts.
        "SELECT id, job_id, reason FROM conflicts
         WHERE resolved_at IS NULL
             AND (job_id = ANY($1) OR (job_id = ANY($2) AND technician_id = $3))
         ORDER BY job_id",
    )
    .await?;
    let applied_through_seq = fresh.last().map(|e| e.seq).unwrap_or(last_seq);
    let (_, _, receipt_rows, conflict_rows) = tokio::try_join!(
        async {
            Ok::<_, HqError>(
                tx.execute(&set_last_seq, &[&device.id.0, &applied_through_seq])
                    .await?,
            )
        },
        async {
            Ok::<_, HqError>(
                tx.execute(
                    &set_jobs,
                    &[
                        &now,
                        &receipt_ids,
                        &hashes,
                        &statuses,
                        &support_set,
                        &problems,
                        &requested_at,
                    ],
                )
                .await?,
            )
        },
        async { Ok::<_, HqError>(tx.query(&read_receipts, &[&accepted_ids]).await?) },
        async {
            Ok::<_, HqError>(
                tx.query(
                    &read_conflicts,
                    &[&accepted_ids, &refused_ids, &device.technician_id.0],
                )
                .await?,
            )
        }
    )?;
    let receipts = receipt_rows
        .iter()
        .map(|row| {
            Ok(Receipt {
                job_id: JobId(row.try_get(0)?),
                content_hash: row.try_get(1)?,
                server_time: row.try_get(2)?,
            })
        })
        .collect::<HqResult<Vec<_>>>()?;
    let conflicts = conflict_rows
        .iter()
        .map(|row| {
            Ok(ConflictNotice {
                conflict_id: ConflictId(row.try_get(0)?),
                job_id: JobId(row.try_get(1)?),
                reason: enum_parse::<ConflictReason>(row.try_get(2)?)?,
            })
        })
        .collect::<HqResult<Vec<_>>>()?;
    Ok(PushResponse {
        applied_through_seq,
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
