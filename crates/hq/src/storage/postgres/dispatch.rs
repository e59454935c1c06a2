//! The dispatcher's side: creating and changing jobs, reading them with
//! their records, resolving conflicts. What a change does is `rules`' call.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use doorstep_core::wire::{ConflictId, Receipt, Resolution, TechnicianId};
use doorstep_core::{JobId, RequestedSupport, Timestamp};

use super::audit::write_audit;
use super::customers::match_customer;
use super::leads::read_leads;
use super::rows::{
    job_ops, load_job, lock_jobs, next_change, read_conflict, read_job, read_stored_change,
    rebuilt_visit, stored_changes_sql, visit_to_sql, CONFLICT_COLUMNS, JOB_COLUMNS,
    JOB_COLUMN_COUNT,
};
use super::PostgresStorage;
use crate::error::{HqError, HqResult};
use crate::records::{
    self, AuditRecord, AwaitingSupport, CallFilter, Conflict, DispatchChange, DispatchedJob,
    JobRecords, LeadFilter, LeadRecord, StoredChange,
};
use crate::rules;
use crate::storage::codec::enum_text;
use crate::storage::DispatchStore;

#[async_trait]
impl DispatchStore for PostgresStorage {
    async fn create_jobs(
        &self,
        jobs: &[DispatchedJob],
        now: Timestamp,
        audit: &[AuditRecord],
    ) -> HqResult<Vec<DispatchedJob>> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let mut jobs = jobs.to_vec();
        for dispatched in &mut jobs {
            let seq = next_change(&tx).await?;
            match_customer(&tx, &mut dispatched.job, now).await?;
            let job = &dispatched.job;
            let earlier = serde_json::to_string(&job.earlier_visits).map_err(HqError::storage)?;
            let inserted = tx
                .execute(
                    "INSERT INTO jobs (id, customer_id, customer_name, phone, address, job_type,
                        sub_case, fault_description, window_start, window_end, status,
                        earlier_visits, technician_id, change_seq, created_at, visit,
                        reported_at, due_by)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, $13, $14,
                        $15, $16, $17)
                     ON CONFLICT (id) DO NOTHING",
                    &[
                        &job.id.0,
                        &job.customer.id.0,
                        &job.customer.name,
                        &job.customer.phone,
                        &job.customer.address,
                        &enum_text(&job.job_type),
                        &enum_text(&job.sub_case),
                        &job.fault_description,
                        &job.window_start,
                        &job.window_end,
                        &enum_text(&job.status),
                        &earlier,
                        &seq,
                        &now,
                        &visit_to_sql(job.visit)?,
                        &job.reported_at,
                        &job.due_by,
                    ],
                )
                .await?;
            rules::new_job(job.id, inserted == 0)?;
            if let Some(technician) = dispatched.technician_id {
                assign(&tx, job.id, technician, seq).await?;
            }
        }
        for entry in audit {
            write_audit(&tx, entry).await?;
        }
        tx.commit().await?;
        Ok(jobs)
    }

    async fn change_job(
        &self,
        job: JobId,
        change: DispatchChange,
        audit: &AuditRecord,
    ) -> HqResult<DispatchedJob> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // Take the counter first: dispatch writes commit in counter order.
        let seq = next_change(&tx).await?;
        // The job's row lock, as a push takes it: no push writes the job
        // back from a read older than this change.
        lock_jobs(&tx, &[job.0]).await?;
        let current = load_job(&tx, job)
            .await?
            .ok_or_else(|| HqError::NotFound(format!("job {job}")))?;
        let next = rules::change_job(&current, &change)?;
        store_dispatch(&tx, &current, &next, seq).await?;
        write_audit(&tx, audit).await?;
        let out = load_job(&tx, job)
            .await?
            .ok_or_else(|| HqError::NotFound(format!("job {job}")))?;
        tx.commit().await?;
        Ok(out)
    }

    async fn awaiting_support(&self) -> HqResult<Vec<AwaitingSupport>> {
        self.pool
            .get()
            .await?
            .query(
                &format!(
                    "SELECT {JOB_COLUMNS}, support_problem, support_requested_at FROM jobs
                     WHERE support_requested_at IS NOT NULL ORDER BY support_requested_at, id"
                ),
                &[],
            )
            .await?
            .iter()
            .map(|row| {
                Ok(AwaitingSupport {
                    dispatched: read_job(row)?,
                    request: RequestedSupport {
                        problem: row.try_get(JOB_COLUMN_COUNT)?,
                        requested_at: row.try_get(JOB_COLUMN_COUNT + 1)?,
                    },
                })
            })
            .collect()
    }

    async fn calls(&self, filter: &CallFilter) -> HqResult<Vec<StoredChange>> {
        let technician = filter.technician.map(|t| t.0);
        self.pool
            .get()
            .await?
            .query(
                &stored_changes_sql(
                    "o.kind = 'log_call' AND o.device_time >= $1 AND o.device_time < $2
                     AND ($3::uuid IS NULL OR d.technician_id = $3)",
                    "c.device_time, c.op_row LIMIT $4",
                ),
                &[
                    &filter.from,
                    &filter.to,
                    &technician,
                    &i64::from(filter.limit),
                ],
            )
            .await?
            .iter()
            .map(read_stored_change)
            .collect()
    }

    async fn leads(&self, filter: &LeadFilter) -> HqResult<Vec<LeadRecord>> {
        read_leads(&self.pool.get().await?, filter).await
    }

    async fn jobs_between(&self, from: Timestamp, to: Timestamp) -> HqResult<Vec<DispatchedJob>> {
        self.pool
            .get()
            .await?
            .query(
                &format!(
                    "SELECT {JOB_COLUMNS} FROM jobs WHERE window_start >= $1 AND window_start < $2
                     ORDER BY window_start, id"
                ),
                &[&from, &to],
            )
            .await?
            .iter()
            .map(read_job)
            .collect()
    }

    async fn job_records(&self, job: JobId) -> HqResult<Option<JobRecords>> {
        let mut client = self.pool.get().await?;
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let Some(dispatch) = load_job(&tx, job).await? else {
            return Ok(None);
        };
        let ops = job_ops(&tx, job).await?;
        let records = records::latest_records(&ops);
        let row = tx
            .query_one(
                "SELECT content_hash, receipt_at FROM jobs WHERE id = $1",
                &[&job.0],
            )
            .await?;
        let receipt = match (
            row.try_get::<_, Option<String>>(0)?,
            row.try_get::<_, Option<Timestamp>>(1)?,
        ) {
            (Some(content_hash), Some(server_time)) => Some(Receipt {
                job_id: job,
                server_time,
                content_hash,
            }),
            _ => None,
        };
        let conflicts = tx
            .query(
                &format!(
                    "SELECT {CONFLICT_COLUMNS} FROM conflicts WHERE job_id = $1
                     ORDER BY created_at, id"
                ),
                &[&job.0],
            )
            .await?
            .iter()
            .map(read_conflict)
            .collect::<HqResult<Vec<_>>>()?;
        tx.commit().await?;
        Ok(Some(JobRecords {
            dispatch,
            records,
            ops,
            receipt,
            conflicts,
        }))
    }

    async fn conflicts(&self, open_only: bool) -> HqResult<Vec<Conflict>> {
        self.pool
            .get()
            .await?
            .query(
                &format!(
                    "SELECT {CONFLICT_COLUMNS} FROM conflicts
                     WHERE ($1 = false OR resolved_at IS NULL) ORDER BY created_at, id"
                ),
                &[&open_only],
            )
            .await?
            .iter()
            .map(read_conflict)
            .collect()
    }

    async fn conflict(&self, conflict: ConflictId) -> HqResult<Option<Conflict>> {
        self.pool
            .get()
            .await?
            .query_opt(
                &format!("SELECT {CONFLICT_COLUMNS} FROM conflicts WHERE id = $1"),
                &[&conflict.0],
            )
            .await?
            .as_ref()
            .map(read_conflict)
            .transpose()
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
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let select = format!("SELECT {CONFLICT_COLUMNS} FROM conflicts WHERE id = $1");
        let found = tx
            .query_opt(&format!("{select} FOR UPDATE"), &[&conflict.0])
            .await?
            .as_ref()
            .map(read_conflict)
            .transpose()?
            .ok_or_else(|| HqError::NotFound(format!("conflict {conflict}")))?;
        rules::may_resolve(&found, resolution)?;
        let seq = next_change(&tx).await?;
        if resolution == Resolution::AcceptCompletion {
            lock_jobs(&tx, &[found.job_id.0]).await?;
            let job = load_job(&tx, found.job_id)
                .await?
                .ok_or_else(|| HqError::NotFound(format!("job {}", found.job_id)))?;
            let visit = rebuilt_visit(&tx, &rules::handed_back(&job, &found)).await?;
            let accepted = rules::accept_completion(&job, &found, &visit);
            store_dispatch(&tx, &job, &accepted, seq).await?;
            tx.execute(
                "UPDATE jobs SET content_hash = $2, receipt_at = $3 WHERE id = $1",
                &[&found.job_id.0, &rules::content_hash(&visit), &now],
            )
            .await?;
        }
        tx.execute(
            "UPDATE conflicts SET resolved_at = $2, resolution = $3, note = $4, resolved_by = $5,
                 resolved_seq = $6
             WHERE job_id = $1 AND resolved_at IS NULL",
            &[
                &found.job_id.0,
                &now,
                &enum_text(&resolution),
                &note,
                &by,
                &seq,
            ],
        )
        .await?;
        write_audit(&tx, audit).await?;
        let out = tx
            .query_one(&select, &[&conflict.0])
            .await
            .map_err(HqError::from)
            .and_then(|row| read_conflict(&row))?;
        tx.commit().await?;
        Ok(out)
    }
}

