//! The calls technicians logged, for a supervisor's review (standard item
//! 20): when, how long, on which job, by whom.

use std::collections::{BTreeMap, HashMap};

use chrono::Duration;
use doorstep_core::change::Change;
use doorstep_core::RecordId;

use super::Hq;
use crate::dto::{CallEntry, CallQuery, CallReview, TechnicianCalls};
use crate::error::{HqError, HqResult};
use crate::records::CallFilter;
use crate::time_range;

/// The range a review covers unless the query says otherwise.
const DEFAULT_DAYS: i64 = 7;
/// The longest range one review covers: a quarter.
const MAX_DAYS: i64 = 93;
/// The most calls one answer holds; a supervisor narrows the range past it.
const CALLS_MAX: u32 = 2_000;

impl Hq {
    /// `GET /api/v1/calls`: calls in [from, to), oldest first, each as last
    /// edited on the laptop, with every technician's totals.
    pub async fn calls(&self, query: CallQuery) -> HqResult<CallReview> {
        let bad = |message: String| HqError::bad_request("bad_query", message);
        let to = query.to.unwrap_or_else(|| self.now());
        let from = query.from.unwrap_or(to - Duration::days(DEFAULT_DAYS));
        time_range::check_time("from", from).map_err(bad)?;
        time_range::check_time("to", to).map_err(bad)?;
        if to <= from {
            return Err(bad("to must be after from".into()));
        }
        if to - from > Duration::days(MAX_DAYS) {
            return Err(bad(format!("a review covers at most {MAX_DAYS} days")));
        }
        let stored = self
            .storage
            .calls(&CallFilter {
                technician: query.technician,
                from,
                to,
                limit: CALLS_MAX + 1,
            })
            .await?;
        let truncated = stored.len() > CALLS_MAX as usize;

        // A call edited on the laptop is pushed again under its own id: the
        // review shows it once, as last edited, where it was first made.
        let mut calls: Vec<CallEntry> = Vec::new();
        let mut position: HashMap<RecordId, usize> = HashMap::new();
        for stored in stored.into_iter().take(CALLS_MAX as usize) {
            // Every stored payload parsed when it was pushed, as this kind.
            let Ok(Change::LogCall(call)) = serde_json::from_str::<Change>(&stored.payload) else {
                continue;
            };
            let entry = CallEntry {
                job_id: stored.dispatched.job.id,
                customer_name: stored.dispatched.job.customer.name,
                technician: stored.by,
                at: call.at,
                outcome: call.outcome,
                duration_seconds: call.duration_seconds,
                note: call.note,
            };
            match position.get(&call.id) {
                Some(&at) => calls[at] = entry,
                None => {
                    position.insert(call.id, calls.len());
                    calls.push(entry);
                }
            }
        }

        let mut totals: BTreeMap<String, TechnicianCalls> = BTreeMap::new();
        for call in &calls {
            let total = totals
                .entry(call.technician.id.to_string())
                .or_insert_with(|| TechnicianCalls {
                    technician: call.technician.clone(),
                    calls: 0,
                    total_seconds: 0,
                });
            total.calls += 1;
            total.total_seconds += u64::from(call.duration_seconds.unwrap_or(0));
        }
        let mut technicians: Vec<TechnicianCalls> = totals.into_values().collect();
        technicians.sort_by(|a, b| a.technician.name.cmp(&b.technician.name));
        Ok(CallReview {
            calls,
            technicians,
            truncated,
        })
    }
}
