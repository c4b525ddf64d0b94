//! Sign-in, sign-out and "who am I" for admins.

use std::sync::LazyLock;
use std::time::Instant;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use shared::Violation;
use shared::access::{ChangePassword, MIN_PASSWORD_CHARS, Me};
use shared::api::LoginRequest;
use shared::audit::{AuditAction, ObjectType};

use crate::AppState;
use crate::auth::{AdminSession, expired_session_cookie, session_cookie};
use crate::credentials::{hash_password, random_hex, sha256_hex, verify_password};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::store::{Actor, AdminRecord, NewAudit};

/// A hash to verify against when the account does not exist, so that timing does not reveal which accounts do.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| hash_password("not a real password").unwrap_or_default());

const MAX_USERNAME_LEN: usize = 64;
const MAX_PASSWORD_LEN: usize = 1024;

fn me(admin: &AdminRecord) -> Me {
    Me {
        username: admin.username.clone(),
        role: admin.role,
        permissions: admin.role.permissions().to_vec(),
        must_change_password: admin.must_change_password,
    }
}

/// The client's address, from the connection.
pub struct ClientAddress(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(crate::access::client_address(parts)))
    }
}

fn sign_in_audit(action: AuditAction, username: &str) -> NewAudit {
    NewAudit {
        action,
        object_type: ObjectType::User,
        object_id: username.to_owned(),
        object_name: username.to_owned(),
        before: None,
        after: None,
    }
}

/// Checks the credentials and starts a session (HttpOnly, SameSite=Strict cookie). Failed sign-ins are limited per
/// account and per address, and every attempt is in the audit log.
pub async fn auth_login(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
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
    if let Err(wait) = state.sign_ins.check(&login.username, &address, Instant::now()) {
        let minutes = wait.as_secs().div_ceil(60).max(1);
        return Err(ApiError::RateLimited(format!(
            "Too many failed sign-ins for this account or from this address. Try again in {minutes} minute{}.",
            if minutes == 1 { "" } else { "s" }
        )));
    }

    let admin = state.store.find_admin(&login.username).await?;
    let phc = admin.as_ref().map(|admin| admin.password_hash.clone());
    let password = login.password;
    let matches =
        tokio::task::spawn_blocking(move || verify_password(&password, phc.as_deref().unwrap_or(&DUMMY_HASH)))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
    let now = crate::now();
    let actor = Actor { username: login.username.clone(), address: address.clone(), at: now };
    let admin = match admin {
        Some(admin) if matches && !admin.disabled => admin,
        _ => {
            state.sign_ins.failed(&login.username, &address, Instant::now());
            state.store.record_audit(&actor, sign_in_audit(AuditAction::SignInFailed, &login.username)).await?;
            return Err(ApiError::Unauthenticated("The user name or password is incorrect."));
        }
    };
    state.sign_ins.succeeded(&admin.username);

    let token = random_hex(32);
    let ttl = state.config.session_ttl.as_secs();
    let expires_at = now.saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX));
    state.store.create_session(&sha256_hex(&token), admin.id, now, expires_at).await?;
    state.store.record_audit(&actor, sign_in_audit(AuditAction::SignIn, &admin.username)).await?;
    tracing::info!(username = %admin.username, "admin signed in");
    let cookie = session_cookie(&token, ttl, state.config.secure_cookies);
    Ok(([(header::SET_COOKIE, cookie)], Json(me(&admin))).into_response())
}

/// Ends the session and clears the cookie.
pub async fn auth_logout(State(state): State<AppState>, session: AdminSession) -> Result<Response, ApiError> {
    state.store.delete_session(&session.token_hash).await?;
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, expired_session_cookie(state.config.secure_cookies))])
        .into_response())
}

/// The signed-in user, with role and permissions.
pub async fn auth_me(session: AdminSession) -> Json<Me> {
    Json(me(&session.admin))
}

/// The signed-in user replaces their password (required after an invitation's one-time password).
pub async fn auth_password(
    State(state): State<AppState>,
    session: AdminSession,
    ApiJson(change): ApiJson<ChangePassword>,
) -> Result<Json<Me>, ApiError> {
    let mut violations = Vec::new();
    if change.new_password.chars().count() < MIN_PASSWORD_CHARS || change.new_password.len() > MAX_PASSWORD_LEN {
        violations.push(Violation::new(
            "new_password",
            format!("must be {MIN_PASSWORD_CHARS} characters to {MAX_PASSWORD_LEN} bytes"),
        ));
    }
    if change.new_password == change.current_password {
        violations.push(Violation::new("new_password", "must differ from the current password"));
    }
    let phc = session.admin.password_hash.clone();
    let current = change.current_password;
    let matches = tokio::task::spawn_blocking(move || verify_password(&current, &phc))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    if !matches {
        violations.push(Violation::new("current_password", "is not the password of this account"));
    }
    if !violations.is_empty() {
        return Err(ApiError::Invalid(violations));
    }
    let new = change.new_password;
    let hash = tokio::task::spawn_blocking(move || hash_password(&new))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    state.store.change_password(session.admin.id, &hash, &session.actor()).await?;
    Ok(Json(me(&AdminRecord { must_change_password: false, ..session.admin })))
}
