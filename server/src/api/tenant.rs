//! Tenant administration: the two switches, declared licences, the onboarding token and the prerequisite checklist.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use shared::api::{OnboardingPackage, TenantView, UpdateTenant};
use shared::tenant::{REPORTING_WINDOW_SECS, TenantFacts, prerequisites};

use crate::AppState;
use crate::auth::AdminSession;
use crate::credentials::random_hex;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::store::TenantRecord;

/// A fresh onboarding token: 32 random bytes, hex.
pub fn new_onboarding_token() -> String {
    random_hex(32)
}

async fn tenant_record(state: &AppState) -> Result<TenantRecord, ApiError> {
    Ok(state.store.tenant().await?)
}

async fn view(state: &AppState) -> Result<TenantView, ApiError> {
    let tenant = tenant_record(state).await?;
    let counts = state.store.tenant_counts(crate::now() - REPORTING_WINDOW_SECS).await?;
    let facts = TenantFacts {
        licences: tenant.licences,
        switches: tenant.switches,
        // Until roles exist, every enabled admin holds every permission.
        n_security_managers: counts.n_admins,
        n_devices_reporting: counts.n_devices_reporting,
        n_devices: counts.n_devices,
    };
    Ok(TenantView {
        switches: tenant.switches,
        licences: tenant.licences,
        onboarding_token: tenant.onboarding_token,
        prerequisites: prerequisites(facts),
    })
}

/// The tenant administration page's data.
pub async fn tenant_get(State(state): State<AppState>, session: AdminSession) -> Result<Json<TenantView>, ApiError> {
    let mut view = view(&state).await?;
    if !session.admin.role.allows(shared::access::Permission::ManageTenant) {
        // The token lets anyone onboard devices: only those who may rotate it see it.
        let tail: String = view.onboarding_token.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
        view.onboarding_token = format!("…{tail}");
    }
    Ok(Json(view))
}

/// Changes the switches and/or the licence declarations.
pub async fn tenant_update(
    State(state): State<AppState>,
    session: AdminSession,
    ApiJson(update): ApiJson<UpdateTenant>,
) -> Result<Json<TenantView>, ApiError> {
    state.store.update_tenant(update.switches, update.licences, &session.actor()).await?;
    tracing::info!(username = %session.admin.username, ?update, "tenant updated");
    Ok(Json(view(&state).await?))
}

/// Replaces the onboarding token; devices already onboarded keep working, new ones need the new token.
pub async fn tenant_rotate_token(
    State(state): State<AppState>,
    session: AdminSession,
) -> Result<Json<TenantView>, ApiError> {
    state.store.set_onboarding_token(&new_onboarding_token(), &session.actor()).await?;
    tracing::info!(username = %session.admin.username, "onboarding token rotated");
    Ok(Json(view(&state).await?))
}

/// The onboarding package as a file download: what `rampart-agent --onboarding-package` reads.
pub async fn tenant_onboarding_package(
    State(state): State<AppState>,
    _session: AdminSession,
) -> Result<impl IntoResponse, ApiError> {
    let tenant = tenant_record(&state).await?;
    let package =
        OnboardingPackage { server_url: state.config.public_url.clone(), onboarding_token: tenant.onboarding_token };
    Ok(([(header::CONTENT_DISPOSITION, "attachment; filename=\"rampart-onboarding.json\"")], Json(package)))
}
