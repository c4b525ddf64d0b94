//! No lost writes: the real server is killed with SIGKILL in the middle of a stream of policy writes and device
//! reports, restarted on the same data directory, and every acknowledged write must be there — every policy version
//! the API confirmed, with its content and its audit entry, and every report a device got a 204 for — with nothing
//! half-written (versions contiguous, one audit entry per version).

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use shared::api::{CheckInResponse, DeviceStatus, OnboardResponse};
use shared::audit::AuditPage;
use shared::policy::{Policy, PolicyVersion};
use support::{Api, start_server};

const USER: &str = "secadmin";
const PASSWORD: &str = "durability-Password-1";
const REALTIME: &str = "device_vendor_msft_policy_config_defender_allowrealtimemonitoring";
const N_POLICIES: usize = 3;
const N_DEVICES: usize = 12;

fn facts(i: usize) -> Value {
    json!({
        "hostname": format!("LAP-{i:04}"), "os": "windows_11", "edition": "enterprise", "os_build": "10.0.22631.4460",
        "required_update_installed": true, "downlevel_agent_installed": false, "join_type": "workgroup",
        "directory_device_id": null, "managed_by": "mde"
    })
}

/// Acknowledged writes: (policy id, version, description) and (device id, policy id, version).
#[derive(Default)]
struct Acked {
    policies: Vec<(String, u64, String)>,
    reports: Vec<(String, String, u64)>,
}

