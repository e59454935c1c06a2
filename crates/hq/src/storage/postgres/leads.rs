//! HQ's leads list: written at push as `rules::leads_after_push` says,
//! read with the dispatcher's filters.

use deadpool_postgres::GenericClient;
use doorstep_core::leads::is_open;
use doorstep_core::wire::TechnicianId;
use doorstep_core::{JobId, Timestamp};

use crate::error::{HqError, HqResult};
use crate::records::{DispatchedJob, LeadFilter, LeadRecord};
use crate::rules::LeadFact;
use crate::storage::codec::enum_text;

/// Writes what a push did to the job's leads, in the push's transaction.
pub(super) async fn write_leads<C: GenericClient>(
    client: &C,
    job: &DispatchedJob,
    technician: TechnicianId,
    facts: &[LeadFact],
    now: Timestamp,
) -> HqResult<()> {
    for fact in facts {
        match fact {
            LeadFact::Write(lead) => {
                let body = serde_json::to_string(lead).map_err(HqError::storage)?;
                client
                    .execute(
                        "INSERT INTO leads (id, job_id, technician_id, customer_name, phone,
                             product, interest, open, follow_up_at, body, updated_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                         ON CONFLICT (id) DO UPDATE SET technician_id = excluded.technician_id,
                             customer_name = excluded.customer_name, phone = excluded.phone,
                             product = excluded.product, interest = excluded.interest,
                             open = excluded.open, follow_up_at = excluded.follow_up_at,
                             body = excluded.body, updated_at = excluded.updated_at",
                        &[
                            &lead.id.0,
                            &job.job.id.0,
                            &technician.0,
                            &job.job.customer.name,
                            &job.job.customer.phone,
                            &lead.product,
                            &enum_text(&lead.interest),
                            &is_open(lead),
                            &lead.follow_up_at.map(|t| t.to_utc()),
                            &body,
                            &now,
                        ],
                    )
                    .await?
            }
            LeadFact::Remove(lead) => {
                client
                    .execute(
                        "DELETE FROM leads WHERE id = $1 AND job_id = $2",
                        &[&lead.0, &job.job.id.0],
                    )
                    .await?
            }
        };
    }
    Ok(())
}

pub(super) async fn read_leads<C: GenericClient>(
    client: &C,
    filter: &LeadFilter,
) -> HqResult<Vec<LeadRecord>> {
    client
        .query(
            "SELECT job_id, technician_id, customer_name, phone, body FROM leads
             WHERE ($1::uuid IS NULL OR technician_id = $1) AND ($2::text IS NULL OR interest = $2)
               AND (NOT $3 OR open) AND ($4::timestamptz IS NULL OR follow_up_at <= $4)
             ORDER BY follow_up_at IS NULL, follow_up_at, id LIMIT $5",
            &[
                &filter.technician.map(|t| t.0),
                &filter.interest.map(|i| enum_text(&i)),
                &filter.open_only,
                &filter.due_before,
                &(filter.limit as i64),
            ],
        )
        .await?
        .iter()
        .map(|row| {
            Ok(LeadRecord {
                job_id: JobId(row.try_get(0)?),
                technician_id: TechnicianId(row.try_get(1)?),
                customer_name: row.try_get(2)?,
                phone: row.try_get(3)?,
                lead: serde_json::from_str(row.try_get(4)?).map_err(HqError::storage)?,
            })
        })
        .collect()
}
