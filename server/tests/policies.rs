//! Policies over real HTTP: create, read with an ETag, update with `If-Match` (a stale write changes nothing),
//! history and diff, duplicate, delete, assignments (filters refused, exclusion groups), and the catalog.

mod common;

use common::{TestApp, error, json_body};
use reqwest::header::{ETAG, IF_MATCH};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shared::api::GroupDetail;
use shared::policy::{Change, FILTERS_NOT_SUPPORTED, Policy, PolicySummary, PolicyVersion};

const REALTIME: &str = "device_vendor_msft_policy_config_defender_allowrealtimemonitoring";
const CLOUD_BLOCK: &str = "device_vendor_msft_policy_config_defender_cloudblocklevel";
const CPU: &str = "device_vendor_msft_policy_config_defender_avgcpuloadfactor";
const EXCLUDED_PATHS: &str = "device_vendor_msft_policy_config_defender_excludedpaths";

fn antivirus(name: &str) -> Value {
    json!({
        "profile": "microsoft_defender_antivirus",
        "name": name,
        "description": "Baseline for every workstation",
        "settings": [
            {"id": REALTIME, "value": {"choice": "1"}},
            {"id": CLOUD_BLOCK, "value": {"choice": "4"}},
            {"id": EXCLUDED_PATHS, "value": {"string_list": ["%ProgramFiles%\\Contoso\\cache"]}}
        ],
        "assignments": {"include": [{"group_id": "all-devices"}], "exclude": []}
    })
}

async fn create(app: &TestApp, cookie: &str, body: &Value) -> anyhow::Result<(Policy, String)> {
    let response = app.admin_request(Method::POST, "/api/v1/policies", cookie).json(body).send().await?;
    let etag = response.headers().get(ETAG).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    Ok((json_body(response, StatusCode::CREATED).await?, etag))
}

async fn put(
    app: &TestApp,
    cookie: &str,
    id: &str,
    etag: Option<&str>,
    body: &Value,
) -> anyhow::Result<reqwest::Response> {
    let mut request = app.admin_request(Method::PUT, &format!("/api/v1/policies/{id}"), cookie).json(body);
    if let Some(etag) = etag {
        request = request.header(IF_MATCH, etag);
    }
    Ok(request.send().await?)
}

#[tokio::test]
async fn a_created_policy_is_version_1_and_reads_back_with_its_etag() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let cookie = app.sign_in_as_admin().await?;
    let (policy, etag) = create(&app, &cookie, &antivirus("Workstations AV")).await?;
    assert_eq!((policy.version, etag.as_str()), (1, "\"1\""));
    assert_eq!(policy.draft.settings.len(), 3);
    assert_eq!(policy.updated_by, "admin");
    let read = app.admin_request(Method::GET, &format!("/api/v1/policies/{}", policy.id), &cookie).send().await?;
    assert_eq!(read.headers().get(ETAG).and_then(|v| v.to_str().ok()), Some("\"1\""));
    assert_eq!(json_body::<Policy>(read, StatusCode::OK).await?, policy);
    Ok(())
}