#[tokio::test]
async fn every_acknowledged_write_survives_a_sigkill_and_nothing_is_half_written() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (mut server, url) = start_server(dir.path(), USER, PASSWORD, false).await?;
    let api = Api::sign_in(&url, USER, PASSWORD).await?;
    let package: shared::api::OnboardingPackage =
        serde_json::from_slice(&std::fs::read(dir.path().join("onboarding-package.json"))?)?;
    let token = package.onboarding_token;
    let mut policies = Vec::new();
    for i in 0..N_POLICIES {
        let body = json!({
            "profile": "microsoft_defender_antivirus", "name": format!("Policy {i}"), "description": "v1",
            "settings": [{"id": REALTIME, "value": {"choice": "1"}}],
            "assignments": {"include": [{"group_id": "all-devices"}], "exclude": []}
        });
        policies.push(api.post::<Policy>("/api/v1/policies", &body).await?);
    }
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build()?;
    let mut devices = Vec::new();
    for i in 0..N_DEVICES {
        let response = client
            .post(format!("{url}/api/v1/device/onboard"))
            .json(&json!({"onboarding_token": token, "facts": facts(i)}))
            .send()
            .await?;
        let onboarded: OnboardResponse = response.json().await?;
        devices
            .push((onboarded.device_id.clone(), format!("Device {}:{}", onboarded.device_id, onboarded.device_secret)));
    }

    // The stream: one writer per policy (each PUT carries the version it read) and one loop per device (check in,
    // resolve as the agent does, report). Each records only what the server acknowledged.
    let acked = Arc::new(Mutex::new(Acked::default()));
    let mut tasks = Vec::new();
    for policy in policies.clone() {
        let (api, acked) = (Api::sign_in(&url, USER, PASSWORD).await?, Arc::clone(&acked));
        tasks.push(tokio::spawn(async move {
            let mut current = policy;
            loop {
                let mut draft = serde_json::to_value(&current.draft)?;
                let description = format!("v{}", current.version + 1);
                draft["description"] = json!(description);
                let path = format!("/api/v1/policies/{}", current.id);
                let if_match = format!("\"{}\"", current.version);
                match api.send::<Policy>(reqwest::Method::PUT, &path, &[("if-match", &if_match)], &draft).await {
                    Ok(next) => {
                        acked.lock().expect("not poisoned").policies.push((next.id.clone(), next.version, description));
                        current = next;
                    }
                    Err(_) => return anyhow::Ok(()),
                }
            }
        }));
    }
    for (device_id, authorization) in devices.clone() {
        let (client, url, acked) = (client.clone(), url.clone(), Arc::clone(&acked));
        tasks.push(tokio::spawn(async move {
            loop {
                let Ok(response) = client
                    .post(format!("{url}/api/v1/device/check-in"))
                    .header("authorization", &authorization)
                    .send()
                    .await
                else {
                    return anyhow::Ok(());
                };
                let Ok(answer) = response.json::<CheckInResponse>().await else { return Ok(()) };
                let refs: Vec<&Policy> = answer.policies.iter().collect();
                let report =
                    shared::report::device_report(&answer.policies_hash, &refs, shared::device::OsProduct::Windows11);
                let sent = client
                    .post(format!("{url}/api/v1/device/report"))
                    .header("authorization", &authorization)
                    .json(&report)
                    .send()
                    .await;
                match sent {
                    Ok(response) if response.status() == reqwest::StatusCode::NO_CONTENT => {
                        let mut acked = acked.lock().expect("not poisoned");
                        for result in &report.policies {
                            acked.reports.push((device_id.clone(), result.policy_id.clone(), result.version));
                        }
                    }
                    Ok(_) => {}
                    Err(_) => return Ok(()),
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.kill()?; // SIGKILL: no graceful shutdown, no flush
    for task in tasks {
        task.await??;
    }
    let acked = Arc::try_unwrap(acked)
        .map_err(|_| anyhow::anyhow!("writers still hold the record"))?
        .into_inner()
        .expect("not poisoned");
    assert!(
        acked.policies.len() >= 10 && acked.reports.len() >= 30,
        "a real stream: {} policy writes, {} reports",
        acked.policies.len(),
        acked.reports.len()
    );

    // Restart on the same data directory and look for every acknowledged write.
    let (_server, url) = start_server(dir.path(), USER, PASSWORD, false).await?;
    let api = Api::sign_in(&url, USER, PASSWORD).await?;
    let mut lost = 0;
    let mut n_versions = 0;
    for policy in &policies {
        let versions: Vec<PolicyVersion> = api.get(&format!("/api/v1/policies/{}/versions", policy.id)).await?;
        let numbers: Vec<u64> = versions.iter().map(|v| v.version).collect();
        assert_eq!(
            numbers,
            (1..=numbers.len() as u64).collect::<Vec<_>>(),
            "versions are contiguous: nothing half-written"
        );
        let current: Policy = api.get(&format!("/api/v1/policies/{}", policy.id)).await?;
        assert_eq!(current.version, numbers.len() as u64, "the policy is at its last stored version");
        for version in &versions {
            assert_eq!(version.draft.description, format!("v{}", version.version), "each version holds what was sent");
        }
        for (_, version, _) in acked.policies.iter().filter(|(id, _, _)| *id == policy.id) {
            if !numbers.contains(version) {
                lost += 1;
            }
        }
        let audit: AuditPage =
            api.get(&format!("/api/v1/audit?action=policy_update&object_id={}&per_page=100", policy.id)).await?;
        assert_eq!(audit.total, current.version - 1, "one audit entry per version, written with it");
        n_versions += current.version;
    }
    for (device_id, _) in &devices {
        let status: DeviceStatus = api.get(&format!("/api/v1/devices/{device_id}/status")).await?;
        for (_, policy_id, version) in acked.reports.iter().filter(|(d, _, _)| d == device_id) {
            let stored = status.policies.iter().find(|p| &p.policy.id == policy_id).and_then(|p| p.reported_version);
            if stored.is_none_or(|stored| stored < *version) {
                lost += 1;
            }
        }
    }
    println!(
        "SIGKILL after 1.5 s: {} acknowledged policy writes and {} acknowledged policy reports ({} report requests); \
         after restart {n_versions} policy versions stored; lost writes: {lost}",
        acked.policies.len(),
        acked.reports.len(),
        acked.reports.len() / N_POLICIES
    );
    assert_eq!(lost, 0, "every acknowledged write is there");
    Ok(())
}

/// The online backup: `rampart backup` copies the database while the server keeps taking policy writes; the copy
/// passes its integrity check, a server started on it holds every write acknowledged before the backup began (and
/// the devices, with their credentials), and a second backup onto the same file is refused without touching it.
#[tokio::test]
async fn an_online_backup_taken_during_writes_restores_every_write_acknowledged_before_it() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (mut server, url) = support::start_api_server(dir.path(), USER, PASSWORD).await?;
    let api = Api::sign_in(&url, USER, PASSWORD).await?;
    let package: shared::api::OnboardingPackage =
        serde_json::from_slice(&std::fs::read(dir.path().join("onboarding-package.json"))?)?;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build()?;
    let mut devices = Vec::new();
    for i in 0..N_DEVICES {
        let response = client
            .post(format!("{url}/api/v1/device/onboard"))
            .json(&json!({"onboarding_token": package.onboarding_token, "facts": facts(i)}))
            .send()
            .await?;
        let onboarded: OnboardResponse = response.json().await?;
        devices.push(onboarded);
    }
    let body = json!({
        "profile": "microsoft_defender_antivirus", "name": "Backed up", "description": "v1",
        "settings": [{"id": REALTIME, "value": {"choice": "1"}}],
        "assignments": {"include": [{"group_id": "all-devices"}], "exclude": []}
    });
    let mut policy = api.post::<Policy>("/api/v1/policies", &body).await?;
    // Writes go on during the backup: each new version of the policy, acknowledged or not, is fine in the copy as
    // long as the copy is consistent; those acknowledged before the backup began must all be there.
    for _ in 0..5 {
        policy = next_version(&api, &policy).await?;
    }
    let acknowledged_before = policy.version;
    let writer = {
        let (api, mut policy) = (Api::sign_in(&url, USER, PASSWORD).await?, policy.clone());
        tokio::spawn(async move {
            for _ in 0..200 {
                policy = next_version(&api, &policy).await?;
            }
            anyhow::Ok(policy.version)
        })
    };
    let restored = tempfile::tempdir()?;
    let copy = restored.path().join("rampart.sqlite3");
    let source = dir.path().to_path_buf();
    let backup = move |to: &std::path::Path| {
        std::process::Command::new(support::binary("rampart").expect("built"))
            .args(["backup", "--data-dir"])
            .arg(&source)
            .arg("--to")
            .arg(to)
            .env("RUST_BACKTRACE", "0")
            .output()
    };
    let output = tokio::task::spawn_blocking({
        let (copy, backup) = (copy.clone(), backup.clone());
        move || backup(&copy)
    })
    .await??;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "backup failed: {stdout} {}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("its integrity check passed"), "{stdout}");
    assert!(stdout.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["devices", "12"]), "{stdout}");
    let last_written = writer.await??;
    assert!(last_written > acknowledged_before, "the writes went on");

    // A second backup onto the same file is refused, and the copy is left as it was.
    let before = std::fs::read(&copy)?;
    let again = backup(&copy)?;
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already: a backup never overwrites"));
    assert_eq!(std::fs::read(&copy)?, before);

    // Restore: a server on the copy.
    server.kill()?;
    let (_server, url) = support::start_api_server(restored.path(), USER, PASSWORD).await?;
    let api = Api::sign_in(&url, USER, PASSWORD).await?;
    let versions: Vec<PolicyVersion> = api.get(&format!("/api/v1/policies/{}/versions", policy.id)).await?;
    let numbers: Vec<u64> = versions.iter().map(|v| v.version).collect();
    assert_eq!(numbers, (1..=numbers.len() as u64).collect::<Vec<_>>(), "a consistent copy: versions contiguous");
    assert!(numbers.len() as u64 >= acknowledged_before, "every version acknowledged before the backup is there");
    for version in &versions {
        assert_eq!(version.draft.description, format!("v{}", version.version));
    }
    // The devices come back with their credentials: each checks in on the restored server.
    for device in &devices {
        let response = client
            .post(format!("{url}/api/v1/device/check-in"))
            .header("authorization", format!("Device {}:{}", device.device_id, device.device_secret))
            .send()
            .await?;
        assert_eq!(response.status(), reqwest::StatusCode::OK, "{} checks in on the restored copy", device.device_id);
    }
    println!(
        "backup during writes: versions 1..{acknowledged_before} acknowledged before it, {} in the copy, {last_written} \
         written by the end",
        numbers.len()
    );
    Ok(())
}

/// Saves `policy` as its next version, whose description is `v<version>`.
async fn next_version(api: &Api, policy: &Policy) -> anyhow::Result<Policy> {
    let mut draft = serde_json::to_value(&policy.draft)?;
    draft["description"] = json!(format!("v{}", policy.version + 1));
    let if_match = format!("\"{}\"", policy.version);
    let path = format!("/api/v1/policies/{}", policy.id);
    api.send(reqwest::Method::PUT, &path, &[("if-match", &if_match)], &draft).await
}
