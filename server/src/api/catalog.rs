//! `GET /api/v1/catalog`: the settings catalog of both profiles, as `shared` defines it (the SPA has it compiled in;
//! automation reads it here).

use axum::Json;
use serde::Serialize;
use shared::catalog::{Category, PLATFORM, Profile, SettingDefinition};

use crate::auth::AdminSession;

/// The catalog as served.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct CatalogView {
    platform: &'static str,
    profiles: Vec<ProfileView>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
struct ProfileView {
    profile: Profile,
    label: &'static str,
    policy_type: &'static str,
    categories: Vec<CategoryView>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
struct CategoryView {
    category: Category,
    label: &'static str,
    settings: Vec<SettingView>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
struct SettingView {
    #[serde(flatten)]
    definition: &'static SettingDefinition,
    learn_more: String,
}

/// Every profile, its categories in display order, and every setting definition with its "Learn more" link.
pub async fn catalog_get(_session: AdminSession) -> Json<CatalogView> {
    let profiles = Profile::ALL
        .iter()
        .map(|profile| ProfileView {
            profile: *profile,
            label: profile.label(),
            policy_type: profile.policy_type(),
            categories: profile
                .categories()
                .iter()
                .map(|category| CategoryView {
                    category: *category,
                    label: category.label(),
                    settings: category
                        .settings()
                        .iter()
                        .map(|definition| SettingView { definition, learn_more: definition.learn_more() })
                        .collect(),
                })
                .collect(),
        })
        .collect();
    Json(CatalogView { platform: PLATFORM, profiles })
}
