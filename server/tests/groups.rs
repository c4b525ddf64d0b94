//! Groups over real HTTP: static members, dynamic rules with their live preview, nesting with loops refused, and
//! the built-in *All devices*.

mod common;

use common::{TestApp, error, facts, json_body};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shared::api::{GroupDetail, GroupSummary, RulePreview};

/// A server with five devices (three laptops, two servers, one of them Intune-managed) and a signed-in admin.
async fn app_with_devices() -> anyhow::Result<(TestApp, String, Vec<String>)> {
    let app = TestApp::spawn().await?;
    let cookie = app.sign_in_as_admin().await?;
    let token = app.onboarding_token(&cookie).await?;
    let mut ids = Vec::new();
    for (hostname, os, edition, managed_by) in [
        ("LAP-001", "windows_11", "enterprise", "mde"),
        ("LAP-002", "windows_11", "pro", "mde"),
        ("LAP-003", "windows_10", "enterprise", "intune"),
        ("SRV-001", "windows_server_2022", "standard", "mde"),
        ("SRV-002", "windows_server_2019", "datacenter", "mde"),
    ] {
        let mut device = facts(hostname);
        device["os"] = os.into();
        device["edition"] = edition.into();
        device["managed_by"] = managed_by.into();
        ids.push(app.onboard_device_typed(&token, &device).await?.device_id);
    }
    Ok((app, cookie, ids))
}

async fn create(app: &TestApp, cookie: &str, body: Value) -> anyhow::Result<GroupDetail> {
    json_body(app.admin_request(Method::POST, "/api/v1/groups", cookie).json(&body).send().await?, StatusCode::CREATED)
        .await
}

fn hostnames(detail: &GroupDetail) -> Vec<&str> {
    detail.members.iter().map(|m| m.hostname.as_str()).collect()
}

#[tokio::test]
async fn the_group_list_starts_with_all_devices_holding_every_device() -> anyhow::Result<()> {
    let (app, cookie, _) = app_with_devices().await?;
    let groups: Vec<GroupSummary> = app.admin_get(&cookie, "/api/v1/groups").await?;
    assert_eq!(groups.len(), 1);
    assert!(groups[0].built_in);
    assert_eq!((groups[0].name.as_str(), groups[0].n_members), ("All devices", 5));
    let detail: GroupDetail = app.admin_get(&cookie, "/api/v1/groups/all-devices").await?;
    assert_eq!(detail.members.len(), 5);
    let response = app.admin_request(Method::DELETE, "/api/v1/groups/all-devices", &cookie).send().await?;
    error(response, StatusCode::BAD_REQUEST).await?;
    Ok(())
}

#[tokio::test]
async fn a_static_group_holds_exactly_the_devices_added_and_not_removed() -> anyhow::Result<()> {
    let (app, cookie, ids) = app_with_devices().await?;
    let group = create(&app, &cookie, json!({"name": "Pilot", "kind": "static"})).await?;
    let path = format!("/api/v1/groups/{}/members", group.summary.id);
    let added: GroupDetail = json_body(
        app.admin_request(Method::POST, &path, &cookie).json(&json!({"device_ids": [ids[0], ids[3]]})).send().await?,
        StatusCode::OK,
    )
    .await?;
    assert_eq!(hostnames(&added), ["LAP-001", "SRV-001"]);
    let removed: GroupDetail = json_body(
        app.admin_request(Method::POST, &format!("{path}/remove"), &cookie)
            .json(&json!({"device_ids": [ids[0]]}))
            .send()
            .await?,
        StatusCode::OK,
    )
    .await?;
    assert_eq!(hostnames(&removed), ["SRV-001"]);
    Ok(())
}

#[tokio::test]
async fn adding_an_unknown_device_adds_nothing_and_names_the_bad_id() -> anyhow::Result<()> {
    let (app, cookie, ids) = app_with_devices().await?;
    let group = create(&app, &cookie, json!({"name": "Pilot", "kind": "static"})).await?;
    let path = format!("/api/v1/groups/{}/members", group.summary.id);
    let response =
        app.admin_request(Method::POST, &path, &cookie).json(&json!({"device_ids": [ids[0], "nope"]})).send().await?;
    let envelope = error(response, StatusCode::BAD_REQUEST).await?;
    assert_eq!(envelope.error.violations[0].path, "device_ids[1]");
    let detail: GroupDetail = app.admin_get(&cookie, &format!("/api/v1/groups/{}", group.summary.id)).await?;
    assert!(detail.members.is_empty(), "nothing was half-written");
    Ok(())
}

#[tokio::test]
async fn a_dynamic_group_holds_the_devices_its_rule_matches_and_follows_a_new_rule() -> anyhow::Result<()> {
    let (app, cookie, _) = app_with_devices().await?;
    let group = create(
        &app,
        &cookie,
        json!({"name": "MDE laptops", "kind": "dynamic", "rule": "managed_by == \"mde\" and name startswith \"lap\""}),
    )
    .await?;
    assert_eq!(hostnames(&group), ["LAP-001", "LAP-002"]);
    assert!(group.members.iter().all(|m| m.direct));
    let path = format!("/api/v1/groups/{}", group.summary.id);
    let changed: GroupDetail = json_body(
        app.admin_request(Method::PATCH, &path, &cookie).json(&json!({"rule": "os != \"windows_11\""})).send().await?,
        StatusCode::OK,
    )
    .await?;
    assert_eq!(hostnames(&changed), ["LAP-003", "SRV-001", "SRV-002"]);
    Ok(())
}

