//! The one typed client of Rampart's API, over the DTOs of `shared`. Every call goes through [`call`], so that
//! every failure arrives as an [`ApiFailure`] carrying the server's error envelope.

use serde::Serialize;
use serde::de::DeserializeOwned;
use shared::api::{
    CreateGroup, CreateOnboardingToken, CreatedOnboardingToken, DeviceDetail, DevicePage, DeviceStatus,
    EffectiveConfiguration, GroupDetail, GroupSummary, LoginRequest, Me, MemberChange, NestGroup,
    OnboardingTokenSummary, RulePreview, RulePreviewRequest, TenantView, UpdateGroup, UpdateTenant,
};
use shared::catalog::Profile;
use shared::error::{ErrorCode, ErrorEnvelope};
use shared::policy::{Change, ImportReport, Policy, PolicyDraft, PolicySummary, PolicyVersion};
use shared::preview::{Snapshot, SnapshotUpdate};
use shared::query::DeviceQuery;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{RequestCredentials, RequestInit, Response};

/// The preview's snapshot (`GET /api/v1/snapshot`; `?since=G` for what changed after generation `G`).
const SNAPSHOT: &str = "/api/v1/snapshot";

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiFailure {
    /// The server answered with its error envelope.
    Server(ErrorEnvelope),
    /// The server could not be reached, or answered with something that is not Rampart's API.
    Network(String),
}

impl ApiFailure {
    /// Whether the session is missing or over, so the admin must sign in.
    pub fn is_unauthenticated(&self) -> bool {
        matches!(self, Self::Server(envelope) if envelope.error.code == ErrorCode::Unauthenticated)
    }
}

impl std::fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Server(envelope) => envelope.fmt(f),
            Self::Network(message) => write!(f, "The server cannot be reached ({message})."),
        }
    }
}

/// The offline copy of what the admin center read: the last answer of each read that matters offline (the signed-in
/// user, groups, policies, the preview's snapshot — several MB for a large fleet), kept in the browser's IndexedDB,
/// and since when the server has been unreachable.
pub mod offline {
    use leptos::prelude::*;

    thread_local! {
        static SINCE: std::cell::Cell<Option<RwSignal<Option<f64>>>> = const { std::cell::Cell::new(None) };
        /// Set when the session ends: from then until the next sign-in, nothing is kept or read back.
        static FORGOTTEN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }

    fn forgotten() -> bool {
        FORGOTTEN.with(std::cell::Cell::get)
    }

    /// The local storage entry the admin center writes: when the copies were last refreshed.
    const COPIED_AT: &str = "rampart:copied-at";
    /// The local storage entry with the generation of the kept snapshot.
    const SNAPSHOT_GENERATION: &str = "rampart:snapshot-generation";

    thread_local! {
        /// The snapshot as last read, held in memory so that the next read asks only for what changed since.
        static HELD: std::cell::RefCell<Option<shared::preview::Snapshot>> = const { std::cell::RefCell::new(None) };
    }

    /// Takes the snapshot held in memory.
    pub fn take_held() -> Option<shared::preview::Snapshot> {
        HELD.with(|held| held.borrow_mut().take())
    }

    /// Holds the snapshot in memory (not after the session ended).
    pub fn hold(snapshot: shared::preview::Snapshot) {
        if !forgotten() {
            HELD.with(|held| *held.borrow_mut() = Some(snapshot));
        }
    }

    /// Whether a snapshot is held in memory.
    pub fn holds() -> bool {
        HELD.with(|held| held.borrow().is_some())
    }

    /// A copy of the snapshot held in memory.
    pub fn held() -> Option<shared::preview::Snapshot> {
        HELD.with(|held| held.borrow().clone())
    }

    /// The generation of the kept snapshot, if one is kept.
    pub fn kept_generation() -> Option<u64> {
        local()?.get_item(SNAPSHOT_GENERATION).ok().flatten()?.parse().ok()
    }

    /// Keeps the snapshot's text, at its generation.
    pub fn keep_snapshot(text: &str, generation: u64) {
        keep(super::SNAPSHOT, text);
        kept_at(generation);
    }

