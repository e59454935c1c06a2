//! Row decoding and the reads every concern shares. Ids are UUID columns,
//! times TIMESTAMPTZ, enums text (`codec`).

use deadpool_postgres::{Client, GenericClient, Transaction};
use doorstep_core::wire::{ConflictId, DeviceId, TechnicianId, TechnicianRef};
use doorstep_core::{Customer, Job, JobId, VisitRecord};
use tokio_postgres::{Row, Statement};
use uuid::Uuid;

use crate::error::{HqError, HqResult};
use crate::records::{Conflict, DeviceInfo, DispatchedJob, StoredChange, StoredOp};
use crate::rules;
use crate::storage::codec::enum_parse;

pub(super) const JOB_COLUMNS: &str =
    "id, customer_id, customer_name, phone, address, job_type, sub_case, \
     fault_description, window_start, window_end, status, earlier_visits, technician_id, visit, \
     (SELECT account_number FROM customers WHERE customers.id = jobs.customer_id), \
     reported_at, due_by";
/// How many columns `JOB_COLUMNS` names: a query that selects more after
/// them reads those from this index on.
pub(super) const JOB_COLUMN_COUNT: usize = 17;

pub(super) fn read_job(row: &Row) -> HqResult<DispatchedJob> {
    Ok(DispatchedJob {
        job: Job {
            id: JobId(row.try_get(0)?),
            customer: Customer {
                id: doorstep_core::CustomerId(row.try_get(1)?),
                name: row.try_get(2)?,
                phone: row.try_get(3)?,
                address: row.try_get(4)?,
                account_number: row.try_get(14)?,
            },
            job_type: enum_parse(row.try_get(5)?)?,
            sub_case: enum_parse(row.try_get(6)?)?,
            fault_description: row.try_get(7)?,
            window_start: row.try_get(8)?,
            window_end: row.try_get(9)?,
            status: enum_parse(row.try_get(10)?)?,
            earlier_visits: serde_json::from_str(row.try_get(11)?).map_err(HqError::storage)?,
            visit: visit_from_sql(row.try_get(13)?)?,
            // The service judges it against the customer's history.
            repeat_of: None,
            reported_at: row.try_get(15)?,
            due_by: row.try_get(16)?,
        },
        technician_id: row.try_get::<_, Option<Uuid>>(12)?.map(TechnicianId),
    })
}

/// A visit number as PostgreSQL's INTEGER holds it.
pub(super) fn visit_to_sql(visit: u32) -> HqResult<i32> {
    i32::try_from(visit).map_err(HqError::storage)
}

pub(super) fn visit_from_sql(visit: i32) -> HqResult<u32> {
    u32::try_from(visit).map_err(HqError::storage)
}

pub(super) const DEVICE_COLUMNS: &str =
    "id, name, technician_id, enrolled_at, revoked_at, last_seq";

pub(super) fn read_device(row: &Row) -> HqResult<DeviceInfo> {
    Ok(DeviceInfo {
        id: DeviceId(row.try_get(0)?),
        name: row.try_get(1)?,
        technician_id: TechnicianId(row.try_get(2)?),
        enrolled_at: row.try_get(3)?,
        revoked_at: row.try_get(4)?,
        last_seq: row.try_get(5)?,
    })
}

pub(super) const CONFLICT_COLUMNS: &str =
    "id, job_id, device_id, technician_id, reason, op_id, created_at, \
     resolved_at, resolution, note, resolved_by";

pub(super) fn read_conflict(row: &Row) -> HqResult<Conflict> {
    Ok(Conflict {
        id: ConflictId(row.try_get(0)?),
        job_id: JobId(row.try_get(1)?),
        device_id: DeviceId(row.try_get(2)?),
        technician_id: TechnicianId(row.try_get(3)?),
        reason: enum_parse(row.try_get(4)?)?,
        op_id: row.try_get(5)?,
        created_at: row.try_get(6)?,
        resolved_at: row.try_get(7)?,
        resolution: row
            .try_get::<_, Option<&str>>(8)?
            .map(enum_parse)
            .transpose()?,
        note: row.try_get(9)?,
        resolved_by: row.try_get(10)?,
    })
}

pub(super) async fn load_job<C: GenericClient>(
    client: &C,
    job: JobId,
) -> HqResult<Option<DispatchedJob>> {
    client
        .query_opt(
            &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"),
            &[&job.0],
        )
        .await?
        .as_ref()
        .map(read_job)
        .transpose()
}

/// `sql` prepared once per connection and kept: a statement sent as text is
/// parsed and described on every call, a round trip before it can run.
/// PostgreSQL soon plans a kept statement once for any parameters; a read
/// of a table every sync grows from empty (`ops`, `blobs`) is sent with
/// `query_typed` instead: one round trip too, planned for its parameters
/// each time, so it never keeps a plan made while the table was empty
/// (a new HQ's first minutes, until autovacuum's ANALYZE), scanning it
/// whole since.
pub(super) async fn statement<C: GenericClient>(client: &C, sql: &str) -> HqResult<Statement> {
    Ok(client.prepare_cached(sql).await?)
}

