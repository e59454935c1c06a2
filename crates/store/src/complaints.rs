//! Complaints still awaiting their callback (standard item 19), across the
//! technician's jobs: the owner's list of replies owed.

use doorstep_core::rules::complaint_overdue;
use doorstep_core::{ComplaintRecord, JobId, Timestamp};
use serde::Serialize;

use crate::codec::id_from_sql;
use crate::{Store, StoreError};

/// A complaint taken on one of the technician's jobs, not yet called back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenComplaint {
    pub job_id: JobId,
    pub customer_name: String,
    pub phone: String,
    pub complaint: ComplaintRecord,
    /// The promised reply time has passed (`rules::complaint_overdue`).
    pub overdue: bool,
}

impl Store {
    /// Complaints awaiting their callback, the soonest promised first.
    pub fn open_complaints(&self, now: Timestamp) -> Result<Vec<OpenComplaint>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT s.job_id, c.name, c.phone, s.body FROM visit_sections s
             JOIN jobs j ON j.id = s.job_id JOIN customers c ON c.id = j.customer_id
             WHERE s.section = 'complaints'",
        )?;
        let rows = statement
            .query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut open = Vec::new();
        for (job_id, customer_name, phone, body) in rows {
            let job_id = id_from_sql(&job_id)?;
            let complaints: Vec<ComplaintRecord> =
                serde_json::from_str(&body).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            for complaint in complaints.into_iter().filter(|c| c.callback.is_none()) {
                open.push(OpenComplaint {
                    job_id,
                    customer_name: customer_name.clone(),
                    phone: phone.clone(),
                    overdue: complaint_overdue(&complaint, now),
                    complaint,
                });
            }
        }
        open.sort_by_key(|c| c.complaint.reply_by);
        Ok(open)
    }
}
