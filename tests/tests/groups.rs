//! End to end: an admin builds groups in the admin center: a static group filled from the Devices page selection, a
//! dynamic group whose rule is checked and counted live as it is typed, and one nested in the other.

mod support;

use fantoccini::Locator;
use support::Harness;

#[tokio::test]
async fn an_admin_builds_static_dynamic_and_nested_groups() -> anyhow::Result<()> {
    let app = Harness::start().await?;
    app.onboard_devices(30, 5).await?;
    app.sign_in().await?;

    // A static group, created from the Groups page.
    app.open("/groups").await?;
    app.wait_for(Locator::Css("[data-testid=groups-table]")).await?;
    app.browser.find(Locator::XPath("//button[normalize-space()='New group']")).await?.click().await?;
    let blocker = app.wait_for_text("[data-testid=create-blocker]", |text| !text.is_empty()).await?;
    assert_eq!(blocker, "The name must not be empty.", "the Create button says why it is disabled");
    app.browser.find(Locator::Css("#group-name")).await?.send_keys("Pilot ring").await?;
    app.wait_for_text("[data-testid=create-blocker]", str::is_empty).await?;
    app.browser.find(Locator::XPath("//button[normalize-space()='Create']")).await?.click().await?;
    app.wait_for_text("h1", |text| text == "Pilot ring").await?;
    let pilot_url = app.browser.current_url().await?;

    // Three MDE devices selected on the Devices page go into it.
    app.open("/devices?managed_by=mde&per_page=25").await?;
    app.wait_for(Locator::Css("[data-testid=devices-table] tbody tr")).await?;
    let boxes = app.browser.find_all(Locator::Css("[data-testid=devices-table] tbody input[type=checkbox]")).await?;
    for checkbox in boxes.iter().take(3) {
        checkbox.click().await?;
    }
    app.wait_for_text("[data-testid=selected-count]", |text| text == "3 selected").await?;
    app.browser.find(Locator::Css("select[aria-label='Static group']")).await?.select_by_label("Pilot ring").await?;
    app.screenshot("devices-bulk-add-to-group").await?;
    app.browser.find(Locator::XPath("//div[@class='bulkbar']//button[normalize-space()='Add']")).await?.click().await?;
    app.wait_for_text("[role=status]", |text| text == "Added 3 devices to Pilot ring.").await?;
    app.browser.goto(pilot_url.as_str()).await?;
    app.wait_for_text("h1", |text| text == "Pilot ring").await?;
    let rows = app.texts("[data-testid=group-members-table] tbody tr").await?;
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(rows.iter().all(|row| row.contains("MDE") && row.contains("Direct")), "{rows:?}");

    // A dynamic group: a broken rule is explained where it is typed, a good one is counted.
    app.open("/groups").await?;
    app.wait_for(Locator::Css("[data-testid=groups-table]")).await?;
    app.browser.find(Locator::XPath("//button[normalize-space()='New group']")).await?.click().await?;
    app.wait_for(Locator::Css("#group-name")).await?.send_keys("Servers").await?;
    app.browser.find(Locator::Css("input[value=dynamic]")).await?.click().await?;
    let rule = app.wait_for(Locator::Css("#rule")).await?;
    rule.send_keys("name startswith SRV").await?;
    let problem = app
        .wait_for_text("[data-testid=rule-status]", |text| text.contains("expected a value in double quotes"))
        .await?;
    assert!(problem.contains("at character 17"), "{problem}");
    rule.clear().await?;
    rule.send_keys("name startswith \"SRV\"").await?;
    let count = app.wait_for_text("[data-testid=rule-status]", |text| text.starts_with("Matches ")).await?;
    app.screenshot("group-new-dynamic").await?;
    app.browser.find(Locator::XPath("//button[normalize-space()='Create']")).await?.click().await?;
    app.wait_for_text("h1", |text| text == "Servers").await?;
    let n_servers = app.texts("[data-testid=group-members-table] tbody tr").await?.len();
    assert!(count.starts_with(&format!("Matches {n_servers} devices")), "{count} vs {n_servers} members");
    assert!(app.texts("[data-testid=group-members-table] tbody td.name").await?.iter().all(|n| n.starts_with("SRV")));

    // Nest Servers into Pilot ring; then the reverse is refused with the reason.
    app.browser.goto(pilot_url.as_str()).await?;
    app.wait_for_text("h1", |text| text == "Pilot ring").await?;
    app.browser.find(Locator::Css("select[aria-label='Group to nest']")).await?.select_by_label("Servers").await?;
    app.browser.find(Locator::XPath("//button[normalize-space()='Nest']")).await?.click().await?;
    app.wait_for_text("[data-testid=nested-groups]", |text| text.contains("Servers")).await?;
    let rows = app.texts("[data-testid=group-members-table] tbody tr").await?;
    assert_eq!(
        rows.len(),
        3 + n_servers - rows.iter().filter(|r| r.contains("Direct") && r.starts_with("SRV")).count()
    );
    app.screenshot("group-detail-static-with-nested").await?;
    app.browser.find(Locator::Css("[data-testid=nested-groups] a")).await?.click().await?;
    app.wait_for_text("h1", |text| text == "Servers").await?;
    app.browser.find(Locator::Css("select[aria-label='Group to nest']")).await?.select_by_label("Pilot ring").await?;
    app.browser.find(Locator::XPath("//button[normalize-space()='Nest']")).await?.click().await?;
    let refusal = app.wait_for_text("[role=alert]", |text| text.contains("cannot go into")).await?;
    assert!(refusal.contains("\"Pilot ring\" cannot go into \"Servers\""), "{refusal}");

    // The list shows all three groups with their counts.
    app.open("/groups").await?;
    let names = app.wait_for_text("[data-testid=groups-table] tbody", |text| text.contains("Servers")).await?;
    assert!(names.contains("All devices") && names.contains("Pilot ring"), "{names}");
    app.screenshot("groups").await?;
    let errors: Vec<String> =
        app.console_errors().await?.into_iter().filter(|message| !message.contains("400 (Bad Request)")).collect();
    assert!(errors.is_empty(), "the browser logged errors: {errors:?}");
    Ok(())
}
