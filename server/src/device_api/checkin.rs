//! `POST /api/v1/device/check-in`: the device sends the hash of the policies it holds (`If-None-Match`); the answer
//! is `304 Not Modified` while its effective policy set is unchanged, else every policy that applies to it and the
//! new hash. A device only ever learns its own policies: it is identified by its credentials, not by a parameter.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use shared::api::{CHECK_IN_INTERVAL_HEADER, CheckInResponse};
use shared::policy::Policy;

use crate::AppState;
use crate::device_api::AuthenticatedDevice;
use crate::error::ApiError;

/// Identifies a set of policies at their versions: any change of assignment, eligibility or content changes it.
fn policies_hash(policies: &[&Policy]) -> String {
    let mut ids: Vec<(&str, u64)> = policies.iter().map(|p| (p.id.as_str(), p.version)).collect();
    ids.sort_unstable();
    let mut hasher = Sha256::new();
    for (id, version) in ids {
        hasher.update(id.as_bytes());
        hasher.update(b":");
        hasher.update(version.to_string().as_bytes());
        hasher.update(b";");
    }
    hex::encode(&hasher.finalize()[..16])
}

/// Records the check-in of the authenticated device and answers with its policies, or `304` when it holds them.
pub async fn device_check_in(
    State(state): State<AppState>,
    device: AuthenticatedDevice,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let sync_requested = device.record.sync_requested;
    state.store.record_check_in(&device.device_id, crate::now(), sync_requested).await?;
    let world = state.world.get(&state).await?;
    let applicable = world.policies_for(&device.record);
    let hash = policies_hash(&applicable);
    let interval = state.config.check_in_interval.as_secs();
    let held = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).map(|v| v.trim().trim_matches('"'));
    if held == Some(hash.as_str()) && !sync_requested {
        let interval = HeaderValue::from(interval);
        return Ok((StatusCode::NOT_MODIFIED, [(CHECK_IN_INTERVAL_HEADER, interval)]).into_response());
    }
    let body = world
        .answer(&hash, || {
            let policies = applicable.into_iter().cloned().collect();
            serde_json::to_vec(&CheckInResponse {
                check_in_interval_secs: interval,
                policies_hash: hash.clone(),
                policies,
            })
        })
        .map_err(|error| ApiError::Internal(format!("the check-in answer does not serialize: {error}")))?;
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response())
}
