//! End to end: devices onboard with the real agent, an admin signs in through the real form, and the Devices page
//! shows them, sorted by "Managed by" as the seed's admin would do to find the MDE-managed ones.

mod support;

use fantoccini::Locator;
use shared::api::{OnboardResponse, OnboardingPackage};
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
async fn tenant_administration_creates_and_revokes_onboarding_tokens_and_a_device_is_deleted() -> anyhow::Result<()> {
    let app = Harness::start().await?;
    app.onboard_devices(5, 9).await?;
    app.sign_in().await?;
    app.open("/tenant").await?;
    app.wait_for_text("[data-testid=prerequisite-devices_reporting]", |text| text.contains("5 of 5")).await?;
    let checklist = app.texts("[data-testid=prerequisites] li .mark").await?;
    assert_eq!(checklist, vec!["✓"; 6], "the demo tenant meets every prerequisite");
    assert_eq!(app.browser.find_all(Locator::Css("input[role=switch]:checked")).await?.len(), 2);
    // The demo's token (the one the agent onboarded with) is listed, never shown.
    let listed = app.wait_for_text("[data-testid=tokens-table] tbody", |text| text.contains("Active")).await?;
    assert!(listed.contains("5 / no limit"), "{listed}");

    // A new token: the form checks as the admin types, with the server's own rules.
    app.wait_for(Locator::Css("#token-name")).await?.send_keys("Branch office").await?;
    let days = app.browser.find(Locator::Css("#token-days")).await?;
    assert_eq!(days.prop("value").await?.as_deref(), Some("30"), "30 days preselected");
    days.clear().await?;
    days.send_keys("400").await?;
    let problem = app.wait_for_text(".field-errors-row", |text| !text.is_empty()).await?;
    assert_eq!(problem, "Expiry must be 1 to 365 days.");
    let create = app.browser.find(Locator::XPath("//button[normalize-space()='New onboarding token']")).await?;
    assert_eq!(create.prop("disabled").await?.as_deref(), Some("true"));
    days.clear().await?;
    days.send_keys("30").await?;
    app.browser.find(Locator::Css("#token-max-uses")).await?.send_keys("1").await?;
    app.wait_for_text(".field-errors-row", str::is_empty).await?;
    app.click_button("New onboarding token").await?;

    // Shown once, with its onboarding package.
    let notice = app.wait_for_text("[data-testid=created-token]", |text| !text.is_empty()).await?;
    assert!(notice.contains("Branch office") && notice.contains("will not be shown again"), "{notice}");
    let token = app.browser.find(Locator::Css("[data-testid=new-token-value]")).await?.text().await?;
    assert!(token.len() >= 32, "{token}");
    let link = app.browser.find(Locator::Css("[data-testid=onboarding-package]")).await?;
    assert_eq!(link.attr("download").await?.as_deref(), Some("rampart-onboarding.json"));
    let href = link.attr("href").await?.unwrap_or_default();
    let json = href.strip_prefix("data:application/json;charset=utf-8,").expect("a JSON data URL");
    let package: OnboardingPackage = serde_json::from_str(
        &url::form_urlencoded::parse(format!("p={json}").as_bytes()).next().unwrap_or_default().1,
    )?;
    assert_eq!(package.onboarding_token, token);
    let row = token_row(&app, "Branch office", |_| true).await?;
    assert!(
        row.contains("0 / 1") && row.contains("Active") && !row.contains("Never") && !row.contains(&token),
        "{row}"
    );
    assert!(row.contains(&format!("…{}", &token[token.len() - 4..])), "{row}");
    app.screenshot("tenant-token-created").await?;
    app.click_button("Done").await?;
    assert!(app.browser.find_all(Locator::Css("[data-testid=created-token]")).await?.is_empty());
    let page = app.browser.find(Locator::Css("main")).await?.text().await?;
    assert!(!page.contains(&token), "the token is not shown again");

    // The package onboards a device — once: the token allows one.
    let package_path = app.data_dir.path().join("branch-office.json");
    std::fs::write(&package_path, serde_json::to_string(&package)?)?;
    app.onboard_devices_with(&package_path, 1, 77, "branch-state.json").await?;
    app.browser.refresh().await?;
    let row = token_row(&app, "Branch office", |row| row.contains("1 / 1")).await?;
    assert!(row.contains("1 / 1") && row.contains("All uses taken"), "{row}");

    // Two devices presenting the same directory registration: the second one is told on its page.
    let directory_id = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
    let second = app.create_token("Conflict test").await?;
    let mut onboarded = Vec::new();
    for hostname in ["LAP-ORIGINAL", "LAP-REIMAGED"] {
        let facts = serde_json::json!({
            "hostname": hostname, "os": "windows_11", "edition": "enterprise", "os_build": "10.0.22631.4460",
            "required_update_installed": true, "downlevel_agent_installed": false, "join_type": "hybrid_joined",
            "directory_device_id": directory_id, "managed_by": "mde"
        });
        let response = reqwest::Client::new()
            .post(format!("{}/api/v1/device/onboard", app.url))
            .json(&serde_json::json!({"onboarding_token": second, "facts": facts}))
            .send()
            .await?;
        anyhow::ensure!(response.status().is_success(), "onboarding failed: {}", response.status());
        onboarded.push(response.json::<OnboardResponse>().await?.device_id);
    }
    app.open(&format!("/devices/{}", onboarded[1])).await?;
    let warning = app.wait_for_text("[data-testid=directory-conflict]", |text| !text.is_empty()).await?;
    assert!(warning.contains(directory_id) && warning.contains("LAP-ORIGINAL"), "{warning}");
    let holder = app.browser.find(Locator::Css("[data-testid=directory-conflict] a")).await?;
    assert_eq!(holder.attr("href").await?, Some(format!("/devices/{}", onboarded[0])));
    app.screenshot("device-directory-conflict").await?;

    // Revoking asks first, then the token is Revoked.
    app.open("/tenant").await?;
    let revoke = app
        .wait_for(Locator::XPath(
            "//table[@data-testid='tokens-table']//tr[contains(., 'Conflict test')]//button[normalize-space()='Revoke…']",
        ))
        .await?;
    app.click(&revoke).await?;
    let question = app.wait_for_text("[role=alertdialog]", |text| !text.is_empty()).await?;
    assert!(question.contains("Revoke “Conflict test”?"), "{question}");
    app.screenshot("tenant-token-revoke").await?;
    app.click_button("Revoke token").await?;
    token_row(&app, "Conflict test", |row| row.contains("Revoked")).await?;
    assert!(
        app.browser
            .find_all(Locator::XPath("//tr[contains(., 'Conflict test')]//button[normalize-space()='Revoke…']"))
            .await?
            .is_empty(),
        "a revoked token has no Revoke"
    );
    app.screenshot("tenant-administration").await?;

    // Deleting a device asks what it means, then it is gone from the Devices list.
    app.open(&format!("/devices/{}", onboarded[1])).await?;
    app.wait_for_text("h1", |text| text == "LAP-REIMAGED").await?;
    app.click_button("Delete…").await?;
    let question = app.wait_for_text("[role=alertdialog]", |text| !text.is_empty()).await?;
    assert!(
        question.contains("Its credentials stop working at once") && question.contains("onboard again"),
        "{question}"
    );
    app.screenshot("device-delete-confirm").await?;
    app.click_button("Delete device").await?;
    app.wait_for_url(|url| url.path() == "/devices").await?;
    app.wait_for_text("[data-testid=device-count]", |text| text.ends_with("of 7 devices")).await?;
    let names = app.texts("[data-testid=devices-table] tbody a").await?;
    assert!(!names.iter().any(|name| name == "LAP-REIMAGED") && names.iter().any(|n| n == "LAP-ORIGINAL"), "{names:?}");

    // Turning a switch off makes supported devices not applicable, with the reason.
    app.open("/tenant").await?;
    app.wait_for(Locator::Css("label.switch")).await?.click().await?;
    app.wait_for_text("[data-testid=prerequisite-switch_security_settings_management]", |text| text.contains("Off."))
        .await?;
    app.open("/devices?eligibility=eligible").await?;
    app.wait_for_text("[data-testid=device-count]", |text| text == "0–0 of 0 devices").await?;
    Ok(())
}

