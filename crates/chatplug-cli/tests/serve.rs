//! `chatplug serve` end to end with the tiny random model
//! (`fixtures/golden/models/relu_tied`) over real HTTP: sessions that survive killing the
//! server (SQLite, PostgreSQL, Redis), streaming, concurrent requests that each get the
//! reply a solo run gives, a client that disconnects, the official `openai` Python
//! package, and a short load test.

#[allow(dead_code)]
mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use chatplug_testkit::{TempPostgres, TempRedis};
use common::root;
use common::serve::Serve;
use serde_json::{json, Value};

fn result(r: Result<ureq::Response, ureq::Error>) -> (u16, String) {
    match r {
        Ok(resp) => (resp.status(), resp.into_string().unwrap()),
        Err(ureq::Error::Status(code, resp)) => (code, resp.into_string().unwrap()),
        Err(e) => panic!("HTTP failed: {e}"),
    }
}

fn post_raw(s: &Serve, path: &str, body: &str) -> (u16, String) {
    result(ureq::post(&s.url(path)).set("Content-Type", "application/json").send_string(body))
}

fn post(s: &Serve, path: &str, body: &Value) -> (u16, Value) {
    let (status, text) = post_raw(s, path, &body.to_string());
    (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}")))
}

fn get(s: &Serve, path: &str) -> (u16, Value) {
    let (status, text) = result(ureq::get(&s.url(path)).call());
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Greedy and short: deterministic and quick on the random model.
fn greedy(query: &str) -> Value {
    json!({"query": query, "generation": {"num_beams": 1, "max_new_tokens": 8}})
}

/// Creates a session, runs two turns in it, kills the server, starts it again with the
/// same data folder / database and checks every acknowledged turn is there.
fn sessions_survive_restart(data_dir: &Path, env: &[(&str, &str)]) {
    let mut s = Serve::start(data_dir, env);
    let (status, created) = post(&s, "/v1/sessions", &json!({"bot_profile": "我是小婉;我喜欢唱歌", "role_instruction": "说话简短"}));
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    let mut replies = Vec::new();
    for q in ["我是小明", "你喜欢什么"] {
        let mut body = greedy(q);
        body["session_id"] = json!(id);
        let (status, reply) = post(&s, "/v1/chat", &body);
        assert_eq!(status, 200, "{reply}");
        replies.push(reply["response"].as_str().unwrap().to_string());
    }
    s.kill();

    let s = Serve::start(data_dir, env);
    let (status, session) = get(&s, &format!("/v1/sessions/{id}"));
    assert_eq!(status, 200, "{session}");
    let turns: Vec<(String, String)> = session["turns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["role"].as_str().unwrap().to_string(), t["utterance"].as_str().unwrap().to_string()))
        .collect();
    let want = vec![
        ("user".to_string(), "我是小明".to_string()),
        ("bot".to_string(), replies[0].clone()),
        ("user".to_string(), "你喜欢什么".to_string()),
        ("bot".to_string(), replies[1].clone()),
    ];
    assert_eq!(turns, want);
    assert_eq!(session["bot_profile"], "我是小婉;我喜欢唱歌");
    assert_eq!(session["role_instruction"], "说话简短");
    assert!(session["dynamic_profiles"]["user_profile"].as_str().unwrap().contains("我是小明"), "{session}");
    let (_, list) = get(&s, "/v1/sessions");
    assert_eq!(list["sessions"][0]["id"], id.as_str());
    assert_eq!(list["sessions"][0]["turn_count"], 4);
    // The conversation goes on after the restart.
    let mut body = greedy("再见");
    body["session_id"] = json!(id);
    assert_eq!(post(&s, "/v1/chat", &body).0, 200);
    assert_eq!(get(&s, &format!("/v1/sessions/{id}")).1["turn_count"], 6);
}

#[test]
fn sqlite_sessions_survive_a_killed_server() {
    let dir = tempfile::tempdir().unwrap();
    sessions_survive_restart(&dir.path().join("data"), &[]);
    assert!(dir.path().join("data/sessions.sqlite3").is_file());
}

#[test]
fn postgres_sessions_survive_a_killed_server() {
    let pg = TempPostgres::start().expect("PostgreSQL for the test");
    let dir = tempfile::tempdir().unwrap();
    let url = pg.connection_string();
    sessions_survive_restart(dir.path(), &[("CHATPLUG_SESSIONS__BACKEND", "postgres"), ("CHATPLUG_SESSIONS__URL", &url)]);
}

#[test]
fn redis_sessions_survive_a_killed_server() {
    let redis = TempRedis::start().expect("Redis for the test");
    let dir = tempfile::tempdir().unwrap();
    let url = redis.url();
    sessions_survive_restart(dir.path(), &[("CHATPLUG_SESSIONS__BACKEND", "redis"), ("CHATPLUG_SESSIONS__URL", &url)]);
}

/// The `event:`/`data:` pairs of an SSE body.
fn sse_events(text: &str) -> Vec<(String, String)> {
    text.split("\n\n")
        .filter(|b| !b.trim().is_empty() && !b.starts_with(':'))
        .map(|b| {
            let field = |name: &str| b.lines().find_map(|l| l.strip_prefix(name)).unwrap_or("").to_string();
            (field("event: "), field("data: "))
        })
        .collect()
}

#[test]
fn concurrent_requests_get_the_replies_of_solo_runs() {
    let dir = tempfile::tempdir().unwrap();
    // Four workers: their decoding steps are batched (`server.batch_rows` defaults to 32).
    let s = Serve::start(dir.path(), &[("CHATPLUG_SERVER__WORKERS", "4"), ("CHATPLUG_SERVER__QUEUE_CAPACITY", "64")]);
    let queries = ["你好", "今天天气怎么样", "你喜欢什么颜色", "推荐一本书", "周末去哪里玩", "讲个笑话"];
    let solo: Vec<String> = queries
        .iter()
        .map(|q| {
            let (status, reply) = post(&s, "/v1/chat", &greedy(q));
            assert_eq!(status, 200, "{reply}");
            reply["response"].as_str().unwrap().to_string()
        })
        .collect();
    assert!(solo.iter().collect::<std::collections::HashSet<_>>().len() > 1, "different queries, different replies: {solo:?}");

    let base = s.base.clone();
    let threads: Vec<_> = (0..18)
        .map(|i| {
            let base = base.clone();
            let q = queries[i % queries.len()];
            std::thread::spawn(move || {
                let mut body = greedy(q);
                body["stream"] = json!(i % 2 == 0);
                let r = ureq::post(&format!("{base}/v1/chat")).send_string(&body.to_string());
                let (status, text) = result(r);
                assert_eq!(status, 200, "{text}");
                if i % 2 == 1 {
                    return (i, serde_json::from_str::<Value>(&text).unwrap()["response"].as_str().unwrap().to_string());
                }
                let events = sse_events(&text);
                let (done, deltas) = events.split_last().unwrap();
                assert_eq!(done.0, "done", "{text}");
                let streamed: String = deltas
                    .iter()
                    .map(|(e, d)| {
                        assert_eq!(e, "delta");
                        serde_json::from_str::<Value>(d).unwrap()["text"].as_str().unwrap().to_string()
                    })
                    .collect();
                let response = serde_json::from_str::<Value>(&done.1).unwrap()["response"].as_str().unwrap().to_string();
                assert_eq!(streamed, response, "the deltas add up to the reply");
                (i, response)
            })
        })
        .collect();
    for t in threads {
        let (i, reply) = t.join().unwrap();
        assert_eq!(reply, solo[i % queries.len()], "request {i} ({})", queries[i % queries.len()]);
    }
}

/// Sends `body` to /v1/chat on a raw connection, waits until `started` says the turn is
/// under way, closes the connection and returns how long the worker took to stop.
fn disconnect(s: &Serve, body: &Value, mut started: impl FnMut(&mut TcpStream) -> bool) -> Duration {
    let cancelled_before = s.metric("cancelled_total");
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut stream = TcpStream::connect(&addr).unwrap();
    let body = body.to_string();
    write!(stream, "POST /v1/chat HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len()).unwrap();
    while !started(&mut stream) {}
    let left = Instant::now();
    drop(stream);
    while s.metric("cancelled_total") <= cancelled_before || s.metric("busy_workers") > 0.0 {
        assert!(left.elapsed() < Duration::from_secs(30), "the generation went on after the client left");
        std::thread::sleep(Duration::from_millis(5));
    }
    left.elapsed()
}

#[test]
fn a_client_that_disconnects_stops_its_generation() {
    let dir = tempfile::tempdir().unwrap();
    let s = Serve::start(dir.path(), &[]);
    let mut long = json!({"query": "说一段很长的话",
                          "generation": {"num_beams": 1, "max_new_tokens": 512, "min_new_tokens": 512}});
    // How long the whole generation takes when nobody leaves.
    let start = Instant::now();
    let (status, _) = post_raw(&s, "/v1/chat", &long.to_string());
    assert_eq!(status, 200);
    let full = start.elapsed();

    // A plain request: the connection closes while the worker generates.
    let plain = disconnect(&s, &long, |_| {
        std::thread::sleep(Duration::from_millis(2));
        s.metric("busy_workers") == 1.0
    });
    // A stream: the connection closes after the first delta.
    long["stream"] = json!(true);
    let mut seen = String::new();
    let streamed = disconnect(&s, &long, |stream| {
        let mut buf = [0u8; 4096];
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "the stream ended early: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        seen.contains("event: delta")
    });
    eprintln!("full generation {full:?}; stopped {plain:?} (plain) and {streamed:?} (stream) after the client left");
    for stopped in [plain, streamed] {
        assert!(stopped < full / 2, "stopped after {stopped:?}, a whole generation takes {full:?}");
    }
}

/// Posts a body over the size limit on a raw connection and returns the start of the
/// answer. The server answers 413 and closes without reading the whole body, so the
/// body is written from another thread whose broken pipe is expected (a client that
/// writes first and reads after, like ureq, sees only the broken pipe).
fn post_oversized(s: &Serve, path: &str, body: &str) -> String {
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let body = body.to_string();
    let sending = std::thread::spawn(move || {
        let _ = writer.write_all(body.as_bytes());
    });
    let mut answer = [0u8; 64];
    let n = stream.read(&mut answer).unwrap_or(0);
    let _ = sending.join();
    String::from_utf8_lossy(&answer[..n]).into_owned()
}

#[test]
fn malformed_requests_get_json_errors_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let s = Serve::start(dir.path(), &[]);
    for (body, status) in [("{\"query\": ", 400), ("{\"query\": [1]}", 400), ("{\"qurey\": \"x\"}", 400), ("\u{0}\u{1}", 400)] {
        let (got, text) = post_raw(&s, "/v1/chat", body);
        assert_eq!(got, status, "{body}: {text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["error"]["type"], "invalid_request_error");
    }
    let big = "x".repeat(2 << 20);
    let status_line = post_oversized(&s, "/v1/chat", &format!("{{\"query\": \"{big}\"}}"));
    assert!(status_line.starts_with("HTTP/1.1 413"), "{status_line}");
    assert_eq!(get(&s, "/healthz"), (200, json!({"status": "ok"})));
}

fn python(script: &str, args: &[&str]) -> std::process::Output {
    Command::new("python3").arg(root().join(script)).args(args).output().expect("run python3")
}

#[test]
fn the_official_openai_package_talks_to_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let s = Serve::start(dir.path(), &[("CHATPLUG_API_KEYS", "sk-chatplug-test")]);
    let out = python("crates/chatplug-cli/tests/openai_client.py", &[&s.base, "sk-chatplug-test"]);
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "openai_client.py failed (bash .ci/setup installs the `openai` package):\n{log}");
    assert!(log.contains("openai client: ok"), "{log}");
}

/// Runs `bench/load_test.py` against `s` with `args`; its JSON result, after checking
/// that it ran and that nothing but 429s went wrong.
fn load_test(s: &Serve, args: &[&str]) -> Value {
    let mut all = vec!["--url", s.base.as_str(), "--json"];
    all.extend_from_slice(args);
    let out = python("bench/load_test.py", &all);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "load_test.py failed:\n{stdout}{}", String::from_utf8_lossy(&out.stderr));
    eprintln!("{stdout}");
    let result: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(result["errors"], 0, "{result}");
    assert!(result["answered"].as_u64().unwrap() > 0, "{result}");
    result
}

