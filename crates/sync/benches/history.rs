//! The customers' history at scale (issue 14 §5), printed, not asserted: HQ
//! holds 100,000 customers with 1,000,000 past jobs, each with the op log a
//! completed visit leaves; one technician's day (30 jobs, each for one of
//! those customers) is pulled over loopback with their stories.
//! - the pull (HQ reads the day's jobs and their customers' histories,
//!   builds the stories, answers in JSON): median of several, beside the
//!   1 s target;
//! - the first sync into an empty laptop (pull and store), once.
//!
//! On SQLite, and on PostgreSQL when DOORSTEP_TEST_POSTGRES_URL is set.
//! The past jobs are copies, made in SQL, of ten jobs a device really
//! completed and synced (one a month, so each customer has one of each): the
//! rows are what HQ's own sync wrote, only their ids and customers differ.
//! DOORSTEP_BENCH_CUSTOMERS sets the number of customers (default 100,000).
//!
//! Run with `cargo bench -p doorstep-sync --bench history` (scripts/bench.sh).

use std::future::IntoFuture;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use doorstep_core::change::Change;
use doorstep_core::media::CleanImage;
use doorstep_core::wire::TechnicianId;
use doorstep_core::*;
use doorstep_hq::service::NewJob;
use doorstep_hq::storage::{PostgresStorage, Storage};
use doorstep_hq::{router, system_clock, Hq};
use doorstep_store::{Store, StoreKey};
use doorstep_sync::{enroll, sync_once, Enrollment};

const KEY: StoreKey = StoreKey::from_bytes([0x42; 32]);

/// Past jobs per customer: one of each template.
const PAST_JOBS_PER_CUSTOMER: usize = 10;
/// The technician's day.
const DAY_JOBS: usize = 30;
const PULL_ROUNDS: usize = 7;
const TARGET: Duration = Duration::from_secs(1);

fn customers() -> usize {
    std::env::var("DOORSTEP_BENCH_CUSTOMERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000)
}

async fn serve(hq: &Hq) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(axum::serve(listener, router(hq.clone())).into_future());
    url
}

fn new_job(n: usize, account: String, start: Timestamp, technician: TechnicianId) -> NewJob {
    NewJob {
        customer_name: format!("客户{n}"),
        phone: format!("138{n:08}"),
        address: format!("福州市鼓楼区五四路{n}号"),
        job_type: JobType::Fault,
        sub_case: SubCase::Indoor,
        fault_description: "无信号，机顶盒重启后仍无画面".into(),
        window_start: start,
        window_end: start + chrono::Duration::hours(2),
        technician_id: Some(technician),
        earlier_visits: vec![],
        account_number: Some(account),
        reported_at: None,
    }
}

async fn enrolled_store(
    hq: &Hq,
    url: &str,
    technician: TechnicianId,
) -> (tempfile::TempDir, Mutex<Store>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Mutex::new(Store::open(&dir.path().join("app.sqlite3"), &KEY).unwrap());
    let code = hq.issue_enrollment_code(technician).await.unwrap();
    enroll(&store, url, &code.code, "bench", None)
        .await
        .unwrap();
    (dir, store)
}

