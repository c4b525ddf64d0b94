//! Sign-in, sign-out and "who am I" for admins.

use std::sync::LazyLock;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use shared::Violation;
use shared::api::{LoginRequest, Me};

use crate::AppState;
use crate::auth::{AdminSession, expired_session_cookie, session_cookie};
use crate::credentials::{hash_password, random_hex, sha256_hex, verify_password};
use crate::error::ApiError;
use crate::extract::ApiJson;

/// A hash to verify against when the account does not exist, so that timing does not reveal which accounts do.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| hash_password("not a real password").unwrap_or_default());

const MAX_USERNAME_LEN: usize = 64;
const MAX_PASSWORD_LEN: usize = 1024;

/// Checks the credentials and starts a session (HttpOnly, SameSite=Strict cookie).
pub async fn auth_login(
    State(state): State<AppState>,
    ApiJson(login): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    let mut violations = Vec::new();
    if login.username.is_empty() || login.username.chars().count() > MAX_USERNAME_LEN {
        violations.push(Violation::new("username", format!("must be 1 to {MAX_USERNAME_LEN} characters")));
    }
    if login.password.is_empty() || login.password.len() > MAX_PASSWORD_LEN {
        violations.push(Violation::new("password", format!("must be 1 to {MAX_PASSWORD_LEN} bytes")));
    }
    if !violations.is_empty() {
        return Err(ApiError::Invalid(violations));
    }

    let admin = state.store.find_admin(&login.username).await?;
    let phc = admin.as_ref().map(|admin| admin.password_hash.clone());
    let password = login.password;
    let matches =
        tokio::task::spawn_blocking(move || verify_password(&password, phc.as_deref().unwrap_or(&DUMMY_HASH)))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
    let admin = match admin {
        Some(admin) if matches && !admin.disabled => admin,
        _ => return Err(ApiError::Unauthenticated("The user name or password is incorrect.")),
    };

    let token = random_hex(32);
    let now = crate::now();
    let ttl = state.config.session_ttl.as_secs();
    let expires_at = now.saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX));
    state.store.create_session(&sha256_hex(&token), admin.id, now, expires_at).await?;
    tracing::info!(username = %admin.username, "admin signed in");
    let cookie = session_cookie(&token, ttl, state.config.secure_cookies);
    Ok(([(header::SET_COOKIE, cookie)], Json(Me { username: admin.username })).into_response())
}

/// Ends the session and clears the cookie.
pub async fn auth_logout(State(state): State<AppState>, session: AdminSession) -> Result<Response, ApiError> {
    state.store.delete_session(&session.token_hash).await?;
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, expired_session_cookie(state.config.secure_cookies))])
        .into_response())
}

/// The signed-in admin.
pub async fn auth_me(session: AdminSession) -> Json<Me> {
    Json(Me { username: session.admin.username })
}
