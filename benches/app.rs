//! The real app under Xvfb: cold start to its first job list on screen, and the
//! memory of the app and its WebKit processes after opening 20 jobs:
//! proportional set size (PSS, shared pages split among the processes that
//! share them, so the sum is what the app costs) beside the resident figure.
//! Run under a display: `xvfb-run -a cargo bench --bench app` (scripts/bench.sh).

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::App;
use fantoccini::Locator;

const COLD_STARTS: usize = 7;
/// Issue 15's target for a cold start.
const COLD_START_TARGET_MS: f64 = 500.0;
/// What the app prints once its first job list is on screen
/// (`src-tauri/src/startup.rs`).
const LIST_SHOWN: &str = "doorstep: first job list shown";

/// One cold start: the app binary launched on `data_dir`, timed from the
/// spawn until it prints that its first job list is on screen. No WebDriver
/// session: the automation's own set-up is not the app's start.
fn cold_start(data_dir: &Path) -> Duration {
    let started = Instant::now();
    let mut app = Command::new(common::app_binary())
        .env("DOORSTEP_DATA_DIR", data_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the app binary starts");
    let stderr = app.stderr.take().unwrap();
    let (shown, wait) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.starts_with(LIST_SHOWN) {
                let _ = shown.send(Instant::now());
            }
        }
    });
    let at = wait.recv_timeout(Duration::from_secs(60));
    let _ = app.kill();
    let _ = app.wait();
    at.expect("the app showed its job list within a minute") - started
}

/// Memory (kB) of `pid` and every process below it: the sums of PSS and
/// of resident memory, and each process's name, PSS and resident memory.
type TreeMemory = (u64, u64, Vec<(String, u64, u64)>);

fn kb(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0)
}

fn tree_memory_kb(pid: i32) -> TreeMemory {
    let mut processes = Vec::new();
    let mut frontier = vec![pid];
    while let Some(parent) = frontier.pop() {
        let status = std::fs::read_to_string(format!("/proc/{parent}/status")).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().to_string())
        };
        let rollup =
            std::fs::read_to_string(format!("/proc/{parent}/smaps_rollup")).unwrap_or_default();
        processes.push((
            field("Name:").unwrap_or_default(),
            kb(&rollup, "Pss:"),
            kb(&status, "VmRSS:"),
        ));
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Some(child) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<i32>().ok())
            else {
                continue;
            };
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            // Fields after the parenthesised name: state, ppid, ...
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|p| p.parse::<i32>().ok());
            if ppid == Some(parent) {
                frontier.push(child);
            }
        }
    }
    let pss = processes.iter().map(|(_, pss, _)| pss).sum();
    let rss = processes.iter().map(|(_, _, rss)| rss).sum();
    (pss, rss, processes)
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[tokio::main]
async fn main() {
    println!("app binary: {}", common::app_binary().display());
    // A warm data directory (demo already seeded, the web view's files
    // written), so each sample is the app's own start, not first-run set-up.
    let warm = tempfile::tempdir().unwrap();
    cold_start(warm.path());
    let samples: Vec<Duration> = (0..COLD_STARTS).map(|_| cold_start(warm.path())).collect();
    let took = median(samples.clone()).as_secs_f64() * 1e3;
    println!(
        "cold start to the first job list on screen (median of {COLD_STARTS}): {took:.0} ms (target under {COLD_START_TARGET_MS:.0} ms, {:.2}x of it; samples: {:?})",
        took / COLD_START_TARGET_MS,
        samples.iter().map(|d| d.as_millis()).collect::<Vec<_>>()
    );

    let dir = tempfile::tempdir().unwrap();
    let app = App::start(dir.path()).await;
    let (pss_before, rss_before, _) = tree_memory_kb(app.app_pid().unwrap());
    let mut opened = 0;
    for tab in ["job-tab-today", "job-tab-upcoming", "job-tab-done"] {
        app.click(tab).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut ids = Vec::new();
        for row in app.all("job-row").await {
            ids.extend(row.attr("data-job-id").await.unwrap());
        }
        for id in ids {
            if opened == 20 {
                break;
            }
            app.click(tab).await;
            app.client
                .wait()
                .at_most(common::WAIT)
                .for_element(Locator::Css(&format!("[data-job-id='{id}']")))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            app.find("job-view").await;
            for step in ["step-phone", "step-operate", "step-evaluate"] {
                app.click(step).await;
            }
            app.click("back-to-list").await;
            app.find("job-list").await;
            opened += 1;
        }
    }
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(2) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (pss, rss, processes) = tree_memory_kb(app.app_pid().unwrap());
    let mib = |kb: u64| kb as f64 / 1024.0;
    println!(
        "memory after opening {opened} jobs: PSS {:.1} MiB (target under 250; at start {:.1}), \
         resident {:.1} MiB (at start {:.1})",
        mib(pss),
        mib(pss_before),
        mib(rss),
        mib(rss_before)
    );
    for (name, pss, rss) in processes {
        println!(
            "  {name:<24} PSS {:>8.1} MiB  resident {:>8.1} MiB",
            mib(pss),
            mib(rss)
        );
    }
    app.stop().await;
}
