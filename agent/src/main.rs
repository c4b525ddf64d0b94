//! `rampart-agent`: plays a fleet of Windows devices against a Rampart server.
//!
//! `simulate` onboards N devices with a realistic mix of platforms, managers and registrations (with a progress
//! bar), then keeps every one of them checking in at the interval the server gives, over `http://` or `https://`
//! (`--ca-file` pins the server's CA).

mod connection;
mod fleet;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use connection::{ServerConnection, Servers};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use shared::api::{CHECK_IN_INTERVAL_HEADER, CheckInResponse, OnboardResponse, OnboardingPackage};
use shared::device::DeviceFacts;
use shared::error::ErrorEnvelope;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

#[derive(Debug, Parser)]
#[command(name = "rampart-agent", version, about = "Simulated Windows devices for Rampart")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Onboard a fleet of simulated devices and keep them checking in.
    Simulate(Simulate),
    /// Print a simulated device's local Defender preferences, as `Get-MpPreference` shows them on Windows.
    Preferences(Preferences),
}

#[derive(Debug, clap::Args)]
struct Preferences {
    /// The state file the fleet was simulated with.
    #[arg(long)]
    state_file: PathBuf,
    /// The device's host name, e.g. LAP-00004 (not case-sensitive).
    #[arg(long)]
    device: String,
}

/// What a simulated device applied last, kept beside the state file (`<state file>.devices/<HOSTNAME>.json`), as
/// Windows keeps its Defender preferences in the registry.
#[derive(Debug, Serialize, Deserialize)]
struct LocalPreferences {
    hostname: String,
    policies_hash: String,
    applied_at: i64,
    preferences: std::collections::BTreeMap<String, String>,
}

fn preferences_dir(state_file: &std::path::Path) -> PathBuf {
    let mut name = state_file.as_os_str().to_owned();
    name.push(".devices");
    PathBuf::from(name)
}

fn print_preferences(args: &Preferences) -> anyhow::Result<()> {
    let dir = preferences_dir(&args.state_file);
    let path = dir.join(format!("{}.json", args.device.to_ascii_uppercase()));
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let state: Option<StateFile> =
                std::fs::read(&args.state_file).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok());
            let known = state.is_some_and(|state| {
                state.devices.iter().any(|d| d.facts.hostname.as_str().eq_ignore_ascii_case(&args.device))
            });
            if known {
                bail!(
                    "{} has not applied any policy yet: no policy applies to it, or it has not checked in",
                    args.device
                )
            }
            bail!("no simulated device is named {} in {}", args.device, args.state_file.display())
        }
        Err(error) => return Err(error).with_context(|| format!("cannot read {}", path.display())),
    };
    let local: LocalPreferences =
        serde_json::from_str(&text).with_context(|| format!("{} is not a device's preferences", path.display()))?;
    println!("{} — policies {} applied at Unix time {}", local.hostname, local.policies_hash, local.applied_at);
    println!();
    if local.preferences.is_empty() {
        println!("No preference is set by a policy; Defender's defaults apply.");
    }
    let width = local.preferences.keys().map(String::len).max().unwrap_or(0);
    for (name, value) in &local.preferences {
        println!("{name:<width$} : {value}");
    }
    Ok(())
}

#[derive(Debug, clap::Args)]
struct Simulate {
    /// The onboarding package downloaded from Tenant administration (server address and token).
    #[arg(long, conflicts_with_all = ["server", "token"])]
    onboarding_package: Option<PathBuf>,
    /// The server's base URL, e.g. http://127.0.0.1:8080 (instead of a package). Several (repeated, or separated by
    /// commas), e.g. the replicas of one tenant: the fleet is spread over them, and a device that cannot connect to
    /// its server moves to the next.
    #[arg(long, requires = "token", value_delimiter = ',')]
    server: Vec<String>,
    /// The tenant's onboarding token (instead of a package).
    #[arg(long, env = "RAMPART_ONBOARDING_TOKEN", hide_env_values = true, requires = "server")]
    token: Option<String>,
    /// Number of devices.
    #[arg(long, default_value_t = 50)]
    devices: u32,
    /// Seed of the fleet's mix; the same seed gives the same devices.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Devices onboarding at the same time.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Keeps the devices' credentials here, so that a restart resumes the same devices instead of onboarding anew.
    #[arg(long)]
    state_file: Option<PathBuf>,
    /// Stop after onboarding and one check-in per device.
    #[arg(long)]
    once: bool,
    #[command(flatten)]
    connection: ServerConnection,
}

