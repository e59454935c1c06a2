//! The audit log: the entry each action writes (built here, stored by the
//! action's own storage call, in its transaction) and reading it back.

use super::{check_text, Hq};
use crate::dto::{AuditPage, AuditQuery};
use crate::error::{HqError, HqResult};
use crate::records::{AuditAction, AuditFilter, AuditRecord};
use crate::time_range;

/// Entries per page unless the query asks for fewer.
pub const AUDIT_PAGE: u32 = 100;
/// The most entries one page holds.
pub const AUDIT_PAGE_MAX: u32 = 500;
/// Details are short: a note or a typed username is cut to this.
const DETAIL_MAX: usize = 200;

/// `text` cut to `max` characters, so no input makes an entry large.
pub(super) fn clip(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

impl Hq {
    /// An entry for `action` by this handle's actor, now, with no target
    /// and no detail yet: each action fills in what it names.
    pub(super) fn audit_entry(&self, action: AuditAction) -> AuditRecord {
        AuditRecord {
            at: self.now(),
            actor: self.actor.username().map(str::to_string),
            action,
            job_id: None,
            technician_id: None,
            device_id: None,
            username: None,
            detail: String::new(),
        }
    }

    /// The same with a detail, cut to a short one.
    pub(super) fn audit_detail(&self, action: AuditAction, detail: &str) -> AuditRecord {
        AuditRecord {
            detail: clip(detail, DETAIL_MAX),
            ..self.audit_entry(action)
        }
    }

    /// `GET /api/v1/audit`: entries matching every filter given, newest
    /// first, a page at a time; `next_before` asks for the next page.
    pub async fn audit(&self, query: AuditQuery) -> HqResult<AuditPage> {
        let limit = query.limit.unwrap_or(AUDIT_PAGE);
        if !(1..=AUDIT_PAGE_MAX).contains(&limit) {
            return Err(HqError::bad_request(
                "bad_query",
                format!("limit is between 1 and {AUDIT_PAGE_MAX}"),
            ));
        }
        let actor = query.actor.filter(|a| !a.trim().is_empty());
        if let Some(actor) = &actor {
            check_text("actor", actor, doorstep_core::SHORT_TEXT_MAX, false)
                .map_err(|m| HqError::bad_request("bad_query", m))?;
        }
        for (field, time) in [("from", query.from), ("to", query.to)] {
            if let Some(time) = time {
                time_range::check_time(field, time)
                    .map_err(|m| HqError::bad_request("time_out_of_range", m))?;
            }
        }
        let mut entries = self
            .storage
            .audit(&AuditFilter {
                actor: actor.map(|a| a.trim().to_string()),
                action: query.action,
                job_id: query.job,
                from: query.from,
                to: query.to,
                before: query.before,
                limit: limit + 1,
            })
            .await?;
        // One more than a page was asked for: if it came, there is a next page.
        let next_before = if entries.len() > limit as usize {
            entries.truncate(limit as usize);
            entries.last().map(|e| e.id)
        } else {
            None
        };
        Ok(AuditPage {
            entries,
            next_before,
        })
    }
}
