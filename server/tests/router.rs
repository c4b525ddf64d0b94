//! The router as a `tower::Service`: no socket, one request at a time through `server::router(state)`.
//!
//! These tests cover what every client meets before it has credentials: health, the 401 of every admin route,
//! the JSON envelope of unknown routes and malformed bodies, and the headers every response carries.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, Response, StatusCode, header};
use serde_json::{Value, json};
use server::store::SqliteStore;
use server::{AppState, Config};
use shared::error::{ErrorCode, ErrorEnvelope};
use tempfile::TempDir;
use tower::ServiceExt;

/// A router over a fresh database; the directory lives as long as the value.
struct TestRouter {
    router: Router,
    _data_dir: TempDir,
}

impl TestRouter {
    async fn new() -> anyhow::Result<Self> {
        let data_dir = tempfile::tempdir()?;
        let store = SqliteStore::open(data_dir.path()).await?;
        let state = AppState::new(Arc::new(store), Config::default());
        Ok(Self { router: server::router(state), _data_dir: data_dir })
    }

    async fn send(&self, mut request: Request<Body>) -> anyhow::Result<Response<Body>> {
        // As the admin center does (CSRF defence); the refusal without it is tested over HTTP.
        request.headers_mut().insert(server::access::CSRF_HEADER, axum::http::HeaderValue::from_static("1"));
        Ok(self.router.clone().oneshot(request).await?)
    }

    async fn get(&self, uri: &str) -> anyhow::Result<Response<Body>> {
        self.send(Request::get(uri).body(Body::empty())?).await
    }
}

/// A request with a JSON body.
fn json_request(method: Method, uri: &str, body: &Value) -> anyhow::Result<Request<Body>> {
    Ok(Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(serde_json::to_vec(body)?))?)
}

async fn body_bytes(response: Response<Body>) -> anyhow::Result<Vec<u8>> {
    Ok(axum::body::to_bytes(response.into_body(), usize::MAX).await?.to_vec())
}

/// The response's body as the error envelope, after checking that it is declared as JSON.
async fn envelope(response: Response<Body>) -> anyhow::Result<ErrorEnvelope> {
    let content_type = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    assert!(content_type.starts_with("application/json"), "an envelope is JSON, not {content_type:?}");
    Ok(serde_json::from_slice(&body_bytes(response).await?)?)
}

fn header_value(response: &Response<Body>, name: header::HeaderName) -> &str {
    response.headers().get(&name).and_then(|v| v.to_str().ok()).unwrap_or_else(|| panic!("no {name} header"))
}

/// Every route that needs an admin session, with a body where the route reads one.
fn admin_routes() -> Vec<(Method, &'static str, Option<Value>)> {
    let device = "/api/v1/devices/0b6f2c1e-5d3a-4c8e-9f1a-2b3c4d5e6f70";
    vec![
        (Method::GET, "/api/v1/devices", None),
        (Method::GET, device, None),
        (Method::POST, "/api/v1/devices/0b6f2c1e-5d3a-4c8e-9f1a-2b3c4d5e6f70/sync", None),
        (Method::GET, "/api/v1/tenant", None),
        (
            Method::PATCH,
            "/api/v1/tenant",
            Some(json!({"switches": {"security_settings_management": true, "enforce_security_configuration": true}})),
        ),
        (Method::GET, "/api/v1/tenant/onboarding-tokens", None),
        (Method::POST, "/api/v1/tenant/onboarding-tokens", Some(json!({"name": "Site"}))),
        (Method::POST, "/api/v1/tenant/onboarding-tokens/0b6f2c1e/revoke", None),
        (Method::DELETE, device, None),
        (Method::GET, "/api/v1/auth/me", None),
        (Method::POST, "/api/v1/auth/logout", None),
    ]
}

fn admin_request(
    method: &Method,
    uri: &str,
    body: Option<&Value>,
    cookie: Option<&str>,
) -> anyhow::Result<Request<Body>> {
    let mut request = match body {
        Some(body) => json_request(method.clone(), uri, body)?,
        None => Request::builder().method(method.clone()).uri(uri).body(Body::empty())?,
    };
    if let Some(cookie) = cookie {
        request.headers_mut().insert(header::COOKIE, cookie.parse()?);
    }
    Ok(request)
}

#[tokio::test]
async fn health_answers_200_with_status_ok() -> anyhow::Result<()> {
    let app = TestRouter::new().await?;
    let response = app.get("/api/v1/health").await?;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = serde_json::from_slice(&body_bytes(response).await?)?;
    assert_eq!(body["status"], "ok");
    assert!(body["version"].as_str().is_some_and(|v| !v.is_empty()), "the version is reported: {body}");
    Ok(())
}

#[tokio::test]
async fn every_admin_route_refuses_a_request_without_a_session_cookie_with_a_401_envelope() -> anyhow::Result<()> {
    let app = TestRouter::new().await?;
    for (method, uri, body) in admin_routes() {
        let response = app.send(admin_request(&method, uri, body.as_ref(), None)?).await?;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{method} {uri}");
        let envelope = envelope(response).await?;
        assert_eq!(envelope.error.code, ErrorCode::Unauthenticated, "{method} {uri}");
        assert_eq!(envelope.error.message, "Sign in first.", "{method} {uri}");
        assert!(envelope.error.violations.is_empty(), "{method} {uri}");
    }
    Ok(())
}