/// A device's credentials, as kept in the state file.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Enrolled {
    facts: DeviceFacts,
    device_id: String,
    device_secret: String,
    /// The server (an index into the servers given) the device last reached.
    #[serde(default)]
    server: usize,
}

#[derive(Debug, Serialize, Deserialize)]
struct StateFile {
    /// The servers the fleet was last run against (comma-separated), for whoever reads the file.
    server_url: String,
    seed: u64,
    devices: Vec<Enrolled>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Simulate(args) => simulate(args).await,
        Command::Preferences(args) => print_preferences(&args),
    }
}

async fn simulate(args: Simulate) -> anyhow::Result<()> {
    let (servers, token) = match (&args.onboarding_package, args.server.as_slice(), &args.token) {
        (Some(path), _, _) => {
            let text =
                std::fs::read_to_string(path).with_context(|| format!("cannot read the package {}", path.display()))?;
            let package = serde_json::from_str::<OnboardingPackage>(&text)
                .with_context(|| format!("{} is not a Rampart onboarding package", path.display()))?;
            (Servers::new(&[package.server_url])?, package.onboarding_token)
        }
        (None, servers, Some(token)) if !servers.is_empty() => (Servers::new(servers)?, token.clone()),
        _ => bail!("give --onboarding-package FILE, or --server URL and --token TOKEN"),
    };
    let client = args.connection.client()?;
    let fleet = fleet::generate(args.seed, args.devices);

    let resumed = args.state_file.as_deref().and_then(|path| load_state(path, args.seed));
    let enrolled: Vec<Enrolled> = match resumed {
        Some(devices) if devices.len() == fleet.len() => {
            println!("Resuming {} devices from the state file.", devices.len());
            devices
        }
        _ => onboard_all(&client, &servers, &token, fleet, args.concurrency).await?,
    };
    if let Some(path) = &args.state_file {
        let state = StateFile { server_url: servers.to_string(), seed: args.seed, devices: enrolled.clone() };
        std::fs::write(path, serde_json::to_vec(&state)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }

    let counters = Arc::new(Counters::default());
    let mut tasks = JoinSet::new();
    let n_devices = enrolled.len();
    let local_dir = args.state_file.as_deref().map(preferences_dir);
    if let Some(dir) = &local_dir {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    for (index, device) in enrolled.into_iter().enumerate() {
        let context = DeviceContext {
            client: client.clone(),
            servers: servers.clone(),
            token: token.clone(),
            local_dir: local_dir.clone(),
            once: args.once,
            counters: Arc::clone(&counters),
        };
        tasks.spawn(async move {
            keep_checking_in(context, device, index, n_devices).await;
        });
    }
    if args.once {
        while tasks.join_next().await.is_some() {}
        println!(
            "{} check-ins succeeded, {} failed; {} devices hold policies; {} moved to another server.",
            counters.ok.load(Ordering::Relaxed),
            counters.failed.load(Ordering::Relaxed),
            counters.with_policies.load(Ordering::Relaxed),
            counters.moved.load(Ordering::Relaxed)
        );
        return Ok(());
    }
    println!("{n_devices} devices are checking in; press Ctrl-C to stop.");
    let mut ticker = tokio::time::interval(Duration::from_secs(30));
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = ticker.tick() => println!(
                "check-ins: {} succeeded, {} failed, {} brought new policies",
                counters.ok.load(Ordering::Relaxed),
                counters.failed.load(Ordering::Relaxed),
                counters.policy_updates.load(Ordering::Relaxed)
            ),
        }
    }
    tasks.abort_all();
    Ok(())
}

/// The devices of a state file made with the same seed. The servers may have changed (another replica of the tenant,
/// a new address): a device whose credentials the server refuses onboards again.
fn load_state(path: &std::path::Path, seed: u64) -> Option<Vec<Enrolled>> {
    let state: StateFile = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    (state.seed == seed).then_some(state.devices)
}

#[derive(Debug, Default)]
struct Counters {
    ok: AtomicU64,
    failed: AtomicU64,
    /// Check-ins that brought a new set of policies.
    policy_updates: AtomicU64,
    /// Devices that hold at least one policy (counted by `--once`).
    with_policies: AtomicU64,
    /// Check-ins that found their server not answering and moved to the next one.
    moved: AtomicU64,
}

