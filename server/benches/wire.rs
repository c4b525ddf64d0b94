//! Latency on one kept-alive loopback connection, request after request, for what the admin center fetches: a static
//! asset, a streamed CSV export, a JSON list and the health check — through `server::listener` (TCP_NODELAY) and,
//! for comparison, through a plain listener, where every request after a connection's first can wait for the client's
//! delayed ACK. Run with `cargo bench -p server --bench wire`.

mod common;

use server::store::{AccountStore, Actor, SqliteStore, Store};
use std::sync::Arc;
use std::time::{Duration, Instant};

use server::{AppState, Config};

const PASSWORD: &str = "bench-Password-1";
const REQUESTS: usize = 2_000;
const REQUESTS_WITHOUT_NODELAY: usize = 40;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn serve(nodelay: bool) -> anyhow::Result<(String, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    let site = dir.path().join("site");
    std::fs::create_dir_all(site.join("assets"))?;
    std::fs::write(site.join("index.html"), "<!doctype html><title>Rampart</title>")?;
    // A stylesheet-sized asset (the admin center's is about 20 KB).
    std::fs::write(site.join("assets/app-0123456789abcdef.css"), ".row { display: flex; }\n".repeat(850))?;
    let store = SqliteStore::open(dir.path()).await?;
    let hash = server::credentials::hash_password(PASSWORD).map_err(anyhow::Error::msg)?;
    store.set_admin_password("admin", &hash, false, &Actor::system(server::now())).await?;
    server::demo::prepare(&store, "admin", true).await?;
    let store: Arc<dyn Store> = Arc::new(store);
    let config = Config { assets_dir: Some(site), ..Config::default() };
    let app =
        server::router(AppState::new(store, config)).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", tcp.local_addr()?);
    if nodelay {
        tokio::spawn(async move { axum::serve(server::listener(tcp), app).await });
    } else {
        tokio::spawn(async move { axum::serve(tcp, app).await });
    }
    Ok((url, dir))
}

async fn measure(url: &str, n: usize) -> anyhow::Result<Vec<(&'static str, Duration, Duration)>> {
    // One connection, kept alive.
    let client = reqwest::Client::builder().pool_max_idle_per_host(1).build()?;
    let cookie = common::sign_in(&client, url, PASSWORD).await?;
    let mut rows = Vec::new();
    for (name, path) in [
        ("static asset (20 KB CSS)", "/assets/app-0123456789abcdef.css"),
        ("streamed CSV (audit log)", "/api/v1/audit.csv"),
        ("JSON (policy list)", "/api/v1/policies"),
        ("JSON (health)", "/api/v1/health"),
    ] {
        let mut times = Vec::with_capacity(n);
        for _ in 0..n {
            let started = Instant::now();
            let response = client.get(format!("{url}{path}")).header("cookie", &cookie).send().await?;
            anyhow::ensure!(response.status().is_success(), "{path}: {}", response.status());
            response.bytes().await?;
            times.push(started.elapsed());
        }
        times.sort();
        rows.push((name, percentile(&times, 0.5), percentile(&times, 0.99)));
    }
    Ok(rows)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    for (nodelay, n) in [(true, REQUESTS), (false, REQUESTS_WITHOUT_NODELAY)] {
        let (url, _dir) = serve(nodelay).await?;
        println!(
            "{} ({n} requests each, one kept-alive connection):",
            if nodelay { "with TCP_NODELAY (server::listener)" } else { "without TCP_NODELAY (a plain listener)" }
        );
        for (name, p50, p99) in measure(&url, n).await? {
            println!("  {name:26} p50 {:>8.3} ms   p99 {:>8.3} ms", p50.as_secs_f64() * 1e3, p99.as_secs_f64() * 1e3);
        }
    }
    Ok(())
}
