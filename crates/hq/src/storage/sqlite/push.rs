//! Device sync: the pull, and the push in one transaction. The push reads
//! each job it names once, replays the ops stored before the batch from the
//! database and the batch's own from memory, and asks `rules` what each
//! change does.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use async_trait::async_trait;
use doorstep_core::wire::{
    ConflictId, ConflictNotice, ConflictReason, PushEntry, PushResponse, Receipt, TechnicianId,
};
use doorstep_core::{JobId, Timestamp};
use rusqlite::{params, Transaction};

use super::customers::history;
use super::documents::documents_since;
use super::leads::write_leads;
use super::rows::{
    collect, id, load_job, parse_ts, read_conflict, read_job, ts, CONFLICT_COLUMNS, JOB_COLUMNS,
};
use super::SqliteStorage;
use crate::error::{HqError, HqResult};
use crate::records::{DeviceAuth, IncomingPush, PullBatch};
use crate::rules;
use crate::storage::codec::{enum_parse, enum_text};
use crate::storage::SyncStore;

#[async_trait]
impl SyncStore for SqliteStorage {
    async fn pull(&self, technician: TechnicianId, since: i64) -> HqResult<PullBatch> {
        self.read(move |conn| {
            let tech = technician.to_string();
            let cursor: i64 = conn.query_row(
                "SELECT value FROM counters WHERE name = 'job_change'",
                [],
                |row| row.get(0),
            )?;
            let jobs: Vec<_> = collect(
                conn,
                &format!(
                    "SELECT {JOB_COLUMNS} FROM jobs WHERE technician_id = ?1 AND change_seq > ?2
                     ORDER BY change_seq"
                ),
                params![tech, since],
                read_job,
            )?
            .into_iter()
            .map(|d| d.job)
            .collect();
            let customers: BTreeSet<String> =
                jobs.iter().map(|j| j.customer.id.to_string()).collect();
            let histories = customers
                .iter()
                .filter_map(|customer| history(conn, customer).transpose())
                .collect::<HqResult<Vec<_>>>()?;
            let removed = collect(
                conn,
                "SELECT job_id FROM job_assignments
                 WHERE technician_id = ?1 AND unassigned_seq > ?2 ORDER BY unassigned_seq",
                params![tech, since],
                |row| id(&row.get::<_, String>(0)?),
            )?;
            let resolved = collect(
                conn,
                &format!(
                    "SELECT {CONFLICT_COLUMNS} FROM conflicts
                     WHERE technician_id = ?1 AND resolved_seq > ?2 ORDER BY resolved_seq"
                ),
                params![tech, since],
                read_conflict,
            )?;
            Ok(PullBatch {
                cursor,
                jobs,
                removed,
                resolved,
                histories,
                documents: documents_since(conn, since)?,
            })
        })
        .await
    }

    async fn push(
        &self,
        device: &DeviceAuth,
        push: &IncomingPush,
        now: Timestamp,
    ) -> HqResult<PushResponse> {
        let device = device.clone();
        let push = push.clone();
        self.write(move |tx| push_in(tx, &device, &push, now)).await
    }
}

