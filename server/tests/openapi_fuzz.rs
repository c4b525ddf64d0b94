//! A schemathesis-style run: every operation of the live server's OpenAPI document is called many times with
//! generated path parameters, query strings, headers and bodies (random JSON, mutated valid bodies, wrong content
//! types, no session), and no answer may be a 5xx; every error must be the JSON envelope. Plus the hostile-body
//! limits: an oversized body is 413 and a deeply nested one 400.

mod common;

use std::collections::BTreeMap;

use common::{TestApp, facts, json_body};
use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};
use shared::error::ErrorEnvelope;

/// xorshift64*: a seeded generator, so that a failing run can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn text(&mut self) -> &'static str {
        STRINGS[self.below(STRINGS.len())]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const STRINGS: &[&str] = &[
    "",
    "x",
    "1",
    "0",
    "-1",
    "99999999999999999999",
    "true",
    "null",
    "antivirus",
    "firewall",
    "all-devices",
    "asc",
    "desc",
    "hostname",
    "mde",
    "windows_11",
    "static",
    "dynamic",
    "administrator",
    "read_only_operator",
    "policy",
    "🦀",
    "\u{0}",
    "../../etc/passwd",
    "' OR 1=1 --",
    "<script>",
    "%00",
    "é",
];
const KEYS: &[&str] = &[
    "type",
    "q",
    "page",
    "per_page",
    "sort",
    "dir",
    "from",
    "to",
    "actor",
    "object_type",
    "object_id",
    "action",
    "since",
    "until",
    "os",
    "managed_by",
    "eligibility",
    "name",
    "rule",
    "kind",
    "group_id",
    "device_ids",
    "role",
    "disabled",
    "profile",
    "settings",
    "assignments",
    "include",
    "exclude",
    "switches",
    "licences",
    "username",
    "password",
    "current_password",
    "new_password",
    "onboarding_token",
    "facts",
    "policies",
    "preferences",
    "id",
    "value",
    "choice",
    "string_list",
    "description",
];

fn random_json(rng: &mut Rng, depth: u32) -> Value {
    match rng.below(if depth == 0 { 5 } else { 8 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.chance(50)),
        2 => json!(rng.next() as i64),
        3 => json!(*rng.pick(STRINGS)),
        4 => json!(rng.pick(STRINGS).repeat(rng.below(300))),
        5 | 6 => {
            let n = rng.below(6);
            let map: Map<String, Value> =
                (0..n).map(|_| ((*rng.pick(KEYS)).to_owned(), random_json(rng, depth - 1))).collect();
            Value::Object(map)
        }
        _ => Value::Array((0..rng.below(5)).map(|_| random_json(rng, depth - 1)).collect()),
    }
}

/// Replaces a random member of a valid body with random JSON.
fn mutate(rng: &mut Rng, mut body: Value) -> Value {
    if let Value::Object(map) = &mut body
        && !map.is_empty()
    {
        let key = map.keys().nth(rng.below(map.len())).cloned().unwrap_or_default();
        if rng.chance(30) {
            map.remove(&key);
        } else {
            map.insert(key, random_json(rng, 2));
        }
    }
    body
}

