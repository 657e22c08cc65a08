//! Browser test of the web chat page: starts the real `chatplug serve` on the tiny random
//! model and drives the page in Debian's headless Chromium with `web/e2e/chat.e2e.mjs`
//! (playwright-core), which checks the API-key flow (401 shown, key entered), sends
//! messages, checks streaming, sessions (new, switch, delete), reload, the knowledge and
//! debug panels, and saves a screenshot under the cargo target directory.
//!
//! Needs Chromium and the e2e npm packages (`bash .ci/setup` installs both); without them
//! the test fails, it does not skip.

#[allow(dead_code)]
mod common;

use std::fs::File;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const MODEL: &str = "fixtures/golden/models/relu_tied";
const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);
/// The server requires this key; the browser test first sees the page's 401 error, then
/// enters it in the page's settings.
const API_KEY: &str = "web-test-key";

/// A running `chatplug serve`, killed when dropped (also when the test panics).
struct Server {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Server {
    fn start(data_dir: &Path) -> Server {
        let log = data_dir.join("server.log");
        let log_file = File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_chatplug"))
            .args(["serve", "--model", MODEL, "--bind", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .current_dir(common::root())
            .env("CHATPLUG_API_KEYS", API_KEY)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .expect("start chatplug serve");
        let mut server = Server { child, url: String::new(), log };
        server.wait_healthy();
        server
    }

    /// Waits for the address the server reports (it binds port 0: no port race), then
    /// for `/healthz`.
    fn wait_healthy(&mut self) {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("chatplug serve exited ({status}) before answering /healthz:\n{}", self.log_text());
            }
            let log = self.log_text();
            let bind = log
                .lines()
                .find_map(|l| l.strip_prefix("chatplug serve: listening on http://"))
                .map(str::trim);
            if let Some(bind) = bind {
                if healthz_ok(bind) {
                    self.url = format!("http://{bind}");
                    return;
                }
            }
            assert!(
                start.elapsed() < STARTUP_TIMEOUT,
                "chatplug serve did not answer /healthz within {STARTUP_TIMEOUT:?}:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh directory under the system temp dir, removed when dropped (also on panic).
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One plain HTTP/1.1 GET of `/healthz`; true on a 200.
fn healthz_ok(bind: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect(bind) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {bind}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    reply.starts_with("HTTP/1.1 200")
}

/// Fails with set-up instructions when the browser or the npm packages are missing.
fn require_browser_tools(root: &Path) {
    let chromium = std::env::var("CHATPLUG_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let hint = "run `bash .ci/setup` (installs Debian's chromium and the npm packages of web/e2e)";
    assert!(Path::new(&chromium).exists(), "{chromium} not found: {hint}");
    assert!(
        root.join("web/e2e/node_modules/playwright-core").is_dir(),
        "web/e2e/node_modules/playwright-core not found: {hint}"
    );
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.as_ref().is_ok_and(|o| o.status.success()),
        "`node` does not run ({node:?}): install Node.js 20 or later, then {hint}"
    );
}

/// `<cargo target dir>/e2e/chat.png`, found from the binary's path (`<target>/<profile>/chatplug`).
fn screenshot_path() -> PathBuf {
    let binary = Path::new(env!("CARGO_BIN_EXE_chatplug"));
    binary.parent().and_then(Path::parent).expect("binary inside a target dir").join("e2e/chat.png")
}

#[test]
fn web_page_chats_in_headless_chromium() {
    let root = common::root();
    require_browser_tools(&root);

    // Declared before the server so that the server is dropped (killed) first.
    let data_dir = TempDir::new("chatplug-web-test");
    let server = Server::start(&data_dir.0);

    let screenshot = screenshot_path();
    let _ = std::fs::remove_file(&screenshot);
    let out = Command::new("node")
        .arg("web/e2e/chat.e2e.mjs")
        .arg(&server.url)
        .arg(&screenshot)
        .arg(API_KEY)
        .current_dir(&root)
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}{stderr}");
    assert!(
        out.status.success(),
        "browser test failed ({}):\n{stdout}{stderr}\nserver log:\n{}",
        out.status,
        server.log_text()
    );
    assert!(screenshot.is_file(), "no screenshot at {}", screenshot.display());
    println!("screenshot: {}", screenshot.display());
}