#[tokio::test]
async fn an_update_with_the_current_etag_makes_the_next_version_and_keeps_the_previous() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let cookie = app.sign_in_as_admin().await?;
    let (policy, etag) = create(&app, &cookie, &antivirus("Workstations AV")).await?;
    let mut changed = antivirus("Workstations AV");
    changed["settings"][1] = json!({"id": CLOUD_BLOCK, "value": {"choice": "6"}});
    if let Some(settings) = changed["settings"].as_array_mut() {
        settings.push(json!({"id": CPU, "value": {"integer": 30}}));
    }
    let response = put(&app, &cookie, &policy.id, Some(&etag), &changed).await?;
    assert_eq!(response.headers().get(ETAG).and_then(|v| v.to_str().ok()), Some("\"2\""));
    let updated: Policy = json_body(response, StatusCode::OK).await?;
    assert_eq!(updated.version, 2);

    let versions: Vec<PolicyVersion> =
        app.admin_get(&cookie, &format!("/api/v1/policies/{}/versions", policy.id)).await?;
    assert_eq!(versions.iter().map(|v| v.version).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(versions[0].draft, policy.draft);
    let changes: Vec<Change> =
        app.admin_get(&cookie, &format!("/api/v1/policies/{}/diff?from=1&to=2", policy.id)).await?;
    let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
    // Settings are listed in id order: "…avgcpuloadfactor" before "…cloudblocklevel".
    assert_eq!(fields, [CPU, CLOUD_BLOCK]);
    let cloud = changes.iter().find(|c| c.field == CLOUD_BLOCK).expect("cloud block changed");
    assert_eq!(
        (cloud.before.as_deref(), cloud.after.as_deref()),
        (Some(r#"{"choice":"4"}"#), Some(r#"{"choice":"6"}"#))
    );
    Ok(())
}

#[tokio::test]
async fn a_stale_write_gets_412_and_changes_nothing() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let cookie = app.sign_in_as_admin().await?;
    let (policy, etag) = create(&app, &cookie, &antivirus("Workstations AV")).await?;
    let mut first = antivirus("Workstations AV");
    first["description"] = json!("first writer");
    json_body::<Policy>(put(&app, &cookie, &policy.id, Some(&etag), &first).await?, StatusCode::OK).await?;
    let mut second = antivirus("Workstations AV");
    second["description"] = json!("second writer, from the same old version");
    let envelope =
        error(put(&app, &cookie, &policy.id, Some(&etag), &second).await?, StatusCode::PRECONDITION_FAILED).await?;
    assert!(envelope.error.message.contains("version 2"), "{}", envelope.error.message);
    let envelope =
        error(put(&app, &cookie, &policy.id, None, &second).await?, StatusCode::PRECONDITION_REQUIRED).await?;
    assert!(envelope.error.message.contains("If-Match"));
    let now: Policy = app.admin_get(&cookie, &format!("/api/v1/policies/{}", policy.id)).await?;
    assert_eq!((now.version, now.draft.description.as_str()), (2, "first writer"));
    Ok(())
}

#[tokio::test]
async fn invalid_settings_and_assignments_are_named_and_nothing_is_stored() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let cookie = app.sign_in_as_admin().await?;
    let mut bad = antivirus("");
    bad["settings"] = json!([
        {"id": CPU, "value": {"integer": 150}},
        {"id": "no_such_setting", "value": {"choice": "1"}},
        {"id": REALTIME, "value": {"choice": "7"}}
    ]);
    bad["assignments"] = json!({"include": [{"group_id": "all-devices", "filter": {"id": "f1", "type": "include"}}], "exclude": [{"group_id": "nope"}]});
    let response = app.admin_request(Method::POST, "/api/v1/policies", &cookie).json(&bad).send().await?;
    let envelope = error(response, StatusCode::BAD_REQUEST).await?;
    let paths: Vec<&str> = envelope.error.violations.iter().map(|v| v.path.as_str()).collect();
    for expected in [
        "name",
        "settings[0].value",
        "settings[1].id",
        "settings[2].value",
        "assignments.include[0].filter",
        "assignments.exclude[0].group_id",
    ] {
        assert!(paths.contains(&expected), "{expected} missing from {paths:?}");
    }
    let filter = envelope.error.violations.iter().find(|v| v.path.ends_with(".filter")).expect("filter refused");
    assert_eq!(filter.message, FILTERS_NOT_SUPPORTED);
    let list: Vec<PolicySummary> = app.admin_get(&cookie, "/api/v1/policies").await?;
    assert!(list.is_empty());
    Ok(())
}

#[tokio::test]
async fn the_list_filters_by_type_and_names_the_assigned_groups() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let cookie = app.sign_in_as_admin().await?;
    let pilots: GroupDetail = json_body(
        app.admin_request(Method::POST, "/api/v1/groups", &cookie)
            .json(&json!({"name": "Pilots", "kind": "static"}))
            .send()
            .await?,
        StatusCode::CREATED,
    )
    .await?;
    let mut av = antivirus("Workstations AV");
    av["assignments"]["exclude"] = json!([{"group_id": pilots.summary.id}]);
    create(&app, &cookie, &av).await?;
    let firewall = json!({"profile": "windows_firewall", "name": "Firewall baseline", "settings": [], "assignments": {"include": [{"group_id": pilots.summary.id}]}});
    create(&app, &cookie, &firewall).await?;

    let antivirus_only: Vec<PolicySummary> = app.admin_get(&cookie, "/api/v1/policies?type=antivirus").await?;
    assert_eq!(antivirus_only.len(), 1);
    assert_eq!(
        (antivirus_only[0].included.clone(), antivirus_only[0].excluded.clone()),
        (vec!["All devices".to_owned()], vec!["Pilots".to_owned()])
    );
    let firewall_only: Vec<PolicySummary> = app.admin_get(&cookie, "/api/v1/policies?type=firewall").await?;
    assert_eq!(firewall_only.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["Firewall baseline"]);
    let response = app.admin_request(Method::GET, "/api/v1/policies?type=edr", &cookie).send().await?;
    assert_eq!(error(response, StatusCode::BAD_REQUEST).await?.error.violations[0].path, "type");

    // A group that a policy uses cannot be deleted.
    let response =
        app.admin_request(Method::DELETE, &format!("/api/v1/groups/{}", pilots.summary.id), &cookie).send().await?;
    let envelope = error(response, StatusCode::CONFLICT).await?;
    assert!(envelope.error.message.contains("Workstations AV") && envelope.error.message.contains("Firewall baseline"));
    Ok(())
}

