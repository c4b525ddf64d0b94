//! End to end: while an admin writes a policy in the wizard, the conflict preview (computed in the browser with the
//! shared rules) shows the devices it would reach and its conflict with an existing policy; after saving, the real
//! agents report exactly what the preview predicted.

mod support;

use fantoccini::Locator;
use serde_json::json;
use shared::api::{DevicePage, PolicyReport};
use shared::policy::{Policy, PolicySummary};
use support::{CLOUD, Harness, REALTIME};

#[tokio::test]
async fn the_wizard_previews_the_conflict_that_the_devices_then_report() -> anyhow::Result<()> {
    let app = Harness::start().await?;
    app.onboard_devices(24, 11).await?;
    let api = app.api().await?;
    let _: Policy = api
        .post(
            "/api/v1/policies",
            &json!({
                "profile": "microsoft_defender_antivirus", "name": "Baseline AV", "description": "",
                "settings": [{"id": REALTIME, "value": {"choice": "1"}}, {"id": CLOUD, "value": {"choice": "2"}}],
                "assignments": {"include": [{"group_id": "all-devices"}], "exclude": []}
            }),
        )
        .await?;
    let eligible: DevicePage = api.get("/api/v1/devices?eligibility=eligible&per_page=100").await?;
    let n = eligible.total;

    app.sign_in().await?;
    // Not assigned yet, it would reach nobody; then it is assigned to All devices.
    app.draft_strict_av_for_all_devices().await?;
    let reach = app
        .wait_for_text("[data-testid=preview-reach]", |text| text.starts_with(&format!("Would apply to {n} devices")))
        .await?;
    assert!(reach.contains("not eligible"), "{reach}");
    let conflict = app
        .wait_for_text(&format!("[data-testid=preview-conflict] tr[data-setting='{CLOUD}']"), |t| !t.is_empty())
        .await?;
    let conflict = conflict.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(conflict.starts_with("Cloud Block Level Zero tolerance Baseline AV: High"), "{conflict}");
    assert!(
        conflict.contains(&format!(" {n} ")) && conflict.contains("Zero tolerance (the most secure value wins)"),
        "{conflict}"
    );
    // Five devices are named; the rest open on demand.
    app.click_button(&format!("Show all {n}")).await?;
    app.wait_for_text("[data-testid=preview-conflict] [data-testid=affected-devices]", |t| !t.is_empty()).await?;
    let listed = app
        .browser
        .find_all(Locator::Css("[data-testid=preview-conflict] [data-testid=affected-devices] a[href^='/devices/']"))
        .await?;
    assert_eq!(listed.len() as u64, n, "every affected device is listed, each linking to its page");
    let same = app
        .wait_for_text(&format!("[data-testid=preview-identical] tr[data-setting='{REALTIME}']"), |t| !t.is_empty())
        .await?;
    assert!(same.contains("Baseline AV"), "{same}");
    let section = app.browser.find(Locator::Css("[data-testid=preview]")).await?;
    app.browser
        .execute("arguments[0].scrollIntoView({block: 'start'});", vec![serde_json::to_value(&section)?])
        .await?;
    app.screenshot("wizard-conflict-preview").await?;
    app.click_button("Next").await?;
    app.click_button("Create").await?;
    app.wait_for_url(|url| url.path() == "/endpoint-security/antivirus").await?;

    // The devices check in and report: exactly what the preview said.
    app.onboard_devices(24, 11).await?;
    let list: Vec<PolicySummary> = api.get("/api/v1/policies?type=antivirus").await?;
    let strict = list.iter().find(|p| p.name == "Strict AV").expect("created");
    let report: PolicyReport = api.get(&format!("/api/v1/policies/{}/report", strict.id)).await?;
    let cloud = report.settings.iter().find(|s| s.setting_id == CLOUD).expect("reported");
    let realtime = report.settings.iter().find(|s| s.setting_id == REALTIME).expect("reported");
    assert_eq!((cloud.conflict, cloud.succeeded), (n, 0), "the previewed conflict, on the previewed devices");
    assert_eq!((realtime.succeeded, realtime.conflict), (n, 0), "identical values are no conflict");
    let errors = app.console_errors().await?;
    assert!(errors.is_empty(), "the browser logged errors: {errors:?}");
    Ok(())
}
