//! Attacks on sign-in, against the real `rampart` binary: parallel guessing, locking the owner out from other
//! addresses, and forged `X-Forwarded-For`. Loopback has a whole /8, so "other addresses" are real source addresses
//! (127.0.0.2, …) or, behind a trusted proxy, forwarded ones.

mod support;

use std::net::IpAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use reqwest::StatusCode;
use serde_json::json;
use support::binary;

const USER: &str = "admin";
const PASSWORD: &str = "security-Password-1";

/// The server process, killed when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// `rampart serve` (not the demo: a production start) on a free loopback port, with `extra` arguments.
    fn start(data_dir: &Path, extra: &[&str]) -> anyhow::Result<Self> {
        let mut child = Command::new(binary("rampart")?)
            .args(["serve", "--listen", "127.0.0.1:0", "--admin-user", USER, "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .env("RAMPART_ADMIN_PASSWORD", PASSWORD)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(data_dir.join("server.log"))?)
            .spawn()
            .context("cannot start rampart")?;
        let stdout = child.stdout.take().context("stdout")?;
        let mut server = Self { child, url: String::new() };
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
        server.url = loop {
            let line = lines.next().context("the server exited before listening")??;
            if let Some(url) = line.strip_prefix("Rampart is listening on ") {
                break url.trim().to_owned();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Ok(server)
    }

    /// The server's peak resident memory (`VmHWM`), in MiB.
    fn peak_memory_mib(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let line = status.lines().find(|line| line.starts_with("VmHWM:")).context("no VmHWM")?;
        let kib: u64 = line.split_whitespace().nth(1).context("no figure")?.parse()?;
        Ok(kib / 1024)
    }
}

/// A client whose connections come from `source` (any 127.x.y.z address is this machine).
fn client_from(source: &str) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder().local_address(source.parse::<IpAddr>()?).timeout(Duration::from_secs(60)).build()?)
}

async fn sign_in(
    client: &reqwest::Client,
    url: &str,
    username: &str,
    password: &str,
    forwarded_for: Option<&str>,
) -> anyhow::Result<StatusCode> {
    let mut request = client
        .post(format!("{url}/api/v1/auth/login"))
        .header("x-rampart-csrf", "1")
        .json(&json!({"username": username, "password": password}));
    if let Some(address) = forwarded_for {
        request = request.header("x-forwarded-for", address);
    }
    Ok(request.send().await?.status())
}

#[tokio::test]
async fn two_hundred_parallel_guesses_verify_at_most_the_limit_in_bounded_memory_and_the_owner_still_signs_in()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = Server::start(dir.path(), &[])?;
    let attacker = client_from("127.0.0.1")?;
    let before = server.peak_memory_mib()?;
    let guesses: Vec<_> = (0..200)
        .map(|i| {
            let (attacker, url) = (attacker.clone(), server.url.clone());
            tokio::spawn(async move { sign_in(&attacker, &url, USER, &format!("guess number {i}"), None).await })
        })
        .collect();
    // The owner signs in from another address while the guesses are in flight.
    let owner = client_from("127.0.0.2")?;
    let started = Instant::now();
    let owner_status = sign_in(&owner, &server.url, USER, PASSWORD, None).await?;
    let owner_took = started.elapsed();
    let mut statuses = Vec::new();
    for guess in guesses {
        statuses.push(guess.await??);
    }
    let verified = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    let refused = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    let peak = server.peak_memory_mib()?;
    println!(
        "200 parallel wrong sign-ins: {verified} verified (401), {refused} refused (429); peak memory {before} -> \
         {peak} MiB; the owner from another address: {owner_status} in {} ms",
        owner_took.as_millis()
    );
    assert_eq!(verified + refused, 200, "{statuses:?}");
    assert!(verified <= 5, "at most the limit is verified: {verified}");
    assert!(peak < 200, "peak memory {peak} MiB");
    assert_eq!(owner_status, StatusCode::OK);
    assert!(owner_took < Duration::from_secs(2), "the owner waited {owner_took:?}");
    // The attacker's address stays throttled for this account, even with the right password.
    assert_eq!(sign_in(&attacker, &server.url, USER, PASSWORD, None).await?, StatusCode::TOO_MANY_REQUESTS);
    Ok(())
}

