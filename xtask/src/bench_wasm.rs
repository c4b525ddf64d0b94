//! `cargo xtask bench-wasm`: the preview benchmark in headless Chromium. Builds `preview-bench` for wasm32 with the
//! admin center's size profile, serves it on a loopback port with a page that does what the admin center does with
//! a snapshot (keeps it in IndexedDB, reads it back, fetches it over HTTP), runs the scenario, and prints what the
//! page posts back.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::{KillOnDrop, cargo, ensure_chromium, ensure_wasm_target, root, step};

const PAGE: &str = r#"<!doctype html>
<meta charset="utf-8">
<title>Rampart preview benchmark</title>
<script type="module">
import init, { snapshot_json, run } from './preview_bench.js';
const post = (path, body) => fetch(path, { method: 'POST', body });
const request = (r) => new Promise((ok, fail) => { r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error); });
try {
  await init({ module_or_path: './preview_bench_bg.wasm' });
  const json = snapshot_json();
  const lines = [];
  const open = indexedDB.open('rampart-bench', 1);
  open.onupgradeneeded = () => open.result.createObjectStore('reads');
  const db = await request(open);
  let t = performance.now();
  const put = db.transaction('reads', 'readwrite');
  put.objectStore('reads').put(json, '/api/v1/snapshot');
  await new Promise((ok, fail) => { put.oncomplete = ok; put.onerror = () => fail(put.error); });
  lines.push(`IndexedDB: stored ${(json.length / 1e6).toFixed(2)} MB in ${(performance.now() - t).toFixed(1)} ms`);
  t = performance.now();
  const stored = await request(db.transaction('reads').objectStore('reads').get('/api/v1/snapshot'));
  const fromStorage = performance.now() - t;
  lines.push(`IndexedDB: read back in ${fromStorage.toFixed(1)} ms`);
  await post('/snapshot', json);
  t = performance.now();
  const fetched = await (await fetch('/snapshot')).text();
  const overHttp = performance.now() - t;
  lines.push(`HTTP (loopback, uncompressed): fetched in ${overHttp.toFixed(1)} ms`);
  if (stored !== json || fetched !== json) throw new Error('the snapshot came back different');
  lines.push(run(stored));
  lines.push(`browser: ${navigator.userAgent}`);
  await post('/result', lines.join('\n'));
} catch (e) {
  await post('/result', `FAILED: ${e}\n${e.stack ?? ''}`);
}
</script>
"#;

pub fn run() -> anyhow::Result<()> {
    ensure_wasm_target()?;
    ensure_chromium()?;
    let root = root();
    step(
        "cargo build preview-bench (wasm32, size profile)",
        cargo().args([
            "build",
            "-p",
            "preview-bench",
            "--target",
            "wasm32-unknown-unknown",
            "--profile",
            "wasm-release",
        ]),
    )?;
    let out = root.join("target/bench-wasm");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out)?;
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(root.join("target/wasm32-unknown-unknown/wasm-release/preview_bench.wasm"))
        .web(true)?
        .typescript(false)
        .out_name("preview_bench")
        .generate(&out)
        .context("wasm-bindgen failed")?;
    std::fs::write(out.join("index.html"), PAGE)?;

    let listener = TcpListener::bind("127.0.0.1:0")?;
    let address = listener.local_addr()?;
    let (done, result) = mpsc::channel::<String>();
    let files = out.clone();
    std::thread::spawn(move || {
        let mut snapshot = Vec::new();
        for stream in listener.incoming().flatten() {
            // A request the page gave up on changes nothing: a missing result shows as the timeout below.
            let _ = serve(stream, &files, &mut snapshot, &done);
        }
    });
    let profile = tempfile_dir()?;
    let _chromium = KillOnDrop(
        Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(format!("http://{address}/index.html"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .context("cannot start chromium")?,
    );
    eprintln!("==> running in headless Chromium (http://{address}/)");
    let figures = result.recv_timeout(Duration::from_secs(600)).context("the page did not report within 10 minutes")?;
    let _ = std::fs::remove_dir_all(&profile);
    let wasm = std::fs::metadata(out.join("preview_bench_bg.wasm"))?.len();
    println!("wasm build of the preview scenario: {:.0} KB (wasm-release profile)", wasm as f64 / 1024.0);
    println!("{figures}");
    if figures.starts_with("FAILED") {
        bail!("the benchmark page failed");
    }
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("rampart-bench-chromium-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// One request of the page: its files, the snapshot it posts and fetches back, and its result.
fn serve(
    stream: TcpStream,
    files: &std::path::Path,
    snapshot: &mut Vec<u8>,
    done: &mpsc::Sender<String>,
) -> anyhow::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or_default().to_owned(), parts.next().unwrap_or("/").to_owned());
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let (status, kind, content) = match (method.as_str(), path.as_str()) {
        ("POST", "/snapshot") => {
            *snapshot = body;
            ("200 OK", "text/plain", Vec::new())
        }
        ("GET", "/snapshot") => ("200 OK", "application/json", snapshot.clone()),
        ("POST", "/result") => {
            let _ = done.send(String::from_utf8_lossy(&body).into_owned());
            ("200 OK", "text/plain", Vec::new())
        }
        ("GET", file) => {
            let name = file.trim_start_matches('/');
            let kind = match name.rsplit('.').next() {
                Some("html") => "text/html",
                Some("js") => "text/javascript",
                Some("wasm") => "application/wasm",
                _ => "application/octet-stream",
            };
            match std::fs::read(files.join(name)).ok().filter(|_| !name.contains("..") && !name.is_empty()) {
                Some(bytes) => ("200 OK", kind, bytes),
                None => ("404 Not Found", "text/plain", Vec::new()),
            }
        }
        _ => ("405 Method Not Allowed", "text/plain", Vec::new()),
    };
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        content.len()
    )?;
    stream.write_all(&content)?;
    Ok(())
}
