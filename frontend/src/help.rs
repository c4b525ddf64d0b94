//! The settings' help texts. They are an asset of the build (`/assets/help-….json`, named by the page's
//! `<meta name="rampart-help">` and kept by the service worker for offline use) rather than part of the wasm bundle:
//! loaded once, the first time a page asks for one.

use std::collections::BTreeMap;
use std::sync::Arc;

use leptos::prelude::*;

type Texts = Option<Arc<BTreeMap<String, String>>>;

thread_local! {
    // Reference-counted rather than owned by the component that first asks, which may go away.
    static TEXTS: std::cell::OnceCell<ArcRwSignal<Texts>> = const { std::cell::OnceCell::new() };
}

/// The help texts once loaded (tracked); the first call starts loading them.
fn texts() -> ArcRwSignal<Texts> {
    TEXTS.with(|cell| {
        if let Some(texts) = cell.get() {
            return texts.clone();
        }
        let texts = ArcRwSignal::new(None);
        let _ = cell.set(texts.clone());
        let loaded = texts.clone();
        leptos::task::spawn_local(async move {
            let path = web_sys::window()
                .and_then(|window| window.document())
                .and_then(|document| document.query_selector("meta[name=rampart-help]").ok().flatten())
                .and_then(|meta| meta.get_attribute("content"));
            // Without the texts (an old page, no connection and no cached copy) the settings show no help.
            if let Some(path) = path
                && let Ok(text) = crate::api::fetch_text(&path).await
                && let Ok(map) = serde_json::from_str::<BTreeMap<String, String>>(&text)
            {
                loaded.set(Some(Arc::new(map)));
            }
        });
        texts
    })
}

/// The help text of a setting, once loaded (empty until then).
pub fn of(id: &str) -> String {
    texts().with(|texts| texts.as_ref().and_then(|texts| texts.get(id).cloned()).unwrap_or_default())
}
