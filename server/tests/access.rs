//! Roles, permissions and the audit log, over HTTP: every mutating route of the OpenAPI document refuses a Read Only
//! Operator with 403 and changes nothing; an Endpoint Security Manager manages policies but not the tenant or users;
//! invitations, one-time passwords, disabling and the last Administrator; CSRF and sign-in limits; and the audit
//! entries those changes leave, before and after included.

mod common;

use common::{ADMIN_PASSWORD, ADMIN_USER, TestApp, facts, json_body};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shared::access::{Role, UserSummary};
use shared::audit::{AuditAction, AuditPage};
use shared::error::ErrorCode;
use shared::policy::Policy;

const REALTIME: &str = "device_vendor_msft_policy_config_defender_allowrealtimemonitoring";

struct Tenant {
    app: TestApp,
    admin: String,
    group: String,
    child: String,
    policy: Policy,
    device: String,
}

async fn tenant() -> anyhow::Result<Tenant> {
    let app = TestApp::spawn().await?;
    let admin = app.sign_in_as_admin().await?;
    app.set_switches(&admin, true).await?;
    let token = app.onboarding_token(&admin).await?;
    let device = app.onboard_device_typed(&token, &facts("LAP-1")).await?.device_id;
    let mut ids = Vec::new();
    for name in ["Pilot", "Inner"] {
        let response = app
            .admin_request(Method::POST, "/api/v1/groups", &admin)
            .json(&json!({"name": name, "kind": "static"}))
            .send()
            .await?;
        let group: shared::api::GroupDetail = json_body(response, StatusCode::CREATED).await?;
        ids.push(group.summary.id);
    }
    let body = json!({
        "profile": "microsoft_defender_antivirus", "name": "Baseline",
        "settings": [{"id": REALTIME, "value": {"choice": "1"}}],
        "assignments": {"include": [{"group_id": ids[0]}]}
    });
    let response = app.admin_request(Method::POST, "/api/v1/policies", &admin).json(&body).send().await?;
    let policy: Policy = json_body(response, StatusCode::CREATED).await?;
    let child = ids.pop().unwrap_or_default();
    let group = ids.pop().unwrap_or_default();
    Ok(Tenant { app, admin, group, child, policy, device })
}

impl Tenant {
    /// Everything an admin can read, to compare before and after refused requests.
    async fn snapshot(&self) -> anyhow::Result<Value> {
        let mut all = serde_json::Map::new();
        for path in [
            "/api/v1/tenant",
            "/api/v1/tenant/onboarding-tokens",
            "/api/v1/users",
            "/api/v1/groups",
            "/api/v1/policies",
            "/api/v1/devices",
        ] {
            all.insert(path.to_owned(), self.app.admin_get(&self.admin, path).await?);
        }
        let policy: Value = self.app.admin_get(&self.admin, &format!("/api/v1/policies/{}", self.policy.id)).await?;
        all.insert("policy".to_owned(), policy);
        let audit: AuditPage = self.app.admin_get(&self.admin, "/api/v1/audit?per_page=1").await?;
        all.insert("audit entries".to_owned(), json!(audit.total));
        Ok(Value::Object(all))
    }

    /// A concrete path for a route template, with the tenant's real ids.
    fn path(&self, template: &str) -> String {
        template
            .replace(
                "{id}",
                if template.starts_with("/groups") {
                    &self.group
                } else if template.starts_with("/devices") {
                    &self.device
                } else {
                    &self.policy.id
                },
            )
            .replace("{child}", &self.child)
            .replace("{device_id}", &self.device)
            .replace("{username}", ADMIN_USER)
    }

    /// A body that would be valid for the route, so that only the permission can refuse it.
    fn body(&self, method: &str, template: &str) -> Value {
        match (method, template) {
            ("POST", "/users") => json!({"username": "mallory", "role": "administrator"}),
            ("PATCH", "/users/{username}") => json!({"role": "read_only_operator"}),
            ("PATCH", "/tenant") => {
                json!({"switches": {"security_settings_management": false, "enforce_security_configuration": false}})
            }
            ("POST", "/groups") => json!({"name": "Sneaky", "kind": "static"}),
            ("POST", "/tenant/onboarding-tokens") => json!({"name": "Sneaky"}),
            ("PATCH", "/groups/{id}") => json!({"name": "Renamed"}),
            ("POST", "/groups/{id}/members") | ("POST", "/groups/{id}/members/remove") => {
                json!({"device_ids": [self.device]})
            }
            ("POST", "/groups/{id}/nested") => json!({"group_id": self.child}),
            ("POST", "/policies") | ("PUT", "/policies/{id}") => {
                let mut draft = serde_json::to_value(&self.policy.draft).unwrap_or_default();
                draft["name"] = json!("Changed");
                draft
            }
            _ => json!({}),
        }
    }
}