    /// Notes the generation of the snapshot just kept.
    pub fn kept_at(generation: u64) {
        if !forgotten()
            && let Some(storage) = local()
        {
            let _ = storage.set_item(SNAPSHOT_GENERATION, &generation.to_string());
        }
    }

    /// The server answered (the banner goes), or did not (it shows, and the page works from what is held).
    pub fn reached(answered: bool) {
        set((!answered).then(js_sys::Date::now));
    }

    /// The kept text of a read, without raising the offline banner.
    pub async fn kept_text(path: &str) -> Option<String> {
        if forgotten() { None } else { idb::get(path).await }
    }

    /// When the server stopped answering (browser time in ms), or `None` while it answers. Call once at start.
    pub fn provide() -> RwSignal<Option<f64>> {
        let signal = RwSignal::new(None);
        SINCE.with(|since| since.set(Some(signal)));
        signal
    }

    fn set(value: Option<f64>) {
        if let Some(signal) = SINCE.with(std::cell::Cell::get)
            && signal.get_untracked().is_some() != value.is_some()
        {
            signal.set(value);
        }
    }

    fn kept(path: &str) -> bool {
        let path = path.split('?').next().unwrap_or_default();
        matches!(path, "/api/v1/auth/me" | "/api/v1/groups" | "/api/v1/policies" | "/api/v1/snapshot")
            || (path.starts_with("/api/v1/policies/") && path.matches('/').count() == 4)
    }

    /// The small bits (when the copies were made) live in local storage, read synchronously by the banner.
    fn local() -> Option<web_sys::Storage> {
        web_sys::window()?.local_storage().ok().flatten()
    }

    /// Keeps the answer of a read that matters offline; the server answered, so it is online. The copy is written
    /// in the background: the page does not wait for it.
    pub fn keep(path: &str, text: &str) {
        set(None);
        if kept(path) && !forgotten() {
            let (path, text) = (path.to_owned(), text.to_owned());
            wasm_bindgen_futures::spawn_local(async move {
                // A full or unavailable storage only means no offline copy of this one.
                if idb::put(&path, &text).await.is_ok()
                    && let Some(storage) = local()
                {
                    let _ = storage.set_item(COPIED_AT, &crate::format::now().to_string());
                }
            });
        }
    }

    /// The kept answer of a read, when the server cannot be reached.
    pub async fn recall(path: &str) -> Option<String> {
        if forgotten() {
            return None;
        }
        let text = idb::get(path).await?;
        set(Some(js_sys::Date::now()));
        Some(text)
    }

    /// When the kept copies were last refreshed (Unix seconds, kept as an integer).
    pub fn saved_at() -> Option<i64> {
        let text = local()?.get_item(COPIED_AT).ok().flatten()?;
        text.parse().ok()
    }

    /// Deletes every copy of tenant data the admin center keeps in the browser — the IndexedDB database and its
    /// local storage entry — when the session ends; nothing is kept again until the next sign-in.
    pub async fn forget() {
        FORGOTTEN.with(|f| f.set(true));
        HELD.with(|held| held.borrow_mut().take());
        if let Some(storage) = local() {
            let _ = storage.remove_item(COPIED_AT);
            let _ = storage.remove_item(SNAPSHOT_GENERATION);
        }
        let _ = idb::delete().await;
    }

    /// Keeps copies again (after signing in).
    pub fn resume() {
        FORGOTTEN.with(|f| f.set(false));
    }

    /// A key-value store of strings in IndexedDB (database `rampart`, object store `reads`).
    mod idb {
        use std::cell::RefCell;

        use wasm_bindgen::closure::Closure;
        use wasm_bindgen::{JsCast, JsValue};
        use web_sys::{IdbDatabase, IdbObjectStore, IdbRequest, IdbTransactionMode};

        const DATABASE_NAME: &str = "rampart";
        const STORE: &str = "reads";

        thread_local! {
            static DATABASE: RefCell<Option<IdbDatabase>> = const { RefCell::new(None) };
        }

