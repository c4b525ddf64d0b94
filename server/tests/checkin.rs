//! The check-in protocol: a device gets exactly the policies that apply to it (eligible, included, not excluded),
//! a `304` while they are unchanged, the new set after a change, and a full answer after a Policy sync.

mod common;

use common::{TestApp, device_authorization, facts, json_body};
use reqwest::header::{AUTHORIZATION, IF_NONE_MATCH};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shared::api::{CHECK_IN_INTERVAL_HEADER, CheckInResponse, GroupDetail};
use shared::policy::Policy;

const REALTIME: &str = "device_vendor_msft_policy_config_defender_allowrealtimemonitoring";
const CLOUD: &str = "device_vendor_msft_policy_config_defender_cloudblocklevel";

struct Fleet {
    app: TestApp,
    cookie: String,
    /// (device id, authorization) of: an eligible laptop, a second eligible laptop, an Intune-managed laptop.
    devices: Vec<(String, String)>,
}

async fn fleet() -> anyhow::Result<Fleet> {
    let app = TestApp::spawn().await?;
    let cookie = app.sign_in_as_admin().await?;
    app.set_switches(&cookie, true).await?;
    let token = app.onboarding_token(&cookie).await?;
    let mut devices = Vec::new();
    for (hostname, managed_by) in [("LAP-1", "mde"), ("LAP-2", "mde"), ("LAP-3", "intune")] {
        let mut device = facts(hostname);
        device["managed_by"] = managed_by.into();
        let onboarded = app.onboard_device_typed(&token, &device).await?;
        devices
            .push((onboarded.device_id.clone(), device_authorization(&onboarded.device_id, &onboarded.device_secret)));
    }
    Ok(Fleet { app, cookie, devices })
}

impl Fleet {
    async fn check_in(&self, device: usize, held: Option<&str>) -> anyhow::Result<reqwest::Response> {
        let mut request =
            self.app.request(Method::POST, "/api/v1/device/check-in").header(AUTHORIZATION, &self.devices[device].1);
        if let Some(hash) = held {
            request = request.header(IF_NONE_MATCH, format!("\"{hash}\""));
        }
        Ok(request.send().await?)
    }

    async fn policies_of(&self, device: usize) -> anyhow::Result<CheckInResponse> {
        json_body(self.check_in(device, None).await?, StatusCode::OK).await
    }

    async fn create_policy(&self, name: &str, include: &[&str], exclude: &[&str]) -> anyhow::Result<Policy> {
        let target = |ids: &[&str]| ids.iter().map(|id| json!({"group_id": id})).collect::<Vec<Value>>();
        let body = json!({
            "profile": "microsoft_defender_antivirus", "name": name,
            "settings": [{"id": REALTIME, "value": {"choice": "1"}}],
            "assignments": {"include": target(include), "exclude": target(exclude)}
        });
        json_body(
            self.app.admin_request(Method::POST, "/api/v1/policies", &self.cookie).json(&body).send().await?,
            StatusCode::CREATED,
        )
        .await
    }

    /// Policies A (cloud level 4) and B (cloud level 6) for All devices, both allowing real-time monitoring: one
    /// equal setting, one conflict.
    async fn overlapping_policies(&self) -> anyhow::Result<Vec<Policy>> {
        let mut created = Vec::new();
        for (name, level) in [("A", "4"), ("B", "6")] {
            let body = json!({
                "profile": "microsoft_defender_antivirus", "name": name,
                "settings": [{"id": REALTIME, "value": {"choice": "1"}}, {"id": CLOUD, "value": {"choice": level}}],
                "assignments": {"include": [{"group_id": "all-devices"}]}
            });
            let response =
                self.app.admin_request(Method::POST, "/api/v1/policies", &self.cookie).json(&body).send().await?;
            created.push(json_body(response, StatusCode::CREATED).await?);
        }
        Ok(created)
    }

    async fn static_group(&self, name: &str, members: &[usize]) -> anyhow::Result<String> {
        let group: GroupDetail = json_body(
            self.app
                .admin_request(Method::POST, "/api/v1/groups", &self.cookie)
                .json(&json!({"name": name, "kind": "static"}))
                .send()
                .await?,
            StatusCode::CREATED,
        )
        .await?;
        let ids: Vec<&str> = members.iter().map(|i| self.devices[*i].0.as_str()).collect();
        let path = format!("/api/v1/groups/{}/members", group.summary.id);
        self.app.admin_request(Method::POST, &path, &self.cookie).json(&json!({"device_ids": ids})).send().await?;
        Ok(group.summary.id)
    }
}

