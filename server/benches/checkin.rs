//! Benchmark of the device protocol over loopback against the real router on SQLite, with the demo tenant's groups
//! and overlapping policies and 10,000 devices: the first wave (full check-in + report per device), unchanged
//! check-ins (`304`) per second, and the wave after a policy change that applies to every device, with rates and
//! p50/p99 latencies. Run with `cargo bench -p server --bench checkin`. Client and server share this machine's cores;
//! the client also resolves every device's policies with `shared::report`, as the agent does.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use server::store::{SqliteStore, Store};
use server::{AppState, Config};
use shared::api::CheckInResponse;
use shared::device::{DeviceFacts, Edition, Hostname, JoinType, ManagedBy, OsBuild, OsProduct};

const N_DEVICES: u32 = 10_000;
const CONCURRENCY: usize = 64;
const DURATION: Duration = Duration::from_secs(10);

fn facts(i: u32) -> DeviceFacts {
    DeviceFacts {
        hostname: Hostname::try_from(format!("{}-{i:05}", if i.is_multiple_of(5) { "SRV" } else { "LAP" }))
            .expect("valid"),
        os: if i.is_multiple_of(5) { OsProduct::WindowsServer2022 } else { OsProduct::Windows11 },
        edition: if i.is_multiple_of(5) { Edition::Standard } else { Edition::Enterprise },
        os_build: OsBuild::try_from("10.0.22631.4460".to_owned()).expect("valid"),
        required_update_installed: true,
        downlevel_agent_installed: false,
        join_type: JoinType::Workgroup,
        directory_device_id: None,
        managed_by: if i.is_multiple_of(7) { ManagedBy::Intune } else { ManagedBy::Mde },
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open(dir.path()).await?;
    server::demo::prepare(&store, "bench", true).await?;
    let secret = "s".repeat(64);
    let package = server::demo::onboarding_package(&store, "http://127.0.0.1").await?;
    let token_hash = server::credentials::sha256_hex(&package.onboarding_token);
    for i in 0..N_DEVICES {
        common::onboard(
            &store,
            &token_hash,
            format!("device-{i:05}"),
            facts(i),
            server::credentials::sha256_hex(&secret),
            server::now(),
        )
        .await?;
    }
    let store: Arc<dyn Store> = Arc::new(store);
    let app = server::router(AppState::new(Arc::clone(&store), Config::default()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        axum::serve(server::listener(listener), app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await
    });

    let client = reqwest::Client::builder().pool_max_idle_per_host(CONCURRENCY).build()?;
    let bench = Bench { client, base, secret: Arc::new(secret), reports: Arc::default() };

    // 1. First check-in of every device (full answers), then every device reports what it applied.
    let wave = bench.wave(None).await?;
    println!(
        "first wave, {CONCURRENCY} concurrent: {N_DEVICES} full check-ins + reports in {:.2} s ({:.0} devices/s)",
        wave.elapsed.as_secs_f64(),
        f64::from(N_DEVICES) / wave.elapsed.as_secs_f64()
    );
    wave.print("  full check-ins", &wave.check_ins);
    wave.print("  reports", &wave.reports);
    let hashes = Arc::new(wave.hashes);

    // 2. Unchanged check-ins (304) for DURATION.
    let deadline = Instant::now() + DURATION;
    let mut tasks = Vec::new();
    for worker in 0..CONCURRENCY {
        let (bench, hashes) = (bench.clone(), Arc::clone(&hashes));
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = worker as u32;
            while Instant::now() < deadline {
                let device = i % N_DEVICES;
                let sent = Instant::now();
                let response = bench.check_in(device, Some(&hashes[device as usize])).await?;
                anyhow::ensure!(response.status() == reqwest::StatusCode::NOT_MODIFIED, "expected 304");
                latencies.push(sent.elapsed());
                i += CONCURRENCY as u32;
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    println!(
        "unchanged check-ins (304), {CONCURRENCY} concurrent for {} s: {} = {:.0}/s, {}",
        DURATION.as_secs(),
        latencies.len(),
        latencies.len() as f64 / DURATION.as_secs_f64(),
        percentiles(&mut latencies)
    );

    // 2b. The same with wrk, a client in C in its own process, as `GET /health` is measured: what the server alone
    //     answers, without this process's client sharing its cores. Only where wrk is installed.
    if std::process::Command::new("wrk").arg("--version").output().is_ok() {
        wrk_check_ins(&bench, &hashes)?;
    }

    // 3. A policy that applies to every device changes: every device gets the new set at its next check-in, applies
    //    and reports. The wave's time runs from the change to the last report stored.
    let policy = store
        .list_policies()
        .await?
        .into_iter()
        .find(|p| p.draft.name == "Strict cloud protection")
        .expect("demo policy");
    let mut draft = policy.draft.clone();
    draft.description.push_str(" (changed)");
    let changed_at = Instant::now();
    store.update_policy(&policy.id, policy.version, &draft, &server::store::Actor::system(server::now())).await?;
    let wave = bench.wave(Some(&hashes)).await?;
    let elapsed = changed_at.elapsed();
    println!(
        "wave after a policy change, {CONCURRENCY} concurrent: {N_DEVICES} devices checked in, applied and reported in {:.2} s ({:.0} devices/s; 1,000,000 devices at this rate: {:.1} min)",
        elapsed.as_secs_f64(),
        f64::from(N_DEVICES) / elapsed.as_secs_f64(),
        1_000_000.0 / (f64::from(N_DEVICES) / elapsed.as_secs_f64()) / 60.0
    );
    wave.print("  full check-ins", &wave.check_ins);
    wave.print("  reports", &wave.reports);
    let reported = store.policy_reports(&policy.id).await?;
    let current = reported.values().filter(|report| report.version == policy.version + 1).count();
    println!("  devices whose report of the new version is stored: {current} (the others are not eligible)");
    Ok(())
}

fn percentiles(latencies: &mut [Duration]) -> String {
    latencies.sort();
    let at = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p) as usize].as_secs_f64() * 1000.0;
    format!("p50 {:.2} ms, p99 {:.2} ms", at(0.5), at(0.99))
}

/// Serialized reports by (policy-set hash, OS).
type ReportBodies = std::collections::HashMap<(String, OsProduct), Vec<u8>>;

#[derive(Clone)]
struct Bench {
    client: reqwest::Client,
    base: String,
    secret: Arc<String>,
    reports: Arc<std::sync::Mutex<ReportBodies>>,
}

struct Wave {
    elapsed: Duration,
    hashes: Vec<String>,
    check_ins: Vec<Duration>,
    reports: Vec<Duration>,
}

impl Wave {
    fn print(&self, what: &str, latencies: &[Duration]) {
        let mut latencies = latencies.to_vec();
        println!(
            "{what}: {} at {:.0}/s of wave time, {}",
            latencies.len(),
            latencies.len() as f64 / self.elapsed.as_secs_f64(),
            percentiles(&mut latencies)
        );
    }
}

impl Bench {
    fn authorization(&self, device: u32) -> String {
        format!("Device device-{device:05}:{}", self.secret)
    }

    async fn check_in(&self, device: u32, held: Option<&str>) -> anyhow::Result<reqwest::Response> {
        let mut request = self
            .client
            .post(format!("{}/api/v1/device/check-in", self.base))
            .header("authorization", self.authorization(device));
        if let Some(hash) = held {
            request = request.header("if-none-match", format!("\"{hash}\""));
        }
        Ok(request.send().await?)
    }

    /// Every device checks in (holding `held` hashes, if any), and each that gets a new set resolves it with the
    /// shared code as the agent does and reports.
    async fn wave(&self, held: Option<&Arc<Vec<String>>>) -> anyhow::Result<Wave> {
        let started = Instant::now();
        let mut tasks = Vec::new();
        for worker in 0..CONCURRENCY {
            let (bench, held) = (self.clone(), held.cloned());
            tasks.push(tokio::spawn(async move {
                let mut out = Vec::new();
                for device in (worker as u32..N_DEVICES).step_by(CONCURRENCY) {
                    let sent = Instant::now();
                    let hash = held.as_ref().map(|h| h[device as usize].as_str());
                    let response = bench.check_in(device, hash).await?;
                    if response.status() == reqwest::StatusCode::NOT_MODIFIED {
                        // Not eligible: its (empty) set did not change.
                        out.push((device, hash.unwrap_or_default().to_owned(), None));
                        continue;
                    }
                    anyhow::ensure!(response.status() == reqwest::StatusCode::OK, "expected the new set");
                    let answer: CheckInResponse = response.json().await?;
                    let check_in = sent.elapsed();
                    // Real devices compute their report on their own CPU; here the client shares the server's two
                    // cores, so devices with the same policy set and OS share one computed report.
                    let os = facts(device).os;
                    let key = (answer.policies_hash.clone(), os);
                    let cached = bench.reports.lock().expect("not poisoned").get(&key).cloned();
                    let body = match cached {
                        Some(body) => body,
                        None => {
                            let refs: Vec<&shared::policy::Policy> = answer.policies.iter().collect();
                            let report = shared::report::device_report(&answer.policies_hash, &refs, os);
                            let body = serde_json::to_vec(&report)?;
                            bench.reports.lock().expect("not poisoned").insert(key, body.clone());
                            body
                        }
                    };
                    let sent = Instant::now();
                    let response = bench
                        .client
                        .post(format!("{}/api/v1/device/report", bench.base))
                        .header("authorization", bench.authorization(device))
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await?;
                    anyhow::ensure!(
                        response.status() == reqwest::StatusCode::NO_CONTENT,
                        "report refused: {}",
                        response.status()
                    );
                    out.push((device, answer.policies_hash, Some((check_in, sent.elapsed()))));
                }
                anyhow::Ok(out)
            }));
        }
        let mut hashes = vec![String::new(); N_DEVICES as usize];
        let (mut check_ins, mut reports) = (Vec::new(), Vec::new());
        for task in tasks {
            for (device, hash, timings) in task.await?? {
                hashes[device as usize] = hash;
                if let Some((check_in, report)) = timings {
                    check_ins.push(check_in);
                    reports.push(report);
                }
            }
        }
        Ok(Wave { elapsed: started.elapsed(), hashes, check_ins, reports })
    }
}

/// Unchanged check-ins and `GET /health` with wrk (64 connections, one thread, 10 s each).
fn wrk_check_ins(bench: &Bench, hashes: &[String]) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let script = dir.path().join("check-in.lua");
    let quoted: Vec<String> = hashes.iter().map(|h| format!("\"{h}\"")).collect();
    std::fs::write(
        &script,
        format!(
            "local hashes = {{{}}}\nlocal i = 0\nrequest = function()\n  i = i % {N_DEVICES} + 1\n  \
             return wrk.format(\"POST\", \"/api/v1/device/check-in\", {{[\"authorization\"] = \
             string.format(\"Device device-%05d:{}\", i - 1), [\"if-none-match\"] = '\"' .. hashes[i] .. '\"'}})\nend\n",
            quoted.join(","),
            bench.secret
        ),
    )?;
    for (what, args) in [
        ("unchanged check-ins (304), wrk", vec!["-s".to_owned(), script.display().to_string()]),
        ("GET /api/v1/health, wrk", Vec::new()),
    ] {
        let path = if args.is_empty() { "/api/v1/health" } else { "/api/v1/device/check-in" };
        let output = std::process::Command::new("wrk")
            .args(["-t1", "-c64", "-d10s", "--latency"])
            .args(&args)
            .arg(format!("{}{path}", bench.base))
            .output()?;
        let text = String::from_utf8_lossy(&output.stdout);
        let rate = text.lines().find(|l| l.starts_with("Requests/sec")).unwrap_or("Requests/sec: ?").trim();
        let p50 = text.lines().find(|l| l.trim_start().starts_with("50%")).unwrap_or("50% ?").trim();
        let p99 = text.lines().find(|l| l.trim_start().starts_with("99%")).unwrap_or("99% ?").trim();
        let errors = text.lines().find(|l| l.contains("Non-2xx") || l.contains("Socket errors")).unwrap_or("");
        println!("{what}, 64 connections for 10 s: {rate}, p50 {p50}, p99 {p99} {errors}");
    }
    Ok(())
}
