//! `rampart`: parses the command line, opens the store, prepares the first admin (or the demo), and serves.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use server::credentials::{generate_password, hash_password};
use server::store::{Actor, SqliteStore, Store};
use server::{AppState, Config, router};
use shared::access::MIN_PASSWORD_CHARS;

#[derive(Debug, Parser)]
#[command(name = "rampart", version, about = "Rampart: a self-hosted admin center for endpoint security configuration")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the admin center, the admin API and the device API.
    Serve(Serve),
    /// Copy the database into a new file while the server keeps running (an online backup), then check the copy.
    Backup(Backup),
}

#[derive(Debug, clap::Args)]
struct Backup {
    /// The data directory of the database to copy.
    #[arg(long, env = "RAMPART_DATA_DIR", default_value = "rampart-data")]
    data_dir: PathBuf,
    /// The new file to write; never overwritten.
    #[arg(long)]
    to: PathBuf,
}

#[derive(Debug, clap::Args)]
struct Serve {
    /// Directory of the SQLite database and other state; created if missing.
    #[arg(long, env = "RAMPART_DATA_DIR", default_value = "rampart-data")]
    data_dir: PathBuf,
    /// Address to listen on.
    #[arg(long, env = "RAMPART_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The built admin center (from `cargo xtask build`); defaults to `site/` beside the binary's target directory.
    #[arg(long, env = "RAMPART_ASSETS_DIR")]
    assets_dir: Option<PathBuf>,
    /// Address devices reach this server at, written into onboarding packages; defaults to `http://` and the listen
    /// address.
    #[arg(long, env = "RAMPART_PUBLIC_URL")]
    public_url: Option<String>,
    /// Time between device check-ins, e.g. 90m, 15s, 2h.
    #[arg(long, value_parser = parse_duration)]
    check_in_interval: Option<Duration>,
    /// Name of the first admin account.
    #[arg(long, env = "RAMPART_ADMIN_USER", default_value = "admin")]
    admin_user: String,
    /// Password of the first admin account (sets it when the account exists). Without it, a fresh data directory
    /// gets a generated one-time password, printed once.
    #[arg(long, env = "RAMPART_ADMIN_PASSWORD", hide_env_values = true)]
    admin_password: Option<String>,
    /// Demo mode: both tenant switches on, licences declared, example groups and policies on a fresh data directory,
    /// a fresh admin password printed at every start, an onboarding package written to the data directory, and a
    /// 15-second check-in interval.
    #[arg(long)]
    demo: bool,
    /// With --demo: leave out the example groups and policies (the end-to-end tests start from an empty tenant).
    #[arg(long, requires = "demo")]
    no_sample_content: bool,
    /// Behind HTTPS: the session cookie is `Secure` and `__Host-` prefixed, and HSTS is sent.
    #[arg(long)]
    secure_cookies: bool,
    /// A reverse proxy (address or block, e.g. 10.0.0.5 or 10.0.0.0/24; repeat or separate with commas) whose
    /// `X-Forwarded-For` names the client. Without it, the connection's address is the client.
    #[arg(long = "trusted-proxy", env = "RAMPART_TRUSTED_PROXIES", value_delimiter = ',')]
    trusted_proxies: Vec<server::address::Cidr>,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let n: u64 = number.parse().map_err(|_| format!("{text:?} is not a duration such as 90m, 15s or 2h"))?;
    let seconds = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(format!("{text:?}: the unit must be s, m or h")),
    };
    if seconds == 0 {
        return Err("the interval must be at least one second".into());
    }
    Ok(Duration::from_secs(seconds))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve(args) => serve(args).await,
        Command::Backup(args) => backup(&args).await,
    }
}

async fn backup(args: &Backup) -> anyhow::Result<()> {
    let summary = SqliteStore::backup(&args.data_dir, &args.to).await.with_context(|| {
        format!("cannot back up the database in {} to {}", args.data_dir.display(), args.to.display())
    })?;
    println!(
        "Backed up {} to {} ({} bytes, schema version {}); its integrity check passed.",
        args.data_dir.display(),
        args.to.display(),
        summary.bytes,
        summary.schema_version
    );
    for (table, n) in &summary.counts {
        println!("  {table:<16} {n}");
    }
    println!(
        "To restore: stop the server, move the copy into place as rampart.sqlite3 in the data directory, delete \
         rampart.sqlite3-wal and rampart.sqlite3-shm there, start the server."
    );
    Ok(())
}

