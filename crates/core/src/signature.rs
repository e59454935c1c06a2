//! Binding a signature to what was signed.
//!
//! The customer signs the service form summary. Its canonical content is a
//! fixed-order JSON document of exactly what the form shows; the signature
//! stores that document's SHA-256. Any later edit to the form changes the hash,
//! so the signature no longer matches and the UI asks for a new one.

use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::model::{
    fees_total_fen, price_item, JobId, JobType, ReplacedItem, SubCase, VisitRecord,
};

/// The service form (服务单) as the customer reads and signs it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ServiceForm {
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
            .filter_map(|line| {
                price_item(&line.code).map(|item| FeeLineView {
                    code: item.code.to_string(),
                    name_zh: item.name_zh.to_string(),
                    name_en: item.name_en.to_string(),
                    quantity: line.quantity,
                    unit_price_fen: item.unit_price_fen,
                    line_total_fen: item.unit_price_fen as u64 * line.quantity as u64,
                })
            })
            .collect();
        ServiceForm {
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
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Whether the stored signature still covers the form as it is now.
pub fn signature_is_valid(visit: &VisitRecord) -> bool {
    match &visit.signature {
        Some(sig) => sig.signed_content_hash == ServiceForm::from_visit(visit).content_hash(),
        None => false,
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
