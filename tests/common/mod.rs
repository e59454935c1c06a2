//! Drives the real Doorstep window through tauri-driver (WebDriver), each run
//! with its own data directory.

#![allow(dead_code)] // each test binary uses its own part of the harness

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};

// Generous: CI runs the window tests beside the other tests on two cores,
// and a window under load can take many seconds to answer; a passing test
// never waits this long.
pub const WAIT: Duration = Duration::from_secs(45);

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn tauri_driver() -> PathBuf {
    let in_cargo_home = std::env::var_os("HOME")
        .map(|home| PathBuf::from(home).join(".cargo/bin/tauri-driver"))
        .filter(|path| path.exists());
    in_cargo_home.unwrap_or_else(|| PathBuf::from("tauri-driver"))
}

/// The app under test: `DOORSTEP_APP_BINARY` when set (a release build
/// measured by a harness built for development, say); else cargo's own
/// build of it for tests and benches; for examples (which cargo gives no
/// such path) the debug build.
pub fn app_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("DOORSTEP_APP_BINARY") {
        return PathBuf::from(path);
    }
    match option_env!("CARGO_BIN_EXE_doorstep") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/debug/doorstep"),
    }
}

pub struct App {
    pub client: Client,
    driver: Child,
    pub data_dir: PathBuf,
}

/// Stops tauri-driver with WebKitWebDriver and the app they started: the
/// process group it leads.
fn stop_driver(driver: &mut Child) {
    // SAFETY: kill(2) on the process group we created; no memory is involved.
    unsafe {
        libc::kill(-(driver.id() as i32), libc::SIGKILL);
    }
    let _ = driver.wait();
}

/// A test that panics leaves no driver, WebKitWebDriver or app running
/// behind it to hold a port or the display for the next.
impl Drop for App {
    fn drop(&mut self) {
        if matches!(self.driver.try_wait(), Ok(None)) {
            self.kill_driver();
        }
    }
}

impl App {
    /// Starts the app on `data_dir` and connects once its window is up.
    pub async fn start(data_dir: &Path) -> App {
        Self::start_with_env(data_dir, &[]).await.0
    }

    /// Starts the app with extra environment variables (e.g. an HQ to enroll at).
    pub async fn start_with_env(data_dir: &Path, env: &[(&str, &str)]) -> (App, Instant) {
        Self::launch(data_dir, env).await
    }

    /// Tries again, twice, where tauri-driver drops the request that
    /// makes the session (seen on a loaded machine as an incomplete
    /// message, before the app's window exists): that is the driver's
    /// start, not the app's, and a test should not fail for it. Any other
    /// failure of the app to come up still fails on the last try.
    async fn launch(data_dir: &Path, env: &[(&str, &str)]) -> (App, Instant) {
        const TRIES: usize = 3;
        let mut tries = 1;
        loop {
            match Self::try_launch(data_dir, env).await {
                Ok(launched) => return launched,
                Err(error) if tries < TRIES => {
                    eprintln!("WebDriver session not made ({error}); trying again");
                    tries += 1;
                }
                Err(error) => panic!("a WebDriver session with the app: {error}"),
            }
        }
    }

