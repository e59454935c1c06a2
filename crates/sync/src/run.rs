//! One sync: pull, blobs, push. Holds the store's lock only for each short
//! read or write, never across a network call, so the UI never waits on HQ.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::Utc;
use doorstep_core::change::Change;
use doorstep_core::clock::ClockOffset;
use doorstep_core::wire::{
    ConflictNotice, DeviceId, EnrollResponse, PushEntry, PushRequest, PushResponse, Receipt,
    StoredBlobs, MAX_BLOB_QUERY,
};
use doorstep_core::{JobId, Timestamp};
use doorstep_store::{BlobReader, DeviceEnrollment, OutboxEntry, Store, StoreError};
use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::recovery;
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

pub(crate) fn locked<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// What the app knows once enrolled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Enrollment {
    pub hq_url: String,
    pub device_id: DeviceId,
    pub technician: String,
    #[serde(skip)]
    pub token: String,
    /// The operator's CA (PEM) that HQ's certificate is checked against,
    /// when it is not a public one.
    #[serde(skip)]
    pub private_ca: Option<String>,
}

impl From<DeviceEnrollment> for Enrollment {
    fn from(kept: DeviceEnrollment) -> Enrollment {
        Enrollment {
            hq_url: kept.hq_url,
            device_id: kept.device_id,
            technician: kept.technician,
            token: kept.token,
            private_ca: kept.private_ca,
        }
    }
}

impl Enrollment {
    pub fn load(store: &Store) -> Result<Option<Enrollment>, StoreError> {
        Ok(store.enrollment()?.map(Enrollment::from))
    }

    pub fn client(&self) -> Result<HqClient, SyncError> {
        HqClient::new(
            &self.hq_url,
            Some(self.token.clone()),
            self.private_ca.as_deref(),
        )
    }
}

/// Trades a one-time code for this device's token and remembers it. The demo
/// set, if that is what the store holds, makes way for HQ's jobs. Enrolling
/// again (after a revocation, or at another HQ) makes a new identity: the
/// changes still waiting are numbered from 1 and go up under it.
/// `private_ca` (PEM) is trusted for HQ's certificate from then on.
pub async fn enroll(
    store: &Mutex<Store>,
    hq_url: &str,
    code: &str,
    device_name: &str,
    private_ca: Option<&str>,
) -> Result<Enrollment, SyncError> {
    let client = HqClient::new(hq_url, None, private_ca)?;
    let EnrollResponse {
        device_id,
        token,
        technician,
    } = client.enroll(code, device_name).await?;
    let mut store = locked(store);
    store.clear_demo_data()?;
    let enrolled = DeviceEnrollment {
        hq_url: client.base_url().to_string(),
        device_id,
        token,
        technician: technician.name,
        private_ca: private_ca.map(str::to_string),
    };
    store.start_outbox_over(&enrolled)?;
    Ok(enrolled.into())
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
    /// How far ahead of HQ's the laptop's clock runs (negative: behind), when
    /// more than `clock::SKEW_WORTH_A_WARNING`: the sync view warns.
    pub clock_skew_seconds: Option<i64>,
    /// The customer of each job named above, as the store knows them.
    pub customers: BTreeMap<JobId, String>,
    /// Technical documents downloaded (new, or a new version).
    pub documents_fetched: usize,
}

/// One blob upload's outcome: its batch's place, hashes and size.
type Upload = (usize, Vec<String>, u64, Result<StoredBlobs, SyncError>);

/// Counts what HQ confirmed of one blob upload; returns the batch's place.
fn upload_done(
    tally: &Mutex<Tally<'_>>,
    confirmed: &mut Vec<String>,
    joined: Result<Upload, tokio::task::JoinError>,
) -> Result<usize, SyncError> {
    let (place, hashes, size, stored) = joined.map_err(|e| SyncError::Network(e.to_string()))?;
    let stored = stored?;
    let mut tally = locked(tally);
    tally.summary.blobs_sent += stored.stored.len();
    tally.summary.bytes_sent += size;
    tally.meter.advance(hashes.len(), size);
    confirmed.extend(hashes);
    Ok(place)
}