#[tokio::test]
async fn a_duplicate_keeps_the_settings_but_not_the_assignments_and_delete_removes_it() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let cookie = app.sign_in_as_admin().await?;
    let (policy, _) = create(&app, &cookie, &antivirus("Workstations AV")).await?;
    let response =
        app.admin_request(Method::POST, &format!("/api/v1/policies/{}/duplicate", policy.id), &cookie).send().await?;
    let copy: Policy = json_body(response, StatusCode::CREATED).await?;
    assert_eq!(copy.draft.name, "Workstations AV (copy)");
    assert_eq!(copy.draft.settings, policy.draft.settings);
    assert!(copy.draft.assignments.include.is_empty());
    let response =
        app.admin_request(Method::POST, &format!("/api/v1/policies/{}/duplicate", policy.id), &cookie).send().await?;
    assert_eq!(json_body::<Policy>(response, StatusCode::CREATED).await?.draft.name, "Workstations AV (copy 2)");
    let response = app.admin_request(Method::DELETE, &format!("/api/v1/policies/{}", copy.id), &cookie).send().await?;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = app.admin_request(Method::GET, &format!("/api/v1/policies/{}", copy.id), &cookie).send().await?;
    error(response, StatusCode::NOT_FOUND).await?;
    // Names are unique, ignoring case.
    let response =
        app.admin_request(Method::POST, "/api/v1/policies", &cookie).json(&antivirus("WORKSTATIONS av")).send().await?;
    assert!(error(response, StatusCode::BAD_REQUEST).await?.error.violations[0].message.contains("already exists"));
    Ok(())
}

#[tokio::test]
async fn the_catalog_lists_both_profiles_with_learn_more_links() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let cookie = app.sign_in_as_admin().await?;
    let catalog: Value = app.admin_get(&cookie, "/api/v1/catalog").await?;
    assert_eq!(catalog["platform"], "Windows 10, Windows 11, and Windows Server");
    let profiles = catalog["profiles"].as_array().expect("profiles");
    assert_eq!(profiles.len(), 2);
    let settings = |i: usize| -> Vec<Value> {
        profiles[i]["categories"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|c| c["settings"].as_array().cloned().unwrap_or_default())
            .collect()
    };
    let antivirus = settings(0);
    let realtime = antivirus.iter().find(|s| s["id"] == REALTIME).expect("real-time monitoring is in the catalog");
    assert!(realtime["learn_more"].as_str().is_some_and(|link| link.starts_with("https://")));
    assert!(realtime["csp_uri"].as_str().is_some_and(|uri| uri.starts_with("./")));
    assert!(!settings(1).is_empty());
    Ok(())
}

fn sample(name: &str) -> anyhow::Result<Vec<u8>> {
    Ok(std::fs::read(format!("{}/../shared/tests/samples/{name}", env!("CARGO_MANIFEST_DIR")))?)
}

async fn import(app: &TestApp, cookie: &str, bytes: Vec<u8>) -> anyhow::Result<reqwest::Response> {
    Ok(app.admin_request(Method::POST, "/api/v1/policies/import", cookie).body(bytes).send().await?)
}

#[tokio::test]
async fn an_exported_graph_file_imports_as_a_policy_and_exports_back_to_the_same_settings() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let cookie = app.sign_in_as_admin().await?;
    for file in ["antivirus.json", "firewall.json"] {
        let report: shared::policy::ImportReport =
            json_body(import(&app, &cookie, sample(file)?).await?, StatusCode::CREATED).await?;
        assert!(report.unmapped.is_empty(), "{file}: {:?}", report.unmapped);
        assert!(!report.policy.draft.settings.is_empty());
        let exported = app
            .admin_request(Method::GET, &format!("/api/v1/policies/{}/export", report.policy.id), &cookie)
            .send()
            .await?;
        let disposition =
            exported.headers().get("content-disposition").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        assert!(disposition.starts_with("attachment;"), "{disposition}");
        let bytes = exported.bytes().await?.to_vec();
        let again = shared::graph::import_policy(&bytes).map_err(|v| anyhow::anyhow!("{v:?}"))?;
        assert_eq!(
            (again.profile, &again.settings),
            (report.policy.draft.profile, &report.policy.draft.settings),
            "{file}"
        );
        // The same file again is refused: names are unique.
        let envelope = error(import(&app, &cookie, sample(file)?).await?, StatusCode::BAD_REQUEST).await?;
        assert!(envelope.error.violations[0].message.contains("already exists"));
    }
    Ok(())
}

#[tokio::test]
async fn an_import_reports_unmapped_settings_and_refuses_foreign_templates_and_accepts_utf16() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let cookie = app.sign_in_as_admin().await?;
    let report: shared::policy::ImportReport =
        json_body(import(&app, &cookie, sample("unknown_setting.json")?).await?, StatusCode::CREATED).await?;
    assert!(!report.unmapped.is_empty(), "every setting that could not be mapped is reported");
    assert!(report.unmapped.iter().all(|u| !u.reason.is_empty() && u.path.starts_with("settings[")));

    let envelope =
        error(import(&app, &cookie, sample("unknown_template.json")?).await?, StatusCode::BAD_REQUEST).await?;
    assert!(envelope.error.violations[0].message.contains("template"), "{envelope:?}");

    // UTF-16 LE with a byte-order mark, as Windows tools write it.
    let text = String::from_utf8(sample("antivirus.json")?)?.replace("\"name\": \"", "\"name\": \"UTF-16 ");
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let report: shared::policy::ImportReport =
        json_body(import(&app, &cookie, utf16).await?, StatusCode::CREATED).await?;
    assert!(report.policy.draft.name.starts_with("UTF-16 "), "{}", report.policy.draft.name);
    Ok(())
}
