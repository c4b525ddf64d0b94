//! The admin API and the device API over HTTP: the real router on a loopback socket, a real SQLite database in a
//! temporary directory, and a reqwest client that sees what the admin center and the agent see.

mod common;

use common::{
    ADMIN_PASSWORD, ADMIN_USER, TestApp, cookie_pair, device_authorization, error, facts, json_body,
    session_set_cookie, unauthenticated,
};
use reqwest::header::SET_COOKIE;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use server::store::TenantStore;
use shared::api::{CreatedOnboardingToken, DeviceDetail, DevicePage, Me, OnboardingTokenState, OnboardingTokenSummary};
use shared::error::ErrorCode;

const DEVICE_UNAUTHENTICATED: &str = "Device credentials are missing or wrong; onboard the device again.";
const TOKEN_UNAUTHENTICATED: &str = "The onboarding token is missing, wrong, expired, used up or revoked.";

fn is_lower_hex(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn is_guid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12]) && groups.iter().all(|g| is_lower_hex(g, g.len()))
}

// ---------------------------------------------------------------------------------------------------------------
// Sign-in

#[tokio::test]
async fn signing_in_with_a_wrong_password_is_refused_with_401_and_no_cookie() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let response = app.sign_in(ADMIN_USER, "not the password").await?;
    assert!(response.headers().get(SET_COOKIE).is_none(), "a refused sign-in sets no cookie");
    assert_eq!(unauthenticated(response).await?, "The user name or password is incorrect.");
    Ok(())
}

#[tokio::test]
async fn signing_in_as_an_unknown_user_gets_the_same_answer_as_a_wrong_password() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let response = app.sign_in("nobody", ADMIN_PASSWORD).await?;
    assert_eq!(unauthenticated(response).await?, "The user name or password is incorrect.");
    Ok(())
}

#[tokio::test]
async fn signing_in_with_the_right_password_sets_an_http_only_strict_session_cookie() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let response = app.sign_in(ADMIN_USER, ADMIN_PASSWORD).await?;
    assert_eq!(response.status(), StatusCode::OK);
    let set_cookie = session_set_cookie(&response).expect("a session cookie is set");
    let attributes: Vec<&str> = set_cookie.split(';').map(str::trim).collect();
    assert!(attributes.contains(&"HttpOnly"), "{set_cookie}");
    assert!(attributes.contains(&"SameSite=Strict"), "{set_cookie}");
    assert!(attributes.contains(&"Path=/"), "{set_cookie}");
    assert!(!attributes.contains(&"Secure"), "plain HTTP unless configured: {set_cookie}");
    let token = cookie_pair(&set_cookie).expect("the cookie has a value");
    assert!(is_lower_hex(token.trim_start_matches("rampart_session="), 64), "{token}");
    let me: Value = json_body(response, StatusCode::OK).await?;
    assert_eq!(
        me,
        json!({"username": ADMIN_USER, "role": "administrator", "must_change_password": false,
               "permissions": ["read", "view_tenant", "manage_endpoint_security", "manage_tenant", "manage_users"]})
    );
    Ok(())
}

#[tokio::test]
async fn the_session_cookie_identifies_the_admin_until_sign_out() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let cookie = app.sign_in_as_admin().await?;

    let me: Me = app.admin_get(&cookie, "/api/v1/auth/me").await?;
    assert_eq!(me.username, ADMIN_USER);

    let response = app.admin_request(Method::POST, "/api/v1/auth/logout", &cookie).send().await?;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let cleared = session_set_cookie(&response).expect("sign-out clears the cookie");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert_eq!(cookie_pair(&cleared), None, "the cleared cookie is empty: {cleared}");

    let response = app.admin_request(Method::GET, "/api/v1/auth/me", &cookie).send().await?;
    assert_eq!(unauthenticated(response).await?, "Your session has ended; sign in again.");
    let response = app.admin_request(Method::GET, "/api/v1/devices", &cookie).send().await?;
    unauthenticated(response).await?;
    Ok(())
}

#[tokio::test]
async fn each_sign_in_gets_its_own_session_and_signing_out_ends_only_that_one() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let first = app.sign_in_as_admin().await?;
    let second = app.sign_in_as_admin().await?;
    assert_ne!(first, second);

    let response = app.admin_request(Method::POST, "/api/v1/auth/logout", &first).send().await?;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    unauthenticated(app.admin_request(Method::GET, "/api/v1/auth/me", &first).send().await?).await?;
    let me: Me = app.admin_get(&second, "/api/v1/auth/me").await?;
    assert_eq!(me.username, ADMIN_USER);
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// Onboarding

#[tokio::test]
async fn onboarding_without_a_token_is_refused_with_401() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let response = app.onboard(&json!({"facts": facts("WS-0001")})).await?;
    assert_eq!(unauthenticated(response).await?, TOKEN_UNAUTHENTICATED);
    let response = app.onboard(&json!({"onboarding_token": "", "facts": facts("WS-0001")})).await?;
    assert_eq!(unauthenticated(response).await?, TOKEN_UNAUTHENTICATED);
    Ok(())
}

#[tokio::test]
async fn onboarding_with_a_wrong_token_is_refused_with_401() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let response = app.onboard(&json!({"onboarding_token": "ab".repeat(32), "facts": facts("WS-0001")})).await?;
    assert_eq!(unauthenticated(response).await?, TOKEN_UNAUTHENTICATED);
    Ok(())
}

#[tokio::test]
async fn onboarding_with_a_wrong_token_reveals_nothing_about_bad_facts() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let response = app.onboard(&json!({"onboarding_token": "wrong", "facts": {"hostname": "bad name!"}})).await?;
    let envelope = error(response, StatusCode::UNAUTHORIZED).await?;
    assert!(envelope.error.violations.is_empty(), "{envelope:?}");
    Ok(())
}