fn names(answer: &CheckInResponse) -> Vec<&str> {
    answer.policies.iter().map(|p| p.draft.name.as_str()).collect()
}

#[tokio::test]
async fn each_device_gets_only_the_policies_that_apply_to_it() -> anyhow::Result<()> {
    let fleet = fleet().await?;
    let pilot = fleet.static_group("Pilot", &[0]).await?;
    fleet.create_policy("Everyone but the pilot", &["all-devices"], &[&pilot]).await?;
    fleet.create_policy("Pilot only", &[&pilot], &[]).await?;
    assert_eq!(names(&fleet.policies_of(0).await?), ["Pilot only"], "exclusion wins for the pilot laptop");
    assert_eq!(names(&fleet.policies_of(1).await?), ["Everyone but the pilot"]);
    assert!(fleet.policies_of(2).await?.policies.is_empty(), "an Intune-managed device gets nothing");
    Ok(())
}

#[tokio::test]
async fn no_device_gets_policies_until_both_tenant_switches_are_on() -> anyhow::Result<()> {
    let fleet = fleet().await?;
    fleet.create_policy("Baseline", &["all-devices"], &[]).await?;
    fleet.app.set_switches(&fleet.cookie, false).await?;
    assert!(fleet.policies_of(0).await?.policies.is_empty());
    fleet.app.set_switches(&fleet.cookie, true).await?;
    assert_eq!(names(&fleet.policies_of(0).await?), ["Baseline"]);
    Ok(())
}

#[tokio::test]
async fn an_unchanged_set_is_answered_304_and_a_change_brings_the_new_version() -> anyhow::Result<()> {
    let fleet = fleet().await?;
    let policy = fleet.create_policy("Baseline", &["all-devices"], &[]).await?;
    let first = fleet.policies_of(0).await?;
    assert_eq!(first.policies[0].version, 1);

    let unchanged = fleet.check_in(0, Some(&first.policies_hash)).await?;
    assert_eq!(unchanged.status(), StatusCode::NOT_MODIFIED);
    let interval =
        unchanged.headers().get(CHECK_IN_INTERVAL_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert_eq!(interval, first.check_in_interval_secs.to_string());
    assert!(unchanged.bytes().await?.is_empty());

    let mut draft = serde_json::to_value(&policy.draft)?;
    draft["description"] = json!("changed");
    let response = fleet
        .app
        .admin_request(Method::PUT, &format!("/api/v1/policies/{}", policy.id), &fleet.cookie)
        .header("if-match", "\"1\"")
        .json(&draft)
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::OK);
    let changed: CheckInResponse =
        json_body(fleet.check_in(0, Some(&first.policies_hash)).await?, StatusCode::OK).await?;
    assert_ne!(changed.policies_hash, first.policies_hash);
    assert_eq!(changed.policies[0].version, 2);
    Ok(())
}

#[tokio::test]
async fn a_policy_sync_makes_the_next_check_in_return_everything() -> anyhow::Result<()> {
    let fleet = fleet().await?;
    fleet.create_policy("Baseline", &["all-devices"], &[]).await?;
    let first = fleet.policies_of(0).await?;
    let response = fleet
        .app
        .admin_request(Method::POST, &format!("/api/v1/devices/{}/sync", fleet.devices[0].0), &fleet.cookie)
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let synced: CheckInResponse =
        json_body(fleet.check_in(0, Some(&first.policies_hash)).await?, StatusCode::OK).await?;
    assert_eq!(synced.policies_hash, first.policies_hash);
    assert_eq!(fleet.check_in(0, Some(&first.policies_hash)).await?.status(), StatusCode::NOT_MODIFIED);
    Ok(())
}

