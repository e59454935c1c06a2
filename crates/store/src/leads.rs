//! The leads list: every lead recorded on the laptop's jobs that still owes
//! a follow-up call, the ones due first. Whether a lead is owed a call and
//! when it is due are core's rules (`doorstep_core::leads`).

use doorstep_core::leads::{due, is_open, Due};
use doorstep_core::{JobId, Lead, Timestamp};
use serde::Serialize;

use crate::codec::id_from_sql;
use crate::visit::lead_from_row;
use crate::{Store, StoreError};

/// One row of the leads list: the lead, and whom to call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeadItem {
    pub job_id: JobId,
    pub customer_name: String,
    pub phone: String,
    pub address: String,
    pub lead: Lead,
    /// How soon the reminder falls; none when no call is planned yet.
    pub due: Option<Due>,
}

/// The leads list and how many of it are due now or today (the badge).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeadList {
    pub leads: Vec<LeadItem>,
    pub due_count: usize,
}

impl Store {
    /// The leads owed a follow-up call, judged at `now`: due now, then due
    /// today, then later, each by reminder time; those with no reminder last.
    /// A laptop holds a few dozen leads at most (its jobs' own), so they are
    /// judged here rather than in SQL.
    pub fn list_leads(&self, now: Timestamp) -> Result<LeadList, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT l.id, l.product, l.interest, l.note, l.follow_up_at, l.contacts,
                    l.job_id, c.name, c.phone, c.address
             FROM leads l JOIN jobs j ON j.id = l.job_id
             JOIN customers c ON c.id = j.customer_id",
        )?;
        let mut cursor = statement.query([])?;
        let mut leads = Vec::new();
        while let Some(row) = cursor.next()? {
            let lead = lead_from_row(row)?;
            if !is_open(&lead) {
                continue;
            }
            leads.push(LeadItem {
                job_id: id_from_sql(&row.get::<_, String>(6)?)?,
                customer_name: row.get(7)?,
                phone: row.get(8)?,
                address: row.get(9)?,
                due: due(&lead, now),
                lead,
            });
        }
        leads.sort_by_key(|item| (item.due.is_none(), item.due, item.lead.follow_up_at));
        let due_count = leads
            .iter()
            .filter(|item| matches!(item.due, Some(Due::Now | Due::Today)))
            .count();
        Ok(LeadList { leads, due_count })
    }
}