#[tokio::test]
async fn the_rule_preview_counts_matching_devices_and_explains_a_bad_rule() -> anyhow::Result<()> {
    let (app, cookie, _) = app_with_devices().await?;
    let preview: RulePreview = json_body(
        app.admin_request(Method::POST, "/api/v1/groups/preview", &cookie)
            .json(&json!({"rule": "os in (\"windows_server_2019\", \"windows_server_2022\")"}))
            .send()
            .await?,
        StatusCode::OK,
    )
    .await?;
    assert_eq!(preview.n_matching, 2);
    assert_eq!(preview.sample, ["SRV-001", "SRV-002"]);
    let response = app
        .admin_request(Method::POST, "/api/v1/groups/preview", &cookie)
        .json(&json!({"rule": "os == windows_11"}))
        .send()
        .await?;
    let envelope = error(response, StatusCode::BAD_REQUEST).await?;
    assert_eq!(envelope.error.violations[0].path, "rule");
    assert!(envelope.error.violations[0].message.contains("at character 7"), "{envelope:?}");
    Ok(())
}

#[tokio::test]
async fn creating_a_group_with_bad_input_names_every_problem_and_creates_nothing() -> anyhow::Result<()> {
    let (app, cookie, _) = app_with_devices().await?;
    let response = app
        .admin_request(Method::POST, "/api/v1/groups", &cookie)
        .json(&json!({"name": "", "kind": "dynamic", "rule": "colour == \"red\""}))
        .send()
        .await?;
    let envelope = error(response, StatusCode::BAD_REQUEST).await?;
    let paths: Vec<&str> = envelope.error.violations.iter().map(|v| v.path.as_str()).collect();
    assert_eq!(paths, ["name", "rule"]);
    create(&app, &cookie, json!({"name": "Pilot", "kind": "static"})).await?;
    let response = app
        .admin_request(Method::POST, "/api/v1/groups", &cookie)
        .json(&json!({"name": "PILOT", "kind": "static"}))
        .send()
        .await?;
    let envelope = error(response, StatusCode::BAD_REQUEST).await?;
    assert!(envelope.error.violations[0].message.contains("already exists"));
    let groups: Vec<GroupSummary> = app.admin_get(&cookie, "/api/v1/groups").await?;
    assert_eq!(groups.len(), 2, "All devices and Pilot only");
    Ok(())
}

#[tokio::test]
async fn nested_groups_lend_their_members_and_a_loop_is_refused_with_its_chain() -> anyhow::Result<()> {
    let (app, cookie, ids) = app_with_devices().await?;
    let servers =
        create(&app, &cookie, json!({"name": "Servers", "kind": "dynamic", "rule": "name startswith \"SRV\""})).await?;
    let pilot = create(&app, &cookie, json!({"name": "Pilot", "kind": "static"})).await?;
    let all_pilot = create(&app, &cookie, json!({"name": "Pilot and servers", "kind": "static"})).await?;
    app.admin_request(Method::POST, &format!("/api/v1/groups/{}/members", pilot.summary.id), &cookie)
        .json(&json!({"device_ids": [ids[1]]}))
        .send()
        .await?;
    for child in [&servers, &pilot] {
        let response = app
            .admin_request(Method::POST, &format!("/api/v1/groups/{}/nested", all_pilot.summary.id), &cookie)
            .json(&json!({"group_id": child.summary.id}))
            .send()
            .await?;
        json_body::<GroupDetail>(response, StatusCode::OK).await?;
    }
    let detail: GroupDetail = app.admin_get(&cookie, &format!("/api/v1/groups/{}", all_pilot.summary.id)).await?;
    assert_eq!(hostnames(&detail), ["LAP-002", "SRV-001", "SRV-002"]);
    assert!(detail.members.iter().all(|m| !m.direct), "all come through nested groups");
    assert_eq!(detail.nested.len(), 2);

    // Servers is in "Pilot and servers"; putting "Pilot and servers" into Servers would loop.
    let response = app
        .admin_request(Method::POST, &format!("/api/v1/groups/{}/nested", servers.summary.id), &cookie)
        .json(&json!({"group_id": all_pilot.summary.id}))
        .send()
        .await?;
    let envelope = error(response, StatusCode::BAD_REQUEST).await?;
    assert_eq!(envelope.error.violations[0].path, "group_id");
    assert_eq!(
        envelope.error.violations[0].message,
        "\"Pilot and servers\" cannot go into \"Servers\": it already contains it (Pilot and servers contains Servers)"
    );
    let servers_now: GroupDetail = app.admin_get(&cookie, &format!("/api/v1/groups/{}", servers.summary.id)).await?;
    assert!(servers_now.nested.is_empty(), "nothing changed");
    assert_eq!(servers_now.nested_in.len(), 1);
    Ok(())
}

#[tokio::test]
async fn members_of_a_dynamic_group_cannot_be_added_by_hand() -> anyhow::Result<()> {
    let (app, cookie, ids) = app_with_devices().await?;
    let group =
        create(&app, &cookie, json!({"name": "Servers", "kind": "dynamic", "rule": "name startswith \"SRV\""})).await?;
    let response = app
        .admin_request(Method::POST, &format!("/api/v1/groups/{}/members", group.summary.id), &cookie)
        .json(&json!({"device_ids": [ids[0]]}))
        .send()
        .await?;
    error(response, StatusCode::BAD_REQUEST).await?;
    Ok(())
}