#[tokio::test]
async fn the_effective_view_of_a_device_resolves_overlapping_policies_as_the_device_will() -> anyhow::Result<()> {
    let fleet = fleet().await?;
    let cloud = "device_vendor_msft_policy_config_defender_cloudblocklevel";
    let paths = "device_vendor_msft_policy_config_defender_excludedpaths";
    for (name, level, path) in [("A", "4", "C:\\Data\\a"), ("B", "6", "C:\\Data\\b")] {
        let body = json!({
            "profile": "microsoft_defender_antivirus", "name": name,
            "settings": [
                {"id": REALTIME, "value": {"choice": "1"}},
                {"id": cloud, "value": {"choice": level}},
                {"id": paths, "value": {"string_list": [path]}}
            ],
            "assignments": {"include": [{"group_id": "all-devices"}]}
        });
        let response =
            fleet.app.admin_request(Method::POST, "/api/v1/policies", &fleet.cookie).json(&body).send().await?;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let effective: shared::api::EffectiveConfiguration =
        fleet.app.admin_get(&fleet.cookie, &format!("/api/v1/devices/{}/effective", fleet.devices[0].0)).await?;
    assert_eq!(effective.policies.len(), 2);
    let setting = |id: &str| effective.resolution.setting(id).cloned().expect("configured");
    use shared::conflict::{DecidedBy, SettingStatus};
    let cloud_outcome = setting(cloud);
    assert_eq!(cloud_outcome.status, SettingStatus::Conflict);
    assert_eq!(cloud_outcome.decided_by, Some(DecidedBy::MostSecure));
    assert_eq!(cloud_outcome.effective, shared::catalog::SettingValue::Choice("6".into()));
    assert_eq!(setting(REALTIME).status, SettingStatus::Succeeded, "equal values are not a conflict");
    let merged = setting(paths);
    assert_eq!(merged.status, SettingStatus::Succeeded);
    // Merged lists keep the order of the policies' ids, which are random here; compare the entries.
    let shared::catalog::SettingValue::StringList(mut entries) = merged.effective else { panic!("a list") };
    entries.sort();
    assert_eq!(entries, ["C:\\Data\\a", "C:\\Data\\b"]);
    let intune: shared::api::EffectiveConfiguration =
        fleet.app.admin_get(&fleet.cookie, &format!("/api/v1/devices/{}/effective", fleet.devices[2].0)).await?;
    assert!(intune.policies.is_empty() && intune.resolution.settings.is_empty());
    Ok(())
}

async fn report(
    fleet: &Fleet,
    device: usize,
    body: &shared::report::DeviceReport,
) -> anyhow::Result<reqwest::Response> {
    Ok(fleet
        .app
        .request(Method::POST, "/api/v1/device/report")
        .header(AUTHORIZATION, &fleet.devices[device].1)
        .json(body)
        .send()
        .await?)
}

#[tokio::test]
async fn a_report_computed_as_the_agent_does_shows_conflicts_and_preferences_and_old_versions_never_win()
-> anyhow::Result<()> {
    use shared::report::{PolicyState, device_report};
    let fleet = fleet().await?;
    let created = fleet.overlapping_policies().await?;
    let status_path = format!("/api/v1/devices/{}/status", fleet.devices[0].0);
    let before: shared::api::DeviceStatus = fleet.app.admin_get(&fleet.cookie, &status_path).await?;
    assert!(before.policies.iter().all(|p| p.state == PolicyState::Pending), "nothing reported yet");

    let answer = fleet.policies_of(0).await?;
    let refs: Vec<&Policy> = answer.policies.iter().collect();
    let current = device_report(&answer.policies_hash, &refs, shared::device::OsProduct::Windows11);
    assert_eq!(report(&fleet, 0, &current).await?.status(), StatusCode::NO_CONTENT);
    assert_eq!(report(&fleet, 0, &current).await?.status(), StatusCode::NO_CONTENT, "repeating a report is harmless");
    let after: shared::api::DeviceStatus = fleet.app.admin_get(&fleet.cookie, &status_path).await?;
    assert!(after.policies.iter().all(|p| p.state == PolicyState::Conflict), "{after:?}");
    assert_eq!(after.preferences.get("CloudBlockLevel").map(String::as_str), Some("Zero tolerance"));

    // Policy A moves to version 2; a late report of version 1 does not replace the report of version 2.
    let mut draft = serde_json::to_value(&created[0].draft)?;
    draft["description"] = json!("v2");
    let response = fleet
        .app
        .admin_request(Method::PUT, &format!("/api/v1/policies/{}", created[0].id), &fleet.cookie)
        .header("if-match", "\"1\"")
        .json(&draft)
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::OK);
    let pending: shared::api::DeviceStatus = fleet.app.admin_get(&fleet.cookie, &status_path).await?;
    let a = pending.policies.iter().find(|p| p.policy.id == created[0].id).expect("A applies");
    assert_eq!((a.state, a.reported_version), (PolicyState::Pending, Some(1)), "pending until version 2 is reported");
    let answer = fleet.policies_of(0).await?;
    let refs: Vec<&Policy> = answer.policies.iter().collect();
    let newer = device_report(&answer.policies_hash, &refs, shared::device::OsProduct::Windows11);
    assert_eq!(report(&fleet, 0, &newer).await?.status(), StatusCode::NO_CONTENT);
    assert_eq!(report(&fleet, 0, &current).await?.status(), StatusCode::NO_CONTENT);
    let latest: shared::api::DeviceStatus = fleet.app.admin_get(&fleet.cookie, &status_path).await?;
    let a = latest.policies.iter().find(|p| p.policy.id == created[0].id).expect("A applies");
    assert_eq!((a.state, a.reported_version), (PolicyState::Conflict, Some(2)));
    Ok(())
}

