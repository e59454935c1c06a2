//! The technician's confirm-by-phone tasks (standard item 10): completed
//! outdoor repairs whose confirmation call is still to be made.

use doorstep_core::rules::confirm_call_due;
use doorstep_core::{JobId, Timestamp};
use serde::Serialize;

use crate::codec::id_from_sql;
use crate::{Store, StoreError};

/// One confirmation call to make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfirmCall {
    pub job_id: JobId,
    pub customer_name: String,
    pub phone: String,
    pub due: Timestamp,
    /// The due time has passed (judged at the time the list was asked for).
    pub overdue: bool,
}

/// The most tasks read at once: the latest completed jobs come first, and a
/// technician never has more confirmation calls than this outstanding.
const CANDIDATES: usize = 200;

impl Store {
    /// The confirmation calls still to make, soonest due first. The store
    /// picks completed fault jobs with no confirmation logged; the rule
    /// (`rules::confirm_call_due`) decides which of them need one and when,
    /// in the operator's time zone.
    pub fn confirm_calls(&self, now: Timestamp) -> Result<Vec<ConfirmCall>, StoreError> {
        let zone = self.time_zone()?;
        let mut statement = self.conn.prepare_cached(&format!(
            "SELECT j.id, c.name, c.phone FROM jobs j JOIN customers c ON c.id = j.customer_id
             WHERE j.status = 'completed' AND j.job_type = 'fault'
               AND NOT EXISTS (SELECT 1 FROM call_logs l
                               WHERE l.job_id = j.id AND l.outcome = 'repair_confirmed')
             ORDER BY j.completed_at DESC LIMIT {CANDIDATES}"
        ))?;
        let candidates = statement
            .query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut calls = Vec::new();
        for (id, customer_name, phone) in candidates {
            let job_id = id_from_sql(&id)?;
            if let Some(due) = confirm_call_due(&self.visit(job_id)?, &zone) {
                calls.push(ConfirmCall {
                    job_id,
                    customer_name,
                    phone,
                    due,
                    overdue: due < now,
                });
            }
        }
        calls.sort_by_key(|call| call.due);
        Ok(calls)
    }
}
