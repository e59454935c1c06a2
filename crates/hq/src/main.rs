//! `doorstep-hq`: serve the HQ API, or set it up from the command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use axum_server::tls_rustls::RustlsConfig;
use clap::{Parser, Subcommand};
use doorstep_core::zone::{self, Tz};
use doorstep_hq::api::{router_with, HttpOptions};
use doorstep_hq::{admin, storage, system_clock, Hq};

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
        /// sqlite:PATH or postgres://USER@HOST/DB (add ?sslmode=require, and
        /// &sslrootcert=CA.pem for a private CA, to reach PostgreSQL over TLS)
        #[arg(long, env = "DOORSTEP_HQ_DATABASE")]
        database: String,
        /// Serve HTTPS with this certificate chain (PEM).
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The private key of --tls-cert (PEM).
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// A reverse proxy in front serves HTTPS and appends the client's
        /// address to X-Forwarded-For: the session cookie is Secure and rate
        /// limits go by that address.
        #[arg(long, env = "DOORSTEP_HQ_BEHIND_PROXY")]
        behind_proxy: bool,
        /// A fault job is flagged as a repeat when the customer had another
        /// fault job in this many days before it (standard item 15).
        #[arg(long, env = "DOORSTEP_HQ_REPEAT_FAULT_DAYS", default_value_t = doorstep_hq::rules::DEFAULT_REPEAT_FAULT_DAYS)]
        repeat_fault_days: u32,
        /// The operator's time zone (IANA name): the board's days, and the
        /// times the console and the laptops show, are in it.
        #[arg(long, env = "DOORSTEP_HQ_TIME_ZONE", default_value = "Asia/Shanghai",
              value_parser = zone::parse_time_zone)]
        time_zone: Tz,
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
        /// The operator's time zone: the demo's jobs are around today in it.
        #[arg(long, env = "DOORSTEP_HQ_TIME_ZONE", default_value = "Asia/Shanghai",
              value_parser = zone::parse_time_zone)]
        time_zone: Tz,
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
    // Request logs on stderr, one line each; RUST_LOG changes the level.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    // One TLS provider for HTTPS and PostgreSQL: ring, as the app's client.
    let _ = rustls::crypto::ring::default_provider().install_default();
    match Cli::parse().command {
        Command::Serve {
            listen,
            database,
            tls_cert,
            tls_key,
            behind_proxy,
            repeat_fault_days,
            time_zone,
        } => {
            let hq = hq(&database)
                .await?
                .with_repeat_fault_days(repeat_fault_days)
                .in_time_zone(time_zone);
            let listener = std::net::TcpListener::bind(listen)
                .with_context(|| format!("listening on {listen}"))?;
            listener.set_nonblocking(true)?;
            let tls = match tls_cert.zip(tls_key) {
                Some((cert, key)) => Some(
                    RustlsConfig::from_pem_file(&cert, &key)
                        .await
                        .with_context(|| {
                            format!("reading {} and {}", cert.display(), key.display())
                        })?,
                ),
                None => None,
            };
            let options = HttpOptions {
                secure_cookie: tls.is_some() || behind_proxy,
                behind_proxy,
                ..HttpOptions::default()
            };
            let app = router_with(hq.clone(), options)
                .into_make_service_with_connect_info::<SocketAddr>();
            eprintln!(
                "doorstep-hq: {} backend, listening on {}://{}",
                hq.backend(),
                if tls.is_some() { "https" } else { "http" },
                listener.local_addr()?
            );
            match tls {
                Some(config) => {
                    let handle = axum_server::Handle::new();
                    let stop = handle.clone();
                    tokio::spawn(async move {
                        let _ = tokio::signal::ctrl_c().await;
                        stop.graceful_shutdown(Some(Duration::from_secs(10)));
                    });
                    axum_server::from_tcp_rustls(listener, config)?
                        .handle(handle)
                        .serve(app)
                        .await?;
                }
                None => {
                    axum::serve(tokio::net::TcpListener::from_std(listener)?, app)
                        .with_graceful_shutdown(async {
                            let _ = tokio::signal::ctrl_c().await;
                        })
                        .await?;
                }
            }
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
            AdminCommand::LoadDemo {
                database,
                time_zone,
            } => {
                let demo = admin::load_demo(&hq(&database).await?.in_time_zone(time_zone)).await?;
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
