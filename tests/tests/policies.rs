//! End to end: an admin creates an Antivirus policy through the wizard (correcting a validation error on the way)
//! and assigns it with an exclusion group, creates a Firewall policy with two rules, and finds both in their lists
//! with their assignments; then edits one and reads the difference in its history.

mod support;

use fantoccini::Locator;
use fantoccini::key::Key;
use support::Harness;

const CPU: &str = "device_vendor_msft_policy_config_defender_avgcpuloadfactor";
const REALTIME: &str = "device_vendor_msft_policy_config_defender_allowrealtimemonitoring";

async fn create_static_group(app: &Harness, name: &str) -> anyhow::Result<()> {
    app.open("/groups").await?;
    app.wait_for(Locator::Css("[data-testid=groups-table]")).await?;
    app.click_button("New group").await?;
    app.wait_for(Locator::Css("#group-name")).await?.send_keys(name).await?;
    app.click_button("Create").await?;
    app.wait_for_text("h1", |text| text == name).await?;
    Ok(())
}

#[tokio::test]
async fn an_admin_creates_assigns_and_edits_antivirus_and_firewall_policies() -> anyhow::Result<()> {
    let app = Harness::start().await?;
    app.onboard_devices(20, 7).await?;
    app.sign_in().await?;
    create_static_group(&app, "Kiosks").await?;

    // Antivirus: Endpoint security → Antivirus → Create policy.
    app.open("/endpoint-security/antivirus").await?;
    app.wait_for(Locator::XPath("//a[normalize-space()='Create policy']")).await?.click().await?;
    app.wait_for_text("h1", |text| text == "Create policy").await?;
    let profile = app.wait_for(Locator::Css("#profile")).await?;
    assert_eq!(profile.prop("value").await?.as_deref(), Some("microsoft_defender_antivirus"));
    app.screenshot("policy-wizard-profile").await?;
    app.click_button("Next").await?;
    app.wait_for(Locator::Css("#policy-name")).await?.send_keys("Workstations AV").await?;
    app.click_button("Next").await?;

    // Configuration settings: each with its help text (an asset of the build, loaded once), searchable by it too.
    let help = app.wait_for_text(&format!("[data-setting='{REALTIME}'] .help"), |text| text.len() > 40).await?;
    assert!(help.contains("real-time protection"), "{help}");
    let search = app.wait_for(Locator::Css("input[aria-label='Search settings']")).await?;
    search.send_keys("moment they are created").await?;
    app.wait_for(Locator::Css(&format!("[data-setting='{REALTIME}']:not(.hidden)"))).await?;
    search.send_keys(&format!("{}a{}{}", Key::Control, Key::Null, Key::Backspace)).await?;
    // Search, configure, make a mistake, see it next to the field, correct it.
    search.send_keys("realtime").await?;
    let realtime = app.wait_for(Locator::Css(&format!("[data-setting='{REALTIME}'] select"))).await?;
    realtime.select_by_label("Allowed").await?;
    // Emptying the search as a user does (WebDriver's clear fires no input event).
    let search = app.browser.find(Locator::Css("input[aria-label='Search settings']")).await?;
    search.send_keys(&format!("{}a{}{}", Key::Control, Key::Null, Key::Backspace)).await?;
    let cpu = app.wait_for(Locator::Css(&format!("[data-setting='{CPU}'] input"))).await?;
    cpu.send_keys("150").await?;
    let problem = app.wait_for_text(&format!("[data-setting='{CPU}'] .field-errors"), |text| !text.is_empty()).await?;
    assert!(problem.contains("100"), "the range is named: {problem}");
    app.screenshot("policy-wizard-settings-error").await?;
    cpu.clear().await?;
    cpu.send_keys("40").await?;
    app.wait_for_text("[data-testid=configured-count]", |text| text == "2 configured").await?;
    assert!(app.browser.find_all(Locator::Css(&format!("[data-setting='{CPU}'] .field-errors"))).await?.is_empty());
    app.click_button("Next").await?;

    // Assignments: include All devices, exclude Kiosks.
    app.wait_for(Locator::Css("input[aria-label='Include All devices']")).await?.click().await?;
    app.browser.find(Locator::Css("input[aria-label='Exclude Kiosks']")).await?.click().await?;
    app.click_button("Next").await?;
    app.wait_for_text("[data-testid=review-name]", |text| text == "Workstations AV").await?;
    let settings = app.wait_for_text("[data-testid=review-settings]", |text| text.contains("40 %")).await?;
    assert!(settings.contains("Allow Realtime Monitoring"), "{settings}");
    app.screenshot("policy-wizard-review").await?;
    app.click_button("Create").await?;
    app.wait_for_url(|url| url.path() == "/endpoint-security/antivirus").await?;
    app.wait_for_text("[data-testid=policies-table] tbody", |text| text.contains("Workstations AV")).await?;
    assert_eq!(app.texts("[data-testid=included]").await?, ["All devices"]);
    assert_eq!(app.texts("[data-testid=excluded]").await?, ["Kiosks"]);

    // Firewall: two rules.
    app.open("/endpoint-security/firewall").await?;
    app.wait_for(Locator::XPath("//a[normalize-space()='Create policy']")).await?.click().await?;
    app.wait_for_text("h1", |text| text == "Create policy").await?;
    app.click_button("Next").await?;
    app.wait_for(Locator::Css("#policy-name")).await?.send_keys("Branch firewall").await?;
    app.click_button("Next").await?;
    let blocker = app.wait_for_text("[data-testid=submit-blocker]", |_| true).await?;
    assert!(blocker.is_empty(), "nothing to fix yet: {blocker}");
    for _ in 0..2 {
        app.click_button("Add rule").await?;
    }
    let rules = app.browser.find_all(Locator::Css("[data-testid=firewall-rule]")).await?;
    assert_eq!(rules.len(), 2);
    let fill = |rule: usize, label: &'static str, text: &'static str| {
        let rules = rules.clone();
        async move {
            let xpath = format!(".//label[span[normalize-space()='{label}']]/input");
            let input = rules[rule].find(Locator::XPath(&xpath)).await?;
            input.clear().await?;
            input.send_keys(text).await?;
            anyhow::Ok(())
        }
    };
    fill(0, "Name", "Allow RDP from admins").await?;
    rules[0].find(Locator::XPath(".//label[span='Protocol']/select")).await?.select_by_label("TCP").await?;
    fill(0, "Local ports", "3389").await?;
    fill(0, "Remote addresses", "10.0.0.0/24").await?;
    fill(1, "Name", "Block telnet").await?;
    rules[1].find(Locator::XPath(".//label[span='Action']/select")).await?.select_by_label("Block").await?;
    rules[1].find(Locator::XPath(".//label[span='Protocol']/select")).await?.select_by_label("TCP").await?;
    fill(1, "Local ports", "23").await?;
    app.screenshot("policy-wizard-firewall-rules").await?;
    app.click_button("Next").await?;
    app.wait_for(Locator::Css("input[aria-label='Include Kiosks']")).await?.click().await?;
    app.click_button("Next").await?;
    app.wait_for_text("[data-testid=review-settings]", |text| {
        text.contains("2 rules: Allow RDP from admins, Block telnet")
    })
    .await?;
    app.click_button("Create").await?;
    app.wait_for_url(|url| url.path() == "/endpoint-security/firewall").await?;
    app.wait_for_text("[data-testid=policies-table] tbody", |text| text.contains("Branch firewall")).await?;
    assert_eq!(app.texts("[data-testid=included]").await?, ["Kiosks"]);
    app.screenshot("policies-firewall").await?;

    // The devices check in, apply and report; an eligible device's page shows the policy succeeded, the local
    // preferences it reported, and the value each setting takes.
    app.onboard_devices(20, 7).await?;
    app.open("/devices?eligibility=eligible").await?;
    let first = app.wait_for(Locator::Css("[data-testid=devices-table] tbody a")).await?;
    app.click(&first).await?;
    let policies =
        app.wait_for_text("[data-testid=device-policies] tbody", |text| text.contains("Workstations AV")).await?;
    assert!(policies.contains("Succeeded") && policies.contains("2 of 2 succeeded"), "{policies}");
    let preferences = app.wait_for_text("[data-testid=device-preferences]", |text| !text.is_empty()).await?;
    assert!(preferences.contains("AllowRealtimeMonitoring") && preferences.contains("40 %"), "{preferences}");
    let applied = app.wait_for_text("[data-testid=applied-policies]", |text| text.contains("Workstations AV")).await?;
    assert!(!applied.contains("Branch firewall"), "the firewall policy is for Kiosks only: {applied}");
    let table = app
        .wait_for_text("[data-testid=effective-settings] tbody", |text| text.contains("Allow Realtime Monitoring"))
        .await?;
    assert!(table.contains("40 %") && table.contains("Succeeded"), "{table}");
    let section = app.browser.find(Locator::Css("[data-testid=device-policies]")).await?;
    app.browser
        .execute("arguments[0].scrollIntoView({block: 'start'});", vec![serde_json::to_value(&section)?])
        .await?;
    app.screenshot("device-status-and-effective-configuration").await?;

    // Edit the Antivirus policy and compare versions.
    app.open("/endpoint-security/antivirus").await?;
    app.wait_for(Locator::XPath("//a[normalize-space()='Workstations AV']")).await?.click().await?;
    app.wait_for_text("h1", |text| text == "Workstations AV").await?;
    app.screenshot("policy-overview").await?;
    app.browser.find(Locator::XPath("//a[normalize-space()='Edit']")).await?.click().await?;
    app.wait_for(Locator::Css("#policy-name")).await?;
    app.click_button("Next").await?;
    let cpu = app.wait_for(Locator::Css(&format!("[data-setting='{CPU}'] input"))).await?;
    cpu.clear().await?;
    cpu.send_keys("25").await?;
    app.click_button("Next").await?;
    app.click_button("Next").await?;
    app.click_button("Save").await?;
    app.wait_for_text("p.muted", |text| text.contains("version 2")).await?;
    app.browser.find(Locator::XPath("//a[normalize-space()='History']")).await?.click().await?;
    let diff = app.wait_for_text("[data-testid=diff-table] tbody", |text| text.contains("Avg CPU Load Factor")).await?;
    assert!(diff.contains("40 %") && diff.contains("25 %"), "{diff}");
    app.screenshot("policy-history").await?;

    // Import an exported policy file through the UI; it joins the list, with the report of what was mapped.
    app.open("/endpoint-security/antivirus").await?;
    app.wait_for(Locator::Css("[data-testid=policies-table]")).await?;
    let sample = format!("{}/../shared/tests/samples/antivirus.json", env!("CARGO_MANIFEST_DIR"));
    let sample = std::fs::canonicalize(sample)?;
    app.browser.find(Locator::Css("[data-testid=import-files]")).await?.send_keys(&sample.to_string_lossy()).await?;
    let report = app.wait_for_text("[data-testid=import-report]", |text| text.contains("→")).await?;
    assert!(report.contains("antivirus.json → \"Workstations - Antivirus baseline\""), "{report}");
    app.wait_for_text("[data-testid=policies-table] tbody", |text| text.contains("Workstations - Antivirus baseline"))
        .await?;
    assert_eq!(app.browser.find_all(Locator::Css("[data-testid=policies-table] tbody tr")).await?.len(), 2);
    app.screenshot("policies-antivirus-after-import").await?;

    let errors = app.console_errors().await?;
    assert!(errors.is_empty(), "the browser logged errors: {errors:?}");
    Ok(())
}
