//! Rampart's server: the admin API, the device API, sign-in, persistence, and the admin center's assets.
//!
//! `main.rs` only wires; everything here is reachable from `router(state)`, which tests drive directly.

pub mod access;
pub mod address;
pub mod api;
pub mod assets;
pub mod auth;
pub mod credentials;
pub mod demo;
pub mod device_api;
pub mod effective;
pub mod error;
pub mod extract;
pub mod limiter;
pub mod openapi;
pub mod store;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, header};
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::store::Store;

/// How the server behaves; fixed at start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Seconds between device check-ins (90 minutes by default, like the product Rampart replaces).
    pub check_in_interval: Duration,
    /// How long a sign-in lasts.
    pub session_ttl: Duration,
    /// Whether session cookies carry `Secure` (set it when Rampart is served over HTTPS).
    pub secure_cookies: bool,
    /// The address devices reach the server at, written into onboarding packages.
    pub public_url: String,
    /// The built admin center (`index.html` and `assets/`); `None` serves the API only.
    pub assets_dir: Option<PathBuf>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (nobody else's is believed).
    pub trusted_proxies: Vec<address::Cidr>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            check_in_interval: Duration::from_secs(90 * 60),
            session_ttl: Duration::from_secs(12 * 60 * 60),
            secure_cookies: false,
            public_url: "http://127.0.0.1:8080".to_owned(),
            assets_dir: None,
            trusted_proxies: Vec::new(),
        }
    }
}

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Persistence.
    pub store: Arc<dyn Store>,
    /// Settings.
    pub config: Arc<Config>,
    /// What decides devices' policies, cached until the store's generation moves.
    pub world: Arc<effective::WorldCache>,
    /// Failed sign-ins per account and address.
    pub sign_ins: Arc<limiter::SignInLimiter>,
    /// Password verifications, a few at once: each takes an Argon2 hash's memory (19 MiB).
    pub password_checks: Arc<credentials::PasswordChecks>,
    /// Heavy reads running per user.
    pub heavy_reads: Arc<limiter::HeavyReads>,
}

impl AppState {
    /// State over `store` with `config`.
    pub fn new(store: Arc<dyn Store>, config: Config) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        Self {
            store,
            config: Arc::new(config),
            world: Arc::default(),
            sign_ins: Arc::default(),
            // Two per core, and never more than four (76 MiB of Argon2 memory) whatever the machine.
            password_checks: Arc::new(credentials::PasswordChecks::new((2 * cores).min(4))),
            heavy_reads: Arc::default(),
        }
    }
}

/// The whole application: `/api/v1/…` and, when built, the admin center.
pub fn router(state: AppState) -> Router {
    let assets_dir = state.config.assets_dir.clone();
    let secure = state.config.secure_cookies;
    let api = Router::new()
        .merge(api::routes())
        .merge(device_api::routes())
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), access::enforce))
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .layer(CompressionLayer::new())
        .layer(axum::middleware::from_fn_with_state(state.clone(), address::client_ip))
        .with_state(state);
    // `nest` does not match the prefix with a trailing slash; without this route it would fall to the admin center.
    let app = Router::new().nest("/api/v1", api).route("/api/v1/", axum::routing::any(api::not_found));
    let app = match assets_dir {
        Some(dir) => assets::serve(app, &dir),
        None => app,
    };
    security_headers(app, secure)
}

/// Headers every response carries. The Content-Security-Policy allows the admin center's own script and wasm only.
/// Behind HTTPS (`secure`), browsers are also told to use nothing else for a year (HSTS).
fn security_headers(app: Router, secure: bool) -> Router {
    const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; \
        connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
    let header = |name, value| SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value));
    let app = if secure { app.layer(header(header::STRICT_TRANSPORT_SECURITY, "max-age=31536000")) } else { app };
    app.layer(header(header::CONTENT_SECURITY_POLICY, CSP))
        .layer(header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header(header::X_FRAME_OPTIONS, "DENY"))
        .layer(header(header::REFERRER_POLICY, "no-referrer"))
}

/// The listener every server (and test server) serves from: each accepted connection gets TCP_NODELAY, so that a
/// response written in pieces (streamed CSV, a JSON body after its headers) is not held back by Nagle's algorithm until
/// the client's delayed ACK — about 40 ms on every request after the first of a kept-alive connection.
pub fn listener(
    tcp: tokio::net::TcpListener,
) -> axum::serve::TapIo<tokio::net::TcpListener, fn(&mut tokio::net::TcpStream)> {
    fn no_delay(stream: &mut tokio::net::TcpStream) {
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY on a connection");
        }
    }
    axum::serve::ListenerExt::tap_io(tcp, no_delay as fn(&mut tokio::net::TcpStream))
}

/// Now, in Unix seconds.
pub fn now() -> shared::api::UnixSeconds {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX)
}