/// A transaction for a write of a batch that finds its rows by key
/// (`UNNEST` of arrays, `= ANY` of ids), its statements planned once for any
/// parameters: their plan is the same whatever the values, while a plan made
/// for the values holds each array as a constant, a push's or an upload's
/// megabytes copied through the planner on every call until PostgreSQL
/// settles on one plan after five (per statement, per connection).
pub(super) async fn batch_transaction(client: &mut Client) -> HqResult<Transaction<'_>> {
    let tx = client.transaction().await?;
    tx.batch_execute("SET LOCAL plan_cache_mode = force_generic_plan")
        .await?;
    Ok(tx)
}

/// The jobs among `jobs` that HQ holds, each locked as it is read, in id
/// order (as `lock_jobs`): what is read is what the transaction writes over.
pub(super) async fn lock_and_load_jobs<C: GenericClient>(
    client: &C,
    jobs: &[Uuid],
) -> HqResult<Vec<DispatchedJob>> {
    let locked = statement(
        client,
        &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ANY($1) ORDER BY id FOR UPDATE"),
    )
    .await?;
    client
        .query(&locked, &[&jobs])
        .await?
        .iter()
        .map(read_job)
        .collect()
}

/// Locks the jobs' rows until the transaction ends, in id order so two
/// transactions locking overlapping sets cannot deadlock. A push and a
/// dispatcher's change to the same job take this lock before they read it,
/// so neither writes back a job the other changed since it read.
pub(super) async fn lock_jobs<C: GenericClient>(client: &C, jobs: &[Uuid]) -> HqResult<()> {
    client
        .query(
            "SELECT id FROM jobs WHERE id = ANY($1) ORDER BY id FOR UPDATE",
            &[&jobs],
        )
        .await?;
    Ok(())
}

pub(super) async fn next_change<C: GenericClient>(client: &C) -> HqResult<i64> {
    Ok(client
        .query_one(
            "UPDATE counters SET value = value + 1 WHERE name = 'job_change' RETURNING value",
            &[],
        )
        .await?
        .try_get(0)?)
}

/// The op log's columns with the technician each op's device belongs to,
/// over `ops o JOIN devices d ON d.id = o.device_id`; `read_op` reads them.
pub(super) const OP_COLUMNS: &str =
    "o.op_id, o.device_id, o.seq, o.job_id, o.kind, o.payload, o.device_time, \
     o.server_time, o.visit, d.technician_id, o.clock_skew_seconds";

pub(super) fn read_op(row: &Row) -> HqResult<StoredOp> {
    Ok(StoredOp {
        op_id: row.try_get(0)?,
        device_id: DeviceId(row.try_get(1)?),
        seq: row.try_get(2)?,
        job_id: JobId(row.try_get(3)?),
        kind: row.try_get(4)?,
        payload: row.try_get(5)?,
        device_time: row.try_get(6)?,
        server_time: row.try_get(7)?,
        visit: visit_from_sql(row.try_get(8)?)?,
        technician_id: TechnicianId(row.try_get(9)?),
        clock_skew_seconds: row.try_get(10)?,
    })
}

pub(super) async fn job_ops<C: GenericClient>(client: &C, job: JobId) -> HqResult<Vec<StoredOp>> {
    client
        .query(
            &format!(
                "SELECT {OP_COLUMNS} FROM ops o JOIN devices d ON d.id = o.device_id
                 WHERE o.job_id = $1 ORDER BY o.id"
            ),
            &[&job.0],
        )
        .await?
        .iter()
        .map(read_op)
        .collect()
}

/// The job's current visit as HQ holds it, rebuilt from its op log.
pub(super) async fn rebuilt_visit<C: GenericClient>(
    client: &C,
    job: &DispatchedJob,
) -> HqResult<VisitRecord> {
    let ops = job_ops(client, job.job.id).await?;
    Ok(rules::rebuild_visit(
        job.job.clone(),
        rules::current_visit_ops(job, &ops),
    ))
}

/// The query for technicians' changes read across jobs (`StoredChange`):
/// the ops `condition` picks (over `ops o` and `devices d`), each with its
/// job and who made it, in `order` (over `c.device_time`, `c.op_row`).
pub(super) fn stored_changes_sql(condition: &str, order: &str) -> String {
    format!(
        "SELECT {JOB_COLUMNS}, c.by_id, c.by_name, c.payload, c.device_time
         FROM (SELECT o.id AS op_row, o.job_id, o.payload, o.device_time,
                      d.technician_id AS by_id, t.name AS by_name
               FROM ops o JOIN devices d ON d.id = o.device_id
                    JOIN technicians t ON t.id = d.technician_id
               WHERE {condition}) c
         JOIN jobs ON jobs.id = c.job_id
         ORDER BY {order}"
    )
}

/// A row of `stored_changes_sql`.
pub(super) fn read_stored_change(row: &Row) -> HqResult<StoredChange> {
    Ok(StoredChange {
        dispatched: read_job(row)?,
        by: TechnicianRef {
            id: TechnicianId(row.try_get(JOB_COLUMN_COUNT)?),
            name: row.try_get(JOB_COLUMN_COUNT + 1)?,
        },
        payload: row.try_get(JOB_COLUMN_COUNT + 2)?,
        device_time: row.try_get(JOB_COLUMN_COUNT + 3)?,
    })
}