#[tokio::test]
async fn onboarding_with_bad_facts_is_refused_with_400_naming_every_bad_field() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let cookie = app.sign_in_as_admin().await?;
    let token = app.onboarding_token(&cookie).await?;

    let bad_facts = json!({
        "hostname": "bad name!",
        "os": "windows_xp",
        "edition": "ultimate",
        "os_build": "ten",
        "required_update_installed": "yes",
        "join_type": "workgroup",
        "directory_device_id": "not-a-guid",
        "managed_by": "nobody",
        "colour": "blue"
    });
    let response = app.onboard(&json!({"onboarding_token": token, "facts": bad_facts, "extra": 1})).await?;
    let envelope = error(response, StatusCode::BAD_REQUEST).await?;
    assert_eq!(envelope.error.code, ErrorCode::InvalidInput);
    let mut paths: Vec<&str> = envelope.error.violations.iter().map(|v| v.path.as_str()).collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        [
            "extra",
            "facts.colour",
            "facts.directory_device_id",
            "facts.downlevel_agent_installed",
            "facts.edition",
            "facts.hostname",
            "facts.managed_by",
            "facts.os",
            "facts.os_build",
            "facts.required_update_installed",
        ]
    );
    assert_eq!(envelope.error.message, format!("The input has {} problems.", paths.len()));
    let message_of = |path: &str| {
        envelope.error.violations.iter().find(|v| v.path == path).map(|v| v.message.clone()).unwrap_or_default()
    };
    assert!(message_of("facts.os").contains("\"windows_11\""), "lists the allowed values: {}", message_of("facts.os"));
    assert_eq!(message_of("facts.downlevel_agent_installed"), "is required");

    // Nothing was stored.
    let page: DevicePage = app.admin_get(&cookie, "/api/v1/devices").await?;
    assert_eq!(page.total, 0);
    Ok(())
}

#[tokio::test]
async fn onboarding_with_a_client_edition_on_a_server_os_names_the_edition() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let cookie = app.sign_in_as_admin().await?;
    let token = app.onboarding_token(&cookie).await?;
    let mut server_facts = facts("SRV-0001");
    server_facts["os"] = json!("windows_server_2022");
    let response = app.onboard(&json!({"onboarding_token": token, "facts": server_facts})).await?;
    let envelope = error(response, StatusCode::BAD_REQUEST).await?;
    let paths: Vec<&str> = envelope.error.violations.iter().map(|v| v.path.as_str()).collect();
    assert_eq!(paths, ["facts.edition"]);

    let response = app.onboard(&json!({"onboarding_token": token})).await?;
    let envelope = error(response, StatusCode::BAD_REQUEST).await?;
    let paths: Vec<&str> = envelope.error.violations.iter().map(|v| v.path.as_str()).collect();
    assert_eq!(paths, ["facts"]);
    Ok(())
}

#[tokio::test]
async fn a_device_without_a_directory_id_is_onboarded_with_a_created_registration() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let cookie = app.sign_in_as_admin().await?;
    let token = app.onboarding_token(&cookie).await?;

    let onboarded = app.onboard_device(&token, &facts("WS-0001")).await?;
    assert_eq!(onboarded["registration"], "created");
    let device_id = onboarded["device_id"].as_str().expect("a device id");
    assert!(!device_id.is_empty());
    assert!(is_lower_hex(onboarded["device_secret"].as_str().expect("a secret"), 64), "{onboarded}");
    assert!(is_guid(onboarded["directory_device_id"].as_str().expect("a directory id")), "{onboarded}");
    assert_eq!(onboarded["check_in_interval_secs"], 90 * 60);

    let detail: Value = app.admin_get(&cookie, &format!("/api/v1/devices/{device_id}")).await?;
    assert_eq!(detail["id"], device_id);
    assert_eq!(detail["registration"], "created");
    assert_eq!(detail["directory_device_id"], onboarded["directory_device_id"]);
    assert_eq!(detail["facts"]["hostname"], "WS-0001");
    assert_eq!(detail["last_check_in"], Value::Null);
    assert_eq!(detail["n_check_ins"], 0);
    Ok(())
}

#[tokio::test]
async fn each_workgroup_device_without_a_directory_id_gets_a_fresh_one() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let cookie = app.sign_in_as_admin().await?;
    let token = app.onboarding_token(&cookie).await?;

    let first = app.onboard_device_typed(&token, &facts("WS-0001")).await?;
    let second = app.onboard_device_typed(&token, &facts("WS-0002")).await?;
    assert_ne!(first.device_id, second.device_id);
    assert_ne!(first.directory_device_id, second.directory_device_id);
    assert_ne!(first.device_secret, second.device_secret);

    let page: DevicePage = app.admin_get(&cookie, "/api/v1/devices").await?;
    assert_eq!(page.total, 2);
    for (item, onboarded) in page.items.iter().zip([&first, &second]) {
        assert_eq!(item.id, onboarded.device_id);
        assert_eq!(item.directory_device_id, onboarded.directory_device_id);
        assert_eq!(item.facts.directory_device_id.as_ref(), Some(&onboarded.directory_device_id));
    }
    Ok(())
}

#[tokio::test]
async fn a_device_presenting_an_unseen_directory_id_is_onboarded_with_an_adopted_registration() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let cookie = app.sign_in_as_admin().await?;
    let token = app.onboarding_token(&cookie).await?;

    let mut joined = facts("WS-0001");
    joined["join_type"] = json!("hybrid_joined");
    joined["directory_device_id"] = json!("{3F2504E0-4F89-41D3-9A0C-0305E82C3301}");
    let onboarded = app.onboard_device(&token, &joined).await?;
    assert_eq!(onboarded["registration"], "adopted");
    assert_eq!(onboarded["directory_device_id"], "3f2504e0-4f89-41d3-9a0c-0305e82c3301", "kept, in canonical form");
    Ok(())
}