        /// Waits for a request to succeed (its result) or fail.
        async fn done(request: &IdbRequest) -> Result<JsValue, JsValue> {
            let promise = js_sys::Promise::new(&mut |resolve, reject| {
                let succeeded = request.clone();
                let on_success = Closure::once_into_js(move || {
                    let _ = resolve.call1(&JsValue::NULL, &succeeded.result().unwrap_or(JsValue::UNDEFINED));
                });
                let on_error = Closure::once_into_js(move || {
                    let _ = reject.call1(&JsValue::NULL, &JsValue::from_str("IndexedDB request failed"));
                });
                request.set_onsuccess(Some(on_success.unchecked_ref()));
                request.set_onerror(Some(on_error.unchecked_ref()));
            });
            wasm_bindgen_futures::JsFuture::from(promise).await
        }

        async fn database() -> Result<IdbDatabase, JsValue> {
            if let Some(database) = DATABASE.with(|d| d.borrow().clone()) {
                return Ok(database);
            }
            let factory = web_sys::window().ok_or("no window")?.indexed_db()?.ok_or("no IndexedDB")?;
            let request = factory.open_with_u32(DATABASE_NAME, 1)?;
            let upgrading = request.clone();
            let on_upgrade = Closure::once_into_js(move || {
                if let Ok(database) = upgrading.result() {
                    let _ = database.unchecked_into::<IdbDatabase>().create_object_store(STORE);
                }
            });
            request.set_onupgradeneeded(Some(on_upgrade.unchecked_ref()));
            let database: IdbDatabase = done(&request).await?.unchecked_into();
            // Another tab (or this one) deleting the database: let it go at once rather than block the deletion.
            let closing = database.clone();
            let on_version_change = Closure::once_into_js(move || {
                closing.close();
                DATABASE.with(|d| *d.borrow_mut() = None);
            });
            database.set_onversionchange(Some(on_version_change.unchecked_ref()));
            DATABASE.with(|d| *d.borrow_mut() = Some(database.clone()));
            Ok(database)
        }

        async fn store(mode: IdbTransactionMode) -> Result<IdbObjectStore, JsValue> {
            database().await?.transaction_with_str_and_mode(STORE, mode)?.object_store(STORE)
        }

        pub async fn put(key: &str, value: &str) -> Result<(), JsValue> {
            let store = store(IdbTransactionMode::Readwrite).await?;
            // The session may have ended while the database opened.
            if super::forgotten() {
                return Err(JsValue::NULL);
            }
            done(&store.put_with_key(&JsValue::from_str(value), &JsValue::from_str(key))?).await.map(drop)
        }

        pub async fn get(key: &str) -> Option<String> {
            let store = store(IdbTransactionMode::Readonly).await.ok()?;
            done(&store.get(&JsValue::from_str(key)).ok()?).await.ok()?.as_string()
        }

        /// Deletes the database. Waits until it is gone, or until another connection blocks it (the deletion then
        /// completes as soon as that one closes).
        pub async fn delete() -> Result<(), JsValue> {
            if let Some(database) = DATABASE.with(|d| d.borrow_mut().take()) {
                database.close();
            }
            let factory = web_sys::window().ok_or("no window")?.indexed_db()?.ok_or("no IndexedDB")?;
            let request = factory.delete_database(DATABASE_NAME)?;
            let promise = js_sys::Promise::new(&mut |resolve, _| {
                request.set_onsuccess(Some(&resolve));
                request.set_onerror(Some(&resolve));
                request.set_onblocked(Some(&resolve));
            });
            wasm_bindgen_futures::JsFuture::from(promise).await.map(drop)
        }
    }
}

/// Result of an API call.
pub type ApiResult<T> = Result<T, ApiFailure>;

fn js_error(value: wasm_bindgen::JsValue) -> ApiFailure {
    ApiFailure::Network(value.as_string().unwrap_or_else(|| format!("{value:?}")))
}

/// Encodes a request body as JSON.
fn json<B: Serialize>(body: &B) -> ApiResult<(wasm_bindgen::JsValue, &'static str)> {
    let json = serde_json::to_string(body).map_err(|e| ApiFailure::Network(e.to_string()))?;
    Ok((wasm_bindgen::JsValue::from_str(&json), "application/json"))
}

