//! The whole system: a real HQ on a loopback port, the app's real store, the
//! real sync client. Enroll, pull 50 jobs, complete them offline with
//! signatures and photos, sync, and check that HQ holds everything, byte for
//! byte, once; then the same through a proxy that cuts connections.

use std::future::IntoFuture;
use std::io::Cursor;
use std::net::SocketAddr;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{Duration, SubsecRound, Utc};
use doorstep_core::change::Change;
use doorstep_core::media::{clean_photo, clean_signature};
use doorstep_core::signature::ServiceForm;
use doorstep_core::wire::{Resolution, TechnicianId};
use doorstep_core::*;
use doorstep_hq::service::{LoginRequest, NewJob};
use doorstep_hq::storage::{PostgresStorage, Storage};
use doorstep_hq::{router, system_clock, Hq};
use doorstep_store::{Store, StoreKey};
use doorstep_sync::{
    enroll, refusal, sync_once, sync_once_with_clock, Enrollment, SyncError, SyncSummary,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The app's store key in these tests (the keychain's part is doorstep-vault's).
const KEY: StoreKey = StoreKey::from_bytes([0x42; 32]);

const JOBS: usize = 50;

struct World {
    hq: Hq,
    url: String,
    technician: TechnicianId,
    _dir: tempfile::TempDir,
}

async fn start_hq() -> World {
    let dir = tempfile::tempdir().unwrap();
    let storage = doorstep_hq::storage::open(&format!(
        "sqlite:{}",
        dir.path().join("hq.sqlite3").display()
    ))
    .await
    .unwrap();
    start_hq_on(storage, dir).await
}

async fn start_hq_on(storage: Arc<dyn Storage>, dir: tempfile::TempDir) -> World {
    let hq = Hq::new(storage, system_clock());
    let url = serve(&hq).await.0;
    let technician = hq.create_technician("林师傅").await.unwrap().id;
    World {
        hq,
        url,
        technician,
        _dir: dir,
    }
}

/// Serves `hq` on a fresh loopback port; the handle stops it.
async fn serve(hq: &Hq) -> (String, tokio::task::JoinHandle<std::io::Result<()>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(axum::serve(listener, router(hq.clone())).into_future());
    (format!("http://{addr}"), server)
}

async fn dispatch_jobs(world: &World, count: usize) -> Vec<JobId> {
    dispatch_jobs_to(&world.hq, world.technician, count).await
}

async fn dispatch_jobs_to(hq: &Hq, technician: TechnicianId, count: usize) -> Vec<JobId> {
    let start = Utc::now() + Duration::hours(2);
    let mut ids = Vec::new();
    for n in 0..count {
        let job = hq
            .create_job(NewJob {
                customer_name: format!("客户{n}"),
                phone: format!("1380000{n:04}"),
                address: format!("福州市鼓楼区五四路{n}号"),
                job_type: if n % 2 == 0 {
                    JobType::Fault
                } else {
                    JobType::Install
                },
                sub_case: SubCase::Indoor,
                fault_description: "无信号".into(),
                window_start: start,
                window_end: start + Duration::hours(1),
                technician_id: Some(technician),
                earlier_visits: vec![],
                account_number: None,
                reported_at: None,
            })
            .await
            .unwrap();
        ids.push(job.job.id);
    }
    ids
}

fn png_with_ink(seed: usize) -> Vec<u8> {
    let mut canvas = image::RgbaImage::from_pixel(600, 200, image::Rgba([0, 0, 0, 0]));
    for x in 50..550u32 {
        let y = 100 + ((x as usize * (seed + 3)) % 60) as u32;
        canvas.put_pixel(x, y, image::Rgba([10, 10, 10, 255]));
    }
    let mut png = Vec::new();
    canvas
        .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    png
}

fn photo(seed: usize) -> Vec<u8> {
    let img = image::RgbImage::from_fn(320, 240, |x, y| {
        image::Rgb([(x as usize + seed) as u8, y as u8, seed as u8])
    });
    let mut jpeg = Vec::new();
    img.write_to(&mut Cursor::new(&mut jpeg), image::ImageFormat::Jpeg)
        .unwrap();
    jpeg
}

/// Walks a job through the whole visit offline, as the app's commands do.
fn complete_offline(store: &Mutex<Store>, id: JobId, seed: usize) {
    let mut store = store.lock().unwrap();
    let now = Utc::now();
    let changes = [
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
            description: format!("重做 F 头 #{seed}"),
            ..Work::default()
        }),
        Change::SaveFeedback(Feedback {
            mot: Some(2),
            opinion: "满意".into(),
        }),
        Change::SaveCleanup(Cleanup {
            site_checked: true,
            tools_packed: true,
            restored: true,
            rubbish_taken: true,
            splitter_checked: true,
        }),
    ];
    for change in &changes {
        store.apply(id, change, now).unwrap();
    }
    let photo = clean_photo(&photo(seed)).unwrap();
    store.add_photo(id, PhotoKind::Before, &photo, now).unwrap();
    let signature = clean_signature(&png_with_ink(seed)).unwrap();
    store
        .sign(id, &signature, &format!("[{{\"stroke\":{seed}}}]"), now)
        .unwrap();
    store.apply(id, &Change::Complete, now).unwrap();
}

/// HQ holds exactly what the app holds: every change once, every blob byte
/// for byte, and a receipt whose hash is the app's own service form hash.
async fn assert_hq_matches_app(hq: &Hq, store: &Mutex<Store>, ids: &[JobId]) {
    // Read the app's side first: the store's lock is not held across HQ calls.
    let mut local = Vec::new();
    {
        let store = store.lock().unwrap();
        assert!(
            store.pending_outbox().unwrap().is_empty(),
            "everything was confirmed by HQ"
        );
        for id in ids {
            let visit = store.visit(*id).unwrap();
            let receipt = store
                .job_sync_state(*id)
                .unwrap()
                .receipt
                .expect("a receipt for every job");
            let signature = visit.signature.clone().unwrap();
            let blobs: Vec<(String, Vec<u8>)> = [
                &signature.png_hash,
                &signature.strokes_hash,
                &visit.photos[0].blob_hash,
            ]
            .into_iter()
            .map(|hash| (hash.clone(), store.blob(hash).unwrap().bytes))
            .collect();
            local.push((*id, visit, receipt, blobs));
        }
    }
    for (id, visit, receipt, blobs) in local {
        let detail = hq.job_detail(id).await.unwrap();
        assert_eq!(
            detail.visit.job.status,
            JobStatus::Completed,
            "HQ rebuilt the completion of {id}"
        );
        assert_eq!(
            detail.timeline.len(),
            8,
            "each of the 8 changes of {id} is held once"
        );
        assert_eq!(
            receipt.content_hash,
            ServiceForm::from_visit(&visit).content_hash(),
            "HQ's receipt hash is the hash of the form as the app holds it"
        );
        let signature = visit.signature.as_ref().unwrap();
        assert_eq!(
            receipt.content_hash, signature.signed_content_hash,
            "HQ's replay rebuilt exactly the form and feedback the customer signed"
        );
        assert_eq!(
            detail
                .visit
                .signature
                .as_ref()
                .map(|s| (&s.signed_content_hash, &s.png_hash)),
            Some((&signature.signed_content_hash, &signature.png_hash)),
            "HQ's replay accepted the genuine signature rather than skipping it"
        );
        for (hash, bytes) in blobs {
            let on_hq = hq.blob(&hash).await.expect("HQ holds every blob");
            assert_eq!(on_hq, bytes, "blob {hash} is byte-identical");
        }
    }
}

fn app_store() -> (tempfile::TempDir, Mutex<Store>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("app.sqlite3"), &KEY).unwrap();
    (dir, Mutex::new(store))
}

async fn sync(store: &Mutex<Store>) -> Result<SyncSummary, SyncError> {
    sync_once(store, &mut |_| {}, &AtomicBool::new(false)).await
}

#[tokio::test]
async fn enroll_pull_complete_offline_and_depot_sync() {
    depot_day(start_hq().await).await;
}

/// The test PostgreSQL's URL and a fresh schema name, or None (said) when
/// none is set up.
fn postgres() -> Option<(String, String)> {
    let Ok(url) = std::env::var("DOORSTEP_TEST_POSTGRES_URL") else {
        println!("SKIPPED: set DOORSTEP_TEST_POSTGRES_URL (scripts/postgres.sh env)");
        return None;
    };
    Some((url, format!("sync_{}", uuid::Uuid::now_v7().simple())))
}

#[tokio::test]
async fn enroll_pull_complete_offline_and_depot_sync_on_postgres() {
    let Some((url, schema)) = postgres() else {
        return;
    };
    let storage = PostgresStorage::connect(&url, Some(&schema)).await.unwrap();
    depot_day(start_hq_on(Arc::new(storage), tempfile::tempdir().unwrap()).await).await;
    PostgresStorage::drop_schema(&url, &schema).await.unwrap();
}

