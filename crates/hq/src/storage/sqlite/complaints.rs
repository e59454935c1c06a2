//! Complaints: those taken at HQ (the `complaints` table), and those taken
//! on site, read off the technicians' changes.

use async_trait::async_trait;
use doorstep_core::{ComplaintRecord, ComplaintReply, RecordId};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::audit::write_audit;
use super::rows::{
    collect, id, opt_ts, parse_ts, read_job, read_stored_change, stored_changes_sql, ts,
    JOB_COLUMNS, JOB_COLUMN_COUNT,
};
use super::SqliteStorage;
use crate::error::{HqError, HqResult};
use crate::records::{AuditRecord, DispatchedJob, HqComplaint, StoredChange};
use crate::storage::ComplaintStore;

const COLUMNS: &str =
    "id, job_id, taken_by, issue, reply_by, raised_at, callback_at, callback_result, satisfied";
/// The same, with the id renamed so it does not clash with a job's beside it.
const BESIDE_A_JOB: &str = "id AS complaint_id, job_id, taken_by, issue, reply_by, raised_at, \
     callback_at, callback_result, satisfied";

/// The complaint in `COLUMNS` order, from column `at` on.
fn read_complaint(row: &Row, at: usize) -> HqResult<HqComplaint> {
    let callback = match opt_ts(row.get(at + 6)?)? {
        Some(when) => Some(ComplaintReply {
            at: when,
            result: row.get::<_, Option<String>>(at + 7)?.unwrap_or_default(),
            satisfied: row.get::<_, Option<bool>>(at + 8)?.unwrap_or(false),
        }),
        None => None,
    };
    Ok(HqComplaint {
        job_id: id(&row.get::<_, String>(at + 1)?)?,
        record: ComplaintRecord {
            id: id(&row.get::<_, String>(at)?)?,
            taken_by: row.get(at + 2)?,
            issue: row.get(at + 3)?,
            reply_by: parse_ts(&row.get::<_, String>(at + 4)?)?,
            raised_at: parse_ts(&row.get::<_, String>(at + 5)?)?,
            callback,
        },
    })
}

/// The complaints dispatchers took at HQ on a customer's jobs, oldest first.
pub(super) fn taken_at_hq(conn: &Connection, customer_id: &str) -> HqResult<Vec<ComplaintRecord>> {
    Ok(collect(
        conn,
        &format!(
            "SELECT {COLUMNS} FROM complaints
             WHERE job_id IN (SELECT id FROM jobs WHERE customer_id = ?1)
             ORDER BY raised_at, id"
        ),
        [customer_id],
        |row| read_complaint(row, 0),
    )?
    .into_iter()
    .map(|taken| taken.record)
    .collect())
}

#[async_trait]
impl ComplaintStore for SqliteStorage {
    async fn take_complaint(&self, complaint: &HqComplaint, audit: &AuditRecord) -> HqResult<()> {
        let (complaint, audit) = (complaint.clone(), audit.clone());
        self.write(move |tx| {
            let job = complaint.job_id.to_string();
            let exists: Option<i64> = tx
                .query_row("SELECT 1 FROM jobs WHERE id = ?1", [&job], |row| row.get(0))
                .optional()?;
            if exists.is_none() {
                return Err(HqError::NotFound(format!("job {job}")));
            }
            let c = &complaint.record;
            tx.execute(
                &format!("INSERT INTO complaints ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, NULL, NULL)"),
                params![c.id.to_string(), job, c.taken_by, c.issue, ts(&c.reply_by), ts(&c.raised_at)],
            )?;
            write_audit(tx, &audit)
        })
        .await
    }

    async fn hq_complaint(&self, complaint: RecordId) -> HqResult<Option<HqComplaint>> {
        self.read(move |conn| {
            conn.query_row(
                &format!("SELECT {COLUMNS} FROM complaints WHERE id = ?1"),
                [complaint.to_string()],
                |row| Ok(read_complaint(row, 0)),
            )
            .optional()?
            .transpose()
        })
        .await
    }

    async fn save_complaint_callback(
        &self,
        complaint: &HqComplaint,
        audit: &AuditRecord,
    ) -> HqResult<()> {
        let (complaint, audit) = (complaint.clone(), audit.clone());
        self.write(move |tx| {
            let reply = complaint.record.callback.as_ref();
            tx.execute(
                "UPDATE complaints SET callback_at = ?2, callback_result = ?3, satisfied = ?4
                 WHERE id = ?1",
                params![
                    complaint.record.id.to_string(),
                    reply.map(|r| ts(&r.at)),
                    reply.map(|r| r.result.clone()),
                    reply.map(|r| r.satisfied),
                ],
            )?;
            write_audit(tx, &audit)
        })
        .await
    }

    async fn hq_complaints(&self) -> HqResult<Vec<(DispatchedJob, HqComplaint)>> {
        self.read(|conn| {
            collect(
                conn,
                &format!(
                    "SELECT {JOB_COLUMNS}, c.* FROM (SELECT {BESIDE_A_JOB} FROM complaints) c
                     JOIN jobs ON jobs.id = c.job_id ORDER BY c.raised_at, c.complaint_id"
                ),
                [],
                |row| Ok((read_job(row)?, read_complaint(row, JOB_COLUMN_COUNT)?)),
            )
        })
        .await
    }

    async fn complaint_changes(&self) -> HqResult<Vec<StoredChange>> {
        self.read(|conn| {
            collect(
                conn,
                &stored_changes_sql(
                    "o.kind IN ('raise_complaint', 'log_complaint_callback')",
                    "c.op_row",
                ),
                [],
                read_stored_change,
            )
        })
        .await
    }
}