#[tokio::test]
async fn a_device_onboarding_again_with_its_directory_id_and_its_secret_reuses_its_registration_and_device()
-> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let cookie = app.sign_in_as_admin().await?;
    let token = app.onboarding_token(&cookie).await?;

    let mut joined = facts("WS-0001");
    joined["join_type"] = json!("directory_joined");
    joined["directory_device_id"] = json!("3f2504e0-4f89-41d3-9a0c-0305e82c3301");
    let first = app.onboard_device(&token, &joined).await?;
    assert_eq!(first["registration"], "adopted");

    joined["hostname"] = json!("WS-0001-RENAMED");
    // Presenting the registration without the device's current secret does not take the device over: the presenter is
    // onboarded as a device of its own with a registration of its own, the claim kept for the admin to see, and the
    // real device keeps working.
    let mut squatter_facts = joined.clone();
    squatter_facts["hostname"] = json!("SQUATTER");
    let response = app.onboard(&json!({"onboarding_token": token, "facts": squatter_facts})).await?;
    let squatter: Value = json_body(response, StatusCode::CREATED).await?;
    assert_eq!(squatter["registration"], "created");
    assert_ne!(squatter["device_id"], first["device_id"]);
    assert_ne!(squatter["directory_device_id"], first["directory_device_id"], "the registration is not taken over");
    let squatter_id = squatter["device_id"].as_str().expect("an id");
    let detail: DeviceDetail = app.admin_get(&cookie, &format!("/api/v1/devices/{squatter_id}")).await?;
    let conflict = detail.directory_conflict.expect("the claim is shown to the admin");
    assert_eq!(conflict.presented.as_str(), "3f2504e0-4f89-41d3-9a0c-0305e82c3301");
    assert_eq!(conflict.held_by.map(|holder| holder.id), first["device_id"].as_str().map(str::to_owned));
    let wrong = app.onboard(&json!({"onboarding_token": token, "facts": joined, "device_secret": "guess"})).await?;
    let wrong: Value = json_body(wrong, StatusCode::CREATED).await?;
    assert_ne!(wrong["directory_device_id"], first["directory_device_id"], "a wrong secret proves nothing");
    let still = app
        .check_in(Some(&device_authorization(
            first["device_id"].as_str().unwrap_or_default(),
            first["device_secret"].as_str().unwrap_or_default(),
        )))
        .await?;
    assert_eq!(still.status(), StatusCode::OK, "the real device still checks in");

    let response = app
        .onboard(&json!({"onboarding_token": token, "facts": joined, "device_secret": first["device_secret"]}))
        .await?;
    let again: Value = json_body(response, StatusCode::CREATED).await?;
    assert_eq!(again["registration"], "reused");
    assert_eq!(again["device_id"], first["device_id"], "the same device, not a second one");
    assert_eq!(again["directory_device_id"], first["directory_device_id"]);
    assert_ne!(again["device_secret"], first["device_secret"], "a fresh secret");

    let device_id = again["device_id"].as_str().expect("a device id");
    let old_secret = first["device_secret"].as_str().expect("a secret");
    let new_secret = again["device_secret"].as_str().expect("a secret");
    let response = app.check_in(Some(&device_authorization(device_id, old_secret))).await?;
    assert_eq!(unauthenticated(response).await?, DEVICE_UNAUTHENTICATED, "the old secret is retired");
    let response = app.check_in(Some(&device_authorization(device_id, new_secret))).await?;
    assert_eq!(response.status(), StatusCode::OK);

    let page: DevicePage = app.admin_get(&cookie, "/api/v1/devices").await?;
    assert_eq!(page.total, 3, "the real device once, and the two claimants apart");
    let detail: Value = app.admin_get(&cookie, &format!("/api/v1/devices/{device_id}")).await?;
    assert_eq!(detail["registration"], "reused");
    assert_eq!(detail["facts"]["hostname"], "WS-0001-RENAMED", "the new facts replace the old");
    assert_eq!(detail["directory_conflict"], Value::Null);
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// Check-in

/// A server with one onboarded device: (app, admin cookie, device id, device secret).
async fn app_with_one_device() -> anyhow::Result<(TestApp, String, String, String)> {
    let app = TestApp::spawn().await?;
    let cookie = app.sign_in_as_admin().await?;
    let token = app.onboarding_token(&cookie).await?;
    let onboarded = app.onboard_device_typed(&token, &facts("WS-0001")).await?;
    Ok((app, cookie, onboarded.device_id, onboarded.device_secret))
}

#[tokio::test]
async fn a_check_in_with_the_device_credentials_answers_with_the_interval() -> anyhow::Result<()> {
    let (app, _, device_id, secret) = app_with_one_device().await?;
    let response = app.check_in(Some(&device_authorization(&device_id, &secret))).await?;
    let answer: Value = json_body(response, StatusCode::OK).await?;
    assert_eq!(answer["check_in_interval_secs"], json!(90 * 60));
    assert_eq!(answer["policies"], json!([]), "no policy exists yet");
    Ok(())
}

#[tokio::test]
async fn a_check_in_with_a_wrong_secret_is_refused_with_401() -> anyhow::Result<()> {
    let (app, cookie, device_id, secret) = app_with_one_device().await?;
    // The same secret with its last digit changed.
    let (head, last) = secret.split_at(secret.len() - 1);
    let wrong = format!("{head}{}", if last == "0" { "1" } else { "0" });
    for bad_secret in [wrong.as_str(), "", &secret[..32]] {
        let response = app.check_in(Some(&device_authorization(&device_id, bad_secret))).await?;
        assert_eq!(unauthenticated(response).await?, DEVICE_UNAUTHENTICATED, "secret {bad_secret:?}");
    }
    let detail: DeviceDetail = app.admin_get(&cookie, &format!("/api/v1/devices/{device_id}")).await?;
    assert_eq!(detail.n_check_ins, 0, "refused check-ins are not counted");
    Ok(())
}

#[tokio::test]
async fn a_check_in_with_another_devices_id_and_this_secret_is_refused_with_401() -> anyhow::Result<()> {
    let (app, cookie, _, secret) = app_with_one_device().await?;
    let token = app.onboarding_token(&cookie).await?;
    let other = app.onboard_device_typed(&token, &facts("WS-0002")).await?;
    let response = app.check_in(Some(&device_authorization(&other.device_id, &secret))).await?;
    assert_eq!(unauthenticated(response).await?, DEVICE_UNAUTHENTICATED);
    let response = app.check_in(Some(&device_authorization("no-such-device", &secret))).await?;
    assert_eq!(unauthenticated(response).await?, DEVICE_UNAUTHENTICATED);
    Ok(())
}