#[tokio::test]
async fn a_read_only_operator_is_refused_every_mutating_route_of_the_openapi_document_and_nothing_changes()
-> anyhow::Result<()> {
    let tenant = tenant().await?;
    let reader = tenant.app.user_with_role(&tenant.admin, "rita", "read_only_operator", "rita-Password-1").await?;
    let before = tenant.snapshot().await?;
    let document: Value =
        json_body(tenant.app.request(Method::GET, "/api/v1/openapi.json").send().await?, StatusCode::OK).await?;
    let mut walked = Vec::new();
    for (template, operations) in document["paths"].as_object().expect("paths") {
        for (method, operation) in operations.as_object().expect("operations") {
            let permission = operation["x-rampart-permission"].as_str();
            // Mutating routes: not GET, and needing more than reading (POST /groups/preview only reads).
            if method == "get" || permission.is_none_or(|p| p == "read" || p == "view_tenant") {
                continue;
            }
            let method_upper = method.to_uppercase();
            let path = format!("/api/v1{}", tenant.path(template));
            let response = tenant
                .app
                .admin_request(Method::from_bytes(method_upper.as_bytes())?, &path, &reader)
                .header("if-match", "\"1\"")
                .json(&tenant.body(&method_upper, template))
                .send()
                .await?;
            let envelope = common::error(response, StatusCode::FORBIDDEN)
                .await
                .map_err(|e| anyhow::anyhow!("{method_upper} {path}: {e}"))?;
            assert_eq!(envelope.error.code, ErrorCode::Forbidden);
            assert!(envelope.error.message.contains("Read Only Operator"), "{}", envelope.error.message);
            walked.push(format!("{method_upper} {template}"));
        }
    }
    let expected = server::access::ROUTES
        .iter()
        .filter(|r| r.method != "GET")
        .filter(|r| {
            use shared::access::Permission::{Read, ViewTenant};
            matches!(r.access, server::access::Access::Needs(p) if p != Read && p != ViewTenant)
        })
        .count();
    assert_eq!(walked.len(), expected, "every mutating route: {walked:?}");
    assert_eq!(expected, 19);
    assert_eq!(tenant.snapshot().await?, before, "nothing changed");
    // It still reads everything (no onboarding token is ever readable in clear: they are stored hashed).
    let _: shared::api::TenantView = tenant.app.admin_get(&reader, "/api/v1/tenant").await?;
    let tokens: Vec<shared::api::OnboardingTokenSummary> =
        tenant.app.admin_get(&reader, "/api/v1/tenant/onboarding-tokens").await?;
    assert_eq!(tokens.len(), 1);
    let _: AuditPage = tenant.app.admin_get(&reader, "/api/v1/audit").await?;
    Ok(())
}

#[tokio::test]
async fn an_endpoint_security_manager_manages_policies_but_not_the_tenant_or_users() -> anyhow::Result<()> {
    let tenant = tenant().await?;
    let manager =
        tenant.app.user_with_role(&tenant.admin, "esme", "endpoint_security_manager", "esme-Password-1").await?;
    let me: shared::access::Me = tenant.app.admin_get(&manager, "/api/v1/auth/me").await?;
    assert_eq!((me.role, me.must_change_password), (Role::EndpointSecurityManager, false));
    let mut draft = serde_json::to_value(&tenant.policy.draft)?;
    draft["description"] = json!("by the manager");
    let path = format!("/api/v1/policies/{}", tenant.policy.id);
    let response =
        tenant.app.admin_request(Method::PUT, &path, &manager).header("if-match", "\"1\"").json(&draft).send().await?;
    assert_eq!(response.status(), StatusCode::OK);
    for (method, path, body) in [
        (
            Method::PATCH,
            "/api/v1/tenant",
            json!({"licences": {"defender_for_endpoint": false, "directory_premium_p1": false}}),
        ),
        (Method::POST, "/api/v1/tenant/onboarding-tokens", json!({"name": "Mine"})),
        (Method::POST, "/api/v1/users", json!({"username": "eve", "role": "administrator"})),
    ] {
        let response = tenant.app.admin_request(method.clone(), path, &manager).json(&body).send().await?;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{method} {path}");
    }
    for path in ["/api/v1/tenant/onboarding-tokens", "/api/v1/tenant", "/api/v1/users"] {
        let response = tenant.app.admin_request(Method::GET, path, &manager).send().await?;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "tenant administration is not theirs: {path}");
    }
    Ok(())
}

