//! What several benchmarks do the same way: onboard a device straight through the store, and sign in over HTTP.
#![allow(dead_code, reason = "shared by several benchmarks; each uses a part")]

use server::store::{NewDevice, Store};
use shared::api::UnixSeconds;
use shared::device::DeviceFacts;

/// Onboards the device `id` with `facts` and `secret_hash` through the store, with the token of `token_hash`.
pub async fn onboard(
    store: &dyn Store,
    token_hash: &str,
    id: String,
    facts: DeviceFacts,
    secret_hash: String,
    now: UnixSeconds,
) -> anyhow::Result<()> {
    let support = shared::eligibility::device_support(&facts);
    store
        .onboard_device(NewDevice {
            token_hash: token_hash.to_owned(),
            address: "127.0.0.1".to_owned(),
            id,
            secret_hash,
            facts,
            support,
            new_directory_device_id: server::credentials::random_guid(),
            previous_secret_hash: None,
            now,
        })
        .await?
        .ok_or_else(|| anyhow::anyhow!("the onboarding token was refused"))?;
    Ok(())
}

/// Signs in as `admin` with `password` and returns the `Cookie` header value to send from then on.
pub async fn sign_in(client: &reqwest::Client, url: &str, password: &str) -> anyhow::Result<String> {
    let login = client
        .post(format!("{url}/api/v1/auth/login"))
        .header("x-rampart-csrf", "1")
        .json(&serde_json::json!({"username": "admin", "password": password}))
        .send()
        .await?;
    anyhow::ensure!(login.status().is_success(), "sign-in failed: {}", login.status());
    let set_cookie = login.headers().get("set-cookie").and_then(|v| v.to_str().ok()).unwrap_or_default();
    Ok(set_cookie.split(';').next().unwrap_or_default().to_owned())
}