/// Writes the job as a rule left it, at change `seq`; a new technician also
/// takes the job off the previous one's list.
async fn store_dispatch<C: GenericClient>(
    client: &C,
    before: &DispatchedJob,
    after: &DispatchedJob,
    seq: i64,
) -> HqResult<()> {
    client
        .execute(
            "UPDATE jobs SET window_start = $2, window_end = $3, status = $4, change_seq = $5,
                 visit = $6
             WHERE id = $1",
            &[
                &after.job.id.0,
                &after.job.window_start,
                &after.job.window_end,
                &enum_text(&after.job.status),
                &seq,
                &visit_to_sql(after.job.visit)?,
            ],
        )
        .await?;
    if !rules::keeps_receipt(before, after) {
        client
            .execute(
                "UPDATE jobs SET content_hash = NULL, receipt_at = NULL WHERE id = $1",
                &[&after.job.id.0],
            )
            .await?;
    }
    if !rules::keeps_support_request(before, after) {
        client
            .execute(
                "UPDATE jobs SET support_problem = NULL, support_requested_at = NULL
                 WHERE id = $1",
                &[&after.job.id.0],
            )
            .await?;
    }
    match after.technician_id {
        Some(technician) if after.technician_id != before.technician_id => {
            assign(client, after.job.id, technician, seq).await
        }
        _ => Ok(()),
    }
}

async fn assign<C: GenericClient>(
    client: &C,
    job: JobId,
    technician: TechnicianId,
    seq: i64,
) -> HqResult<()> {
    client
        .execute(
            "UPDATE job_assignments SET unassigned_seq = $3
             WHERE job_id = $1 AND technician_id <> $2 AND unassigned_seq IS NULL",
            &[&job.0, &technician.0, &seq],
        )
        .await?;
    client
        .execute(
            "INSERT INTO job_assignments (job_id, technician_id, assigned_seq) VALUES ($1, $2, $3)
             ON CONFLICT (job_id, technician_id) DO UPDATE
                 SET assigned_seq = excluded.assigned_seq, unassigned_seq = NULL",
            &[&job.0, &technician.0, &seq],
        )
        .await?;
    client
        .execute(
            "UPDATE jobs SET technician_id = $2, change_seq = $3 WHERE id = $1",
            &[&job.0, &technician.0, &seq],
        )
        .await?;
    Ok(())
}
