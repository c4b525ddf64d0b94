//! End to end: devices onboard with the real agent, an admin signs in through the real form, and the Devices page
//! shows them, sorted by "Managed by" as the seed's admin would do to find the MDE-managed ones.

mod support;

use fantoccini::Locator;
use support::Harness;

/// Rank of a "Managed by" label in ascending order (the order of the codes: co_managed, configmgr, intune, mde).
fn managed_by_rank(label: &str) -> usize {
    ["Co-managed", "ConfigMgr", "Intune", "MDE"].iter().position(|l| *l == label).unwrap_or(usize::MAX)
}

#[tokio::test]
async fn an_admin_signs_in_and_finds_the_onboarded_devices_sorted_by_managed_by() -> anyhow::Result<()> {
    let app = Harness::start().await?;
    app.onboard_devices(40, 3).await?;

    // Without a session the admin center sends the admin to sign in, and back afterwards.
    app.open("/devices?sort=managed_by").await?;
    app.wait_for_url(|url| url.path() == "/login").await?;
    app.screenshot("login").await?;
    app.sign_in().await?;
    app.wait_for_url(|url| url.path() == "/devices").await?;
    app.wait_for_text("[data-testid=device-count]", |text| text.ends_with("of 40 devices")).await?;

    // Sort by Managed by: every MDE device is grouped at the end, ascending, and the column says so.
    app.open("/devices").await?;
    app.wait_for_text("[data-testid=device-count]", |text| text == "1–40 of 40 devices").await?;
    app.browser.find(Locator::Css("[data-testid=sort-managed_by]")).await?.click().await?;
    app.wait_for_url(|url| url.query() == Some("sort=managed_by")).await?;
    app.wait_for(Locator::Css("th[aria-sort=ascending] [data-testid=sort-managed_by]")).await?;
    let managed_by = app.texts("[data-testid=managed-by]").await?;
    assert_eq!(managed_by.len(), 40);
    let ranks: Vec<usize> = managed_by.iter().map(|label| managed_by_rank(label)).collect();
    assert!(ranks.windows(2).all(|pair| pair[0] <= pair[1]), "not sorted by Managed by: {managed_by:?}");
    for label in ["Co-managed", "ConfigMgr", "Intune", "MDE"] {
        assert!(managed_by.iter().any(|l| l == label), "{label} missing from {managed_by:?}");
    }
    let n_mde = managed_by.iter().filter(|l| *l == "MDE").count();
    app.screenshot("devices-sorted-by-managed-by").await?;

    // The sort lives in the URL: a reload shows the same order; a second click flips it.
    app.browser.refresh().await?;
    app.wait_for(Locator::Css("th[aria-sort=ascending] [data-testid=sort-managed_by]")).await?;
    assert_eq!(app.texts("[data-testid=managed-by]").await?, managed_by);
    app.browser.find(Locator::Css("[data-testid=sort-managed_by]")).await?.click().await?;
    app.wait_for(Locator::Css("th[aria-sort=descending] [data-testid=sort-managed_by]")).await?;
    assert_eq!(app.texts("[data-testid=managed-by]").await?.first().map(String::as_str), Some("MDE"));

    // Filtering to MDE leaves exactly the MDE rows.
    app.open("/devices?managed_by=mde").await?;
    app.wait_for_text("[data-testid=device-count]", |text| text == format!("1–{n_mde} of {n_mde} devices")).await?;
    assert!(app.texts("[data-testid=managed-by]").await?.iter().all(|l| l == "MDE"));

    // A device's detail page shows its facts.
    let first = app.wait_for(Locator::Css("[data-testid=devices-table] tbody a")).await?;
    let hostname = first.text().await?;
    first.click().await?;
    app.wait_for_text("h1", |text| text == hostname).await?;
    let facts = app.wait_for_text("dl.facts", |text| text.contains("Directory device id")).await?;
    assert!(facts.contains("Managed by\nMDE"), "{facts}");
    app.screenshot("device-detail").await?;

    // Links change pages in place (no reload: what the page set on `window` stays), the navigation marks where the
    // admin is, and the browser's back and forward buttons follow.
    app.browser.execute("window.rampartStayed = true;", vec![]).await?;
    app.click(&app.browser.find(Locator::Css("nav.sidenav a[href='/groups']")).await?).await?;
    app.wait_for_url(|url| url.path() == "/groups").await?;
    app.wait_for(Locator::Css("nav.sidenav a[href='/groups'][aria-current=page]")).await?;
    assert!(app.browser.find_all(Locator::Css("nav.sidenav a[href='/devices'][aria-current]")).await?.is_empty());
    app.browser.back().await?;
    app.wait_for_text("h1", |text| text == hostname).await?;
    app.wait_for(Locator::Css("nav.sidenav a[href='/devices'][aria-current=page]")).await?;
    app.browser.forward().await?;
    app.wait_for_url(|url| url.path() == "/groups").await?;
    let stayed = app.browser.execute("return window.rampartStayed === true;", vec![]).await?;
    assert_eq!(stayed, serde_json::Value::Bool(true), "a link reloaded the page");

    // The one expected failure is the session probe before signing in.
    let errors: Vec<String> = app
        .console_errors()
        .await?
        .into_iter()
        .filter(|message| !(message.contains("/api/v1/auth/me") && message.contains("401")))
        .collect();
    assert!(errors.is_empty(), "the browser logged errors: {errors:?}");
    Ok(())
}

#[tokio::test]
async fn tenant_administration_shows_the_switches_the_token_and_a_met_checklist() -> anyhow::Result<()> {
    let app = Harness::start().await?;
    app.onboard_devices(5, 9).await?;
    app.sign_in().await?;
    app.open("/tenant").await?;
    app.wait_for_text("[data-testid=prerequisite-devices_reporting]", |text| text.contains("5 of 5")).await?;
    let checklist = app.texts("[data-testid=prerequisites] li .mark").await?;
    assert_eq!(checklist, vec!["✓"; 6], "the demo tenant meets every prerequisite");
    assert_eq!(app.browser.find_all(Locator::Css("input[role=switch]:checked")).await?.len(), 2);
    let token = app.browser.find(Locator::Css("[data-testid=onboarding-token]")).await?.text().await?;
    assert!(token.contains('•'), "the token is masked until shown: {token}");
    app.screenshot("tenant-administration").await?;

    // Turning a switch off makes supported devices not applicable, with the reason.
    app.browser.find(Locator::Css("label.switch")).await?.click().await?;
    app.wait_for_text("[data-testid=prerequisite-switch_security_settings_management]", |text| text.contains("Off."))
        .await?;
    app.open("/devices?eligibility=eligible").await?;
    app.wait_for_text("[data-testid=device-count]", |text| text == "0–0 of 0 devices").await?;
    Ok(())
}