#[tokio::test]
async fn a_check_in_without_device_credentials_is_refused_with_401() -> anyhow::Result<()> {
    let (app, _, device_id, secret) = app_with_one_device().await?;
    let response = app.check_in(None).await?;
    assert_eq!(unauthenticated(response).await?, DEVICE_UNAUTHENTICATED);
    for malformed in [
        format!("Bearer {device_id}:{secret}"),
        format!("Device {device_id}{secret}"),
        format!("device {device_id}:{secret}"),
        "Device ".to_owned(),
    ] {
        let response = app.check_in(Some(&malformed)).await?;
        assert_eq!(unauthenticated(response).await?, DEVICE_UNAUTHENTICATED, "{malformed}");
    }
    Ok(())
}

#[tokio::test]
async fn a_check_in_shows_in_the_device_detail() -> anyhow::Result<()> {
    let (app, cookie, device_id, secret) = app_with_one_device().await?;
    let path = format!("/api/v1/devices/{device_id}");
    let before: DeviceDetail = app.admin_get(&cookie, &path).await?;
    assert_eq!((before.summary.last_check_in, before.n_check_ins), (None, 0));

    let started = server::now();
    let response = app.check_in(Some(&device_authorization(&device_id, &secret))).await?;
    assert_eq!(response.status(), StatusCode::OK);
    let finished = server::now();

    let after: DeviceDetail = app.admin_get(&cookie, &path).await?;
    let last_check_in = after.summary.last_check_in.expect("the check-in is recorded");
    assert!((started..=finished).contains(&last_check_in), "{started} <= {last_check_in} <= {finished}");
    assert_eq!(after.n_check_ins, 1);
    assert!(after.summary.onboarded_at <= last_check_in);
    Ok(())
}

#[tokio::test]
async fn a_policy_sync_request_is_pending_until_the_next_check_in() -> anyhow::Result<()> {
    let (app, cookie, device_id, secret) = app_with_one_device().await?;
    let path = format!("/api/v1/devices/{device_id}");

    let response = app.admin_request(Method::POST, &format!("{path}/sync"), &cookie).send().await?;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let detail: DeviceDetail = app.admin_get(&cookie, &path).await?;
    assert!(detail.sync_requested);

    let response = app.check_in(Some(&device_authorization(&device_id, &secret))).await?;
    assert_eq!(response.status(), StatusCode::OK);
    let detail: DeviceDetail = app.admin_get(&cookie, &path).await?;
    assert!(!detail.sync_requested);
    assert_eq!(detail.n_check_ins, 1);
    Ok(())
}

#[tokio::test]
async fn an_unknown_device_id_is_answered_with_404() -> anyhow::Result<()> {
    let (app, cookie, _, _) = app_with_one_device().await?;
    let response = app.admin_request(Method::GET, "/api/v1/devices/no-such-device", &cookie).send().await?;
    let envelope = error(response, StatusCode::NOT_FOUND).await?;
    assert_eq!(envelope.error.message, "No device has this id.");
    let response = app.admin_request(Method::POST, "/api/v1/devices/no-such-device/sync", &cookie).send().await?;
    error(response, StatusCode::NOT_FOUND).await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// Devices list

/// (hostname, os, edition, required update, down-level agent, join type, managed by, support from its facts)
type FleetDevice = (&'static str, &'static str, &'static str, bool, bool, &'static str, &'static str, &'static str);

const FLEET: [FleetDevice; 9] = [
    ("WS-0001", "windows_11", "enterprise", true, false, "workgroup", "mde", "eligible"),
    ("WS-0002", "windows_10", "pro", true, false, "hybrid_joined", "intune", "managed_by_mdm"),
    ("WS-0003", "windows_11", "home", true, false, "workgroup", "mde", "unsupported_edition"),
    ("SRV-0001", "windows_server_2019", "standard", false, true, "domain_joined", "mde", "eligible"),
    ("SRV-0002", "windows_server_2022", "datacenter", true, false, "domain_joined", "configmgr", "managed_by_mdm"),
    ("WS-0004", "windows_10", "enterprise", true, false, "directory_joined", "co_managed", "managed_by_mdm"),
    ("SRV-0003", "windows_server_2016", "standard", true, true, "domain_joined", "mde", "unsupported_os"),
    ("laptop-0001", "windows_11", "pro", true, false, "directory_joined", "intune", "managed_by_mdm"),
    ("SRV-0004", "windows_server_2022", "standard", true, false, "domain_joined", "mde", "eligible"),
];

/// A server with the fleet onboarded: (app, admin cookie).
async fn app_with_fleet() -> anyhow::Result<(TestApp, String)> {
    let app = TestApp::spawn().await?;
    let cookie = app.sign_in_as_admin().await?;
    let token = app.onboarding_token(&cookie).await?;
    for (hostname, os, edition, update, downlevel, join_type, managed_by, _) in FLEET {
        let device = json!({
            "hostname": hostname,
            "os": os,
            "edition": edition,
            "os_build": "10.0.20348.2849",
            "required_update_installed": update,
            "downlevel_agent_installed": downlevel,
            "join_type": join_type,
            "directory_device_id": null,
            "managed_by": managed_by
        });
        app.onboard_device(&token, &device).await?;
    }
    Ok((app, cookie))
}

fn hostnames(page: &DevicePage) -> Vec<&str> {
    page.items.iter().map(|item| item.facts.hostname.as_str()).collect()
}

fn fleet_support(hostname: &str) -> &'static str {
    FLEET.iter().find(|d| d.0 == hostname).map(|d| d.7).unwrap_or_else(|| panic!("{hostname} is not in the fleet"))
}

#[tokio::test]
async fn the_devices_list_sorts_by_hostname_by_default_ignoring_case() -> anyhow::Result<()> {
    let (app, cookie) = app_with_fleet().await?;
    let page: DevicePage = app.admin_get(&cookie, "/api/v1/devices").await?;
    assert_eq!((page.total, page.page, page.per_page), (9, 1, 50));
    assert_eq!(
        hostnames(&page),
        ["laptop-0001", "SRV-0001", "SRV-0002", "SRV-0003", "SRV-0004", "WS-0001", "WS-0002", "WS-0003", "WS-0004"]
    );
    let page: DevicePage = app.admin_get(&cookie, "/api/v1/devices?sort=hostname&dir=desc").await?;
    assert_eq!(hostnames(&page).first(), Some(&"WS-0004"));
    assert_eq!(hostnames(&page).last(), Some(&"laptop-0001"));
    Ok(())
}