#[tokio::test]
async fn invited_users_replace_their_one_time_password_and_disabled_users_lose_their_sessions() -> anyhow::Result<()> {
    let tenant = tenant().await?;
    let app = &tenant.app;
    let response = app
        .admin_request(Method::POST, "/api/v1/users", &tenant.admin)
        .json(&json!({"username": "olga", "role": "endpoint_security_manager"}))
        .send()
        .await?;
    let created: shared::access::CreatedUser = json_body(response, StatusCode::CREATED).await?;
    assert!(created.user.must_change_password && created.one_time_password.len() >= 16);
    let olga = app.sign_in_as("olga", &created.one_time_password).await?;
    let refused =
        common::error(app.admin_request(Method::GET, "/api/v1/devices", &olga).send().await?, StatusCode::FORBIDDEN)
            .await?;
    assert_eq!(refused.error.message, "Choose your own password first.");
    let short = json!({"current_password": created.one_time_password, "new_password": "short"});
    let response = app.admin_request(Method::POST, "/api/v1/auth/password", &olga).json(&short).send().await?;
    let envelope = common::error(response, StatusCode::BAD_REQUEST).await?;
    assert_eq!(envelope.error.violations[0].path, "new_password");
    let other_session = app.sign_in_as("olga", &created.one_time_password).await?;
    let good = json!({"current_password": created.one_time_password, "new_password": "olga-Password-1"});
    let response = app.admin_request(Method::POST, "/api/v1/auth/password", &olga).json(&good).send().await?;
    assert_eq!(response.status(), StatusCode::OK);
    // The change rotates this session's token and ends every other session of the account.
    let rotated = common::session_set_cookie(&response).and_then(|c| common::cookie_pair(&c)).expect("a new cookie");
    assert_ne!(rotated, olga);
    for old in [&olga, &other_session] {
        let response = app.admin_request(Method::GET, "/api/v1/auth/me", old).send().await?;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "an old session still answers");
    }
    let olga = rotated;
    assert_eq!(app.admin_request(Method::GET, "/api/v1/devices", &olga).send().await?.status(), StatusCode::OK);

    // The same name twice is refused; disabling ends the sessions; the last Administrator stays.
    let again = app
        .admin_request(Method::POST, "/api/v1/users", &tenant.admin)
        .json(&json!({"username": "olga", "role": "read_only_operator"}))
        .send()
        .await?;
    assert_eq!(common::error(again, StatusCode::BAD_REQUEST).await?.error.violations[0].path, "username");
    let disable = app
        .admin_request(Method::PATCH, "/api/v1/users/olga", &tenant.admin)
        .json(&json!({"disabled": true}))
        .send()
        .await?;
    let olga_now: UserSummary = json_body(disable, StatusCode::OK).await?;
    assert!(olga_now.disabled);
    assert_eq!(
        app.admin_request(Method::GET, "/api/v1/devices", &olga).send().await?.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.sign_in("olga", "olga-Password-1").await?.status(), StatusCode::UNAUTHORIZED);
    let demote = app
        .admin_request(Method::PATCH, &format!("/api/v1/users/{ADMIN_USER}"), &tenant.admin)
        .json(&json!({"role": "read_only_operator"}))
        .send()
        .await?;
    let envelope = common::error(demote, StatusCode::CONFLICT).await?;
    assert!(envelope.error.message.contains("last enabled Administrator"), "{}", envelope.error.message);
    Ok(())
}

#[tokio::test]
async fn a_cookie_authenticated_write_without_the_csrf_header_is_refused_and_changes_nothing() -> anyhow::Result<()> {
    let tenant = tenant().await?;
    let bare = reqwest::Client::new();
    let before = tenant.snapshot().await?;
    let response = bare
        .delete(format!("{}/api/v1/policies/{}", tenant.app.base_url(), tenant.policy.id))
        .header("cookie", &tenant.admin)
        .send()
        .await?;
    let envelope = common::error(response, StatusCode::FORBIDDEN).await?;
    assert!(envelope.error.message.contains("x-rampart-csrf"), "{}", envelope.error.message);
    let response = bare
        .post(format!("{}/api/v1/auth/login", tenant.app.base_url()))
        .json(&json!({"username": ADMIN_USER, "password": ADMIN_PASSWORD}))
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::FORBIDDEN, "no login CSRF either");
    assert_eq!(tenant.snapshot().await?, before);
    Ok(())
}

