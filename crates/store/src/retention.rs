//! Retention: what of HQ's jobs the laptop stops holding, and when.
//!
//! The rule (`retention`) is pure: a job with a change still waiting to go
//! up is never removed; a job HQ reassigned away is removed as soon as
//! nothing of it waits; a job completed or rescheduled, acknowledged by HQ
//! (a receipt that matches what the laptop holds), is removed once the
//! retention period has run from the later of its closing and HQ's
//! acknowledgement; a job HQ cancelled, once the period has run from the
//! end of its window (and from HQ's acknowledgement of any change made on
//! it). The sweep (`Store::sweep_retention`) applies it in one
//! transaction and removes each such job whole: its customer (when no other
//! job names them), visit records, photos, signature, earlier visits,
//! receipts, conflicts and its acknowledged outbox entries.

use crate::codec::{enum_from_sql, id_from_sql, time_from_sql};
use crate::sync::BLOBS_IN_USE;
use crate::visit::load_visit;
use crate::{outbox, settings, Store, StoreError};
use chrono::Duration;
use doorstep_core::signature::ServiceForm;
use doorstep_core::{JobId, JobStatus, Timestamp};

/// What the rule needs to know of one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFacts {
    pub status: JobStatus,
    /// HQ took the job off this technician's list (`PullResponse::removed`).
    pub reassigned_away: bool,
    /// An outbox entry of the job HQ has not acknowledged.
    pub unsent_changes: bool,
    /// HQ answered the job's changes with a receipt.
    pub has_receipt: bool,
    /// When the technician completed or rescheduled the visit; for a job
    /// HQ cancelled, the end of its window (the visit was over by then).
    pub closed_at: Option<Timestamp>,
    /// When HQ acknowledged the job's last change (its receipt, or the
    /// answer that covered the change's outbox entry, whichever is later).
    pub acknowledged_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    Keep,
    /// Remove it, provided HQ's receipt is the hash of the service form the
    /// laptop holds (else HQ holds something else and the job stays).
    RemoveIfReceiptMatches,
    /// Remove it: HQ reassigned it away and nothing of it waits to go up.
    Remove,
}

/// Whether the laptop may stop holding a job, at `now`, with this period.
pub fn retention(job: &JobFacts, now: Timestamp, period: Duration) -> Retention {
    if job.unsent_changes {
        return Retention::Keep;
    }
    if job.reassigned_away {
        return Retention::Remove;
    }
    let settled = job.closed_at.max(job.acknowledged_at);
    if job.status == JobStatus::Cancelled {
        // HQ's decision: no receipt to match, and nothing of it waits.
        return match settled {
            Some(settled) if now - settled >= period => Retention::Remove,
            _ => Retention::Keep,
        };
    }
    if !matches!(job.status, JobStatus::Completed | JobStatus::Rescheduled) || !job.has_receipt {
        return Retention::Keep;
    }
    match settled {
        Some(settled) if now - settled >= period => Retention::RemoveIfReceiptMatches,
        _ => Retention::Keep,
    }
}

impl Store {
    /// Removes every job `retention` lets go at `now`, whole, in one
    /// transaction. Returns how many went. Runs at start and after each sync.
    pub fn sweep_retention(&mut self, now: Timestamp) -> Result<usize, StoreError> {
        let period = self.retention_period()?;
        let tx = self.conn.transaction()?;
        let candidates = job_facts(&tx)?;
        let mut gone = Vec::new();
        for (id, facts, receipt) in candidates {
            let remove = match retention(&facts, now, period) {
                Retention::Keep => false,
                Retention::Remove => true,
                Retention::RemoveIfReceiptMatches => {
                    let held = ServiceForm::from_visit(&load_visit(&tx, id)?).content_hash();
                    receipt.as_deref() == Some(held.as_str())
                }
            };
            if remove {
                gone.push(id.to_string());
            }
        }
        if gone.is_empty() {
            return Ok(0); // no commit, so no wait for the disk
        }
        for id in &gone {
            // Every row that names the job goes with it (ON DELETE CASCADE);
            // the outbox names jobs without a foreign key.
            outbox::drop_job(&tx, id)?;
            tx.execute("DELETE FROM jobs WHERE id = ?1", [id])?;
        }
        tx.execute_batch(&format!(
            "DELETE FROM customers WHERE id NOT IN (SELECT customer_id FROM jobs);
             DELETE FROM blobs WHERE hash NOT IN ({BLOBS_IN_USE});"
        ))?;
        settings::drop_last_job_if_gone(&tx)?;
        tx.commit()?;
        Ok(gone.len())
    }
}

