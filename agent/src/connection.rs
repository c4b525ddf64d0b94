//! How the agent reaches the server: one HTTP client, over `http://` or `https://`, that trusts the system's root
//! certificates or, with `--ca-file`, only the CA given there.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};

/// The options of every subcommand that talks to the server.
#[derive(Debug, clap::Args)]
pub struct ServerConnection {
    /// PEM file of the CA that signed the server's certificate. With it, only that CA is trusted for `https://`, not
    /// the system's root certificates.
    #[arg(long, env = "RAMPART_CA_FILE", value_name = "PATH")]
    pub ca_file: Option<PathBuf>,
}

impl ServerConnection {
    /// The client every request to the server goes through.
    pub fn client(&self) -> anyhow::Result<reqwest::Client> {
        let builder = reqwest::Client::builder().timeout(Duration::from_secs(30));
        let Some(path) = &self.ca_file else {
            return builder.build().context("cannot set up the HTTP client");
        };
        let pem = std::fs::read(path).with_context(|| format!("cannot read the CA file {}", path.display()))?;
        let certificates = reqwest::Certificate::from_pem_bundle(&pem)
            .with_context(|| format!("the CA file {} is not valid PEM", path.display()))?;
        if certificates.is_empty() {
            bail!("the CA file {} holds no certificate (-----BEGIN CERTIFICATE-----)", path.display());
        }
        let builder = certificates.into_iter().fold(builder.tls_built_in_root_certs(false), |builder, certificate| {
            builder.add_root_certificate(certificate)
        });
        // A PEM block that is not an X.509 certificate is refused here, when the roots are parsed.
        builder.build().with_context(|| format!("the CA file {} holds no usable CA certificate", path.display()))
    }
}

/// Whether the request failed in the TLS handshake (a certificate the agent does not trust, or that names another
/// host; no protocol in common): unlike a server that is not listening yet, it will not pass by retrying.
pub fn is_tls_failure(error: &reqwest::Error) -> bool {
    has_rustls_error(error)
}

fn has_rustls_error(error: &(dyn std::error::Error + 'static)) -> bool {
    if error.is::<rustls::Error>() {
        return true;
    }
    // `io::Error::source` skips the error an I/O error wraps, so look inside: hyper-rustls wraps the I/O error of
    // tokio-rustls, which wraps rustls' own.
    let wrapped = error.downcast_ref::<std::io::Error>().and_then(std::io::Error::get_ref);
    if wrapped.is_some_and(|inner| has_rustls_error(inner)) {
        return true;
    }
    error.source().is_some_and(has_rustls_error)
}

/// The servers a fleet talks to: one, or several replicas of one tenant. Device `i` starts at server `i mod n`.
#[derive(Debug, Clone)]
pub struct Servers(std::sync::Arc<[String]>);

impl Servers {
    /// The base URLs, without trailing slashes; at least one, each `http://` or `https://`.
    pub fn new(urls: &[String]) -> anyhow::Result<Self> {
        let urls: Vec<String> = urls.iter().map(|url| url.trim().trim_end_matches('/').to_owned()).collect();
        if urls.is_empty() {
            bail!("give at least one server URL");
        }
        if let Some(url) = urls.iter().find(|url| !url.starts_with("http://") && !url.starts_with("https://")) {
            bail!("{url:?} is not a server URL: it must start with http:// or https://");
        }
        Ok(Self(urls.into()))
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// `at` wrapped onto the servers.
    pub fn index(&self, at: usize) -> usize {
        at % self.0.len()
    }

    /// The URL of the device API's `endpoint` (`onboard`, `check-in`, `report`) on server `at` (wrapped).
    pub fn url(&self, at: usize, endpoint: &str) -> String {
        format!("{}/api/v1/device/{endpoint}", self.0[self.index(at)])
    }
}

impl std::fmt::Display for Servers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join(","))
    }
}
