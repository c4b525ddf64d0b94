//! End to end: an Administrator invites a Read Only Operator through the Users page; that user replaces the
//! one-time password, sees no edit controls, and cannot change anything by URL; an Endpoint Security Manager cannot
//! open tenant administration; the audit log shows a policy edit in a line, and its entry's page the before and after.

mod support;

use fantoccini::Locator;
use serde_json::json;
use shared::policy::Policy;
use support::Harness;

const REALTIME: &str = "device_vendor_msft_policy_config_defender_allowrealtimemonitoring";

#[tokio::test]
async fn roles_decide_what_each_user_sees_and_the_audit_log_shows_a_policy_edit() -> anyhow::Result<()> {
    let app = Harness::start().await?;
    let api = app.api().await?;
    let policy: Policy = api
        .post(
            "/api/v1/policies",
            &json!({
                "profile": "microsoft_defender_antivirus", "name": "Baseline", "description": "",
                "settings": [{"id": REALTIME, "value": {"choice": "1"}}],
                "assignments": {"include": [{"group_id": "all-devices"}], "exclude": []}
            }),
        )
        .await?;

    // The Administrator invites a Read Only Operator through the Users page.
    app.sign_in().await?;
    app.open("/users").await?;
    app.wait_for(Locator::Css("#invite-username")).await?.send_keys("rita").await?;
    app.browser.find(Locator::Css("#invite-role")).await?.select_by_value("read_only_operator").await?;
    let invite = app.browser.find(Locator::XPath("//button[normalize-space()='Invite user']")).await?;
    app.click(&invite).await?;
    let notice = app.wait_for_text("[data-testid=one-time-password]", |text| !text.is_empty()).await?;
    let one_time = app.browser.find(Locator::Css("[data-testid=one-time-password] code")).await?.text().await?;
    assert!(notice.contains("rita can now sign in as Read Only Operator"), "{notice}");
    app.wait_for_text("[data-testid=users-table] tbody", |text| text.contains("rita") && text.contains("Invited"))
        .await?;
    app.screenshot("users-invited").await?;

    // Rita signs in with it and must choose her own password first.
    app.sign_in_as("rita", &one_time).await?;
    app.wait_for(Locator::Css("[data-testid=change-password]")).await?;
    app.screenshot("change-password").await?;
    app.browser.find(Locator::Css("#current-password")).await?.send_keys(&one_time).await?;
    app.browser.find(Locator::Css("#new-password")).await?.send_keys("rita-Password-1").await?;
    app.browser.find(Locator::Css("#repeat-password")).await?.send_keys("rita-Password-1").await?;
    let save = app.browser.find(Locator::XPath("//button[normalize-space()='Save password']")).await?;
    app.click(&save).await?;
    app.wait_for_text("[data-testid=signed-in-role]", |text| text == "Read Only Operator").await?;
    // The form gives way to the page once the new password is saved.
    app.wait_for_text("h1", |text| !text.is_empty() && text != "Choose your password").await?;

    // No edit controls anywhere she reads.
    app.open("/endpoint-security/antivirus").await?;
    app.wait_for_text("[data-testid=policies-table] tbody", |text| text.contains("Baseline")).await?;
    let head = app.browser.find(Locator::Css(".page-head")).await?.text().await?;
    assert!(!head.contains("Create policy") && !head.contains("Import"), "{head}");
    app.open(&format!("/policies/{}", policy.id)).await?;
    app.wait_for_text("h1", |text| text == "Baseline").await?;
    let actions = app.browser.find(Locator::Css(".page-head .actions")).await?.text().await?;
    assert!(!actions.contains("Edit") && !actions.contains("Delete") && actions.contains("History"), "{actions}");
    app.screenshot("read-only-policy").await?;
    app.open("/groups").await?;
    app.wait_for(Locator::Css("[data-testid=groups-table]")).await?;
    assert!(app.browser.find_all(Locator::XPath("//button[normalize-space()='New group']")).await?.is_empty());
    app.open("/tenant").await?;
    // The onboarding tokens are listed (the demo's), with no way to create or revoke one.
    let tokens = app.wait_for_text("[data-testid=tokens-table] tbody", |text| text.contains("Active")).await?;
    assert!(tokens.contains("no limit") && !tokens.contains("Revoke"), "{tokens}");
    assert!(app.browser.find_all(Locator::Css("[data-testid=new-token]")).await?.is_empty());
    app.screenshot("read-only-tenant").await?;
    for switch in app.browser.find_all(Locator::Css("input[role=switch]")).await? {
        assert!(switch.prop("disabled").await?.as_deref() == Some("true"), "switches are read-only");
    }
    // Nor by URL.
    for (path, what) in
        [("/policies/new", "create policies"), (&format!("/policies/{}/edit", policy.id), "change policies")]
    {
        app.open(path).await?;
        let notice = app.wait_for_text("[data-testid=not-allowed]", |text| !text.is_empty()).await?;
        assert!(notice.contains(&format!("Your role, Read Only Operator, does not allow you to {what}.")), "{notice}");
    }
    app.screenshot("read-only-not-allowed").await?;

    // An Endpoint Security Manager has no tenant administration.
    let created: shared::access::CreatedUser =
        api.post("/api/v1/users", &json!({"username": "esme", "role": "endpoint_security_manager"})).await?;
    app.sign_in_as("esme", &created.one_time_password).await?;
    app.browser.find(Locator::Css("#current-password")).await?.send_keys(&created.one_time_password).await?;
    app.browser.find(Locator::Css("#new-password")).await?.send_keys("esme-Password-1").await?;
    app.browser.find(Locator::Css("#repeat-password")).await?.send_keys("esme-Password-1").await?;
    let save = app.browser.find(Locator::XPath("//button[normalize-space()='Save password']")).await?;
    app.click(&save).await?;
    app.wait_for_text("[data-testid=signed-in-role]", |text| text == "Endpoint Security Manager").await?;
    app.wait_for_text("h1", |text| !text.is_empty() && text != "Choose your password").await?;
    let nav = app.browser.find(Locator::Css(".sidenav")).await?.text().await?;
    assert!(!nav.contains("Tenant administration") && nav.contains("Audit log"), "{nav}");
    app.open("/tenant").await?;
    let notice = app.wait_for_text("[data-testid=not-allowed]", |text| !text.is_empty()).await?;
    assert!(notice.contains("Endpoint Security Manager, does not allow you to open tenant administration"), "{notice}");

    // The manager edits the policy; the Administrator reads the before and after in the audit log.
    let mut draft = serde_json::to_value(&policy.draft)?;
    draft["settings"][0]["value"] = json!({"choice": "0"});
    let esme = {
        let login = json!({"username": "esme", "password": "esme-Password-1"});
        let client = reqwest::Client::new();
        let response = client
            .post(format!("{}/api/v1/auth/login", app.url))
            .header("x-rampart-csrf", "1")
            .json(&login)
            .send()
            .await?;
        let cookie = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.split(';').next().filter(|p| p.starts_with("rampart_session=")).map(str::to_owned))
            .ok_or_else(|| anyhow::anyhow!("no cookie"))?;
        (client, cookie)
    };
    let response = esme
        .0
        .put(format!("{}/api/v1/policies/{}", app.url, policy.id))
        .header("cookie", &esme.1)
        .header("x-rampart-csrf", "1")
        .header("if-match", "\"1\"")
        .json(&draft)
        .send()
        .await?;
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    app.sign_in().await?;
    app.open(&format!("/policies/{}", policy.id)).await?;
    let audit_link =
        app.wait_for(Locator::XPath("//a[normalize-space()='Audit log' and contains(@class, 'button')]")).await?;
    app.click(&audit_link).await?;
    app.wait_for_text("[data-testid=filter-object]", |text| text.contains(&policy.id)).await?;
    let row = app
        .wait_for_text("[data-testid=audit-table] tbody tr[data-action=policy_update]", |text| !text.is_empty())
        .await?;
    let row = row.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(row.contains("esme") && row.contains("Changed a policy") && row.contains("Baseline"), "{row}");
    // The list says what changed in a line; the entry's own page has the values before and after.
    assert!(row.contains("Changed") && row.contains("policy") && row.contains("version"), "{row}");
    app.screenshot("audit-policy-edit").await?;
    let entry = app
        .browser
        .find(Locator::XPath("//table[@data-testid='audit-table']//tr[@data-action='policy_update']//a"))
        .await?;
    app.click(&entry).await?;
    app.wait_for_url(|url| url.path().starts_with("/audit/")).await?;
    let head = app.wait_for_text("[data-testid=audit-entry]", |text| !text.is_empty()).await?;
    assert!(head.contains("by esme") && head.contains(&policy.id), "{head}");
    let changes = app.wait_for_text("[data-testid=audit-changes]", |text| !text.is_empty()).await?;
    let changes = changes.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(changes.contains("Allow Realtime Monitoring Allowed → Not allowed"), "{changes}");
    let values = app.browser.find(Locator::Css("[data-testid=audit-values]")).await?.text().await?;
    assert!(values.contains("version") && values.contains("Baseline"), "{values}");
    app.screenshot("audit-entry").await?;
    // Back to the list (the navigation marks it), which keeps its filters in the URL.
    app.browser.back().await?;
    app.wait_for_text("[data-testid=filter-object]", |text| text.contains(&policy.id)).await?;
    app.open("/audit").await?;
    let all = app.wait_for_text("[data-testid=audit-table] tbody", |text| text.contains("Invited a user")).await?;
    assert!(all.contains("Signed in") && all.contains("Changed password"), "{all}");
    let summaries = app.texts("[data-testid=audit-summary]").await?;
    assert!(summaries.iter().any(|summary| summary == "Created"), "{summaries:?}");
    app.screenshot("audit-log").await?;

    let errors = app.console_errors().await?;
    assert!(errors.iter().all(|e| e.contains("403") || e.contains("401")), "the browser logged errors: {errors:?}");
    Ok(())
}
