//! Sync figures over loopback against a real HQ, printed, not asserted:
//! - depot sync of 1,000 completed jobs, each with a 20 KiB signature PNG, from
//!   the app's outbox to durable on HQ (SQLite, and PostgreSQL when
//!   DOORSTEP_TEST_POSTGRES_URL is set), beside the physical floor: the same
//!   bytes written in one SQLite transaction on the same disk;
//! - 200 devices syncing 20 jobs each at once: throughput, p50/p99, errors.
//!
//! Run with `cargo bench -p doorstep-sync --bench depot` (scripts/bench.sh).

use std::future::IntoFuture;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use doorstep_core::change::Change;
use doorstep_core::media::CleanImage;
use doorstep_core::*;
use doorstep_hq::service::NewJob;
use doorstep_hq::storage::{PostgresStorage, Storage};
use doorstep_hq::{router, system_clock, Hq};
use doorstep_store::{Store, StoreKey};
use doorstep_sync::{enroll, sync_once, SyncSummary};

/// The app's store key in these tests (the keychain's part is doorstep-vault's).
const KEY: StoreKey = StoreKey::from_bytes([0x42; 32]);

const DEPOT_JOBS: usize = 1_000;
const DEPOT_ROUNDS: u64 = 5;
const DEVICES: usize = 200;
const JOBS_PER_DEVICE: usize = 20;
const SIGNATURE_BYTES: usize = 20 * 1024;

/// A PNG of about 20 KiB that does not compress away (noise from a seed).
fn signature_png(seed: u64) -> Vec<u8> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let side = ((SIGNATURE_BYTES / 4) as f64).sqrt() as u32;
    let image = image::RgbaImage::from_fn(side, side, |_, _| {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
        let v = (state >> 33) as u32;
        image::Rgba([v as u8, (v >> 8) as u8, (v >> 16) as u8, 255])
    });
    let mut png = Vec::new();
    image
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    png
}

async fn serve(hq: &Hq) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(axum::serve(listener, router(hq.clone())).into_future());
    url
}

/// A device enrolled at HQ, holding `jobs` completed offline, ready to sync.
async fn device_with_completed_jobs(
    hq: &Hq,
    url: &str,
    name: &str,
    jobs: usize,
    seed: u64,
) -> (tempfile::TempDir, Mutex<Store>) {
    let technician = hq.create_technician(name).await.unwrap().id;
    let start = Utc::now() + chrono::Duration::hours(1);
    let mut ids = Vec::new();
    for n in 0..jobs {
        let job = hq
            .create_job(NewJob {
                customer_name: format!("客户{n}"),
                phone: format!("138{n:08}"),
                address: format!("福州市鼓楼区五四路{n}号"),
                job_type: JobType::Fault,
                sub_case: SubCase::Indoor,
                fault_description: "无信号".into(),
                window_start: start,
                window_end: start + chrono::Duration::hours(1),
                technician_id: Some(technician),
                earlier_visits: vec![],
                account_number: None,
                reported_at: None,
            })
            .await
            .unwrap();
        ids.push(job.job.id);
    }
    let dir = tempfile::tempdir().unwrap();
    let store = Mutex::new(Store::open(&dir.path().join("app.sqlite3"), &KEY).unwrap());
    let code = hq.issue_enrollment_code(technician).await.unwrap();
    enroll(&store, url, &code.code, name, None).await.unwrap();
    sync_once(&store, &mut |_| {}, &AtomicBool::new(false))
        .await
        .unwrap();
    assert_eq!(
        store.lock().unwrap().job_count().unwrap(),
        jobs as i64,
        "every job was pulled"
    );
    let now = Utc::now();
    let mut guard = store.lock().unwrap();
    for (n, id) in ids.iter().enumerate() {
        for change in [
            Change::SaveArrival(Arrival {
                arrived_at: Some(now),
                badge_shown: true,
                fault_point_verified: true,
                ..Arrival::default()
            }),
            Change::SaveKit(KitCheck {
                mat_cloth: true,
                cover_cloth: true,
                wiping_cloth: true,
                shoe_covers: true,
                missing_reason: String::new(),
            }),
            Change::SaveWork(Work {
                indoor: true,
                description: "重做 F 头".into(),
                ..Work::default()
            }),
            Change::SaveFeedback(Feedback {
                mot: Some(2),
                opinion: String::new(),
            }),
            Change::SaveCleanup(Cleanup {
                site_checked: true,
                tools_packed: true,
                restored: true,
                rubbish_taken: true,
                splitter_checked: true,
            }),
        ] {
            guard.apply(*id, &change, now).unwrap();
        }
        let png = signature_png(seed * 100_000 + n as u64);
        let image = CleanImage {
            width: 1,
            height: 1,
            bytes: png,
        };
        guard
            .sign(*id, &image, &format!("[{seed},{n}]"), now)
            .unwrap();
        guard.apply(*id, &Change::Complete, now).unwrap();
    }
    drop(guard);
    (dir, store)
}

