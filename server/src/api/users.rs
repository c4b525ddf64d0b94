//! User accounts: invite with a one-time password, change the role, disable or enable.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use shared::access::{CreateUser, CreatedUser, UpdateUser, UserSummary, validate_username};

use crate::AppState;
use crate::auth::AdminSession;
use crate::credentials::{hash_password, random_hex};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::store::{AdminRecord, UserUpdate};

fn summary(admin: &AdminRecord) -> UserSummary {
    UserSummary {
        username: admin.username.clone(),
        role: admin.role,
        disabled: admin.disabled,
        must_change_password: admin.must_change_password,
        created_at: admin.created_at,
    }
}

/// Every account.
pub async fn users_list(
    State(state): State<AppState>,
    _session: AdminSession,
) -> Result<Json<Vec<UserSummary>>, ApiError> {
    Ok(Json(state.store.list_admins().await?.iter().map(summary).collect()))
}

/// Invites a user: the account gets a one-time password, shown once in the answer, to replace at first sign-in.
pub async fn users_create(
    State(state): State<AppState>,
    session: AdminSession,
    ApiJson(create): ApiJson<CreateUser>,
) -> Result<(StatusCode, Json<CreatedUser>), ApiError> {
    let violations = validate_username(&create.username);
    if !violations.is_empty() {
        return Err(ApiError::Invalid(violations));
    }
    let password = random_hex(12);
    let to_hash = password.clone();
    let hash = tokio::task::spawn_blocking(move || hash_password(&to_hash))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(ApiError::Internal)?;
    if !state.store.create_admin(&create.username, &hash, create.role, &session.actor()).await? {
        return Err(ApiError::invalid("username", format!("a user named \"{}\" already exists", create.username)));
    }
    let admin = state
        .store
        .find_admin(&create.username)
        .await?
        .ok_or_else(|| ApiError::Internal("the new account is missing".to_owned()))?;
    tracing::info!(username = %session.admin.username, invited = %admin.username, role = %admin.role, "user invited");
    Ok((StatusCode::CREATED, Json(CreatedUser { user: summary(&admin), one_time_password: password })))
}

/// Changes a user's role or disables/enables the account. The last enabled Administrator cannot be demoted or
/// disabled (409), so the tenant always keeps someone who can manage it.
pub async fn users_update(
    State(state): State<AppState>,
    session: AdminSession,
    Path(username): Path<String>,
    ApiJson(update): ApiJson<UpdateUser>,
) -> Result<Json<UserSummary>, ApiError> {
    if update.role.is_none() && update.disabled.is_none() {
        return Err(ApiError::invalid("", "give role, disabled, or both"));
    }
    match state.store.update_admin(&username, update.role, update.disabled, &session.actor()).await? {
        UserUpdate::NotFound => Err(ApiError::NotFound("No user has this name.".into())),
        UserUpdate::LastAdministrator => Err(ApiError::Conflict(format!(
            "\"{username}\" is the last enabled Administrator; make another user Administrator first."
        ))),
        UserUpdate::Updated(admin) => Ok(Json(summary(&admin))),
    }
}
