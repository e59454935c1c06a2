//! `doorstep-hq admin backup` and `admin restore` on SQLite: the two files
//! copied so they agree while HQ writes, and put back only when no HQ has
//! them open. (PostgreSQL's pg_dump and pg_restore, and the devices'
//! recovery, are tested whole in the workspace's tests/sync_system.rs.)

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use doorstep_core::signature::sha256_hex;
use doorstep_hq::storage::{self, Storage};

fn url(path: &Path) -> String {
    format!("sqlite:{}", path.display())
}

async fn open(path: &Path) -> Arc<dyn Storage> {
    storage::open(&url(path)).await.unwrap()
}

/// A blob of its own for each `n`.
fn blob(n: usize) -> (String, Vec<u8>) {
    let bytes: Vec<u8> = (0..50_000).map(|i| ((i * 7 + n) % 251) as u8).collect();
    (sha256_hex(&bytes), bytes)
}

/// What an operator relies on: the backup is the database as it stood,
/// a second backup never overwrites the first, a restore under a running
/// HQ is refused before it writes anything, and once HQ is stopped the
/// restore puts back exactly what was backed up, records and blobs.
#[tokio::test]
async fn a_backup_is_put_back_whole_and_only_with_hq_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("hq.sqlite3");
    let backups = tempfile::tempdir().unwrap();
    let backup = backups.path().join("backup.sqlite3");
    let hq = open(&database).await;
    let before = common::technician(&hq, "林").await;
    let (kept, kept_bytes) = blob(1);
    hq.put_blobs(vec![(kept.clone(), kept_bytes.clone())], chrono::Utc::now())
        .await
        .unwrap();

    storage::back_up(&url(&database), &backup).await.unwrap();
    let mut files: Vec<String> = std::fs::read_dir(backups.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        ["backup.blobs.sqlite3", "backup.sqlite3"],
        "both files, whole in themselves: no partial copy, WAL or shared memory left"
    );
    let again = storage::back_up(&url(&database), &backup).await;
    assert!(
        again.is_err_and(|e| e.to_string().contains("never overwrites")),
        "a backup never overwrites another"
    );

    common::technician(&hq, "陈").await;
    let (lost, lost_bytes) = blob(2);
    hq.put_blobs(vec![(lost.clone(), lost_bytes)], chrono::Utc::now())
        .await
        .unwrap();
    let refused = storage::restore(&backup, &url(&database)).await;
    assert!(
        refused.is_err_and(|e| e.to_string().contains("in use")),
        "HQ still has the database open"
    );
    assert_eq!(
        hq.technicians().await.unwrap().len(),
        2,
        "a refused restore wrote nothing"
    );

    drop(hq);
    storage::restore(&backup, &url(&database)).await.unwrap();
    let hq = open(&database).await;
    assert_eq!(hq.technicians().await.unwrap(), vec![before]);
    assert_eq!(hq.blob(&kept).await.unwrap(), Some(kept_bytes));
    assert_eq!(
        hq.missing_blobs(std::slice::from_ref(&lost)).await.unwrap(),
        vec![lost],
        "the blob file is the backup's too"
    );
}

/// The records are copied before the blobs, so every blob the records'
/// copy names is in the blob file's copy, however the backup falls among
/// HQ's commits. Here, as in a sync, each record is written only after the
/// blob it names is committed (a technician named by the blob's hash
/// stands in for a change naming it); a backup that copied the blobs first
/// would miss the blob of a record committed between the two copies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_hq_writes_holds_every_blob_its_records_name() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("hq.sqlite3");
    let hq = open(&database).await;
    let written = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (hq, written) = (hq.clone(), written.clone());
        tokio::spawn(async move {
            for n in 0..400 {
                let (hash, bytes) = blob(n);
                hq.put_blobs(vec![(hash.clone(), bytes)], chrono::Utc::now())
                    .await
                    .unwrap();
                common::technician(&hq, &hash).await;
                written.store(n + 1, Ordering::SeqCst);
            }
        })
    };
    let mut taken_mid_write = 0;
    for round in 0..6 {
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        let backup = dir.path().join(format!("backup-{round}.sqlite3"));
        let started_at = written.load(Ordering::SeqCst);
        storage::back_up(&url(&database), &backup).await.unwrap();
        if started_at > 0 && written.load(Ordering::SeqCst) > started_at {
            taken_mid_write += 1;
        }
        let copy = open(&backup).await;
        let named: Vec<String> = copy
            .technicians()
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.name)
            .collect();
        assert_eq!(
            copy.missing_blobs(&named).await.unwrap(),
            Vec::<String>::new(),
            "backup {round}: every blob its records name is in it"
        );
    }
    writer.await.unwrap();
    assert!(
        taken_mid_write >= 2,
        "backups were taken while HQ wrote ({taken_mid_write})"
    );
}
