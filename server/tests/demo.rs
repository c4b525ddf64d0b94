//! The demo tenant: switched on, with example groups and policies that pass the same validation as the API's.

use server::store::{SqliteStore, Store};

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
    assert_eq!(policies, ["Baseline firewall", "Server antivirus", "Workstation antivirus baseline"]);
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