#[test]
fn short_load_test_has_no_errors_beyond_queue_full() {
    let dir = tempfile::tempdir().unwrap();
    let s = Serve::start(dir.path(), &[("CHATPLUG_SERVER__WORKERS", "1"), ("CHATPLUG_SERVER__QUEUE_CAPACITY", "4")]);
    let result = load_test(&s, &["--clients", "16", "--duration", "4", "--max-tokens", "8"]);
    // 16 clients against one worker and 4 queue places: the queue fills up.
    assert!(result["rejected_429"].as_u64().unwrap() > 0, "{result}");
    assert_eq!(s.metric("queue_depth"), 0.0);
}

/// The soak mode of the load test (non-streaming, streaming and cancelled requests on
/// both APIs), briefly; `bench/load_test.py --api mixed --duration 600` is the soak.
#[test]
fn short_mixed_soak_has_no_errors_and_cancels_streams() {
    let dir = tempfile::tempdir().unwrap();
    let s = Serve::start(dir.path(), &[("CHATPLUG_SERVER__WORKERS", "1"), ("CHATPLUG_SERVER__QUEUE_CAPACITY", "4")]);
    let pid = s.pid().to_string();
    let args = ["--api", "mixed", "--clients", "8", "--duration", "4", "--max-tokens", "8", "--pid", &pid];
    let result = load_test(&s, &args);
    assert!(result["cancelled"].as_u64().unwrap() > 0, "{result}");
    assert!(result["rss_end_mib"].as_f64().unwrap() > 0.0, "{result}");
    // Cancelled streams leave nothing queued.
    assert_eq!(s.queue_depth_after(Duration::from_secs(30)), 0.0);
}

#[test]
fn the_data_folders_knowledge_base_feeds_the_turns() {
    let dir = tempfile::tempdir().unwrap();
    let kb = dir.path().join("kb");
    let docs = dir.path().join("docs.jsonl");
    std::fs::write(
        &docs,
        "{\"id\": \"xihu\", \"title\": \"西湖\", \"text\": \"西湖位于浙江省杭州市西湖区，是中国著名的淡水湖。\"}\n",
    )
    .unwrap();
    let indexed = Command::new(env!("CARGO_BIN_EXE_chatplug"))
        .args(["kb", "index", "--kb"])
        .arg(&kb)
        .arg(&docs)
        .output()
        .unwrap();
    assert!(indexed.status.success(), "{}", String::from_utf8_lossy(&indexed.stderr));

    let s = Serve::start(dir.path(), &[]);
    let (status, reply) = post(&s, "/v1/chat", &greedy("西湖在哪个城市？"));
    assert_eq!(status, 200, "{reply}");
    let knowledge = reply["knowledge"].as_array().unwrap();
    assert!(
        knowledge.iter().any(|k| k["source"] == "kb"
            && k["doc_id"] == "xihu"
            && k["text"].as_str().unwrap().contains("杭州")),
        "{reply}"
    );
}
