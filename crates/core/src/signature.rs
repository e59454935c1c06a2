//! Binding a signature to what was signed.
//!
//! The customer signs the service form summary and their own feedback (MOT
//! score and opinion). Its canonical content is a fixed-order JSON document
//! of exactly that; the signature stores that document's SHA-256. Any later
//! edit changes the hash, so the signature no longer matches and the UI asks
//! for a new one.
//!
//! The document carries its layout's version (`form_version`). Version 1
//! (before the feedback was part of it) is frozen in `FormV1`, so that
//! signatures stores made under it stay valid until something version 1
//! covered changes.

use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::error::DomainError;
use crate::model::{JobId, JobType, ReplacedItem, Signature, SubCase, VisitRecord};
use crate::prices::fees_total_fen;

/// The layout of the canonical content that signatures are made over now.
/// Version 2 added the customer's MOT score and opinion.
pub const FORM_VERSION: u32 = 2;

/// The service form (服务单) as the customer reads and signs it, with their
/// feedback.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ServiceForm {
    pub form_version: u32,
    pub job_id: JobId,
    pub customer_name: String,
    pub address: String,
    pub job_type: JobType,
    pub sub_case: SubCase,
    pub fault_point: String,
    pub work_description: String,
    pub indoor: bool,
    pub line_test: bool,
    pub outdoor_line: bool,
    pub replacement: bool,
    pub drilling_wiring: bool,
    pub replacements: Vec<ReplacementLine>,
    pub fees: Vec<FeeLineView>,
    pub total_fen: u64,
    /// The customer's moment-of-truth score, -3 to +3.
    pub mot: Option<i8>,
    pub opinion: String,
}

/// Version 1 of the canonical content, frozen: what signatures made before
/// form version 2 were hashed over (no version field, no feedback). Never
/// change it, or those signatures turn invalid.
#[derive(Serialize)]
struct FormV1<'a> {
    job_id: &'a JobId,
    customer_name: &'a str,
    address: &'a str,
    job_type: &'a JobType,
    sub_case: &'a SubCase,
    fault_point: &'a str,
    work_description: &'a str,
    indoor: bool,
    line_test: bool,
    outdoor_line: bool,
    replacement: bool,
    drilling_wiring: bool,
    replacements: &'a [ReplacementLine],
    fees: &'a [FeeLineView],
    total_fen: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ReplacementLine {
    pub item: ReplacedItem,
    pub old_serial: String,
    pub new_serial: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FeeLineView {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub quantity: u32,
    pub unit_price_fen: u32,
    pub line_total_fen: u64,
}

impl ServiceForm {
    pub fn from_visit(visit: &VisitRecord) -> ServiceForm {
        let fees = visit
            .fees
            .iter()
            // A line shows what it was priced at when recorded (a line
            // from before HQ kept the list, what the first list said): the
            // same bytes as before lines carried their price, so no
            // signature turns invalid, and none when HQ edits the list.
            .filter_map(|line| {
                line.pricing().map(|priced| FeeLineView {
                    code: line.code.clone(),
                    name_zh: priced.name_zh,
                    name_en: priced.name_en,
                    quantity: line.quantity,
                    unit_price_fen: priced.unit_price_fen,
                    line_total_fen: priced.unit_price_fen as u64 * line.quantity as u64,
                })
            })
            .collect();
        ServiceForm {
            form_version: FORM_VERSION,
            job_id: visit.job.id,
            customer_name: visit.job.customer.name.clone(),
            address: visit.job.customer.address.clone(),
            job_type: visit.job.job_type,
            sub_case: visit.job.sub_case,
            fault_point: visit.work.fault_point.trim().to_string(),
            work_description: visit.work.description.trim().to_string(),
            indoor: visit.work.indoor,
            line_test: visit.work.line_test,
            outdoor_line: visit.work.outdoor_line,
            replacement: visit.work.replacement,
            drilling_wiring: visit.work.drilling_wiring,
            replacements: visit
                .replacements
                .iter()
                .map(|r| ReplacementLine {
                    item: r.item,
                    old_serial: r.old_serial.trim().to_string(),
                    new_serial: r.new_serial.trim().to_string(),
                })
                .collect(),
            fees,
            total_fen: fees_total_fen(&visit.fees),
            mot: visit.feedback.mot,
            opinion: visit.feedback.opinion.trim().to_string(),
        }
    }

    /// The exact bytes that are hashed: serde writes struct fields in
    /// declaration order, so the same form always gives the same bytes.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a service form always serializes")
    }

    pub fn content_hash(&self) -> String {
        sha256_hex(&self.canonical_bytes())
    }

    /// The hash a signature made under form version 1 holds for this form.
    pub fn v1_content_hash(&self) -> String {
        let v1 = FormV1 {
            job_id: &self.job_id,
            customer_name: &self.customer_name,
            address: &self.address,
            job_type: &self.job_type,
            sub_case: &self.sub_case,
            fault_point: &self.fault_point,
            work_description: &self.work_description,
            indoor: self.indoor,
            line_test: self.line_test,
            outdoor_line: self.outdoor_line,
            replacement: self.replacement,
            drilling_wiring: self.drilling_wiring,
            replacements: &self.replacements,
            fees: &self.fees,
            total_fen: self.total_fen,
        };
        sha256_hex(&serde_json::to_vec(&v1).expect("a service form always serializes"))
    }

    /// Whether a signature holding `signed_hash` covers this form: it was
    /// made over the form as it is now, or, made under version 1, over
    /// everything version 1 shows as it is now (version 1 hashes never equal
    /// version 2 ones: the bytes differ in the version field).
    pub fn is_signed_by(&self, signed_hash: &str) -> bool {
        signed_hash == self.content_hash() || signed_hash == self.v1_content_hash()
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Whether the stored signature still covers the form as it is now.
pub fn signature_is_valid(visit: &VisitRecord) -> bool {
    match &visit.signature {
        Some(sig) => ServiceForm::from_visit(visit).is_signed_by(&sig.signed_content_hash),
        None => false,
    }
}

/// A new signature must be made over the form as it stands, so no one can
/// attach a signature to content the customer never saw.
pub fn check_signs_current_form(
    visit: &VisitRecord,
    signature: &Signature,
) -> Result<(), DomainError> {
    if ServiceForm::from_visit(visit).is_signed_by(&signature.signed_content_hash) {
        Ok(())
    } else {
        Err(DomainError::SignatureMismatch)
    }
}

#[cfg(test)]
mod tests {
    /// Stored hashes, blob names and token hashes are lowercase hex: a
    /// change of format would orphan every one of them.
    #[test]
    fn sha256_hex_is_lowercase_hex_of_the_digest() {
        assert_eq!(
            super::sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
