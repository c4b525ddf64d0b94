//! On the wire: answers on a kept-alive loopback connection never wait for the client's delayed ACK (≈40 ms), which
//! a streamed body or a response written in several pieces would, without TCP_NODELAY on the server's sockets.

mod common;

use std::time::{Duration, Instant};

use common::TestApp;
use reqwest::{Method, StatusCode};

#[tokio::test]
async fn kept_alive_requests_never_stall_on_a_delayed_ack() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let cookie = app.sign_in_as_admin().await?;
    let mut times = Vec::new();
    // One client, one connection: every request after the first goes over the kept-alive connection.
    for path in ["/api/v1/audit.csv", "/api/v1/policies", "/api/v1/audit?per_page=5", "/api/v1/health"] {
        for _ in 0..10 {
            let started = Instant::now();
            let response = app.admin_request(Method::GET, path, &cookie).send().await?;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            response.bytes().await?;
            times.push(started.elapsed());
        }
    }
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "40 kept-alive requests: median {:.2} ms, slowest {:.2} ms",
        median.as_secs_f64() * 1000.0,
        times[times.len() - 1].as_secs_f64() * 1000.0
    );
    // A delayed-ACK stall costs 40 ms or more on every request after a connection's first; a debug build answers
    // these in about a millisecond. The median, so that a busy machine's odd slow request does not decide.
    assert!(median < Duration::from_millis(20), "kept-alive requests stall: median {median:?}");
    Ok(())
}

#[tokio::test]
async fn streamed_exports_arrive_whole_when_compressed() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let cookie = app.sign_in_as_admin().await?;
    for _ in 0..3 {
        app.sign_in(common::ADMIN_USER, "a wrong password").await?;
    }
    let plain = app.admin_request(Method::GET, "/api/v1/audit.csv", &cookie).send().await?.text().await?;
    for encoding in ["gzip", "br"] {
        let response = app
            .admin_request(Method::GET, "/api/v1/audit.csv", &cookie)
            .header(reqwest::header::ACCEPT_ENCODING, encoding)
            .send()
            .await?;
        assert_eq!(response.status(), StatusCode::OK);
        let encoded = response.headers().get(reqwest::header::CONTENT_ENCODING).cloned();
        assert_eq!(encoded.as_ref().and_then(|v| v.to_str().ok()), Some(encoding));
        let bytes = response.bytes().await?;
        assert!(!bytes.is_empty(), "{encoding}: the stream ended whole");
    }
    assert!(plain.lines().count() >= 5, "{plain}");
    Ok(())
}
