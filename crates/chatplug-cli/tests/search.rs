//! `chatplug prompt` with the `[search]` table pointing at a real HTTP server on
//! 127.0.0.1 that serves recorded SearXNG answers, next to a provider that fails.

mod common;

use chatplug_testkit::http::{HttpServer, Reply};
use common::*;
use serde_json::{json, Value};
use std::path::PathBuf;

fn recorded(name: &str) -> String {
    std::fs::read_to_string(root().join("crates/chatplug-search/tests/data").join(name)).unwrap()
}

/// Writes `toml` to a fresh configuration file.
fn config_file(tag: &str, toml: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("chatplug-cli-search-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("chatplug.toml");
    std::fs::write(&path, toml).unwrap();
    path
}

fn prompt(config: &PathBuf, query: &str) -> Value {
    let request = json!({"query": query}).to_string();
    stdout_json(&chatplug(
        &["prompt", "--config", config.to_str().unwrap()],
        &request,
    ))
}

#[test]
fn search_results_become_knowledge_passages_and_failures_warnings() {
    let searx = HttpServer::start(|_, _| Reply::json(recorded("searxng.json")));
    let broken = HttpServer::start(|_, _| Reply::status(500, "upstream down"));
    let triples = root().join("crates/chatplug-search/tests/data/triples.json");
    let config = config_file(
        "ok",
        &format!(
            r#"
[search]
providers = ["searxng", "broken"]
retries = 0

[search.searxng]
endpoint = "{}"
max_results = 2

[[search.generic]]
name = "broken"
url = "{}/search?q={{query}}"
text_path = "data.items[].summary"

[search.graph]
triples = "{}"
"#,
            searx.url(),
            broken.url(),
            triples.display()
        ),
    );
    let out = prompt(&config, "西湖在哪里？");
    let d = &out["decisions"];
    assert_eq!(d["need_search"], true);
    assert_eq!(d["search_query"], "西湖在哪里？");
    assert_eq!(searx.requests()[0].param("q"), Some("西湖在哪里？"));
    let providers: Vec<&str> = d["search_results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["provider"].as_str().unwrap())
        .collect();
    assert_eq!(providers, ["searxng", "graph"]);
    assert_eq!(
        d["search_results"][0]["results"]["snippets"][2]["url"],
        "https://baike.example.cn/item/west-lake"
    );
    assert_eq!(
        d["warnings"],
        json!(["provider `broken` failed: HTTP 500: upstream down"])
    );
    assert_eq!(
        d["knowledge_chunks"],
        json!([
            "西湖位于中国浙江省杭州市。",
            "西湖是杭州市区西面的淡水湖，2011年列入世界遗产名录。",
            "西湖位于浙江省杭州市西湖区龙井路1号，是中国主要的观赏性淡水湖泊之一。",
            "西湖十景包括苏堤春晓、曲院风荷、平湖秋月、断桥残雪等。",
            "西湖 位于 杭州, 苏堤 位于 西湖",
        ])
    );
    let passages = out["passages"].as_array().unwrap();
    assert_eq!(passages.len(), 5, "one passage per knowledge chunk");
    assert!(passages[0]
        .as_str()
        .unwrap()
        .ends_with("#以下是和对话相关的知识，请你参考该知识进行回复。西湖位于中国浙江省杭州市。"));
    assert_eq!(broken.count("/search"), 1);

    // Chit-chat does not search; the graph is still consulted for non-persona turns.
    let out = prompt(&config, "今天好开心");
    assert_eq!(out["decisions"]["need_search"], false);
    assert_eq!(searx.total(), 1);
}

/// `#debug` in `chatplug chat` lists what each provider retrieved and what failed.
#[test]
fn chat_debug_shows_retrieved_items_and_failures() {
    let searx = HttpServer::start(|_, _| Reply::json(recorded("searxng.json")));
    let config = config_file(
        "chat",
        &format!(
            "[search]\nproviders = [\"searxng\", \"broken\"]\nretries = 0\n[search.searxng]\nendpoint = \"{}\"\n[[search.generic]]\nname = \"broken\"\nurl = \"http://127.0.0.1:{}/s?q={{query}}\"\ntext_path = \"items[].text\"\n",
            searx.url(),
            chatplug_testkit::free_port()
        ),
    );
    let out = chatplug(
        &[
            "chat",
            "--model",
            "fixtures/golden/models/relu_tied",
            "--config",
            config.to_str().unwrap(),
        ],
        "#debug\n西湖在哪里？\n#exit\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("\"provider\": \"searxng\""), "{stdout}");
    assert!(
        stdout.contains("\"url\": \"https://baike.example.cn/item/west-lake\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("provider `broken` failed: request failed"),
        "{stdout}"
    );
    assert!(stdout.contains("西湖位于中国浙江省杭州市。"), "{stdout}");
}

#[test]
fn bad_search_configuration_is_a_clear_error() {
    let config = config_file("bad", "[search]\nproviders = [\"google\"]\n");
    let out = chatplug(
        &["prompt", "--config", config.to_str().unwrap()],
        r#"{"query": "你好"}"#,
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad [search] configuration")
            && err.contains("`search.providers[0]`: unknown provider `google`"),
        "{err}"
    );
}

#[test]
fn provider_failures_are_logged_on_stderr() {
    let broken = HttpServer::start(|_, _| Reply::status(500, "upstream down"));
    let config = config_file(
        "log",
        &format!(
            r#"
[search]
providers = ["broken"]
retries = 0

[[search.generic]]
name = "broken"
url = "{}/search?q={{query}}"
text_path = "data.items[].summary"
"#,
            broken.url()
        ),
    );
    let request = json!({"query": "西湖在哪里？"}).to_string();
    let out = chatplug(&["prompt", "--config", config.to_str().unwrap()], &request);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("WARN") && stderr.contains("broken") && stderr.contains("upstream down"),
        "stderr: {stderr}"
    );
}