/// A load balancer on loopback: each new connection goes to the next of
/// `upstreams` in turn. The counts say how many each one got.
async fn start_round_robin(upstreams: Vec<SocketAddr>) -> (String, Arc<Vec<AtomicUsize>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let served: Arc<Vec<AtomicUsize>> = Arc::new(upstreams.iter().map(|_| 0.into()).collect());
    let counts = served.clone();
    tokio::spawn(async move {
        for n in 0.. {
            let Ok((mut client, _)) = listener.accept().await else {
                return;
            };
            let turn = n % upstreams.len();
            counts[turn].fetch_add(1, Ordering::SeqCst);
            let upstream = upstreams[turn];
            tokio::spawn(async move {
                if let Ok(mut server) = TcpStream::connect(upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    });
    (format!("http://{addr}"), served)
}

/// A dispatcher's session token, for a dispatcher made and signed in here.
async fn signed_in_dispatcher(hq: &Hq) -> String {
    hq.create_dispatcher("dispatcher", "correct horse")
        .await
        .unwrap();
    let login = hq
        .login(
            LoginRequest {
                username: "dispatcher".into(),
                password: "correct horse".into(),
            },
            None,
        )
        .await
        .unwrap();
    login.token
}

fn socket_of(url: &str) -> SocketAddr {
    url.trim_start_matches("http://").parse().unwrap()
}

/// Two stateless `doorstep-hq` behind a load balancer, one PostgreSQL: the
/// app cannot tell which one answers.
#[tokio::test]
async fn two_hq_servers_on_one_postgres_serve_as_one() {
    let Some((url, schema)) = postgres() else {
        return;
    };
    // Both start at once on an empty database: the schema is made once.
    let (a, b) = tokio::join!(
        PostgresStorage::connect(&url, Some(&schema)),
        PostgresStorage::connect(&url, Some(&schema))
    );
    let world = start_hq_on(Arc::new(a.unwrap()), tempfile::tempdir().unwrap()).await;
    let hq_b = Hq::new(Arc::new(b.unwrap()), system_clock());
    let (url_b, _server_b) = serve(&hq_b).await;
    let (balancer, served) =
        start_round_robin(vec![socket_of(&world.url), socket_of(&url_b)]).await;

    let ids = dispatch_jobs(&world, 10).await;
    let (_dir, store) = enrolled_store_at(&world, &balancer).await;
    sync(&store).await.unwrap();
    assert_eq!(store.lock().unwrap().job_count().unwrap(), 10);
    for (n, id) in ids.iter().enumerate() {
        complete_offline(&store, *id, n);
    }
    let summary = sync(&store).await.unwrap();
    assert_eq!(summary.receipts.len(), 10, "{summary:?}");
    assert!(
        served.iter().all(|n| n.load(Ordering::SeqCst) > 0),
        "both servers answered: {served:?}"
    );
    assert_hq_matches_app(&world.hq, &store, &ids).await;
    assert_eq!(
        hq_b.job_detail(ids[0]).await.unwrap().visit,
        world.hq.job_detail(ids[0]).await.unwrap().visit,
        "each server sees what the other stored"
    );

    // A dispatcher signed in through one server is signed in on the other.
    let token = signed_in_dispatcher(&world.hq).await;
    assert_eq!(
        hq_b.dispatcher(&token).await.unwrap().username,
        "dispatcher"
    );
    PostgresStorage::drop_schema(&url, &schema).await.unwrap();
}

async fn depot_day(world: World) {
    let ids = dispatch_jobs(&world, JOBS).await;
    let (_dir, store) = app_store();
    let code = world
        .hq
        .issue_enrollment_code(world.technician)
        .await
        .unwrap();
    let enrolled = enroll(&store, &world.url, &code.code, "laptop-1", None)
        .await
        .unwrap();
    assert_eq!(enrolled.technician, "林师傅");

    let first = sync(&store).await.unwrap();
    assert_eq!(first.jobs_pulled, JOBS, "every assigned job arrives");
    assert_eq!(store.lock().unwrap().job_count().unwrap(), JOBS as i64);

    for (n, id) in ids.iter().enumerate() {
        complete_offline(&store, *id, n);
    }
    let mut reports = 0;
    let mut last_progress = None;
    let mut first_push = None;
    let summary = sync_once(
        &store,
        &mut |progress| {
            reports += 1;
            if progress.phase == "push" && first_push.is_none() {
                first_push = Some(progress.items_done);
            }
            last_progress = Some(progress.clone());
        },
        &AtomicBool::new(false),
    )
    .await
    .unwrap();
    assert_eq!(summary.changes_pushed, JOBS * 8, "8 changes per job");
    assert_eq!(
        summary.blobs_sent,
        JOBS * 3,
        "signature PNG, strokes and a photo per job"
    );
    assert_eq!(summary.receipts.len(), JOBS, "a receipt per job");
    assert_eq!(
        summary.customers.len(),
        JOBS,
        "the summary names each job's customer"
    );
    assert!(summary.not_sent.is_empty() && summary.conflicts.is_empty());
    let last = last_progress.expect("progress is reported");
    assert!(
        reports >= 4,
        "progress is reported as blob and change batches go ({reports})"
    );
    assert_eq!(
        (last.items_done, last.bytes_done),
        (last.items_total, last.bytes_total),
        "the bar ends full"
    );
    assert!(
        first_push.is_some_and(|done| done >= summary.blobs_sent),
        "the bar says changes ({first_push:?} items done) only once the {} blobs are up",
        summary.blobs_sent
    );
    assert_hq_matches_app(&world.hq, &store, &ids).await;

    // Syncing again sends nothing and duplicates nothing.
    let again = sync(&store).await.unwrap();
    assert_eq!((again.changes_pushed, again.blobs_sent), (0, 0));
    assert_hq_matches_app(&world.hq, &store, &ids).await;
}

#[tokio::test]
async fn a_cancelled_job_completed_offline_is_kept_as_a_conflict() {
    let world = start_hq().await;
    let (_dir, store, ids) = enrolled_device(&world, 2).await;

    world.hq.cancel(ids[0]).await.unwrap();
    complete_offline(&store, ids[0], 0); // offline: the technician does not know yet
    let summary = sync(&store).await.unwrap();
    assert_eq!(
        summary.conflicts.len(),
        1,
        "HQ reports the conflict: {summary:?}"
    );
    let local = store.lock().unwrap().visit(ids[0]).unwrap();
    assert_eq!(
        local.job.status,
        JobStatus::Completed,
        "the app keeps what happened on site"
    );
    let detail = world.hq.job_detail(ids[0]).await.unwrap();
    assert!(
        detail.visit.signature.is_some(),
        "HQ kept what the customer signed"
    );
    assert_eq!(detail.conflicts.len(), 1);

    // The job view learns of it; the other job has none.
    let state = store.lock().unwrap().job_sync_state(ids[0]).unwrap();
    let conflict = state.conflict.expect("the job knows of its conflict");
    assert_eq!(conflict.reason, wire::ConflictReason::Cancelled);
    assert!(state.receipt.is_some(), "and of HQ's receipt");
    let other = store.lock().unwrap().job_sync_state(ids[1]).unwrap();
    assert_eq!(other.conflict, None);
    assert_eq!(conflict.decision, None, "no dispatcher has decided yet");

    // A dispatcher decides; the app's next sync brings the decision.
    let token = signed_in_dispatcher(&world.hq).await;
    let dispatcher = world.hq.dispatcher(&token).await.unwrap();
    world
        .hq
        .by(&dispatcher)
        .resolve_conflict(
            detail.conflicts[0].id,
            Resolution::KeepCancelled,
            "客户已另约时间",
        )
        .await
        .unwrap();
    sync(&store).await.unwrap();
    let decided = store.lock().unwrap().job_sync_state(ids[0]).unwrap();
    let decision = decided
        .conflict
        .and_then(|c| c.decision)
        .expect("the job knows the dispatcher's decision");
    assert_eq!(decision.resolution, Resolution::KeepCancelled);
    assert_eq!(decision.note, "客户已另约时间");
    assert_eq!(
        store.lock().unwrap().sync_counts().unwrap().conflicts,
        0,
        "no conflict is left open"
    );
    assert_eq!(
        store.lock().unwrap().visit(ids[0]).unwrap().job.status,
        JobStatus::Completed,
        "the technician's own records stay as they were"
    );
}

/// A TCP proxy in front of HQ that cuts the `n`th connection once HQ has
/// answered `budgets(n).0` bytes or the app has sent `budgets(n).1`: mid-
/// request, or mid-answer after HQ has applied the request, so the app never
/// hears that it did.
async fn start_cutting_proxy(
    upstream: SocketAddr,
    budgets: impl Fn(usize) -> (usize, u64) + Send + 'static,
) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        for n in 0.. {
            let Ok((client, _)) = listener.accept().await else {
                return;
            };
            let (budget, upload_budget) = budgets(n);
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(upstream).await else {
                    return;
                };
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                let cut = Arc::new(tokio::sync::Notify::new());
                let cut_upload = cut.clone();
                let forward = tokio::spawn(async move {
                    let mut limited = (&mut client_read).take(upload_budget);
                    let copied = tokio::io::copy(&mut limited, &mut server_write).await;
                    if copied.is_ok_and(|n| n >= upload_budget) {
                        cut_upload.notify_one();
                    }
                });
                let mut sent = 0;
                let mut buf = [0u8; 512];
                while sent < budget {
                    let read = tokio::select! {
                        _ = cut.notified() => break,
                        read = server_read.read(&mut buf) => read,
                    };
                    match read {
                        Ok(0) | Err(_) => break,
                        Ok(read) => {
                            let take = read.min(budget - sent);
                            if client_write.write_all(&buf[..take]).await.is_err() {
                                break;
                            }
                            sent += take;
                        }
                    }
                }
                forward.abort(); // dropping both halves closes both sockets
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn cut_connections_mid_sync_lose_and_duplicate_nothing() {
    let world = start_hq().await;
    let ids = dispatch_jobs(&world, 20).await;
    let upstream: SocketAddr = world.url.trim_start_matches("http://").parse().unwrap();
    // A different cut point for each connection, without a RNG.
    let proxy = start_cutting_proxy(upstream, |n| {
        (
            500 + (n * 7919) % 40_000,
            2_000 + (n as u64 * 104_729) % 100_000,
        )
    })
    .await;
    let (_dir, store) = enrolled_store(&world).await;
    // From now on the app talks to HQ through the cutting proxy.
    store.lock().unwrap().set_hq_url(&proxy).unwrap();
    let mut pulled = false;
    for _ in 0..20 {
        if sync(&store).await.is_ok() {
            pulled = true;
            break;
        }
    }
    assert!(pulled, "a pull gets through between cuts");
    for (n, id) in ids.iter().enumerate() {
        complete_offline(&store, *id, n);
    }
    // Cuts land inside blob uploads and push batches, and between them.
    let mut failures = 0;
    let mut done = false;
    for _ in 0..200 {
        match sync(&store).await {
            Ok(summary) if store.lock().unwrap().pending_outbox().unwrap().is_empty() => {
                assert!(summary.not_sent.is_empty());
                done = true;
                break;
            }
            Ok(_) => {}
            Err(e) => {
                assert!(
                    e.is_transient(),
                    "a cut is a network error, not a refusal: {e}"
                );
                failures += 1;
            }
        }
    }
    assert!(done, "the sync completes despite the cuts");
    assert!(failures > 0, "the proxy really cut connections");
    assert_hq_matches_app(&world.hq, &store, &ids).await;
}

#[tokio::test]
async fn a_link_that_never_carries_a_whole_batch_still_gets_everything_up() {
    let world = start_hq().await;
    let (_dir, store, ids) = enrolled_with_completed_jobs(&world, 20).await;
    let upstream: SocketAddr = world.url.trim_start_matches("http://").parse().unwrap();
    // Every connection dies after 100 KB from the app: less than the blobs,
    // and less than the changes, that one sync would send in one request.
    let proxy = start_cutting_proxy(upstream, |_| (usize::MAX, 100_000)).await;
    store.lock().unwrap().set_hq_url(&proxy).unwrap();
    let mut failures = 0;
    let mut done = false;
    for _ in 0..60 {
        match sync(&store).await {
            Ok(_) if store.lock().unwrap().pending_outbox().unwrap().is_empty() => {
                done = true;
                break;
            }
            Ok(_) => {}
            Err(e) => {
                assert!(e.is_transient(), "a cut is a network error: {e}");
                failures += 1;
            }
        }
    }
    assert!(failures > 0, "the link really cut the first tries");
    assert!(
        done,
        "smaller requests get everything up after {failures} cuts"
    );
    assert_hq_matches_app(&world.hq, &store, &ids).await;
}

/// A device enrolled at HQ that has pulled `jobs` freshly dispatched jobs.
async fn enrolled_device(
    world: &World,
    jobs: usize,
) -> (tempfile::TempDir, Mutex<Store>, Vec<JobId>) {
    let ids = dispatch_jobs(world, jobs).await;
    let (dir, store) = enrolled_store(world).await;
    sync(&store).await.unwrap();
    (dir, store, ids)
}

/// A fresh app store enrolled at HQ as the world's technician, nothing pulled.
async fn enrolled_store(world: &World) -> (tempfile::TempDir, Mutex<Store>) {
    enrolled_store_at(world, &world.url).await
}

/// The same, enrolled through `url` (a proxy in front of the world's HQ).
async fn enrolled_store_at(world: &World, url: &str) -> (tempfile::TempDir, Mutex<Store>) {
    enrolled_laptop(&world.hq, url, world.technician, "laptop-1").await
}

/// A fresh app store enrolled at the HQ serving `url` as `technician`'s
/// laptop `name`, nothing pulled.
async fn enrolled_laptop(
    hq: &Hq,
    url: &str,
    technician: TechnicianId,
    name: &str,
) -> (tempfile::TempDir, Mutex<Store>) {
    let (dir, store) = app_store();
    let code = hq.issue_enrollment_code(technician).await.unwrap();
    enroll(&store, url, &code.code, name, None).await.unwrap();
    (dir, store)
}

async fn enrolled_with_completed_jobs(
    world: &World,
    jobs: usize,
) -> (tempfile::TempDir, Mutex<Store>, Vec<JobId>) {
    let (dir, store, ids) = enrolled_device(world, jobs).await;
    for (n, id) in ids.iter().enumerate() {
        complete_offline(&store, *id, n);
    }
    (dir, store, ids)
}

#[tokio::test]
async fn the_app_killed_mid_sync_resumes_without_loss_or_duplicates() {
    let world = start_hq().await;
    let (dir, store, ids) = enrolled_with_completed_jobs(&world, 20).await;
    drop(store);
    // Each round: open the store file, sync, and die after a few ms, as an
    // app closed or killed mid-sync would (the future is dropped where it is).
    for ms in [2, 5, 10, 20, 40, 80] {
        let store = Mutex::new(Store::open(&dir.path().join("app.sqlite3"), &KEY).unwrap());
        let _ = tokio::time::timeout(std::time::Duration::from_millis(ms), sync(&store)).await;
    }
    let store = Mutex::new(Store::open(&dir.path().join("app.sqlite3"), &KEY).unwrap());
    sync(&store)
        .await
        .expect("the sync after the restarts completes");
    assert_hq_matches_app(&world.hq, &store, &ids).await;
}

/// The `doorstep-hq` binary, next to this test's own directory: `cargo test
/// --workspace` builds it for HQ's tests, and scripts/test.sh builds it first.
fn hq_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().unwrap().parent().unwrap().join("doorstep-hq");
    assert!(
        path.exists(),
        "build HQ first: cargo build -p doorstep-hq ({})",
        path.display()
    );
    path
}

/// A real `doorstep-hq serve` process on `addr`, ready when this returns.
fn spawn_hq_process(database: &str, addr: SocketAddr) -> Child {
    let mut child = Command::new(hq_binary())
        .args([
            "serve",
            "--listen",
            &addr.to_string(),
            "--database",
            database,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..200 {
        if std::net::TcpStream::connect(addr).is_ok() {
            return child;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("doorstep-hq did not start on {addr}");
}

/// A TCP proxy in front of HQ that passes everything through until
/// `kill_after` bytes of requests have reached HQ, then SIGKILLs the HQ
/// process: it dies while a request is arriving or being applied.
async fn start_killing_proxy(
    upstream: SocketAddr,
    kill_after: usize,
    hq: Arc<Mutex<Child>>,
) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let uploaded = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let (uploaded, hq) = (uploaded.clone(), hq.clone());
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(upstream).await else {
                    return;
                };
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
                });
                let mut buf = vec![0u8; 16 * 1024];
                loop {
                    let read = match client_read.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(read) => read,
                    };
                    if server_write.write_all(&buf[..read]).await.is_err() {
                        return;
                    }
                    if uploaded.fetch_add(read, Ordering::SeqCst) + read >= kill_after {
                        let _ = hq.lock().unwrap().kill();
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn hq_killed_mid_batch_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", dir.path().join("hq.sqlite3").display());
    let storage = doorstep_hq::storage::open(&database).await.unwrap();
    let world = start_hq_on(storage, tempfile::tempdir().unwrap()).await;
    let (_app_dir, store, ids) = enrolled_with_completed_jobs(&world, 20).await;
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();

    // Each round: a fresh HQ process on the same database, killed once a
    // few more bytes of the sync have reached it than the round before.
    let mut kills = 0;
    for kill_after in [300, 3_000, 30_000, 300_000, 600_000, 1_000_000, 1_500_000] {
        let hq = Arc::new(Mutex::new(spawn_hq_process(&database, addr)));
        let proxy = start_killing_proxy(addr, kill_after, hq.clone()).await;
        store.lock().unwrap().set_hq_url(&proxy).unwrap();
        let result = sync(&store).await;
        let mut hq = hq.lock().unwrap();
        let _ = hq.kill();
        let status = hq.wait().unwrap();
        if result.is_err() {
            assert!(
                status.signal() == Some(libc::SIGKILL),
                "the sync failed only because HQ was killed ({status})"
            );
            kills += 1;
        }
    }
    assert!(kills >= 3, "HQ was killed mid-sync several times ({kills})");

    // HQ restarted for good: the next sync finishes the job.
    let mut hq = spawn_hq_process(&database, addr);
    store
        .lock()
        .unwrap()
        .set_hq_url(&format!("http://{addr}"))
        .unwrap();
    let finished = sync(&store).await;
    let _ = hq.kill();
    let _ = hq.wait();
    finished.expect("the sync against the restarted HQ completes");
    assert!(store.lock().unwrap().pending_outbox().unwrap().is_empty());
    assert_hq_matches_app(&world.hq, &store, &ids).await;
}

/// Stands in for an HQ of another protocol version, which cannot run here:
/// it answers every request as HQ does a version it does not speak.
async fn serve_hq_speaking(version: u32) -> String {
    let answer = move || async move {
        (
            axum::http::StatusCode::UPGRADE_REQUIRED,
            axum::Json(serde_json::json!({
                "code": "protocol_version",
                "message": format!("this HQ speaks protocol {version}"),
                "supported": [version],
            })),
        )
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = axum::Router::new().fallback(answer);
    tokio::spawn(axum::serve(listener, router).into_future());
    url
}

#[tokio::test]
async fn an_hq_of_another_protocol_gets_a_clear_message_before_anything_moves() {
    let newer = serve_hq_speaking(wire::PROTOCOL_VERSION + 1).await;
    let (_dir, store) = app_store();
    let refused = enroll(&store, &newer, "ABCD-EFGH", "laptop-1", None).await;
    let Err(error @ SyncError::Protocol { .. }) = refused else {
        panic!("enrolling at a newer HQ is a protocol error: {refused:?}");
    };
    assert_eq!(error.code(), "protocol_version");
    assert!(
        error.message(Lang::Zh).contains("请升级应用"),
        "{}",
        error.message(Lang::Zh)
    );
    assert!(error.message(Lang::En).contains("update the app"));
    assert_eq!(
        store.lock().unwrap().hq_url().unwrap(),
        None,
        "a refused enrollment remembers nothing"
    );

    // An enrolled app with work to send meets an HQ that is older than it.
    let world = start_hq().await;
    let (_dir, store, ids) = enrolled_with_completed_jobs(&world, 2).await;
    let pending = store.lock().unwrap().pending_outbox().unwrap().len();
    let older = serve_hq_speaking(wire::PROTOCOL_VERSION - 1).await;
    store.lock().unwrap().set_hq_url(&older).unwrap();
    let error = sync(&store).await.unwrap_err();
    assert!(matches!(error, SyncError::Protocol { .. }), "{error}");
    assert!(!error.is_transient(), "retrying will not help");
    assert!(error.message(Lang::Zh).contains("联系总部升级"));
    assert!(error.message(Lang::En).contains("ask HQ to upgrade"));
    assert_eq!(
        store.lock().unwrap().pending_outbox().unwrap().len(),
        pending,
        "nothing was sent or marked sent"
    );

    // Back at the real HQ, everything goes.
    store.lock().unwrap().set_hq_url(&world.url).unwrap();
    sync(&store).await.unwrap();
    assert_hq_matches_app(&world.hq, &store, &ids).await;
}

#[tokio::test]
async fn a_cancelled_sync_keeps_what_went_and_the_next_one_sends_the_rest() {
    let world = start_hq().await;
    let (_dir, store, ids) = enrolled_with_completed_jobs(&world, 20).await;
    let outbox = store.lock().unwrap().pending_outbox().unwrap();
    let pending = outbox.len();
    // Changes that name no blob may go at once, beside the first upload.
    let needing_no_blob = outbox.iter().take_while(|e| e.kind != "sign").count();
    // The technician presses Cancel once the first blob upload is confirmed
    // (more items than those changes).
    let cancel = AtomicBool::new(false);
    let result = sync_once(
        &store,
        &mut |progress| {
            if progress.items_done > needing_no_blob {
                cancel.store(true, Ordering::Relaxed);
            }
        },
        &cancel,
    )
    .await;
    assert!(
        matches!(result, Err(SyncError::Cancelled)),
        "the sync stops: {result:?}"
    );
    let left = store.lock().unwrap().pending_outbox().unwrap().len();
    assert!(
        pending - left <= needing_no_blob,
        "no change was pushed after the cancel: {} of {pending} went",
        pending - left
    );
    let signature = store
        .lock()
        .unwrap()
        .visit(ids[0])
        .unwrap()
        .signature
        .unwrap();
    assert!(
        world.hq.blob(&signature.png_hash).await.is_ok(),
        "what went before the cancel stays on HQ"
    );

    let rest = sync(&store).await.unwrap();
    assert_eq!(rest.changes_pushed, left, "the next sync sends the rest");
    assert_eq!(rest.blobs_sent, 0, "and not the blobs again");
    assert_hq_matches_app(&world.hq, &store, &ids).await;
}

/// Where a `doorstep-hq` process keeps its data. `back_up` and `restore`
/// copy it by other means than README's (SQLite's two files with SQLite's
/// backup API, PostgreSQL's schema with `pg_dump` and `psql`), which leave
/// HQ's epoch as it was: the app must notice the restore from HQ's
/// counters. `back_up_online` and `restore_as_readme_says` are README's.
enum HqData {
    Sqlite {
        database: PathBuf,
        backups: tempfile::TempDir,
    },
    Postgres {
        url: String,
        schema: String,
        backups: tempfile::TempDir,
    },
}

impl HqData {
    /// The `--database` argument of `doorstep-hq serve`.
    fn database_arg(&self) -> String {
        match self {
            HqData::Sqlite { database, .. } => format!("sqlite:{}", database.display()),
            // The schema the test's storage made, through the server's options.
            HqData::Postgres { url, schema, .. } => {
                let joiner = if url.contains('?') { '&' } else { '?' };
                format!("{url}{joiner}options=-c%20search_path%3D{schema}")
            }
        }
    }

    /// A copy of everything HQ holds, as `name`.
    fn back_up(&self, name: &str) {
        match self {
            HqData::Sqlite { database, backups } => {
                for file in sqlite_files(database) {
                    let from = rusqlite::Connection::open(&file).unwrap();
                    from.backup(
                        rusqlite::MAIN_DB,
                        backups.path().join(backup_name(&file, name)),
                        None,
                    )
                    .unwrap();
                }
            }
            HqData::Postgres {
                url,
                schema,
                backups,
            } => run_pg_tool(
                "pg_dump",
                &[
                    "--dbname",
                    url,
                    "--schema",
                    schema,
                    "--file",
                    &backups.path().join(name).display().to_string(),
                ],
            ),
        }
    }

    /// Puts backup `name` back in place of what HQ holds (HQ is stopped).
    fn restore(&self, name: &str) {
        match self {
            HqData::Sqlite { database, backups } => {
                for file in sqlite_files(database) {
                    let mut into = rusqlite::Connection::open(&file).unwrap();
                    into.restore(
                        rusqlite::MAIN_DB,
                        backups.path().join(backup_name(&file, name)),
                        None::<fn(rusqlite::backup::Progress)>,
                    )
                    .unwrap();
                }
            }
            HqData::Postgres {
                url,
                schema,
                backups,
            } => {
                let drop = format!("DROP SCHEMA {schema} CASCADE");
                run_pg_tool(
                    "psql",
                    &["--dbname", url, "-v", "ON_ERROR_STOP=1", "-c", &drop],
                );
                let file = backups.path().join(name).display().to_string();
                run_pg_tool(
                    "psql",
                    &["--dbname", url, "-v", "ON_ERROR_STOP=1", "-q", "-f", &file],
                );
            }
        }
    }
}

/// HQ's database file and its blob file beside it (`NAME.blobs.sqlite3`):
/// back up both.
fn sqlite_files(database: &std::path::Path) -> [PathBuf; 2] {
    [
        database.to_path_buf(),
        database.with_extension("blobs.sqlite3"),
    ]
}

fn backup_name(file: &std::path::Path, name: &str) -> String {
    format!("{name}-{}", file.file_name().unwrap().to_string_lossy())
}

/// Runs a PostgreSQL client tool: from PATH, else from the newest
/// PostgreSQL installed where Debian puts it (as scripts/postgres.sh does).
fn run_pg_tool(tool: &str, args: &[&str]) {
    let installed = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|version| version.path().join("bin").join(tool))
        .filter(|path| path.exists())
        .max();
    let program = installed.unwrap_or_else(|| PathBuf::from(tool));
    let output = Command::new(&program).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{tool} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A `doorstep-hq` process serving `data` on `addr`; stopped when dropped.
struct HqProcess(Child);

impl HqProcess {
    fn start(data: &HqData, addr: SocketAddr) -> HqProcess {
        HqProcess(spawn_hq_process(&data.database_arg(), addr))
    }
}

impl Drop for HqProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_loopback_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// HQ is restored from a backup older than the laptop's last sync, twice,
/// with its epoch left as it was: once noticed by the pull (HQ's cursor
/// went back; nothing waits to go up), once by the push (`sequence_gap`
/// below what HQ had acknowledged).
/// Each time the changes HQ lost go again, with their blobs, and HQ ends
/// up holding exactly what the app holds.
async fn hq_restored_from_an_older_backup(world: World, data: HqData) {
    let ids = dispatch_jobs(&world, 9).await;
    let addr = free_loopback_port();
    let mut process = HqProcess::start(&data, addr);
    let (_app_dir, store) = enrolled_store_at(&world, &format!("http://{addr}")).await;
    sync(&store).await.unwrap();
    for (n, id) in ids[..3].iter().enumerate() {
        complete_offline(&store, *id, n);
    }
    sync(&store).await.unwrap();
    data.back_up("first");

    // After the backup: a dispatcher moves a job, the technician works on.
    let start = Utc::now() + Duration::days(1);
    world
        .hq
        .reschedule(ids[8], start, start + Duration::hours(1))
        .await
        .unwrap();
    for (n, id) in ids[..6].iter().enumerate().skip(3) {
        complete_offline(&store, *id, n);
    }
    sync(&store).await.unwrap();
    assert_hq_matches_app(&world.hq, &store, &ids[..6]).await;

    drop(process);
    data.restore("first");
    process = HqProcess::start(&data, addr);
    let hq = hq_reading(&world, &data).await;
    assert!(
        hq.job_detail(ids[4]).await.unwrap().timeline.is_empty(),
        "the restored HQ lost what came after the backup"
    );
    assert!(store.lock().unwrap().pending_outbox().unwrap().is_empty());
    let summary = sync(&store).await.unwrap();
    assert_eq!(
        summary.changes_pushed,
        3 * 8,
        "the pull noticed HQ went back; the changes HQ lost went again"
    );
    assert_eq!(
        summary.blobs_sent,
        3 * 3,
        "and the blobs they name, though marked sent before"
    );
    assert_eq!(
        summary.jobs_pulled, 9,
        "HQ's dispatch was pulled whole again"
    );
    assert_hq_matches_app(&hq, &store, &ids[..6]).await;

    data.back_up("second");
    complete_offline(&store, ids[6], 6);
    sync(&store).await.unwrap();
    drop(process);
    data.restore("second");
    process = HqProcess::start(&data, addr);
    let hq = hq_reading(&world, &data).await;
    complete_offline(&store, ids[7], 7);
    let summary = sync(&store).await.unwrap();
    assert_eq!(
        summary.changes_pushed,
        2 * 8,
        "the push noticed HQ went back; what it lost went with the new work"
    );
    assert!(
        summary.blobs_sent >= 3,
        "the blobs HQ lost went again, though marked sent ({})",
        summary.blobs_sent
    );
    assert_hq_matches_app(&hq, &store, &ids[..8]).await;
    let again = sync(&store).await.unwrap();
    assert_eq!(
        (again.changes_pushed, again.blobs_sent),
        (0, 0),
        "nothing goes twice"
    );
    drop(process);
}

/// HQ as it is on disk now: SQLite is read through the world's own storage
/// (restored in place); PostgreSQL through a fresh one, as a restarted
/// server would.
async fn hq_reading(world: &World, data: &HqData) -> Hq {
    match data {
        HqData::Sqlite { .. } => world.hq.clone(),
        HqData::Postgres { url, schema, .. } => Hq::new(
            Arc::new(PostgresStorage::connect(url, Some(schema)).await.unwrap()),
            system_clock(),
        ),
    }
}

#[tokio::test]
async fn hq_restored_from_an_older_backup_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("hq.sqlite3");
    let storage = doorstep_hq::storage::open(&format!("sqlite:{}", database.display()))
        .await
        .unwrap();
    let world = start_hq_on(storage, dir).await;
    let data = HqData::Sqlite {
        database,
        backups: tempfile::tempdir().unwrap(),
    };
    hq_restored_from_an_older_backup(world, data).await;
}

#[tokio::test]
async fn hq_restored_from_an_older_backup_on_postgres() {
    let Some((url, schema)) = postgres() else {
        return;
    };
    let storage = PostgresStorage::connect(&url, Some(&schema)).await.unwrap();
    let world = start_hq_on(Arc::new(storage), tempfile::tempdir().unwrap()).await;
    let data = HqData::Postgres {
        url: url.clone(),
        schema: schema.clone(),
        backups: tempfile::tempdir().unwrap(),
    };
    hq_restored_from_an_older_backup(world, data).await;
    PostgresStorage::drop_schema(&url, &schema).await.unwrap();
}

/// The `doorstep-hq admin` command `args`, run to its end: what it printed,
/// or its error output when it failed.
fn hq_admin(args: &[&str]) -> Result<String, String> {
    let output = Command::new(hq_binary())
        .arg("admin")
        .args(args)
        .output()
        .unwrap();
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    if output.status.success() {
        Ok(text(&output.stdout))
    } else {
        Err(text(&output.stderr))
    }
}

impl HqData {
    /// Backs HQ up while it serves, as README says: `doorstep-hq admin
    /// backup` on SQLite, `pg_dump --format=custom` on PostgreSQL.
    fn back_up_online(&self, name: &str) {
        match self {
            HqData::Sqlite { backups, .. } => {
                let to = backups.path().join(format!("{name}.sqlite3"));
                let to = to.display().to_string();
                hq_admin(&["backup", "--database", &self.database_arg(), "--to", &to])
                    .expect("the online backup");
            }
            HqData::Postgres {
                url,
                schema,
                backups,
            } => run_pg_tool(
                "pg_dump",
                &[
                    "--format=custom",
                    "--schema",
                    schema,
                    "--file",
                    &backups.path().join(name).display().to_string(),
                    url,
                ],
            ),
        }
    }

    /// Puts backup `name` back as README says, HQ stopped: `doorstep-hq
    /// admin restore` on SQLite; `pg_restore --clean --if-exists`, then
    /// `admin mark-restored`, on PostgreSQL. Either way HQ's epoch is new.
    fn restore_as_readme_says(&self, name: &str) {
        match self {
            HqData::Sqlite { backups, .. } => {
                let from = backups.path().join(format!("{name}.sqlite3"));
                let from = from.display().to_string();
                hq_admin(&[
                    "restore",
                    "--from",
                    &from,
                    "--database",
                    &self.database_arg(),
                ])
                .expect("the restore");
            }
            HqData::Postgres { url, backups, .. } => {
                let file = backups.path().join(name).display().to_string();
                run_pg_tool(
                    "pg_restore",
                    &[
                        "--clean",
                        "--if-exists",
                        "--no-owner",
                        "--dbname",
                        url,
                        &file,
                    ],
                );
                hq_admin(&["mark-restored", "--database", &self.database_arg()])
                    .expect("marking the database restored");
            }
        }
    }

    /// HQ read and written in this process beside the `doorstep-hq`
    /// process, on connections of its own: SQLite's files must have none
    /// left open when they are restored, and PostgreSQL's pooled statements
    /// do not outlive a restore.
    async fn hq(&self) -> Hq {
        let storage: Arc<dyn Storage> = match self {
            HqData::Sqlite { database, .. } => {
                doorstep_hq::storage::open(&format!("sqlite:{}", database.display()))
                    .await
                    .unwrap()
            }
            HqData::Postgres { url, schema, .. } => {
                Arc::new(PostgresStorage::connect(url, Some(schema)).await.unwrap())
            }
        };
        Hq::new(storage, system_clock())
    }
}

/// A technician's laptop in the backup test.
struct Laptop {
    _dir: tempfile::TempDir,
    store: Arc<Mutex<Store>>,
    jobs: Vec<JobId>,
    /// Offsets the seeds of its photos and signatures, so no two laptops
    /// make the same blob.
    seeds: usize,
}

/// Enrolled for a new technician with `jobs` jobs, and synced once.
async fn laptop(hq: &Hq, url: &str, name: &str, jobs: usize, seeds: usize) -> Laptop {
    let technician = hq.create_technician(name).await.unwrap().id;
    let jobs = dispatch_jobs_to(hq, technician, jobs).await;
    let code = hq.issue_enrollment_code(technician).await.unwrap();
    let (dir, store) = app_store();
    enroll(&store, url, &code.code, name, None).await.unwrap();
    sync(&store).await.unwrap();
    Laptop {
        _dir: dir,
        store: Arc::new(store),
        jobs,
        seeds,
    }
}

impl Laptop {
    fn complete(&self, n: usize) {
        complete_offline(&self.store, self.jobs[n], self.seeds + n);
    }

    /// HQ's change counter now, as a pull from nothing answers it.
    async fn hq_counter(&self) -> i64 {
        let enrollment = Enrollment::load(&self.store.lock().unwrap())
            .unwrap()
            .unwrap();
        let pulled = enrollment.client().unwrap().pull(None, 1).await.unwrap();
        pulled.cursor.parse().unwrap()
    }

    fn cursor(&self) -> i64 {
        let cursor = self.store.lock().unwrap().pull_cursor().unwrap();
        cursor.unwrap().parse().unwrap()
    }
}

/// Completes the laptop's jobs from `first` on, syncing after each, until
/// two were made after `backed_up` was set; returns how many it completed
/// and how many of those after the backup.
async fn work_through_a_backup(
    laptop: Arc<Laptop>,
    first: usize,
    backed_up: Arc<AtomicBool>,
    synced: Arc<AtomicUsize>,
) -> (usize, usize) {
    let (mut done, mut after) = (first, 0);
    while after < 2 && done < laptop.jobs.len() {
        // Read before the job is made: a job counted as after the backup
        // cannot be in it.
        let backup_done = backed_up.load(Ordering::SeqCst);
        laptop.complete(done);
        sync(&laptop.store).await.unwrap();
        synced.fetch_add(1, Ordering::SeqCst);
        done += 1;
        after += usize::from(backup_done);
    }
    (done, after)
}

/// The whole round an operator goes through: two laptops sync job after
/// job while HQ is backed up; they go on syncing; a third laptop, quiet,
/// syncs after them. HQ is stopped, the older backup put back, HQ started.
/// Then the quiet laptop's case: nothing waits on it, and by the time it
/// syncs, HQ's change counter has passed its cursor again, so neither of
/// the older signs of a restore (a cursor that went back, a sequence gap)
/// shows; only HQ's new epoch tells it. Every laptop recovers: HQ then
/// holds exactly what each app holds, each change once, every blob.
async fn every_laptop_recovers_from_a_restored_backup(data: HqData) {
    let addr = free_loopback_port();
    let url = format!("http://{addr}");
    let hq = data.hq().await;
    let mut process = HqProcess::start(&data, addr);
    let busy = [
        Arc::new(laptop(&hq, &url, "林师傅", 14, 0).await),
        Arc::new(laptop(&hq, &url, "陈师傅", 14, 40).await),
    ];
    let quiet = laptop(&hq, &url, "王师傅", 4, 80).await;
    for laptop in busy.iter().map(|l| &**l).chain([&quiet]) {
        laptop.complete(0);
        sync(&laptop.store).await.unwrap();
    }

    // The backup, taken while the two busy laptops sync.
    let (backed_up, synced) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicUsize::new(0)),
    );
    let load: Vec<_> = busy
        .iter()
        .map(|laptop| {
            tokio::spawn(work_through_a_backup(
                laptop.clone(),
                1,
                backed_up.clone(),
                synced.clone(),
            ))
        })
        .collect();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while synced.load(Ordering::SeqCst) < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the laptops never synced"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let during = synced.load(Ordering::SeqCst);
    // The laptops' tasks go on on the runtime's other worker.
    tokio::task::block_in_place(|| data.back_up_online("older"));
    backed_up.store(true, Ordering::SeqCst);
    let mut done = Vec::new();
    for task in load {
        let (completed, after) = task.await.unwrap();
        assert!(after >= 1, "the laptops synced on after the backup");
        done.push(completed);
    }
    assert!(
        synced.load(Ordering::SeqCst) > during,
        "syncs went on while the backup was taken"
    );
    // After the backup: the quiet laptop works a job, a dispatcher moves
    // one of its jobs and hands out others, and it syncs last: its cursor
    // is HQ's counter, three changes or more past the backup's.
    quiet.complete(1);
    let later = Utc::now() + Duration::days(2);
    hq.reschedule(quiet.jobs[3], later, later + Duration::hours(1))
        .await
        .unwrap();
    let elsewhere = hq.create_technician("周师傅").await.unwrap().id;
    dispatch_jobs_to(&hq, elsewhere, 2).await;
    sync(&quiet.store).await.unwrap();
    let quiet_cursor = quiet.cursor();
    drop(hq);

    if let HqData::Sqlite { backups, .. } = &data {
        let from = backups.path().join("older.sqlite3").display().to_string();
        let refused = hq_admin(&[
            "restore",
            "--from",
            &from,
            "--database",
            &data.database_arg(),
        ]);
        let message = refused.expect_err("a restore under a running HQ is refused");
        assert!(
            message.contains("is in use") && message.contains("正在使用"),
            "and says why, in Chinese and English: {message}"
        );
    }
    drop(process);
    data.restore_as_readme_says("older");
    process = HqProcess::start(&data, addr);
    let hq = data.hq().await;

    // After the restore, before the quiet laptop syncs: a dispatcher moves
    // another of its jobs (a change numbered below its cursor), the busy
    // laptops catch up, and new jobs take HQ's counter past its cursor.
    // Whole seconds: HQ keeps microseconds.
    let moved = (Utc::now() + Duration::days(3)).trunc_subsecs(0);
    hq.reschedule(quiet.jobs[2], moved, moved + Duration::hours(1))
        .await
        .unwrap();
    assert!(
        quiet.hq_counter().await < quiet_cursor,
        "the restored HQ's counter is behind the quiet laptop's cursor"
    );
    for (laptop, &completed) in busy.iter().zip(&done) {
        let summary = sync(&laptop.store).await.unwrap();
        assert!(
            summary.changes_pushed >= 8,
            "what HQ lost went again ({} changes)",
            summary.changes_pushed
        );
        let ids = &laptop.jobs[..completed];
        assert_hq_matches_app(&hq, &laptop.store, ids).await;
    }
    let filler = hq.create_technician("赵师傅").await.unwrap().id;
    while quiet.hq_counter().await < quiet_cursor {
        dispatch_jobs_to(&hq, filler, 1).await;
    }

    let summary = sync(&quiet.store).await.unwrap();
    assert_eq!(
        (summary.changes_pushed, summary.blobs_sent),
        (8, 3),
        "the quiet laptop sent again the job HQ lost, with its blobs"
    );
    assert_eq!(summary.jobs_pulled, 4, "and pulled HQ's dispatch whole");
    let window = quiet.store.lock().unwrap().visit(quiet.jobs[2]).unwrap();
    assert_eq!(
        window.job.window_start, moved,
        "so it holds the dispatcher's change made after the restore"
    );
    assert_hq_matches_app(&hq, &quiet.store, &quiet.jobs[..2]).await;

    for (laptop, completed) in busy.iter().map(|l| &**l).zip(done).chain([(&quiet, 2)]) {
        let again = sync(&laptop.store).await.unwrap();
        assert_eq!(
            (again.changes_pushed, again.blobs_sent),
            (0, 0),
            "nothing goes twice"
        );
        assert_hq_matches_app(&hq, &laptop.store, &laptop.jobs[..completed]).await;
    }
    drop(process);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_laptop_recovers_from_a_restored_backup_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let data = HqData::Sqlite {
        database: dir.path().join("hq.sqlite3"),
        backups: tempfile::tempdir().unwrap(),
    };
    every_laptop_recovers_from_a_restored_backup(data).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_laptop_recovers_from_a_restored_backup_on_postgres() {
    let Some((url, schema)) = postgres() else {
        return;
    };
    let data = HqData::Postgres {
        url: url.clone(),
        schema: schema.clone(),
        backups: tempfile::tempdir().unwrap(),
    };
    let refused = hq_admin(&["backup", "--database", &url, "--to", "unused"]);
    assert!(
        refused
            .expect_err("PostgreSQL is backed up by pg_dump")
            .contains("pg_dump"),
        "and the refusal says so"
    );
    every_laptop_recovers_from_a_restored_backup(data).await;
    PostgresStorage::drop_schema(&url, &schema).await.unwrap();
}

/// HQ revokes the laptop: the next sync removes every customer record HQ
/// holds and keeps what it has not got. Enrolled again with a new code, the
/// laptop is a new device whose numbers start at 1, and what waited goes up
/// under it.
#[tokio::test]
async fn a_revoked_device_keeps_what_was_not_sent_and_sends_it_once_enrolled_again() {
    let world = start_hq().await;
    let (_dir, store, ids) = enrolled_device(&world, 4).await;
    for (n, id) in ids[..2].iter().enumerate() {
        complete_offline(&store, *id, n);
    }
    sync(&store).await.unwrap();
    complete_offline(&store, ids[2], 2); // not sent when the revocation comes
    let unsent = store.lock().unwrap().pending_outbox().unwrap();
    let old = Enrollment::load(&store.lock().unwrap()).unwrap().unwrap();
    world.hq.revoke_device(old.device_id).await.unwrap();

    let refused = sync(&store).await.unwrap_err();
    assert_eq!(refused.code(), "device_revoked", "{refused}");
    assert!(refused.message(Lang::Zh).contains("重新登记"));
    assert!(refused.message(Lang::En).contains("enroll again"));
    {
        let store = store.lock().unwrap();
        assert_eq!(store.job_count().unwrap(), 1, "only the unsent job is left");
        let kept = store.visit(ids[2]).unwrap();
        assert_eq!(kept.job.status, JobStatus::Completed);
        assert!(store.blob(&kept.signature.unwrap().png_hash).is_ok());
        assert_eq!(
            store.pending_outbox().unwrap(),
            unsent,
            "every unsent change is kept as it was"
        );
        assert_eq!(
            refusal(&store).unwrap().map(|r| r.code).as_deref(),
            Some("device_revoked"),
            "the sync view can say what happened"
        );
        assert_eq!(
            Enrollment::load(&store).unwrap(),
            None,
            "the dead token is dropped: the app asks to enroll again"
        );
    }
    assert!(
        matches!(sync(&store).await, Err(SyncError::NotEnrolled)),
        "no more syncs with the revoked token"
    );

    let code = world
        .hq
        .issue_enrollment_code(world.technician)
        .await
        .unwrap();
    let new = enroll(&store, &world.url, &code.code, "laptop-1", None)
        .await
        .unwrap();
    assert_ne!(new.device_id, old.device_id, "a fresh identity");
    let renumbered: Vec<i64> = store
        .lock()
        .unwrap()
        .pending_outbox()
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(renumbered, (1..=8).collect::<Vec<_>>(), "numbered from 1");
    assert_eq!(refusal(&store.lock().unwrap()).unwrap(), None);

    let summary = sync(&store).await.unwrap();
    assert_eq!(summary.changes_pushed, 8, "what waited went up");
    assert_eq!(
        summary.jobs_pulled, 4,
        "the pull started over: HQ's dispatch came whole"
    );
    assert_hq_matches_app(&world.hq, &store, &ids[2..3]).await;
    let detail = world.hq.job_detail(ids[2]).await.unwrap();
    assert!(
        detail
            .timeline
            .iter()
            .all(|op| op.device_id == new.device_id),
        "under the new identity"
    );
    for id in &ids[..2] {
        assert_eq!(
            world.hq.job_detail(*id).await.unwrap().timeline.len(),
            8,
            "what HQ held before the revocation is still there, once"
        );
    }
}

/// HQ no longer knows the device's token (another HQ answers at the
/// address): nothing is removed, and enrolling there sends everything that
/// waited.
#[tokio::test]
async fn a_token_hq_does_not_know_asks_for_enrollment_and_removes_nothing() {
    let first = start_hq().await;
    let (_dir, store, ids) = enrolled_device(&first, 2).await;
    complete_offline(&store, ids[0], 0);
    let jobs = store.lock().unwrap().job_count().unwrap();
    let other = start_hq().await;
    store.lock().unwrap().set_hq_url(&other.url).unwrap();
    let refused = sync(&store).await.unwrap_err();
    assert_eq!(refused.code(), "unauthorized", "{refused}");
    assert!(refused.message(Lang::Zh).contains("重新登记"));
    let kept = store.lock().unwrap().job_count().unwrap();
    assert_eq!(kept, jobs, "an unknown token removes nothing");
    let said = refusal(&store.lock().unwrap()).unwrap().unwrap();
    assert_eq!(said.code, "unauthorized");
    assert_eq!(said.hq_url.as_deref(), Some(other.url.as_str()));
    assert_eq!(Enrollment::load(&store.lock().unwrap()).unwrap(), None);
}

/// POSTs `body` to HQ's dispatcher API as a signed-in dispatcher, over a
/// plain HTTP/1.1 connection: the status and the body of the answer.
async fn dispatcher_post(
    url: &str,
    path: &str,
    token: &str,
    body: &serde_json::Value,
) -> (u16, serde_json::Value) {
    dispatcher_request("POST", url, path, token, &body.to_string()).await
}

/// GETs `path` from HQ's dispatcher API, as the console reads a page.
async fn dispatcher_get(url: &str, path: &str, token: &str) -> (u16, serde_json::Value) {
    dispatcher_request("GET", url, path, token, "").await
}

async fn dispatcher_request(
    method: &str,
    url: &str,
    path: &str,
    token: &str,
    body: &str,
) -> (u16, serde_json::Value) {
    let mut stream = TcpStream::connect(socket_of(url)).await.unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n{body}",
        host = url.trim_start_matches("http://"),
        len = body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let (head, rest) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let json = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        // One chunk: its size line, then the JSON.
        rest.split_once("\r\n")
            .unwrap()
            .1
            .rsplit_once("\r\n0")
            .unwrap()
            .0
    } else {
        rest
    };
    (status, serde_json::from_str(json.trim()).unwrap())
}

/// Issue 14: a job the technician rescheduled and a dispatcher re-booked
/// comes back as its next visit, and working it (even opening it before the
/// laptop heard of the re-booking) never turns HQ's job back to rescheduled.
#[tokio::test]
async fn a_rescheduled_job_re_booked_by_a_dispatcher_is_worked_as_its_next_visit() {
    let world = start_hq().await;
    let (_dir, store, ids) = enrolled_device(&world, 1).await;
    let id = ids[0];

    // Offline on site: support is needed, the technician reschedules.
    {
        let mut store = store.lock().unwrap();
        let now = Utc::now();
        store.apply(id, &Change::SetStep(Step::Visit), now).unwrap();
        let reschedule = Change::Reschedule(Reschedule {
            reason: RescheduleReason::NeedsSupport,
            note: "需要登高车".into(),
            new_start: now + Duration::days(1),
            new_end: now + Duration::days(1) + Duration::hours(1),
        });
        store.apply(id, &reschedule, now).unwrap();
    }
    sync(&store).await.unwrap();
    let detail = world.hq.job_detail(id).await.unwrap();
    assert_eq!(detail.job.status, JobStatus::Rescheduled);

    // The dispatcher re-books it over the API.
    let token = signed_in_dispatcher(&world.hq).await;
    let start = Utc::now() + Duration::hours(3);
    let (status, rebooked) = dispatcher_post(
        &world.url,
        &format!("/api/v1/jobs/{id}/reschedule"),
        &token,
        &serde_json::json!({
            "window_start": start,
            "window_end": start + Duration::hours(1),
        }),
    )
    .await;
    assert_eq!(status, 200, "the re-booking is accepted: {rebooked}");
    assert_eq!(rebooked["job"]["visit"], 2, "the re-booking is visit 2");
    assert_eq!(rebooked["job"]["status"], "scheduled");

    // Before the laptop syncs, the technician opens the job: a visit-1 step.
    store
        .lock()
        .unwrap()
        .apply(id, &Change::SetStep(Step::Phone), Utc::now())
        .unwrap();
    sync(&store).await.unwrap();
    assert_eq!(
        world.hq.job_detail(id).await.unwrap().job.status,
        JobStatus::Scheduled,
        "opening the job must not undo the dispatcher's re-booking"
    );

    // The laptop now has visit 2, open, with visit 1 kept; the technician
    // phones the customer and arrives.
    {
        let mut store = store.lock().unwrap();
        let visit = store.visit(id).unwrap();
        assert_eq!(
            (visit.job.visit, visit.job.status),
            (2, JobStatus::Scheduled),
            "the laptop shows the re-booked job open, as its second visit"
        );
        let past = store.past_visits(id).unwrap();
        assert_eq!(past.len(), 1, "the first visit is kept on the laptop");
        assert_eq!(
            past[0].record.reschedule.as_ref().map(|r| r.reason),
            Some(RescheduleReason::NeedsSupport)
        );
        let now = Utc::now();
        store
            .apply(
                id,
                &Change::LogCall(CallLog {
                    id: RecordId::new(),
                    at: now,
                    outcome: CallOutcome::Booked,
                    note: "客户下午在家".into(),
                    duration_seconds: None,
                }),
                now,
            )
            .expect("a call can be logged on the re-booked job");
        store
            .apply(
                id,
                &Change::SaveArrival(Arrival {
                    arrived_at: Some(now),
                    badge_shown: true,
                    ..Arrival::default()
                }),
                now,
            )
            .unwrap();
    }
    sync(&store).await.unwrap();

    let detail = world.hq.job_detail(id).await.unwrap();
    assert_eq!(detail.job.visit, 2);
    assert_eq!(
        detail.job.status,
        JobStatus::InProgress,
        "HQ's job is visit 2 under way, not rescheduled"
    );
    let first_visit: Vec<&str> = detail
        .timeline
        .iter()
        .filter(|op| op.visit == 1)
        .map(|op| op.kind.as_str())
        .collect();
    assert_eq!(
        first_visit,
        vec!["set_step", "reschedule", "set_step"],
        "visit 1's changes are all kept at HQ"
    );
    let store = store.lock().unwrap();
    let receipt = store
        .job_sync_state(id)
        .unwrap()
        .receipt
        .expect("a receipt");
    assert_eq!(
        receipt.content_hash,
        ServiceForm::from_visit(&store.visit(id).unwrap()).content_hash(),
        "HQ's receipt is for visit 2's own service form"
    );
    assert!(store.pending_outbox().unwrap().is_empty());
}

/// Issue 14's whole story, on SQLite: a customer calls twice in a month
/// with a fault. See `a_customers_story`.
#[tokio::test]
async fn a_customer_calling_twice_in_a_month_is_told_as_one_story() {
    a_customers_story(start_hq().await).await;
}

#[tokio::test]
async fn a_customer_calling_twice_in_a_month_is_told_as_one_story_on_postgres() {
    let Some((url, schema)) = postgres() else {
        return;
    };
    let storage = PostgresStorage::connect(&url, Some(&schema)).await.unwrap();
    a_customers_story(start_hq_on(Arc::new(storage), tempfile::tempdir().unwrap()).await).await;
    PostgresStorage::drop_schema(&url, &schema).await.unwrap();
}

/// A fault job for the story's customer, created as the console does;
/// HQ's answer (the job as dispatched).
async fn console_creates_fault(
    world: &World,
    token: &str,
    technician: TechnicianId,
    phone: &str,
    start: Timestamp,
) -> serde_json::Value {
    let (status, created) = dispatcher_post(
        &world.url,
        "/api/v1/jobs",
        token,
        &serde_json::json!({
            "customer_name": "王女士",
            "phone": phone,
            "address": "福州市鼓楼区五四路88号",
            "job_type": "fault",
            "sub_case": "indoor",
            "fault_description": "电视无信号",
            "window_start": start,
            "window_end": start + Duration::hours(1),
            "technician_id": technician,
            "account_number": "FZ-0088",
        }),
    )
    .await;
    assert_eq!(status, 201, "the job is created: {created}");
    created
}

/// The customer's whole story through HQ's HTTP API and two laptops' real
/// stores: the first fault visit is rescheduled for support by technician
/// A, re-booked to technician B and finished on its second visit; B takes a
/// complaint on site and calls it back; a second fault job within the
/// month arrives on B's laptop flagged as a repeat with the story; the
/// customer's page at HQ shows all of it.
async fn a_customers_story(world: World) {
    let a = world.technician;
    let b = world.hq.create_technician("陈师傅").await.unwrap().id;
    let token = signed_in_dispatcher(&world.hq).await;
    let (_dir_a, laptop_a) = enrolled_laptop(&world.hq, &world.url, a, "laptop-a").await;
    let (_dir_b, laptop_b) = enrolled_laptop(&world.hq, &world.url, b, "laptop-b").await;

    // 1. The customer calls with a fault; the console books A.
    let created = console_creates_fault(
        &world,
        &token,
        a,
        "13800008888",
        Utc::now() + Duration::hours(1),
    )
    .await;
    let first: JobId = serde_json::from_value(created["job"]["id"].clone()).unwrap();
    let customer: CustomerId =
        serde_json::from_value(created["job"]["customer"]["id"].clone()).unwrap();
    assert!(
        created["job"]["repeat_of"].is_null(),
        "the customer's first fault is no repeat: {created}"
    );
    sync(&laptop_a).await.unwrap();
    {
        let mut store = laptop_a.lock().unwrap();
        let now = Utc::now();
        store
            .apply(first, &Change::SetStep(Step::Visit), now)
            .unwrap();
        store
            .apply(
                first,
                &Change::Reschedule(Reschedule {
                    reason: RescheduleReason::NeedsSupport,
                    note: "需要登高车".into(),
                    new_start: now + Duration::days(1),
                    new_end: now + Duration::days(1) + Duration::hours(1),
                }),
                now,
            )
            .unwrap();
    }
    sync(&laptop_a).await.unwrap();
    // A's reschedule reached HQ: the job waits for a dispatcher.
    assert_eq!(
        world.hq.job_detail(first).await.unwrap().job.status,
        JobStatus::Rescheduled
    );

    // 2. The dispatcher re-books it to B in a new window.
    let (status, assigned) = dispatcher_post(
        &world.url,
        &format!("/api/v1/jobs/{first}/assign"),
        &token,
        &serde_json::json!({ "technician_id": b }),
    )
    .await;
    assert_eq!(
        status, 200,
        "a rescheduled job may go to another technician: {assigned}"
    );
    let start = Utc::now() + Duration::hours(3);
    let (status, rebooked) = dispatcher_post(
        &world.url,
        &format!("/api/v1/jobs/{first}/reschedule"),
        &token,
        &serde_json::json!({
            "window_start": start,
            "window_end": start + Duration::hours(1),
        }),
    )
    .await;
    assert_eq!(status, 200, "the re-booking is accepted: {rebooked}");
    // The technician had closed visit 1 by rescheduling: the re-booking opens visit 2.
    assert_eq!(rebooked["job"]["visit"], 2);

    sync(&laptop_b).await.unwrap();
    {
        let mut store = laptop_b.lock().unwrap();
        let visit = store.visit(first).unwrap();
        // B gets the job open, as its second visit, though B never saw the first.
        assert_eq!(
            (visit.job.visit, visit.job.status),
            (2, JobStatus::Scheduled)
        );
        let now = Utc::now();
        store
            .apply(
                first,
                &Change::AddReplacement(Replacement {
                    id: RecordId::new(),
                    item: ReplacedItem::SetTopBox,
                    old_serial: "STB-OLD-1".into(),
                    new_serial: "STB-NEW-2".into(),
                    told_in_advance: true,
                    consent: true,
                }),
                now,
            )
            .unwrap();
    }
    complete_offline(&laptop_b, first, 7);

    // 3. On site the customer complains; B takes it, promising a reply tomorrow.
    let complaint = RecordId::new();
    laptop_b
        .lock()
        .unwrap()
        .apply(
            first,
            &Change::RaiseComplaint(Complaint {
                id: complaint,
                taken_by: "陈师傅".into(),
                issue: "第一次上门没修好，又等了一天".into(),
                reply_by: Utc::now() + Duration::days(1),
            }),
            Utc::now(),
        )
        .expect("a complaint may be taken on the job just completed");
    sync(&laptop_b).await.unwrap();

    let detail = world.hq.job_detail(first).await.unwrap();
    // B's second visit completed the job at HQ, with its signature checked.
    assert_eq!(
        (detail.job.status, detail.job.visit),
        (JobStatus::Completed, 2)
    );
    assert_eq!(
        detail.technician.map(|t| t.id),
        Some(b),
        "the job is B's since the re-booking"
    );
    assert!(detail.signature_valid, "visit 2's own form was signed");
    assert!(detail.receipt.is_some(), "HQ issued a receipt for visit 2");
    // A's first visit is kept beside the second, not overwritten by it.
    let first_visit: Vec<&str> = detail
        .timeline
        .iter()
        .filter(|op| op.visit == 1)
        .map(|op| op.kind.as_str())
        .collect();
    assert_eq!(first_visit, vec!["set_step", "reschedule"]);
    assert!(
        detail
            .timeline
            .iter()
            .any(|op| op.visit == 2 && op.kind == "complete"),
        "the completion belongs to visit 2"
    );

    // The complaint waits for its callback at HQ and in the customer's story.
    let (status, open) = dispatcher_get(&world.url, "/api/v1/complaints?open=true", &token).await;
    assert_eq!(status, 200);
    assert_eq!(
        open.as_array().unwrap().len(),
        1,
        "the on-site complaint awaits its callback: {open}"
    );
    assert_eq!(
        world
            .hq
            .customer_detail(customer)
            .await
            .unwrap()
            .story
            .open_complaints
            .len(),
        1,
        "the story tells the next technician of the open complaint"
    );

    // Later B calls the customer back with the result.
    let now = Utc::now();
    laptop_b
        .lock()
        .unwrap()
        .apply(
            first,
            &Change::LogComplaintCallback(ComplaintCallback {
                complaint_id: complaint,
                result: "已向客户致歉，机顶盒已更换".into(),
                satisfied: true,
            }),
            now,
        )
        .unwrap();
    sync(&laptop_b).await.unwrap();
    let (status, open) = dispatcher_get(&world.url, "/api/v1/complaints?open=true", &token).await;
    assert_eq!(status, 200);
    assert_eq!(open, serde_json::json!([]), "nothing awaits a callback now");
    let (status, all) = dispatcher_get(&world.url, "/api/v1/complaints", &token).await;
    assert_eq!(status, 200);
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 1, "one complaint, listed once: {all:?}");
    assert_eq!(all[0]["job_id"], first.to_string());
    let record: ComplaintRecord = serde_json::from_value(all[0]["complaint"].clone()).unwrap();
    // HQ rebuilt the callback B logged, with its result.
    assert_eq!(record.id, complaint);
    assert_eq!(
        record.callback.map(|c| (c.result, c.satisfied)),
        Some(("已向客户致歉，机顶盒已更换".to_string(), true))
    );

    // The dispatcher grades the customer.
    let (status, graded) = dispatcher_post(
        &world.url,
        &format!("/api/v1/customers/{customer}/vip-grade"),
        &token,
        &serde_json::json!({ "vip_grade": "gold" }),
    )
    .await;
    assert_eq!(status, 200, "{graded}");

    // 4. Ten days later the customer calls again; another phone, the same
    // account number: the same customer, and a repeat fault.
    let created = console_creates_fault(
        &world,
        &token,
        b,
        "13900009999",
        Utc::now() + Duration::days(10),
    )
    .await;
    let second: JobId = serde_json::from_value(created["job"]["id"].clone()).unwrap();
    assert_eq!(
        created["job"]["customer"]["id"],
        customer.to_string(),
        "the account number finds the customer whatever the phone"
    );
    assert_eq!(
        created["job"]["repeat_of"],
        first.to_string(),
        "a fault within 30 days of the last one is a repeat"
    );

    sync(&laptop_b).await.unwrap();
    {
        let store = laptop_b.lock().unwrap();
        let job = store.visit(second).unwrap().job;
        // The laptop shows the flag offline, from what HQ judged.
        assert_eq!(job.repeat_of, Some(first));
        assert!(
            !job.earlier_visits.is_empty(),
            "an app from before the story still lists the earlier visit"
        );
        let story = store
            .customer_story(second)
            .unwrap()
            .expect("the customer's story came with the job");
        assert_eq!(story.vip_grade, VipGrade::Gold);
        let earlier = story
            .visits
            .iter()
            .find(|v| v.job_id == first)
            .expect("the story lists the earlier fault job");
        // What the technician reads before going: done on the second visit,
        // how the customer scored it, what was done and replaced.
        assert_eq!((earlier.status, earlier.visit), (JobStatus::Completed, 2));
        assert_eq!(earlier.mot, Some(2));
        assert!(earlier.work.contains("重做 F 头 #7"), "{earlier:?}");
        assert_eq!(earlier.replacements.len(), 1);
        assert!(
            story.open_complaints.is_empty(),
            "the complaint was called back: {story:?}"
        );
        assert!(
            story
                .products
                .iter()
                .any(|p| p.serial.as_deref() == Some("STB-NEW-2")),
            "the set-top box fitted on the last visit is among the products: {story:?}"
        );
    }

    // 5. The console's customer page.
    let (status, page) =
        dispatcher_get(&world.url, &format!("/api/v1/customers/{customer}"), &token).await;
    assert_eq!(status, 200, "{page}");
    let record: doorstep_hq::records::CustomerRecord =
        serde_json::from_value(page["customer"].clone()).unwrap();
    assert_eq!(record.account_number.as_deref(), Some("FZ-0088"));
    assert_eq!(record.vip_grade, VipGrade::Gold);
    let jobs: Vec<Job> = serde_json::from_value(page["jobs"].clone()).unwrap();
    // Both calls are the one customer's, newest first, the second flagged.
    assert_eq!(
        jobs.iter().map(|j| (j.id, j.repeat_of)).collect::<Vec<_>>(),
        vec![(second, Some(first)), (first, None)]
    );
    let story: CustomerStory = serde_json::from_value(page["story"].clone()).unwrap();
    assert_eq!(story.vip_grade, VipGrade::Gold);
    assert_eq!(
        story
            .visits
            .iter()
            .map(|v| (v.job_id, v.status, v.visit))
            .collect::<Vec<_>>(),
        vec![
            (second, JobStatus::Scheduled, 1),
            (first, JobStatus::Completed, 2)
        ],
        "the whole story, newest first"
    );
    // The set-top box B fitted is the customer's now; the one it replaced is not.
    assert_eq!(
        story
            .products
            .iter()
            .map(|p| (p.kind, p.serial.as_deref()))
            .collect::<Vec<_>>(),
        vec![(ProductKind::Equipment, Some("STB-NEW-2"))]
    );
    assert!(
        story.open_complaints.is_empty(),
        "the called-back complaint no longer waits on the customer's page"
    );
}

/// A change to a job HQ does not know sits between good changes: it never
/// blocks them and is never dropped. Everything after it arrives, HQ keeps
/// it as a conflict for a dispatcher, the app's summary names it, and the
/// next sync has nothing left to send.
#[tokio::test]
async fn a_change_to_a_job_hq_does_not_know_is_kept_as_a_conflict_and_the_rest_goes_on() {
    a_change_hq_cannot_apply_goes_on(start_hq().await).await;
}

#[tokio::test]
async fn a_change_to_a_job_hq_does_not_know_is_kept_as_a_conflict_and_the_rest_goes_on_on_postgres()
{
    let Some((url, schema)) = postgres() else {
        return;
    };
    let storage = PostgresStorage::connect(&url, Some(&schema)).await.unwrap();
    a_change_hq_cannot_apply_goes_on(
        start_hq_on(Arc::new(storage), tempfile::tempdir().unwrap()).await,
    )
    .await;
    PostgresStorage::drop_schema(&url, &schema).await.unwrap();
}

async fn a_change_hq_cannot_apply_goes_on(world: World) {
    let (_dir, store, ids) = enrolled_device(&world, 2).await;
    // A job only the laptop holds (HQ never dispatched it, or lost it).
    let mut stray = store.lock().unwrap().visit(ids[0]).unwrap().job;
    stray.id = JobId::new();
    store
        .lock()
        .unwrap()
        .apply_dispatch(&wire::PullResponse {
            cursor: "0".into(),
            jobs: vec![stray.clone()],
            removed: vec![],
            outcomes: vec![],
            server_time: None,
            hq_epoch: None,
            customers: vec![],
            documents: vec![],
            time_zone: None,
            price_list: None,
        })
        .unwrap();

    complete_offline(&store, ids[0], 0);
    store
        .lock()
        .unwrap()
        .apply(stray.id, &Change::SetStep(Step::Visit), Utc::now())
        .unwrap();
    complete_offline(&store, ids[1], 1);

    let summary = sync(&store).await.unwrap();
    let refused: Vec<_> = summary
        .conflicts
        .iter()
        .filter(|c| c.job_id == stray.id)
        .collect();
    assert_eq!(
        refused.len(),
        1,
        "the summary names the change HQ could not apply: {summary:?}"
    );
    assert_eq!(refused[0].reason, wire::ConflictReason::UnknownJob);
    assert!(
        summary.not_sent.is_empty(),
        "nothing is held back behind it: {summary:?}"
    );
    assert_eq!(
        store.lock().unwrap().sync_counts().unwrap().pending_changes,
        0,
        "every change went up, the refused one too"
    );
    assert_hq_matches_app(&world.hq, &store, &ids).await;
    let at_hq = world.hq.conflicts(true).await.unwrap();
    assert!(
        at_hq
            .iter()
            .any(|c| c.job_id == stray.id && c.reason == wire::ConflictReason::UnknownJob),
        "HQ keeps the refused change for a dispatcher: {at_hq:?}"
    );

    let again = sync(&store).await.unwrap();
    assert_eq!(
        again.changes_pushed, 0,
        "the refused change was delivered once and is not sent again: {again:?}"
    );
}

/// A laptop whose clock is three days off either way: the sync measures it
/// against HQ's clock, says so, and keeps the offset so punctuality is judged
/// on HQ's clock. No sleeping: the laptop's clock is passed in.
#[tokio::test]
async fn a_laptop_clock_three_days_off_is_measured_and_warned_about() {
    let world = start_hq().await;
    let (_dir, store, ids) = enrolled_device(&world, 2).await;
    for (days, id) in [3, -3].into_iter().zip(&ids) {
        let skew = Duration::days(days);
        let laptop_clock = move || Utc::now() + skew;
        complete_offline(&store, *id, 1);
        let summary =
            sync_once_with_clock(&store, &mut |_| {}, &AtomicBool::new(false), &laptop_clock)
                .await
                .unwrap();
        let seen = summary
            .clock_skew_seconds
            .expect("a skew of days is reported for the sync view's warning");
        assert!(
            (seen - skew.num_seconds()).abs() < 60,
            "the skew is measured against HQ's clock, sign included: {seen} for {days} days"
        );
        let offset = store.lock().unwrap().clock_offset().unwrap().unwrap();
        assert_eq!(
            offset.laptop_ahead_seconds, seen,
            "the offset is kept for judging punctuality"
        );
        let stamped = Utc::now() + skew;
        let corrected = clock::on_hq_clock(stamped, Some(&offset), stamped);
        assert!(
            (corrected - Utc::now()).num_seconds().abs() < 60,
            "a time the laptop stamps reads as HQ's time"
        );
        // HQ flags every change of that sync: a dispatcher must not read
        // their device times as the real ones.
        let ops = world.hq.job_detail(*id).await.unwrap().timeline;
        assert!(
            !ops.is_empty()
                && ops.iter().all(|op| op
                    .clock_skew_seconds
                    .is_some_and(|flag| (flag - skew.num_seconds()).abs() < 60)),
            "each change of a sync {days} days off is flagged at HQ: {:?}",
            ops.iter()
                .map(|op| op.clock_skew_seconds)
                .collect::<Vec<_>>()
        );
    }
    let right = sync(&store).await.unwrap();
    assert_eq!(
        right.clock_skew_seconds, None,
        "a clock set right raises no warning"
    );
}
