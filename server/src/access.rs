//! Who may call which route: every route of the API is listed here with what it needs, and one middleware enforces
//! it before any handler runs. A route missing from the table is refused (fail closed), so a new route cannot be
//! reachable without a decision about it; the OpenAPI document is generated from the same table.

use axum::body::Body;
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
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

/// Makes the JSON Schema of a body type (a `$ref` into the document's components).
pub type SchemaFn = fn(&mut schemars::SchemaGenerator) -> schemars::Schema;

fn schema<T: schemars::JsonSchema>(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    generator.subschema_for::<T>()
}

/// What an answer carries.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    /// Nothing (204, or 202).
    Empty,
    /// JSON of this type.
    Json(SchemaFn),
    /// A CSV file.
    Csv,
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
    /// The JSON body it takes, if any.
    pub request: Option<SchemaFn>,
    /// Its success status and what that answer carries.
    pub response: (u16, Answer),
    /// A heavy read (the whole fleet, a report, an export): limited per user, see [`crate::limiter::HeavyReads`].
    pub heavy: bool,
}

const fn route(method: &'static str, path: &'static str, access: Access, summary: &'static str) -> RouteSpec {
    RouteSpec { method, path, access, summary, request: None, response: (204, Answer::Empty), heavy: false }
}

impl RouteSpec {
    const fn takes(mut self, request: SchemaFn) -> Self {
        self.request = Some(request);
        self
    }
    const fn gives(mut self, status: u16, body: SchemaFn) -> Self {
        self.response = (status, Answer::Json(body));
        self
    }
    const fn ok(self, body: SchemaFn) -> Self {
        self.gives(200, body)
    }
    const fn csv(mut self) -> Self {
        self.response = (200, Answer::Csv);
        self
    }
    const fn accepted(mut self) -> Self {
        self.response = (202, Answer::Empty);
        self
    }
    const fn heavy(mut self) -> Self {
        self.heavy = true;
        self
    }
}

use Access::{Device, Needs, Public, SignedIn};
use Permission::{ManageEndpointSecurity as Manage, ManageTenant, ManageUsers, Read, ViewTenant};
use shared::access as acc;
use shared::api as dto;
use shared::policy as pol;

