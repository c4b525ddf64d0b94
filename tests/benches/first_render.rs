//! Benchmark (release, prints figures): the admin center's first render on a cold load (DESIGN.md: ≤ 1 s on
//! localhost) — each run a fresh server, a fresh browser profile (nothing cached, no service worker), the sign-in page;
//! the figure is the browser's first contentful paint, which is the wasm app's first render (the page itself is
//! empty). Run with `cargo xtask build && cargo bench -p tests --bench first_render` (it uses the release server
//! that `cargo xtask build` makes and `target/site`).

#[path = "../tests/support/mod.rs"]
mod support;

use fantoccini::Locator;

const RUNS: usize = 5;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut paints = Vec::new();
    for _ in 0..RUNS {
        let app = support::Harness::start().await?;
        app.open("/login").await?;
        app.wait_for(Locator::Css("#username")).await?;
        // The paint entry is recorded just after the frame that shows the form.
        let started = std::time::Instant::now();
        let paint = loop {
            let paint = app
                .browser
                .execute(
                    "return (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || null;",
                    vec![],
                )
                .await?;
            if let Some(paint) = paint.as_f64() {
                break paint;
            }
            anyhow::ensure!(started.elapsed() < support::DEADLINE, "the browser reported no first contentful paint");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        };
        let wasm = app
            .browser
            .execute(
                "return performance.getEntriesByType('resource').filter((e) => e.name.endsWith('.wasm'))\
                 .map((e) => e.encodedBodySize)[0] || null;",
                vec![],
            )
            .await?;
        println!(
            "first render (first contentful paint of the sign-in form): {paint:.0} ms; wasm over the wire: {wasm} bytes"
        );
        paints.push(paint);
    }
    paints.sort_by(f64::total_cmp);
    println!(
        "first render on a cold load, {RUNS} runs: best {:.0} ms, median {:.0} ms, worst {:.0} ms (target ≤ 1,000 ms)",
        paints[0],
        paints[RUNS / 2],
        paints[RUNS - 1]
    );
    Ok(())
}