#[tokio::test]
async fn a_device_cannot_report_about_a_policy_that_does_not_apply_to_it() -> anyhow::Result<()> {
    let fleet = fleet().await?;
    let pilot = fleet.static_group("Pilot", &[0]).await?;
    let policy = fleet.create_policy("Pilot only", &[&pilot], &[]).await?;
    let forged = shared::report::DeviceReport {
        policies_hash: String::new(),
        policies: vec![shared::report::PolicyResult { policy_id: policy.id.clone(), version: 1, settings: vec![] }],
        preferences: Default::default(),
    };
    let envelope = common::error(report(&fleet, 1, &forged).await?, StatusCode::BAD_REQUEST).await?;
    assert_eq!(envelope.error.violations[0].path, "policies[0].policy_id");
    let response = fleet.app.request(Method::POST, "/api/v1/device/report").json(&forged).send().await?;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "and nothing without credentials");
    Ok(())
}

#[tokio::test]
async fn a_report_of_the_current_version_gives_each_configured_setting_one_result() -> anyhow::Result<()> {
    use shared::report::{SettingResult, SettingState};
    let fleet = fleet().await?;
    fleet.overlapping_policies().await?;
    let answer = fleet.policies_of(0).await?;
    let refs: Vec<&Policy> = answer.policies.iter().collect();
    let mut body = shared::report::device_report(&answer.policies_hash, &refs, shared::device::OsProduct::Windows11);
    let missing = body.policies[0].settings.remove(0).setting_id;
    let repeated = SettingResult {
        setting_id: body.policies[1].settings[0].setting_id.clone(),
        state: SettingState::Succeeded,
        code: String::new(),
        detail: String::new(),
    };
    body.policies[1].settings.push(repeated);
    let envelope = common::error(report(&fleet, 0, &body).await?, StatusCode::BAD_REQUEST).await?;
    let problems: Vec<(String, String)> = envelope.error.violations.into_iter().map(|v| (v.path, v.message)).collect();
    let last = body.policies[1].settings.len() - 1;
    assert_eq!(
        problems,
        [
            ("policies[0].settings".to_owned(), format!("has no result for {missing}, which the policy configures")),
            (format!("policies[1].settings[{last}].setting_id"), "this setting has a result already".to_owned()),
        ]
    );
    Ok(())
}

