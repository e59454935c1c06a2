//! Every edit a technician makes is one `Change`. Applying it to a visit is
//! pure: the store persists the result together with an outbox entry, and HQ
//! can replay the same change later (each carries its record ids, so a replay
//! overwrites rather than duplicates).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{DomainError, OwnCommand};
use crate::leads;
use crate::model::{
    Arrival, CallLog, Cleanup, Communicate, Complaint, ComplaintCallback, Departure, FeeLine,
    Feedback, JobStatus, KitCheck, Lead, LeadContact, Photo, RecordId, Replacement,
    RequestedSupport, Reschedule, Signature, Step, SupportRequest, Timestamp, Validate,
    VisitRecord, Work,
};
use crate::prices::PaymentReceipt;
use crate::rules;
use crate::signature;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum Change {
    SetStep(Step),
    LogCall(CallLog),
    SaveDeparture(Departure),
    SaveArrival(Arrival),
    SaveKit(KitCheck),
    SaveWork(Work),
    AddReplacement(Replacement),
    RemoveReplacement(RecordId),
    SetFees(Vec<FeeLine>),
    SaveCommunicate(Communicate),
    SaveFeedback(Feedback),
    SaveCleanup(Cleanup),
    AddLead(Lead),
    RemoveLead(RecordId),
    AddPhoto(Photo),
    RemovePhoto(RecordId),
    Sign(Signature),
    Reschedule(Reschedule),
    Complete,
    /// Asks HQ for support; unlike a reschedule, the job stays open.
    RequestSupport(SupportRequest),
    /// Takes a complaint on site (item 19).
    RaiseComplaint(Complaint),
    /// The owner's callback with the complaint's result.
    LogComplaintCallback(ComplaintCallback),
    /// A follow-up call on a lead recorded on this job, with its result.
    /// Made after the visit, so it is taken on a closed job too.
    LogLeadContact(LeadContact),
    /// The receipt the customer got for the fees.
    SavePayment(PaymentReceipt),
}

