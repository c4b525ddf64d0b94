//! Sign-in, sign-out and "who am I" for admins.

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use shared::Violation;
use shared::access::{ChangePassword, MIN_PASSWORD_CHARS, Me};
use shared::api::LoginRequest;
use shared::audit::{AuditAction, ObjectType};

use crate::AppState;
use crate::address::ClientAddress;
use crate::auth::{AdminSession, expired_session_cookie, session_cookie};
use crate::credentials::{hash_password, random_hex, sha256_hex};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::limiter::{account_key, address_key};
use crate::store::{Actor, AdminRecord, NewAudit, NewSession};

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

/// How long a password check waits for a free slot before the attempt is refused as "busy".
const PASSWORD_CHECK_WAIT: Duration = Duration::from_secs(2);
/// An address the account signed in from within this long is known to it (exempt from the per-account back-off).
const KNOWN_ADDRESS_SECS: i64 = 90 * 24 * 60 * 60;

fn busy() -> ApiError {
    ApiError::RateLimited("The server is busy checking other sign-ins. Try again in a few seconds.".to_owned())
}

fn try_again_in(wait: Duration) -> ApiError {
    let minutes = wait.as_secs().div_ceil(60).max(1);
    ApiError::RateLimited(format!(
        "Too many sign-in attempts. Try again in {minutes} minute{}.",
        if minutes == 1 { "" } else { "s" }
    ))
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

/// Checks the credentials and starts a session (HttpOnly, SameSite=Strict cookie). Every attempt takes a slot of the
/// sign-in throttle before its password is verified (see [`crate::limiter`]), password checks run a few at a time, and
/// every attempt is in the audit log.
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
    let account = account_key(&login.username);
    let address_key = address_key_of(&address);
    let admin = state.store.find_admin(&login.username).await?;
    let now = crate::now();
    // Whether this address is one the account signed in from: only asked when the account is being slowed down.
    let known_address = match &admin {
        Some(admin) if state.sign_ins.account_slowed(&account, Instant::now()) => state
            .store
            .sign_in_addresses(&admin.username, now - KNOWN_ADDRESS_SECS)
            .await?
            .iter()
            .any(|known| address_key_of(known) == address_key),
        _ => false,
    };
    let attempt = state.sign_ins.begin(&account, &address_key, known_address, Instant::now()).map_err(try_again_in)?;
    let phc = admin.as_ref().map_or_else(|| DUMMY_HASH.clone(), |admin| admin.password_hash.clone());
    let Some(matches) = state.password_checks.verify(login.password, phc, PASSWORD_CHECK_WAIT).await else {
        attempt.not_verified();
        return Err(busy());
    };
    let admin = match admin {
        Some(admin) if matches && !admin.disabled => admin,
        admin => {
            attempt.failed();
            // A name that is no account is not kept: it is often a password typed into the wrong field.
            let tried = admin.map_or_else(|| shared::audit::UNKNOWN_ACCOUNT.to_owned(), |admin| admin.username);
            let actor = Actor { username: tried.clone(), address: address.clone(), at: now };
            state.store.record_audit(&actor, sign_in_audit(AuditAction::SignInFailed, &tried)).await?;
            return Err(ApiError::Unauthenticated("The user name or password is incorrect."));
        }
    };
    attempt.succeeded();

    let (session, cookie) = new_session(&state, now);
    state.store.create_session(&session, admin.id).await?;
    let actor = Actor { username: admin.username.clone(), address: address.clone(), at: now };
    state.store.record_audit(&actor, sign_in_audit(AuditAction::SignIn, &admin.username)).await?;
    tracing::info!(username = %admin.username, "admin signed in");
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

/// The signed-in user replaces their password (required after an invitation's one-time password). Every other
/// session of the account ends, and this one continues under a new token (a new cookie).
pub async fn auth_password(
    State(state): State<AppState>,
    session: AdminSession,
    ApiJson(change): ApiJson<ChangePassword>,
) -> Result<Response, ApiError> {
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
    // Guessing the current password through a stolen session is throttled like sign-in.
    let attempt = state
        .sign_ins
        .begin(&account_key(&session.admin.username), &address_key_of(&session.address), true, Instant::now())
        .map_err(try_again_in)?;
    let phc = session.admin.password_hash.clone();
    let Some(matches) = state.password_checks.verify(change.current_password.clone(), phc, PASSWORD_CHECK_WAIT).await
    else {
        attempt.not_verified();
        return Err(busy());
    };
    if matches {
        attempt.succeeded();
    } else {
        attempt.failed();
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
    let (next, cookie) = new_session(&state, crate::now());
    state.store.change_password(session.admin.id, &hash, &next, &session.actor()).await?;
    let me = me(&AdminRecord { must_change_password: false, ..session.admin });
    Ok(([(header::SET_COOKIE, cookie)], Json(me)).into_response())
}

/// A session starting `now`, to store, and the `Set-Cookie` value that hands its token to the browser.
fn new_session(state: &AppState, now: shared::api::UnixSeconds) -> (NewSession, String) {
    let token = random_hex(32);
    let ttl = state.config.session_ttl.as_secs();
    let session = NewSession {
        token_hash: sha256_hex(&token),
        created_at: now,
        expires_at: now.saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX)),
    };
    (session, session_cookie(&token, ttl, state.config.secure_cookies))
}

/// The throttle's key of an address written as text (as the audit log and sessions keep it).
fn address_key_of(address: &str) -> String {
    address.parse().map_or_else(|_| address.to_owned(), address_key)
}
