//! Admin sessions: the cookie, and the extractor that refuses every admin route without a valid one.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use crate::AppState;
use crate::credentials::sha256_hex;
use crate::error::ApiError;
use crate::store::{Actor, AdminRecord};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "rampart_session";

/// A signed-in admin. Taking it as a handler argument makes the route refuse unauthenticated calls with 401.
#[derive(Debug, Clone)]
pub struct AdminSession {
    /// The admin.
    pub admin: AdminRecord,
    /// SHA-256 of the session token, to end the session.
    pub token_hash: String,
    /// The client's address.
    pub address: String,
}

impl FromRequestParts<AppState> for AdminSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(session) = parts.extensions.get::<Self>() {
            return Ok(session.clone());
        }
        let address = crate::access::client_address(parts);
        let token = session_token(parts).ok_or(ApiError::Unauthenticated("Sign in first."))?;
        let token_hash = sha256_hex(token);
        let admin = state
            .store
            .session_admin(&token_hash, crate::now())
            .await?
            .ok_or(ApiError::Unauthenticated("Your session has ended; sign in again."))?;
        Ok(Self { admin, token_hash, address })
    }
}

impl AdminSession {
    /// The signed-in user as the author of a change, now.
    pub fn actor(&self) -> Actor {
        Actor { username: self.admin.username.clone(), address: self.address.clone(), at: crate::now() }
    }
}

/// The session token from the request's cookies.
fn session_token(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .filter_map(|cookie| cookie.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
}

/// `Set-Cookie` value that starts a session.
pub fn session_cookie(token: &str, max_age_secs: u64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age_secs}{secure}")
}

/// `Set-Cookie` value that ends a session.
pub fn expired_session_cookie(secure: bool) -> String {
    session_cookie("", 0, secure)
}
