//! End to end: two overlapping Antivirus policies (one setting equal, one different, one exclusion list each) reach
//! the real agents, which resolve, apply and report; the admin center's reports then show what DESIGN.md's rules
//! predict — in the policy list, the overview chart, View report (filtered), one device's per-setting status with
//! the competing policy, and Per setting status — and `rampart-agent preferences` shows the merged exclusions.

mod support;

use fantoccini::Locator;
use serde_json::json;
use shared::api::{DevicePage, PolicyReport};
use shared::policy::Policy;
use support::Harness;

const REALTIME: &str = "device_vendor_msft_policy_config_defender_allowrealtimemonitoring";
const CLOUD: &str = "device_vendor_msft_policy_config_defender_cloudblocklevel";
const PATHS: &str = "device_vendor_msft_policy_config_defender_excludedpaths";

fn policy(name: &str, cloud: &str, path: &str) -> serde_json::Value {
    json!({
        "profile": "microsoft_defender_antivirus", "name": name, "description": "",
        "settings": [
            {"id": REALTIME, "value": {"choice": "1"}},
            {"id": CLOUD, "value": {"choice": cloud}},
            {"id": PATHS, "value": {"string_list": [path]}}
        ],
        "assignments": {"include": [{"group_id": "all-devices"}], "exclude": []}
    })
}

/// The text of the row of the table `css` whose `data-setting` is `setting`.
async fn row(app: &Harness, css: &str, setting: &str) -> anyhow::Result<String> {
    Ok(app.browser.find(Locator::Css(&format!("{css} tr[data-setting='{setting}']"))).await?.text().await?)
}

