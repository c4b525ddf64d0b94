//! The preview benchmark's scenario (`shared/benches/scenario`) compiled to wasm with the admin center's size
//! profile, so that it measures the code the browser runs. `cargo xtask bench-wasm` serves it to headless Chromium,
//! whose page keeps the snapshot in IndexedDB and fetches it over HTTP as the admin center does, and prints the
//! figures.

#[path = "../../shared/benches/scenario/mod.rs"]
mod scenario;

use wasm_bindgen::prelude::*;

/// The benchmark tenant's snapshot, as the server sends it.
#[wasm_bindgen]
pub fn snapshot_json() -> String {
    serde_json::to_string(&scenario::tenant()).expect("the snapshot serializes")
}

/// Runs the scenario on a snapshot's JSON; one line per figure.
#[wasm_bindgen]
pub fn run(json: &str) -> String {
    let now = || js_sys::Date::now();
    let performance = js_sys::Reflect::get(&js_sys::global(), &"performance".into()).ok();
    let now_fn = js_sys::Reflect::get(performance.as_ref().unwrap_or(&JsValue::UNDEFINED), &"now".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    let precise = || {
        now_fn
            .as_ref()
            .and_then(|f| f.call0(performance.as_ref().unwrap_or(&JsValue::UNDEFINED)).ok())
            .and_then(|v| v.as_f64())
            .unwrap_or_else(now)
    };
    let header = format!(
        "tenant: {} devices, {} groups (depth 3), {} policies",
        scenario::N_DEVICES,
        scenario::N_GROUPS,
        scenario::N_POLICIES
    );
    let figures = scenario::run(&precise, json);
    let memory = js_sys::Reflect::get(&wasm_bindgen::memory(), &"buffer".into())
        .and_then(|buffer| js_sys::Reflect::get(&buffer, &"byteLength".into()))
        .ok()
        .and_then(|length| length.as_f64())
        .unwrap_or(0.0);
    let memory =
        format!("wasm memory after the scenario: {:.0} MB (its peak: wasm memory never shrinks)", memory / 1e6);
    std::iter::once(header)
        .chain(figures.iter().map(ToString::to_string))
        .chain(std::iter::once(memory))
        .collect::<Vec<_>>()
        .join("\n")
}