#[tokio::test]
async fn policy_reports_count_targeted_devices_by_status_per_setting_and_name_the_competing_policies()
-> anyhow::Result<()> {
    use shared::api::{PolicyDeviceReport, PolicyReport};
    use shared::policy::PolicySummary;
    use shared::report::{PolicyState, SettingState, device_report};
    let fleet = fleet().await?;
    let created = fleet.overlapping_policies().await?;
    // Device 0 reports; device 1 has not yet; device 2 (Intune-managed) is not eligible.
    let answer = fleet.policies_of(0).await?;
    let refs: Vec<&Policy> = answer.policies.iter().collect();
    let body = device_report(&answer.policies_hash, &refs, shared::device::OsProduct::Windows11);
    assert_eq!(report(&fleet, 0, &body).await?.status(), StatusCode::NO_CONTENT);

    let a = &created[0];
    let summary: Report = fleet.app.admin_get(&fleet.cookie, &format!("/api/v1/policies/{}/report", a.id)).await?;
    type Report = PolicyReport;
    let counts = summary.counts;
    assert_eq!(
        (counts.conflict, counts.pending, counts.not_applicable, counts.succeeded, counts.error),
        (1, 1, 1, 0, 0)
    );
    assert_eq!(summary.check_in.since_change, 1, "only device 0 checked in since the policy was written");
    assert_eq!(summary.check_in.never, 2);
    let states: Vec<(&str, PolicyState)> =
        summary.devices.iter().map(|row| (row.device_name.as_str(), row.state)).collect();
    assert_eq!(
        states,
        [("LAP-1", PolicyState::Conflict), ("LAP-2", PolicyState::Pending), ("LAP-3", PolicyState::NotApplicable)]
    );
    assert_eq!((summary.devices_total, summary.page, summary.per_page), (3, 1, 50));

    // The devices are filtered, sorted and paged on the server; the counts stay the whole policy's.
    let path = |query: &str| format!("/api/v1/policies/{}/report?{query}", a.id);
    let pending: Report = fleet.app.admin_get(&fleet.cookie, &path("state=pending")).await?;
    let names = |report: &Report| report.devices.iter().map(|row| row.device_name.clone()).collect::<Vec<_>>();
    assert_eq!((names(&pending), pending.devices_total, pending.counts), (vec!["LAP-2".to_owned()], 1, counts));
    let second: Report = fleet.app.admin_get(&fleet.cookie, &path("sort=status&dir=desc&per_page=1&page=2")).await?;
    assert_eq!((names(&second), second.devices_total), (vec!["LAP-3".to_owned()], 3), "Pending, Not applicable, …");
    let found: Report = fleet.app.admin_get(&fleet.cookie, &path("q=lap-1")).await?;
    assert_eq!(names(&found), ["LAP-1"]);
    let bad = fleet.app.admin_request(Method::GET, &path("state=fine&page=0"), &fleet.cookie).send().await?;
    let envelope = common::error(bad, StatusCode::BAD_REQUEST).await?;
    assert_eq!(envelope.error.violations.iter().map(|v| v.path.as_str()).collect::<Vec<_>>(), ["state", "page"]);
    let csv_path = format!("/api/v1/policies/{}/report/devices.csv?state=conflict&per_page=1", a.id);
    let csv = fleet.app.admin_request(Method::GET, &csv_path, &fleet.cookie).send().await?.text().await?;
    assert_eq!(csv.lines().count(), 2, "the CSV has the filtered rows, all of them: {csv}");

    let per_setting: Vec<(&str, u64, u64)> =
        summary.settings.iter().map(|s| (s.setting_id.as_str(), s.succeeded, s.conflict)).collect();
    assert_eq!(per_setting, [(REALTIME, 1, 0), (CLOUD, 0, 1)], "the equal setting is no conflict");

    let list: Vec<PolicySummary> = fleet.app.admin_get(&fleet.cookie, "/api/v1/policies?type=antivirus").await?;
    assert!(list.iter().all(|p| p.status == counts), "the list carries the same summary: {list:?}");

    let device_path = format!("/api/v1/policies/{}/report/devices/{}", a.id, fleet.devices[0].0);
    let detail: PolicyDeviceReport = fleet.app.admin_get(&fleet.cookie, &device_path).await?;
    let row = detail.settings.iter().find(|s| s.setting_id == CLOUD).expect("listed");
    assert_eq!((row.state, row.effective.as_str()), (Some(SettingState::Conflict), "Zero tolerance"));
    assert_eq!(
        row.others.iter().map(|o| (o.policy_name.as_str(), o.value.as_str())).collect::<Vec<_>>(),
        [("B", "Zero tolerance")]
    );

    let csv = fleet
        .app
        .admin_request(Method::GET, &format!("/api/v1/policies/{}/report/devices.csv", a.id), &fleet.cookie)
        .send()
        .await?;
    assert_eq!(csv.status(), StatusCode::OK);
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(csv.headers()["content-disposition"].to_str()?.starts_with("attachment; filename=\"A-devices.csv\""));
    let text = csv.text().await?;
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[0].starts_with("Device,Device id,OS,Status"));
    assert!(lines[1].starts_with("LAP-1,") && lines[1].contains(",Conflict,1,"), "{}", lines[1]);
    for path in [
        format!("/api/v1/policies/{}/report/settings.csv", a.id),
        format!("{device_path}/settings.csv"),
        "/api/v1/policies/report.csv?type=antivirus".to_owned(),
    ] {
        let response = fleet.app.admin_request(Method::GET, &path, &fleet.cookie).send().await?;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.text().await?.lines().count(), 3, "{path}: a header and two rows");
    }

    // One setting's devices: the conflict on device 0, with the detail the device gave; filtered, paged, as CSV.
    let setting_path =
        |setting: &str, query: &str| format!("/api/v1/policies/{}/report/settings/{setting}?{query}", a.id);
    let cloud: shared::api::SettingReport = fleet.app.admin_get(&fleet.cookie, &setting_path(CLOUD, "")).await?;
    assert_eq!((cloud.setting.conflict, cloud.devices_total), (1, 1));
    let row = &cloud.devices[0];
    assert_eq!((row.device_name.as_str(), row.state), ("LAP-1", SettingState::Conflict));
    assert!(row.detail.contains("\"B\""), "the detail names the other policy: {}", row.detail);
    let none: shared::api::SettingReport =
        fleet.app.admin_get(&fleet.cookie, &setting_path(CLOUD, "state=succeeded")).await?;
    assert_eq!((none.devices.len(), none.devices_total), (0, 0));
    let realtime: shared::api::SettingReport =
        fleet.app.admin_get(&fleet.cookie, &setting_path(REALTIME, "state=succeeded&q=lap")).await?;
    assert_eq!((realtime.devices_total, realtime.devices[0].state), (1, SettingState::Succeeded));
    let csv = fleet
        .app
        .admin_request(
            Method::GET,
            &format!("/api/v1/policies/{}/report/settings/{CLOUD}/devices.csv", a.id),
            &fleet.cookie,
        )
        .send()
        .await?
        .text()
        .await?;
    assert!(csv.starts_with("Device,Device id,OS,Status,Error code,Detail"), "{csv}");
    assert!(csv.lines().nth(1).is_some_and(|line| line.starts_with("LAP-1,") && line.contains(",Conflict,")), "{csv}");
    let bad = fleet.app.admin_request(Method::GET, &setting_path(CLOUD, "state=pending"), &fleet.cookie).send().await?;
    assert_eq!(common::error(bad, StatusCode::BAD_REQUEST).await?.error.violations[0].path, "state");
    let unknown = fleet.app.admin_request(Method::GET, &setting_path("nope", ""), &fleet.cookie).send().await?;
    common::error(unknown, StatusCode::NOT_FOUND).await?;

    // A device the policy does not target, and an unknown policy, are 404 with the envelope.
    let pilot = fleet.static_group("Pilot", &[0]).await?;
    let narrow = fleet.create_policy("Pilot only", &[&pilot], &[]).await?;
    let path = format!("/api/v1/policies/{}/report/devices/{}", narrow.id, fleet.devices[1].0);
    common::error(fleet.app.admin_request(Method::GET, &path, &fleet.cookie).send().await?, StatusCode::NOT_FOUND)
        .await?;
    let path = "/api/v1/policies/nope/report";
    common::error(fleet.app.admin_request(Method::GET, path, &fleet.cookie).send().await?, StatusCode::NOT_FOUND)
        .await?;
    Ok(())
}

