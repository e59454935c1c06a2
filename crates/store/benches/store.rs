//! Store figures with 10,000 jobs in a real SQLite file: the job list, search,
//! and saving a signature from pen-up to durable. Prints medians; run with
//! `cargo bench -p doorstep-store --bench store`.

use std::io::Cursor;
use std::time::{Duration, Instant};

use chrono::{FixedOffset, NaiveDate, TimeZone, Utc};
use doorstep_core::media::clean_signature;
use doorstep_core::*;
use doorstep_store::{demo::demo_jobs, JobFilter, Store, Tab};
use image::{ImageFormat, Rgba, RgbaImage};

const JOBS: usize = 10_000;
const RUNS: usize = 101;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn time<T>(mut f: impl FnMut() -> T) -> Duration {
    median(
        (0..RUNS)
            .map(|_| {
                let start = Instant::now();
                std::hint::black_box(f());
                start.elapsed()
            })
            .collect(),
    )
}

/// A 600x200 canvas with a few pen strokes, as the signature pad exports it.
fn signature_png() -> Vec<u8> {
    let mut canvas = RgbaImage::from_pixel(600, 200, Rgba([0, 0, 0, 0]));
    for x in 60..540u32 {
        let y = 100.0 + 50.0 * ((x as f64) / 30.0).sin();
        for dy in 0..3 {
            canvas.put_pixel(x, y as u32 + dy, Rgba([20, 20, 20, 255]));
        }
    }
    let mut png = Vec::new();
    canvas
        .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
        .unwrap();
    png
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("bench.sqlite3")).unwrap();
    let zone = FixedOffset::east_opt(8 * 3600).unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let mut jobs = Vec::with_capacity(JOBS);
    let mut day = 0;
    while jobs.len() < JOBS {
        // The demo set, spread over a year around today.
        jobs.extend(demo_jobs(today + chrono::Duration::days(day - 180), zone));
        day += 1;
    }
    jobs.truncate(JOBS);
    let start = Instant::now();
    store.upsert_jobs(&jobs).unwrap();
    println!("setup: {JOBS} jobs stored in {}", ms(start.elapsed()));

    let tomorrow = zone
        .from_local_datetime(
            &(today + chrono::Duration::days(1))
                .and_hms_opt(0, 0, 0)
                .unwrap(),
        )
        .unwrap()
        .to_utc();
    let list = |tab: Tab, query: &str| {
        let filter = JobFilter {
            tab,
            query: query.into(),
        };
        move |store: &Store| store.list_jobs(&filter, tomorrow).unwrap().len()
    };
    println!("job list and search, {JOBS} jobs, median of {RUNS} runs:");
    for (label, tab, query) in [
        ("list: today", Tab::Today, ""),
        ("list: upcoming", Tab::Upcoming, ""),
        ("list: done", Tab::Done, ""),
        ("search: name 陈美玲", Tab::Today, "陈美玲"),
        ("search: phone 1358", Tab::Today, "1358"),
        ("search: address 鼓楼区", Tab::Today, "鼓楼区"),
        ("search: no match", Tab::Today, "不存在的客户"),
    ] {
        let run = list(tab, query);
        let rows = run(&store);
        println!(
            "  {label:<26} {:>10}  ({rows} rows)",
            ms(time(|| run(&store)))
        );
    }

    // Signature: decode, validate and trim the PNG, then store it bound to the
    // form, committed with synchronous=FULL (durable on return).
    let png = signature_png();
    let strokes = r#"[{"points":[{"x":60,"y":100,"time":0}]}]"#;
    let job_ids: Vec<JobId> = jobs
        .iter()
        .filter(|j| !j.status.is_closed())
        .take(RUNS)
        .map(|j| j.id)
        .collect();
    let mut samples = Vec::new();
    for id in &job_ids {
        let start = Instant::now();
        let clean = clean_signature(&png).unwrap();
        store.sign(*id, &clean, strokes, Utc::now()).unwrap();
        samples.push(start.elapsed());
    }
    let clean_only = time(|| clean_signature(&png).unwrap());
    println!(
        "signature save, pen-up to durable (median of {RUNS}): {}  (of which PNG clean-up {})",
        ms(median(samples)),
        ms(clean_only)
    );
}
