//! Who may call which route: every route of the API is listed here with what it needs, and one middleware enforces
//! it before any handler runs. A route missing from the table is refused (fail closed), so a new route cannot be
//! reachable without a decision about it; the OpenAPI document is generated from the same table.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use shared::access::Permission;

use crate::AppState;
use crate::auth::AdminSession;
use crate::error::ApiError;

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (health, sign-in).
    Public,
    /// A device's credentials (checked by the handler's `AuthenticatedDevice`) or the onboarding token.
    Device,
    /// Any signed-in user, also one who must still replace the one-time password.
    SignedIn,
    /// A signed-in user whose role has the permission.
    Needs(Permission),
}

/// One route of the API (paths relative to `/api/v1`, with axum's `{param}` syntax).
#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    /// HTTP method.
    pub method: &'static str,
    /// Path template.
    pub path: &'static str,
    /// What it needs.
    pub access: Access,
    /// What it does, in a line.
    pub summary: &'static str,
}

const fn route(method: &'static str, path: &'static str, access: Access, summary: &'static str) -> RouteSpec {
    RouteSpec { method, path, access, summary }
}

use Access::{Device, Needs, Public, SignedIn};
use Permission::{ManageEndpointSecurity as Manage, ManageTenant, ManageUsers, Read, ViewTenant};

/// Every route of the API.
pub const ROUTES: &[RouteSpec] = &[
    route("GET", "/health", Public, "Whether the server and its database answer"),
    route("GET", "/openapi.json", Public, "This API, as an OpenAPI 3.1 document"),
    route("POST", "/auth/login", Public, "Sign in; sets the session cookie"),
    route("POST", "/auth/logout", SignedIn, "Sign out"),
    route("GET", "/auth/me", SignedIn, "The signed-in user, role and permissions"),
    route("POST", "/auth/password", SignedIn, "Replace one's own password"),
    route("GET", "/users", Needs(ViewTenant), "Every user account"),
    route("POST", "/users", Needs(ManageUsers), "Invite a user with a one-time password"),
    route("PATCH", "/users/{username}", Needs(ManageUsers), "Change a user's role, or disable or enable the account"),
    route("GET", "/audit", Needs(Read), "The audit log, filtered and paged"),
    route("GET", "/audit.csv", Needs(Read), "The audit log as CSV"),
    route("GET", "/devices", Needs(Read), "Devices, filtered, sorted and paged"),
    route("GET", "/devices/{id}", Needs(Read), "One device"),
    route("POST", "/devices/{id}/sync", Needs(Manage), "Ask the device to check in at its next poll"),
    route("GET", "/devices/{id}/effective", Needs(Read), "The device's effective configuration"),
    route("GET", "/devices/{id}/status", Needs(Read), "The device's reported status per policy"),
    route("GET", "/groups", Needs(Read), "Every group"),
    route("POST", "/groups", Needs(Manage), "Create a group"),
    route("POST", "/groups/preview", Needs(Read), "Count the devices a dynamic rule matches"),
    route("GET", "/groups/{id}", Needs(Read), "One group with its members"),
    route("PATCH", "/groups/{id}", Needs(Manage), "Change a group"),
    route("DELETE", "/groups/{id}", Needs(Manage), "Delete a group"),
    route("POST", "/groups/{id}/members", Needs(Manage), "Add devices to a static group"),
    route("POST", "/groups/{id}/members/remove", Needs(Manage), "Remove devices from a static group"),
    route("POST", "/groups/{id}/nested", Needs(Manage), "Nest a group"),
    route("DELETE", "/groups/{id}/nested/{child}", Needs(Manage), "Take a nested group out"),
    route("GET", "/catalog", Needs(Read), "The settings catalog"),
    route("GET", "/policies", Needs(Read), "Policies with their status summary"),
    route("POST", "/policies", Needs(Manage), "Create a policy"),
    route("GET", "/policies/report.csv", Needs(Read), "Policies with their status summary, as CSV"),
    route("POST", "/policies/import", Needs(Manage), "Import a policy exported from Intune"),
    route("GET", "/policies/{id}", Needs(Read), "One policy at its current version"),
    route("PUT", "/policies/{id}", Needs(Manage), "Write the next version of a policy (If-Match)"),
    route("DELETE", "/policies/{id}", Needs(Manage), "Delete a policy"),
    route("GET", "/policies/{id}/export", Needs(Read), "Export a policy as Graph JSON"),
    route("POST", "/policies/{id}/duplicate", Needs(Manage), "Copy a policy"),
    route("GET", "/policies/{id}/versions", Needs(Read), "Every version of a policy"),
    route("GET", "/policies/{id}/diff", Needs(Read), "The changes between two versions"),
    route("GET", "/policies/{id}/report", Needs(Read), "A policy's report"),
    route("GET", "/policies/{id}/report/devices.csv", Needs(Read), "View report as CSV"),
    route("GET", "/policies/{id}/report/settings.csv", Needs(Read), "Per setting status as CSV"),
    route("GET", "/policies/{id}/report/devices/{device_id}", Needs(Read), "A policy on one device, per setting"),
    route("GET", "/policies/{id}/report/devices/{device_id}/settings.csv", Needs(Read), "The same, as CSV"),
    route("GET", "/tenant", Needs(ViewTenant), "Tenant settings and the prerequisite checklist"),
    route("PATCH", "/tenant", Needs(ManageTenant), "Change the switches or licences"),
    route("POST", "/tenant/onboarding-token/rotate", Needs(ManageTenant), "Replace the onboarding token"),
    route("GET", "/tenant/onboarding-package", Needs(ManageTenant), "Download the onboarding package"),
    route("POST", "/device/onboard", Device, "Onboard a device with the tenant's token"),
    route("POST", "/device/check-in", Device, "A device checks in"),
    route("POST", "/device/report", Device, "A device reports what it applied"),
];

