//! HQ's leads list: written at push as `rules::leads_after_push` says,
//! read with the dispatcher's filters.

use doorstep_core::leads::is_open;
use doorstep_core::wire::TechnicianId;
use doorstep_core::Timestamp;
use rusqlite::{params, Connection, Transaction};

use super::rows::{collect, id, ts};
use crate::error::{HqError, HqResult};
use crate::records::{DispatchedJob, LeadFilter, LeadRecord};
use crate::rules::LeadFact;
use crate::storage::codec::enum_text;

/// Writes what a push did to the job's leads, in the push's transaction.
pub(super) fn write_leads(
    tx: &Transaction,
    job: &DispatchedJob,
    technician: TechnicianId,
    facts: &[LeadFact],
    now: Timestamp,
) -> HqResult<()> {
    let mut upsert = tx.prepare_cached(
        "INSERT INTO leads (id, job_id, technician_id, customer_name, phone, product, interest,
             open, follow_up_at, body, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (id) DO UPDATE SET technician_id = excluded.technician_id,
             customer_name = excluded.customer_name, phone = excluded.phone,
             product = excluded.product, interest = excluded.interest, open = excluded.open,
             follow_up_at = excluded.follow_up_at, body = excluded.body,
             updated_at = excluded.updated_at",
    )?;
    let mut remove = tx.prepare_cached("DELETE FROM leads WHERE id = ?1 AND job_id = ?2")?;
    for fact in facts {
        match fact {
            LeadFact::Write(lead) => upsert.execute(params![
                lead.id.to_string(),
                job.job.id.to_string(),
                technician.to_string(),
                job.job.customer.name,
                job.job.customer.phone,
                lead.product,
                enum_text(&lead.interest),
                is_open(lead),
                lead.follow_up_at.map(|t| ts(&t.to_utc())),
                serde_json::to_string(lead).map_err(HqError::storage)?,
                ts(&now)
            ])?,
            LeadFact::Remove(lead) => {
                remove.execute(params![lead.to_string(), job.job.id.to_string()])?
            }
        };
    }
    Ok(())
}

pub(super) fn read_leads(conn: &Connection, filter: &LeadFilter) -> HqResult<Vec<LeadRecord>> {
    collect(
        conn,
        "SELECT job_id, technician_id, customer_name, phone, body FROM leads
         WHERE (?1 IS NULL OR technician_id = ?1) AND (?2 IS NULL OR interest = ?2)
           AND (NOT ?3 OR open) AND (?4 IS NULL OR follow_up_at <= ?4)
         ORDER BY follow_up_at IS NULL, follow_up_at, id LIMIT ?5",
        params![
            filter.technician.map(|t| t.to_string()),
            filter.interest.map(|i| enum_text(&i)),
            filter.open_only,
            filter.due_before.map(|t| ts(&t)),
            filter.limit as i64
        ],
        |row| {
            Ok(LeadRecord {
                job_id: id(&row.get::<_, String>(0)?)?,
                technician_id: id(&row.get::<_, String>(1)?)?,
                customer_name: row.get(2)?,
                phone: row.get(3)?,
                lead: serde_json::from_str(&row.get::<_, String>(4)?).map_err(HqError::storage)?,
            })
        },
    )
}
