//! Benchmark: the policy list and a policy's reports at fleet scale, through the real router on SQLite over loopback.
//! Every policy is assigned to All devices and every eligible device has reported every policy (what the agent
//! reports, stored through the store's group commit). Prints the median of 3 requests per case, the answer's size and
//! its size brotli-compressed as served.
//!
//! Run with `cargo bench -p server --bench reports`; the fleet is `RAMPART_BENCH_DEVICES` devices (default 20,000)
//! and `RAMPART_BENCH_POLICIES` policies (default 60); the 100,000 × 300 tenant is
//! `RAMPART_BENCH_DEVICES=100000 RAMPART_BENCH_POLICIES=300` (30 million targeted pairs), which with
//! `RAMPART_BENCH_REPORTERS=20000` (only that many devices report: 6 million reported pairs) loads in about half an
//! hour on two cores.

mod common;

use server::store::{AccountStore, Actor, PolicyStore, SqliteStore, Store};
use std::sync::Arc;
use std::time::{Duration, Instant};

use server::{AppState, Config};
use shared::audit::AuditAction;
use shared::device::{DeviceFacts, Edition, Hostname, JoinType, ManagedBy, OsBuild, OsProduct};
use shared::policy::{Policy, PolicyDraft};

const PASSWORD: &str = "bench-Password-1";
const REALTIME: &str = "device_vendor_msft_policy_config_defender_allowrealtimemonitoring";
const CLOUD: &str = "device_vendor_msft_policy_config_defender_cloudblocklevel";

fn facts(i: u32) -> DeviceFacts {
    let os = [OsProduct::Windows11, OsProduct::Windows10, OsProduct::WindowsServer2022][(i % 3) as usize];
    DeviceFacts {
        hostname: Hostname::try_from(format!("DEV-{i:06}")).expect("valid"),
        os,
        edition: if os.is_server() { Edition::Standard } else { Edition::Enterprise },
        os_build: OsBuild::try_from("10.0.22631.4460".to_owned()).expect("valid"),
        required_update_installed: true,
        downlevel_agent_installed: true,
        join_type: JoinType::Workgroup,
        directory_device_id: None,
        managed_by: if i.is_multiple_of(10) { ManagedBy::Intune } else { ManagedBy::Mde },
    }
}

