//! Row decoding and the reads every concern shares. Times are RFC 3339 text
//! with microseconds (they sort as text), ids are text.

use chrono::{DateTime, SecondsFormat, Utc};
use doorstep_core::wire::TechnicianRef;
use doorstep_core::{Customer, Job, Timestamp, VisitRecord};
use rusqlite::{Connection, Row, Transaction};

use super::super::codec::enum_parse;
use crate::error::{HqError, HqResult};
use crate::records::{Conflict, DeviceInfo, DispatchedJob, StoredChange, StoredOp};
use crate::rules;

pub(super) fn ts(t: &Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(super) fn parse_ts(text: &str) -> HqResult<Timestamp> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| HqError::storage(format!("bad time in database: {text}")))
}

pub(super) fn opt_ts(text: Option<String>) -> HqResult<Option<Timestamp>> {
    text.as_deref().map(parse_ts).transpose()
}

pub(super) fn id<T: std::str::FromStr>(text: &str) -> HqResult<T> {
    text.parse()
        .map_err(|_| HqError::storage(format!("bad id in database: {text}")))
}

pub(super) const JOB_COLUMNS: &str =
    "id, customer_id, customer_name, phone, address, job_type, sub_case, \
     fault_description, window_start, window_end, status, earlier_visits, technician_id, visit, \
     (SELECT account_number FROM customers WHERE customers.id = jobs.customer_id), \
     reported_at, due_by";
/// How many columns `JOB_COLUMNS` names: a query that selects more after
/// them reads those from this index on.
pub(super) const JOB_COLUMN_COUNT: usize = 17;

pub(super) fn read_job(row: &Row) -> HqResult<DispatchedJob> {
    let technician: Option<String> = row.get(12)?;
    Ok(DispatchedJob {
        job: Job {
            id: id(&row.get::<_, String>(0)?)?,
            customer: Customer {
                id: id(&row.get::<_, String>(1)?)?,
                name: row.get(2)?,
                phone: row.get(3)?,
                address: row.get(4)?,
                account_number: row.get(14)?,
            },
            job_type: enum_parse(&row.get::<_, String>(5)?)?,
            sub_case: enum_parse(&row.get::<_, String>(6)?)?,
            fault_description: row.get(7)?,
            window_start: parse_ts(&row.get::<_, String>(8)?)?,
            window_end: parse_ts(&row.get::<_, String>(9)?)?,
            status: enum_parse(&row.get::<_, String>(10)?)?,
            earlier_visits: serde_json::from_str(&row.get::<_, String>(11)?)
                .map_err(HqError::storage)?,
            visit: row.get(13)?,
            // The service judges it against the customer's history.
            repeat_of: None,
            reported_at: opt_ts(row.get(15)?)?,
            due_by: opt_ts(row.get(16)?)?,
        },
        technician_id: technician.as_deref().map(id).transpose()?,
    })
}

pub(super) fn collect<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    read: impl Fn(&Row) -> HqResult<T>,
) -> HqResult<Vec<T>> {
    let mut statement = conn.prepare_cached(sql)?;
    let mut rows = statement.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(read(row)?);
    }
    Ok(out)
}

pub(super) fn load_job(conn: &Connection, job: &str) -> HqResult<Option<DispatchedJob>> {
    let mut statement =
        conn.prepare_cached(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1"))?;
    let mut rows = statement.query([job])?;
    match rows.next()? {
        Some(row) => Ok(Some(read_job(row)?)),
        None => Ok(None),
    }
}

pub(super) fn read_device(row: &Row) -> HqResult<DeviceInfo> {
    Ok(DeviceInfo {
        id: id(&row.get::<_, String>(0)?)?,
        name: row.get(1)?,
        technician_id: id(&row.get::<_, String>(2)?)?,
        enrolled_at: parse_ts(&row.get::<_, String>(3)?)?,
        revoked_at: opt_ts(row.get(4)?)?,
        last_seq: row.get(5)?,
    })
}

pub(super) const DEVICE_COLUMNS: &str =
    "id, name, technician_id, enrolled_at, revoked_at, last_seq";

pub(super) const CONFLICT_COLUMNS: &str =
    "id, job_id, device_id, technician_id, reason, op_id, created_at, \
     resolved_at, resolution, note, resolved_by";

pub(super) fn read_conflict(row: &Row) -> HqResult<Conflict> {
    let resolution: Option<String> = row.get(8)?;
    Ok(Conflict {
        id: id(&row.get::<_, String>(0)?)?,
        job_id: id(&row.get::<_, String>(1)?)?,
        device_id: id(&row.get::<_, String>(2)?)?,
        technician_id: id(&row.get::<_, String>(3)?)?,
        reason: enum_parse(&row.get::<_, String>(4)?)?,
        op_id: id(&row.get::<_, String>(5)?)?,
        created_at: parse_ts(&row.get::<_, String>(6)?)?,
        resolved_at: opt_ts(row.get(7)?)?,
        resolution: resolution.as_deref().map(enum_parse).transpose()?,
        note: row.get(9)?,
        resolved_by: row.get(10)?,
    })
}

/// The next value of the job change counter (HQ's cursor clock).
pub(super) fn next_change(tx: &Transaction) -> HqResult<i64> {
    Ok(tx.query_row(
        "UPDATE counters SET value = value + 1 WHERE name = 'job_change' RETURNING value",
        [],
        |row| row.get(0),
    )?)
}

pub(super) fn job_ops(conn: &Connection, job: &str) -> HqResult<Vec<StoredOp>> {
    collect(
        conn,
        "SELECT o.op_id, o.device_id, o.seq, o.job_id, o.kind, o.payload, o.device_time,
             o.server_time, o.visit, d.technician_id, o.clock_skew_seconds
         FROM ops o JOIN devices d ON d.id = o.device_id
         WHERE o.job_id = ?1 ORDER BY o.id",
        [job],
        |row| {
            Ok(StoredOp {
                op_id: id(&row.get::<_, String>(0)?)?,
                device_id: id(&row.get::<_, String>(1)?)?,
                seq: row.get(2)?,
                job_id: id(&row.get::<_, String>(3)?)?,
                kind: row.get(4)?,
                payload: row.get(5)?,
                device_time: parse_ts(&row.get::<_, String>(6)?)?,
                server_time: parse_ts(&row.get::<_, String>(7)?)?,
                visit: row.get(8)?,
                technician_id: id(&row.get::<_, String>(9)?)?,
                clock_skew_seconds: row.get(10)?,
            })
        },
    )
}

/// The job's current visit as HQ holds it, rebuilt from its op log.
pub(super) fn rebuilt_visit(conn: &Connection, job: &DispatchedJob) -> HqResult<VisitRecord> {
    let ops = job_ops(conn, &job.job.id.to_string())?;
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
            id: id(&row.get::<_, String>(JOB_COLUMN_COUNT)?)?,
            name: row.get(JOB_COLUMN_COUNT + 1)?,
        },
        payload: row.get(JOB_COLUMN_COUNT + 2)?,
        device_time: parse_ts(&row.get::<_, String>(JOB_COLUMN_COUNT + 3)?)?,
    })
}