/// The text of the onboarding tokens table's row for the token `name`, once it satisfies `condition` (tokens created
/// in the same second have no set order).
async fn token_row(app: &Harness, name: &str, condition: impl Fn(&str) -> bool) -> anyhow::Result<String> {
    let started = std::time::Instant::now();
    loop {
        let rows = app.texts("[data-testid=tokens-table] tbody tr").await.unwrap_or_default();
        if let Some(row) = rows.into_iter().find(|row| row.starts_with(name) && condition(row)) {
            return Ok(row);
        }
        anyhow::ensure!(started.elapsed() < support::DEADLINE, "no row of the token {name} met the condition");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Several servers (replicas of one tenant): the agent takes their URLs, and a device whose server stops answering
/// moves to the next one and checks in there. Two `rampart` processes, one after the other on one data directory,
/// stand in for two replicas: the fleet onboards through the first, the first dies, and the fleet — resumed from its
/// state file and given both URLs — reaches the second without onboarding anew.
#[tokio::test]
async fn a_device_whose_server_stops_answering_moves_to_the_next_one() -> anyhow::Result<()> {
    const USER: &str = "secadmin";
    const PASSWORD: &str = "replicas-Password-1";
    let dir = tempfile::tempdir()?;
    let (mut first, first_url) = support::start_api_server(dir.path(), USER, PASSWORD).await?;
    let package: OnboardingPackage =
        serde_json::from_slice(&std::fs::read(dir.path().join("onboarding-package.json"))?)?;
    let state = dir.path().join("fleet.json");
    let simulate = |servers: String| {
        let mut command = tokio::process::Command::new(support::binary("rampart-agent").expect("built"));
        command
            .args(["simulate", "--once", "--devices", "12", "--seed", "5", "--server", &servers, "--token"])
            .arg(&package.onboarding_token)
            .arg("--state-file")
            .arg(&state);
        command.output()
    };
    let output = simulate(first_url.clone()).await?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("12 check-ins succeeded, 0 failed"), "{stdout}");

    first.kill()?;
    let (_second, second_url) = support::start_api_server(dir.path(), USER, PASSWORD).await?;
    let output = simulate(format!("{first_url},{second_url}")).await?;
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{stderr}");
    assert!(stdout.contains("Resuming 12 devices"), "{stdout}");
    assert!(
        stdout.contains("12 check-ins succeeded, 0 failed") && stdout.contains("12 moved to another server"),
        "{stdout}"
    );
    assert!(
        stderr.contains(&format!("does not answer; checking in at {second_url}/api/v1/device/check-in")),
        "{stderr}"
    );

    // The same twelve devices, none onboarded anew.
    let api = support::Api::sign_in(&second_url, USER, PASSWORD).await?;
    let page: shared::api::DevicePage = api.get("/api/v1/devices").await?;
    assert_eq!(page.total, 12);
    Ok(())
}