impl Change {
    /// The name of what this change touches, for the outbox and for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Change::SetStep(_) => "set_step",
            Change::LogCall(_) => "log_call",
            Change::SaveDeparture(_) => "save_departure",
            Change::SaveArrival(_) => "save_arrival",
            Change::SaveKit(_) => "save_kit",
            Change::SaveWork(_) => "save_work",
            Change::AddReplacement(_) => "add_replacement",
            Change::RemoveReplacement(_) => "remove_replacement",
            Change::SetFees(_) => "set_fees",
            Change::SaveCommunicate(_) => "save_communicate",
            Change::SaveFeedback(_) => "save_feedback",
            Change::SaveCleanup(_) => "save_cleanup",
            Change::AddLead(_) => "add_lead",
            Change::RemoveLead(_) => "remove_lead",
            Change::AddPhoto(_) => "add_photo",
            Change::RemovePhoto(_) => "remove_photo",
            Change::Sign(_) => "sign",
            Change::Reschedule(_) => "reschedule",
            Change::Complete => "complete",
            Change::RequestSupport(_) => "request_support",
            Change::RaiseComplaint(_) => "raise_complaint",
            Change::LogComplaintCallback(_) => "log_complaint_callback",
            Change::LogLeadContact(_) => "log_lead_contact",
            Change::SavePayment(_) => "save_payment",
        }
    }

    /// Refuses what may not come through the generic edit path. A signature
    /// and a photo name blobs: they enter only through their own commands,
    /// which check the image and store it with the change in one transaction.
    pub fn check_generic_edit(&self) -> Result<(), DomainError> {
        match self {
            Change::Sign(_) => Err(DomainError::NeedsOwnCommand(OwnCommand::Sign)),
            Change::AddPhoto(_) => Err(DomainError::NeedsOwnCommand(OwnCommand::AddPhoto)),
            _ => Ok(()),
        }
    }

    /// Applies the change to the visit, or says why it may not be made.
    /// On error the visit is left as it was.
    pub fn apply(&self, visit: &mut VisitRecord, now: Timestamp) -> Result<(), DomainError> {
        // Moving between steps is allowed on a closed job (to read it), and
        // a lead's follow-up call comes after the visit; a call, a complaint
        // and its callback on a completed one (the confirmation after the
        // repair, a complaint made on it); nothing else is.
        match self {
            Change::SetStep(_) | Change::LogLeadContact(_) => {}
            Change::LogCall(_) | Change::RaiseComplaint(_) | Change::LogComplaintCallback(_) => {
                rules::check_may_follow_up(visit)?
            }
            _ => rules::check_open(visit)?,
        }
        match self {
            Change::SetStep(step) => visit.step = *step,
            Change::LogCall(call) => {
                call.validate()?;
                upsert(&mut visit.call_logs, call.clone(), |c| c.id);
            }
            Change::SaveDeparture(departure) => {
                departure.validate()?;
                visit.departure = departure.clone();
            }
            Change::SaveArrival(arrival) => {
                arrival.validate()?;
                visit.arrival = rules::arrival_after_save(&visit.arrival, arrival, now);
            }
            Change::SaveKit(kit) => {
                kit.validate()?;
                visit.kit = kit.clone();
            }
            Change::SaveWork(work) => {
                rules::check_work_may_be_recorded(visit, work)?;
                visit.work = work.clone();
            }
            Change::AddReplacement(replacement) => {
                replacement.validate()?;
                upsert(&mut visit.replacements, replacement.clone(), |r| r.id);
            }
            Change::RemoveReplacement(id) => visit.replacements.retain(|r| r.id != *id),
            Change::SetFees(lines) => {
                crate::prices::validate_fees(lines)?;
                visit.fees = lines.clone();
            }
            Change::SaveCommunicate(communicate) => {
                communicate.validate()?;
                visit.communicate = communicate.clone();
            }
            Change::SaveFeedback(feedback) => {
                feedback.validate()?;
                visit.feedback = feedback.clone();
            }
            Change::SaveCleanup(cleanup) => {
                cleanup.validate()?;
                visit.cleanup = cleanup.clone();
            }
            Change::AddLead(lead) => {
                lead.validate()?;
                let existing = visit.leads.iter().find(|l| l.id == lead.id);
                let saved = leads::lead_after_save(existing, lead);
                upsert(&mut visit.leads, saved, |l| l.id);
            }
            Change::RemoveLead(id) => visit.leads.retain(|l| l.id != *id),
            Change::AddPhoto(photo) => upsert(&mut visit.photos, photo.clone(), |p| p.id),
            Change::RemovePhoto(id) => visit.photos.retain(|p| p.id != *id),
            Change::Sign(signature) => {
                signature::check_signs_current_form(visit, signature)?;
                visit.signature = Some(signature.clone());
            }
            Change::Reschedule(reschedule) => {
                rules::check_reschedule(reschedule, now)?;
                visit.reschedule = Some(reschedule.clone());
                visit.job.status = JobStatus::Rescheduled;
            }
            Change::Complete => {
                rules::check_completion(visit)?;
                visit.job.status = JobStatus::Completed;
                visit.completed_at = Some(now);
            }
            Change::RequestSupport(request) => {
                request.validate()?;
                visit.support_request = Some(RequestedSupport {
                    problem: request.problem.clone(),
                    requested_at: now,
                });
            }
            Change::RaiseComplaint(complaint) => {
                let existing = visit.complaints.iter().find(|c| c.id == complaint.id);
                let record = rules::complaint_taken(existing, complaint, now)?;
                upsert(&mut visit.complaints, record, |c| c.id);
            }
            Change::LogComplaintCallback(callback) => {
                rules::complaint_called_back(&mut visit.complaints, callback, now)?
            }
            Change::LogLeadContact(contact) => {
                contact.validate()?;
                let lead = visit
                    .leads
                    .iter_mut()
                    .find(|l| l.id == contact.lead_id)
                    .ok_or(DomainError::UnknownLead)?;
                leads::log_contact(lead, contact)?;
                // A call after the visit leaves the job's status alone.
                return Ok(());
            }
            Change::SavePayment(receipt) => {
                receipt.validate()?;
                visit.payment = Some(receipt.clone());
            }
        }
        if visit.job.status == JobStatus::Scheduled && !matches!(self, Change::SetStep(_)) {
            visit.job.status = JobStatus::InProgress;
        }
        Ok(())
    }
}

fn upsert<T>(items: &mut Vec<T>, item: T, id: impl Fn(&T) -> RecordId) {
    match items.iter_mut().find(|existing| id(existing) == id(&item)) {
        Some(existing) => *existing = item,
        None => items.push(item),
    }
}
