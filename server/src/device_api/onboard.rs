//! `POST /api/v1/device/onboard`: a device presents an onboarding token and its facts, and gets its id and secret.
//! Its directory registration is reused when it presents a known one, and created when it has none or when another
//! device holds the one it presents (the claim is kept for an admin to settle). Every onboarding is audited under the
//! token's name and counts as one of the token's uses.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::Value;
use shared::Violation;
use shared::api::OnboardResponse;
use shared::device::DeviceFacts;
use shared::eligibility::device_support;

use crate::AppState;
use crate::credentials::{random_guid, random_hex, sha256_hex};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::store::NewDevice;

const TOKEN_REFUSED: &str = "The onboarding token is missing, wrong, expired, used up or revoked.";

/// Onboards one device.
pub async fn device_onboard(
    State(state): State<AppState>,
    crate::address::ClientAddress(address): crate::address::ClientAddress,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<OnboardResponse>), ApiError> {
    // The token is checked before the facts, so that nobody without it learns anything from validation messages
    // (looked up by its SHA-256: tokens are high-entropy and stored hashed). The onboarding's transaction checks it
    // again as it counts the use.
    let token = body.get("onboarding_token").and_then(Value::as_str).unwrap_or_default();
    let token_hash = sha256_hex(token);
    if token.is_empty() || token.len() > 256 || !state.store.onboarding_token_usable(&token_hash, crate::now()).await? {
        return Err(ApiError::Unauthenticated(TOKEN_REFUSED));
    }

    let mut violations = Vec::new();
    if let Some(object) = body.as_object() {
        for key in object.keys().filter(|k| !matches!(k.as_str(), "onboarding_token" | "facts" | "device_secret")) {
            violations.push(Violation::new(key.clone(), "is not a known field"));
        }
    }
    let facts = match body.get("facts") {
        None => {
            violations.push(Violation::new("facts", "is required"));
            None
        }
        Some(value) => DeviceFacts::parse(value, "facts").map_err(|errors| violations.extend(errors)).ok(),
    };
    let Some(facts) = facts.filter(|_| violations.is_empty()) else {
        return Err(ApiError::Invalid(violations));
    };

    let previous_secret_hash = match body.get("device_secret") {
        None | Some(Value::Null) => None,
        Some(Value::String(secret)) if secret.len() <= 256 => Some(sha256_hex(secret)),
        Some(_) => return Err(ApiError::invalid("device_secret", "must be the device's current secret, a string")),
    };
    let device_secret = random_hex(32);
    let support = device_support(&facts);
    let hostname = facts.hostname.clone();
    let onboarded = state
        .store
        .onboard_device(NewDevice {
            token_hash,
            address,
            id: random_guid().to_string(),
            secret_hash: sha256_hex(&device_secret),
            facts,
            support,
            new_directory_device_id: random_guid(),
            previous_secret_hash,
            now: crate::now(),
        })
        .await?
        .ok_or(ApiError::Unauthenticated(TOKEN_REFUSED))?;
    if let Some(presented) = &onboarded.directory_conflict {
        tracing::warn!(device_id = %onboarded.device_id, %hostname, %presented, "device presented a directory registration another device holds");
    }
    tracing::debug!(device_id = %onboarded.device_id, %hostname, registration = ?onboarded.registration, "device onboarded");
    Ok((
        StatusCode::CREATED,
        Json(OnboardResponse {
            device_id: onboarded.device_id,
            device_secret,
            directory_device_id: onboarded.directory_device_id,
            registration: onboarded.registration,
            check_in_interval_secs: state.config.check_in_interval.as_secs(),
        }),
    ))
}
