//! `POST /api/v1/device/check-in`: the device says it is alive; the answer says when to come back.

use axum::Json;
use axum::extract::State;
use shared::api::CheckInResponse;

use crate::AppState;
use crate::device_api::AuthenticatedDevice;
use crate::error::ApiError;

/// Records the check-in of the authenticated device.
pub async fn device_check_in(
    State(state): State<AppState>,
    device: AuthenticatedDevice,
) -> Result<Json<CheckInResponse>, ApiError> {
    state.store.record_check_in(&device.device_id, crate::now()).await?;
    Ok(Json(CheckInResponse { check_in_interval_secs: state.config.check_in_interval.as_secs() }))
}