/// Splits blobs into upload requests of at most `max_bytes` each (a larger
/// blob goes alone).
fn blob_batches(blobs: &[PlannedBlob], max_bytes: u64) -> Vec<&[PlannedBlob]> {
    let mut batches = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (n, PlannedBlob { size, .. }) in blobs.iter().enumerate() {
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

/// How many of the first `ready` entries fit in `max_bytes` (at least one).
fn fitting<'a>(
    entries: impl IntoIterator<Item = &'a OutboxEntry>,
    ready: usize,
    max_bytes: u64,
) -> usize {
    let mut bytes = 0;
    entries
        .into_iter()
        .take(ready)
        .position(|entry| {
            bytes += entry.payload.len() as u64 + ENTRY_OVERHEAD;
            bytes > max_bytes
        })
        .map_or(ready, |n| n.max(1))
}

/// The request size to try on this link: what the last sync left.
fn request_bytes(store: &Store) -> Result<u64, StoreError> {
    Ok(store
        .request_bytes()?
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

/// The kinds of outbox entry that can name blobs (see `blob_hashes`): the
/// only ones planning a sync needs to read.
const KINDS_NAMING_BLOBS: [&str; 2] = ["sign", "add_photo"];

/// The blobs an outbox entry refers to. Every kind is listed, so a new one
/// has to be placed here, and in `KINDS_NAMING_BLOBS` if it names blobs.
fn blob_hashes(change: &Change) -> Vec<String> {
    match change {
        Change::Sign(signature) => vec![signature.png_hash.clone(), signature.strokes_hash.clone()],
        Change::AddPhoto(photo) => vec![photo.blob_hash.clone()],
        Change::SetStep(_)
        | Change::LogCall(_)
        | Change::SaveDeparture(_)
        | Change::SaveArrival(_)
        | Change::SaveKit(_)
        | Change::SaveWork(_)
        | Change::AddReplacement(_)
        | Change::RemoveReplacement(_)
        | Change::SetFees(_)
        | Change::SaveCommunicate(_)
        | Change::SaveFeedback(_)
        | Change::SaveCleanup(_)
        | Change::AddLead(_)
        | Change::RemoveLead(_)
        | Change::RemovePhoto(_)
        | Change::Reschedule(_)
        | Change::Complete
        | Change::RequestSupport(_)
        | Change::RaiseComplaint(_)
        | Change::LogComplaintCallback(_)
        | Change::LogLeadContact(_)
        | Change::SavePayment(_) => Vec::new(),
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
        visit: entry.visit,
    })
}

/// What blob uploads and the push both add to as they go.
struct Tally<'a> {
    meter: Meter<'a>,
    summary: SyncSummary,
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
/// stays confirmed, the rest goes next time. An HQ found behind the laptop
/// (restored from an older backup) is caught up within the same sync; a
/// refused token is handled as `recovery::after_refusal` says.
pub async fn sync_once(
    store: &Mutex<Store>,
    report: &mut (dyn FnMut(&Progress) + Send),
    cancel: &AtomicBool,
) -> Result<SyncSummary, SyncError> {
    sync_once_with_clock(store, report, cancel, &Utc::now).await
}

/// `sync_once` with the laptop's clock passed in, as it is read to measure
/// the clock against HQ's (tests set it days off).
pub async fn sync_once_with_clock(
    store: &Mutex<Store>,
    report: &mut (dyn FnMut(&Progress) + Send),
    cancel: &AtomicBool,
    clock: &(dyn Fn() -> Timestamp + Sync),
) -> Result<SyncSummary, SyncError> {
    let enrollment = Enrollment::load(&locked(store))?.ok_or(SyncError::NotEnrolled)?;
    let client = enrollment.client()?;
    let device_id = enrollment.device_id;
    let outcome = match sync_pass(store, &client, device_id, report, cancel, clock).await {
        Err(SyncError::HqBehind { held_through }) => {
            locked(store).rewind_to_hq(held_through, &Utc::now())?;
            sync_pass(store, &client, device_id, report, cancel, clock).await
        }
        outcome => outcome,
    };
    if let Err(error) = &outcome {
        recovery::after_refusal(store, error)?;
    }
    outcome
}

/// Pull, then blobs and push.
async fn sync_pass(
    store: &Mutex<Store>,
    client: &HqClient,
    device_id: DeviceId,
    report: &mut (dyn FnMut(&Progress) + Send),
    cancel: &AtomicBool,
    clock: &(dyn Fn() -> Timestamp + Sync),
) -> Result<SyncSummary, SyncError> {
    let mut summary = SyncSummary::default();

    // Pull HQ's dispatch first: it decides which jobs are still ours.
    let (cursor, seen_epoch, price_list_held) = {
        let store = locked(store);
        (
            store.pull_cursor()?,
            store.hq_epoch()?,
            store.price_list()?.version,
        )
    };
    let mut pulled = client.pull(cursor.as_deref(), price_list_held).await?;
    let epoch = pulled.hq_epoch.clone();
    if recovery::epoch_changed(seen_epoch.as_deref(), epoch.as_deref())
        || recovery::cursor_went_back(cursor.as_deref(), &pulled.cursor)
    {
        recovery::rewind_to_hq(store, client, device_id).await?;
        // A restored HQ may number a different list as the version held:
        // take its list whatever it is (no list has version 0).
        pulled = client.pull(None, 0).await?;
    }
    // Kept only once the rewind is done: one cut short is done again. The
    // epoch kept is the one the rewind answered, so a restore in between
    // shows up at the next sync.
    if epoch.is_some() && epoch != seen_epoch {
        locked(store).set_hq_epoch(epoch.as_deref())?;
    }
    if let Some(hq_now) = pulled.server_time {
        let offset = ClockOffset::measure(clock(), hq_now);
        locked(store).set_clock_offset(&offset)?;
        summary.clock_skew_seconds = offset
            .worth_a_warning()
            .then_some(offset.laptop_ahead_seconds);
    }
    summary.jobs_pulled = pulled.jobs.len();
    summary.jobs_removed = pulled.removed.len();
    locked(store).apply_dispatch(&pulled)?;

    let plan = plan_upload(store, client).await?;
    let meter = Meter {
        progress: Progress {
            phase: "blobs",
            items_done: 0,
            items_total: plan.changes + plan.blobs.len(),
            bytes_done: 0,
            bytes_total: plan.change_bytes + plan.blobs.iter().map(|b| b.size).sum::<u64>(),
            eta_seconds: None,
        },
        started: Instant::now(),
        report,
    };
    let tally = Mutex::new(Tally { meter, summary });
    let max_bytes = request_bytes(&locked(store))?;
    // Blobs and changes go at once, on HQ's two writers; a batch of changes
    // waits only until every blob it names is confirmed.
    let blobs = blob_batches(&plan.blobs, max_bytes);
    let (blobs_through, blobs_ready) = watch::channel(first_needing(&blobs, 0));
    let sent = async {
        locked(&tally).meter.phase("blobs");
        tokio::try_join!(
            send_blobs(
                store,
                client,
                plan.reader,
                blobs,
                &blobs_through,
                &tally,
                cancel
            ),
            push_outbox(
                store,
                client,
                Sender { device_id, clock },
                max_bytes,
                blobs_ready,
                &tally,
                cancel,
            ),
        )
        .map(|_| ())
    }
    .await;
    let mut summary = tally
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .summary;
    let next = next_request_bytes(max_bytes, &sent);
    if next != max_bytes {
        locked(store).set_request_bytes(next)?;
    }
    sent?;
    summary.documents_fetched = fetch_documents(store, client, cancel).await?;
    let named = (summary.receipts.iter().map(|r| r.job_id))
        .chain(summary.conflicts.iter().map(|c| c.job_id))
        .chain(summary.not_sent.iter().map(|n| n.job_id));
    summary.customers = locked(store).customer_names(named)?;
    Ok(summary)
}

/// Downloads the documents the pulls announced, after the technician's
/// own work has gone up. Each is kept whole in one store transaction, or
/// stays wanted for the next sync; one HQ retired meanwhile is skipped
/// (the next pull removes it).
async fn fetch_documents(
    store: &Mutex<Store>,
    client: &HqClient,
    cancel: &AtomicBool,
) -> Result<usize, SyncError> {
    let wanted = locked(store).documents_to_fetch()?;
    let mut fetched = 0;
    for notice in wanted {
        if cancel.load(Ordering::Relaxed) {
            break;
        }
        let Some(content) = client.document(notice.id).await? else {
            continue;
        };
        if locked(store).keep_document(&notice, &content)? {
            fetched += 1;
        }
    }
    Ok(fetched)
}

/// What is still to send: outbox entries, and the blobs they name that HQ
/// lacks, in the order the outbox first names them.
struct UploadPlan {
    /// Open while there are blobs to send.
    reader: Option<BlobReader>,
    changes: usize,
    change_bytes: u64,
    blobs: Vec<PlannedBlob>,
}

struct PlannedBlob {
    hash: String,
    size: u64,
    /// The first outbox entry that names it: no entry from there on may go
    /// before the blob is on HQ.
    needed_from: i64,
}

/// The outbox seq through which every named blob is on HQ, once the first
/// `confirmed` blob batches are.
fn first_needing(batches: &[&[PlannedBlob]], confirmed: usize) -> i64 {
    batches
        .get(confirmed)
        .and_then(|batch| batch.first())
        .map_or(i64::MAX, |blob| blob.needed_from - 1)
}

/// Sizes the upload. Blobs HQ holds already (sent by a sync whose answer
/// was lost) are only marked as held.
async fn plan_upload(store: &Mutex<Store>, client: &HqClient) -> Result<UploadPlan, SyncError> {
    let (pending, naming) = {
        let store = locked(store);
        (
            store.pending_outbox_size()?,
            store.pending_payloads_of(&KINDS_NAMING_BLOBS)?,
        )
    };
    let mut named = Vec::new();
    let mut needed_from = HashMap::new();
    for (seq, payload) in &naming {
        let change: Change = serde_json::from_str(payload)
            .map_err(|e| StoreError::Corrupt(format!("outbox {seq}: {e}")))?;
        for hash in blob_hashes(&change) {
            if let Entry::Vacant(first) = needed_from.entry(hash.clone()) {
                first.insert(*seq);
                named.push(hash);
            }
        }
    }
    let mut reader = if named.is_empty() {
        None
    } else {
        Some(locked(store).blob_reader()?)
    };
    let unsent = match &mut reader {
        Some(reader) => reader.not_on_hq(&named)?,
        None => Vec::new(),
    };
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
        reader: reader.filter(|_| !blobs.is_empty()),
        changes: pending.entries,
        change_bytes: pending.payload_bytes,
        blobs: blobs
            .into_iter()
            .map(|(hash, size)| PlannedBlob {
                needed_from: needed_from[&hash],
                hash,
                size,
            })
            .collect(),
    })
}