#[tokio::test]
async fn sign_in_is_limited_per_account_with_a_clear_message_and_every_attempt_is_audited() -> anyhow::Result<()> {
    let tenant = tenant().await?;
    for _ in 0..5 {
        assert_eq!(tenant.app.sign_in(ADMIN_USER, "wrong password").await?.status(), StatusCode::UNAUTHORIZED);
    }
    let locked =
        common::error(tenant.app.sign_in(ADMIN_USER, ADMIN_PASSWORD).await?, StatusCode::TOO_MANY_REQUESTS).await?;
    // The message says when, never why (which account or address is throttled).
    assert_eq!(locked.error.message, "Too many sign-in attempts. Try again in 15 minutes.");
    assert_eq!(tenant.app.sign_in("nobody", "my secret password").await?.status(), StatusCode::UNAUTHORIZED);
    let failed: AuditPage = tenant.app.admin_get(&tenant.admin, "/api/v1/audit?action=sign_in_failed").await?;
    assert_eq!(failed.total, 6);
    assert!(failed.items[1..].iter().all(|e| e.actor == ADMIN_USER && e.address == "127.0.0.1"));
    // A name that is no account is not kept (it is often a password typed in the wrong field).
    assert_eq!(failed.items[0].actor, shared::audit::UNKNOWN_ACCOUNT);
    let all = tenant.app.admin_request(Method::GET, "/api/v1/audit.csv", &tenant.admin).send().await?.text().await?;
    assert!(!all.contains("nobody"), "{all}");

    // Read Only Operators do not see which accounts failed to sign in.
    let reader = tenant.app.user_with_role(&tenant.admin, "rita", "read_only_operator", "rita-Password-1").await?;
    let seen: AuditPage = tenant.app.admin_get(&reader, "/api/v1/audit?action=sign_in_failed").await?;
    assert!(seen.items.iter().all(|e| e.actor == shared::audit::HIDDEN_ACCOUNT && e.object_name == e.actor));
    let csv = tenant.app.admin_request(Method::GET, "/api/v1/audit.csv?action=sign_in_failed", &reader).send().await?;
    assert!(!csv.text().await?.contains(ADMIN_USER));
    Ok(())
}

#[tokio::test]
async fn each_change_leaves_one_audit_entry_with_who_where_and_the_values_before_and_after() -> anyhow::Result<()> {
    let tenant = tenant().await?;
    let mut draft = serde_json::to_value(&tenant.policy.draft)?;
    draft["settings"][0]["value"] = json!({"choice": "0"});
    let path = format!("/api/v1/policies/{}", tenant.policy.id);
    let response = tenant
        .app
        .admin_request(Method::PUT, &path, &tenant.admin)
        .header("if-match", "\"1\"")
        .json(&draft)
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::OK);
    let page: AuditPage = tenant
        .app
        .admin_get(&tenant.admin, &format!("/api/v1/audit?object_type=policy&object_id={}", tenant.policy.id))
        .await?;
    let actions: Vec<AuditAction> = page.items.iter().map(|e| e.action).collect();
    assert_eq!(actions, [AuditAction::PolicyUpdate, AuditAction::PolicyCreate], "newest first");
    let update = &page.items[0];
    assert_eq!(
        (update.actor.as_str(), update.address.as_str(), update.object_name.as_str()),
        (ADMIN_USER, "127.0.0.1", "Baseline")
    );
    // The list carries summaries; the entry's own page the values before and after.
    assert_eq!(update.summary, "Changed settings, version");
    assert_eq!((&update.before, &update.after), (&None, &None));
    let update: shared::audit::AuditEntry =
        tenant.app.admin_get(&tenant.admin, &format!("/api/v1/audit/{}", update.id)).await?;
    let before = update.before.as_ref().expect("before");
    let after = update.after.as_ref().expect("after");
    assert_eq!((before["version"].as_i64(), after["version"].as_i64()), (Some(1), Some(2)));
    assert_eq!(before["policy"]["settings"][0]["value"], json!({"choice": "1"}));
    assert_eq!(after["policy"]["settings"][0]["value"], json!({"choice": "0"}));

    // Every kind of change so far is there: sign-in, tenant, groups, policy.
    let all: AuditPage = tenant.app.admin_get(&tenant.admin, "/api/v1/audit?per_page=100").await?;
    for action in [AuditAction::SignIn, AuditAction::TenantUpdate, AuditAction::GroupCreate, AuditAction::PolicyCreate]
    {
        assert!(all.items.iter().any(|e| e.action == action), "{action:?} is audited");
    }
    let tenant_change = all.items.iter().find(|e| e.action == AuditAction::TenantUpdate).expect("tenant");
    let tenant_change: shared::audit::AuditEntry =
        tenant.app.admin_get(&tenant.admin, &format!("/api/v1/audit/{}", tenant_change.id)).await?;
    assert_eq!(tenant_change.before.as_ref().map(|b| b["security_settings_management"].clone()), Some(json!(false)));
    assert_eq!(tenant_change.after.as_ref().map(|a| a["security_settings_management"].clone()), Some(json!(true)));
    let csv =
        tenant.app.admin_request(Method::GET, "/api/v1/audit.csv?object_type=policy", &tenant.admin).send().await?;
    assert_eq!(csv.status(), StatusCode::OK);
    assert_eq!(csv.text().await?.lines().count(), 3, "a header and the two policy entries");
    let bad =
        tenant.app.admin_request(Method::GET, "/api/v1/audit?object_type=car&since=soon", &tenant.admin).send().await?;
    assert_eq!(common::error(bad, StatusCode::BAD_REQUEST).await?.error.violations.len(), 2);
    Ok(())
}