/// The physical floor: the same bytes in one SQLite transaction on this disk.
fn floor(store: &Mutex<Store>) -> (Duration, u64) {
    let guard = store.lock().unwrap();
    let entries = guard.pending_outbox().unwrap();
    let mut payloads: Vec<Vec<u8>> = entries
        .iter()
        .map(|e| e.payload.clone().into_bytes())
        .collect();
    for entry in &entries {
        if let Ok(Change::Sign(sig)) = serde_json::from_str::<Change>(&entry.payload) {
            payloads.push(guard.blob(&sig.png_hash).unwrap().bytes);
            payloads.push(guard.blob(&sig.strokes_hash).unwrap().bytes);
        }
    }
    drop(guard);
    let bytes = payloads.iter().map(|p| p.len() as u64).sum();
    let dir = tempfile::tempdir().unwrap();
    let mut conn = rusqlite::Connection::open(dir.path().join("floor.sqlite3")).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; CREATE TABLE t (v BLOB)",
    )
    .unwrap();
    let start = Instant::now();
    let tx = conn.transaction().unwrap();
    for payload in &payloads {
        tx.execute("INSERT INTO t (v) VALUES (?1)", [payload])
            .unwrap();
    }
    tx.commit().unwrap();
    (start.elapsed(), bytes)
}

/// CPU time this process (app and HQ together) has used so far: a figure
/// that a busy shared machine disturbs less than wall time.
fn cpu_time() -> Duration {
    // SAFETY: getrusage only writes into the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    Duration::from_micros(micros(usage.ru_utime) + micros(usage.ru_stime))
}

/// One depot sync, timed, with the time spent in each phase.
struct DepotRun {
    sync: Duration,
    cpu: Duration,
    floor: Duration,
    floor_bytes: u64,
    summary: SyncSummary,
    breakdown: String,
}

async fn depot_run(hq: &Hq, url: &str, round: u64) -> DepotRun {
    let name = format!("林师傅{round}");
    let (_dir, store) = device_with_completed_jobs(hq, url, &name, DEPOT_JOBS, round + 1).await;
    let (floor, floor_bytes) = floor(&store);
    let cpu_before = cpu_time();
    let start = Instant::now();
    // The first progress report marks the end of pull and plan; blobs and
    // changes then go up together.
    let mut uploads_began: Option<Instant> = None;
    let summary = sync_once(
        &store,
        &mut |_| {
            uploads_began.get_or_insert_with(Instant::now);
        },
        &AtomicBool::new(false),
    )
    .await
    .unwrap();
    let sync = start.elapsed();
    let cpu = cpu_time() - cpu_before;
    assert_eq!(
        summary.receipts.len(),
        DEPOT_JOBS,
        "every job has a receipt"
    );
    let uploads_began = uploads_began.unwrap_or(start + sync);
    let breakdown = format!(
        "pull and plan {:.0} ms, blobs and changes together {:.0} ms",
        (uploads_began - start).as_secs_f64() * 1e3,
        (start + sync - uploads_began).as_secs_f64() * 1e3
    );
    DepotRun {
        sync,
        cpu,
        floor,
        floor_bytes,
        summary,
        breakdown,
    }
}