/// Decodes an answer. The only generic step of a call: the request itself is [`call`], once for every type, which
/// keeps the wasm bundle small.
fn decode<T: DeserializeOwned>(text: &str) -> ApiResult<T> {
    let text = if text.is_empty() { "null" } else { text };
    serde_json::from_str(text).map_err(|e| ApiFailure::Network(format!("unexpected answer: {e}")))
}

/// Sends a request and returns the body of the answer. Reads that the server cannot answer are answered from the
/// last copy, and the admin center says so.
async fn call(
    method: &str,
    path: &str,
    body: Option<(wasm_bindgen::JsValue, &str)>,
    if_match: Option<u64>,
) -> ApiResult<String> {
    match fetch(method, path, body, if_match).await {
        Ok(text) => {
            if method == "GET" {
                offline::keep(path, &text);
            }
            Ok(text)
        }
        Err(ApiFailure::Network(message)) if method == "GET" => {
            offline::recall(path).await.ok_or(ApiFailure::Network(message))
        }
        Err(failure) => Err(refused(path, failure)),
    }
}

/// A refusal from the server: when the session expired or was ended elsewhere (a wrong password at sign-in is not a
/// session ending), the session ends here too.
fn refused(path: &str, failure: ApiFailure) -> ApiFailure {
    if failure.is_unauthenticated() && path != "/api/v1/auth/login" && path != "/api/v1/auth/logout" {
        crate::session::end(true);
    }
    failure
}

/// A read.
async fn get<T: DeserializeOwned>(path: &str) -> ApiResult<T> {
    decode(&call("GET", path, None, None).await?)
}

/// A write with a JSON body.
async fn send<B: Serialize, T: DeserializeOwned>(method: &str, path: &str, body: &B) -> ApiResult<T> {
    let body = json(body)?;
    decode(&call(method, path, Some(body), None).await?)
}

/// A write without a body; the answer undecoded.
async fn without_body(method: &str, path: &str) -> ApiResult<String> {
    call(method, path, None, None).await
}

/// The one place that talks to `fetch`: the body of a 2xx answer, or the failure.
async fn fetch(
    method: &str,
    path: &str,
    body: Option<(wasm_bindgen::JsValue, &str)>,
    if_match: Option<u64>,
) -> ApiResult<String> {
    let init = RequestInit::new();
    init.set_method(method);
    init.set_credentials(RequestCredentials::SameOrigin);
    let headers = web_sys::Headers::new().map_err(js_error)?;
    headers.set("accept", "application/json").map_err(js_error)?;
    // The server refuses cookie-authenticated writes without it (CSRF defence).
    headers.set("x-rampart-csrf", "1").map_err(js_error)?;
    if let Some(version) = if_match {
        headers.set("if-match", &format!("\"{version}\"")).map_err(js_error)?;
    }
    if let Some((body, content_type)) = body {
        headers.set("content-type", content_type).map_err(js_error)?;
        init.set_body(&body);
    }
    init.set_headers(&headers);
    let window = web_sys::window().ok_or_else(|| ApiFailure::Network("no window".into()))?;
    let response: Response =
        JsFuture::from(window.fetch_with_str_and_init(path, &init)).await.map_err(js_error)?.unchecked_into();
    let status = response.status();
    let text =
        JsFuture::from(response.text().map_err(js_error)?).await.map_err(js_error)?.as_string().unwrap_or_default();
    if (200..300).contains(&status) {
        Ok(text)
    } else {
        Err(serde_json::from_str::<ErrorEnvelope>(&text)
            .map(ApiFailure::Server)
            .unwrap_or_else(|_| ApiFailure::Network(format!("HTTP {status}"))))
    }
}

/// The body of a file of the admin center's own (not the API), such as an asset.
pub async fn fetch_text(path: &str) -> ApiResult<String> {
    fetch("GET", path, None, None).await
}