async fn serve(args: Serve) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create the data directory {}", args.data_dir.display()))?;
    let store = SqliteStore::open(&args.data_dir)
        .await
        .with_context(|| format!("cannot open the database in {}", args.data_dir.display()))?;
    let store: Arc<dyn Store> = Arc::new(store);

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let address = listener.local_addr()?;
    let url = format!("http://{address}");
    let public_url = args.public_url.clone().unwrap_or_else(|| url.clone());

    let assets_dir = args.assets_dir.clone().or_else(default_assets_dir);
    match &assets_dir {
        Some(dir) if dir.join("index.html").is_file() => {}
        Some(dir) => anyhow::bail!("no admin center at {}: run `cargo xtask build` first", dir.display()),
        None => tracing::warn!("no built admin center found (run `cargo xtask build`); serving the API only"),
    }

    let default_interval = if args.demo { Duration::from_secs(15) } else { Duration::from_secs(90 * 60) };
    let config = Config {
        check_in_interval: args.check_in_interval.unwrap_or(default_interval),
        secure_cookies: args.secure_cookies,
        public_url: public_url.clone(),
        assets_dir,
        trusted_proxies: args.trusted_proxies.clone(),
        ..Config::default()
    };

    let credentials = prepare_admin(&*store, &args).await?;
    if args.demo {
        prepare_demo(&*store, &args, &public_url).await?;
    }

    println!("Rampart is listening on {url}");
    if let Some((username, password)) = credentials {
        println!("Sign in as {username} with the password {password}");
        if !args.demo {
            println!("This password is shown only now and works once: you choose your own at the first sign-in.");
        }
    }
    if args.demo {
        println!("Onboarding package: {}", args.data_dir.join(ONBOARDING_PACKAGE).display());
    }

    let app = router(AppState::new(Arc::clone(&store), config));
    axum::serve(server::listener(listener), app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    store.flush_check_ins().await?;
    Ok(())
}

const ONBOARDING_PACKAGE: &str = "onboarding-package.json";

/// `target/site` when the binary runs from `target/<profile>/`.
fn default_assets_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let site = exe.parent()?.parent()?.join("site");
    site.join("index.html").is_file().then_some(site)
}

/// Creates or resets the admin account as the flags say; returns credentials to print when Rampart chose them. A
/// generated password is one-time (the admin chooses their own at first sign-in), except in the demo, which prints a
/// fresh one at every start. Either way the reset ends the account's sessions and is in the audit log.
async fn prepare_admin(store: &dyn Store, args: &Serve) -> anyhow::Result<Option<(String, String)>> {
    let (password, print) = match (&args.admin_password, args.demo, store.count_admins().await?) {
        (Some(password), _, _) => {
            let n = password.chars().count();
            if n < MIN_PASSWORD_CHARS || password.len() > 1024 {
                anyhow::bail!(
                    "RAMPART_ADMIN_PASSWORD (--admin-password) must be {MIN_PASSWORD_CHARS} characters to 1024 bytes; \
                     it has {n} characters"
                );
            }
            (password.clone(), false)
        }
        (None, true, _) | (None, false, 0) => (generate_password(), true),
        (None, false, _) => return Ok(None),
    };
    let hash = tokio::task::spawn_blocking(move || hash_password(&password).map(|hash| (hash, password)))
        .await?
        .map_err(anyhow::Error::msg)?;
    let must_change = print && !args.demo;
    let actor = Actor { username: "rampart (command line)".to_owned(), address: "local".to_owned(), at: server::now() };
    store.set_admin_password(&args.admin_user, &hash.0, must_change, &actor).await?;
    Ok(print.then(|| (args.admin_user.clone(), hash.1)))
}

/// Prepares the demo tenant and writes the onboarding package that `rampart-agent --onboarding-package` reads.
async fn prepare_demo(store: &dyn Store, args: &Serve, public_url: &str) -> anyhow::Result<()> {
    server::demo::prepare(store, &args.admin_user, !args.no_sample_content).await?;
    let package = server::demo::onboarding_package(store, public_url).await?;
    let path = args.data_dir.join(ONBOARDING_PACKAGE);
    std::fs::write(&path, serde_json::to_vec_pretty(&package)?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        () = terminate => {},
    }
}