#[tokio::test]
async fn membership_and_switch_changes_reach_the_next_check_in_despite_the_cached_policy_set() -> anyhow::Result<()> {
    let fleet = fleet().await?;
    let pilot = fleet.static_group("Pilot", &[]).await?;
    let policy = fleet.create_policy("Pilot only", &[&pilot], &[]).await?;
    let before = fleet.policies_of(0).await?;
    assert!(before.policies.is_empty());
    assert_eq!(fleet.check_in(0, Some(&before.policies_hash)).await?.status(), StatusCode::NOT_MODIFIED);
    // Adding the device to the group changes its set at once.
    let path = format!("/api/v1/groups/{pilot}/members");
    let body = json!({"device_ids": [fleet.devices[0].0]});
    fleet.app.admin_request(Method::POST, &path, &fleet.cookie).json(&body).send().await?;
    let after: CheckInResponse =
        json_body(fleet.check_in(0, Some(&before.policies_hash)).await?, StatusCode::OK).await?;
    assert_eq!(after.policies.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), [policy.id.as_str()]);
    // Turning the tenant off empties it again.
    fleet.app.set_switches(&fleet.cookie, false).await?;
    let off: CheckInResponse = json_body(fleet.check_in(0, Some(&after.policies_hash)).await?, StatusCode::OK).await?;
    assert!(off.policies.is_empty() && off.policies_hash == before.policies_hash);
    // And the check-ins are on the device's record when an admin looks.
    let device: shared::api::DeviceDetail =
        fleet.app.admin_get(&fleet.cookie, &format!("/api/v1/devices/{}", fleet.devices[0].0)).await?;
    assert_eq!(device.n_check_ins, 4);
    Ok(())
}