/// Refreshes the offline copies of the reads the admin center needs offline, without decoding them: the snapshot of
/// a large fleet is several MB, and decoding it would grow the page's wasm memory for nothing (it never shrinks).
pub async fn refresh_offline_copies() {
    // The snapshot: only what changed since the copy (usually nothing: a few bytes); the kept copy is read only when
    // something did, and the whole snapshot is fetched only when nothing is kept.
    let reached = if offline::holds() {
        update_held_snapshot().await.is_ok()
    } else if let Some(generation) = offline::kept_generation() {
        match fetch("GET", &format!("{SNAPSHOT}?since={generation}"), None, None).await {
            Ok(text) => match decode::<SnapshotUpdate>(&text) {
                Ok(update) if update.moves(generation) => snapshot_with(update).await.is_ok(),
                Ok(_) => true,
                Err(_) => false,
            },
            Err(_) => false,
        }
    } else {
        match fetch("GET", SNAPSHOT, None, None).await {
            Ok(text) => {
                offline::keep_snapshot(&text, generation_of(&text));
                true
            }
            Err(_) => false,
        }
    };
    if !reached {
        return;
    }
    let paths =
        ["/api/v1/groups".to_owned()].into_iter().chain([Profile::Antivirus, Profile::Firewall].map(policies_path));
    for path in paths {
        match fetch("GET", &path, None, None).await {
            Ok(text) => offline::keep(&path, &text),
            // Unreachable: the copies stay as they are; the next read of a page raises the offline banner.
            Err(_) => return,
        }
    }
}

/// Signs in; the server sets the session cookie. From then on, reads are kept for offline use again.
pub async fn login(username: String, password: String) -> ApiResult<Me> {
    let me = send("POST", "/api/v1/auth/login", &LoginRequest { username, password }).await?;
    offline::resume();
    Ok(me)
}

/// Signs out.
pub async fn logout() -> ApiResult<()> {
    without_body("POST", "/api/v1/auth/logout").await.map(drop)
}

/// The signed-in admin.
pub async fn me() -> ApiResult<Me> {
    get("/api/v1/auth/me").await
}

/// One page of the Devices list.
pub async fn devices(query: &DeviceQuery) -> ApiResult<DevicePage> {
    get(&format!("/api/v1/devices?{}", query.to_query_string())).await
}

/// One device.
pub async fn device(id: &str) -> ApiResult<DeviceDetail> {
    get(&format!("/api/v1/devices/{}", shared::query::percent_encode(id))).await
}

/// Deletes a device with its reports and memberships; its credentials stop working at once.
pub async fn delete_device(id: &str) -> ApiResult<()> {
    without_body("DELETE", &format!("/api/v1/devices/{}", shared::query::percent_encode(id))).await.map(drop)
}

/// Tenant administration.
pub async fn tenant() -> ApiResult<TenantView> {
    get("/api/v1/tenant").await
}

/// Changes switches or licence declarations.
pub async fn update_tenant(update: &UpdateTenant) -> ApiResult<TenantView> {
    send("PATCH", "/api/v1/tenant", update).await
}

/// Every onboarding token, newest first.
pub async fn onboarding_tokens() -> ApiResult<Vec<OnboardingTokenSummary>> {
    get("/api/v1/tenant/onboarding-tokens").await
}

/// Creates an onboarding token; the answer is the only time the token exists in clear.
pub async fn create_onboarding_token(create: &CreateOnboardingToken) -> ApiResult<CreatedOnboardingToken> {
    send("POST", "/api/v1/tenant/onboarding-tokens", create).await
}

/// Revokes an onboarding token: no device onboards with it any more.
pub async fn revoke_onboarding_token(id: &str) -> ApiResult<()> {
    let path = format!("/api/v1/tenant/onboarding-tokens/{}/revoke", shared::query::percent_encode(id));
    without_body("POST", &path).await.map(drop)
}

/// Every group, *All devices* first.
pub async fn groups() -> ApiResult<Vec<GroupSummary>> {
    get("/api/v1/groups").await
}

/// One group with its members.
pub async fn group(id: &str) -> ApiResult<GroupDetail> {
    get(&format!("/api/v1/groups/{}", shared::query::percent_encode(id))).await
}

