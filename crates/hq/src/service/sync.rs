//! A device's sync: pull, push, and the blobs its changes name (a
//! dispatcher downloads them here too).

use doorstep_core::change::Change;
use doorstep_core::signature::sha256_hex;
use doorstep_core::wire::{
    ConflictOutcome, PullResponse, PushEntry, PushRequest, PushResponse, StoredBlob,
    MAX_BLOB_BYTES, MAX_BLOB_QUERY,
};
use doorstep_core::FeeLine;

use std::collections::HashSet;

use super::Hq;
use crate::error::{HqError, HqResult};
use crate::records::IncomingPush;
use crate::rules;
use crate::rules::prices::fees_on_price_list;
use crate::storage::DeviceAuth;
use crate::time_range;

fn parse_cursor(since: Option<&str>) -> HqResult<i64> {
    match since {
        None | Some("") => Ok(0),
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| HqError::bad_request("bad_cursor", "since must be a cursor HQ gave")),
    }
}

/// A blob's name: SHA-256 as 64 hex digits, lower-cased.
pub fn check_hash(hash: &str) -> HqResult<String> {
    if hash.len() == 64 && hash.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(hash.to_ascii_lowercase())
    } else {
        Err(HqError::bad_request(
            "bad_hash",
            "a blob is named by its SHA-256 as 64 hex digits",
        ))
    }
}

impl Hq {
    pub async fn pull(
        &self,
        device: &DeviceAuth,
        since: Option<&str>,
        price_list_version: Option<u32>,
    ) -> HqResult<PullResponse> {
        let since = parse_cursor(since)?;
        let (mut batch, epoch, price_list) = tokio::try_join!(
            self.storage.pull(device.technician_id, since),
            self.storage.epoch(),
            self.price_list_for_device(price_list_version)
        )?;
        let customers = self.with_stories(&mut batch.jobs, &batch.histories);
        Ok(PullResponse {
            customers,
            price_list,
            server_time: Some(self.now()),
            hq_epoch: Some(epoch),
            time_zone: Some(self.time_zone.name().to_string()),
            cursor: batch.cursor.to_string(),
            jobs: batch.jobs,
            removed: batch.removed,
            outcomes: batch
                .resolved
                .into_iter()
                .filter_map(|conflict| {
                    Some(ConflictOutcome {
                        conflict_id: conflict.id,
                        job_id: conflict.job_id,
                        reason: conflict.reason,
                        resolution: conflict.resolution?,
                        note: conflict.note.unwrap_or_default(),
                        resolved_at: conflict.resolved_at?,
                    })
                })
                .collect(),
            documents: batch.documents.iter().map(|d| d.notice()).collect(),
        })
    }

    pub async fn push(&self, device: &DeviceAuth, request: PushRequest) -> HqResult<PushResponse> {
        if request.device_id != device.id {
            return Err(HqError::forbidden(
                "device_mismatch",
                "device_id is not the device this token belongs to",
            ));
        }
        let mut impossible_time = HashSet::new();
        for entry in &request.entries {
            time_range::check_entry_is_storable(entry).map_err(|m| {
                HqError::invalid("time_out_of_range", format!("entry {}: {m}", entry.seq))
            })?;
            if time_range::check_entry(entry).is_err() {
                impossible_time.insert(entry.seq);
            }
        }
        let off_price_list = self.fees_off_price_list(&request.entries).await?;
        let now = self.now();
        let push = IncomingPush {
            entries: rules::prepare(request.entries)?,
            impossible_time,
            off_price_list,
            clock_skew_seconds: rules::clock_skew_flag(request.sent_at, now),
        };
        self.storage.push(device, &push, now).await
    }

    /// The seqs of entries setting fees that were not on the price list the
    /// device held when it recorded them. The history is read only when the
    /// batch sets fees.
    async fn fees_off_price_list(&self, entries: &[PushEntry]) -> HqResult<HashSet<i64>> {
        let fee_entries: Vec<(i64, &[FeeLine])> = entries
            .iter()
            .filter_map(|entry| match &entry.payload {
                Change::SetFees(lines) => Some((entry.seq, lines.as_slice())),
                _ => None,
            })
            .collect();
        if fee_entries.is_empty() {
            return Ok(HashSet::new());
        }
        let history = self.storage.price_history().await?;
        Ok(fee_entries
            .into_iter()
            .filter(|(_, lines)| !fees_on_price_list(lines, &history))
            .map(|(seq, _)| seq)
            .collect())
    }

    /// Stores blobs after checking each one's bytes hash to its name: all of
    /// them in one transaction, or none when any is wrong.
    pub async fn put_blobs(&self, blobs: Vec<(String, Vec<u8>)>) -> HqResult<Vec<StoredBlob>> {
        let mut named = Vec::with_capacity(blobs.len());
        let mut seen = std::collections::HashSet::new();
        for (hash, bytes) in blobs {
            let hash = check_hash(&hash)?;
            if bytes.len() > MAX_BLOB_BYTES {
                return Err(HqError::TooLarge(format!(
                    "blob {hash}: a blob is at most {MAX_BLOB_BYTES} bytes"
                )));
            }
            if seen.insert(hash.clone()) {
                named.push((hash, bytes));
            }
        }
        // Hashing megabytes is CPU work: keep it off the async workers.
        let named = tokio::task::spawn_blocking(move || {
            for (hash, bytes) in &named {
                let actual = sha256_hex(bytes);
                if actual != *hash {
                    return Err(HqError::invalid(
                        "hash_mismatch",
                        format!("the bytes hash to {actual}, not {hash}"),
                    ));
                }
            }
            Ok(named)
        })
        .await
        .map_err(HqError::storage)??;
        let sizes: Vec<(String, u64)> = named
            .iter()
            .map(|(hash, bytes)| (hash.clone(), bytes.len() as u64))
            .collect();
        let created = self.storage.put_blobs(named, self.now()).await?;
        Ok(sizes
            .into_iter()
            .zip(created)
            .map(|((hash, size), created)| StoredBlob {
                hash,
                size,
                created,
            })
            .collect())
    }

    /// The hashes among `hashes` that HQ does not hold, lower-cased.
    pub async fn missing_blobs(&self, hashes: &[String]) -> HqResult<Vec<String>> {
        if hashes.len() > MAX_BLOB_QUERY {
            return Err(HqError::TooLarge(format!(
                "ask about at most {MAX_BLOB_QUERY} blobs at a time"
            )));
        }
        let hashes = hashes
            .iter()
            .map(|hash| check_hash(hash))
            .collect::<HqResult<Vec<_>>>()?;
        self.storage.missing_blobs(&hashes).await
    }

    pub async fn blob(&self, hash: &str) -> HqResult<Vec<u8>> {
        self.storage
            .blob(&check_hash(hash)?)
            .await?
            .ok_or_else(|| HqError::NotFound(format!("blob {hash}")))
    }
}