#[tokio::test]
async fn the_devices_list_sorts_by_managed_by_code_then_hostname() -> anyhow::Result<()> {
    let (app, cookie) = app_with_fleet().await?;
    let page: DevicePage = app.admin_get(&cookie, "/api/v1/devices?sort=managed_by&dir=asc").await?;
    assert_eq!(page.total, 9);
    let order: Vec<(&str, &str)> =
        page.items.iter().map(|item| (item.facts.managed_by.code(), item.facts.hostname.as_str())).collect();
    assert_eq!(
        order,
        [
            ("co_managed", "WS-0004"),
            ("configmgr", "SRV-0002"),
            ("intune", "laptop-0001"),
            ("intune", "WS-0002"),
            ("mde", "SRV-0001"),
            ("mde", "SRV-0003"),
            ("mde", "SRV-0004"),
            ("mde", "WS-0001"),
            ("mde", "WS-0003"),
        ]
    );

    let page: DevicePage = app.admin_get(&cookie, "/api/v1/devices?sort=managed_by&dir=desc").await?;
    let codes: Vec<&str> = page.items.iter().map(|item| item.facts.managed_by.code()).collect();
    assert_eq!(codes, ["mde", "mde", "mde", "mde", "mde", "intune", "intune", "configmgr", "co_managed"]);
    Ok(())
}

#[tokio::test]
async fn the_devices_list_pages_and_reports_the_total() -> anyhow::Result<()> {
    let (app, cookie) = app_with_fleet().await?;
    let page: DevicePage = app.admin_get(&cookie, "/api/v1/devices?per_page=3&page=2").await?;
    assert_eq!((page.total, page.page, page.per_page), (9, 2, 3));
    assert_eq!(hostnames(&page), ["SRV-0003", "SRV-0004", "WS-0001"], "rows 4 to 6 by host name");

    let mut seen = Vec::new();
    for number in 1..=4 {
        let page: DevicePage = app.admin_get(&cookie, &format!("/api/v1/devices?per_page=4&page={number}")).await?;
        assert_eq!(page.total, 9, "the total counts every page");
        seen.extend(page.items.into_iter().map(|item| item.id));
    }
    assert_eq!(seen.len(), 9, "4 + 4 + 1 + 0 rows");
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 9, "no device on two pages");
    Ok(())
}

#[tokio::test]
async fn the_devices_list_filters_by_hostname_substring_ignoring_case() -> anyhow::Result<()> {
    let (app, cookie) = app_with_fleet().await?;
    let page: DevicePage = app.admin_get(&cookie, "/api/v1/devices?q=srv").await?;
    assert_eq!(page.total, 4);
    assert_eq!(hostnames(&page), ["SRV-0001", "SRV-0002", "SRV-0003", "SRV-0004"]);

    let page: DevicePage = app.admin_get(&cookie, "/api/v1/devices?q=0001").await?;
    assert_eq!(hostnames(&page), ["laptop-0001", "SRV-0001", "WS-0001"]);

    let page: DevicePage = app.admin_get(&cookie, "/api/v1/devices?q=%20LAPTOP%20").await?;
    assert_eq!(hostnames(&page), ["laptop-0001"], "the search text is trimmed");

    for wildcard in ["%25", "_", "S_V"] {
        let page: DevicePage = app.admin_get(&cookie, &format!("/api/v1/devices?q={wildcard}")).await?;
        assert_eq!(page.total, 0, "{wildcard} is searched literally, not as a pattern");
    }
    Ok(())
}

#[tokio::test]
async fn the_devices_list_filters_by_managed_by_and_os() -> anyhow::Result<()> {
    let (app, cookie) = app_with_fleet().await?;
    let page: DevicePage = app.admin_get(&cookie, "/api/v1/devices?managed_by=mde").await?;
    assert_eq!(page.total, 5);
    assert!(page.items.iter().all(|item| item.facts.managed_by.code() == "mde"));
    assert_eq!(hostnames(&page), ["SRV-0001", "SRV-0003", "SRV-0004", "WS-0001", "WS-0003"]);

    let page: DevicePage = app.admin_get(&cookie, "/api/v1/devices?managed_by=intune&os=windows_11").await?;
    assert_eq!(hostnames(&page), ["laptop-0001"]);
    Ok(())
}

#[tokio::test]
async fn the_eligible_filter_is_empty_until_both_tenant_switches_are_on() -> anyhow::Result<()> {
    let (app, cookie) = app_with_fleet().await?;
    let tenant = app.set_switches(&cookie, false).await?;
    assert!(!tenant.switches.security_settings_management && !tenant.switches.enforce_security_configuration);

    let eligible: DevicePage = app.admin_get(&cookie, "/api/v1/devices?eligibility=eligible").await?;
    assert_eq!(eligible.total, 0);
    assert!(eligible.items.is_empty());

    let all: DevicePage = app.admin_get(&cookie, "/api/v1/devices").await?;
    for item in &all.items {
        let hostname = item.facts.hostname.as_str();
        let expected = match fleet_support(hostname) {
            "eligible" => "tenant_not_enabled",
            reason => reason,
        };
        assert_eq!(item.eligibility.code.code(), expected, "{hostname}");
        assert!(!item.eligibility.reason.is_empty(), "{hostname} says why it is not eligible");
    }
    let not_applicable: DevicePage = app.admin_get(&cookie, "/api/v1/devices?eligibility=not_applicable").await?;
    assert_eq!(not_applicable.total, 9);

    // One switch is not enough.
    let half = json!({"switches": {"security_settings_management": true, "enforce_security_configuration": false}});
    app.update_tenant(&cookie, &half).await?;
    let eligible: DevicePage = app.admin_get(&cookie, "/api/v1/devices?eligibility=eligible").await?;
    assert_eq!(eligible.total, 0);

    let tenant = app.set_switches(&cookie, true).await?;
    assert!(tenant.switches.both_on());
    let eligible: DevicePage = app.admin_get(&cookie, "/api/v1/devices?eligibility=eligible").await?;
    assert_eq!(hostnames(&eligible), ["SRV-0001", "SRV-0004", "WS-0001"]);
    assert!(eligible.items.iter().all(|item| item.eligibility.code.code() == "eligible"));
    assert!(eligible.items.iter().all(|item| item.eligibility.reason.is_empty()));

    let not_applicable: DevicePage = app.admin_get(&cookie, "/api/v1/devices?eligibility=not_applicable").await?;
    assert_eq!(not_applicable.total, 6);
    for item in &not_applicable.items {
        let hostname = item.facts.hostname.as_str();
        assert_eq!(item.eligibility.code.code(), fleet_support(hostname), "{hostname}");
    }
    Ok(())
}