/// The rule of `method` on the route template `path`.
pub fn spec(method: &Method, path: &str) -> Option<&'static RouteSpec> {
    ROUTES.iter().find(|route| route.method == method.as_str() && route.path == path)
}

/// The header the admin center sends with every request. A page on another site cannot send it without a CORS
/// preflight, which Rampart never grants, so a write carrying the session cookie but not this header is refused
/// (CSRF defence in addition to `SameSite=Strict`).
pub const CSRF_HEADER: &str = "x-rampart-csrf";

/// The client's address, for the audit log and sign-in rate limits.
pub fn client_address(parts: &axum::http::request::Parts) -> String {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |ConnectInfo(address)| address.ip().to_string())
}

/// Enforces [`ROUTES`] on every request that matched a route.
pub async fn enforce(State(state): State<AppState>, request: Request, next: Next) -> Result<Response, ApiError> {
    let Some(matched) = request.extensions().get::<MatchedPath>() else {
        // Unknown paths: the 404 fallback answers.
        return Ok(next.run(request).await);
    };
    let path = matched.as_str().strip_prefix("/api/v1").unwrap_or(matched.as_str()).to_owned();
    let method = request.method().clone();
    // HEAD is answered by GET routes.
    let lookup = if method == Method::HEAD { Method::GET } else { method.clone() };
    let Some(spec) = spec(&lookup, &path) else {
        return Err(ApiError::Internal(format!("{method} {path} has no access rule")));
    };
    let unsafe_method = !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
    let csrf_missing = unsafe_method && !request.headers().contains_key(CSRF_HEADER);
    let csrf_refused = || {
        ApiError::Forbidden(format!(
            "This request must come from the admin center: the {CSRF_HEADER} header is missing."
        ))
    };
    if !matches!(spec.access, SignedIn | Needs(_)) {
        if csrf_missing && spec.path == "/auth/login" {
            return Err(csrf_refused());
        }
        return Ok(next.run(request).await);
    }
    let (mut parts, body) = request.into_parts();
    let session = AdminSession::from_request_parts(&mut parts, &state).await?;
    if csrf_missing {
        return Err(csrf_refused());
    }
    if let Needs(permission) = spec.access {
        if session.admin.must_change_password {
            return Err(ApiError::Forbidden("Choose your own password first.".to_owned()));
        }
        if !session.admin.role.allows(permission) {
            return Err(ApiError::Forbidden(format!(
                "Your role, {}, does not allow this: it needs the permission \"{}\".",
                session.admin.role.label(),
                permission.label()
            )));
        }
    }
    parts.extensions.insert(session);
    Ok(next.run(Request::from_parts(parts, body)).await)
}