/// Creates a group.
pub async fn create_group(create: &CreateGroup) -> ApiResult<GroupDetail> {
    send("POST", "/api/v1/groups", create).await
}

/// Changes a group.
pub async fn update_group(id: &str, update: &UpdateGroup) -> ApiResult<GroupDetail> {
    send("PATCH", &format!("/api/v1/groups/{}", shared::query::percent_encode(id)), update).await
}

/// Deletes a group.
pub async fn delete_group(id: &str) -> ApiResult<()> {
    without_body("DELETE", &format!("/api/v1/groups/{}", shared::query::percent_encode(id))).await.map(drop)
}

/// Adds devices to a static group.
pub async fn add_members(id: &str, device_ids: Vec<String>) -> ApiResult<GroupDetail> {
    let path = format!("/api/v1/groups/{}/members", shared::query::percent_encode(id));
    send("POST", &path, &MemberChange { device_ids }).await
}

/// Removes devices from a static group.
pub async fn remove_members(id: &str, device_ids: Vec<String>) -> ApiResult<GroupDetail> {
    let path = format!("/api/v1/groups/{}/members/remove", shared::query::percent_encode(id));
    send("POST", &path, &MemberChange { device_ids }).await
}

/// Nests a group in another.
pub async fn nest_group(id: &str, group_id: String) -> ApiResult<GroupDetail> {
    let path = format!("/api/v1/groups/{}/nested", shared::query::percent_encode(id));
    send("POST", &path, &NestGroup { group_id }).await
}

/// Takes a nested group out.
pub async fn unnest_group(id: &str, child: &str) -> ApiResult<GroupDetail> {
    let path =
        format!("/api/v1/groups/{}/nested/{}", shared::query::percent_encode(id), shared::query::percent_encode(child));
    decode(&without_body("DELETE", &path).await?)
}

/// How many devices a rule matches.
pub async fn preview_rule(rule: String) -> ApiResult<RulePreview> {
    send("POST", "/api/v1/groups/preview", &RulePreviewRequest { rule }).await
}

/// Policies of one profile.
pub async fn policies(profile: Profile) -> ApiResult<Vec<PolicySummary>> {
    get(&policies_path(profile)).await
}

fn policies_path(profile: Profile) -> String {
    let kind = match profile {
        Profile::Antivirus => "antivirus",
        Profile::Firewall => "firewall",
    };
    format!("/api/v1/policies?type={kind}")
}

fn policy_path(id: &str) -> String {
    format!("/api/v1/policies/{}", shared::query::percent_encode(id))
}

/// One policy at its current version.
pub async fn policy(id: &str) -> ApiResult<Policy> {
    get(&policy_path(id)).await
}

/// Creates a policy.
pub async fn create_policy(draft: &PolicyDraft) -> ApiResult<Policy> {
    send("POST", "/api/v1/policies", draft).await
}

/// Saves a policy as the next version, if it is still at `version`.
pub async fn update_policy(id: &str, version: u64, draft: &PolicyDraft) -> ApiResult<Policy> {
    decode(&call("PUT", &policy_path(id), Some(json(draft)?), Some(version)).await?)
}

/// Deletes a policy.
pub async fn delete_policy(id: &str) -> ApiResult<()> {
    without_body("DELETE", &policy_path(id)).await.map(drop)
}

/// Copies a policy without its assignments.
pub async fn duplicate_policy(id: &str) -> ApiResult<Policy> {
    decode(&without_body("POST", &format!("{}/duplicate", policy_path(id))).await?)
}

/// Every version of a policy.
pub async fn policy_versions(id: &str) -> ApiResult<Vec<PolicyVersion>> {
    get(&format!("{}/versions", policy_path(id))).await
}

/// What changed between two versions.
pub async fn policy_diff(id: &str, from: u64, to: u64) -> ApiResult<Vec<Change>> {
    get(&format!("{}/diff?from={from}&to={to}", policy_path(id))).await
}

