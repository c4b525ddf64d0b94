//! Benchmark: unchanged check-ins (`304`) per second over loopback against the real router on SQLite, with the
//! demo tenant's groups and policies. Prints the rate and p50/p99 latency. Run with
//! `cargo bench -p server --bench checkin`. (Client and server share this machine's cores.)

use std::sync::Arc;
use std::time::{Duration, Instant};

use server::store::{NewDevice, SqliteStore, Store};
use server::{AppState, Config};
use shared::device::{DeviceFacts, Edition, Hostname, JoinType, ManagedBy, OsBuild, OsProduct};
use shared::eligibility::device_support;

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
    for i in 0..N_DEVICES {
        let facts = facts(i);
        let support = device_support(&facts);
        store
            .onboard_device(NewDevice {
                id: format!("device-{i:05}"),
                secret_hash: server::credentials::sha256_hex(&secret),
                facts,
                support,
                new_directory_device_id: server::credentials::random_guid(),
                now: server::now(),
            })
            .await?;
    }
    let store: Arc<dyn Store> = Arc::new(store);
    let app = server::router(AppState::new(store, Config::default()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/api/v1/device/check-in", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });

    let client = reqwest::Client::builder().pool_max_idle_per_host(CONCURRENCY).build()?;
    // First check-in of every device: the full answer, whose hash the device then holds.
    let mut hashes = Vec::with_capacity(N_DEVICES as usize);
    let started = Instant::now();
    for i in 0..N_DEVICES {
        let answer: shared::api::CheckInResponse = client
            .post(&url)
            .header("authorization", format!("Device device-{i:05}:{secret}"))
            .send()
            .await?
            .json()
            .await?;
        hashes.push(answer.policies_hash);
    }
    let wave = started.elapsed();
    println!(
        "first check-in of {N_DEVICES} devices, one at a time: {:.1} s ({:.0}/s)",
        wave.as_secs_f64(),
        f64::from(N_DEVICES) / wave.as_secs_f64()
    );

    let hashes = Arc::new(hashes);
    let deadline = Instant::now() + DURATION;
    let mut tasks = Vec::new();
    for worker in 0..CONCURRENCY {
        let (client, url, hashes, secret) = (client.clone(), url.clone(), Arc::clone(&hashes), secret.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = worker as u32;
            while Instant::now() < deadline {
                let device = i % N_DEVICES;
                let sent = Instant::now();
                let response = client
                    .post(&url)
                    .header("authorization", format!("Device device-{device:05}:{secret}"))
                    .header("if-none-match", format!("\"{}\"", hashes[device as usize]))
                    .send()
                    .await?;
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
    latencies.sort();
    let percentile = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p) as usize].as_secs_f64() * 1000.0;
    println!(
        "unchanged check-ins (304), {CONCURRENCY} concurrent for {} s: {} = {:.0}/s, p50 {:.2} ms, p99 {:.2} ms",
        DURATION.as_secs(),
        latencies.len(),
        latencies.len() as f64 / DURATION.as_secs_f64(),
        percentile(0.5),
        percentile(0.99)
    );
    Ok(())
}
