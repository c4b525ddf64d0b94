//! Benchmark (release, prints figures): the conflict preview at the scale, natively; the same scenario runs
//! in headless Chromium with `cargo xtask bench-wasm`. Run with `cargo bench -p shared --bench preview`.
//! Targets (DESIGN.md, issue 5): full preview ≤ 100 ms, re-preview after one edit ≤ 16 ms, snapshot load ≤ 1 s.

mod scenario;

use std::time::Instant;

fn main() {
    let clock = Instant::now();
    let now = || clock.elapsed().as_secs_f64() * 1000.0;
    let snapshot = scenario::tenant();
    println!(
        "tenant: {} devices, {} groups (depth 3), {} policies, built in {:.0} ms",
        scenario::N_DEVICES,
        scenario::N_GROUPS,
        scenario::N_POLICIES,
        now()
    );
    let started = now();
    let json = serde_json::to_string(&snapshot).expect("serializes");
    println!(
        "snapshot as sent and stored: {:.2} MB of compact JSON, written in {:.0} ms",
        json.len() as f64 / 1e6,
        now() - started
    );
    for figure in scenario::run(&now, &json) {
        println!("{figure}");
    }
}