/// Imports one exported policy file, sent as it is (the server decodes UTF-8 or UTF-16).
pub async fn import_policy(bytes: &[u8]) -> ApiResult<ImportReport> {
    let body = js_sys::Uint8Array::from(bytes);
    decode(&call("POST", "/api/v1/policies/import", Some((body.into(), "application/octet-stream")), None).await?)
}

/// Where a policy's export downloads from.
pub fn export_url(id: &str) -> String {
    format!("{}/export", policy_path(id))
}

/// The policies that apply to a device and the value each setting takes.
pub async fn device_effective(id: &str) -> ApiResult<EffectiveConfiguration> {
    get(&format!("/api/v1/devices/{}/effective", shared::query::percent_encode(id))).await
}

/// Every policy that applies to a device with its reported state, and the device's local preferences.
pub async fn device_status(id: &str) -> ApiResult<DeviceStatus> {
    get(&format!("/api/v1/devices/{}/status", shared::query::percent_encode(id))).await
}

/// A policy's report: counts by status and check-in, the targeted devices, per setting status.
pub async fn policy_report(id: &str) -> ApiResult<shared::api::PolicyReport> {
    policy_report_page(id, "").await
}

/// A policy's report with the page of its devices that `query` (a `ReportQuery` query string) asks for.
pub async fn policy_report_page(id: &str, query: &str) -> ApiResult<shared::api::PolicyReport> {
    let separator = if query.is_empty() { "" } else { "?" };
    get(&format!("{}/report{separator}{query}", policy_path(id))).await
}

/// One setting's counts and the page of its devices that `query` (a `SettingQuery` query string) asks for.
pub async fn setting_report(id: &str, setting_id: &str, query: &str) -> ApiResult<shared::api::SettingReport> {
    let separator = if query.is_empty() { "" } else { "?" };
    get(&format!("{}{separator}{query}", setting_path(id, setting_id))).await
}

fn setting_path(id: &str, setting_id: &str) -> String {
    format!("{}/report/settings/{}", policy_path(id), shared::query::percent_encode(setting_id))
}

/// One policy on one device, setting by setting, with the other policies that manage each setting there.
pub async fn policy_device_report(id: &str, device_id: &str) -> ApiResult<shared::api::PolicyDeviceReport> {
    get(&policy_device_path(id, device_id)).await
}

fn policy_device_path(id: &str, device_id: &str) -> String {
    format!("{}/report/devices/{}", policy_path(id), shared::query::percent_encode(device_id))
}