#[tokio::test]
async fn no_generated_request_to_any_documented_operation_gets_a_5xx() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let cookie = app.sign_in_as_admin().await?;
    app.set_switches(&cookie, true).await?;
    let token = app.onboarding_token(&cookie).await?;
    let device = app.onboard_device_typed(&token, &facts("LAP-1")).await?;
    let group: shared::api::GroupDetail = json_body(
        app.admin_request(Method::POST, "/api/v1/groups", &cookie)
            .json(&json!({"name": "G", "kind": "static"}))
            .send()
            .await?,
        StatusCode::CREATED,
    )
    .await?;
    let valid_policy = json!({
        "profile": "microsoft_defender_antivirus", "name": "P",
        "settings": [{"id": "device_vendor_msft_policy_config_defender_allowrealtimemonitoring", "value": {"choice": "1"}}],
        "assignments": {"include": [{"group_id": group.summary.id}]}
    });
    let policy: shared::policy::Policy = json_body(
        app.admin_request(Method::POST, "/api/v1/policies", &cookie).json(&valid_policy).send().await?,
        StatusCode::CREATED,
    )
    .await?;
    let ids = [policy.id.clone(), group.summary.id.clone(), device.device_id.clone(), "admin".to_owned()];
    let valid_bodies = [
        valid_policy,
        json!({"name": "G2", "kind": "dynamic", "rule": "managed_by == \"mde\""}),
        json!({"device_ids": [device.device_id]}),
        json!({"switches": {"security_settings_management": true, "enforce_security_configuration": true}}),
        json!({"username": "u", "role": "read_only_operator"}),
        json!({"onboarding_token": token, "facts": facts("LAP-2")}),
    ];

    let document: Value =
        json_body(app.request(Method::GET, "/api/v1/openapi.json").send().await?, StatusCode::OK).await?;
    let seed = std::env::var("RAMPART_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed_1234_u64);
    let per_operation: usize =
        std::env::var("RAMPART_FUZZ_PER_OPERATION").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    let mut rng = Rng(seed);
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    let mut n = 0;
    let client = reqwest::Client::new();
    for (template, operations) in document["paths"].as_object().expect("paths") {
        for (method, _) in operations.as_object().expect("operations") {
            // Signing out would end the session the run uses; it is exercised by the other tests.
            if template == "/auth/logout" || template == "/auth/password" {
                continue;
            }
            for _ in 0..per_operation {
                let path: String = template
                    .split('/')
                    .map(|segment| {
                        if segment.starts_with('{') {
                            if rng.chance(60) {
                                rng.pick(&ids).clone()
                            } else {
                                shared::query::percent_encode(rng.text())
                            }
                        } else {
                            segment.to_owned()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("/");
                let query: Vec<String> = (0..rng.below(4))
                    .map(|_| format!("{}={}", rng.pick(KEYS), shared::query::percent_encode(rng.text())))
                    .collect();
                let url = format!("{}/api/v1{path}?{}", app.base_url(), query.join("&"));
                let mut request = client.request(Method::from_bytes(method.to_uppercase().as_bytes())?, &url);
                if rng.chance(90) {
                    request = request.header("cookie", &cookie).header("x-rampart-csrf", "1");
                }
                // Header values must be visible ASCII; the others cannot be sent at all.
                let header = |text: String| {
                    text.bytes()
                        .all(|b| (0x20..0x7f).contains(&b))
                        .then(|| reqwest::header::HeaderValue::from_str(&text).ok())
                        .flatten()
                };
                if rng.chance(30)
                    && let Some(value) = header(format!("\"{}\"", rng.text()))
                {
                    request = request.header("if-match", value);
                }
                if rng.chance(20)
                    && let Some(value) = header(format!("Device {}:{}", rng.pick(&ids), rng.text()))
                {
                    request = request.header("authorization", value);
                }
                request = match rng.below(4) {
                    0 => request.json(&random_json(&mut rng, 4)),
                    1 => {
                        let valid = rng.pick(&valid_bodies).clone();
                        request.json(&mutate(&mut rng, valid))
                    }
                    2 => request.header("content-type", "text/plain").body(rng.pick(STRINGS).repeat(rng.below(50))),
                    _ => request,
                };
                let response = request.send().await.map_err(|e| anyhow::anyhow!("{method} {url}: {e:?}"))?;
                let status = response.status();
                *statuses.entry(status.as_u16()).or_default() += 1;
                n += 1;
                let content_type =
                    response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                let text = response.text().await?;
                assert!(!status.is_server_error(), "{method} {url} → {status}: {text}");
                if status.is_client_error() {
                    assert!(
                        serde_json::from_str::<ErrorEnvelope>(&text).is_ok(),
                        "{method} {url} → {status} without the envelope: {text}"
                    );
                    assert!(content_type.starts_with("application/json"), "{content_type}");
                }
            }
        }
    }
    println!(
        "{n} generated requests over {} paths (seed {seed:#x}): statuses {statuses:?}",
        document["paths"].as_object().map_or(0, Map::len)
    );
    assert!(n >= 2000);
    Ok(())
}

#[tokio::test]
async fn oversized_and_deeply_nested_bodies_are_refused_with_the_envelope() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let cookie = app.sign_in_as_admin().await?;
    let huge = format!("{{\"name\": \"{}\"}}", "x".repeat(3 << 20));
    let response = app
        .admin_request(Method::POST, "/api/v1/groups", &cookie)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await?;
    assert_eq!(
        common::error(response, StatusCode::PAYLOAD_TOO_LARGE).await?.error.message,
        "The request body is too large."
    );
    // 100,000 levels: serde_json stops at 128 and says so; no stack overflow, a 400 with the envelope.
    let deep = format!("{{\"a\": {}{}}}", "[".repeat(100_000), "]".repeat(100_000));
    for path in ["/api/v1/policies", "/api/v1/policies/import", "/api/v1/groups"] {
        let response = app
            .admin_request(Method::POST, path, &cookie)
            .header("content-type", "application/json")
            .body(deep.clone())
            .send()
            .await?;
        let envelope = common::error(response, StatusCode::BAD_REQUEST).await?;
        assert!(!envelope.error.violations.is_empty(), "{path}: {envelope:?}");
    }
    let response =
        app.admin_request(Method::POST, "/api/v1/policies/import", &cookie).body(deep.clone()).send().await?;
    let envelope = common::error(response, StatusCode::BAD_REQUEST).await?;
    assert!(envelope.error.violations.iter().any(|v| v.message.contains("recursion limit")), "{envelope:?}");
    Ok(())
}