async fn onboard_all(
    client: &reqwest::Client,
    servers: &Servers,
    token: &str,
    fleet: Vec<DeviceFacts>,
    concurrency: usize,
) -> anyhow::Result<Vec<Enrolled>> {
    let progress = ProgressBar::new(fleet.len() as u64);
    progress.set_style(
        ProgressStyle::with_template("onboarding {bar:40} {pos}/{len} devices ({per_sec}, {eta} left) {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let permits = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut tasks = JoinSet::new();
    for (index, facts) in fleet.into_iter().enumerate() {
        let client = client.clone();
        let servers = servers.clone();
        let token = token.to_owned();
        let permits = Arc::clone(&permits);
        let progress = progress.clone();
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await?;
            let enrolled = onboard(&client, &servers, index, &token, facts).await;
            progress.inc(1);
            enrolled.map(|device| (index, device))
        });
    }
    let mut enrolled = Vec::with_capacity(tasks.len());
    while let Some(result) = tasks.join_next().await {
        match result? {
            Ok(device) => enrolled.push(device),
            Err(error) => {
                progress.abandon_with_message("failed");
                tasks.abort_all();
                return Err(error);
            }
        }
    }
    progress.finish_with_message("done");
    enrolled.sort_by_key(|(index, _)| *index);
    Ok(enrolled.into_iter().map(|(_, device)| device).collect())
}

/// Onboards one device through its server (`at`, an index into `servers`), retrying while no server answers (it may
/// still be starting), each attempt on the next server.
async fn onboard(
    client: &reqwest::Client,
    servers: &Servers,
    at: usize,
    token: &str,
    facts: DeviceFacts,
) -> anyhow::Result<Enrolled> {
    let body = serde_json::json!({ "onboarding_token": token, "facts": facts });
    let mut attempt = 0u32;
    loop {
        let url = servers.url(at + attempt as usize, "onboard");
        match client.post(&url).json(&body).send().await {
            Ok(response) if response.status().is_success() => {
                let onboarded: OnboardResponse = response.json().await.context("unexpected onboarding answer")?;
                let server = servers.index(at + attempt as usize);
                return Ok(Enrolled {
                    facts,
                    device_id: onboarded.device_id,
                    device_secret: onboarded.device_secret,
                    server,
                });
            }
            Ok(response) => {
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                let reason = serde_json::from_str::<ErrorEnvelope>(&text).map_or(text, |envelope| envelope.to_string());
                bail!("the server refused to onboard {}: {status}: {reason}", facts.hostname);
            }
            Err(error) if connection::is_tls_failure(&error) => {
                return Err(error).context(format!(
                    "the TLS handshake with {url} failed (when a private CA signed the server's certificate, give it \
                     with --ca-file)"
                ));
            }
            Err(error) if attempt < 30 && (error.is_connect() || error.is_timeout()) => {
                attempt += 1;
                // Another server first; once every one was tried, wait a little longer each round.
                if (attempt as usize).is_multiple_of(servers.len()) {
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt.min(10)))).await;
                }
            }
            Err(error) => return Err(error).context(format!("cannot reach {url}")),
        }
    }
}

/// What every simulated device shares.
struct DeviceContext {
    client: reqwest::Client,
    servers: Servers,
    token: String,
    /// Where devices keep what they applied (with `--state-file`).
    local_dir: Option<PathBuf>,
    once: bool,
    counters: Arc<Counters>,
}

/// Writes what the device applied to its local store (see [`LocalPreferences`]), replacing the file atomically.
fn keep_preferences(dir: &std::path::Path, device: &Enrolled, report: &shared::report::DeviceReport) {
    let hostname = device.facts.hostname.as_str().to_ascii_uppercase();
    let local = LocalPreferences {
        hostname: hostname.clone(),
        policies_hash: report.policies_hash.clone(),
        applied_at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)),
        preferences: report.preferences.clone(),
    };
    let path = dir.join(format!("{hostname}.json"));
    let temporary = dir.join(format!("{hostname}.json.tmp"));
    let written = serde_json::to_vec_pretty(&local)
        .map_err(std::io::Error::other)
        .and_then(|bytes| std::fs::write(&temporary, bytes))
        .and_then(|()| std::fs::rename(&temporary, &path));
    if let Err(error) = written {
        eprintln!("{hostname}: cannot keep its preferences in {}: {error}", path.display());
    }
}

