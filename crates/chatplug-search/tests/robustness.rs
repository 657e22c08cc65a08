//! Timeouts, retries, circuit breakers, the fan-out deadline and the cache, against a
//! real HTTP server on 127.0.0.1 that counts the requests it receives.

mod common;

use chatplug_dialogue::{
    ChatPipeline, ChatRequest, Config, KnowledgeProvider, SearchResults, Snippet,
};
use chatplug_search::cache::ResultCache;
use chatplug_search::{web_providers, FanOut, SearchConfig};
use common::{data, Reply, Server};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A `[[search.generic]]` entry named `name` reading `generic.json`'s format from `url`.
fn generic(name: &str, url: &str) -> String {
    format!(
        "[[search.generic]]\nname = \"{name}\"\nurl = \"{url}?q={{query}}\"\ntext_path = \"data.items[].summary\"\nid_path = \"data.items[].id\"\n"
    )
}

/// A fan-out over generic providers (name, URL) with `options` in `[search]`.
fn fanout(options: &str, members: &[(&str, String)]) -> FanOut {
    let names: Vec<String> = members.iter().map(|(n, _)| format!("\"{n}\"")).collect();
    let mut toml = format!(
        "[search]\nproviders = [{}]\nbackoff_ms = 10\n{options}\n",
        names.join(", ")
    );
    for (name, url) in members {
        toml.push_str(&generic(name, url));
    }
    let config = SearchConfig::from_toml(&toml, std::iter::empty()).unwrap();
    web_providers(&config, &Default::default())
        .unwrap()
        .unwrap()
}

fn one(options: &str, server: &Server) -> FanOut {
    fanout(options, &[("corp", format!("{}/s", server.url()))])
}

fn error_of(f: &FanOut, query: &str) -> String {
    let mut parts = f.search_parts(query);
    assert_eq!(parts.len(), 1);
    parts.remove(0).1.expect_err("a failure")
}