#[tokio::test]
async fn reports_show_the_conflict_the_merge_and_the_equal_setting_as_the_rules_predict() -> anyhow::Result<()> {
    let app = Harness::start().await?;
    app.onboard_devices(24, 11).await?;
    let api = app.api().await?;
    let baseline: Policy = api.post("/api/v1/policies", &policy("Baseline AV", "2", r"C:\Build")).await?;
    let strict: Policy = api.post("/api/v1/policies", &policy("Strict AV", "6", r"D:\Data")).await?;
    app.onboard_devices(24, 11).await?; // the same devices check in again, apply and report

    // What the rules predict: every eligible device applies both; the equal setting succeeds, the cloud level
    // conflicts and the most secure value (Zero tolerance) wins, the exclusions merge; ineligible devices are Not
    // applicable.
    let eligible: DevicePage = api.get("/api/v1/devices?eligibility=eligible&per_page=100").await?;
    let all: DevicePage = api.get("/api/v1/devices?per_page=100").await?;
    let (n_eligible, n_other) = (eligible.total, all.total - eligible.total);
    assert!(n_eligible > 0 && n_other > 0, "the seeded fleet mixes eligible and other devices");
    let report: PolicyReport = api.get(&format!("/api/v1/policies/{}/report", baseline.id)).await?;
    assert_eq!((report.counts.conflict, report.counts.not_applicable), (n_eligible, n_other));
    assert_eq!(report.counts.succeeded + report.counts.error + report.counts.pending, 0);

    app.sign_in().await?;
    // The policy list: a status summary per policy.
    app.open("/endpoint-security/antivirus").await?;
    let statuses = app.wait_for_text("[data-testid=policies-table] tbody", |text| text.contains("conflict")).await?;
    let expected = format!("{n_eligible} conflict, {n_other} not applicable");
    assert_eq!(app.texts("[data-testid=policy-status]").await?, [expected.clone(), expected], "{statuses}");
    app.screenshot("report-policy-list").await?;

    // The overview: the chart with counts per status and the check-in status.
    app.open(&format!("/policies/{}", baseline.id)).await?;
    let words = |text: String| text.split_whitespace().collect::<Vec<_>>().join(" ");
    let conflicts = words(app.wait_for_text("[data-testid=count-conflict]", |text| !text.is_empty()).await?);
    assert!(conflicts.starts_with(&format!("Conflict {n_eligible} ")), "{conflicts}");
    let pending = words(app.wait_for_text("[data-testid=count-pending]", |text| !text.is_empty()).await?);
    assert_eq!(pending, "Pending 0 0 %");
    let check_ins = words(app.wait_for_text("[data-testid=check-in-status]", |text| !text.is_empty()).await?);
    assert!(
        check_ins.starts_with(&format!("Checked in since the last change {}", n_eligible + n_other)),
        "{check_ins}"
    );
    app.screenshot("report-policy-overview").await?;

    // View report: every targeted device; filtered to Conflict, exactly the eligible ones.
    let view_report = app.wait_for(Locator::XPath("//a[normalize-space()='View report']")).await?;
    app.click(&view_report).await?;
    app.wait_for_text("[data-testid=report-range]", |text| text == "1–24 of 24 devices").await?;
    app.wait_for(Locator::Css("[data-testid=status-filter]")).await?.select_by_value("conflict").await?;
    app.wait_for_text("[data-testid=report-range]", |text| text == format!("1–{n_eligible} of {n_eligible} devices"))
        .await?;
    let states = app.texts("[data-testid=report-devices] tbody td:nth-child(3)").await?;
    assert!(states.iter().all(|state| state == "Conflict"), "{states:?}");
    // The filter and the sort are the URL's, applied by the server: a reload shows the same view.
    app.wait_for_url(|url| url.query().is_some_and(|q| q.contains("state=conflict"))).await?;
    let sort = app.wait_for(Locator::XPath("//th/button[starts-with(normalize-space(), 'Last check-in')]")).await?;
    app.click(&sort).await?;
    app.wait_for_url(|url| url.query().is_some_and(|q| q.contains("sort=check_in") && q.contains("dir=desc"))).await?;
    app.browser.refresh().await?;
    app.wait_for_text("[data-testid=report-range]", |text| text == format!("1–{n_eligible} of {n_eligible} devices"))
        .await?;
    let arrow = app.wait_for_text("th[aria-sort=descending]", |text| !text.is_empty()).await?;
    assert!(arrow.starts_with("Last check-in"), "{arrow}");
    let pager = app.texts(".pager button").await?;
    assert_eq!(pager, ["Previous", "Next"], "one page: both disabled, both labelled");
    app.screenshot("report-view-report").await?;

    // A device → its per-setting status → the setting in conflict → the other policy and its value.
    let device = app.wait_for(Locator::Css("[data-testid=report-devices] tbody td.name a")).await?;
    let hostname = device.text().await?;
    app.click(&device).await?;
    app.wait_for_text("h1", |text| text == hostname).await?;
    app.wait_for(Locator::Css("[data-testid=device-settings]")).await?;
    let realtime = row(&app, "[data-testid=device-settings]", REALTIME).await?;
    // Strict AV manages it too, with the same value: listed as another policy, and no conflict.
    assert_eq!(realtime, "Allow Realtime Monitoring Allowed Succeeded Allowed 1", "equal values are no conflict");
    let cloud = row(&app, "[data-testid=device-settings]", CLOUD).await?;
    assert!(cloud.contains("High") && cloud.contains("Conflict") && cloud.contains("Zero tolerance"), "{cloud}");
    let paths = row(&app, "[data-testid=device-settings]", PATHS).await?;
    assert!(paths.contains("Succeeded") && paths.contains(r"C:\Build") && paths.contains(r"D:\Data"), "{paths}");
    let setting = app
        .browser
        .find(Locator::Css(&format!("[data-testid=device-settings] tr[data-setting='{CLOUD}'] button")))
        .await?;
    app.click(&setting).await?;
    let others = app.wait_for_text("[data-testid=other-policies] tbody", |text| !text.is_empty()).await?;
    assert_eq!(others, "Strict AV Zero tolerance");
    let detail = app.wait_for_text("[data-testid=setting-detail]", |text| !text.is_empty()).await?;
    assert!(detail.contains("Also configured by \"Strict AV\"; Zero tolerance took effect."), "{detail}");
    app.screenshot("report-device-settings").await?;

    // Per setting status: the equal setting and the merged list succeed everywhere, the cloud level conflicts.
    app.open(&format!("/policies/{}/settings-status", strict.id)).await?;
    app.wait_for(Locator::Css("[data-testid=settings-status]")).await?;
    let counts = |text: String| text.split_whitespace().rev().take(4).map(str::to_owned).collect::<Vec<_>>();
    let (n, zero) = (n_eligible.to_string(), "0");
    let n = n.as_str();
    // Reversed: not applicable, conflict, error, succeeded.
    assert_eq!(counts(row(&app, "[data-testid=settings-status]", REALTIME).await?), [zero, zero, zero, n]);
    assert_eq!(counts(row(&app, "[data-testid=settings-status]", CLOUD).await?), [zero, n, zero, zero]);
    assert_eq!(counts(row(&app, "[data-testid=settings-status]", PATHS).await?), [zero, zero, zero, n]);
    app.screenshot("report-per-setting-status").await?;

    // A count opens that setting's devices in that state, the filter in the address; search narrows it there.
    let conflicts = app
        .browser
        .find(Locator::Css(&format!("[data-testid=settings-status] tr[data-setting='{CLOUD}'] td.conflict a")))
        .await?;
    app.click(&conflicts).await?;
    app.wait_for_url(|url| url.path().ends_with(CLOUD) && url.query() == Some("state=conflict")).await?;
    let listed = app.wait_for_text("[data-testid=setting-devices] tbody", |text| text.contains("Conflict")).await?;
    assert_eq!(listed.matches("Also configured by \"Baseline AV\"").count() as u64, n_eligible, "{listed}");
    let range = app.wait_for_text("[data-testid=report-range]", |text| !text.is_empty()).await?;
    assert_eq!(range, format!("1–{n_eligible} of {n_eligible} devices"));
    app.screenshot("report-setting-devices").await?;
    let search = app.wait_for(Locator::Css("input[type=search]")).await?;
    search.send_keys(&hostname).await?;
    search.send_keys("\u{E007}").await?;
    app.wait_for_url(|url| url.query().is_some_and(|q| q.contains("q="))).await?;
    app.wait_for_text("[data-testid=report-range]", |text| text == "1–1 of 1 devices").await?;
    // The same address after a reload shows the same view.
    let url = app.browser.current_url().await?;
    app.open(&format!("{}?{}", url.path(), url.query().unwrap_or_default())).await?;
    app.wait_for_text("[data-testid=report-range]", |text| text == "1–1 of 1 devices").await?;
    app.open(&format!("/policies/{}/settings-status", strict.id)).await?;
    app.wait_for(Locator::Css("[data-testid=settings-status]")).await?;

    // Each table downloads as CSV: the link is on the page, and the file has a row per device or setting.
    let link = app.browser.find(Locator::XPath("//a[normalize-space()='Export CSV']")).await?;
    let href = link.attr("href").await?.unwrap_or_default();
    assert_eq!(href, format!("/api/v1/policies/{}/report/settings.csv", strict.id));
    assert_eq!(api.get_text(&href).await?.lines().count(), 4);
    let devices_csv = api.get_text(&format!("/api/v1/policies/{}/report/devices.csv", baseline.id)).await?;
    assert_eq!(devices_csv.lines().count(), 25);
    assert_eq!(devices_csv.lines().filter(|line| line.contains(",Conflict,")).count() as u64, n_eligible);

    // On the device itself: the merged exclusions and the winning cloud level.
    let preferences = app.agent_preferences(&hostname).await?;
    assert!(preferences.contains("CloudBlockLevel         : Zero tolerance"), "{preferences}");
    let paths_line = preferences.lines().find(|line| line.starts_with("ExcludedPaths")).unwrap_or_default();
    assert!(paths_line.contains(r"C:\Build") && paths_line.contains(r"D:\Data"), "{preferences}");

    let errors = app.console_errors().await?;
    assert!(errors.is_empty(), "the browser logged errors: {errors:?}");
    Ok(())
}