#[tokio::test]
async fn a_bad_devices_query_is_refused_with_400_naming_every_bad_parameter() -> anyhow::Result<()> {
    let (app, cookie) = app_with_fleet().await?;
    let response = app.admin_request(Method::GET, "/api/v1/devices?sort=colour&page=0", &cookie).send().await?;
    let envelope = error(response, StatusCode::BAD_REQUEST).await?;
    assert_eq!(envelope.error.code, ErrorCode::InvalidInput);
    let paths: Vec<&str> = envelope.error.violations.iter().map(|v| v.path.as_str()).collect();
    assert_eq!(paths, ["sort", "page"]);
    assert!(envelope.error.violations[0].message.contains("\"managed_by\""), "{:?}", envelope.error.violations[0]);

    let response = app
        .admin_request(Method::GET, "/api/v1/devices?per_page=501&managed_by=sccm&colour=red", &cookie)
        .send()
        .await?;
    let envelope = error(response, StatusCode::BAD_REQUEST).await?;
    let paths: Vec<&str> = envelope.error.violations.iter().map(|v| v.path.as_str()).collect();
    assert_eq!(paths, ["per_page", "managed_by", "colour"]);
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// Tenant

#[tokio::test]
async fn a_fresh_tenant_has_both_switches_off_and_no_onboarding_token() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let cookie = app.sign_in_as_admin().await?;
    let tenant: Value = app.admin_get(&cookie, "/api/v1/tenant").await?;
    assert_eq!(
        tenant["switches"],
        json!({"security_settings_management": false, "enforce_security_configuration": false})
    );
    assert_eq!(tenant["licences"], json!({"defender_for_endpoint": false, "directory_premium_p1": false}));
    let tokens: Vec<OnboardingTokenSummary> = app.admin_get(&cookie, "/api/v1/tenant/onboarding-tokens").await?;
    assert!(tokens.is_empty(), "{tokens:?}");
    Ok(())
}

#[tokio::test]
async fn an_onboarding_token_is_given_once_in_its_package_and_listed_with_its_limits_but_never_in_clear()
-> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let cookie = app.sign_in_as_admin().await?;
    let response = app
        .admin_request(Method::POST, "/api/v1/tenant/onboarding-tokens", &cookie)
        .json(&json!({"name": "  Berlin office  ", "expires_in_days": 7, "max_uses": 50}))
        .send()
        .await?;
    let created: CreatedOnboardingToken = json_body(response, StatusCode::CREATED).await?;
    let secret = &created.package.onboarding_token;
    assert!(is_lower_hex(secret, 64));
    assert_eq!(created.package.server_url, app.base_url());
    assert_eq!(created.token.name, "Berlin office");
    assert_eq!(created.token.ends_with, secret[60..]);
    assert_eq!((created.token.max_uses, created.token.uses), (Some(50), 0));
    let expires_in = created.token.expires_at.expect("an expiry") - created.token.created_at;
    assert_eq!(expires_in, 7 * 24 * 60 * 60);
    assert_eq!(created.token.state, OnboardingTokenState::Active);
    assert_eq!(created.token.created_by, ADMIN_USER);

    let listed = app.admin_request(Method::GET, "/api/v1/tenant/onboarding-tokens", &cookie).send().await?;
    let text = listed.text().await?;
    assert!(!text.contains(secret.as_str()), "the list never carries the token");
    let tokens: Vec<OnboardingTokenSummary> = serde_json::from_str(&text)?;
    assert_eq!(tokens, std::slice::from_ref(&created.token));
    Ok(())
}

#[tokio::test]
async fn a_bad_onboarding_token_request_is_refused_naming_every_field() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let cookie = app.sign_in_as_admin().await?;
    let response = app
        .admin_request(Method::POST, "/api/v1/tenant/onboarding-tokens", &cookie)
        .json(&json!({"name": " ", "expires_in_days": 0, "max_uses": 0}))
        .send()
        .await?;
    let envelope = error(response, StatusCode::BAD_REQUEST).await?;
    let paths: Vec<&str> = envelope.error.violations.iter().map(|v| v.path.as_str()).collect();
    assert_eq!(paths, ["name", "expires_in_days", "max_uses"]);
    let tokens: Vec<OnboardingTokenSummary> = app.admin_get(&cookie, "/api/v1/tenant/onboarding-tokens").await?;
    assert!(tokens.is_empty(), "nothing was written");
    Ok(())
}

#[tokio::test]
async fn a_revoked_token_onboards_nothing_and_devices_onboarded_with_it_keep_working() -> anyhow::Result<()> {
    let (app, cookie, device_id, secret) = app_with_one_device().await?;
    let tokens: Vec<OnboardingTokenSummary> = app.admin_get(&cookie, "/api/v1/tenant/onboarding-tokens").await?;
    assert_eq!(tokens[0].uses, 1);
    let other = app.onboarding_token(&cookie).await?;
    let path = format!("/api/v1/tenant/onboarding-tokens/{}/revoke", tokens[0].id);
    let response = app.admin_request(Method::POST, &path, &cookie).send().await?;
    let revoked: OnboardingTokenSummary = json_body(response, StatusCode::OK).await?;
    assert_eq!(revoked.state, OnboardingTokenState::Revoked);
    assert!(revoked.revoked_at.is_some());

    // The revoked token's value is unknown to the test (it is stored hashed): the device's own onboarding used it,
    // so a fresh device onboarding with the remaining token works, and the listing shows which is which.
    let onboarded = app.onboard_device(&other, &facts("WS-0002")).await?;
    assert_eq!(onboarded["registration"], "created");
    let response = app.check_in(Some(&device_authorization(&device_id, &secret))).await?;
    assert_eq!(response.status(), StatusCode::OK, "devices onboarded with a revoked token keep working");
    let response =
        app.admin_request(Method::POST, "/api/v1/tenant/onboarding-tokens/nope/revoke", &cookie).send().await?;
    error(response, StatusCode::NOT_FOUND).await?;
    Ok(())
}