/// Checks in now and then at the server's interval, spread so that the fleet does not arrive all at once. When the
/// server no longer knows the device's credentials (its database was reset, or the device was re-onboarded
/// elsewhere), the device onboards again, as a real one would after a reinstall.
async fn keep_checking_in(context: DeviceContext, mut device: Enrolled, index: usize, n_devices: usize) {
    let DeviceContext { client, servers, token, local_dir, once, counters } = context;
    let mut authorization = format!("Device {}:{}", device.device_id, device.device_secret);
    let mut held_hash: Option<String> = None;
    // Whether the device holds any policy (the policies themselves are not kept: a fleet of a million would hold
    // gigabytes of copies).
    let mut holds_policies = false;
    // First check-ins are spread over two seconds.
    let spread = Duration::from_millis((2000 * index / n_devices.max(1)) as u64);
    tokio::time::sleep(spread).await;
    loop {
        let url = servers.url(device.server, "check-in");
        let mut request = client.post(&url).header("authorization", &authorization);
        if let Some(hash) = &held_hash {
            request = request.header("if-none-match", format!("\"{hash}\""));
        }
        let interval = match request.send().await {
            Ok(response) if response.status() == reqwest::StatusCode::NOT_MODIFIED => {
                counters.ok.fetch_add(1, Ordering::Relaxed);
                response
                    .headers()
                    .get(CHECK_IN_INTERVAL_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .map_or(Duration::from_secs(60), Duration::from_secs)
            }
            Ok(response) if response.status().is_success() => {
                counters.ok.fetch_add(1, Ordering::Relaxed);
                match response.json::<CheckInResponse>().await {
                    Ok(answer) => {
                        // Resolve conflicts and "apply" with the shared rules, then report what took effect.
                        let refs: Vec<&shared::policy::Policy> = answer.policies.iter().collect();
                        let report = shared::report::device_report(&answer.policies_hash, &refs, device.facts.os);
                        let report_url = servers.url(device.server, "report");
                        let sent =
                            client.post(&report_url).header("authorization", &authorization).json(&report).send().await;
                        match sent {
                            Ok(response) if response.status().is_success() => {
                                if let Some(dir) = &local_dir {
                                    keep_preferences(dir, &device, &report);
                                }
                                held_hash = Some(answer.policies_hash);
                                holds_policies = !answer.policies.is_empty();
                                counters.policy_updates.fetch_add(1, Ordering::Relaxed);
                            }
                            // Not holding the hash makes the next check-in bring the policies again.
                            Ok(response) => {
                                eprintln!("{}: report refused: {}", device.facts.hostname, response.status())
                            }
                            Err(error) => eprintln!("{}: report failed: {error}", device.facts.hostname),
                        }
                        Duration::from_secs(answer.check_in_interval_secs)
                    }
                    Err(_) => Duration::from_secs(60),
                }
            }
            Ok(response) if response.status() == reqwest::StatusCode::UNAUTHORIZED => {
                counters.failed.fetch_add(1, Ordering::Relaxed);
                match onboard(&client, &servers, device.server, &token, device.facts.clone()).await {
                    Ok(again) => {
                        eprintln!("{}: credentials refused; onboarded again", device.facts.hostname);
                        device = again;
                        held_hash = None;
                        authorization = format!("Device {}:{}", device.device_id, device.device_secret);
                        Duration::ZERO
                    }
                    Err(error) => {
                        eprintln!("{}: credentials refused and onboarding failed: {error:#}", device.facts.hostname);
                        Duration::from_secs(60)
                    }
                }
            }
            Ok(response) => {
                counters.failed.fetch_add(1, Ordering::Relaxed);
                eprintln!("{}: check-in refused: {}", device.facts.hostname, response.status());
                Duration::from_secs(60)
            }
            // Its server does not answer and there is another: move to it and check in there at once.
            Err(error) if servers.len() > 1 && (error.is_connect() || error.is_timeout()) => {
                counters.moved.fetch_add(1, Ordering::Relaxed);
                device.server = servers.index(device.server + 1);
                eprintln!(
                    "{}: {url} does not answer; checking in at {} instead",
                    device.facts.hostname,
                    servers.url(device.server, "check-in")
                );
                Duration::ZERO
            }
            Err(error) => {
                counters.failed.fetch_add(1, Ordering::Relaxed);
                // With its causes: reqwest's own message does not say why (refused, a certificate not trusted…).
                eprintln!("{}: check-in failed: {:#}", device.facts.hostname, anyhow::Error::new(error));
                Duration::from_secs(10)
            }
        };
        if once && !interval.is_zero() {
            if holds_policies {
                counters.with_policies.fetch_add(1, Ordering::Relaxed);
            }
            return;
        }
        tokio::time::sleep(interval).await;
    }
}
