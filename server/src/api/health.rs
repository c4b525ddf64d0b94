//! `GET /api/v1/health`: the server and its database answer.

use axum::Json;
use axum::extract::State;
use shared::api::Health;

use crate::AppState;
use crate::error::ApiError;

/// Reports `ok` when the database answers.
pub async fn health_get(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    state.store.ping().await?;
    Ok(Json(Health { status: "ok".to_owned(), version: env!("CARGO_PKG_VERSION").to_owned() }))
}
