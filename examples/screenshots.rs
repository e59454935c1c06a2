//! Takes screenshots of the real app for the README and for looking at what
//! was built: `xvfb-run -a cargo run --example screenshots -- OUT_DIR`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::PathBuf;

use common::App;

#[tokio::main]
async fn main() {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "screenshots".into()),
    );
    std::fs::create_dir_all(&out).unwrap();
    let data = tempfile::tempdir().unwrap();
    let app = App::start(data.path()).await;
    app.find("job-row").await;
    app.screenshot(&out.join("job-list.png")).await;
    app.find("job-row").await.click().await.unwrap();
    for step in [
        "phone",
        "visit",
        "operate",
        "communicate",
        "evaluate",
        "help",
    ] {
        app.click(&format!("step-{step}")).await;
        match step {
            "visit" => app.click("record-arrival").await,
            "operate" => {
                for item in ["mat_cloth", "cover_cloth", "wiping_cloth", "shoe_covers"] {
                    app.click(&format!("kit-{item}")).await;
                }
                app.click("work-indoor").await;
                app.type_into("work-description", "重做 F 头,重新搜台,信号恢复")
                    .await;
            }
            "communicate" => app.click("customer-type-owl").await,
            "evaluate" => {
                app.click("mot-2").await;
                app.draw_signature().await;
                app.click("signature-save").await;
                app.find("signature-image").await;
            }
            _ => {}
        }
        app.wait_saved().await;
        app.screenshot(&out.join(format!("step-{step}.png"))).await;
    }
    app.click("report-open").await;
    app.find("report-view").await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    app.screenshot(&out.join("report.png")).await;
    app.stop().await;
    println!("screenshots in {}", out.display());
}