fn push_in(
    tx: &Transaction,
    device: &DeviceAuth,
    push: &IncomingPush,
    now: Timestamp,
) -> HqResult<PushResponse> {
    let entries = &push.entries;
    let device_key = device.id.to_string();
    let tech_key = device.technician_id.to_string();
    let now_text = ts(&now);
    let (last_seq, revoked): (i64, Option<String>) = tx.query_row(
        "SELECT last_seq, revoked_at FROM devices WHERE id = ?1",
        [&device_key],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    rules::may_sync(revoked.is_some())?;
    let fresh = rules::fresh(last_seq, entries)?;
    // Ops up to this id were stored before the batch; the batch's own are
    // replayed from memory rather than read back and parsed again.
    let stored_through: i64 =
        tx.query_row("SELECT COALESCE(MAX(id), 0) FROM ops", [], |row| row.get(0))?;

    // Every job named in the batch: it must be one HQ holds that was ever
    // this technician's, or its changes are kept apart (`refused`).
    // Each is read once here; the batch changes only technician records.
    let mut named: Vec<JobId> = entries.iter().map(|e| e.job_id).collect();
    named.sort();
    named.dedup();
    let mut jobs = HashMap::with_capacity(named.len());
    let mut refused = HashMap::new();
    // The jobs a change would conflict on that have a conflict open already;
    // the batch may open more.
    let mut open = HashSet::new();
    // A change kept apart for itself (its time, its fees) opens a conflict unless this
    // technician has one open on the job.
    let impossible_on: HashSet<JobId> = entries
        .iter()
        .filter(|entry| push.entry_refusal(entry).is_some())
        .map(|entry| entry.job_id)
        .collect();
    {
        let mut ever = tx.prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM job_assignments WHERE job_id = ?1 AND technician_id = ?2)",
        )?;
        let mut has_open = tx.prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM conflicts WHERE job_id = ?1 AND resolved_at IS NULL)",
        )?;
        let mut has_open_refusal = tx.prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM conflicts
                 WHERE job_id = ?1 AND technician_id = ?2 AND resolved_at IS NULL)",
        )?;
        for job in &named {
            let ever_assigned = ever.query_row(params![job.to_string(), tech_key], |row| {
                row.get::<_, bool>(0)
            })?;
            let found = load_job(tx, &job.to_string())?;
            if let Some(reason) = rules::refused_write(found.is_some(), ever_assigned) {
                if has_open_refusal
                    .query_row(params![job.to_string(), tech_key], |row| row.get(0))?
                {
                    open.insert(*job);
                }
                refused.insert(*job, reason);
                continue;
            }
            let dispatched = found.ok_or_else(|| HqError::NotFound(format!("job {job}")))?;
            let open_for_dispatch = rules::conflict_reason(&dispatched, device.technician_id)
                .is_some()
                && has_open.query_row([job.to_string()], |row| row.get::<_, bool>(0))?;
            let open_for_time = impossible_on.contains(job)
                && has_open_refusal
                    .query_row(params![job.to_string(), tech_key], |row| row.get(0))?;
            if open_for_dispatch || open_for_time {
                open.insert(*job);
            }
            jobs.insert(*job, dispatched);
        }
    }

    // The op log, or kept apart from it: the same columns either way.
    let mut insert_op = tx.prepare_cached(
        "INSERT INTO ops (op_id, device_id, seq, job_id, kind, payload, device_time, server_time,
             visit, clock_skew_seconds) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (op_id) DO NOTHING",
    )?;
    let mut insert_refused = tx.prepare_cached(
        "INSERT INTO refused_ops (op_id, device_id, seq, job_id, kind, payload, device_time,
             server_time, visit, clock_skew_seconds)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT (op_id) DO NOTHING",
    )?;
    let mut insert_conflict = tx.prepare_cached(
        "INSERT INTO conflicts (id, job_id, device_id, technician_id, reason, op_id,
             created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let mut applied: BTreeMap<JobId, Vec<&PushEntry>> = BTreeMap::new();
    for entry in fresh {
        let op_key = entry.op_id.to_string();
        let job_key = entry.job_id.to_string();
        let kept_apart = rules::refused_entry(
            refused.get(&entry.job_id).copied(),
            push.entry_refusal(entry),
        );
        let insert = if kept_apart.is_some() {
            &mut insert_refused
        } else {
            &mut insert_op
        };
        let inserted = insert.execute(params![
            op_key,
            device_key,
            entry.seq,
            job_key,
            entry.kind,
            serde_json::to_string(&entry.payload).map_err(HqError::storage)?,
            ts(&entry.device_time),
            now_text,
            entry.visit,
            push.clock_skew_seconds
        ])?;
        let reason = match kept_apart {
            Some(reason) => Some(reason),
            // An op_id applied before (from another seq) changes nothing.
            None if inserted == 0 => continue,
            None => {
                let job = &jobs[&entry.job_id];
                if !rules::in_current_visit(&job.job, entry.visit) {
                    continue; // kept as evidence of an earlier visit, nothing more
                }
                applied.entry(entry.job_id).or_default().push(entry);
                rules::conflict_reason(job, device.technician_id)
            }
        };
        if let Some(reason) = rules::unless_open(reason, open.contains(&entry.job_id)) {
            insert_conflict.execute(params![
                ConflictId::new().to_string(),
                job_key,
                device_key,
                tech_key,
                enum_text(&reason),
                op_key,
                now_text
            ])?;
            open.insert(entry.job_id);
        }
    }
    if let Some(last) = fresh.last() {
        tx.execute(
            "UPDATE devices SET last_seq = ?2 WHERE id = ?1",
            params![device_key, last.seq],
        )?;
    }

    // Receipts: recomputed for the jobs this batch changed.
    let mut update_job = tx.prepare_cached(
        "UPDATE jobs SET content_hash = ?2, receipt_at = ?3, status = ?4 WHERE id = ?1",
    )?;
    let mut set_support = tx.prepare_cached(
        "UPDATE jobs SET support_problem = ?2, support_requested_at = ?3 WHERE id = ?1",
    )?;
    let mut earlier_ops = tx.prepare_cached(
        "SELECT o.payload, o.device_time, o.visit, d.technician_id
         FROM ops o JOIN devices d ON d.id = o.device_id
         WHERE o.job_id = ?1 AND o.id <= ?2 ORDER BY o.id",
    )?;
    for (job_id, batch) in &applied {
        let job = &jobs[job_id];
        let mut earlier = Vec::new();
        for row in earlier_ops.query_map(params![job_id.to_string(), stored_through], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, u32>(2)?,
                row.get::<_, String>(3)?,
            ))
        })? {
            let (payload, at, visit, technician) = row?;
            earlier.push((payload, parse_ts(&at)?, visit, id(&technician)?));
        }
        let visit = rules::visit_after_push(
            job,
            earlier.iter().map(|(payload, at, visit, technician)| {
                (payload.as_str(), *at, *visit, *technician)
            }),
            batch,
            device.technician_id,
        );
        let hash = rules::content_hash(&visit);
        let status = rules::status_after_push(job, device.technician_id, &visit);
        update_job.execute(params![
            job_id.to_string(),
            hash,
            now_text,
            enum_text(&status)
        ])?;
        match rules::support_after_push(job, device.technician_id, &visit, batch) {
            rules::SupportFact::Raise(request) => set_support.execute(params![
                job_id.to_string(),
                request.problem,
                ts(&request.requested_at)
            ])?,
            rules::SupportFact::Clear => {
                set_support.execute(params![job_id.to_string(), None::<String>, None::<String>])?
            }
            rules::SupportFact::Keep => 0,
        };
        let leads = rules::leads_after_push(job, device.technician_id, &visit, batch);
        write_leads(tx, job, device.technician_id, &leads, now)?;
    }

    let mut receipts = Vec::new();
    let mut conflicts = Vec::new();
    let mut receipt_of =
        tx.prepare_cached("SELECT content_hash, receipt_at FROM jobs WHERE id = ?1")?;
    for job_id in &named {
        let key = job_id.to_string();
        // Of a job it may not write, the device hears only its own conflicts.
        let others_too = !refused.contains_key(job_id);
        if others_too {
            let (hash, at): (Option<String>, Option<String>) =
                receipt_of.query_row([&key], |row| Ok((row.get(0)?, row.get(1)?)))?;
            if let (Some(content_hash), Some(at)) = (hash, at) {
                receipts.push(Receipt {
                    job_id: *job_id,
                    server_time: parse_ts(&at)?,
                    content_hash,
                });
            }
        }
        for (conflict, reason) in collect(
            tx,
            "SELECT id, reason FROM conflicts
             WHERE job_id = ?1 AND resolved_at IS NULL AND (?2 OR technician_id = ?3)",
            params![key, others_too, tech_key],
            |row| {
                Ok((
                    id::<ConflictId>(&row.get::<_, String>(0)?)?,
                    enum_parse::<ConflictReason>(&row.get::<_, String>(1)?)?,
                ))
            },
        )? {
            conflicts.push(ConflictNotice {
                conflict_id: conflict,
                job_id: *job_id,
                reason,
            });
        }
    }
    let applied_through_seq = fresh.last().map(|e| e.seq).unwrap_or(last_seq);
    Ok(PushResponse {
        applied_through_seq,
        receipts,
        conflicts,
    })
}