#[tokio::test]
async fn a_thousand_failures_from_other_addresses_never_lock_the_owner_out_and_forged_forwarding_is_ignored()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    // The proxy is 127.0.0.1; connections from 127.0.0.3 are clients of their own.
    let server = Server::start(dir.path(), &["--trusted-proxy", "127.0.0.1"])?;
    let proxy = client_from("127.0.0.1")?;
    // The owner has signed in from their desk before.
    let desk = Some("198.51.100.20");
    assert_eq!(sign_in(&proxy, &server.url, USER, PASSWORD, desk).await?, StatusCode::OK);

    // 1,000 failed attempts for the account, from 1,000 addresses, in case variants.
    let mut statuses = Vec::new();
    for wave in 0..20 {
        let attempts: Vec<_> = (0..50)
            .map(|i| {
                let (proxy, url) = (proxy.clone(), server.url.clone());
                let address = format!("10.{wave}.{i}.7");
                let name = if i % 2 == 0 { "admin" } else { "ADMIN" };
                tokio::spawn(async move { sign_in(&proxy, &url, name, "wrong password!", Some(&address)).await })
            })
            .collect();
        for attempt in attempts {
            statuses.push(attempt.await??);
        }
    }
    let verified = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    println!("1,000 failed attempts from 1,000 addresses: {verified} verified, the rest slowed down (429)");
    assert!(statuses.iter().all(|s| matches!(*s, StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS)));
    assert!(verified < 50, "the account's back-off slows a spread attack: {verified} verified");

    // The owner signs in from their desk at once.
    assert_eq!(sign_in(&proxy, &server.url, USER, PASSWORD, desk).await?, StatusCode::OK);

    // A client that is not the proxy cannot choose its address by forging the header: its own address is counted.
    let forger = client_from("127.0.0.3")?;
    for i in 0..5 {
        let forged = format!("203.0.113.{i}");
        let status = sign_in(&forger, &server.url, "someone", "wrong password!", Some(&forged)).await?;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let status = sign_in(&forger, &server.url, "someone", "wrong password!", Some("203.0.113.99")).await?;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "throttled by its real address");
    Ok(())
}

#[tokio::test]
async fn a_password_reset_from_the_command_line_ends_every_session_and_is_audited() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let client = client_from("127.0.0.1")?;
    let cookie = {
        let server = Server::start(dir.path(), &[])?;
        let response = client
            .post(format!("{}/api/v1/auth/login", server.url))
            .header("x-rampart-csrf", "1")
            .json(&json!({"username": USER, "password": PASSWORD}))
            .send()
            .await?;
        assert_eq!(response.status(), StatusCode::OK);
        let set_cookie = response.headers().get("set-cookie").context("a cookie")?.to_str()?.to_owned();
        set_cookie.split(';').next().context("a pair")?.to_owned()
    };
    let mut restarted = Command::new(binary("rampart")?);
    restarted
        .args(["serve", "--listen", "127.0.0.1:0", "--admin-user", USER, "--data-dir"])
        .arg(dir.path())
        .env("RAMPART_ADMIN_PASSWORD", "short");
    let refused = restarted.output()?;
    assert!(!refused.status.success(), "a short password from the environment is refused");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("12 characters"));

    // The same start with a new, long password: the old session is over.
    let new_password = "a-new-Password-2";
    let server = {
        let mut child = Command::new(binary("rampart")?)
            .args(["serve", "--listen", "127.0.0.1:0", "--admin-user", USER, "--data-dir"])
            .arg(dir.path())
            .env("RAMPART_ADMIN_PASSWORD", new_password)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdout = child.stdout.take().context("stdout")?;
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
        let url = loop {
            let line = lines.next().context("the server exited")??;
            if let Some(url) = line.strip_prefix("Rampart is listening on ") {
                break url.trim().to_owned();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Server { child, url }
    };
    let me = client.get(format!("{}/api/v1/auth/me", server.url)).header("cookie", &cookie).send().await?;
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED, "the reset ended the session");
    let response = client
        .post(format!("{}/api/v1/auth/login", server.url))
        .header("x-rampart-csrf", "1")
        .json(&json!({"username": USER, "password": new_password}))
        .send()
        .await?;
    let set_cookie = response.headers().get("set-cookie").context("a cookie")?.to_str()?.to_owned();
    let cookie = set_cookie.split(';').next().context("a pair")?.to_owned();
    let audit: shared::audit::AuditPage = client
        .get(format!("{}/api/v1/audit?action=password_reset", server.url))
        .header("cookie", &cookie)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(audit.total, 1, "the first start created the account, the second reset its password");
    assert!(audit.items.iter().all(|entry| entry.object_name == USER && entry.actor == "rampart (command line)"));
    Ok(())
}
