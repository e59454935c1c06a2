//! One sync: pull, blobs, push. Holds the store's lock only for each short
//! read or write, never across a network call, so the UI never waits on HQ.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use chrono::Utc;
use doorstep_core::change::Change;
use doorstep_core::wire::{
    ConflictNotice, DeviceId, EnrollResponse, PushEntry, PushRequest, PushResponse, Receipt,
    StoredBlobs, MAX_BLOB_QUERY,
};
use doorstep_core::JobId;
use doorstep_store::{OutboxEntry, Store, StoreError};
use serde::Serialize;
use tokio::task::JoinSet;

use crate::{HqClient, SyncError};

/// Outbox entries per push request.
pub const BATCH_SIZE: usize = 2_000;
/// Bytes per upload request (blobs, or a push batch's changes) on a link
/// that carries them: large enough that HQ commits a few times per depot
/// sync, small enough that the progress bar moves on a slow link.
pub const REQUEST_BYTES: u64 = 2 * 1024 * 1024;
/// A link that cuts connections halves the request size for the next sync,
/// down to this; a sync that goes through doubles it, up to `REQUEST_BYTES`.
/// So a link that never carries 2 MiB in one go still gets everything up.
const SMALLEST_REQUEST: u64 = 16 * 1024;
/// What a push entry costs on the wire besides its payload (ids, times).
const ENTRY_OVERHEAD: u64 = 200;
/// Blob uploads under way at once: while HQ writes one, the next ones arrive
/// and are hashed (with the depot bench, 2 MiB x 3 beat 4 MiB x 1 and x 2).
const UPLOADS_IN_FLIGHT: usize = 3;

const HQ_URL: &str = "hq_url";
const DEVICE_ID: &str = "device_id";
const DEVICE_TOKEN: &str = "device_token";
const TECHNICIAN: &str = "technician";
const LINK_REQUEST_BYTES: &str = "sync_request_bytes";

fn locked(store: &Mutex<Store>) -> std::sync::MutexGuard<'_, Store> {
    store.lock().unwrap_or_else(|e| e.into_inner())
}

/// What the app knows once enrolled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Enrollment {
    pub hq_url: String,
    pub device_id: DeviceId,
    pub technician: String,
    #[serde(skip)]
    pub token: String,
}

impl Enrollment {
    pub fn load(store: &Store) -> Result<Option<Enrollment>, StoreError> {
        let (Some(hq_url), Some(device_id), Some(token)) = (
            store.setting(HQ_URL)?,
            store.setting(DEVICE_ID)?,
            store.setting(DEVICE_TOKEN)?,
        ) else {
            return Ok(None);
        };
        let device_id = device_id
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("device id {device_id}")))?;
        Ok(Some(Enrollment {
            hq_url,
            device_id,
            technician: store.setting(TECHNICIAN)?.unwrap_or_default(),
            token,
        }))
    }

    pub fn client(&self) -> Result<HqClient, SyncError> {
        HqClient::new(&self.hq_url, Some(self.token.clone()))
    }
}

/// Trades a one-time code for this device's token and remembers it. The demo
/// set, if that is what the store holds, makes way for HQ's jobs.
pub async fn enroll(
    store: &Mutex<Store>,
    hq_url: &str,
    code: &str,
    device_name: &str,
) -> Result<Enrollment, SyncError> {
    let client = HqClient::new(hq_url, None)?;
    let EnrollResponse {
        device_id,
        token,
        technician,
    } = client.enroll(code, device_name).await?;
    let mut store = locked(store);
    store.clear_demo_data()?;
    store.set_setting(HQ_URL, Some(client.base_url()))?;
    store.set_setting(DEVICE_ID, Some(&device_id.to_string()))?;
    store.set_setting(DEVICE_TOKEN, Some(&token))?;
    store.set_setting(TECHNICIAN, Some(&technician.name))?;
    Ok(Enrollment {
        hq_url: client.base_url().to_string(),
        device_id,
        technician: technician.name,
        token,
    })
}

/// Where a sync is, for a progress bar.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Progress {
    /// "pull", "blobs" or "push".
    pub phase: &'static str,
    pub items_done: usize,
    pub items_total: usize,
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub eta_seconds: Option<f64>,
}

/// A job whose changes did not go, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotSent {
    pub job_id: JobId,
    pub code: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct SyncSummary {
    pub jobs_pulled: usize,
    pub jobs_removed: usize,
    pub changes_pushed: usize,
    pub blobs_sent: usize,
    pub bytes_sent: u64,
    pub receipts: Vec<Receipt>,
    pub conflicts: Vec<ConflictNotice>,
    pub not_sent: Vec<NotSent>,
    /// The customer of each job named above, as the store knows them.
    pub customers: BTreeMap<JobId, String>,
}

