//! Admin sessions: the cookie, and the extractor that refuses every admin route without a valid one.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use crate::AppState;
use crate::credentials::sha256_hex;
use crate::error::ApiError;
use crate::store::{Actor, AdminRecord};

/// Name of the session cookie over plain HTTP.
pub const SESSION_COOKIE: &str = "rampart_session";
/// Name of the session cookie behind HTTPS (`--secure-cookies`): the `__Host-` prefix makes browsers refuse it unless
/// it is `Secure`, for the whole host (`Path=/`) and set by this host alone (no `Domain`), so a sibling subdomain
/// cannot plant or overwrite it.
pub const SECURE_SESSION_COOKIE: &str = "__Host-rampart_session";

/// The session cookie's name under this configuration.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure { SECURE_SESSION_COOKIE } else { SESSION_COOKIE }
}

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
        let address = crate::address::client_address(parts);
        let token = session_token(parts, cookie_name(state.config.secure_cookies))
            .ok_or(ApiError::Unauthenticated("Sign in first."))?;
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
fn session_token<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .filter_map(|cookie| cookie.trim().split_once('='))
        .find(|(cookie, _)| *cookie == name)
        .map(|(_, value)| value)
}

/// `Set-Cookie` value that starts a session.
pub fn session_cookie(token: &str, max_age_secs: u64, secure: bool) -> String {
    let name = cookie_name(secure);
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age_secs}{secure}")
}

/// `Set-Cookie` value that ends a session.
pub fn expired_session_cookie(secure: bool) -> String {
    session_cookie("", 0, secure)
}
