//! The demo tenant: switched on, with example groups and policies that pass the same validation as the API's.

use server::store::{GroupStore, PolicyStore, SqliteStore, TenantStore};

#[tokio::test]
async fn the_demo_turns_the_tenant_on_and_seeds_valid_groups_and_policies_once() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open(dir.path()).await?;
    server::demo::prepare(&store, "admin", true).await?;
    server::demo::prepare(&store, "admin", true).await?;
    assert!(store.tenant().await?.switches.both_on());
    let groups: Vec<String> = store.list_groups().await?.into_iter().map(|g| g.name).collect();
    assert_eq!(groups, ["MDE workstations", "Pilot ring", "Servers"]);
    let policies: Vec<String> = store.list_policies().await?.into_iter().map(|p| p.draft.name).collect();
    assert_eq!(
        policies,
        [
            "Baseline firewall",
            "Server antivirus",
            "Server firewall",
            "Strict cloud protection",
            "Workstation antivirus baseline"
        ]
    );
    Ok(())
}

#[tokio::test]
async fn the_demo_without_sample_content_leaves_the_tenant_empty() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open(dir.path()).await?;
    server::demo::prepare(&store, "admin", false).await?;
    assert!(store.tenant().await?.switches.both_on());
    assert!(store.list_groups().await?.is_empty() && store.list_policies().await?.is_empty());
    Ok(())
}

/// What a device of the demo reports, resolved and "applied" with the shared code the agent uses.
async fn demo_report(hostname: &str, os: &str, edition: &str) -> anyhow::Result<shared::report::DeviceReport> {
    use shared::groups::{GroupDefinition, Membership, Rule, is_member};
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open(dir.path()).await?;
    server::demo::prepare(&store, "admin", true).await?;
    let groups = store
        .list_groups()
        .await?
        .into_iter()
        .map(|g| {
            let membership = match &g.rule {
                Some(rule) => Membership::Dynamic(Rule::parse(rule, "rule").expect("demo rules parse")),
                None => Membership::Static(g.members.clone()),
            };
            (g.id, GroupDefinition { membership, children: g.children })
        })
        .collect();
    let facts: shared::device::DeviceFacts = serde_json::from_value(serde_json::json!({
        "hostname": hostname, "os": os, "edition": edition, "os_build": "10.0.17763.6414",
        "required_update_installed": true, "downlevel_agent_installed": true, "join_type": "domain_joined",
        "directory_device_id": null, "managed_by": "mde"
    }))?;
    let policies = store.list_policies().await?;
    let applicable =
        shared::conflict::applicable_policies(&policies, |group| is_member(group, &groups, "device", &facts));
    Ok(shared::report::device_report("hash", &applicable, facts.os))
}

#[tokio::test]
async fn the_demo_policies_overlap_into_conflicts_merges_and_errors() -> anyhow::Result<()> {
    use shared::report::{PolicyState, SettingState};
    let server = demo_report("SRV-0001", "windows_server_2019", "datacenter").await?;
    let states: Vec<PolicyState> = server.policies.iter().map(|p| p.state()).collect();
    assert_eq!(server.policies.len(), 4, "baseline firewall, server antivirus and firewall, strict cloud protection");
    assert!(states.contains(&PolicyState::Conflict) && states.contains(&PolicyState::Error), "{states:?}");
    let refused = server.policies.iter().flat_map(|p| &p.settings).find(|s| s.state == SettingState::Error);
    assert!(refused.is_some_and(|s| s.detail.contains("Allow Network Protection Down Level")), "{refused:?}");
    assert_eq!(server.preferences.get("CloudBlockLevel").map(String::as_str), Some("Zero tolerance"));

    let laptop = demo_report("LAP-0001", "windows_11", "enterprise").await?;
    assert_eq!(laptop.policies.len(), 3, "workstation baseline, strict cloud protection, baseline firewall");
    let paths = laptop.preferences.get("ExcludedPaths").cloned().unwrap_or_default();
    let mut merged: Vec<&str> = paths.split("; ").collect();
    merged.sort_unstable();
    assert_eq!(merged, [r"%ProgramFiles%\Contoso\Cache", r"D:\Builds"], "exclusions merge (in policy id order)");
    let realtime =
        laptop.policies.iter().flat_map(|p| &p.settings).filter(|s| s.setting_id.ends_with("allowrealtimemonitoring"));
    assert!(realtime.clone().count() == 2 && realtime.into_iter().all(|s| s.state == SettingState::Succeeded));
    Ok(())
}