/// Median of `DEPOT_ROUNDS` depot syncs, each from a fresh device; the
/// ratio is taken within each round (sync and floor measured back to back).
async fn depot(label: &str, hq: Hq) {
    let url = serve(&hq).await;
    let mut runs = Vec::new();
    for round in 0..DEPOT_ROUNDS {
        runs.push(depot_run(&hq, &url, round).await);
    }
    runs.sort_by_key(|run| run.sync);
    let ratios = {
        let mut ratios: Vec<f64> = runs
            .iter()
            .map(|run| run.sync.as_secs_f64() / run.floor.as_secs_f64())
            .collect();
        ratios.sort_by(f64::total_cmp);
        ratios
    };
    let mut floors: Vec<Duration> = runs.iter().map(|run| run.floor).collect();
    floors.sort();
    let mut cpus: Vec<Duration> = runs.iter().map(|run| run.cpu).collect();
    cpus.sort();
    let median = &runs[runs.len() / 2];
    let secs = median.sync.as_secs_f64();
    let mib = median.summary.bytes_sent as f64 / 1048576.0;
    println!(
        "depot sync, {label}, median of {DEPOT_ROUNDS}: {DEPOT_JOBS} jobs ({} changes, {} blobs, {mib:.1} MiB) in {:.0} ms = {:.0} jobs/s, {:.1} MiB/s ({}), CPU {:.0} ms (app and HQ); floor (same {:.1} MiB, one SQLite transaction) {:.0} ms; ratio {:.1}x (rounds: {})",
        median.summary.changes_pushed,
        median.summary.blobs_sent,
        secs * 1e3,
        DEPOT_JOBS as f64 / secs,
        mib / secs,
        median.breakdown,
        cpus[cpus.len() / 2].as_secs_f64() * 1e3,
        median.floor_bytes as f64 / 1048576.0,
        floors[floors.len() / 2].as_secs_f64() * 1e3,
        ratios[ratios.len() / 2],
        runs.iter()
            .map(|run| format!("{:.0}", run.sync.as_secs_f64() * 1e3))
            .collect::<Vec<_>>()
            .join(", "),
    );
}

async fn many_devices(label: &str, hq: Hq) {
    let url = serve(&hq).await;
    let mut devices = Vec::new();
    for d in 0..DEVICES {
        devices.push(
            device_with_completed_jobs(
                &hq,
                &url,
                &format!("技术员{d}"),
                JOBS_PER_DEVICE,
                d as u64 + 10,
            )
            .await,
        );
    }
    let devices: Vec<_> = devices.into_iter().map(Arc::new).collect();
    let start = Instant::now();
    let tasks: Vec<_> = devices
        .iter()
        .cloned()
        .map(|device| {
            tokio::spawn(async move {
                let began = Instant::now();
                let result = sync_once(&device.1, &mut |_| {}, &AtomicBool::new(false)).await;
                (began.elapsed(), result.map(|s| s.receipts.len()))
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut jobs = 0;
    for task in tasks {
        let (latency, result) = task.await.unwrap();
        latencies.push(latency);
        match result {
            Ok(receipts) => jobs += receipts,
            Err(e) => {
                errors += 1;
                eprintln!("device sync failed: {e}");
            }
        }
    }
    let wall = start.elapsed().as_secs_f64();
    latencies.sort();
    let pct = |p: f64| {
        latencies[((latencies.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e3
    };
    println!(
        "{DEVICES} devices x {JOBS_PER_DEVICE} jobs at once, {label}: {jobs} jobs in {:.0} ms = {:.0} jobs/s; per-device sync p50 {:.0} ms, p99 {:.0} ms; errors {errors}",
        wall * 1e3,
        jobs as f64 / wall,
        pct(0.5),
        pct(0.99),
    );
}

async fn sqlite_hq(dir: &tempfile::TempDir, name: &str) -> Hq {
    let storage =
        doorstep_hq::storage::open(&format!("sqlite:{}", dir.path().join(name).display()))
            .await
            .unwrap();
    Hq::new(storage, system_clock())
}

async fn postgres_hq(url: &str) -> (Hq, String) {
    let schema = format!("bench_{}", uuid::Uuid::now_v7().simple());
    let storage: Arc<dyn Storage> =
        Arc::new(PostgresStorage::connect(url, Some(&schema)).await.unwrap());
    (Hq::new(storage, system_clock()), schema)
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    depot("HQ on SQLite", sqlite_hq(&dir, "depot.sqlite3").await).await;
    if std::env::var("ONLY_DEPOT").is_ok() {
        return;
    }
    many_devices("HQ on SQLite", sqlite_hq(&dir, "load.sqlite3").await).await;
    match std::env::var("DOORSTEP_TEST_POSTGRES_URL") {
        Ok(url) => {
            let (hq, schema) = postgres_hq(&url).await;
            depot("HQ on PostgreSQL", hq).await;
            PostgresStorage::drop_schema(&url, &schema).await.unwrap();
            let (hq, schema) = postgres_hq(&url).await;
            many_devices("HQ on PostgreSQL", hq).await;
            PostgresStorage::drop_schema(&url, &schema).await.unwrap();
        }
        Err(_) => println!("PostgreSQL: skipped (set DOORSTEP_TEST_POSTGRES_URL, e.g. eval \"$(scripts/postgres.sh env)\")"),
    }
}
