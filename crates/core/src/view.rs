//! What the UI shows of a visit: the record plus the rules' verdicts on it.

use chrono::TimeZone;
use serde::Serialize;

use crate::clock::{on_hq_clock, ClockOffset};
use crate::error::Lang;
use crate::model::{Timestamp, VisitRecord};
use crate::rules::{confirm_call_due, judge_arrival, missing_for_completion, Missing, Punctuality};
use crate::signature::{signature_is_valid, ServiceForm};
use crate::words::{word_hints, WordHint};

#[derive(Debug, Clone, Serialize)]
pub struct MissingItem {
    pub code: Missing,
    pub label: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct VisitView {
    pub visit: VisitRecord,
    pub missing: Vec<MissingItem>,
    pub signature_valid: bool,
    pub punctuality: Option<Punctuality>,
    pub service_form: ServiceForm,
    pub content_hash: String,
    /// Banned phrases in the text the customer reads, with the approved
    /// wording (a hint, not a refusal).
    pub word_hints: Vec<WordHint>,
    /// When the confirm-by-phone call after an outdoor repair is due, while
    /// it is still to be made (`rules::confirm_call_due`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirm_call_due: Option<Timestamp>,
}

impl VisitView {
    /// `clock` is the last measured offset of the laptop's clock from HQ's:
    /// while it is recent (at `now`, on the laptop's clock), punctuality is
    /// judged on HQ's clock. `zone` is the technician's, for when calls
    /// are allowed.
    pub fn new<Tz: TimeZone>(
        visit: VisitRecord,
        lang: Lang,
        clock: Option<&ClockOffset>,
        now: Timestamp,
        zone: &Tz,
    ) -> VisitView {
        let missing = if visit.job.status.is_closed() {
            Vec::new()
        } else {
            missing_for_completion(&visit)
                .into_iter()
                .map(|code| MissingItem {
                    code,
                    label: code.label(lang),
                })
                .collect()
        };
        let service_form = ServiceForm::from_visit(&visit);
        VisitView {
            missing,
            signature_valid: signature_is_valid(&visit),
            punctuality: visit
                .arrival
                .arrived_at
                .map(|at| judge_arrival(on_hq_clock(at, clock, now), visit.job.window_start)),
            content_hash: service_form.content_hash(),
            word_hints: word_hints(&visit, lang),
            confirm_call_due: confirm_call_due(&visit, zone),
            service_form,
            visit,
        }
    }
}
