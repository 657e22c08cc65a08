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

use std::path::{Path, PathBuf};
use std::process::Command;

use common::serve::Serve;

/// The server requires this key; the browser test first sees the page's 401 error, then
/// enters it in the page's settings.
const API_KEY: &str = "web-test-key";

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
    let data_dir = tempfile::tempdir().unwrap();
    let server = Serve::start(data_dir.path(), &[("CHATPLUG_API_KEYS", API_KEY)]);

    let screenshot = screenshot_path();
    let _ = std::fs::remove_file(&screenshot);
    let out = Command::new("node")
        .arg("web/e2e/chat.e2e.mjs")
        .arg(&server.base)
        .arg(&screenshot)
        .arg(API_KEY)
        .current_dir(&root)
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}{stderr}");
    // The server's own log lines appear above, prefixed `[serve]`.
    assert!(out.status.success(), "browser test failed ({}):\n{stdout}{stderr}", out.status);
    assert!(screenshot.is_file(), "no screenshot at {}", screenshot.display());
    println!("screenshot: {}", screenshot.display());
}
