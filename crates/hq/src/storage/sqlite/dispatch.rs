//! The dispatcher's side: creating and changing jobs, reading them with
//! their records, resolving conflicts. What a change does is `rules`' call.

use async_trait::async_trait;
use doorstep_core::wire::{ConflictId, Receipt, Resolution};
use doorstep_core::{JobId, RequestedSupport, Timestamp};
use rusqlite::{params, OptionalExtension, Transaction};

use super::audit::write_audit;
use super::customers::match_customer;
use super::leads::read_leads;
use super::rows::{
    collect, job_ops, load_job, next_change, parse_ts, read_conflict, read_job, read_stored_change,
    rebuilt_visit, stored_changes_sql, ts, CONFLICT_COLUMNS, JOB_COLUMNS, JOB_COLUMN_COUNT,
};
use super::SqliteStorage;
use crate::error::{HqError, HqResult};
use crate::records::{
    self, AuditRecord, AwaitingSupport, CallFilter, Conflict, DispatchChange, DispatchedJob,
    JobRecords, LeadFilter, LeadRecord, StoredChange,
};
use crate::rules;
use crate::storage::codec::enum_text;
use crate::storage::DispatchStore;

#[async_trait]
impl DispatchStore for SqliteStorage {
    async fn create_jobs(
        &self,
        jobs: &[DispatchedJob],
        now: Timestamp,
        audit: &[AuditRecord],
    ) -> HqResult<Vec<DispatchedJob>> {
        let (mut jobs, audit) = (jobs.to_vec(), audit.to_vec());
        self.write(move |tx| {
            for dispatched in &mut jobs {
                let seq = next_change(tx)?;
                match_customer(tx, &mut dispatched.job, now)?;
                let job = &dispatched.job;
                let inserted = tx.execute(
                    "INSERT INTO jobs (id, customer_id, customer_name, phone, address, job_type,
                        sub_case, fault_description, window_start, window_end, status,
                        earlier_visits, technician_id, change_seq, created_at, visit,
                        reported_at, due_by)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, NULL, ?13, ?14, ?15,
                        ?16, ?17)
                     ON CONFLICT (id) DO NOTHING",
                    params![
                        job.id.to_string(),
                        job.customer.id.to_string(),
                        job.customer.name,
                        job.customer.phone,
                        job.customer.address,
                        enum_text(&job.job_type),
                        enum_text(&job.sub_case),
                        job.fault_description,
                        ts(&job.window_start),
                        ts(&job.window_end),
                        enum_text(&job.status),
                        serde_json::to_string(&job.earlier_visits).map_err(HqError::storage)?,
                        seq,
                        ts(&now),
                        job.visit,
                        job.reported_at.as_ref().map(ts),
                        job.due_by.as_ref().map(ts),
                    ],
                )?;
                rules::new_job(job.id, inserted == 0)?;
                if let Some(technician) = dispatched.technician_id {
                    assign(tx, &job.id.to_string(), &technician.to_string(), seq)?;
                }
            }
            for entry in &audit {
                write_audit(tx, entry)?;
            }
            Ok(jobs)
        })
        .await
    }

    async fn change_job(
        &self,
        job: JobId,
        change: DispatchChange,
        audit: &AuditRecord,
    ) -> HqResult<DispatchedJob> {
        let audit = audit.clone();
        self.write(move |tx| {
            let key = job.to_string();
            let current =
                load_job(tx, &key)?.ok_or_else(|| HqError::NotFound(format!("job {job}")))?;
            let next = rules::change_job(&current, &change)?;
            store_dispatch(tx, &current, &next, next_change(tx)?)?;
            write_audit(tx, &audit)?;
            load_job(tx, &key)?.ok_or_else(|| HqError::NotFound(format!("job {job}")))
        })
        .await
    }

    async fn awaiting_support(&self) -> HqResult<Vec<AwaitingSupport>> {
        self.read(move |conn| {
            collect(
                conn,
                &format!(
                    "SELECT {JOB_COLUMNS}, support_problem, support_requested_at FROM jobs
                     WHERE support_requested_at IS NOT NULL ORDER BY support_requested_at, id"
                ),
                [],
                |row| {
                    Ok(AwaitingSupport {
                        dispatched: read_job(row)?,
                        request: RequestedSupport {
                            problem: row.get(JOB_COLUMN_COUNT)?,
                            requested_at: parse_ts(&row.get::<_, String>(JOB_COLUMN_COUNT + 1)?)?,
                        },
                    })
                },
            )
        })
        .await
    }

    async fn calls(&self, filter: &CallFilter) -> HqResult<Vec<StoredChange>> {
        let filter = filter.clone();
        self.read(move |conn| {
            collect(
                conn,
                &stored_changes_sql(
                    "o.kind = 'log_call' AND o.device_time >= ?1 AND o.device_time < ?2
                     AND (?3 IS NULL OR d.technician_id = ?3)",
                    "c.device_time, c.op_row LIMIT ?4",
                ),
                params![
                    ts(&filter.from),
                    ts(&filter.to),
                    filter.technician.map(|t| t.to_string()),
                    filter.limit,
                ],
                read_stored_change,
            )
        })
        .await
    }

    async fn leads(&self, filter: &LeadFilter) -> HqResult<Vec<LeadRecord>> {
        let filter = filter.clone();
        self.read(move |conn| read_leads(conn, &filter)).await
    }

    async fn jobs_between(&self, from: Timestamp, to: Timestamp) -> HqResult<Vec<DispatchedJob>> {
        self.read(move |conn| {
            collect(
                conn,
                &format!(
                    "SELECT {JOB_COLUMNS} FROM jobs WHERE window_start >= ?1 AND window_start < ?2
                     ORDER BY window_start, id"
                ),
                params![ts(&from), ts(&to)],
                read_job,
            )
        })
        .await
    }

    async fn job_records(&self, job: JobId) -> HqResult<Option<JobRecords>> {
        self.read(move |conn| {
            let key = job.to_string();
            let Some(dispatch) = load_job(conn, &key)? else {
                return Ok(None);
            };
            let ops = job_ops(conn, &key)?;
            let records = records::latest_records(&ops);
            let receipt: Option<(Option<String>, Option<String>)> = conn
                .query_row(
                    "SELECT content_hash, receipt_at FROM jobs WHERE id = ?1",
                    [&key],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()?;
            let receipt = match receipt {
                Some((Some(content_hash), Some(at))) => Some(Receipt {
                    job_id: job,
                    server_time: parse_ts(&at)?,
                    content_hash,
                }),
                _ => None,
            };
            let conflicts = collect(
                conn,
                &format!("SELECT {CONFLICT_COLUMNS} FROM conflicts WHERE job_id = ?1 ORDER BY created_at, id"),
                [&key],
                read_conflict,
            )?;
            Ok(Some(JobRecords {
                dispatch,
                records,
                ops,
                receipt,
                conflicts,
            }))
        })
        .await
    }

    async fn conflicts(&self, open_only: bool) -> HqResult<Vec<Conflict>> {
        self.read(move |conn| {
            collect(
                conn,
                &format!(
                    "SELECT {CONFLICT_COLUMNS} FROM conflicts
                     WHERE (?1 = 0 OR resolved_at IS NULL) ORDER BY created_at, id"
                ),
                [open_only],
                read_conflict,
            )
        })
        .await
    }

    async fn conflict(&self, conflict: ConflictId) -> HqResult<Option<Conflict>> {
        self.read(move |conn| {
            Ok(collect(
                conn,
                &format!("SELECT {CONFLICT_COLUMNS} FROM conflicts WHERE id = ?1"),
                [conflict.to_string()],
                read_conflict,
            )?
            .pop())
        })
        .await
    }

    async fn resolve_conflict(
        &self,
        conflict: ConflictId,
        resolution: Resolution,
        note: &str,
        by: &str,
        now: Timestamp,
        audit: &AuditRecord,
    ) -> HqResult<Conflict> {
        let (note, by, audit) = (note.to_string(), by.to_string(), audit.clone());
        self.write(move |tx| {
            let select = format!("SELECT {CONFLICT_COLUMNS} FROM conflicts WHERE id = ?1");
            let found = collect(tx, &select, [conflict.to_string()], read_conflict)?
                .pop()
                .ok_or_else(|| HqError::NotFound(format!("conflict {conflict}")))?;
            rules::may_resolve(&found, resolution)?;
            let seq = next_change(tx)?;
            if resolution == Resolution::AcceptCompletion {
                let job = load_job(tx, &found.job_id.to_string())?
                    .ok_or_else(|| HqError::NotFound(format!("job {}", found.job_id)))?;
                let visit = rebuilt_visit(tx, &rules::handed_back(&job, &found))?;
                store_dispatch(
                    tx,
                    &job,
                    &rules::accept_completion(&job, &found, &visit),
                    seq,
                )?;
                tx.execute(
                    "UPDATE jobs SET content_hash = ?2, receipt_at = ?3 WHERE id = ?1",
                    params![
                        found.job_id.to_string(),
                        rules::content_hash(&visit),
                        ts(&now)
                    ],
                )?;
            }
            // Every open conflict on the job is settled by the same decision.
            tx.execute(
                "UPDATE conflicts SET resolved_at = ?2, resolution = ?3, note = ?4,
                     resolved_by = ?5, resolved_seq = ?6 WHERE job_id = ?1 AND resolved_at IS NULL",
                params![
                    found.job_id.to_string(),
                    ts(&now),
                    enum_text(&resolution),
                    note,
                    by,
                    seq
                ],
            )?;
            write_audit(tx, &audit)?;
            collect(tx, &select, [conflict.to_string()], read_conflict)?
                .pop()
                .ok_or_else(|| HqError::NotFound(format!("conflict {conflict}")))
        })
        .await
    }
}