/// Every route of the API.
pub const ROUTES: &[RouteSpec] = &[
    route("GET", "/health", Public, "Whether the server and its database answer").ok(schema::<dto::Health>),
    route("GET", "/openapi.json", Public, "This API, as an OpenAPI 3.1 document").ok(schema::<serde_json::Value>),
    route("POST", "/auth/login", Public, "Sign in; sets the session cookie")
        .takes(schema::<dto::LoginRequest>)
        .ok(schema::<acc::Me>),
    route("POST", "/auth/logout", SignedIn, "Sign out"),
    route("GET", "/auth/me", SignedIn, "The signed-in user, role and permissions").ok(schema::<acc::Me>),
    route("POST", "/auth/password", SignedIn, "Replace one's own password")
        .takes(schema::<acc::ChangePassword>)
        .ok(schema::<acc::Me>),
    route("GET", "/users", Needs(ViewTenant), "Every user account").ok(schema::<Vec<acc::UserSummary>>),
    route("POST", "/users", Needs(ManageUsers), "Invite a user with a one-time password")
        .takes(schema::<acc::CreateUser>)
        .gives(201, schema::<acc::CreatedUser>),
    route("PATCH", "/users/{username}", Needs(ManageUsers), "Change a user's role, or disable or enable the account")
        .takes(schema::<acc::UpdateUser>)
        .ok(schema::<acc::UserSummary>),
    route("GET", "/audit", Needs(Read), "The audit log, filtered and paged, entries summarized")
        .ok(schema::<shared::audit::AuditPage>),
    route("GET", "/audit.csv", Needs(Read), "The audit log as CSV (streamed)").csv().heavy(),
    route("GET", "/audit/{id}", Needs(Read), "One audit entry with the values before and after")
        .ok(schema::<shared::audit::AuditEntry>),
    route("GET", "/devices", Needs(Read), "Devices, filtered, sorted and paged").ok(schema::<dto::DevicePage>),
    route("GET", "/devices/{id}", Needs(Read), "One device").ok(schema::<dto::DeviceDetail>),
    route("DELETE", "/devices/{id}", Needs(Manage), "Delete a device: its credentials stop working at once"),
    route("POST", "/devices/{id}/sync", Needs(Manage), "Ask the device to check in at its next poll").accepted(),
    route("GET", "/devices/{id}/effective", Needs(Read), "The device's effective configuration")
        .ok(schema::<dto::EffectiveConfiguration>),
    route("GET", "/devices/{id}/status", Needs(Read), "The device's reported status per policy")
        .ok(schema::<dto::DeviceStatus>),
    route(
        "GET",
        "/snapshot",
        Needs(Read),
        "What the conflict preview needs (with ?since=G: only what changed, a SnapshotUpdate)",
    )
    .ok(schema::<shared::preview::Snapshot>)
    .heavy(),
    route("GET", "/groups", Needs(Read), "Every group").ok(schema::<Vec<dto::GroupSummary>>),
    route("POST", "/groups", Needs(Manage), "Create a group")
        .takes(schema::<dto::CreateGroup>)
        .gives(201, schema::<dto::GroupDetail>),
    route("POST", "/groups/preview", Needs(Read), "Count the devices a dynamic rule matches")
        .takes(schema::<dto::RulePreviewRequest>)
        .ok(schema::<dto::RulePreview>)
        .heavy(),
    route("GET", "/groups/{id}", Needs(Read), "One group with its members").ok(schema::<dto::GroupDetail>),
    route("PATCH", "/groups/{id}", Needs(Manage), "Change a group")
        .takes(schema::<dto::UpdateGroup>)
        .ok(schema::<dto::GroupDetail>),
    route("DELETE", "/groups/{id}", Needs(Manage), "Delete a group"),
    route("POST", "/groups/{id}/members", Needs(Manage), "Add devices to a static group")
        .takes(schema::<dto::MemberChange>)
        .ok(schema::<dto::GroupDetail>),
    route("POST", "/groups/{id}/members/remove", Needs(Manage), "Remove devices from a static group")
        .takes(schema::<dto::MemberChange>)
        .ok(schema::<dto::GroupDetail>),
    route("POST", "/groups/{id}/nested", Needs(Manage), "Nest a group")
        .takes(schema::<dto::NestGroup>)
        .ok(schema::<dto::GroupDetail>),
    route("DELETE", "/groups/{id}/nested/{child}", Needs(Manage), "Take a nested group out")
        .ok(schema::<dto::GroupDetail>),
    route("GET", "/catalog", Needs(Read), "The settings catalog").ok(schema::<crate::api::CatalogView>),
    route("GET", "/policies", Needs(Read), "Policies with their status summary")
        .ok(schema::<Vec<pol::PolicySummary>>)
        .heavy(),
    route("POST", "/policies", Needs(Manage), "Create a policy")
        .takes(schema::<pol::PolicyDraft>)
        .gives(201, schema::<pol::Policy>),
    route("GET", "/policies/report.csv", Needs(Read), "Policies with their status summary, as CSV").csv().heavy(),
    route("POST", "/policies/import", Needs(Manage), "Import a policy exported from Intune (Graph JSON)")
        .takes(schema::<serde_json::Value>)
        .gives(201, schema::<pol::ImportReport>),
    route("GET", "/policies/{id}", Needs(Read), "One policy at its current version").ok(schema::<pol::Policy>),
    route("PUT", "/policies/{id}", Needs(Manage), "Write the next version of a policy (If-Match)")
        .takes(schema::<pol::PolicyDraft>)
        .ok(schema::<pol::Policy>),
    route("DELETE", "/policies/{id}", Needs(Manage), "Delete a policy"),
    route("GET", "/policies/{id}/export", Needs(Read), "Export a policy as Graph JSON").ok(schema::<serde_json::Value>),
    route("POST", "/policies/{id}/duplicate", Needs(Manage), "Copy a policy").gives(201, schema::<pol::Policy>),
    route("GET", "/policies/{id}/versions", Needs(Read), "Every version of a policy")
        .ok(schema::<Vec<pol::PolicyVersion>>),
    route("GET", "/policies/{id}/diff", Needs(Read), "The changes between two versions").ok(schema::<Vec<pol::Change>>),
    route("GET", "/policies/{id}/report", Needs(Read), "A policy's report: counts, and a page of its devices")
        .ok(schema::<dto::PolicyReport>)
        .heavy(),
    route("GET", "/policies/{id}/report/devices.csv", Needs(Read), "View report as CSV (its filter and order)")
        .csv()
        .heavy(),
    route("GET", "/policies/{id}/report/settings.csv", Needs(Read), "Per setting status as CSV").csv().heavy(),
    route(
        "GET",
        "/policies/{id}/report/settings/{setting_id}",
        Needs(Read),
        "A setting's counts and a page of its devices",
    )
    .ok(schema::<dto::SettingReport>)
    .heavy(),
    route("GET", "/policies/{id}/report/settings/{setting_id}/devices.csv", Needs(Read), "A setting's devices as CSV")
        .csv()
        .heavy(),
    route("GET", "/policies/{id}/report/devices/{device_id}", Needs(Read), "A policy on one device, per setting")
        .ok(schema::<dto::PolicyDeviceReport>),
    route("GET", "/policies/{id}/report/devices/{device_id}/settings.csv", Needs(Read), "The same, as CSV").csv(),
    route("GET", "/tenant", Needs(ViewTenant), "Tenant settings and the prerequisite checklist")
        .ok(schema::<dto::TenantView>),
    route("PATCH", "/tenant", Needs(ManageTenant), "Change the switches or licences")
        .takes(schema::<dto::UpdateTenant>)
        .ok(schema::<dto::TenantView>),
    route("GET", "/tenant/onboarding-tokens", Needs(ViewTenant), "The onboarding tokens, newest first")
        .ok(schema::<Vec<dto::OnboardingTokenSummary>>),
    route("POST", "/tenant/onboarding-tokens", Needs(ManageTenant), "Create an onboarding token (shown once)")
        .takes(schema::<dto::CreateOnboardingToken>)
        .gives(201, schema::<dto::CreatedOnboardingToken>),
    route("POST", "/tenant/onboarding-tokens/{id}/revoke", Needs(ManageTenant), "Revoke an onboarding token")
        .ok(schema::<dto::OnboardingTokenSummary>),
    route("POST", "/device/onboard", Device, "Onboard a device with an onboarding token")
        .takes(schema::<dto::OnboardRequest>)
        .gives(201, schema::<dto::OnboardResponse>),
    route(
        "POST",
        "/device/check-in",
        Device,
        "A device checks in (If-None-Match: its policies hash; 304 when unchanged)",
    )
    .ok(schema::<dto::CheckInResponse>),
    route("POST", "/device/report", Device, "A device reports what it applied")
        .takes(schema::<shared::report::DeviceReport>),
];