type Upload = (Vec<String>, u64, Result<StoredBlobs, SyncError>);

/// Keeps what HQ confirmed of one blob upload.
fn upload_done(
    store: &Mutex<Store>,
    summary: &mut SyncSummary,
    meter: &mut Meter<'_>,
    joined: Result<Upload, tokio::task::JoinError>,
) -> Result<(), SyncError> {
    let (hashes, size, stored) = joined.map_err(|e| SyncError::Network(e.to_string()))?;
    let stored = stored?;
    locked(store).mark_blobs_on_hq(&hashes)?;
    summary.blobs_sent += stored.stored.len();
    summary.bytes_sent += size;
    meter.advance(hashes.len(), size);
    Ok(())
}

/// Splits blobs into upload requests of at most `max_bytes` each (a larger
/// blob goes alone).
fn blob_batches(blobs: &[(String, u64)], max_bytes: u64) -> Vec<&[(String, u64)]> {
    let mut batches = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (n, (_, size)) in blobs.iter().enumerate() {
        if n > start && bytes + size > max_bytes {
            batches.push(&blobs[start..n]);
            (start, bytes) = (n, 0);
        }
        bytes += size;
    }
    if start < blobs.len() {
        batches.push(&blobs[start..]);
    }
    batches
}

/// The first entries of `batch` that fit in `max_bytes` (at least one).
fn within(mut batch: Vec<OutboxEntry>, max_bytes: u64) -> Vec<OutboxEntry> {
    let mut bytes = 0;
    let fits = batch
        .iter()
        .position(|entry| {
            bytes += entry.payload.len() as u64 + ENTRY_OVERHEAD;
            bytes > max_bytes
        })
        .map_or(batch.len(), |n| n.max(1));
    batch.truncate(fits);
    batch
}

/// The request size to try on this link: what the last sync left.
fn request_bytes(store: &Store) -> Result<u64, StoreError> {
    Ok(store
        .setting(LINK_REQUEST_BYTES)?
        .and_then(|text| text.parse().ok())
        .unwrap_or(REQUEST_BYTES)
        .clamp(SMALLEST_REQUEST, REQUEST_BYTES))
}

/// The request size for the next sync, after one that went through (`Ok`)
/// or was cut by the network (a transient `Err`).
fn next_request_bytes(current: u64, outcome: &Result<(), SyncError>) -> u64 {
    match outcome {
        Ok(()) => current.saturating_mul(2),
        Err(e) if e.is_transient() => current / 2,
        Err(_) => current,
    }
    .clamp(SMALLEST_REQUEST, REQUEST_BYTES)
}

/// The blobs an outbox entry refers to.
fn blob_hashes(change: &Change) -> Vec<String> {
    match change {
        Change::Sign(signature) => vec![signature.png_hash.clone(), signature.strokes_hash.clone()],
        Change::AddPhoto(photo) => vec![photo.blob_hash.clone()],
        _ => Vec::new(),
    }
}

fn to_wire(entry: &OutboxEntry) -> Result<PushEntry, SyncError> {
    let corrupt = |what: String| SyncError::Store(StoreError::Corrupt(what));
    Ok(PushEntry {
        seq: entry.seq,
        op_id: entry
            .op_id
            .parse()
            .map_err(|_| corrupt(format!("op id {}", entry.op_id)))?,
        job_id: entry.job_id,
        kind: entry.kind.clone(),
        payload: serde_json::from_str(&entry.payload)
            .map_err(|e| corrupt(format!("outbox {}: {e}", entry.seq)))?,
        device_time: entry.device_time,
    })
}

struct Meter<'a> {
    progress: Progress,
    started: Instant,
    report: &'a mut (dyn FnMut(&Progress) + Send),
}

impl Meter<'_> {
    fn advance(&mut self, items: usize, bytes: u64) {
        self.progress.items_done += items;
        self.progress.bytes_done += bytes;
        let elapsed = self.started.elapsed().as_secs_f64();
        let remaining = self
            .progress
            .bytes_total
            .saturating_sub(self.progress.bytes_done);
        self.progress.eta_seconds = (self.progress.bytes_done > 0 && elapsed > 0.0)
            .then(|| remaining as f64 / (self.progress.bytes_done as f64 / elapsed));
        (self.report)(&self.progress);
    }

    fn phase(&mut self, phase: &'static str) {
        self.progress.phase = phase;
        (self.report)(&self.progress);
    }
}