#[tokio::test]
async fn a_token_onboards_at_most_its_uses_even_in_parallel_and_not_after_revocation() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let cookie = app.sign_in_as_admin().await?;
    let response = app
        .admin_request(Method::POST, "/api/v1/tenant/onboarding-tokens", &cookie)
        .json(&json!({"name": "Three devices", "max_uses": 3}))
        .send()
        .await?;
    let created: CreatedOnboardingToken = json_body(response, StatusCode::CREATED).await?;
    let token = created.package.onboarding_token.clone();
    let attempts = (0..12).map(|i| {
        let body = json!({"onboarding_token": token, "facts": facts(&format!("PAR-{i:04}"))});
        let app = &app;
        async move { app.onboard(&body).await.map(|response| response.status()) }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    let created_n = statuses.iter().filter(|s| matches!(s, Ok(StatusCode::CREATED))).count();
    let refused_n = statuses.iter().filter(|s| matches!(s, Ok(StatusCode::UNAUTHORIZED))).count();
    assert_eq!((created_n, refused_n), (3, 9), "{statuses:?}");
    let tokens: Vec<OnboardingTokenSummary> = app.admin_get(&cookie, "/api/v1/tenant/onboarding-tokens").await?;
    assert_eq!((tokens[0].uses, tokens[0].state), (3, OnboardingTokenState::UsedUp));

    let revocable = app.onboarding_token(&cookie).await?;
    let tokens: Vec<OnboardingTokenSummary> = app.admin_get(&cookie, "/api/v1/tenant/onboarding-tokens").await?;
    assert_eq!(tokens[0].name, "Test devices", "newest first, also within one second");
    let path = format!("/api/v1/tenant/onboarding-tokens/{}/revoke", tokens[0].id);
    app.admin_request(Method::POST, &path, &cookie).send().await?;
    let response = app.onboard(&json!({"onboarding_token": revocable, "facts": facts("LATE-0001")})).await?;
    assert_eq!(unauthenticated(response).await?, TOKEN_UNAUTHENTICATED);
    Ok(())
}

#[tokio::test]
async fn updating_the_tenant_changes_only_what_is_given() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let cookie = app.sign_in_as_admin().await?;
    let licences = json!({"licences": {"defender_for_endpoint": true, "directory_premium_p1": false}});
    let tenant = app.update_tenant(&cookie, &licences).await?;
    assert!(tenant.licences.defender_for_endpoint && !tenant.licences.directory_premium_p1);
    assert!(!tenant.switches.security_settings_management);

    let tenant = app.set_switches(&cookie, true).await?;
    assert!(tenant.switches.both_on());
    assert!(tenant.licences.defender_for_endpoint, "the licences stay as they were");

    let response =
        app.admin_request(Method::PATCH, "/api/v1/tenant", &cookie).json(&json!({"colour": "blue"})).send().await?;
    let envelope = error(response, StatusCode::BAD_REQUEST).await?;
    assert_eq!(envelope.error.code, ErrorCode::InvalidInput);
    let response = app
        .admin_request(Method::PATCH, "/api/v1/tenant", &cookie)
        .json(&json!({"switches": {"security_settings_management": "yes", "enforce_security_configuration": true}}))
        .send()
        .await?;
    error(response, StatusCode::BAD_REQUEST).await?;
    assert!(app.tenant(&cookie).await?.switches.both_on(), "a refused update changes nothing");
    Ok(())
}

#[tokio::test]
async fn the_prerequisites_list_six_items_and_devices_reporting_is_met_after_a_check_in() -> anyhow::Result<()> {
    let (app, cookie, device_id, secret) = app_with_one_device().await?;
    let tenant = app.tenant(&cookie).await?;
    let ids: Vec<&str> = tenant.prerequisites.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "licence_mde",
            "licence_p1",
            "switch_security_settings_management",
            "switch_enforce_security_configuration",
            "security_manager",
            "devices_reporting"
        ]
    );
    let met = |tenant: &shared::api::TenantView, id: &str| {
        tenant.prerequisites.iter().find(|p| p.id == id).map(|p| (p.met, p.detail.clone())).expect("listed")
    };
    assert_eq!(met(&tenant, "security_manager"), (true, "1 admin holds the permission.".to_owned()));
    assert_eq!(
        met(&tenant, "devices_reporting"),
        (false, "0 of 1 onboarded devices checked in within the last 3 hours.".to_owned())
    );
    assert!(!met(&tenant, "licence_mde").0 && !met(&tenant, "switch_security_settings_management").0);

    let response = app.check_in(Some(&device_authorization(&device_id, &secret))).await?;
    assert_eq!(response.status(), StatusCode::OK);
    let tenant = app.tenant(&cookie).await?;
    assert_eq!(tenant.prerequisites.len(), 6);
    assert_eq!(
        met(&tenant, "devices_reporting"),
        (true, "1 of 1 onboarded devices checked in within the last 3 hours.".to_owned())
    );

    let tenant = app.set_switches(&cookie, true).await?;
    assert!(met(&tenant, "switch_security_settings_management").0);
    assert!(met(&tenant, "switch_enforce_security_configuration").0);
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// Devices' accountability

#[tokio::test]
async fn every_onboarding_is_audited_under_its_tokens_name_with_the_address_and_device() -> anyhow::Result<()> {
    let (app, cookie, device_id, _) = app_with_one_device().await?;
    let page: shared::audit::AuditPage = app.admin_get(&cookie, "/api/v1/audit?action=device_onboard").await?;
    assert_eq!(page.total, 1);
    let entry = &page.items[0];
    assert_eq!(
        (entry.actor.as_str(), entry.address.as_str(), entry.object_id.as_str(), entry.object_name.as_str()),
        ("onboarding token \u{201c}Test devices\u{201d}", "127.0.0.1", device_id.as_str(), "WS-0001")
    );
    Ok(())
}