#[tokio::test]
async fn the_effective_view_says_through_which_groups_each_policy_reaches_the_device() -> anyhow::Result<()> {
    let fleet = fleet().await?;
    let inner = fleet.static_group("Inner", &[0]).await?;
    let outer = fleet.static_group("Outer", &[]).await?;
    let path = format!("/api/v1/groups/{outer}/nested");
    let response =
        fleet.app.admin_request(Method::POST, &path, &fleet.cookie).json(&json!({"group_id": inner})).send().await?;
    assert_eq!(response.status(), StatusCode::OK);
    let nested = fleet.create_policy("Through nesting", &[&outer], &[]).await?;
    let everyone = fleet.create_policy("Everyone", &["all-devices"], &[]).await?;
    let effective: shared::api::EffectiveConfiguration =
        fleet.app.admin_get(&fleet.cookie, &format!("/api/v1/devices/{}/effective", fleet.devices[0].0)).await?;
    assert_eq!(
        effective.through.get(&nested.id).map(Vec::as_slice),
        Some(&["Outer".to_owned(), "Inner (member)".to_owned()][..])
    );
    assert_eq!(effective.through.get(&everyone.id).map(Vec::as_slice), Some(&["All devices".to_owned()][..]));
    Ok(())
}

#[tokio::test]
async fn the_snapshot_is_fetched_once_and_then_only_what_changed() -> anyhow::Result<()> {
    use shared::preview::{Snapshot, SnapshotUpdate};
    let fleet = fleet().await?;
    let mut held: Snapshot = fleet.app.admin_get(&fleet.cookie, "/api/v1/snapshot").await?;
    assert!(held.generation > 0, "onboarding moved the generation");
    let unchanged: SnapshotUpdate =
        fleet.app.admin_get(&fleet.cookie, &format!("/api/v1/snapshot?since={}", held.generation)).await?;
    assert!(!unchanged.moves(held.generation), "nothing changed: {unchanged:?}");

    let pilot = fleet.static_group("Pilot", &[0]).await?;
    fleet.create_policy("Pilot only", &[&pilot], &[]).await?;
    let path = format!("/api/v1/snapshot?since={}", held.generation);
    let text = fleet.app.admin_request(Method::GET, &path, &fleet.cookie).send().await?.text().await?;
    let update: SnapshotUpdate = serde_json::from_str(&text)?;
    let changes = update.changes.as_ref().expect("changes, not the whole snapshot");
    assert_eq!((changes.devices.len(), changes.groups.len(), changes.policies.len()), (0, 1, 1));
    held.apply(update);
    let whole: Snapshot = fleet.app.admin_get(&fleet.cookie, "/api/v1/snapshot").await?;
    held.taken_at = whole.taken_at;
    assert_eq!(held, whole);

    // A generation the server has not reached gets the whole snapshot; a malformed one is refused.
    let ahead: SnapshotUpdate =
        fleet.app.admin_get(&fleet.cookie, &format!("/api/v1/snapshot?since={}", whole.generation + 10)).await?;
    assert_eq!(ahead.full.map(|s| s.generation), Some(whole.generation));
    let bad = fleet.app.admin_request(Method::GET, "/api/v1/snapshot?since=soon&x=1", &fleet.cookie).send().await?;
    let envelope = common::error(bad, StatusCode::BAD_REQUEST).await?;
    assert_eq!(envelope.error.violations.iter().map(|v| v.path.as_str()).collect::<Vec<_>>(), ["since", "x"]);
    Ok(())
}
