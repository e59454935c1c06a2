//! `doorstep-hq`: serve the HQ API, or set it up from the command line.

use std::net::SocketAddr;

use anyhow::Context;
use clap::{Parser, Subcommand};
use doorstep_hq::{admin, router, storage, system_clock, Hq};

#[derive(Parser)]
#[command(name = "doorstep-hq", version, about = "Doorstep's HQ server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// sqlite:PATH or postgres://USER@HOST/DB
        #[arg(long, env = "DOORSTEP_HQ_DATABASE")]
        database: String,
    },
    /// First set-up.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a dispatcher login.
    CreateDispatcher {
        #[arg(long, env = "DOORSTEP_HQ_DATABASE")]
        database: String,
        #[arg(long)]
        username: String,
        #[arg(long)]
        password: String,
    },
    /// Create a technician; prints the id.
    CreateTechnician {
        #[arg(long, env = "DOORSTEP_HQ_DATABASE")]
        database: String,
        #[arg(long)]
        name: String,
    },
    /// A demo dispatcher, two technicians and ~30 jobs; prints an enrollment code.
    LoadDemo {
        #[arg(long, env = "DOORSTEP_HQ_DATABASE")]
        database: String,
    },
    /// Back up a SQLite database while HQ serves it: PATH and its blob file
    /// beside it. (PostgreSQL: pg_dump, see README.)
    Backup {
        #[arg(long, env = "DOORSTEP_HQ_DATABASE")]
        database: String,
        #[arg(long)]
        to: std::path::PathBuf,
    },
    /// Put a SQLite backup back, with HQ stopped; devices then send again
    /// what the backup lacks. (PostgreSQL: pg_restore, then mark-restored.)
    Restore {
        #[arg(long)]
        from: std::path::PathBuf,
        #[arg(long, env = "DOORSTEP_HQ_DATABASE")]
        database: String,
    },
    /// After a database was restored by other means (pg_restore), before HQ
    /// serves it: starts a new epoch, so devices send again what it lacks.
    MarkRestored {
        #[arg(long, env = "DOORSTEP_HQ_DATABASE")]
        database: String,
    },
}

async fn hq(database: &str) -> anyhow::Result<Hq> {
    let storage = storage::open(database)
        .await
        .with_context(|| "opening the database")?;
    Ok(Hq::new(storage, system_clock()))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Serve { listen, database } => {
            let hq = hq(&database).await?;
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("listening on {listen}"))?;
            eprintln!(
                "doorstep-hq: {} backend, listening on http://{}",
                hq.backend(),
                listener.local_addr()?
            );
            axum::serve(listener, router(hq))
                .with_graceful_shutdown(async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await?;
        }
        Command::Admin { command } => match command {
            AdminCommand::CreateDispatcher {
                database,
                username,
                password,
            } => {
                hq(&database)
                    .await?
                    .create_dispatcher(&username, &password)
                    .await?;
                println!("dispatcher {username} created");
            }
            AdminCommand::CreateTechnician { database, name } => {
                let tech = hq(&database).await?.create_technician(&name).await?;
                println!("{}", tech.id);
            }
            AdminCommand::LoadDemo { database } => {
                let demo = admin::load_demo(&hq(&database).await?).await?;
                println!(
                    "dispatcher: {} / {}",
                    admin::DEMO_DISPATCHER,
                    admin::DEMO_PASSWORD
                );
                for tech in &demo.technicians {
                    println!("technician: {} {}", tech.id, tech.name);
                }
                println!("jobs created: {}", demo.jobs);
                println!(
                    "enrollment code for {}: {} (expires {})",
                    demo.technicians[0].name, demo.code.code, demo.code.expires_at
                );
            }
            AdminCommand::Backup { database, to } => {
                storage::back_up(&database, &to).await?;
                println!(
                    "backed up to {} and {}",
                    to.display(),
                    storage::blob_file(&to).display()
                );
            }
            AdminCommand::Restore { from, database } => {
                storage::restore(&from, &database).await?;
                let reason = format!("restored from {}", from.display());
                let epoch = hq(&database).await?.begin_epoch(&reason).await?;
                println!("restored from {}; new epoch {epoch}", from.display());
            }
            AdminCommand::MarkRestored { database } => {
                let epoch = hq(&database).await?.begin_epoch("marked restored").await?;
                println!("new epoch {epoch}");
            }
        },
    }
    Ok(())
}