/// One whole sync. `cancel` is checked between requests: what HQ confirmed
/// stays confirmed, the rest goes next time.
pub async fn sync_once(
    store: &Mutex<Store>,
    report: &mut (dyn FnMut(&Progress) + Send),
    cancel: &AtomicBool,
) -> Result<SyncSummary, SyncError> {
    let enrollment = Enrollment::load(&locked(store))?.ok_or(SyncError::NotEnrolled)?;
    let client = enrollment.client()?;
    let mut summary = SyncSummary::default();

    // Pull HQ's dispatch first: it decides which jobs are still ours.
    let cursor = locked(store).pull_cursor()?;
    let pulled = client.pull(cursor.as_deref()).await?;
    summary.jobs_pulled = pulled.jobs.len();
    summary.jobs_removed = pulled.removed.len();
    locked(store).apply_dispatch(&pulled)?;

    let plan = plan_upload(store, &client).await?;
    let mut meter = Meter {
        progress: Progress {
            phase: "blobs",
            items_done: 0,
            items_total: plan.changes + plan.blobs.len(),
            bytes_done: 0,
            bytes_total: plan.change_bytes + plan.blobs.iter().map(|(_, size)| size).sum::<u64>(),
            eta_seconds: None,
        },
        started: Instant::now(),
        report,
    };
    let max_bytes = request_bytes(&locked(store))?;
    let sent = async {
        meter.phase("blobs");
        let blobs = blob_batches(&plan.blobs, max_bytes);
        send_blobs(store, &client, blobs, &mut meter, &mut summary, cancel).await?;
        meter.phase("push");
        let device = enrollment.device_id;
        push_outbox(
            store,
            &client,
            device,
            max_bytes,
            &mut meter,
            &mut summary,
            cancel,
        )
        .await
    }
    .await;
    let next = next_request_bytes(max_bytes, &sent);
    if next != max_bytes {
        locked(store).set_setting(LINK_REQUEST_BYTES, Some(&next.to_string()))?;
    }
    sent?;
    let named = (summary.receipts.iter().map(|r| r.job_id))
        .chain(summary.conflicts.iter().map(|c| c.job_id))
        .chain(summary.not_sent.iter().map(|n| n.job_id));
    summary.customers = locked(store).customer_names(named)?;
    Ok(summary)
}

/// What is still to send: outbox entries, and the blobs they name that HQ
/// lacks, with their sizes.
struct UploadPlan {
    changes: usize,
    change_bytes: u64,
    blobs: Vec<(String, u64)>,
}

/// Sizes the upload. Blobs HQ holds already (sent by a sync whose answer
/// was lost) are only marked as held.
async fn plan_upload(store: &Mutex<Store>, client: &HqClient) -> Result<UploadPlan, SyncError> {
    let pending = locked(store).pending_outbox()?;
    let mut named = Vec::new();
    let mut seen = HashSet::new();
    for entry in &pending {
        let change: Change = serde_json::from_str(&entry.payload)
            .map_err(|e| StoreError::Corrupt(format!("outbox {}: {e}", entry.seq)))?;
        named.extend(
            blob_hashes(&change)
                .into_iter()
                .filter(|h| seen.insert(h.clone())),
        );
    }
    let unsent = locked(store).blobs_not_on_hq(&named)?;
    let mut lacking = HashSet::new();
    for chunk in unsent.chunks(MAX_BLOB_QUERY) {
        let hashes: Vec<String> = chunk.iter().map(|(hash, _)| hash.clone()).collect();
        lacking.extend(client.missing_blobs(&hashes).await?);
    }
    let (blobs, held): (Vec<_>, Vec<_>) = unsent
        .into_iter()
        .partition(|(hash, _)| lacking.contains(hash));
    let held: Vec<String> = held.into_iter().map(|(hash, _)| hash).collect();
    locked(store).mark_blobs_on_hq(&held)?;
    Ok(UploadPlan {
        changes: pending.len(),
        change_bytes: pending.iter().map(|e| e.payload.len() as u64).sum(),
        blobs,
    })
}

/// Sends blobs before the changes that name them, a few MiB per request,
/// the next already on its way while HQ writes one. Returning early drops
/// the set, which aborts what is still in flight.
async fn send_blobs(
    store: &Mutex<Store>,
    client: &HqClient,
    batches: Vec<&[(String, u64)]>,
    meter: &mut Meter<'_>,
    summary: &mut SyncSummary,
    cancel: &AtomicBool,
) -> Result<(), SyncError> {
    let mut uploads = JoinSet::new();
    for batch in batches {
        if cancel.load(Ordering::Relaxed) {
            return Err(SyncError::Cancelled);
        }
        let hashes: Vec<String> = batch.iter().map(|(hash, _)| hash.clone()).collect();
        let size: u64 = batch.iter().map(|(_, size)| size).sum();
        let bytes = locked(store).blobs(&hashes)?;
        let bytes: Vec<(String, Vec<u8>)> = hashes.iter().cloned().zip(bytes).collect();
        if uploads.len() >= UPLOADS_IN_FLIGHT {
            if let Some(done) = uploads.join_next().await {
                upload_done(store, summary, meter, done)?;
            }
        }
        let client = client.clone();
        uploads.spawn(async move {
            let stored = client.put_blobs(bytes).await;
            (hashes, size, stored)
        });
    }
    while let Some(done) = uploads.join_next().await {
        upload_done(store, summary, meter, done)?;
    }
    Ok(())
}