/// The rule of `method` on the route template `path`.
pub fn spec(method: &Method, path: &str) -> Option<&'static RouteSpec> {
    ROUTES.iter().find(|route| route.method == method.as_str() && route.path == path)
}

/// The header the admin center sends with every request. A page on another site cannot send it without a CORS
/// preflight, which Rampart never grants, so a write carrying the session cookie but not this header is refused
/// (CSRF defence in addition to `SameSite=Strict`).
pub const CSRF_HEADER: &str = "x-rampart-csrf";

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
    let heavy = if spec.heavy {
        let slot = state.heavy_reads.begin(&session.admin.username).await.ok_or_else(|| {
            ApiError::RateLimited(
                "You have too many large reads (reports, exports) running; try again when they finish.".to_owned(),
            )
        })?;
        Some(slot)
    } else {
        None
    };
    parts.extensions.insert(session);
    let response = next.run(Request::from_parts(parts, body)).await;
    let Some(slot) = heavy else { return Ok(response) };
    // A body of known size is built already: the read is over. A streamed one (an export) holds the slot for as
    // long as it streams.
    if axum::body::HttpBody::size_hint(response.body()).exact().is_some() {
        return Ok(response);
    }
    let (parts, body) = response.into_parts();
    let body = Body::from_stream(futures_util::StreamExt::fuse(futures_util::StreamExt::map(
        body.into_data_stream(),
        move |chunk| {
            let _held = &slot;
            chunk
        },
    )));
    Ok(Response::from_parts(parts, body))
}
