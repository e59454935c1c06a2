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
    /// First set-up and accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a dispatcher login; asks for the password (or reads it from
    /// standard input).
    CreateDispatcher {
        #[arg(long, env = "DOORSTEP_HQ_DATABASE")]
        database: String,
        #[arg(long)]
        username: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a dispatcher's password; their sessions end.
    SetPassword {
        #[arg(long, env = "DOORSTEP_HQ_DATABASE")]
        database: String,
        #[arg(long)]
        username: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable a dispatcher: no log-in, and their sessions end.
    DisableDispatcher {
        #[arg(long, env = "DOORSTEP_HQ_DATABASE")]
        database: String,
        #[arg(long)]
        username: String,
    },
    /// Enable a disabled dispatcher again.
    EnableDispatcher {
        #[arg(long, env = "DOORSTEP_HQ_DATABASE")]
        database: String,
        #[arg(long)]
        username: String,
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
}

/// A new password: the first line of standard input with
/// `--password-stdin`, else typed twice at the terminal without echo. Never
/// an argument, which every user of the machine can read in the process
/// list and which stays in shell history.
fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        let password = line.strip_suffix('\n').unwrap_or(&line);
        return Ok(password.strip_suffix('\r').unwrap_or(password).to_string());
    }
    let password = rpassword::prompt_password("New password: ")
        .context("asking for the password (no terminal? use --password-stdin)")?;
    let again = rpassword::prompt_password("Same password again: ")?;
    anyhow::ensure!(password == again, "the two passwords differ");
    Ok(password)
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
                password_stdin,
            } => {
                let password = read_password(password_stdin)?;
                hq(&database)
                    .await?
                    .create_dispatcher(&username, &password)
                    .await?;
                println!("dispatcher {username} created");
            }
            AdminCommand::SetPassword {
                database,
                username,
                password_stdin,
            } => {
                let password = read_password(password_stdin)?;
                hq(&database)
                    .await?
                    .set_password(&username, &password)
                    .await?;
                println!("password of {username} set; their sessions ended");
            }
            AdminCommand::DisableDispatcher { database, username } => {
                hq(&database).await?.disable_dispatcher(&username).await?;
                println!("dispatcher {username} disabled; their sessions ended");
            }
            AdminCommand::EnableDispatcher { database, username } => {
                hq(&database).await?.enable_dispatcher(&username).await?;
                println!("dispatcher {username} enabled");
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
        },
    }
    Ok(())
}