#[tokio::test]
async fn the_openapi_document_lists_every_route_and_every_listed_route_exists() -> anyhow::Result<()> {
    let tenant = tenant().await?;
    let document: Value =
        json_body(tenant.app.request(Method::GET, "/api/v1/openapi.json").send().await?, StatusCode::OK).await?;
    assert_eq!(document["openapi"], "3.1.0");
    let mut n = 0;
    for route in server::access::ROUTES {
        let operation = &document["paths"][route.path][route.method.to_lowercase()];
        assert!(operation.is_object(), "{} {} is in the document", route.method, route.path);
        // The router answers it (any status but the fallbacks' 404 "no such route" and 405).
        let path = format!("/api/v1{}", tenant.path(route.path));
        let response = tenant
            .app
            .admin_request(Method::from_bytes(route.method.as_bytes())?, &path, &tenant.admin)
            .header("if-match", "\"99\"")
            .json(&json!({}))
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await?;
        assert!(
            status != StatusCode::METHOD_NOT_ALLOWED && !text.contains("There is no such API route"),
            "{} {path}: {status}",
            route.method
        );
        n += 1;
    }
    assert_eq!(n, server::access::ROUTES.len());
    Ok(())
}

#[tokio::test]
async fn audit_entries_cannot_be_changed_or_deleted_even_in_the_database() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = server::store::SqliteStore::open(dir.path()).await?;
    server::demo::prepare(&store, "admin", true).await?;
    drop(store);
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.path().join("rampart.sqlite3").display())).await?;
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log").fetch_one(&pool).await?;
    assert!(n > 0, "the demo's preparation is audited");
    let update = sqlx::query("UPDATE audit_log SET actor = 'nobody'").execute(&pool).await;
    assert!(update.is_err_and(|e| e.to_string().contains("cannot be changed")));
    let delete = sqlx::query("DELETE FROM audit_log").execute(&pool).await;
    assert!(delete.is_err_and(|e| e.to_string().contains("cannot be deleted")));
    Ok(())
}

#[tokio::test]
async fn the_openapi_document_describes_bodies_with_schemas_generated_from_the_types() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let document: Value =
        json_body(app.request(Method::GET, "/api/v1/openapi.json").send().await?, StatusCode::OK).await?;
    let create = &document["paths"]["/policies"]["post"];
    assert_eq!(
        create["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/PolicyDraft"
    );
    assert_eq!(
        create["responses"]["201"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Policy"
    );
    let schemas = &document["components"]["schemas"];
    let draft = &schemas["PolicyDraft"];
    for field in ["profile", "name", "settings", "assignments"] {
        assert!(draft["properties"][field].is_object(), "PolicyDraft.{field}");
    }
    // Every $ref points at a schema the document has.
    let text = document.to_string();
    for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = reference.split('"').next().unwrap_or_default();
        assert!(schemas[name].is_object(), "{name} is defined");
    }
    assert_eq!(
        document["paths"]["/policies/{id}/report/devices.csv"]["get"]["responses"]["200"]["content"]["text/csv"]["schema"]
            ["type"],
        "string"
    );
    assert!(document["paths"]["/device/check-in"]["post"]["responses"]["304"].is_object());
    Ok(())
}
