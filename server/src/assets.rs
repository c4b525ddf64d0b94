//! Serves the built admin center: hashed assets cached for a year, `index.html` never cached, and every
//! other path answered with `index.html` so that client-side routes survive a reload.

use std::path::Path;

use axum::Router;
use axum::http::{HeaderValue, Response, header};
use tower::Layer;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

/// Adds the admin center under `/` to `app`. Files are served precompressed (`.br`, `.gz`) when the browser accepts it.
pub fn serve(app: Router, dir: &Path) -> Router {
    let hashed = ServeDir::new(dir.join("assets")).precompressed_br().precompressed_gzip();
    let index = ServeFile::new(dir.join("index.html")).precompressed_br().precompressed_gzip();
    // Asset names carry a hash of their content, so a found asset never changes; a missing one may appear later.
    let cache_found_forever = SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, |response: &Response<_>| {
        Some(HeaderValue::from_static(if response.status().is_success() {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        }))
    });
    let never_cache = SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    let worker = ServeFile::new(dir.join("sw.js"));
    app.nest_service("/assets", cache_found_forever.layer(hashed))
        .route_service("/sw.js", never_cache.clone().layer(worker))
        .fallback_service(never_cache.layer(index))
}
