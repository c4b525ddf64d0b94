//! The end-to-end harness: the real `rampart` server on a loopback port with a temp data directory, the real
//! `rampart-agent`, and headless Chromium driven through ChromeDriver. Every wait is on a condition, with a deadline.
#![allow(
    dead_code,
    reason = "shared by several test files; each uses a part, and `expect` would fail in the one that uses all"
)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use fantoccini::{Client, ClientBuilder, Locator};
use tempfile::TempDir;

/// The Antivirus settings the preview tests draft with.
pub const REALTIME: &str = "device_vendor_msft_policy_config_defender_allowrealtimemonitoring";
pub const CLOUD: &str = "device_vendor_msft_policy_config_defender_cloudblocklevel";

/// How long any one condition may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// Kills the process when dropped.
pub struct ChildGuard(Child);

impl ChildGuard {
    /// Kills the process now with SIGKILL (no graceful shutdown) and waits for it.
    pub fn kill(&mut self) -> std::io::Result<()> {
        self.0.kill()?;
        self.0.wait().map(|_| ())
    }
}

/// Starts the real `rampart serve --demo` on a free loopback port over `data_dir`, with the admin `username` /
/// `password`; returns the process and its URL once it listens.
pub async fn start_server(
    data_dir: &Path,
    username: &str,
    password: &str,
    sample_content: bool,
) -> anyhow::Result<(ChildGuard, String)> {
    spawn_server(data_dir, username, password, sample_content, Some(&site_dir()?)).await
}

/// Like [`start_server`] (demo mode, no sample content) without requiring the built admin center: for tests that
/// only use the API and the agent.
pub async fn start_api_server(data_dir: &Path, username: &str, password: &str) -> anyhow::Result<(ChildGuard, String)> {
    spawn_server(data_dir, username, password, false, None).await
}

