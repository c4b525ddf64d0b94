//! The admin API under `/api/v1`: every route except health and sign-in requires an admin session.

mod audit;
mod auth;
mod catalog;
pub use catalog::CatalogView;
mod devices;
pub(crate) mod groups;
mod health;
mod policies;
mod reports;
pub mod tenant;
mod users;

use axum::Router;
use axum::routing::{delete, get, patch, post};

use crate::AppState;
use crate::error::ApiError;

/// The admin API's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(health::health_get))
        .route("/auth/login", post(auth::auth_login))
        .route("/auth/logout", post(auth::auth_logout))
        .route("/auth/me", get(auth::auth_me))
        .route("/auth/password", post(auth::auth_password))
        .route("/users", get(users::users_list).post(users::users_create))
        .route("/users/{username}", patch(users::users_update))
        .route("/audit", get(audit::audit_list))
        .route("/audit.csv", get(audit::audit_csv))
        .route("/audit/{id}", get(audit::audit_get))
        .route("/openapi.json", get(crate::openapi::openapi_get))
        .route("/devices", get(devices::devices_list))
        .route("/devices/{id}", get(devices::devices_get).delete(devices::devices_delete))
        .route("/devices/{id}/sync", post(devices::devices_sync))
        .route("/devices/{id}/effective", get(devices::devices_effective))
        .route("/devices/{id}/status", get(devices::devices_status))
        .route("/snapshot", get(devices::snapshot_get))
        .route("/groups", get(groups::groups_list).post(groups::groups_create))
        .route("/groups/preview", post(groups::groups_preview))
        .route("/groups/{id}", get(groups::groups_get).patch(groups::groups_update).delete(groups::groups_delete))
        .route("/groups/{id}/members", post(groups::groups_add_members))
        .route("/groups/{id}/members/remove", post(groups::groups_remove_members))
        .route("/groups/{id}/nested", post(groups::groups_nest))
        .route("/groups/{id}/nested/{child}", delete(groups::groups_unnest))
        .route("/catalog", get(catalog::catalog_get))
        .route("/policies", get(policies::policies_list).post(policies::policies_create))
        .route(
            "/policies/{id}",
            get(policies::policies_get).put(policies::policies_update).delete(policies::policies_delete),
        )
        .route("/policies/import", post(policies::policies_import))
        .route("/policies/{id}/export", get(policies::policies_export))
        .route("/policies/{id}/duplicate", post(policies::policies_duplicate))
        .route("/policies/{id}/versions", get(policies::policies_versions))
        .route("/policies/{id}/diff", get(policies::policies_diff))
        .route("/policies/report.csv", get(policies::policies_list_csv))
        .route("/policies/{id}/report", get(reports::policies_report))
        .route("/policies/{id}/report/devices.csv", get(reports::policies_report_devices_csv))
        .route("/policies/{id}/report/settings.csv", get(reports::policies_report_settings_csv))
        .route("/policies/{id}/report/settings/{setting_id}", get(reports::policies_report_setting))
        .route("/policies/{id}/report/settings/{setting_id}/devices.csv", get(reports::policies_report_setting_csv))
        .route("/policies/{id}/report/devices/{device_id}", get(reports::policies_report_device))
        .route("/policies/{id}/report/devices/{device_id}/settings.csv", get(reports::policies_report_device_csv))
        .route("/tenant", get(tenant::tenant_get).patch(tenant::tenant_update))
        .route("/tenant/onboarding-tokens", get(tenant::tenant_tokens_list).post(tenant::tenant_tokens_create))
        .route("/tenant/onboarding-tokens/{id}/revoke", post(tenant::tenant_tokens_revoke))
}

/// Unknown API paths get the JSON envelope, not the admin center's page.
pub async fn not_found() -> ApiError {
    ApiError::NotFound("There is no such API route.".to_owned())
}

/// A known route called with the wrong method gets the JSON envelope too (axum keeps the `Allow` header).
pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