#[tokio::test]
async fn a_deleted_devices_credentials_stop_at_once_and_the_deletion_is_audited() -> anyhow::Result<()> {
    let (app, cookie, device_id, secret) = app_with_one_device().await?;
    // Checked in first: the server holds its credentials in memory, and the deletion must reach those too.
    let response = app.check_in(Some(&device_authorization(&device_id, &secret))).await?;
    assert_eq!(response.status(), StatusCode::OK);
    let path = format!("/api/v1/devices/{device_id}");
    let response = app.admin_request(Method::DELETE, &path, &cookie).send().await?;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = app.check_in(Some(&device_authorization(&device_id, &secret))).await?;
    assert_eq!(unauthenticated(response).await?, DEVICE_UNAUTHENTICATED);
    error(app.admin_request(Method::GET, &path, &cookie).send().await?, StatusCode::NOT_FOUND).await?;
    error(app.admin_request(Method::DELETE, &path, &cookie).send().await?, StatusCode::NOT_FOUND).await?;
    let page: shared::audit::AuditPage = app.admin_get(&cookie, "/api/v1/audit?action=device_delete").await?;
    assert_eq!((page.total, page.items[0].object_name.as_str()), (1, "WS-0001"));
    let entry: shared::audit::AuditEntry =
        app.admin_get(&cookie, &format!("/api/v1/audit/{}", page.items[0].id)).await?;
    assert_eq!(entry.before.as_ref().map(|b| b["hostname"].clone()), Some(json!("WS-0001")));
    Ok(())
}

#[tokio::test]
async fn a_report_with_strings_over_their_bounds_is_refused_naming_each_field() -> anyhow::Result<()> {
    let (app, _, device_id, secret) = app_with_one_device().await?;
    let report = json!({
        "policies_hash": "h".repeat(129),
        "policies": [],
        "preferences": {"DisableRealtimeMonitoring": "x".repeat(16_385)}
    });
    let response = app
        .request(Method::POST, "/api/v1/device/report")
        .header(reqwest::header::AUTHORIZATION, device_authorization(&device_id, &secret))
        .json(&report)
        .send()
        .await?;
    let envelope = error(response, StatusCode::BAD_REQUEST).await?;
    let paths: Vec<&str> = envelope.error.violations.iter().map(|v| v.path.as_str()).collect();
    assert_eq!(paths, ["policies_hash", "preferences.DisableRealtimeMonitoring"]);
    Ok(())
}

#[tokio::test]
async fn behind_https_the_session_cookie_is_host_prefixed_and_secure_and_hsts_is_sent() -> anyhow::Result<()> {
    let app = TestApp::spawn_with(|config| server::Config { secure_cookies: true, ..config }).await?;
    let response = app.sign_in(ADMIN_USER, ADMIN_PASSWORD).await?;
    assert_eq!(response.status(), StatusCode::OK);
    let hsts = response.headers().get("strict-transport-security").and_then(|v| v.to_str().ok()).map(str::to_owned);
    assert_eq!(hsts.as_deref(), Some("max-age=31536000"));
    let set_cookie = session_set_cookie(&response).expect("a session cookie");
    assert!(set_cookie.starts_with("__Host-rampart_session=") && set_cookie.contains("; Secure"), "{set_cookie}");
    assert!(set_cookie.contains("Path=/") && !set_cookie.contains("Domain"), "{set_cookie}");
    let cookie = cookie_pair(&set_cookie).expect("a value");
    let me = app.admin_request(Method::GET, "/api/v1/auth/me", &cookie).send().await?;
    assert_eq!(me.status(), StatusCode::OK);
    // The unprefixed name is not read behind HTTPS (a sibling host could have planted it).
    let planted = cookie.replacen("__Host-", "", 1);
    let me = app.admin_request(Method::GET, "/api/v1/auth/me", &planted).send().await?;
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    Ok(())
}

#[tokio::test]
async fn an_upgraded_database_keeps_onboarding_with_the_token_its_agents_were_deployed_with() -> anyhow::Result<()> {
    // A data directory as the version before named tokens left it: migrations 1 to 5, an admin, the tenant's token.
    let dir = tempfile::tempdir()?;
    let options =
        sqlx::sqlite::SqliteConnectOptions::new().filename(dir.path().join("rampart.sqlite3")).create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options).await?;
    sqlx::query("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)")
        .execute(&pool)
        .await?;
    let migrations = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    for (version, file) in [
        (1, "0001_initial.sql"),
        (2, "0002_groups.sql"),
        (3, "0003_policies.sql"),
        (4, "0004_reports.sql"),
        (5, "0005_access_and_audit.sql"),
    ] {
        sqlx::raw_sql(&std::fs::read_to_string(migrations.join(file))?).execute(&pool).await?;
        sqlx::query("INSERT INTO schema_migrations VALUES (?, 0)").bind(version).execute(&pool).await?;
    }
    sqlx::query("INSERT INTO admins (username, password_hash, created_at) VALUES ('admin', 'x', 0)")
        .execute(&pool)
        .await?;
    let old_token: String = sqlx::query_scalar("SELECT onboarding_token FROM tenant").fetch_one(&pool).await?;
    pool.close().await;

    let store = server::store::SqliteStore::open(dir.path()).await?;
    let tokens = store.list_onboarding_tokens().await?;
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].ends_with, old_token[60..]);
    assert!(store.onboarding_token_usable(&server::credentials::sha256_hex(&old_token), server::now()).await?);
    let kept: String = sqlx::query_scalar("SELECT onboarding_token FROM tenant")
        .fetch_one(
            &sqlx::SqlitePool::connect_with(
                sqlx::sqlite::SqliteConnectOptions::new().filename(dir.path().join("rampart.sqlite3")),
            )
            .await?,
        )
        .await?;
    assert_eq!(kept, "", "the token in clear is gone from the database");

    // A fresh database, where nobody has seen the first migration's token, gets none.
    let fresh = tempfile::tempdir()?;
    let store = server::store::SqliteStore::open(fresh.path()).await?;
    assert!(store.list_onboarding_tokens().await?.is_empty());
    Ok(())
}