#[tokio::test]
async fn every_admin_route_refuses_an_unknown_session_cookie_with_a_401_envelope() -> anyhow::Result<()> {
    let app = TestRouter::new().await?;
    let forged = format!("theme=dark; rampart_session={}", "ab".repeat(32));
    for (method, uri, body) in admin_routes() {
        let response = app.send(admin_request(&method, uri, body.as_ref(), Some(&forged))?).await?;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{method} {uri}");
        let envelope = envelope(response).await?;
        assert_eq!(envelope.error.code, ErrorCode::Unauthenticated, "{method} {uri}");
        assert_eq!(envelope.error.message, "Your session has ended; sign in again.", "{method} {uri}");
    }
    Ok(())
}

#[tokio::test]
async fn an_unknown_api_route_answers_404_with_the_json_envelope() -> anyhow::Result<()> {
    let app = TestRouter::new().await?;
    for uri in ["/api/v1/nope", "/api/v1/devices/some-id/nope", "/api/v1/device/nope"] {
        let response = app.get(uri).await?;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{uri}");
        let envelope = envelope(response).await?;
        assert_eq!(envelope.error.code, ErrorCode::NotFound, "{uri}");
        assert_eq!(envelope.error.message, "There is no such API route.", "{uri}");
    }
    Ok(())
}

#[tokio::test]
async fn a_device_check_in_without_credentials_is_refused_with_a_401_envelope() -> anyhow::Result<()> {
    let app = TestRouter::new().await?;
    let response = app.send(Request::post("/api/v1/device/check-in").body(Body::empty())?).await?;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let envelope = envelope(response).await?;
    assert_eq!(envelope.error.code, ErrorCode::Unauthenticated);
    Ok(())
}

#[tokio::test]
async fn a_malformed_sign_in_body_is_answered_with_a_400_envelope() -> anyhow::Result<()> {
    let app = TestRouter::new().await?;

    let not_json = Request::post("/api/v1/auth/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{\"username\": "))?;
    let response = app.send(not_json).await?;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(envelope(response).await?.error.code, ErrorCode::InvalidInput);

    let no_content_type = Request::post("/api/v1/auth/login").body(Body::from(r#"{"username":"a","password":"b"}"#))?;
    let response = app.send(no_content_type).await?;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(envelope(response).await?.error.code, ErrorCode::InvalidInput);

    let empty_fields = json_request(Method::POST, "/api/v1/auth/login", &json!({"username": "", "password": ""}))?;
    let response = app.send(empty_fields).await?;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let envelope = envelope(response).await?;
    let paths: Vec<&str> = envelope.error.violations.iter().map(|v| v.path.as_str()).collect();
    assert_eq!(paths, ["username", "password"]);
    Ok(())
}

#[tokio::test]
async fn every_response_carries_the_security_headers() -> anyhow::Result<()> {
    let app = TestRouter::new().await?;
    let responses = [
        ("a success", app.get("/api/v1/health").await?),
        ("a 401", app.get("/api/v1/devices").await?),
        ("a 404 of the API", app.get("/api/v1/nope").await?),
        ("a path outside the API", app.get("/index.html").await?),
    ];
    for (what, response) in &responses {
        let csp = header_value(response, header::CONTENT_SECURITY_POLICY);
        assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
        assert!(csp.contains("default-src 'self'"), "{what}: {csp}");
        assert_eq!(header_value(response, header::X_CONTENT_TYPE_OPTIONS), "nosniff", "{what}");
        assert_eq!(header_value(response, header::X_FRAME_OPTIONS), "DENY", "{what}");
        assert_eq!(header_value(response, header::REFERRER_POLICY), "no-referrer", "{what}");
    }
    Ok(())
}

#[tokio::test]
async fn api_responses_are_never_cached() -> anyhow::Result<()> {
    let app = TestRouter::new().await?;
    for uri in ["/api/v1/health", "/api/v1/tenant", "/api/v1/nope"] {
        let response = app.get(uri).await?;
        assert_eq!(header_value(&response, header::CACHE_CONTROL), "no-store", "{uri}");
    }
    Ok(())
}

#[tokio::test]
async fn a_known_route_called_with_the_wrong_method_answers_405_with_the_json_envelope() -> anyhow::Result<()> {
    let app = TestRouter::new().await?;
    for (method, uri) in
        [(Method::DELETE, "/api/v1/tenant"), (Method::GET, "/api/v1/auth/login"), (Method::POST, "/api/v1/health")]
    {
        let response = app.send(Request::builder().method(method.clone()).uri(uri).body(Body::empty())?).await?;
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}");
        assert!(response.headers().contains_key(header::ALLOW), "{method} {uri} names the allowed methods");
        assert_eq!(envelope(response).await?.error.code, ErrorCode::MethodNotAllowed);
    }
    Ok(())
}

#[tokio::test]
async fn the_api_root_with_a_trailing_slash_answers_404_with_the_json_envelope() -> anyhow::Result<()> {
    let app = TestRouter::new().await?;
    let response = app.get("/api/v1/").await?;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(envelope(response).await?.error.code, ErrorCode::NotFound);
    Ok(())
}