/// Pushes the outbox in order, a batch at a time. While HQ applies one
/// batch, the app keeps HQ's answer to the one before and reads the next.
/// An answer not yet kept when the app stops costs nothing: HQ skips what
/// it already holds and answers again.
async fn push_outbox(
    store: &Mutex<Store>,
    client: &HqClient,
    device_id: DeviceId,
    max_bytes: u64,
    meter: &mut Meter<'_>,
    summary: &mut SyncSummary,
    cancel: &AtomicBool,
) -> Result<(), SyncError> {
    let read_after = |seq| {
        Ok::<_, SyncError>(within(
            locked(store).outbox_batch(seq, BATCH_SIZE)?,
            max_bytes,
        ))
    };
    let mut batch = read_after(0)?;
    let mut unkept: Option<PushResponse> = None;
    let keep = |answer: Option<PushResponse>| match answer {
        Some(answer) => locked(store).record_push(&answer, &Utc::now()),
        None => Ok(()),
    };
    loop {
        if cancel.load(Ordering::Relaxed) {
            keep(unkept.take())?;
            return Err(SyncError::Cancelled);
        }
        let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
            break;
        };
        let (first_seq, last_seq, first_job) = (first.seq, last.seq, first.job_id);
        let request = PushRequest {
            device_id,
            entries: batch.iter().map(to_wire).collect::<Result<_, _>>()?,
        };
        let bytes: u64 = batch.iter().map(|e| e.payload.len() as u64).sum();
        let previous = unkept.take();
        let (answer, next) = tokio::join!(client.push(&request), async {
            keep(previous)?;
            read_after(last_seq)
        });
        let next = next?;
        match answer {
            Ok(response) => {
                let sent = batch
                    .iter()
                    .filter(|e| e.seq <= response.applied_through_seq)
                    .count();
                summary.changes_pushed += sent;
                summary.bytes_sent += bytes;
                merge_receipts(&mut summary.receipts, response.receipts.clone());
                summary.conflicts.extend(response.conflicts.clone());
                meter.advance(sent, bytes);
                let whole = response.applied_through_seq >= last_seq;
                unkept = Some(response);
                if sent == 0 {
                    break; // HQ took nothing: do not spin; the next sync retries
                }
                batch = if whole {
                    next
                } else {
                    keep(unkept.take())?;
                    read_after(0)?
                };
            }
            // HQ already holds entries we never heard back about (the answer
            // was lost): they are durable there, so mark them and go on.
            Err(SyncError::Refused { error, .. })
                if error.code == "sequence_gap"
                    && error.expected_seq.is_some_and(|next| next > first_seq) =>
            {
                let through = error.expected_seq.unwrap_or(first_seq) - 1;
                locked(store).mark_sent_through(through, &Utc::now())?;
                batch = read_after(0)?;
            }
            Err(SyncError::Refused { error, .. }) if error.job_id.is_some() => {
                // Order per device is kept, so nothing after this entry goes.
                summary.not_sent.push(NotSent {
                    job_id: error.job_id.unwrap_or(first_job),
                    code: error.code.clone(),
                    reason: error.message.clone(),
                });
                break;
            }
            Err(other) => return Err(other),
        }
    }
    keep(unkept)?;
    Ok(())
}

fn merge_receipts(all: &mut Vec<Receipt>, new: Vec<Receipt>) {
    for receipt in new {
        match all.iter_mut().find(|r| r.job_id == receipt.job_id) {
            Some(existing) => *existing = receipt,
            None => all.push(receipt),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_halves_the_request_size_and_a_sync_that_goes_through_doubles_it() {
        let cut = Err(SyncError::Network("reset".into()));
        let refused = Err(SyncError::NotEnrolled);
        assert_eq!(next_request_bytes(REQUEST_BYTES, &cut), REQUEST_BYTES / 2);
        assert_eq!(next_request_bytes(SMALLEST_REQUEST, &cut), SMALLEST_REQUEST);
        assert_eq!(next_request_bytes(64 * 1024, &Ok(())), 128 * 1024);
        assert_eq!(next_request_bytes(REQUEST_BYTES, &Ok(())), REQUEST_BYTES);
        assert_eq!(
            next_request_bytes(64 * 1024, &refused),
            64 * 1024,
            "a refusal says nothing about the link"
        );
    }
}
