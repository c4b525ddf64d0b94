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

#[wasm_bindgen]
extern "C" {
    /// `performance.now()`: milliseconds, finer than `Date.now()`.
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
}

/// Runs the scenario on a snapshot's JSON; one line per figure.
#[wasm_bindgen]
pub fn run(json: &str) -> String {
    let header = format!(
        "tenant: {} devices, {} groups (depth 3), {} policies",
        scenario::N_DEVICES,
        scenario::N_GROUPS,
        scenario::N_POLICIES
    );
    let figures = scenario::run(&performance_now, json);
    let memory = wasm_bindgen::memory().unchecked_into::<js_sys::WebAssembly::Memory>().buffer();
    let bytes = memory.unchecked_into::<js_sys::ArrayBuffer>().byte_length();
    let memory = format!(
        "wasm memory after the scenario: {:.0} MB (its peak: wasm memory never shrinks)",
        f64::from(bytes) / 1e6
    );
    std::iter::once(header)
        .chain(figures.iter().map(ToString::to_string))
        .chain(std::iter::once(memory))
        .collect::<Vec<_>>()
        .join("\n")
}