/// Ten jobs, one a month back from last month, completed on a laptop with
/// work, a replacement, an MOT score, a complaint called back and a
/// signature, and synced: the op logs every past job is copied from.
async fn template_jobs(hq: &Hq, url: &str) -> Vec<JobId> {
    let technician = hq.create_technician("历史师傅").await.unwrap().id;
    let mut ids = Vec::new();
    let mut starts = Vec::new();
    for k in 0..PAST_JOBS_PER_CUSTOMER {
        let start = Utc::now() - chrono::Duration::days(30 * (PAST_JOBS_PER_CUSTOMER - k) as i64);
        let job = hq
            .create_job(new_job(k, format!("TPL{k:04}"), start, technician))
            .await
            .unwrap();
        ids.push(job.job.id);
        starts.push(start);
    }
    let (_dir, store) = enrolled_store(hq, url, technician).await;
    sync_once(&store, &mut |_| {}, &AtomicBool::new(false))
        .await
        .unwrap();
    let now = Utc::now();
    {
        let mut guard = store.lock().unwrap();
        for (k, id) in ids.iter().enumerate() {
            let complaint = RecordId::new();
            for change in [
                Change::SaveArrival(Arrival {
                    // On time: a late arrival would need its apology call.
                    arrived_at: Some(starts[k]),
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
                    fault_point: "入户 F 头氧化".into(),
                    description: "重做 F 头，更换机顶盒，信号恢复".into(),
                    ..Work::default()
                }),
                Change::AddReplacement(Replacement {
                    id: RecordId::new(),
                    item: ReplacedItem::SetTopBox,
                    old_serial: format!("STB-OLD-{k:04}"),
                    new_serial: format!("STB-NEW-{k:04}"),
                    told_in_advance: true,
                    consent: true,
                }),
                Change::RaiseComplaint(Complaint {
                    id: complaint,
                    taken_by: "历史师傅".into(),
                    issue: "上次约好的时间迟到".into(),
                    reply_by: now + chrono::Duration::hours(4),
                }),
                Change::LogComplaintCallback(ComplaintCallback {
                    complaint_id: complaint,
                    result: "已致歉，客户接受".into(),
                    satisfied: true,
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
            ] {
                guard.apply(*id, &change, now).unwrap();
            }
            let image = CleanImage {
                width: 1,
                height: 1,
                bytes: vec![k as u8; 2048],
            };
            guard.sign(*id, &image, &format!("[{k}]"), now).unwrap();
            guard.apply(*id, &Change::Complete, now).unwrap();
        }
    }
    let summary = sync_once(&store, &mut |_| {}, &AtomicBool::new(false))
        .await
        .unwrap();
    assert!(summary.not_sent.is_empty() && summary.conflicts.is_empty());
    ids
}

/// The SQL that copies the template jobs to `customers` customers, in the
/// backend's dialect. `columns(table)` lists a table's columns in order.
struct Dialect {
    /// A UUID's text from a fixed prefix (8 hex digits) and a number.
    uuid: fn(prefix: &str, number: &str) -> String,
    /// Numbers 0..n as a row source named `n` with column `i`.
    series: fn(n: usize) -> String,
}

const SQLITE: Dialect = Dialect {
    uuid: |prefix, number| format!("printf('{prefix}-0000-4000-8000-%012x', {number})"),
    series: |n| {
        format!("(WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < {n} - 1) SELECT i FROM s) n")
    },
};

const POSTGRES: Dialect = Dialect {
    uuid: |prefix, number| {
        format!("('{prefix}-0000-4000-8000-' || lpad(to_hex({number}), 12, '0'))::uuid")
    },
    series: |n| format!("(SELECT generate_series(0, {n} - 1) AS i) n"),
};

/// Statements that fill HQ with `customers` customers and copy each
/// template job once per customer, op log and all.
fn fill_statements(
    dialect: &Dialect,
    templates: &[JobId],
    customers: usize,
    job_columns: &[String],
    op_columns: &[String],
) -> Vec<String> {
    let customer_id = (dialect.uuid)("c0000000", "n.i");
    let mut statements = vec![format!(
        "INSERT INTO customers (id, account_number, name, phone, phone_key, address, vip_grade, created_at)
         SELECT {customer_id}, 'FZ' || (10000000 + n.i), '客户' || n.i, '138' || (10000000 + n.i),
                '138' || (10000000 + n.i), '福州市鼓楼区五四路' || n.i || '号', 'regular',
                (SELECT MIN(created_at) FROM customers)
         FROM {}",
        (dialect.series)(customers)
    )];
    for (k, template) in templates.iter().enumerate() {
        let job_id = (dialect.uuid)(&format!("{k:08x}"), "n.i");
        let job_select: Vec<String> = job_columns
            .iter()
            .map(|column| match column.as_str() {
                "id" => job_id.clone(),
                "customer_id" => customer_id.clone(),
                "customer_name" => "'客户' || n.i".into(),
                "phone" => "'138' || (10000000 + n.i)".into(),
                "address" => "'福州市鼓楼区五四路' || n.i || '号'".into(),
                other => format!("t.{other}"),
            })
            .collect();
        statements.push(format!(
            "INSERT INTO jobs ({}) SELECT {} FROM jobs t, {} WHERE t.id = '{template}'",
            job_columns.join(", "),
            job_select.join(", "),
            (dialect.series)(customers),
        ));
        let op_select: Vec<String> = op_columns
            .iter()
            .map(|column| match column.as_str() {
                // A template job has fewer than 64 ops, numbered apart.
                "op_id" => {
                    (dialect.uuid)(&format!("{:08x}", 0x10000000 + k), "n.i * 64 + o.seq % 64")
                }
                // Unique per device: each copy numbered after the template's.
                "seq" => format!("1000000 + ({k} * {customers} + n.i) * 64 + o.seq % 64"),
                "job_id" => job_id.clone(),
                other => format!("o.{other}"),
            })
            .collect();
        statements.push(format!(
            "INSERT INTO ops ({}) SELECT {} FROM ops o, {} WHERE o.job_id = '{template}'",
            op_columns.join(", "),
            op_select.join(", "),
            (dialect.series)(customers),
        ));
    }
    statements
}

async fn fill_sqlite(path: &std::path::Path, templates: &[JobId], customers: usize) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.busy_timeout(Duration::from_secs(60)).unwrap();
    let columns = |table: &str| -> Vec<String> {
        let mut statement = conn
            .prepare(&format!(
                "SELECT name FROM pragma_table_info('{table}') ORDER BY cid"
            ))
            .unwrap();
        let names = statement
            .query_map([], |row| row.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .filter(|name| name != "id" || table == "jobs")
            .collect();
        names
    };
    let statements = fill_statements(
        &SQLITE,
        templates,
        customers,
        &columns("jobs"),
        &columns("ops"),
    );
    conn.execute_batch("BEGIN").unwrap();
    for statement in &statements {
        conn.execute_batch(statement).unwrap();
    }
    conn.execute_batch("COMMIT; ANALYZE").unwrap();
}

async fn fill_postgres(url: &str, schema: &str, templates: &[JobId], customers: usize) {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute(&format!("SET search_path TO {schema}"))
        .await
        .unwrap();
    let mut columns = Vec::new();
    for table in ["jobs", "ops"] {
        let rows = client
            .query(
                "SELECT column_name FROM information_schema.columns
                 WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
                &[&schema, &table],
            )
            .await
            .unwrap();
        columns.push(
            rows.iter()
                .map(|row| row.get::<_, String>(0))
                .filter(|name| name != "id" || table == "jobs")
                .collect::<Vec<_>>(),
        );
    }
    let statements = fill_statements(&POSTGRES, templates, customers, &columns[0], &columns[1]);
    for statement in &statements {
        client.batch_execute(statement).await.unwrap();
    }
    client.batch_execute("ANALYZE").await.unwrap();
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// The technician's day: one job today for each of `DAY_JOBS` customers
/// spread over the whole set, matched by account number.
async fn the_day(hq: &Hq, customers: usize) -> TechnicianId {
    let technician = hq.create_technician("今日师傅").await.unwrap().id;
    let start = Utc::now() + chrono::Duration::hours(1);
    for d in 0..DAY_JOBS {
        let n = d * (customers / DAY_JOBS);
        hq.create_job(new_job(
            n,
            format!("FZ{}", 10_000_000 + n),
            start,
            technician,
        ))
        .await
        .unwrap();
    }
    technician
}

async fn history(label: &str, hq: Hq, fill: impl AsyncFnOnce(&[JobId], usize)) {
    let customers = customers();
    let url = serve(&hq).await;
    let templates = template_jobs(&hq, &url).await;
    let started = Instant::now();
    fill(&templates, customers).await;
    let filled = started.elapsed();
    let technician = the_day(&hq, customers).await;

    let (_dir, store) = enrolled_store(&hq, &url, technician).await;
    let client = Enrollment::load(&store.lock().unwrap())
        .unwrap()
        .unwrap()
        .client()
        .unwrap();
    let mut times = Vec::new();
    let mut response = None;
    for _ in 0..PULL_ROUNDS {
        let start = Instant::now();
        let pulled = client.pull(None, 0).await.unwrap();
        times.push(start.elapsed());
        response = Some(pulled);
    }
    let response = response.unwrap();
    let visits: usize = response.customers.iter().map(|s| s.visits.len()).sum();
    // The figure means something only if every story is whole: the day's
    // job and every past one of its customer.
    assert_eq!(response.jobs.len(), DAY_JOBS);
    assert_eq!(response.customers.len(), DAY_JOBS);
    assert_eq!(visits, DAY_JOBS * (PAST_JOBS_PER_CUSTOMER + 1));
    let bytes = serde_json::to_vec(&response).unwrap().len();
    let pull = median(times);

    let start = Instant::now();
    sync_once(&store, &mut |_| {}, &AtomicBool::new(false))
        .await
        .unwrap();
    let first_sync = start.elapsed();
    println!(
        "history, {label}: {customers} customers, {} past jobs (filled in {:.0} s); one technician's day ({DAY_JOBS} jobs, {visits} visits in their stories, {} KiB): pull median {:.0} ms (target < {} ms, {:.2}x of it), first sync into an empty laptop {:.0} ms",
        customers * PAST_JOBS_PER_CUSTOMER,
        filled.as_secs_f64(),
        bytes / 1024,
        pull.as_secs_f64() * 1000.0,
        TARGET.as_millis(),
        pull.as_secs_f64() / TARGET.as_secs_f64(),
        first_sync.as_secs_f64() * 1000.0,
    );
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.sqlite3");
    let storage = doorstep_hq::storage::open(&format!("sqlite:{}", path.display()))
        .await
        .unwrap();
    let fill_path = path.clone();
    history(
        "HQ on SQLite",
        Hq::new(storage, system_clock()),
        async move |templates: &[JobId], customers| {
            fill_sqlite(&fill_path, templates, customers).await
        },
    )
    .await;
    match std::env::var("DOORSTEP_TEST_POSTGRES_URL") {
        Ok(url) => {
            let schema = format!("bench_{}", uuid::Uuid::now_v7().simple());
            let storage: Arc<dyn Storage> =
                Arc::new(PostgresStorage::connect(&url, Some(&schema)).await.unwrap());
            let fill_url = url.clone();
            let fill_schema = schema.clone();
            history(
                "HQ on PostgreSQL",
                Hq::new(storage, system_clock()),
                async move |templates: &[JobId], customers| {
                    fill_postgres(&fill_url, &fill_schema, templates, customers).await
                },
            )
            .await;
            PostgresStorage::drop_schema(&url, &schema).await.unwrap();
        }
        Err(_) => println!("PostgreSQL: skipped (set DOORSTEP_TEST_POSTGRES_URL, e.g. eval \"$(scripts/postgres.sh env)\")"),
    }
}
