//! Complaints: those taken at HQ (the `complaints` table), and those taken
//! on site, read off the technicians' changes.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use doorstep_core::{ComplaintRecord, ComplaintReply, CustomerId, JobId, RecordId, Timestamp};
use tokio_postgres::Row;

use super::audit::write_audit;
use super::rows::{
    read_job, read_stored_change, stored_changes_sql, JOB_COLUMNS, JOB_COLUMN_COUNT,
};
use super::PostgresStorage;
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
    let callback = match row.try_get::<_, Option<Timestamp>>(at + 6)? {
        Some(when) => Some(ComplaintReply {
            at: when,
            result: row
                .try_get::<_, Option<String>>(at + 7)?
                .unwrap_or_default(),
            satisfied: row.try_get::<_, Option<bool>>(at + 8)?.unwrap_or(false),
        }),
        None => None,
    };
    Ok(HqComplaint {
        job_id: JobId(row.try_get(at + 1)?),
        record: ComplaintRecord {
            id: RecordId(row.try_get(at)?),
            taken_by: row.try_get(at + 2)?,
            issue: row.try_get(at + 3)?,
            reply_by: row.try_get(at + 4)?,
            raised_at: row.try_get(at + 5)?,
            callback,
        },
    })
}

/// The query for the complaints dispatchers took at HQ on the jobs of the
/// customers `$1` names, oldest first, each with its customer after
/// `COLUMNS` (`read_taken_at_hq`).
pub(super) fn taken_at_hq_sql() -> String {
    format!(
        "SELECT {COLUMNS}, (SELECT customer_id FROM jobs WHERE jobs.id = complaints.job_id)
         FROM complaints
         WHERE job_id IN (SELECT id FROM jobs WHERE customer_id = ANY($1))
         ORDER BY raised_at, id"
    )
}

/// A row of `taken_at_hq_sql`: the customer and the complaint.
pub(super) fn read_taken_at_hq(row: &Row) -> HqResult<(CustomerId, ComplaintRecord)> {
    Ok((CustomerId(row.try_get(9)?), read_complaint(row, 0)?.record))
}

#[async_trait]
impl ComplaintStore for PostgresStorage {
    async fn take_complaint(&self, complaint: &HqComplaint, audit: &AuditRecord) -> HqResult<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let c = &complaint.record;
        let inserted = tx
            .execute(
                &format!(
                    "INSERT INTO complaints ({COLUMNS})
                     SELECT $1, id, $3, $4, $5, $6, NULL, NULL, NULL FROM jobs WHERE id = $2"
                ),
                &[
                    &c.id.0,
                    &complaint.job_id.0,
                    &c.taken_by,
                    &c.issue,
                    &c.reply_by,
                    &c.raised_at,
                ],
            )
            .await?;
        if inserted == 0 {
            return Err(HqError::NotFound(format!("job {}", complaint.job_id)));
        }
        write_audit(&tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn hq_complaint(&self, complaint: RecordId) -> HqResult<Option<HqComplaint>> {
        self.pool
            .get()
            .await?
            .query_opt(
                &format!("SELECT {COLUMNS} FROM complaints WHERE id = $1"),
                &[&complaint.0],
            )
            .await?
            .as_ref()
            .map(|row| read_complaint(row, 0))
            .transpose()
    }

    async fn save_complaint_callback(
        &self,
        complaint: &HqComplaint,
        audit: &AuditRecord,
    ) -> HqResult<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let reply = complaint.record.callback.as_ref();
        tx.execute(
            "UPDATE complaints SET callback_at = $2, callback_result = $3, satisfied = $4
             WHERE id = $1",
            &[
                &complaint.record.id.0,
                &reply.map(|r| r.at),
                &reply.map(|r| r.result.clone()),
                &reply.map(|r| r.satisfied),
            ],
        )
        .await?;
        write_audit(&tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn hq_complaints(&self) -> HqResult<Vec<(DispatchedJob, HqComplaint)>> {
        self.pool
            .get()
            .await?
            .query(
                &format!(
                    "SELECT {JOB_COLUMNS}, c.* FROM (SELECT {BESIDE_A_JOB} FROM complaints) c
                     JOIN jobs ON jobs.id = c.job_id ORDER BY c.raised_at, c.complaint_id"
                ),
                &[],
            )
            .await?
            .iter()
            .map(|row| Ok((read_job(row)?, read_complaint(row, JOB_COLUMN_COUNT)?)))
            .collect()
    }

    async fn complaint_changes(&self) -> HqResult<Vec<StoredChange>> {
        self.pool
            .get()
            .await?
            .query(
                &stored_changes_sql(
                    "o.kind IN ('raise_complaint', 'log_complaint_callback')",
                    "c.op_row",
                ),
                &[],
            )
            .await?
            .iter()
            .map(read_stored_change)
            .collect()
    }
}
