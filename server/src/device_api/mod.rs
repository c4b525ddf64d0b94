//! The device API under `/api/v1/device`: onboarding with the tenant's token, then everything else as one device.

mod checkin;
mod onboard;
mod report;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use axum::routing::post;

use crate::AppState;
use crate::credentials::{constant_time_eq, sha256_hex};
use crate::error::ApiError;

/// The device API's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/device/onboard", post(onboard::device_onboard))
        .route("/device/check-in", post(checkin::device_check_in))
        .route("/device/report", post(report::device_report))
}

/// A device authenticated by `Authorization: Device <device id>:<device secret>`. A handler that takes it acts as
/// that device and no other.
#[derive(Debug, Clone)]
pub struct AuthenticatedDevice {
    /// The device's id.
    pub device_id: String,
    /// The device as stored (its last check-in may lag by the buffered ones).
    pub record: crate::store::DeviceRecord,
}

const UNAUTHENTICATED: &str = "Device credentials are missing or wrong; onboard the device again.";

impl FromRequestParts<AppState> for AuthenticatedDevice {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let credentials = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Device "))
            .and_then(|value| value.split_once(':'))
            .ok_or(ApiError::Unauthenticated(UNAUTHENTICATED))?;
        let (device_id, secret) = credentials;
        let stored = state.store.authenticate_device(device_id).await?;
        // Compare against something even for unknown ids, so timing does not tell which ids exist.
        let presented = sha256_hex(secret);
        let expected = stored
            .as_ref()
            .map_or("0000000000000000000000000000000000000000000000000000000000000000", |(hash, _)| hash.as_str());
        match stored {
            Some((_, record)) if constant_time_eq(&presented, expected) => {
                Ok(Self { device_id: device_id.to_owned(), record })
            }
            _ => Err(ApiError::Unauthenticated(UNAUTHENTICATED)),
        }
    }
}