/// Where a report table downloads as CSV.
pub enum CsvTable<'a> {
    /// The policies of one type with their status summary.
    Policies(Profile),
    /// A policy's devices ("View report").
    Devices(&'a str),
    /// A policy's per setting status.
    Settings(&'a str),
    /// One policy's settings on one device.
    DeviceSettings(&'a str, &'a str),
    /// One setting's devices.
    SettingDevices(&'a str, &'a str),
}

/// The CSV download address of a report table.
pub fn csv_url(table: CsvTable<'_>) -> String {
    match table {
        CsvTable::Policies(profile) => format!(
            "/api/v1/policies/report.csv?type={}",
            match profile {
                Profile::Antivirus => "antivirus",
                Profile::Firewall => "firewall",
            }
        ),
        CsvTable::Devices(id) => format!("{}/report/devices.csv", policy_path(id)),
        CsvTable::Settings(id) => format!("{}/report/settings.csv", policy_path(id)),
        CsvTable::DeviceSettings(id, device_id) => format!("{}/settings.csv", policy_device_path(id, device_id)),
        CsvTable::SettingDevices(id, setting_id) => format!("{}/devices.csv", setting_path(id, setting_id)),
    }
}

/// Replaces the signed-in user's password.
pub async fn change_password(change: &shared::access::ChangePassword) -> ApiResult<Me> {
    send("POST", "/api/v1/auth/password", change).await
}

/// Every user account.
pub async fn users() -> ApiResult<Vec<shared::access::UserSummary>> {
    get("/api/v1/users").await
}

/// Invites a user.
pub async fn create_user(create: &shared::access::CreateUser) -> ApiResult<shared::access::CreatedUser> {
    send("POST", "/api/v1/users", create).await
}

/// Changes a user's role or disables/enables the account.
pub async fn update_user(
    username: &str,
    update: &shared::access::UpdateUser,
) -> ApiResult<shared::access::UserSummary> {
    send("PATCH", &format!("/api/v1/users/{}", shared::query::percent_encode(username)), update).await
}

/// One page of the audit log for a query string (`actor=…&object_type=…`).
pub async fn audit(query: &str) -> ApiResult<shared::audit::AuditPage> {
    get(&format!("/api/v1/audit?{query}")).await
}

/// One audit entry, with the values before and after.
pub async fn audit_entry(id: &str) -> ApiResult<shared::audit::AuditEntry> {
    get(&format!("/api/v1/audit/{}", shared::query::percent_encode(id))).await
}

/// The audit log as CSV, for the same query string.
pub fn audit_csv_url(query: &str) -> String {
    format!("/api/v1/audit.csv?{query}")
}

/// Asks a device to check in for all its policies at its next poll.
pub async fn sync_device(id: &str) -> ApiResult<()> {
    without_body("POST", &format!("/api/v1/devices/{}/sync", shared::query::percent_encode(id))).await.map(drop)
}

/// What the conflict preview needs of the tenant: read whole once, then only what changed since the generation held
/// (in memory, or the copy kept in the browser), applied to it; offline, what is held.
pub async fn snapshot() -> ApiResult<Snapshot> {
    update_held_snapshot().await?;
    // Nothing is held once the session has ended.
    offline::held().ok_or_else(|| ApiFailure::Network("signed out".into()))
}

/// Brings the snapshot held in memory up to date (reading the kept copy, or the whole snapshot, when none is held).
async fn update_held_snapshot() -> ApiResult<()> {
    let held = match offline::take_held() {
        Some(held) => Some(held),
        None => offline::kept_text(SNAPSHOT).await.and_then(|text| decode::<Snapshot>(&text).ok()),
    };
    let Some(mut snapshot) = held.filter(|held| held.generation > 0) else {
        // Nothing held or kept: the whole snapshot, kept as it came (or the kept copy, offline).
        let text = call("GET", SNAPSHOT, None, None).await?;
        let snapshot: Snapshot = decode(&text)?;
        offline::kept_at(snapshot.generation);
        offline::hold(snapshot);
        return Ok(());
    };
    let path = format!("{SNAPSHOT}?since={}", snapshot.generation);
    match fetch("GET", &path, None, None).await {
        Ok(text) => {
            offline::reached(true);
            let update: SnapshotUpdate = decode(&text)?;
            if snapshot.apply(update)
                && let Ok(text) = serde_json::to_string(&snapshot)
            {
                offline::keep_snapshot(&text, snapshot.generation);
            }
        }
        // Unreachable: the preview works from what is held, and the banner says since when.
        Err(ApiFailure::Network(_)) => offline::reached(false),
        Err(failure) => return Err(refused(&path, failure)),
    }
    offline::hold(snapshot);
    Ok(())
}

/// Applies an update fetched in the background to the kept snapshot, which is read for it.
async fn snapshot_with(update: SnapshotUpdate) -> ApiResult<()> {
    let snapshot = match update.full {
        Some(full) => full,
        None => {
            // The copy is gone: the next read fetches the whole snapshot.
            let Some(mut kept) = offline::kept_text(SNAPSHOT).await.and_then(|text| decode::<Snapshot>(&text).ok())
            else {
                return Ok(());
            };
            kept.apply(update);
            kept
        }
    };
    let text = serde_json::to_string(&snapshot).map_err(|e| ApiFailure::Network(e.to_string()))?;
    offline::keep_snapshot(&text, snapshot.generation);
    Ok(())
}

/// The generation of a snapshot's text, read without building the snapshot: the server writes it first (0 when it
/// is not there, and the next refresh fetches the whole snapshot again).
fn generation_of(text: &str) -> u64 {
    let rest = text.strip_prefix("{\"generation\":").unwrap_or_default();
    rest[..rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(0)].parse().unwrap_or(0)
}