#[tokio::test]
async fn the_demo_tenant_reports_conflicts_and_errors_as_soon_as_its_devices_check_in() -> anyhow::Result<()> {
    let app = Harness::start_with_sample_content().await?;
    app.onboard_devices(40, 3).await?;
    app.sign_in().await?;
    app.open("/endpoint-security/antivirus").await?;
    let list = app
        .wait_for_text("[data-testid=policies-table] tbody", |text| text.contains("Strict cloud protection"))
        .await?;
    assert!(list.contains("conflict") && list.contains("error"), "{list}");
    app.screenshot("demo-antivirus-policies").await?;

    // Strict cloud protection asks for network protection, which down-level servers refuse without the down-level
    // setting: those devices report Error with the code, the others report the cloud-level conflicts.
    let strict = app.wait_for(Locator::XPath("//a[normalize-space()='Strict cloud protection']")).await?;
    app.click(&strict).await?;
    let errors = app.wait_for_text("[data-testid=count-error]", |text| !text.is_empty()).await?;
    let n_errors: u64 = errors.split_whitespace().nth(1).unwrap_or_default().parse()?;
    assert!(n_errors > 0, "{errors}");
    let view_report = app.wait_for(Locator::XPath("//a[normalize-space()='View report']")).await?;
    app.click(&view_report).await?;
    app.wait_for(Locator::Css("[data-testid=status-filter]")).await?.select_by_value("error").await?;
    let device = app.wait_for(Locator::Css("[data-testid=report-devices] tbody td.name a")).await?;
    app.click(&device).await?;
    let network = "device_vendor_msft_policy_config_defender_enablenetworkprotection";
    let button = app.wait_for(Locator::Css(&format!("tr[data-setting='{network}'] button"))).await?;
    app.click(&button).await?;
    let detail = app.wait_for_text("[data-testid=setting-detail]", |text| !text.is_empty()).await?;
    assert!(detail.contains("0x87D1FDE8") && detail.contains("Allow Network Protection Down Level"), "{detail}");
    app.screenshot("demo-device-error").await?;

    // The tenant-wide conflicts page lists the cloud level that the strict policy and the baselines disagree on.
    app.open("/conflicts").await?;
    let cloud = app
        .wait_for_text("[data-testid=conflicts-table] tr[data-setting='device_vendor_msft_policy_config_defender_cloudblocklevel']", |t| !t.is_empty())
        .await?;
    assert!(cloud.contains("Strict cloud protection") && cloud.contains("Zero tolerance"), "{cloud}");
    assert!(cloud.contains("the most secure value"), "{cloud}");
    let rows = app.browser.find_all(Locator::Css("[data-testid=conflicts-table] tbody tr")).await?.len();
    let summary = app.wait_for_text("[data-testid=conflicts-summary]", |t| !t.is_empty()).await?;
    assert!(summary.starts_with(&format!("{rows} conflicts on ")), "{summary}");
    app.screenshot("demo-conflicts").await?;

    let errors = app.console_errors().await?;
    assert!(errors.is_empty(), "the browser logged errors: {errors:?}");
    Ok(())
}
