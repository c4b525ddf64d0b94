//! The agent over `https://`: the real server behind a TLS-terminating proxy whose certificate (for 127.0.0.1) is
//! signed by a CA the test makes. Without `--ca-file` the agent trusts only the system's roots, refuses the
//! certificate and onboards nobody; with `--ca-file` naming the test's CA, every device onboards and checks in
//! through the proxy.

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use shared::api::DevicePage;
use support::{Api, DEADLINE, binary, start_api_server};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

const USER: &str = "secadmin";
const PASSWORD: &str = "agent-tls-Password-1";
const N_DEVICES: u64 = 3;

/// A CA of the test's own (in no system store) and a certificate it signed for 127.0.0.1, with its key.
struct TestPki {
    ca_pem: String,
    server_config: Arc<ServerConfig>,
}

impl TestPki {
    fn generate() -> anyhow::Result<Self> {
        let ca_key = KeyPair::generate()?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.distinguished_name.push(DnType::CommonName, "Rampart test CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let ca = Issuer::new(ca_params, ca_key);

        let server_key = KeyPair::generate()?;
        let mut server_params = CertificateParams::new(vec!["127.0.0.1".to_owned()])?;
        server_params.distinguished_name.push(DnType::CommonName, "127.0.0.1");
        let server_cert = server_params.signed_by(&server_key, &ca)?;

        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let server_config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(
                vec![server_cert.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
            )?;
        Ok(Self { ca_pem: ca_cert.pem(), server_config: Arc::new(server_config) })
    }
}

/// Terminates TLS on a loopback port and passes the bytes on to the server; counts the handshakes that succeeded.
struct TlsProxy {
    url: String,
    handshakes: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl TlsProxy {
    async fn start(config: Arc<ServerConfig>, backend: SocketAddr) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("https://{}", listener.local_addr()?);
        let acceptor = TlsAcceptor::from(config);
        let handshakes = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&handshakes);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (acceptor, counted) = (acceptor.clone(), Arc::clone(&counted));
                tokio::spawn(async move {
                    // A client that refuses the certificate ends the handshake here, with an alert.
                    let Ok(mut client) = acceptor.accept(client).await else { return };
                    counted.fetch_add(1, Ordering::SeqCst);
                    if let Ok(mut server) = TcpStream::connect(backend).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        Ok(Self { url, handshakes, task })
    }

    fn handshakes(&self) -> usize {
        self.handshakes.load(Ordering::SeqCst)
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Runs `rampart-agent simulate --once` for the fleet with the package, and `--ca-file` when given; its output once
/// it exits.
async fn simulate(package: &Path, ca_file: Option<&Path>) -> anyhow::Result<Output> {
    let mut agent = tokio::process::Command::new(binary("rampart-agent")?);
    agent
        .args(["simulate", "--once", "--devices", &N_DEVICES.to_string(), "--onboarding-package"])
        .arg(package)
        .env_remove("RAMPART_CA_FILE")
        .kill_on_drop(true);
    if let Some(ca_file) = ca_file {
        agent.arg("--ca-file").arg(ca_file);
    }
    tokio::time::timeout(DEADLINE * 2, agent.output()).await.context("the agent did not finish")?.map_err(Into::into)
}

#[tokio::test]
async fn the_agent_trusts_the_server_only_through_the_ca_given_with_ca_file() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (_server, url) = start_api_server(dir.path(), USER, PASSWORD).await?;
    let backend: SocketAddr = url.strip_prefix("http://").context("the server's URL")?.parse()?;
    let pki = TestPki::generate()?;
    let proxy = TlsProxy::start(Arc::clone(&pki.server_config), backend).await?;
    let ca_file = dir.path().join("test-ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem)?;

    // The demo's package, pointed at the proxy (whatever else it holds is kept).
    let mut package: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("onboarding-package.json"))?)?;
    package["server_url"] = proxy.url.clone().into();
    let https_package = dir.path().join("https-onboarding-package.json");
    std::fs::write(&https_package, serde_json::to_vec(&package)?)?;
    let api = Api::sign_in(&url, USER, PASSWORD).await?;

    // The system's roots do not hold the test's CA: the agent stops at the certificate.
    let refused = simulate(&https_package, None).await?;
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "the agent accepted an untrusted certificate: {stderr}");
    assert!(stderr.contains("certificate"), "the error does not mention the certificate: {stderr}");
    assert!(stderr.contains("--ca-file"), "the error does not point at --ca-file: {stderr}");
    assert_eq!(proxy.handshakes(), 0);
    assert_eq!(api.get::<DevicePage>("/api/v1/devices?per_page=100").await?.total, 0);

    // Pinned to the test's CA: every device onboards and checks in through the proxy.
    let trusted = simulate(&https_package, Some(&ca_file)).await?;
    let stdout = String::from_utf8_lossy(&trusted.stdout);
    assert!(trusted.status.success(), "the agent failed: {}", String::from_utf8_lossy(&trusted.stderr));
    assert!(stdout.contains(&format!("{N_DEVICES} check-ins succeeded, 0 failed")), "agent output: {stdout}");
    assert!(proxy.handshakes() >= 1);
    let started = Instant::now();
    loop {
        let page: DevicePage = api.get("/api/v1/devices?per_page=100").await?;
        let checked_in = page.items.iter().filter(|device| device.last_check_in.is_some()).count();
        if page.total == N_DEVICES && checked_in as u64 == N_DEVICES {
            break;
        }
        if started.elapsed() > DEADLINE {
            bail!("{} devices onboarded and {checked_in} checked in; expected {N_DEVICES}", page.total);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

#[tokio::test]
async fn a_ca_file_that_holds_no_certificate_is_named_in_the_error() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let package = dir.path().join("package.json");
    std::fs::write(&package, r#"{"server_url": "https://127.0.0.1:9", "onboarding_token": "unused"}"#)?;
    let not_pem = dir.path().join("not-a-ca.pem");
    std::fs::write(&not_pem, "hello")?;
    let missing = dir.path().join("missing.pem");
    for ca_file in [&not_pem, &missing] {
        let output = simulate(&package, Some(ca_file)).await?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success());
        assert!(stderr.contains(&ca_file.display().to_string()), "the error does not name the file: {stderr}");
    }
    Ok(())
}