/// Sends blobs a few MiB per request, the next already on its way while HQ
/// writes one, and tells the push through which outbox seq every named blob
/// is on HQ (`through`). Each upload reads its blobs on a connection of its
/// own, off this task, so answers to the push are not kept waiting.
/// What HQ confirmed is marked in one transaction at the end, also when the
/// uploads stop early; a mark lost (to a crash, or to a push that failed
/// first) costs only a `blobs/missing` question next time. Returning early
/// drops the set, which aborts what is still in flight.
async fn send_blobs(
    store: &Mutex<Store>,
    client: &HqClient,
    reader: Option<BlobReader>,
    batches: Vec<&[PlannedBlob]>,
    through: &watch::Sender<i64>,
    tally: &Mutex<Tally<'_>>,
    cancel: &AtomicBool,
) -> Result<(), SyncError> {
    let Some(reader) = reader else {
        return Ok(());
    };
    let reader = Arc::new(Mutex::new(reader));
    let mut confirmed_hashes = Vec::new();
    let sent = async {
        let mut uploads = JoinSet::new();
        let mut confirmed = vec![false; batches.len()];
        let mut done_upload = |joined| {
            let place = upload_done(tally, &mut confirmed_hashes, joined)?;
            confirmed[place] = true;
            let prefix = confirmed.iter().take_while(|done| **done).count();
            through.send_replace(first_needing(&batches, prefix));
            Ok::<_, SyncError>(())
        };
        for (place, batch) in batches.iter().enumerate() {
            if cancel.load(Ordering::Relaxed) {
                return Err(SyncError::Cancelled);
            }
            let hashes: Vec<String> = batch.iter().map(|blob| blob.hash.clone()).collect();
            let size: u64 = batch.iter().map(|blob| blob.size).sum();
            if uploads.len() >= UPLOADS_IN_FLIGHT {
                if let Some(joined) = uploads.join_next().await {
                    done_upload(joined)?;
                }
            }
            let (client, reader) = (client.clone(), reader.clone());
            uploads.spawn(async move {
                let read = hashes.clone();
                let bytes = tokio::task::spawn_blocking(move || locked(&reader).blobs(&read)).await;
                let stored = match bytes {
                    Ok(Ok(bytes)) => {
                        client
                            .put_blobs(hashes.iter().cloned().zip(bytes).collect())
                            .await
                    }
                    Ok(Err(e)) => Err(e.into()),
                    Err(e) => Err(SyncError::Network(e.to_string())),
                };
                (place, hashes, size, stored)
            });
        }
        while let Some(joined) = uploads.join_next().await {
            done_upload(joined)?;
        }
        Ok(())
    }
    .await;
    locked(store).mark_blobs_on_hq(&confirmed_hashes)?;
    sent
}