    async fn try_launch(
        data_dir: &Path,
        env: &[(&str, &str)],
    ) -> Result<(App, Instant), fantoccini::error::NewSessionError> {
        let port = free_port();
        let native_port = free_port();
        let mut driver = Command::new(tauri_driver())
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native_port.to_string(),
            ])
            .env("DOORSTEP_DATA_DIR", data_dir)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so stopping it also stops WebKitWebDriver.
            .process_group(0)
            .spawn()
            .expect("tauri-driver runs (scripts/setup.sh installs it)");
        let deadline = Instant::now() + WAIT;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "tauri-driver did not listen on {port}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), "wry".into());
        caps.insert(
            "tauri:options".into(),
            serde_json::json!({ "application": app_binary() }),
        );
        let launched = Instant::now();
        let client = match ClientBuilder::native()
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(client) => client,
            Err(error) => {
                stop_driver(&mut driver);
                return Err(error);
            }
        };
        let app = App {
            client,
            driver,
            data_dir: data_dir.to_path_buf(),
        };
        Ok((app, launched))
    }

    pub async fn stop(mut self) {
        let _ = self.client.clone().close().await;
        self.kill_driver();
    }

    fn kill_driver(&mut self) {
        stop_driver(&mut self.driver);
    }

    /// SIGKILLs the app process itself, as a crash or a flat battery would.
    pub async fn kill_app(mut self) {
        let pid = self.app_pid().expect("the app process is running");
        // SAFETY: kill(2) on a pid we just read from /proc.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
        self.kill_driver();
    }

    /// The app process started on this data directory.
    pub fn app_pid(&self) -> Option<i32> {
        let needle = format!("DOORSTEP_DATA_DIR={}", self.data_dir.display());
        std::fs::read_dir("/proc")
            .ok()?
            .flatten()
            .find_map(|entry| {
                let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
                let exe = std::fs::read_link(entry.path().join("exe")).ok()?;
                if exe != app_binary() {
                    return None;
                }
                let environ = std::fs::read(entry.path().join("environ")).ok()?;
                environ
                    .split(|b| *b == 0)
                    .any(|var| var == needle.as_bytes())
                    .then_some(pid)
            })
    }

    pub async fn find(&self, testid: &str) -> Element {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(&format!("[data-testid='{testid}']")))
            .await
            .unwrap_or_else(|e| panic!("element {testid} appears: {e}"))
    }

    pub async fn all(&self, testid: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(&format!("[data-testid='{testid}']")))
            .await
            .unwrap()
    }

    pub async fn click(&self, testid: &str) {
        self.find(testid)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {testid}: {e}"));
    }

    pub async fn type_into(&self, testid: &str, text: &str) {
        self.find(testid).await.send_keys(text).await.unwrap();
    }

    /// Waits until `testid`'s attribute `name` has `value`.
    pub async fn wait_attr(&self, testid: &str, name: &str, value: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let current = self.find(testid).await.attr(name).await.ok().flatten();
            if current.as_deref() == Some(value) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{testid}[{name}] should become {value:?}, is {current:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn wait_saved(&self) {
        self.wait_attr("save-state", "data-state", "saved").await;
    }

    pub async fn value(&self, testid: &str) -> String {
        self.find(testid)
            .await
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default()
    }

    pub async fn is_checked(&self, testid: &str) -> bool {
        self.find(testid)
            .await
            .prop("checked")
            .await
            .unwrap()
            .as_deref()
            == Some("true")
    }

    /// Draws a zig-zag on the signature pad with pointer actions.
    pub async fn draw_signature(&self) {
        let pad = self.find("signature-pad").await;
        self.client
            .execute(
                "arguments[0].scrollIntoView({block: 'center'})",
                vec![serde_json::to_value(&pad).unwrap()],
            )
            .await
            .unwrap();
        let mut mouse = MouseActions::new("pen".into()).then(PointerAction::MoveToElement {
            element: pad.clone(),
            duration: None,
            x: -150.0,
            y: 0.0,
        });
        mouse = mouse.then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        });
        for (i, x) in (-140..=150).step_by(20).enumerate() {
            mouse = mouse.then(PointerAction::MoveToElement {
                element: pad.clone(),
                duration: Some(Duration::from_millis(20)),
                x: x as f64,
                y: if i % 2 == 0 { -30.0 } else { 30.0 },
            });
        }
        mouse = mouse.then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
        self.client.perform_actions(mouse).await.unwrap();
    }

    /// Each image `css` matches: its source, whether it finished loading,
    /// and its natural width (0 until decoded, and for one that failed).
    pub async fn images(&self, css: &str) -> Vec<(String, bool, u64)> {
        let found = self
            .client
            .execute(
                "return Array.from(document.querySelectorAll(arguments[0]), \
                 (i) => [i.getAttribute('src') || '', i.complete, i.naturalWidth]);",
                vec![css.into()],
            )
            .await
            .unwrap_or_else(|e| panic!("images {css}: {e}"));
        serde_json::from_value(found).unwrap()
    }

    /// Waits until `count` images match `css`, each loaded and decoded
    /// (natural width above 0); returns their sources.
    pub async fn wait_images(&self, css: &str, count: usize) -> Vec<String> {
        let deadline = Instant::now() + WAIT;
        loop {
            let images = self.images(css).await;
            if images.len() == count && images.iter().all(|(_, done, width)| *done && *width > 0) {
                return images.into_iter().map(|(src, _, _)| src).collect();
            }
            assert!(
                Instant::now() < deadline,
                "{count} images {css} should load; saw (source start, complete, width) {:?}",
                images
                    .iter()
                    .map(|(src, done, width)| (
                        src.chars().take(60).collect::<String>(),
                        done,
                        width
                    ))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn screenshot(&self, path: &Path) {
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(path, png).unwrap();
    }
}