async fn spawn_server(
    data_dir: &Path,
    username: &str,
    password: &str,
    sample_content: bool,
    site: Option<&Path>,
) -> anyhow::Result<(ChildGuard, String)> {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(data_dir.join("server.log"))?;
    let mut server = Command::new(binary("rampart")?)
        .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--admin-user", username])
        .args((!sample_content).then_some("--no-sample-content"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(site.into_iter().flat_map(|site| [std::ffi::OsStr::new("--assets-dir"), site.as_os_str()]))
        .env("RAMPART_ADMIN_PASSWORD", password)
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .context("cannot start rampart")?;
    let stdout = server.stdout.take().context("server stdout")?;
    let server = ChildGuard(server);
    let url = tokio::task::spawn_blocking(move || -> anyhow::Result<String> {
        let mut lines = BufReader::new(stdout).lines();
        let url = loop {
            let line = lines.next().context("the server exited before listening")??;
            if let Some(url) = line.strip_prefix("Rampart is listening on ") {
                break url.trim().to_owned();
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Ok(url)
    });
    let url = tokio::time::timeout(DEADLINE, url).await.context("the server did not start")???;
    Ok((server, url))
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `target/debug` (or whichever profile built this test).
fn target_profile_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    // target/<profile>/deps/<test binary>
    Ok(exe.parent().and_then(Path::parent).context("test binary is not in target/<profile>/deps")?.to_path_buf())
}

/// A binary of the workspace (`rampart`, `rampart-agent`) built beside this test.
pub fn binary(name: &str) -> anyhow::Result<PathBuf> {
    let path = target_profile_dir()?.join(name);
    if !path.is_file() {
        bail!("{} is missing: run the tests with `cargo xtask test`, which builds it first", path.display());
    }
    Ok(path)
}

fn site_dir() -> anyhow::Result<PathBuf> {
    let site = target_profile_dir()?.parent().context("target dir")?.join("site");
    if !site.join("index.html").is_file() {
        bail!(
            "{} is missing: run the tests with `cargo xtask test`, which builds the admin center first",
            site.display()
        );
    }
    Ok(site)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A running server, a browser, and the credentials of the first admin.
pub struct Harness {
    /// Base URL of the server, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    /// The server's data directory (also holds the onboarding package).
    pub data_dir: TempDir,
    /// The admin's name.
    pub username: String,
    /// The admin's password.
    pub password: String,
    /// The browser session.
    pub browser: Client,
    _server: ChildGuard,
    _driver: ChildGuard,
    _profile: BrowserProfile,
}

impl Harness {
    /// Starts the server in demo mode (tenant switched on, onboarding package written) without the demo's groups and
    /// policies, and a headless browser.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(false).await
    }

    /// Like [`Self::start`], with the demo's sample groups and overlapping policies.
    pub async fn start_with_sample_content() -> anyhow::Result<Self> {
        Self::start_with(true).await
    }

    async fn start_with(sample_content: bool) -> anyhow::Result<Self> {
        let data_dir = tempfile::tempdir()?;
        let username = "secadmin".to_owned();
        let password = "e2e-Password-1234".to_owned();
        let (server, url) = start_server(data_dir.path(), &username, &password, sample_content).await?;

        let (driver, browser, profile) = start_browser().await?;
        Ok(Self { url, data_dir, username, password, browser, _server: server, _driver: driver, _profile: profile })
    }

    /// Runs the real agent for `n` simulated devices until each has checked in once (and reported, when policies
    /// apply to it). The agent keeps the devices' credentials in the data directory, so a second call resumes the
    /// same devices instead of onboarding new ones.
    pub async fn onboard_devices(&self, n: u32, seed: u64) -> anyhow::Result<()> {
        let package = self.data_dir.path().join("onboarding-package.json");
        self.onboard_devices_with(&package, n, seed, "agent-state.json").await
    }

    /// Like [`Self::onboard_devices`], with the onboarding package at `package`, keeping the devices' credentials in
    /// `state` (a file name in the data directory).
    pub async fn onboard_devices_with(&self, package: &Path, n: u32, seed: u64, state: &str) -> anyhow::Result<()> {
        let agent = binary("rampart-agent")?;
        let output = tokio::process::Command::new(agent)
            .args(["simulate", "--once", "--devices", &n.to_string(), "--seed", &seed.to_string()])
            .arg("--onboarding-package")
            .arg(package)
            .arg("--state-file")
            .arg(self.data_dir.path().join(state))
            .output();
        let output = tokio::time::timeout(DEADLINE * 2, output).await.context("the agent did not finish")??;
        if !output.status.success() {
            bail!("rampart-agent failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        Ok(())
    }

    /// Creates an onboarding token named `name` through the API; returns the token.
    pub async fn create_token(&self, name: &str) -> anyhow::Result<String> {
        let created: shared::api::CreatedOnboardingToken =
            self.api().await?.post("/api/v1/tenant/onboarding-tokens", &serde_json::json!({ "name": name })).await?;
        Ok(created.package.onboarding_token)
    }

    /// What `rampart-agent preferences` prints for a device simulated by [`Self::onboard_devices`].
    pub async fn agent_preferences(&self, hostname: &str) -> anyhow::Result<String> {
        let output = tokio::process::Command::new(binary("rampart-agent")?)
            .args(["preferences", "--device", hostname, "--state-file"])
            .arg(self.data_dir.path().join("agent-state.json"))
            .output()
            .await?;
        if !output.status.success() {
            bail!("rampart-agent preferences failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        Ok(String::from_utf8(output.stdout)?)
    }

    /// Stops the server (SIGKILL), as if it became unreachable; the browser stays.
    pub fn stop_server(&mut self) -> std::io::Result<()> {
        self._server.kill()
    }

    /// A client of the admin API signed in as the harness's admin.
    pub async fn api(&self) -> anyhow::Result<Api> {
        Api::sign_in(&self.url, &self.username, &self.password).await
    }

    /// Opens `path` of the admin center.
    pub async fn open(&self, path: &str) -> anyhow::Result<()> {
        self.browser.goto(&format!("{}{path}", self.url)).await?;
        Ok(())
    }

    /// Signs in through the real login form, and waits for the page it leads to.
    pub async fn sign_in(&self) -> anyhow::Result<()> {
        self.sign_in_as(&self.username, &self.password).await
    }

    /// Signs in as `username` through the login form (after signing out whoever is signed in).
    pub async fn sign_in_as(&self, username: &str, password: &str) -> anyhow::Result<()> {
        // Signing out whoever was signed in (before the first page there is nothing to delete).
        let _ = self.browser.delete_all_cookies().await;
        self.open("/login").await?;
        let field = self.wait_for(Locator::Css("#username")).await?;
        field.send_keys(username).await?;
        self.browser.find(Locator::Css("#password")).await?.send_keys(password).await?;
        self.browser.find(Locator::Css("form button[type=submit]")).await?.click().await?;
        self.wait_for(Locator::Css("[data-testid=signed-in-user]")).await?;
        Ok(())
    }

    /// Clicks an element after scrolling it to the middle of the window, as a person would before clicking; the
    /// wizard's sticky action bar would otherwise cover elements scrolled just into view.
    pub async fn click(&self, element: &fantoccini::elements::Element) -> anyhow::Result<()> {
        let arg = serde_json::to_value(element)?;
        self.browser.execute("arguments[0].scrollIntoView({block: 'center'});", vec![arg]).await?;
        element.click().await?;
        Ok(())
    }

    /// The element, once it exists.
    pub async fn wait_for(&self, locator: Locator<'_>) -> anyhow::Result<fantoccini::elements::Element> {
        Ok(self.browser.wait().at_most(DEADLINE).for_element(locator).await?)
    }

    /// Drafts "Strict AV" in the wizard — real-time monitoring Allowed, cloud block level Zero tolerance — checks that
    /// the preview says it reaches nobody while unassigned, then includes All devices; the wizard stays open there.
    pub async fn draft_strict_av_for_all_devices(&self) -> anyhow::Result<()> {
        self.open("/policies/new?profile=microsoft_defender_antivirus").await?;
        self.click_button("Next").await?;
        self.wait_for(Locator::Css("#policy-name")).await?.send_keys("Strict AV").await?;
        self.click_button("Next").await?;
        self.wait_for(Locator::Css(&format!("[data-setting='{REALTIME}'] select")))
            .await?
            .select_by_label("Allowed")
            .await?;
        self.wait_for(Locator::Css(&format!("[data-setting='{CLOUD}'] select")))
            .await?
            .select_by_label("Zero tolerance")
            .await?;
        self.wait_for_text("[data-testid=preview-reach]", |text| text == "Would apply to 0 devices.").await?;
        self.click_button("Next").await?;
        self.wait_for(Locator::Css("input[aria-label='Include All devices']")).await?.click().await?;
        Ok(())
    }

    /// Clicks the button whose text is `text`, once it is there.
    pub async fn click_button(&self, text: &str) -> anyhow::Result<()> {
        let xpath = format!("//button[normalize-space()='{text}']");
        let button = self.wait_for(Locator::XPath(&xpath)).await?;
        self.click(&button).await
    }

    /// Waits until the text of the element matched by `css` satisfies `condition`; returns that text.
    pub async fn wait_for_text(&self, css: &str, condition: impl Fn(&str) -> bool) -> anyhow::Result<String> {
        let started = Instant::now();
        loop {
            if let Ok(element) = self.browser.find(Locator::Css(css)).await
                && let Ok(text) = element.text().await
                && condition(&text)
            {
                return Ok(text);
            }
            if started.elapsed() > DEADLINE {
                let last = match self.browser.find(Locator::Css(css)).await {
                    Ok(element) => element.text().await.unwrap_or_default(),
                    Err(_) => "<no such element>".to_owned(),
                };
                bail!("{css} never met the condition; last text: {last:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the browser's URL satisfies `condition`; returns it.
    pub async fn wait_for_url(&self, condition: impl Fn(&url::Url) -> bool) -> anyhow::Result<url::Url> {
        let started = Instant::now();
        loop {
            let url = self.browser.current_url().await?;
            if condition(&url) {
                return Ok(url);
            }
            if started.elapsed() > DEADLINE {
                bail!("the URL never met the condition; it is {url}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Texts of every element matched by `css`.
    pub async fn texts(&self, css: &str) -> anyhow::Result<Vec<String>> {
        let mut texts = Vec::new();
        for element in self.browser.find_all(Locator::Css(css)).await? {
            texts.push(element.text().await?);
        }
        Ok(texts)
    }

    /// Saves a screenshot to `target/screenshots/<name>.png`, for a person to look at.
    pub async fn screenshot(&self, name: &str) -> anyhow::Result<()> {
        let dir = target_profile_dir()?.parent().context("target dir")?.join("screenshots");
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(format!("{name}.png")), self.browser.screenshot().await?)?;
        Ok(())
    }

    /// Messages the browser logged at level SEVERE (script errors, CSP violations, failed loads).
    pub async fn console_errors(&self) -> anyhow::Result<Vec<String>> {
        let logs = self.browser.issue_cmd(GetLog).await?;
        let entries = logs.as_array().cloned().unwrap_or_default();
        Ok(entries
            .iter()
            .filter(|entry| entry["level"] == "SEVERE")
            .map(|entry| entry["message"].as_str().unwrap_or_default().to_owned())
            .collect())
    }
}

/// ChromeDriver's `GET /session/{id}/se/log` for the browser log.
#[derive(Debug)]
struct GetLog;

impl fantoccini::wd::WebDriverCompatibleCommand for GetLog {
    fn endpoint(&self, base_url: &url::Url, session_id: Option<&str>) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!("session/{}/se/log", session_id.unwrap_or_default()))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.to_owned()))
    }
}

/// The browser's profile directory; when dropped, every Chromium process started with it is killed (chromedriver's
/// death does not end the browser it started) and the directory removed.
pub struct BrowserProfile(TempDir);

impl Drop for BrowserProfile {
    fn drop(&mut self) {
        let marker = format!("--user-data-dir={}", self.0.path().display());
        let Ok(entries) = std::fs::read_dir("/proc") else { return };
        let pids: Vec<String> = entries
            .flatten()
            .filter_map(|entry| {
                let pid = entry.file_name().to_str()?.parse::<u32>().ok()?;
                let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
                String::from_utf8_lossy(&cmdline).contains(&marker).then(|| pid.to_string())
            })
            .collect();
        if !pids.is_empty() {
            let _ = Command::new("kill").arg("-9").args(&pids).stderr(Stdio::null()).status();
        }
    }
}

async fn start_browser() -> anyhow::Result<(ChildGuard, Client, BrowserProfile)> {
    let port = free_port()?;
    let driver = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start chromedriver (install it with `apt-get install chromium chromium-driver`)")?;
    let driver = ChildGuard(driver);
    let driver_url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    loop {
        let ready = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok();
        if ready {
            break;
        }
        if started.elapsed() > DEADLINE {
            bail!("chromedriver did not start");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let profile = tempfile::tempdir()?;
    let capabilities = serde_json::json!({
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1440,900",
                format!("--user-data-dir={}", profile.path().display()),
            ]
        },
        "goog:loggingPrefs": { "browser": "ALL" }
    });
    let serde_json::Value::Object(capabilities) = capabilities else { unreachable!("a JSON object") };
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let browser = ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&driver_url)
        .await
        .context("cannot open a Chromium session")?;
    Ok((driver, browser, BrowserProfile(profile)))
}

/// The admin API, signed in.
pub struct Api {
    client: reqwest::Client,
    url: String,
    cookie: String,
}

impl Api {
    /// Signs in to the server at `url`.
    pub async fn sign_in(url: &str, username: &str, password: &str) -> anyhow::Result<Self> {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-rampart-csrf", reqwest::header::HeaderValue::from_static("1"));
        let client = reqwest::Client::builder().default_headers(headers).build()?;
        let response = client
            .post(format!("{url}/api/v1/auth/login"))
            .json(&serde_json::json!({"username": username, "password": password}))
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("signing in to the API failed: {}", response.status());
        }
        let cookie = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find_map(|value| value.split(';').next().filter(|pair| pair.starts_with("rampart_session=")))
            .context("no session cookie")?
            .to_owned();
        Ok(Api { client, url: url.to_owned(), cookie })
    }

    /// `GET path` as text, failing on any status but 200.
    pub async fn get_text(&self, path: &str) -> anyhow::Result<String> {
        let response = self.client.get(format!("{}{path}", self.url)).header("cookie", &self.cookie).send().await?;
        if response.status() != reqwest::StatusCode::OK {
            bail!("GET {path}: {}", response.status());
        }
        Ok(response.text().await?)
    }

    /// `GET path` as JSON.
    pub async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        Ok(serde_json::from_str(&self.get_text(path).await?)?)
    }

    /// `method path` with a JSON body and optional headers, failing on any status but 2xx.
    pub async fn send<T: serde::de::DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        headers: &[(&str, &str)],
        body: &serde_json::Value,
    ) -> anyhow::Result<T> {
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", self.url))
            .header("cookie", &self.cookie)
            .json(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            bail!("{method} {path}: {status}: {text}");
        }
        Ok(serde_json::from_str(&text)?)
    }

    /// `POST path` with a JSON body, failing on any status but 2xx.
    pub async fn post<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> anyhow::Result<T> {
        let response =
            self.client.post(format!("{}{path}", self.url)).header("cookie", &self.cookie).json(body).send().await?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            bail!("POST {path}: {status}: {text}");
        }
        Ok(serde_json::from_str(&text)?)
    }
}
