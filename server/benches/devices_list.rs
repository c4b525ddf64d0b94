//! Benchmark: one page of the Devices list from SQLite with 100,000 devices, for every sort column, a deep page and
//! the filters. Prints p50 and p99 per case. Run with `cargo bench -p server --bench devices_list`.
//!
//! The target (DESIGN.md) is 100 ms per page at 100,000 devices, measured here through the `Store` the handlers use.

mod common;

use server::store::{DeviceStore, SqliteStore};
use std::time::{Duration, Instant};

use shared::device::{DeviceFacts, Edition, Hostname, JoinType, ManagedBy, OsBuild, OsProduct};
use shared::query::{DeviceQuery, DeviceSort, EligibilityFilter, SortDir};
use shared::tenant::TenantSwitches;

const N_DEVICES: u32 = 100_000;
const ROUNDS: usize = 30;

fn facts(i: u32) -> DeviceFacts {
    let os = OsProduct::ALL[(i % 6) as usize];
    let edition = if os.is_server() {
        Edition::Standard
    } else {
        [Edition::Pro, Edition::Enterprise, Edition::Home][(i % 3) as usize]
    };
    DeviceFacts {
        hostname: Hostname::try_from(format!("DEV-{i:06}")).expect("valid"),
        os,
        edition,
        os_build: OsBuild::try_from("10.0.22631.4460".to_owned()).expect("valid"),
        required_update_installed: !i.is_multiple_of(7),
        downlevel_agent_installed: !i.is_multiple_of(5),
        join_type: JoinType::ALL[(i % 4) as usize],
        directory_device_id: None,
        managed_by: ManagedBy::ALL[(i % 10).min(3) as usize],
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open(dir.path()).await?;
    let started = Instant::now();
    let package = server::demo::onboarding_package(&store, "http://127.0.0.1").await?;
    let token_hash = server::credentials::sha256_hex(&package.onboarding_token);
    for i in 0..N_DEVICES {
        common::onboard(
            &store,
            &token_hash,
            format!("device-{i:06}"),
            facts(i),
            "0".repeat(64),
            1_800_000_000 + i64::from(i),
        )
        .await?;
        if i.is_multiple_of(3) {
            store.record_check_in(&format!("device-{i:06}"), 1_800_100_000 + i64::from(i % 5000), false).await?;
        }
    }
    let load = started.elapsed();
    println!(
        "loaded {N_DEVICES} devices in {:.1} s ({:.0} onboardings/s, one transaction each)",
        load.as_secs_f64(),
        f64::from(N_DEVICES) / load.as_secs_f64()
    );

    let on = TenantSwitches { security_settings_management: true, enforce_security_configuration: true };
    let base = DeviceQuery::default();
    let mut cases: Vec<(String, DeviceQuery)> = Vec::new();
    for sort in DeviceSort::ALL {
        for dir in [SortDir::Asc, SortDir::Desc] {
            cases.push((
                format!("sort={} dir={}", sort.code(), dir.code()),
                DeviceQuery { sort: *sort, dir, ..base.clone() },
            ));
        }
    }
    cases.push((
        "sort=managed_by page=1000 (offset 49,950)".into(),
        DeviceQuery { sort: DeviceSort::ManagedBy, page: 1000, ..base.clone() },
    ));
    cases.push((
        "managed_by=mde sort=last_check_in".into(),
        DeviceQuery { managed_by: Some(ManagedBy::Mde), sort: DeviceSort::LastCheckIn, ..base.clone() },
    ));
    cases.push((
        "eligibility=eligible".into(),
        DeviceQuery { eligibility: Some(EligibilityFilter::Eligible), ..base.clone() },
    ));
    cases.push(("q=0042 (name contains)".into(), DeviceQuery { search: "0042".into(), ..base.clone() }));
    cases.push(("per_page=500".into(), DeviceQuery { per_page: 500, ..base.clone() }));

    println!("{:<44} {:>10} {:>10}", "page of 50 (unless noted), incl. total count", "p50", "p99");
    for (name, query) in cases {
        let mut times = Vec::with_capacity(ROUNDS);
        for _ in 0..ROUNDS {
            let started = Instant::now();
            let (rows, total) = store.list_devices(&query, on).await?;
            times.push(started.elapsed());
            assert!(total > 0 && !rows.is_empty(), "{name}: nothing found");
        }
        times.sort();
        println!(
            "{name:<44} {:>8.2}ms {:>8.2}ms",
            percentile(&times, 0.5).as_secs_f64() * 1000.0,
            percentile(&times, 0.99).as_secs_f64() * 1000.0
        );
    }
    Ok(())
}
