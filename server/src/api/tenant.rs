//! Tenant administration: the two switches, declared licences, the onboarding tokens and the prerequisite checklist.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use shared::api::{
    CreateOnboardingToken, CreatedOnboardingToken, OnboardingPackage, OnboardingTokenSummary, TenantView, UpdateTenant,
};
use shared::tenant::{REPORTING_WINDOW_SECS, TenantFacts, prerequisites};

use crate::AppState;
use crate::auth::AdminSession;
use crate::credentials::{last_four, random_guid, random_hex, sha256_hex};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::store::{NewOnboardingToken, Store};

async fn view(state: &AppState) -> Result<TenantView, ApiError> {
    let tenant = state.store.tenant().await?;
    let counts = state.store.tenant_counts(crate::now() - REPORTING_WINDOW_SECS).await?;
    let facts = TenantFacts {
        licences: tenant.licences,
        switches: tenant.switches,
        // Until roles exist, every enabled admin holds every permission.
        n_security_managers: counts.n_admins,
        n_devices_reporting: counts.n_devices_reporting,
        n_devices: counts.n_devices,
    };
    Ok(TenantView { switches: tenant.switches, licences: tenant.licences, prerequisites: prerequisites(facts) })
}

/// The tenant administration page's data.
pub async fn tenant_get(State(state): State<AppState>, _session: AdminSession) -> Result<Json<TenantView>, ApiError> {
    Ok(Json(view(&state).await?))
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

/// Every onboarding token, newest first (never the tokens themselves: they are stored hashed).
pub async fn tenant_tokens_list(
    State(state): State<AppState>,
    _session: AdminSession,
) -> Result<Json<Vec<OnboardingTokenSummary>>, ApiError> {
    let now = crate::now();
    let tokens = state.store.list_onboarding_tokens().await?;
    Ok(Json(tokens.iter().map(|token| token.summary(now)).collect()))
}

/// Creates an onboarding token; the answer is the only time the token exists in clear.
pub async fn tenant_tokens_create(
    State(state): State<AppState>,
    session: AdminSession,
    ApiJson(request): ApiJson<CreateOnboardingToken>,
) -> Result<(StatusCode, Json<CreatedOnboardingToken>), ApiError> {
    let violations = request.validate();
    if !violations.is_empty() {
        return Err(ApiError::Invalid(violations));
    }
    let token = create_token(&*state.store, &state.config.public_url, &request, &session.actor()).await?;
    tracing::info!(username = %session.admin.username, name = %token.token.name, "onboarding token created");
    Ok((StatusCode::CREATED, Json(token)))
}

/// Stores a new token as `actor` and returns it with its package for a server at `public_url` (also the demo's way
/// to get one).
pub async fn create_token(
    store: &dyn Store,
    public_url: &str,
    request: &CreateOnboardingToken,
    actor: &crate::store::Actor,
) -> Result<CreatedOnboardingToken, ApiError> {
    // 32 random bytes, hex.
    let secret = random_hex(32);
    let new = NewOnboardingToken {
        id: random_guid().to_string(),
        name: request.name.trim().to_owned(),
        token_hash: sha256_hex(&secret),
        ends_with: last_four(&secret),
        expires_at: request.expires_in_days.map(|days| actor.at + i64::from(days) * 24 * 60 * 60),
        max_uses: request.max_uses,
    };
    let record = store.create_onboarding_token(&new, actor).await?;
    Ok(CreatedOnboardingToken {
        token: record.summary(actor.at),
        package: OnboardingPackage { server_url: public_url.to_owned(), onboarding_token: secret },
    })
}

/// Revokes an onboarding token: devices already onboarded with it keep working, new ones are refused.
pub async fn tenant_tokens_revoke(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<String>,
) -> Result<Json<OnboardingTokenSummary>, ApiError> {
    let actor = session.actor();
    let record = state
        .store
        .revoke_onboarding_token(&id, &actor)
        .await?
        .ok_or_else(|| ApiError::NotFound("There is no such onboarding token.".to_owned()))?;
    tracing::info!(username = %actor.username, name = %record.name, "onboarding token revoked");
    Ok(Json(record.summary(actor.at)))
}
