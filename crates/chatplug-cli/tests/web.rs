//! Browser test of the web chat page: starts the real `chatplug serve` on the tiny random
//! model and drives the page in Debian's headless Chromium with `web/e2e/chat.e2e.mjs`
//! (playwright-core), which checks the API-key flow (401 shown, key entered), sends
//! messages, checks streaming, sessions (new, switch, delete), reload, the knowledge and
//! debug panels, and saves a screenshot under the cargo target directory. A second test
//! (`web/e2e/hostile.e2e.mjs`) puts HTML and script into every text the page shows and
//! checks that none of it runs or becomes an element.
//!
//! Needs Chromium and the e2e npm packages (`bash .ci/setup` installs both); without them
//! the test fails, it does not skip.

#[allow(dead_code)]
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use chatplug_testkit::http::Reply;
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

    run_browser_script(&root, "chat.e2e.mjs", &server, "chat.png", &[API_KEY]);
}

/// Runs `web/e2e/SCRIPT BASE_URL SCREENSHOT [ARGS]` against `server` and fails with its
/// output unless it passes and leaves the screenshot (`<target dir>/e2e/SHOT`).
fn run_browser_script(root: &Path, script: &str, server: &Serve, shot: &str, args: &[&str]) {
    let screenshot = screenshot_path().with_file_name(shot);
    let _ = std::fs::remove_file(&screenshot);
    let out = Command::new("node")
        .arg(Path::new("web/e2e").join(script))
        .arg(&server.base)
        .arg(&screenshot)
        .args(args)
        .current_dir(root)
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}{stderr}");
    // The server's own log lines appear above, prefixed `[serve]`.
    assert!(out.status.success(), "browser test {script} failed ({}):\n{stdout}{stderr}", out.status);
    assert!(screenshot.is_file(), "no screenshot at {}", screenshot.display());
    println!("screenshot: {}", screenshot.display());
}

/// The payloads of `web/e2e/hostile.e2e.mjs` (kept equal to its copies): each calls the
/// page's `f` if it ever runs.
const IMG: &str = "<img src=x onerror=f()>";
const HOSTILE: &str = r#"<img src=x onerror=f()><script>f()</script><svg onload=f()></svg><iframe srcdoc="<script>parent.f()</script>"></iframe>"'><b onmouseover=f()>b</b><a href="javascript:f()">a</a>"#;

/// Recorded Bing answers: for a calculation, a computation card (the reply, with
/// `card_as_reply`) in hostile HTML; otherwise web pages whose names, snippets and links
/// are hostile, one with a real link, which the page must keep.
fn hostile_bing_answer(query: &str) -> String {
    if query.contains("等于多少") {
        let card = serde_json::json!({ "id": "javascript:f()", "expression": format!("{IMG}1+1"), "value": format!("{HOSTILE}卡片") });
        return serde_json::json!({ "_type": "SearchResponse", "computation": card }).to_string();
    }
    let page = |name: String, url: &str, snippet: String| serde_json::json!({ "name": name, "url": url, "snippet": snippet });
    let pages = [
        page(format!("{IMG}搜索结果一"), "javascript:f()", format!("<script>f()</script>星河镇位于青川湖北岸。{HOSTILE}")),
        page(format!("{HOSTILE}搜索结果二"), "https://example.cn/safe", format!("{IMG}星河镇以出产蓝莓闻名。")),
        page(format!("{IMG}搜索结果三"), " JaVaScRiPt:f()", "星河镇每年八月举办蓝莓节。".to_string()),
        page(format!("{IMG}搜索结果四"), "data:text/html,<script>f()</script>", "青川湖边有一座灯塔。".to_string()),
    ];
    serde_json::json!({ "_type": "SearchResponse", "webPages": { "value": pages } }).to_string()
}

#[test]
fn web_page_shows_hostile_text_as_text() {
    let root = common::root();
    require_browser_tools(&root);

    let search = chatplug_testkit::http::HttpServer::start(|request, _| {
        Reply::json(hostile_bing_answer(request.param("q").unwrap_or_default()))
    });
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rule_control.json");
    let rule = serde_json::json!([{ "name": "hostile", "pos_regex_list": ["攻击测试"], "response": [format!("{HOSTILE}回复")] }]);
    std::fs::write(&rules, rule.to_string()).unwrap();
    let data_dir = dir.path().join("data");
    let endpoint = search.url();
    let server = Serve::start(
        &data_dir,
        &[
            ("CHATPLUG_RULE_CONTROL_PATH", rules.to_str().unwrap()),
            ("CHATPLUG_SEARCH__PROVIDERS", r#"["bing"]"#),
            ("CHATPLUG_SEARCH__BING__ENDPOINT", &endpoint),
            ("CHATPLUG_SEARCH__BING__NEWS", "false"),
            ("CHATPLUG_SEARCH__BING__CARD_AS_REPLY", "true"),
            ("BING_SEARCH_API", "recorded-answers"),
        ],
    );

    run_browser_script(&root, "hostile.e2e.mjs", &server, "hostile.png", &[]);
    // The hostile results came from the recorded search server, not from elsewhere.
    assert!(search.total() >= 1, "the search server was never asked");
}
