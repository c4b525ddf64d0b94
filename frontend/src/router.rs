//! Client-side navigation: the location as a signal, the table of pages, and links that change pages without
//! reloading. Written for Rampart's flat set of pages instead of a general router: it is a few hundred lines, where
//! a routing library cost the wasm bundle over 30 KB compressed.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

/// Where the admin is: the path and the query string (without `?`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Here {
    pub path: String,
    pub search: String,
}

impl Here {
    fn of_window() -> Self {
        let location = web_sys::window().map(|w| w.location());
        let read = |f: fn(&web_sys::Location) -> Result<String, wasm_bindgen::JsValue>| {
            location.as_ref().and_then(|l| f(l).ok()).unwrap_or_default()
        };
        let search = read(web_sys::Location::search);
        Self { path: read(web_sys::Location::pathname), search: search.trim_start_matches('?').to_owned() }
    }
}

thread_local! {
    static HERE: std::cell::Cell<Option<RwSignal<Here>>> = const { std::cell::Cell::new(None) };
}

/// The current location, followed by the views that read it.
pub fn here() -> RwSignal<Here> {
    HERE.with(|here| match here.get() {
        Some(signal) => signal,
        None => {
            let signal = RwSignal::new(Here::of_window());
            here.set(Some(signal));
            signal
        }
    })
}

/// Follows the browser's back and forward buttons and takes over clicks on links inside the admin center. Call
/// once, at start.
pub fn start() {
    let Some(window) = web_sys::window() else { return };
    if window.location().pathname().is_ok_and(|path| path == "/") {
        replace("/devices");
    }
    let on_pop = Closure::<dyn Fn()>::new(|| here().set(Here::of_window()));
    let _ = window.add_event_listener_with_callback("popstate", on_pop.as_ref().unchecked_ref());
    on_pop.forget();
    let on_click = Closure::<dyn Fn(web_sys::MouseEvent)>::new(follow_link);
    if let Some(document) = window.document() {
        let _ = document.add_event_listener_with_callback("click", on_click.as_ref().unchecked_ref());
    }
    on_click.forget();
}

/// A click on a link to a page of the admin center changes the page in place; the browser keeps clicks with a
/// modifier key or another button, links that open elsewhere or download, and links out of the app.
fn follow_link(event: web_sys::MouseEvent) {
    if event.default_prevented()
        || event.button() != 0
        || event.meta_key()
        || event.alt_key()
        || event.ctrl_key()
        || event.shift_key()
    {
        return;
    }
    let Some(anchor) = event
        .target()
        .and_then(|target| target.dyn_into::<web_sys::Element>().ok())
        .and_then(|element| element.closest("a[href]").ok().flatten())
    else {
        return;
    };
    if anchor.has_attribute("download") || anchor.get_attribute("target").is_some_and(|t| !t.is_empty()) {
        return;
    }
    let href = anchor.get_attribute("href").unwrap_or_default();
    if !href.starts_with('/') || href.starts_with("//") || href.starts_with("/api/") {
        return;
    }
    event.prevent_default();
    navigate(&href);
}

/// Opens a page of the admin center (`/path?query`), as a new entry of the browser's history.
pub fn navigate(to: &str) {
    go(to, false);
}

/// Opens a page of the admin center in place of the current entry of the browser's history.
pub fn replace(to: &str) {
    go(to, true);
}

fn go(to: &str, replace: bool) {
    let Some(window) = web_sys::window() else { return };
    if let Ok(history) = window.history() {
        let _ = if replace {
            history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(to))
        } else {
            history.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(to))
        };
    }
    let (path, search) = to.split_once('?').unwrap_or((to, ""));
    let next = Here { path: path.to_owned(), search: search.to_owned() };
    let here = here();
    if here.with_untracked(|current| current.path != next.path) {
        window.scroll_to_with_x_and_y(0.0, 0.0);
    }
    here.set(next);
}

