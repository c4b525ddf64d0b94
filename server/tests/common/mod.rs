//! `TestApp`: the real router served on a loopback socket over a fresh data directory, with one admin account and
//! a reqwest client that speaks to it the way the admin center and the agent do.
//!
//! reqwest is built without its cookie store, so the `rampart_session` cookie is carried by hand, as a browser would
//! carry it: taken from `Set-Cookie`, sent back in `Cookie`.
#![allow(
    dead_code,
    reason = "shared by several test files; each uses a part, and `expect` would fail in the one that uses all"
)]

use server::store::{AccountStore, SqliteStore};
use std::sync::Arc;

use anyhow::Context;
use reqwest::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use server::credentials::hash_password;
use server::{AppState, Config};
use shared::api::{OnboardResponse, TenantView};
use shared::error::{ErrorCode, ErrorEnvelope};
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The admin account every `TestApp` starts with.
pub const ADMIN_USER: &str = "admin";
/// Its password.
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

/// One running server. Dropping it stops the server and removes its data directory.
pub struct TestApp {
    base_url: String,
    client: reqwest::Client,
    server: JoinHandle<()>,
    _data_dir: TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl TestApp {
    /// Opens a store in a fresh directory, creates the admin, and serves the router on 127.0.0.1 at a free port.
    pub async fn spawn() -> anyhow::Result<Self> {
        Self::spawn_with(|config| config).await
    }

    /// Like [`TestApp::spawn`], with the configuration changed by `configure`.
    pub async fn spawn_with(configure: impl FnOnce(Config) -> Config) -> anyhow::Result<Self> {
        let data_dir = tempfile::tempdir()?;
        let store = SqliteStore::open(data_dir.path()).await?;
        let hash = tokio::task::spawn_blocking(|| hash_password(ADMIN_PASSWORD)).await?.map_err(anyhow::Error::msg)?;
        store.set_admin_password(ADMIN_USER, &hash, false, &server::store::Actor::system(server::now())).await?;

        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let base_url = format!("http://{address}");
        let config = configure(Config { public_url: base_url.clone(), ..Config::default() });
        let router = server::router(AppState::new(Arc::new(store), config));
        let server = tokio::spawn(async move {
            axum::serve(
                server::listener(listener),
                router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await
            .expect("the test server stops only when aborted");
        });
        let mut headers = reqwest::header::HeaderMap::new();
        // What the admin center sends with every request (CSRF defence); tests of its absence use a bare client.
        headers.insert(server::access::CSRF_HEADER, reqwest::header::HeaderValue::from_static("1"));
        let client = reqwest::Client::builder().default_headers(headers).build()?;
        let app = Self { base_url, client, server, _data_dir: data_dir };

        // The listener is bound before the server task starts, so the first request already waits in its backlog.
        let health = app.request(Method::GET, "/api/v1/health").send().await?;
        anyhow::ensure!(health.status() == StatusCode::OK, "the server is not healthy: {}", health.status());
        Ok(app)
    }

    /// The server's base address, e.g. `http://127.0.0.1:41234`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// A request to `path` (starting with `/api/v1/`).
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base_url))
    }

    /// A request to `path` carrying the session `cookie` (`rampart_session=…`).
    pub fn admin_request(&self, method: Method, path: &str, cookie: &str) -> RequestBuilder {
        self.request(method, path).header(COOKIE, cookie)
    }

    /// `POST /api/v1/auth/login`.
    pub async fn sign_in(&self, username: &str, password: &str) -> anyhow::Result<Response> {
        let body = json!({"username": username, "password": password});
        Ok(self.request(Method::POST, "/api/v1/auth/login").json(&body).send().await?)
    }

    /// Signs in as the admin and returns the `Cookie` header value to send from then on.
    pub async fn sign_in_as_admin(&self) -> anyhow::Result<String> {
        let response = self.sign_in(ADMIN_USER, ADMIN_PASSWORD).await?;
        anyhow::ensure!(response.status() == StatusCode::OK, "sign-in failed: {}", response.status());
        let set_cookie = session_set_cookie(&response).context("sign-in set no session cookie")?;
        cookie_pair(&set_cookie).context("the session cookie has no value")
    }

    /// Signs in as `username` and returns the `Cookie` header value.
    pub async fn sign_in_as(&self, username: &str, password: &str) -> anyhow::Result<String> {
        let response = self.sign_in(username, password).await?;
        anyhow::ensure!(response.status() == StatusCode::OK, "sign-in of {username} failed: {}", response.status());
        let set_cookie = session_set_cookie(&response).context("sign-in set no session cookie")?;
        cookie_pair(&set_cookie).context("the session cookie has no value")
    }

    /// Invites `username` with `role` as the admin, replaces the one-time password with `password`, and returns the
    /// user's `Cookie` header value.
    pub async fn user_with_role(
        &self,
        admin: &str,
        username: &str,
        role: &str,
        password: &str,
    ) -> anyhow::Result<String> {
        let response = self
            .admin_request(Method::POST, "/api/v1/users", admin)
            .json(&json!({"username": username, "role": role}))
            .send()
            .await?;
        let created: shared::access::CreatedUser = json_body(response, StatusCode::CREATED).await?;
        let cookie = self.sign_in_as(username, &created.one_time_password).await?;
        let change = json!({"current_password": created.one_time_password, "new_password": password});
        let response = self.admin_request(Method::POST, "/api/v1/auth/password", &cookie).json(&change).send().await?;
        anyhow::ensure!(response.status() == StatusCode::OK, "password change failed: {}", response.status());
        // The change rotates the session: the answer sets the cookie to use from now on.
        let set_cookie = session_set_cookie(&response).context("the password change set no session cookie")?;
        cookie_pair(&set_cookie).context("the rotated session cookie has no value")
    }

    /// Creates an onboarding token (no expiry, no limit) as the admin and returns it.
    pub async fn onboarding_token(&self, cookie: &str) -> anyhow::Result<String> {
        let response = self
            .admin_request(Method::POST, "/api/v1/tenant/onboarding-tokens", cookie)
            .json(&json!({"name": "Test devices"}))
            .send()
            .await?;
        let created: shared::api::CreatedOnboardingToken = json_body(response, StatusCode::CREATED).await?;
        Ok(created.package.onboarding_token)
    }

    /// GETs `path` as the admin, checks the 200, and decodes the body.
    pub async fn admin_get<T: DeserializeOwned>(&self, cookie: &str, path: &str) -> anyhow::Result<T> {
        json_body(self.admin_request(Method::GET, path, cookie).send().await?, StatusCode::OK).await
    }

    /// The tenant administration page's data.
    pub async fn tenant(&self, cookie: &str) -> anyhow::Result<TenantView> {
        self.admin_get(cookie, "/api/v1/tenant").await
    }

    /// `PATCH /api/v1/tenant` with `body`, checking the 200.
    pub async fn update_tenant(&self, cookie: &str, body: &Value) -> anyhow::Result<TenantView> {
        let response = self.admin_request(Method::PATCH, "/api/v1/tenant", cookie).json(body).send().await?;
        json_body(response, StatusCode::OK).await
    }

    /// Sets both tenant switches to `on`.
    pub async fn set_switches(&self, cookie: &str, on: bool) -> anyhow::Result<TenantView> {
        let body = json!({"switches": {"security_settings_management": on, "enforce_security_configuration": on}});
        self.update_tenant(cookie, &body).await
    }

    /// `POST /api/v1/device/onboard` with `body` as it is.
    pub async fn onboard(&self, body: &Value) -> anyhow::Result<Response> {
        Ok(self.request(Method::POST, "/api/v1/device/onboard").json(body).send().await?)
    }

    /// Onboards a device with `token` and `facts`, checks the 201, and returns the raw answer.
    pub async fn onboard_device(&self, token: &str, facts: &Value) -> anyhow::Result<Value> {
        let response = self.onboard(&json!({"onboarding_token": token, "facts": facts})).await?;
        json_body(response, StatusCode::CREATED).await
    }

    /// Onboards a device with `token` and `facts`, checks the 201, and decodes the answer.
    pub async fn onboard_device_typed(&self, token: &str, facts: &Value) -> anyhow::Result<OnboardResponse> {
        Ok(serde_json::from_value(self.onboard_device(token, facts).await?)?)
    }

    /// `POST /api/v1/device/check-in` with this `Authorization` header, or none.
    pub async fn check_in(&self, authorization: Option<&str>) -> anyhow::Result<Response> {
        let mut request = self.request(Method::POST, "/api/v1/device/check-in");
        if let Some(authorization) = authorization {
            request = request.header(AUTHORIZATION, authorization);
        }
        Ok(request.send().await?)
    }
}

