//! Complaints taken on site (standard item 19): rebuilt from technicians'
//! changes by the rules that took them on the laptop (core's
//! `complaint_taken`, `complaint_called_back`), each change at its device
//! time. Every visit's count and whoever took them: a complaint does not go
//! away because the job was re-booked. The console's complaint list and the
//! customer's story both read them through here.

use std::collections::HashMap;

use doorstep_core::change::Change;
use doorstep_core::rules::{complaint_called_back, complaint_taken};
use doorstep_core::{ComplaintRecord, RecordId, Timestamp};

/// The complaints raised among `changes` (payloads in the order HQ applied
/// them), each with the `source` of the change that last wrote it, in the
/// order they were first raised. A change that no longer parses, or that
/// the rules refuse, changes nothing.
pub fn on_site_complaints<S, P: AsRef<str>>(
    changes: impl IntoIterator<Item = (S, P, Timestamp)>,
) -> Vec<(S, ComplaintRecord)> {
    let mut complaints: Vec<(S, ComplaintRecord)> = Vec::new();
    let mut at: HashMap<RecordId, usize> = HashMap::new();
    for (source, payload, device_time) in changes {
        match serde_json::from_str::<Change>(payload.as_ref()) {
            Ok(Change::RaiseComplaint(complaint)) => {
                let existing = at.get(&complaint.id).copied();
                let Ok(record) =
                    complaint_taken(existing.map(|i| &complaints[i].1), &complaint, device_time)
                else {
                    continue;
                };
                match existing {
                    Some(i) => complaints[i] = (source, record),
                    None => {
                        at.insert(record.id, complaints.len());
                        complaints.push((source, record));
                    }
                }
            }
            Ok(Change::LogComplaintCallback(callback)) => {
                if let Some(&i) = at.get(&callback.complaint_id) {
                    let _ = complaint_called_back(
                        std::slice::from_mut(&mut complaints[i].1),
                        &callback,
                        device_time,
                    );
                }
            }
            _ => {}
        }
    }
    complaints
}