fn count(name: &str, default: u32) -> u32 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (n_devices, n_policies) = (count("RAMPART_BENCH_DEVICES", 20_000), count("RAMPART_BENCH_POLICIES", 60));
    let dir = tempfile::tempdir()?;
    // RAMPART_BENCH_KEEP=DIR keeps the tenant's database there, to look at its query plans afterwards.
    let kept = std::env::var_os("RAMPART_BENCH_KEEP").map(std::path::PathBuf::from);
    let store = SqliteStore::open(kept.as_deref().unwrap_or(dir.path())).await?;
    let hash = server::credentials::hash_password(PASSWORD).map_err(anyhow::Error::msg)?;
    let actor = Actor::system(server::now());
    store.set_admin_password("admin", &hash, false, &actor).await?;
    server::demo::prepare(&store, "admin", false).await?;
    let package = server::demo::onboarding_package(&store, "http://127.0.0.1").await?;
    let token_hash = server::credentials::sha256_hex(&package.onboarding_token);
    // RAMPART_BENCH_POLICIES_FIRST=1: the policies exist before the devices onboard (each onboarding then writes its
    // row under every policy, in key order), as a fleet grows under a tenant's policies; else they come after.
    let policies_first = std::env::var_os("RAMPART_BENCH_POLICIES_FIRST").is_some();
    let onboard = || async {
        let started = Instant::now();
        for i in 0..n_devices {
            common::onboard(&store, &token_hash, format!("device-{i:06}"), facts(i), "0".repeat(64), server::now())
                .await?;
        }
        anyhow::Ok(started.elapsed())
    };
    let mut onboarding = Duration::ZERO;
    if !policies_first {
        onboarding = onboard().await?;
    }
    let started = Instant::now();
    for i in 0..n_policies {
        let draft: PolicyDraft = serde_json::from_value(serde_json::json!({
            "profile": "microsoft_defender_antivirus",
            "name": format!("Policy {i:03}"),
            "description": "",
            "settings": [
                {"id": REALTIME, "value": {"choice": "1"}},
                {"id": CLOUD, "value": {"choice": if i % 2 == 0 { "2" } else { "4" }}}
            ],
            "assignments": {"include": [{"group_id": "all-devices"}], "exclude": []}
        }))?;
        let policy = Policy::first_version(format!("policy-{i:03}"), draft, "admin", server::now());
        store.create_policy(&policy, AuditAction::PolicyCreate, &actor).await?;
    }
    let creating = started.elapsed();
    if policies_first {
        onboarding = onboard().await?;
    }
    let (first, then) = if policies_first { ("policies", "devices") } else { ("devices", "policies") };
    println!("{first} first, then {then}:");
    println!(
        "{n_devices} devices onboarded in {:.1} s ({:.0}/s, one transaction and audit entry each), {n_policies} policies \
         assigned to All devices in {:.1} s ({:.0} ms per policy: its rows written)",
        onboarding.as_secs_f64(),
        f64::from(n_devices) / onboarding.as_secs_f64(),
        creating.as_secs_f64(),
        creating.as_secs_f64() * 1e3 / f64::from(n_policies.max(1))
    );

    // Every eligible device reports every policy: one report (the same for all, as they run the same policies),
    // stored 64 devices at a time through the group commit.
    let store: Arc<dyn Store> = Arc::new(store);
    let policies = store.list_policies().await?;
    let refs: Vec<&Policy> = policies.iter().collect();
    let report = Arc::new(shared::report::device_report("bench", &refs, OsProduct::Windows11));
    let started = Instant::now();
    let mut reporting = tokio::task::JoinSet::new();
    let mut n_reported = 0u32;
    // RAMPART_BENCH_REPORTERS=N: only the first N eligible devices report (a large tenant loads in minutes instead of
    // an hour; the reads measured below do not walk the reports).
    let reporters = count("RAMPART_BENCH_REPORTERS", u32::MAX);
    for i in (0..n_devices).filter(|i| !i.is_multiple_of(10)).take(reporters as usize) {
        let (store, report) = (Arc::clone(&store), Arc::clone(&report));
        reporting.spawn(async move { store.record_report(&format!("device-{i:06}"), &report, server::now()).await });
        n_reported += 1;
        if reporting.len() >= 64 {
            reporting.join_next().await.transpose()?.transpose()?;
        }
    }
    while let Some(done) = reporting.join_next().await {
        done??;
    }
    println!("{n_reported} devices reported {n_policies} policies each in {:.1} s", started.elapsed().as_secs_f64());

    let app = server::router(AppState::new(Arc::clone(&store), Config::default()))
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", tcp.local_addr()?);
    tokio::spawn(async move { axum::serve(server::listener(tcp), app).await });
    let client = reqwest::Client::builder().timeout(Duration::from_secs(600)).build()?;
    let cookie = common::sign_in(&client, &url, PASSWORD).await?;
    let setting = store
        .get_policy("policy-000")
        .await?
        .and_then(|p| p.draft.settings.first().map(|s| s.id.clone()))
        .ok_or_else(|| anyhow::anyhow!("policy-000 has a setting"))?;
    let setting_path = format!("/api/v1/policies/policy-000/report/settings/{setting}");
    for (name, path) in [
        ("GET /policies", "/api/v1/policies".to_owned()),
        ("GET /policies/{id}/report (a page of 50)", "/api/v1/policies/policy-000/report".to_owned()),
        ("  … page 100", "/api/v1/policies/policy-000/report?page=100".to_owned()),
        ("  … sorted by last check-in", "/api/v1/policies/policy-000/report?sort=check_in".to_owned()),
        ("  … state Not applicable", "/api/v1/policies/policy-000/report?state=not_applicable".to_owned()),
        ("  … search \"dev-0012\"", "/api/v1/policies/policy-000/report?q=dev-0012".to_owned()),
        ("GET /policies/{id}/report/devices.csv", "/api/v1/policies/policy-000/report/devices.csv".to_owned()),
        ("GET /policies/report.csv", "/api/v1/policies/report.csv".to_owned()),
        ("GET /policies/{id}/report/settings/{s} (a page)", setting_path.clone()),
        ("  … state Succeeded, page 100", format!("{setting_path}?state=succeeded&page=100")),
        ("  … sorted by status", format!("{setting_path}?sort=status")),
        ("GET /snapshot", "/api/v1/snapshot".to_owned()),
    ] {
        let (time, bytes, br) = measure(&client, &url, &cookie, &path).await?;
        println!("  {name:44} median {time:>9.1} ms   {bytes:>10} bytes ({br} brotli)");
    }
    // A policy edit makes every targeted device Pending, in the edit's transaction.
    let (generation, _) = store.snapshot_changes(None, 0).await?;
    let policy = store.get_policy("policy-000").await?.ok_or_else(|| anyhow::anyhow!("policy-000"))?;
    let mut draft = policy.draft.clone();
    draft.description.push_str(" (changed)");
    let started = Instant::now();
    store.update_policy(&policy.id, policy.version, &draft, &actor).await?;
    println!(
        "  policy edit (settings only: its counts, no device row)      {:>9.1} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    // The browser holding the snapshot asks for what changed since: the edited policy.
    let (time, bytes, br) = measure(&client, &url, &cookie, &format!("/api/v1/snapshot?since={generation}")).await?;
    println!("  GET /snapshot?since= (after the edit)        median {time:>9.1} ms   {bytes:>10} bytes ({br} brotli)");
    let (time, bytes, br) =
        measure(&client, &url, &cookie, &format!("/api/v1/snapshot?since={}", generation + 1)).await?;
    println!("  GET /snapshot?since= (nothing changed)       median {time:>9.1} ms   {bytes:>10} bytes ({br} brotli)");
    // A tenant switch turned off and on again: no device can receive a policy in between.
    let tenant = store.tenant().await?;
    let mut off = tenant.switches;
    off.enforce_security_configuration = false;
    let started = Instant::now();
    store.update_tenant(Some(off), None, &actor).await?;
    store.update_tenant(Some(tenant.switches), None, &actor).await?;
    println!(
        "  tenant switch off and on                                  {:>9.1} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    Ok(())
}

/// The median time of three reads of `path`, the bytes of the answer, and its bytes as sent brotli-compressed.
async fn measure(client: &reqwest::Client, url: &str, cookie: &str, path: &str) -> anyhow::Result<(f64, usize, usize)> {
    let mut times = Vec::new();
    let mut bytes = 0;
    for _ in 0..3 {
        let started = Instant::now();
        let response = client.get(format!("{url}{path}")).header("cookie", cookie).send().await?;
        anyhow::ensure!(response.status().is_success(), "{path}: {}", response.status());
        bytes = response.bytes().await?.len();
        times.push(started.elapsed());
    }
    times.sort();
    // The client does not decode brotli: asked for it, the body is the compressed one.
    let compressed =
        client.get(format!("{url}{path}")).header("cookie", cookie).header("accept-encoding", "br").send().await?;
    let br = compressed.bytes().await?.len();
    Ok((times[1].as_secs_f64() * 1e3, bytes, br))
}