/// Names and values: a page's path parameters, or a query string's pairs (decoded).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<String> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    }

    /// Every pair, in order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    fn query(search: &str) -> Self {
        let decode = |text: &str| {
            let text = text.replace('+', " ");
            js_sys::decode_uri_component(&text).ok().and_then(|d| d.as_string()).unwrap_or(text)
        };
        Self(
            search
                .split('&')
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    (decode(k), decode(v))
                })
                .collect(),
        )
    }
}

/// The pages of the admin center.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    Login,
    Devices,
    Device,
    Groups,
    Group,
    Policies,
    NewPolicy,
    Policy,
    EditPolicy,
    PolicyHistory,
    PolicyReport,
    PolicyDeviceReport,
    PolicySettingsStatus,
    SettingDevices,
    Tenant,
    Users,
    Audit,
    AuditEntry,
    Conflicts,
    NotFound,
}

impl Page {
    /// The page a path opens, with its parameters (decoded).
    pub fn of(path: &str) -> (Self, Params) {
        let segments: Vec<String> = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| js_sys::decode_uri_component(s).ok().and_then(|d| d.as_string()).unwrap_or_else(|| s.to_owned()))
            .collect();
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        let one = |key: &str, value: &str| Params(vec![(key.to_owned(), value.to_owned())]);
        match segments.as_slice() {
            // `/` is the Devices list (the address becomes `/devices` at start).
            [] => (Self::Devices, Params::default()),
            ["login"] => (Self::Login, Params::default()),
            ["devices"] => (Self::Devices, Params::default()),
            ["devices", id] => (Self::Device, one("id", id)),
            ["groups"] => (Self::Groups, Params::default()),
            ["groups", id] => (Self::Group, one("id", id)),
            ["endpoint-security", kind] => (Self::Policies, one("kind", kind)),
            ["policies", "new"] => (Self::NewPolicy, Params::default()),
            ["policies", id] => (Self::Policy, one("id", id)),
            ["policies", id, "edit"] => (Self::EditPolicy, one("id", id)),
            ["policies", id, "history"] => (Self::PolicyHistory, one("id", id)),
            ["policies", id, "report"] => (Self::PolicyReport, one("id", id)),
            ["policies", id, "report", device] => (
                Self::PolicyDeviceReport,
                Params(vec![("id".to_owned(), (*id).to_owned()), ("device".to_owned(), (*device).to_owned())]),
            ),
            ["policies", id, "settings-status"] => (Self::PolicySettingsStatus, one("id", id)),
            ["policies", id, "settings-status", setting] => (
                Self::SettingDevices,
                Params(vec![("id".to_owned(), (*id).to_owned()), ("setting".to_owned(), (*setting).to_owned())]),
            ),
            ["tenant"] => (Self::Tenant, Params::default()),
            ["users"] => (Self::Users, Params::default()),
            ["audit"] => (Self::Audit, Params::default()),
            ["audit", id] => (Self::AuditEntry, one("id", id)),
            ["conflicts"] => (Self::Conflicts, Params::default()),
            _ => (Self::NotFound, Params::default()),
        }
    }
}

/// The parameters of the current page's path. A page is built again when they change, so they are fixed for it.
pub fn use_params_map() -> Signal<Params> {
    let (_, params) = here().with_untracked(|here| Page::of(&here.path));
    Signal::stored(params)
}

/// The query string of the current page, followed as it changes while the page stays open.
pub fn use_query_map() -> Memo<Params> {
    let here = here();
    let path = here.with_untracked(|here| here.path.clone());
    Memo::new(move |previous: Option<&Params>| {
        here.with(|here| match previous {
            // Leaving the page: keep what it had rather than load again for another page's query.
            Some(previous) if here.path != path => previous.clone(),
            _ => Params::query(&here.search),
        })
    })
}

/// A link of the navigation, marked as the current one (`aria-current="page"`) on its page and the pages under it.
#[component]
pub fn NavLink(href: &'static str, children: Children) -> impl IntoView {
    let here = here();
    let current = move || {
        here.with(|here| {
            (here.path == href || here.path.strip_prefix(href).is_some_and(|rest| rest.starts_with('/')))
                .then_some("page")
        })
    };
    view! { <a href=href aria-current=current>{children()}</a> }
}