#[test]
fn slow_answers_time_out_and_are_retried() {
    let server =
        Server::start(|_, _| Reply::json(data("generic.json")).after(Duration::from_millis(1500)));
    let f = one("timeout_ms = 200\nretries = 1", &server);
    let t = Instant::now();
    assert_eq!(error_of(&f, "年假"), "no answer within 200 ms");
    assert!(
        t.elapsed() < Duration::from_millis(1200),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(server.count("/s"), 2, "one try and one retry");
}

#[test]
fn server_errors_are_retried_until_success() {
    let server = Server::start(|_, before| match before {
        0 | 1 => Reply::status(503, r#"{"error": "overloaded"}"#),
        _ => Reply::json(data("generic.json")),
    });
    let f = one("retries = 2", &server);
    let r = f.search("年假").unwrap();
    assert_eq!(r.snippets.len(), 2);
    assert_eq!(r.snippets[0].doc_id.as_deref(), Some("kb-001"));
    assert_eq!(server.count("/s"), 3);
}

#[test]
fn client_errors_and_bad_bodies_are_not_retried() {
    for (reply, expected) in [
        (
            Reply::status(401, r#"{"error": "bad key"}"#),
            r#"HTTP 401: {"error": "bad key"}"#,
        ),
        (
            Reply::json("{\"data\": {\"items\": [}"),
            "response is not valid JSON: expected value at line 1 column 21",
        ),
        (Reply::json(""), "empty response body (expected JSON)"),
        (Reply::json("  \n"), "empty response body (expected JSON)"),
    ] {
        let server = Server::start(move |_, _| reply.clone());
        let f = one("retries = 3", &server);
        assert_eq!(error_of(&f, "年假"), expected);
        assert_eq!(server.count("/s"), 1, "{expected}");
    }
}

#[test]
fn empty_result_list_is_no_snippets() {
    let server =
        Server::start(|_, _| Reply::json(r#"{"code": 0, "data": {"total": 0, "items": []}}"#));
    assert_eq!(
        one("", &server).search("年假").unwrap(),
        SearchResults::default()
    );
}

#[test]
fn refused_connection_is_a_failure_not_a_hang() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let f = fanout(
        "retries = 1",
        &[("corp", format!("http://127.0.0.1:{port}/s"))],
    );
    let e = error_of(&f, "年假");
    assert!(e.starts_with("request failed: "), "{e}");
}

#[test]
fn breaker_opens_after_consecutive_failures_and_half_opens_after_cool_down() {
    let healthy = Arc::new(AtomicBool::new(false));
    let h = healthy.clone();
    let server = Server::start(move |_, _| {
        if h.load(Ordering::SeqCst) {
            Reply::json(data("generic.json"))
        } else {
            Reply::status(500, "")
        }
    });
    let f = one(
        "retries = 0\nbreaker_failures = 3\nbreaker_cooldown_ms = 400\ncache_size = 0",
        &server,
    );
    for _ in 0..3 {
        assert_eq!(error_of(&f, "年假"), "HTTP 500");
    }
    assert_eq!(server.count("/s"), 3);
    let t = Instant::now();
    let e = error_of(&f, "年假");
    assert!(
        e.starts_with("circuit open after 3 consecutive failures; next try in "),
        "{e}"
    );
    assert!(t.elapsed() < Duration::from_millis(50), "fails fast");
    assert_eq!(server.count("/s"), 3, "no request while open");

    std::thread::sleep(Duration::from_millis(450));
    assert_eq!(
        error_of(&f, "年假"),
        "HTTP 500",
        "the half-open trial reaches the server"
    );
    assert_eq!(server.count("/s"), 4);
    assert!(
        error_of(&f, "年假").starts_with("circuit open"),
        "a failed trial opens it again"
    );
    assert_eq!(server.count("/s"), 4);

    healthy.store(true, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(450));
    assert!(f.search("年假").is_ok(), "a successful trial closes it");
    assert!(f.search("年假").is_ok());
    assert_eq!(server.count("/s"), 6);
}

#[test]
fn cache_answers_repeated_queries_without_requests() {
    let server = Server::start(|_, _| Reply::json(data("generic.json")));
    let f = one("cache_size = 16\ncache_ttl_s = 60", &server);
    let first = f.search("年假").unwrap();
    assert_eq!(f.search("年假").unwrap(), first);
    assert_eq!(server.count("/s"), 1);
    f.search("请假").unwrap();
    assert_eq!(server.count("/s"), 2, "another query is another key");

    let off = one("cache_size = 0", &server);
    off.search("年假").unwrap();
    off.search("年假").unwrap();
    assert_eq!(server.count("/s"), 4, "cache off");
}

#[test]
fn failures_are_not_cached() {
    let server = Server::start(|_, before| match before {
        0 => Reply::status(500, ""),
        _ => Reply::json(data("generic.json")),
    });
    let f = one("retries = 0", &server);
    assert!(f.search("年假").is_err());
    assert!(f.search("年假").is_ok());
    assert!(f.search("年假").is_ok());
    assert_eq!(server.count("/s"), 2);
}

#[test]
fn cache_entries_expire_and_least_recently_used_go_first() {
    let r = |t: &str| SearchResults {
        snippets: vec![Snippet::new(t)],
        special_card: false,
    };
    let c = ResultCache::new(2, Duration::from_millis(100)).unwrap();
    c.put("bing", "a", r("a"));
    c.put("searxng", "a", r("a2"));
    assert_eq!(
        c.get("bing", "a"),
        Some(r("a")),
        "keyed by provider and query"
    );
    c.put("bing", "b", r("b"));
    assert_eq!(c.get("searxng", "a"), None, "least recently used evicted");
    assert_eq!(c.get("bing", "a"), Some(r("a")));
    std::thread::sleep(Duration::from_millis(120));
    assert_eq!(c.get("bing", "a"), None, "expired");
    assert!(ResultCache::new(0, Duration::from_secs(1)).is_none());
}

#[test]
fn fan_out_drops_providers_past_the_deadline() {
    let fast = Server::start(|_, _| Reply::json(data("generic.json")));
    let slow =
        Server::start(|_, _| Reply::json(data("generic.json")).after(Duration::from_millis(1500)));
    let f = fanout(
        "timeout_ms = 3000\ndeadline_ms = 300",
        &[
            ("fast", format!("{}/s", fast.url())),
            ("slow", format!("{}/s", slow.url())),
        ],
    );
    let t = Instant::now();
    let parts = f.search_parts("年假");
    assert!(
        t.elapsed() < Duration::from_millis(1000),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(parts[0].0, "fast");
    assert_eq!(parts[0].1.as_ref().unwrap().snippets.len(), 2);
    assert_eq!(
        parts[1],
        (
            "slow".into(),
            Err("no answer within the 300 ms search deadline; dropped".into())
        )
    );
    assert_eq!(slow.count("/s"), 1, "it was asked");
    // Merged: the members that answered.
    assert_eq!(f.search("请假").unwrap().snippets.len(), 2);
}

#[test]
fn fan_out_asks_members_in_parallel_and_fails_only_when_all_fail() {
    let a =
        Server::start(|_, _| Reply::json(data("generic.json")).after(Duration::from_millis(300)));
    let b =
        Server::start(|_, _| Reply::json(data("generic.json")).after(Duration::from_millis(300)));
    let f = fanout(
        "",
        &[
            ("a", format!("{}/s", a.url())),
            ("b", format!("{}/s", b.url())),
        ],
    );
    let t = Instant::now();
    assert_eq!(f.search("年假").unwrap().snippets.len(), 4);
    assert!(
        t.elapsed() < Duration::from_millis(590),
        "parallel: {:?}",
        t.elapsed()
    );

    let bad = Server::start(|_, _| Reply::status(500, ""));
    let f = fanout(
        "retries = 0",
        &[
            ("x", format!("{}/s", bad.url())),
            ("y", format!("{}/t", bad.url())),
        ],
    );
    assert_eq!(f.search("年假").unwrap_err(), "x: HTTP 500; y: HTTP 500");
}

#[test]
fn a_failed_provider_never_fails_the_turn() {
    let good = Server::start(|_, _| Reply::json(data("generic.json")));
    let bad = Server::start(|_, _| Reply::status(500, "internal error"));
    let f = fanout(
        "retries = 0",
        &[
            ("good", format!("{}/s", good.url())),
            ("bad", format!("{}/s", bad.url())),
        ],
    );
    let pipeline = ChatPipeline::new(Config::default())
        .unwrap()
        .with_provider(Arc::new(f));
    let out = pipeline.prompt(&ChatRequest::new("年假有几天？")).unwrap();
    let d = &out["decisions"];
    assert_eq!(
        d["warnings"][0],
        "provider `bad` failed: HTTP 500: internal error"
    );
    assert_eq!(d["search_results"][0]["provider"], "good");
    assert_eq!(
        d["knowledge_chunks"][0],
        "员工入职满一年后每年享有5天带薪年假，满十年享有10天。"
    );
    let passages = out["passages"].as_array().unwrap();
    assert!(passages[0]
        .as_str()
        .unwrap()
        .ends_with("员工入职满一年后每年享有5天带薪年假，满十年享有10天。"));
}