/// Writes the job as a rule left it, at change `seq`; a new technician also
/// takes the job off the previous one's list.
fn store_dispatch(
    tx: &Transaction,
    before: &DispatchedJob,
    after: &DispatchedJob,
    seq: i64,
) -> HqResult<()> {
    let key = after.job.id.to_string();
    tx.execute(
        "UPDATE jobs SET window_start = ?2, window_end = ?3, status = ?4, change_seq = ?5,
             visit = ?6
         WHERE id = ?1",
        params![
            key,
            ts(&after.job.window_start),
            ts(&after.job.window_end),
            enum_text(&after.job.status),
            seq,
            after.job.visit
        ],
    )?;
    if !rules::keeps_receipt(before, after) {
        tx.execute(
            "UPDATE jobs SET content_hash = NULL, receipt_at = NULL WHERE id = ?1",
            [&key],
        )?;
    }
    if !rules::keeps_support_request(before, after) {
        tx.execute(
            "UPDATE jobs SET support_problem = NULL, support_requested_at = NULL WHERE id = ?1",
            [&key],
        )?;
    }
    match after.technician_id {
        Some(technician) if after.technician_id != before.technician_id => {
            assign(tx, &key, &technician.to_string(), seq)
        }
        _ => Ok(()),
    }
}

fn assign(tx: &Transaction, job: &str, technician: &str, seq: i64) -> HqResult<()> {
    tx.execute(
        "UPDATE job_assignments SET unassigned_seq = ?3
         WHERE job_id = ?1 AND technician_id <> ?2 AND unassigned_seq IS NULL",
        params![job, technician, seq],
    )?;
    tx.execute(
        "INSERT INTO job_assignments (job_id, technician_id, assigned_seq) VALUES (?1, ?2, ?3)
         ON CONFLICT (job_id, technician_id) DO UPDATE SET assigned_seq = excluded.assigned_seq,
             unassigned_seq = NULL",
        params![job, technician, seq],
    )?;
    tx.execute(
        "UPDATE jobs SET technician_id = ?2, change_seq = ?3 WHERE id = ?1",
        params![job, technician, seq],
    )?;
    Ok(())
}