/// The jobs the rule might let go (closed, or reassigned away), with their
/// facts and HQ's receipt hash.
fn job_facts(
    conn: &rusqlite::Connection,
) -> Result<Vec<(JobId, JobFacts, Option<String>)>, StoreError> {
    let outbox = outbox::by_job(conn)?;
    let mut statement = conn.prepare(
        "SELECT j.id, j.status, j.reassigned_away, r.content_hash,
                COALESCE(j.completed_at, rs.updated_at,
                    CASE WHEN j.status = 'cancelled' THEN j.window_end END),
                r.server_time
         FROM jobs j
         LEFT JOIN sync_receipts r ON r.job_id = j.id
         LEFT JOIN visit_sections rs ON rs.job_id = j.id AND rs.section = 'reschedule'
         WHERE j.reassigned_away OR j.status IN ('completed', 'rescheduled', 'cancelled')",
    )?;
    let rows = statement.query_map([], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, bool>(2)?,
            row.get::<_, Option<String>>(3)?,
            row.get::<_, Option<String>>(4)?,
            row.get::<_, Option<String>>(5)?,
        ))
    })?;
    let time = |text: Option<&str>| text.map(time_from_sql).transpose();
    rows.map(|row| {
        let (id, status, reassigned_away, receipt, closed, receipt_at) = row?;
        let entries = outbox.get(&id);
        let acked_at = entries.and_then(|e| e.acknowledged_at.as_deref());
        let facts = JobFacts {
            status: enum_from_sql(&status)?,
            reassigned_away,
            unsent_changes: entries.is_some_and(|e| e.unsent),
            has_receipt: receipt.is_some(),
            closed_at: time(closed.as_deref())?,
            acknowledged_at: time(receipt_at.as_deref())?.max(time(acked_at)?),
        };
        Ok((id_from_sql(&id)?, facts, receipt))
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    fn at(text: &str) -> Timestamp {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn closed(status: JobStatus) -> JobFacts {
        JobFacts {
            status,
            reassigned_away: false,
            unsent_changes: false,
            has_receipt: true,
            closed_at: Some(at("2026-11-01T09:00:00Z")),
            acknowledged_at: Some(at("2026-11-03T09:00:00Z")),
        }
    }

    const FORTNIGHT: Duration = Duration::days(14);

    #[test]
    fn a_closed_acknowledged_job_goes_once_the_period_has_run_from_its_acknowledgement() {
        for status in [JobStatus::Completed, JobStatus::Rescheduled] {
            let job = closed(status);
            assert_eq!(
                retention(&job, at("2026-11-17T08:59:00Z"), FORTNIGHT),
                Retention::Keep,
                "14 days count from HQ's acknowledgement, the later of the two"
            );
            assert_eq!(
                retention(&job, at("2026-11-17T09:00:00Z"), FORTNIGHT),
                Retention::RemoveIfReceiptMatches
            );
        }
    }

    #[test]
    fn a_cancelled_job_goes_once_the_period_has_run_from_its_window() {
        // A cancelled job still names its customer: it must not stay for
        // good just because no visit ever closed it.
        let cancelled = JobFacts {
            has_receipt: false,
            acknowledged_at: None,
            ..closed(JobStatus::Cancelled)
        };
        assert_eq!(
            retention(&cancelled, at("2026-11-15T08:59:00Z"), FORTNIGHT),
            Retention::Keep
        );
        assert_eq!(
            retention(&cancelled, at("2026-11-15T09:00:00Z"), FORTNIGHT),
            Retention::Remove
        );
        let worked = JobFacts {
            unsent_changes: true,
            ..cancelled
        };
        assert_eq!(
            retention(&worked, at("2027-01-01T00:00:00Z"), FORTNIGHT),
            Retention::Keep,
            "work not yet at HQ keeps even a cancelled job"
        );
    }

    #[test]
    fn an_unsent_change_keeps_any_job() {
        // What has not reached HQ exists nowhere else: no period, no
        // reassignment may remove it.
        for mut job in [closed(JobStatus::Completed), closed(JobStatus::Scheduled)] {
            job.unsent_changes = true;
            job.reassigned_away = true;
            assert_eq!(
                retention(&job, at("2027-06-01T00:00:00Z"), FORTNIGHT),
                Retention::Keep
            );
        }
    }

    #[test]
    fn a_job_without_a_receipt_or_still_open_stays() {
        let mut unacknowledged = closed(JobStatus::Completed);
        unacknowledged.has_receipt = false;
        let late = at("2027-06-01T00:00:00Z");
        assert_eq!(retention(&unacknowledged, late, FORTNIGHT), Retention::Keep);
        for status in [JobStatus::Scheduled, JobStatus::InProgress] {
            assert_eq!(retention(&closed(status), late, FORTNIGHT), Retention::Keep);
        }
    }

    #[test]
    fn a_job_reassigned_away_goes_as_soon_as_nothing_of_it_waits() {
        let mut job = closed(JobStatus::InProgress);
        job.reassigned_away = true;
        job.has_receipt = false;
        assert_eq!(
            retention(&job, at("2026-11-01T09:00:01Z"), FORTNIGHT),
            Retention::Remove
        );
    }
}