/// The `Authorization` value of a device.
pub fn device_authorization(device_id: &str, secret: &str) -> String {
    format!("Device {device_id}:{secret}")
}

/// Valid facts of a supported, MDE-managed workgroup Windows 11 Enterprise client named `hostname`.
pub fn facts(hostname: &str) -> Value {
    json!({
        "hostname": hostname,
        "os": "windows_11",
        "edition": "enterprise",
        "os_build": "10.0.22631.4460",
        "required_update_installed": true,
        "downlevel_agent_installed": false,
        "join_type": "workgroup",
        "directory_device_id": null,
        "managed_by": "mde"
    })
}

/// The `Set-Cookie` header that sets `rampart_session`, if any.
pub fn session_set_cookie(response: &Response) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with("rampart_session=") || value.starts_with("__Host-rampart_session="))
        .map(str::to_owned)
}

/// `name=value` of a `Set-Cookie` header, as a browser sends it back; `None` when the value is empty.
pub fn cookie_pair(set_cookie: &str) -> Option<String> {
    let pair = set_cookie.split(';').next()?.trim();
    let (_, value) = pair.split_once('=')?;
    (!value.is_empty()).then(|| pair.to_owned())
}

/// Checks the status and decodes the JSON body.
pub async fn json_body<T: DeserializeOwned>(response: Response, expected: StatusCode) -> anyhow::Result<T> {
    let status = response.status();
    let url = response.url().clone();
    let text = response.text().await?;
    anyhow::ensure!(status == expected, "{url}: expected {expected}, got {status}: {text}");
    serde_json::from_str(&text).with_context(|| format!("{url}: unexpected body {text}"))
}

/// Checks the status, that the body is the error envelope, and that its code goes with the status.
pub async fn error(response: Response, expected: StatusCode) -> anyhow::Result<ErrorEnvelope> {
    let content_type = response.headers().get(reqwest::header::CONTENT_TYPE).cloned();
    let envelope: ErrorEnvelope = json_body(response, expected).await?;
    anyhow::ensure!(
        content_type.as_ref().and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/json")),
        "the envelope is not declared as JSON: {content_type:?}"
    );
    anyhow::ensure!(
        envelope.error.code.http_status() == expected.as_u16(),
        "code {:?} does not go with {expected}",
        envelope.error.code
    );
    Ok(envelope)
}

/// Checks for a 401 `unauthenticated` envelope and returns its message.
pub async fn unauthenticated(response: Response) -> anyhow::Result<String> {
    let envelope = error(response, StatusCode::UNAUTHORIZED).await?;
    anyhow::ensure!(envelope.error.code == ErrorCode::Unauthenticated, "{envelope:?}");
    Ok(envelope.error.message)
}
