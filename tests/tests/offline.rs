//! End to end, offline: after one visit (the Devices list only), the server stops; the admin center still opens
//! (app-shell service worker), says it is offline and since when its data is, and the wizard's conflict preview
//! still works from the snapshot it kept in IndexedDB — computed in the browser with no server at all. Signing out, or
//! a session ended elsewhere, deletes those copies.

mod support;

use std::time::Instant;

use fantoccini::Locator;
use serde_json::json;
use shared::api::DevicePage;
use shared::policy::Policy;
use support::{CLOUD, DEADLINE, Harness};

/// Waits until the admin center has kept the snapshot in IndexedDB.
async fn snapshot_kept(app: &Harness) -> anyhow::Result<()> {
    const KEPT: &str = r#"
        const done = arguments[arguments.length - 1];
        (async () => {
            if (!(await indexedDB.databases()).some((d) => d.name === 'rampart')) return false;
            const db = await new Promise((ok, fail) => { const r = indexedDB.open('rampart'); r.onsuccess = () => ok(r.result); r.onerror = fail; });
            // This connection is closed before answering, so that it never holds up the admin center's deletion.
            if (!db.objectStoreNames.contains('reads')) { db.close(); return false; }
            const r = db.transaction('reads').objectStore('reads').get('/api/v1/snapshot');
            const kept = await new Promise((ok) => { r.onsuccess = () => ok(typeof r.result === 'string'); r.onerror = () => ok(false); });
            db.close();
            return kept;
        })().then(done, () => done(false));
    "#;
    let started = Instant::now();
    while app.browser.execute_async(KEPT, vec![]).await? != json!(true) {
        anyhow::ensure!(started.elapsed() < DEADLINE, "the snapshot was never kept in IndexedDB");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Ok(())
}

/// Whether the browser still holds anything the admin center kept: the IndexedDB database or its local storage entry.
async fn copies_left(app: &Harness) -> anyhow::Result<serde_json::Value> {
    const LEFT: &str = r#"
        const done = arguments[arguments.length - 1];
        indexedDB.databases().then(
            (dbs) => done({ database: dbs.some((d) => d.name === 'rampart'), storage: localStorage.getItem('rampart:copied-at') }),
            (e) => done({ error: String(e) }));
    "#;
    Ok(app.browser.execute_async(LEFT, vec![]).await?)
}

/// Waits until the app-shell service worker controls the page.
async fn service_worker_in_control(app: &Harness) -> anyhow::Result<()> {
    let started = Instant::now();
    while app.browser.execute("return !!navigator.serviceWorker.controller;", vec![]).await? != json!(true) {
        anyhow::ensure!(started.elapsed() < DEADLINE, "the service worker never took control of the page");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Ok(())
}

#[tokio::test]
async fn with_the_server_gone_the_admin_center_opens_and_the_preview_still_works() -> anyhow::Result<()> {
    let mut app = Harness::start().await?;
    app.onboard_devices(24, 11).await?;
    let api = app.api().await?;
    let _: Policy = api
        .post(
            "/api/v1/policies",
            &json!({
                "profile": "microsoft_defender_antivirus", "name": "Baseline AV", "description": "",
                "settings": [{"id": CLOUD, "value": {"choice": "2"}}],
                "assignments": {"include": [{"group_id": "all-devices"}], "exclude": []}
            }),
        )
        .await?;
    let n = api.get::<DevicePage>("/api/v1/devices?eligibility=eligible&per_page=100").await?.total;

    // One visit online, to the Devices list only: the admin center keeps what the preview needs in the background,
    // and the service worker takes the page.
    app.sign_in().await?;
    app.open("/devices").await?;
    snapshot_kept(&app).await?;
    service_worker_in_control(&app).await?;

    app.stop_server()?;
    app.draft_strict_av_for_all_devices().await?;
    let banner = app.wait_for_text("[data-testid=offline-banner]", |text| !text.is_empty()).await?;
    assert!(
        banner.starts_with("Offline: the server cannot be reached.") && banner.contains("saving waits"),
        "{banner}"
    );
    app.wait_for_text("[data-testid=preview-reach]", |text| text.starts_with(&format!("Would apply to {n} devices")))
        .await?;
    let conflict = app
        .wait_for_text(&format!("[data-testid=preview-conflict] tr[data-setting='{CLOUD}']"), |t| !t.is_empty())
        .await?;
    assert!(conflict.contains("Baseline AV") && conflict.contains("Zero tolerance"), "{conflict}");
    app.screenshot("offline-preview").await?;
    Ok(())
}

#[tokio::test]
async fn exported_policies_loaded_from_files_are_previewed_with_no_server_at_all() -> anyhow::Result<()> {
    let mut app = Harness::start().await?;
    app.sign_in().await?;
    app.open("/conflicts").await?;
    app.wait_for(Locator::Css("[data-testid=files-preview]")).await?;
    service_worker_in_control(&app).await?;
    app.stop_server()?;

    // Two exports of the same baseline, one with a stricter cloud level.
    let sample =
        std::fs::read_to_string(format!("{}/../shared/tests/samples/antivirus.json", env!("CARGO_MANIFEST_DIR")))?;
    let stricter = sample
        .replace("cloudblocklevel_4", "cloudblocklevel_6")
        .replace("Workstations - Antivirus baseline", "Workstations - stricter");
    let dir = tempfile::tempdir()?;
    let (first, second) = (dir.path().join("baseline.json"), dir.path().join("stricter.json"));
    std::fs::write(&first, &sample)?;
    std::fs::write(&second, &stricter)?;

    app.open("/conflicts").await?;
    app.wait_for_text("[data-testid=offline-banner]", |text| !text.is_empty()).await?;
    let input = app.wait_for(Locator::Css("[data-testid=preview-files]")).await?;
    input.send_keys(&format!("{}\n{}", first.display(), second.display())).await?;
    let report = app.wait_for_text("[data-testid=preview-files-report]", |text| text.contains("stricter.json")).await?;
    assert!(report.contains("baseline.json → \"Workstations - Antivirus baseline\""), "{report}");
    let cloud = app
        .wait_for_text(
            "[data-testid=files-preview] tr[data-setting='device_vendor_msft_policy_config_defender_cloudblocklevel']",
            |t| !t.is_empty(),
        )
        .await?;
    assert!(cloud.contains("Workstations - stricter") && cloud.contains("Zero tolerance"), "{cloud}");
    let rows = app
        .browser
        .find_all(Locator::Css("[data-testid=files-preview] [data-testid=conflicts-table] tbody tr"))
        .await?;
    assert_eq!(rows.len(), 1, "only the cloud level differs");
    let links =
        app.browser.find_all(Locator::Css("[data-testid=files-preview] [data-testid=conflicts-table] a")).await?;
    assert!(links.is_empty(), "policies and devices from files are not pages of this tenant: no links");
    app.screenshot("offline-files-preview").await?;
    Ok(())
}

#[tokio::test]
async fn signing_out_or_a_session_ended_elsewhere_deletes_the_copies_kept_in_the_browser() -> anyhow::Result<()> {
    let app = Harness::start().await?;
    app.onboard_devices(6, 5).await?;

    // Signing out deletes the IndexedDB database and the local storage entry before the sign-in page shows.
    app.sign_in().await?;
    app.open("/devices").await?;
    snapshot_kept(&app).await?;
    assert_eq!(copies_left(&app).await?["database"], json!(true));
    app.click_button("Sign out").await?;
    app.wait_for_url(|url| url.path() == "/login").await?;
    app.wait_for(Locator::Css("#username")).await?;
    assert_eq!(copies_left(&app).await?, json!({"database": false, "storage": null}));

    // A session that ends elsewhere (here: its cookie gone): the next answer is a 401, and the copies go the same way;
    // the admin comes back to the page after signing in again.
    app.sign_in().await?;
    app.open("/devices").await?;
    snapshot_kept(&app).await?;
    app.browser.delete_all_cookies().await?;
    app.click(&app.browser.find(Locator::Css("nav.sidenav a[href='/groups']")).await?).await?;
    let url = app.wait_for_url(|url| url.path() == "/login").await?;
    assert_eq!(url.query(), Some("next=%2Fgroups"));
    app.wait_for(Locator::Css("#username")).await?;
    assert_eq!(copies_left(&app).await?, json!({"database": false, "storage": null}));
    app.screenshot("signed-out-after-401").await?;
    Ok(())
}