/// Who sends the outbox, and the clock that stamps each batch: HQ flags
/// the changes of a batch sent from a clock far from its own.
#[derive(Clone, Copy)]
struct Sender<'a> {
    device_id: DeviceId,
    clock: &'a (dyn Fn() -> Timestamp + Sync),
}

/// Whether the queued entries whose blobs are on HQ (through `through`)
/// make a batch worth a push now: all of them, or as many as one request
/// carries. A smaller one waits for more blobs: every push is a transaction
/// on HQ and a commit on the laptop, and one of a few changes sent ahead of
/// the first signature would double a small sync's pushes.
fn worth_sending(queue: &VecDeque<OutboxEntry>, through: i64, max_bytes: u64) -> bool {
    let ready = queue.partition_point(|e| e.seq <= through);
    ready > 0 && fitting(queue, queue.len(), max_bytes) <= ready
}

/// Pushes the outbox in order, a batch at a time. While HQ applies one
/// batch, the app keeps HQ's answer to the one before and reads ahead.
/// Entries are read once into a queue, however the blobs cut the batches.
/// An answer not yet kept when the app stops costs nothing: HQ skips what
/// it already holds and answers again.
async fn push_outbox(
    store: &Mutex<Store>,
    client: &HqClient,
    sender: Sender<'_>,
    max_bytes: u64,
    mut blobs_through: watch::Receiver<i64>,
    tally: &Mutex<Tally<'_>>,
    cancel: &AtomicBool,
) -> Result<(), SyncError> {
    let read_after = |seq, limit| Ok::<_, SyncError>(locked(store).outbox_batch(seq, limit)?);
    let mut queue: VecDeque<OutboxEntry> = read_after(0, BATCH_SIZE)?.into();
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
        let Some(first_seq) = queue.front().map(|e| e.seq) else {
            break;
        };
        // A batch goes as far as its blobs are on HQ, so the push keeps pace
        // with the uploads rather than waiting for all of a batch's blobs;
        // but only a full one while blobs are still going up (see
        // `worth_sending`). The channel closes early only when the uploads
        // failed, which ends the sync.
        let _ = blobs_through
            .wait_for(|through| worth_sending(&queue, *through, max_bytes))
            .await;
        if cancel.load(Ordering::Relaxed) {
            keep(unkept.take())?;
            return Err(SyncError::Cancelled);
        }
        let through = *blobs_through.borrow();
        let ready = queue.partition_point(|e| e.seq <= through);
        let batch: Vec<OutboxEntry> = queue.drain(..fitting(&queue, ready, max_bytes)).collect();
        let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
            break;
        };
        // Changes go beside the blobs; the bar says "blobs" until the last
        // is on HQ, then only changes are left.
        if through == i64::MAX {
            locked(tally).meter.phase("push");
        }
        let (last_seq, first_job) = (last.seq, first.job_id);
        let request = PushRequest {
            device_id: sender.device_id,
            entries: batch.iter().map(to_wire).collect::<Result<_, _>>()?,
            sent_at: Some((sender.clock)()),
        };
        let bytes: u64 = batch.iter().map(|e| e.payload.len() as u64).sum();
        let previous = unkept.take();
        let read_from = queue.back().map_or(last_seq, |e| e.seq);
        let wanted = BATCH_SIZE.saturating_sub(queue.len());
        let (answer, more) = tokio::join!(client.push(&request), async {
            keep(previous)?;
            match wanted {
                0 => Ok(Vec::new()),
                _ => read_after(read_from, wanted),
            }
        });
        queue.extend(more?);
        let read_again = |queue: &mut VecDeque<OutboxEntry>| {
            *queue = read_after(0, BATCH_SIZE)?.into();
            Ok::<_, SyncError>(())
        };
        match answer {
            Ok(response) => {
                let sent = batch
                    .iter()
                    .filter(|e| e.seq <= response.applied_through_seq)
                    .count();
                let mut tally = locked(tally);
                let summary = &mut tally.summary;
                summary.changes_pushed += sent;
                summary.bytes_sent += bytes;
                merge_receipts(&mut summary.receipts, response.receipts.clone());
                merge_conflicts(&mut summary.conflicts, response.conflicts.clone());
                tally.meter.advance(sent, bytes);
                drop(tally);
                let whole = response.applied_through_seq >= last_seq;
                unkept = Some(response);
                if sent == 0 {
                    break; // HQ took nothing: do not spin; the next sync retries
                }
                if !whole {
                    keep(unkept.take())?;
                    read_again(&mut queue)?;
                }
            }
            // HQ already holds entries we never heard back about (the answer
            // was lost): they are durable there, so mark them and go on.
            Err(SyncError::Refused { error, .. })
                if error.code == "sequence_gap"
                    && error.expected_seq.is_some_and(|next| next > first_seq) =>
            {
                let through = error.expected_seq.unwrap_or(first_seq) - 1;
                locked(store).mark_sent_through(through, &Utc::now())?;
                read_again(&mut queue)?;
            }
            // HQ lacks entries it acknowledged: it was restored from an
            // older backup. The sync starts over from what it holds.
            Err(SyncError::Refused { error, .. })
                if error.code == "sequence_gap"
                    && error.expected_seq.is_some_and(|next| next < first_seq) =>
            {
                let held_through = error.expected_seq.unwrap_or(1) - 1;
                return Err(SyncError::HqBehind { held_through });
            }
            Err(SyncError::Refused { error, .. }) if error.job_id.is_some() => {
                // Order per device is kept, so nothing after this entry goes.
                locked(tally).summary.not_sent.push(NotSent {
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

/// Every answer lists the open conflicts of the jobs it touched; a job's
/// changes can span several answers, its conflict is listed once.
fn merge_conflicts(all: &mut Vec<ConflictNotice>, new: Vec<ConflictNotice>) {
    for conflict in new {
        if !all.iter().any(|c| c.conflict_id == conflict.conflict_id) {
            all.push(conflict);
        }
    }
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
    fn the_kinds_that_name_blobs_are_the_ones_planning_reads() {
        let at = Utc::now();
        let sign = Change::Sign(doorstep_core::Signature {
            signed_content_hash: "f".repeat(64),
            png_hash: "a".repeat(64),
            strokes_hash: "b".repeat(64),
            width: 1,
            height: 1,
            signed_at: at,
        });
        let photo = Change::AddPhoto(doorstep_core::Photo {
            id: doorstep_core::RecordId::new(),
            kind: doorstep_core::PhotoKind::After,
            blob_hash: "c".repeat(64),
            width: 1,
            height: 1,
            added_at: at,
        });
        for change in [sign, photo] {
            assert!(!blob_hashes(&change).is_empty());
            assert!(
                KINDS_NAMING_BLOBS.contains(&change.kind()),
                "{}",
                change.kind()
            );
        }
    }

    #[test]
    fn changes_wait_for_the_first_unconfirmed_blob_batch() {
        let blob = |seq: i64| PlannedBlob {
            hash: format!("{seq}"),
            size: 10,
            needed_from: seq,
        };
        // Entry 6 names the first two blobs, entries 13 and 20 the others.
        let blobs = [blob(6), blob(6), blob(13), blob(20)];
        let batches = blob_batches(&blobs, 20);
        assert_eq!(batches.len(), 2);
        assert_eq!(first_needing(&batches, 0), 5, "nothing confirmed: up to 5");
        assert_eq!(
            first_needing(&batches, 1),
            12,
            "first batch on HQ: up to 12"
        );
        assert_eq!(first_needing(&batches, 2), i64::MAX, "all on HQ: all");
        assert_eq!(first_needing(&[], 0), i64::MAX, "no blobs: all");
    }

    #[test]
    fn a_batch_takes_what_its_blobs_allow_and_the_link_carries() {
        let entry = |seq: i64, payload_bytes: usize| OutboxEntry {
            seq,
            op_id: format!("op-{seq}"),
            job_id: JobId::new(),
            kind: "set_step".into(),
            payload: "x".repeat(payload_bytes),
            device_time: Utc::now(),
            visit: 1,
        };
        let queue: VecDeque<_> = (1..=4).map(|seq| entry(seq, 100)).collect();
        let per_entry = 100 + ENTRY_OVERHEAD;
        assert_eq!(fitting(&queue, 4, 10 * per_entry), 4, "all fit");
        assert_eq!(
            fitting(&queue, 2, 10 * per_entry),
            2,
            "only two have their blobs"
        );
        assert_eq!(
            fitting(&queue, 2, 3 * per_entry),
            2,
            "the blobs stop it first"
        );
        assert_eq!(fitting(&queue, 4, 3 * per_entry), 3, "three fit the link");
        assert_eq!(fitting(&queue, 4, 1), 1, "one goes even if it is too big");
        assert_eq!(fitting(&queue, 0, 10 * per_entry), 0, "none ready, none go");
    }

    #[test]
    fn while_blobs_go_up_only_a_full_batch_is_pushed() {
        let entry = |seq: i64| OutboxEntry {
            seq,
            op_id: format!("op-{seq}"),
            job_id: JobId::new(),
            kind: "set_step".into(),
            payload: "x".repeat(100),
            device_time: Utc::now(),
            visit: 1,
        };
        let queue: VecDeque<_> = (1..=4).map(entry).collect();
        let per_entry = 100 + ENTRY_OVERHEAD;
        assert!(
            !worth_sending(&queue, 0, 10 * per_entry),
            "no entry has its blobs"
        );
        assert!(
            !worth_sending(&queue, 2, 10 * per_entry),
            "two of four ready, and a request carries more: wait for the blobs"
        );
        assert!(
            worth_sending(&queue, 2, 2 * per_entry),
            "two ready fill a request on this link"
        );
        assert!(worth_sending(&queue, 4, 10 * per_entry), "all ready");
        assert!(
            worth_sending(&queue, i64::MAX, 10 * per_entry),
            "every blob on HQ"
        );
    }

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
