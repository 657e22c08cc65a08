//! `chatplug serve` under abuse (issue 13), over raw TCP so that nothing is cleaned up
//! on the way: thousands of seeded mutations of valid requests (broken JSON, wrong
//! types, huge numbers, deep nesting, invalid UTF-8, absurd generation options), broken
//! HTTP framing (enormous headers, bad lengths), slow and idle clients, clients that
//! disconnect mid-request or mid-reply, and concurrent turns in one session.
//!
//! Every answer must be a normal reply or a JSON error with a 4xx, 429 or 503 status
//! (504 is the documented request timeout); the process stays up, its memory stays
//! bounded, and the session holds exactly the turns that were acknowledged.

#[allow(dead_code)]
mod common;

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use common::serve::Serve;
use serde_json::{json, Value};

/// The server's timeouts for idle clients, short so that the test waits seconds.
const CLIENT_TIMEOUT_S: &str = "2";

fn start_server(dir: &std::path::Path) -> Serve {
    Serve::start(
        dir,
        &[
            ("CHATPLUG_SERVER__WORKERS", "1"),
            ("CHATPLUG_SERVER__QUEUE_CAPACITY", "4"),
            ("CHATPLUG_SERVER__REQUEST_TIMEOUT_S", "60"),
            ("CHATPLUG_SERVER__CLIENT_TIMEOUT_S", CLIENT_TIMEOUT_S),
        ],
    )
}

/// xorshift64*: the same mutations on every run (a failure names the request).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// What came back on one connection.
#[derive(Debug)]
enum Outcome {
    Answer { status: u16, content_type: String, body: Vec<u8> },
    /// The server closed the connection without answering.
    Closed,
}

impl Outcome {
    fn status(&self) -> u16 {
        match self {
            Outcome::Answer { status, .. } => *status,
            Outcome::Closed => 0,
        }
    }

    fn json(&self) -> Option<Value> {
        match self {
            Outcome::Answer { body, .. } => serde_json::from_slice(body).ok(),
            Outcome::Closed => None,
        }
    }
}

/// An HTTP/1.1 request with `Connection: close` and the body's length.
fn request(method: &str, path: &str, body: &[u8]) -> Vec<u8> {
    let mut raw = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    raw.extend_from_slice(body);
    raw
}

/// Sends `raw` on a fresh connection and reads until the server closes it.
fn exchange(addr: &str, raw: &[u8]) -> Outcome {
    let mut stream = TcpStream::connect(addr).expect("connect to chatplug serve");
    // The server may answer (413, 431) and close before reading everything: a broken
    // pipe while writing is not a failure; the answer is read after.
    let _ = stream.write_all(raw);
    read_answer(&mut stream)
}

/// Reads an answer to the end; a server that neither answers nor closes within 60 s
/// hangs, and fails the test.
fn read_answer(stream: &mut TcpStream) -> Outcome {
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 16384];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => panic!("no answer and no close: {e} (after {} bytes)", raw.len()),
        }
    }
    parse_answer(&raw)
}

fn parse_answer(raw: &[u8]) -> Outcome {
    let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Outcome::Closed;
    };
    let head = String::from_utf8_lossy(&raw[..end]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut content_type = String::new();
    let mut chunked = false;
    for line in lines {
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        match name.trim().to_ascii_lowercase().as_str() {
            "content-type" => content_type = value.trim().to_string(),
            "transfer-encoding" => chunked = value.trim().eq_ignore_ascii_case("chunked"),
            _ => {}
        }
    }
    let rest = &raw[end + 4..];
    let body = if chunked { dechunk(rest) } else { rest.to_vec() };
    Outcome::Answer { status, content_type, body }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    while let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&raw[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = eol + 2;
        let end = (start + size).min(raw.len());
        body.extend_from_slice(&raw[start..end]);
        raw = &raw[(end + 2).min(raw.len())..];
    }
    body
}

/// Whether `outcome` is acceptable: a normal reply, or a JSON error whose status is a
/// 4xx, 503 or the documented 504. With `framing`, the request was broken below the
/// HTTP message (request line, headers, lengths): hyper answers those before any route
/// runs, with a bare 4xx, or closes the connection.
fn verdict(outcome: &Outcome, framing: bool) -> Result<(), String> {
    let status = outcome.status();
    match outcome {
        Outcome::Closed if framing => Ok(()),
        Outcome::Closed => Err("the connection closed without an answer".into()),
        Outcome::Answer { content_type, body, .. } => {
            if (200..300).contains(&status) {
                let normal = content_type.starts_with("text/event-stream")
                    || outcome.json().is_some_and(|v| v.get("error").is_none());
                return if normal { Ok(()) } else { Err(format!("{status} that is not a reply: {}", String::from_utf8_lossy(body))) };
            }
            if !((400..500).contains(&status) || status == 503 || status == 504) {
                return Err(format!("status {status}: {}", String::from_utf8_lossy(body)));
            }
            if framing && body.is_empty() {
                return Ok(());
            }
            let error = outcome.json().and_then(|v| v.get("error").cloned());
            match error {
                Some(e) if e["message"].is_string() && e["type"].is_string() => Ok(()),
                _ => Err(format!("status {status} without a JSON error: {:?}", String::from_utf8_lossy(body))),
            }
        }
    }
}

/// Resident memory of a process, from `/proc` (Linux).
fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

// ---------------------------------------------------------------------------------------
// Mutations of valid requests

fn native_body() -> Value {
    json!({
        "query": "你好，我叫小明",
        "history": [{"role": "user", "utterance": "今天天气不错"}, {"role": "bot", "utterance": "是啊"}],
        "knowledge": ["西湖在杭州。"],
        "bot_profile": "我是小婉;我喜欢唱歌",
        "user_profile": "我住在杭州",
        "role_instruction": "说话简短",
        "dialog_state": {"turns": 1},
        "stream": false,
        "debug": false,
        "generation": {"num_beams": 1, "max_new_tokens": 4, "top_k": 5, "temperature": 0.7, "min_new_tokens": 1}
    })
}

fn openai_body() -> Value {
    json!({
        "model": "chatplug",
        "messages": [
            {"role": "system", "content": "我是小婉"},
            {"role": "user", "content": [{"type": "text", "text": "你好"}]},
            {"role": "assistant", "content": "你好呀"},
            {"role": "user", "content": "你喜欢什么"}
        ],
        "max_tokens": 4,
        "temperature": 0.5,
        "top_p": 0.9,
        "n": 1,
        "seed": 3,
        "stream": false,
        "stop": ["。"]
    })
}

fn session_body() -> Value {
    json!({"bot_profile": "我是小婉", "user_profile": "我叫小明", "role_instruction": "说话简短"})
}

/// Raw JSON values that break types, ranges, nesting or encoding.
fn evil_value(rng: &mut Rng) -> String {
    match rng.below(24) {
        0 => "1e400".into(),
        1 => "-1e400".into(),
        2 => "18446744073709551616".into(),
        3 => "-9223372036854775809".into(),
        4 => "-1".into(),
        5 => "0".into(),
        6 => "1.5".into(),
        7 => "4294967297".into(),
        8 => "null".into(),
        9 => "true".into(),
        10 => "\"\"".into(),
        11 => "[]".into(),
        12 => "{}".into(),
        13 => "\"\\u0000\\ud800\"".into(),
        14 => "\"<img src=x onerror=alert(1)>\"".into(),
        15 => format!("\"{}\"", "好".repeat(1 + rng.below(60_000))),
        16 => {
            let depth = 1 + rng.below(200_000);
            format!("{}{}", "[".repeat(depth), "]".repeat(depth))
        }
        17 => {
            let depth = 1 + rng.below(50_000);
            format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth))
        }
        18 => format!("[{}1]", "1,".repeat(rng.below(300_000))),
        19 => format!("{}", rng.below(1_000_000)),
        20 => format!("{}", rng.below(3000)),
        21 => format!("[{}\"x\"]", "\"x\",".repeat(rng.below(5000))),
        22 => "\"𝕏🤖\\n\\t\\\"\"".into(),
        _ => format!("{}.{}e{}", rng.below(10), rng.below(1000), rng.below(700) as i64 - 350),
    }
}

/// Paths to every node of `v` (object keys and array indices).
fn paths(v: &Value, prefix: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
    out.push(prefix.clone());
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                prefix.push(json!(k));
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                prefix.push(json!(i));
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn node<'a>(v: &'a mut Value, path: &[Value]) -> &'a mut Value {
    path.iter().fold(v, |node, step| match step {
        Value::String(k) => &mut node[k.as_str()],
        Value::Number(i) => &mut node[i.as_u64().unwrap() as usize],
        _ => unreachable!(),
    })
}

/// A mutation of `base`: a node replaced by an evil value, a key removed or added, or
/// the serialized bytes cut, overwritten or spliced.
fn mutate(rng: &mut Rng, base: &Value) -> Vec<u8> {
    const MARK: &str = "__EVIL_VALUE__";
    let mut v = base.clone();
    let mut all = Vec::new();
    paths(&v, &mut Vec::new(), &mut all);
    match rng.below(10) {
        // Replace a node (the body itself included) by an evil raw value.
        0..=4 => {
            let path = rng.pick(&all).clone();
            *node(&mut v, &path) = json!(MARK);
            let text = v.to_string().replace(&format!("\"{MARK}\""), &evil_value(rng));
            text.into_bytes()
        }
        // Remove a key, or add an unknown one.
        5 => {
            let path = rng.pick(&all).clone();
            if let Some((last, parent)) = path.split_last() {
                if let (Value::Object(m), Value::String(k)) = (node(&mut v, parent), last) {
                    m.remove(k);
                }
            } else if let Value::Object(m) = &mut v {
                m.insert("unexpected".into(), json!(1));
            }
            v.to_string().into_bytes()
        }
        // Byte-level damage.
        _ => {
            let mut bytes = v.to_string().into_bytes();
            let at = rng.below(bytes.len() + 1);
            match rng.below(4) {
                0 => bytes.truncate(at),
                1 => {
                    if at < bytes.len() {
                        bytes[at] = rng.next() as u8;
                    }
                }
                2 => {
                    const JUNK: [&[u8]; 8] = [b"\xff\xfe", b"\xc0\x80", b"\xed\xa0\x80", b"\x00", b"}}]]", b",,", b"\"", b"\\"];
                    let junk = *rng.pick(&JUNK);
                    bytes.splice(at..at, junk.iter().copied());
                }
                _ => {
                    let from = rng.below(bytes.len());
                    let piece: Vec<u8> = bytes[from..(from + 1 + rng.below(64)).min(bytes.len())].to_vec();
                    bytes.splice(at..at, piece);
                }
            }
            bytes
        }
    }
}

/// Generation options that are valid JSON of the right type but absurd in size.
fn absurd_options(rng: &mut Rng, openai: bool) -> Value {
    let big = |rng: &mut Rng| json!(*rng.pick(&[0u64, 1, 2, 7, 64, 513, 4096, 100_000, 1 << 31, u64::MAX]));
    if openai {
        let mut v = openai_body();
        let key = *rng.pick(&["max_tokens", "max_completion_tokens", "n", "seed", "temperature", "top_p"]);
        v[key] = big(rng);
        v
    } else {
        let mut v = native_body();
        let key = *rng.pick(&[
            "num_beams",
            "num_return_sequences",
            "max_new_tokens",
            "max_length",
            "min_new_tokens",
            "min_length",
            "top_k",
            "no_repeat_ngram_size",
            "seed",
            "repetition_penalty",
            "length_penalty",
        ]);
        v["generation"][key] = big(rng);
        if rng.below(2) == 0 {
            v["generation"]["num_beams"] = big(rng);
        }
        v
    }
}

/// One client's share of the mutated requests: (what was sent, what is wrong).
fn mutation_client(addr: &str, seed: u64, count: usize) -> (BTreeMap<u16, usize>, Vec<String>) {
    let mut rng = Rng(seed);
    let mut statuses = BTreeMap::new();
    let mut failures = Vec::new();
    let session_ids = ["does-not-exist", "..%2F..%2Fetc%2Fpasswd", "%00", "x", "🤖"];
    for i in 0..count {
        let (method, path, body): (&str, String, Vec<u8>) = match rng.below(8) {
            0..=2 => ("POST", "/v1/chat".into(), mutate(&mut rng, &native_body())),
            3 | 4 => ("POST", "/v1/chat/completions".into(), mutate(&mut rng, &openai_body())),
            5 => ("POST", "/v1/sessions".into(), mutate(&mut rng, &session_body())),
            6 => {
                let openai = rng.below(2) == 0;
                let path = if openai { "/v1/chat/completions" } else { "/v1/chat" };
                ("POST", path.into(), absurd_options(&mut rng, openai).to_string().into_bytes())
            }
            _ => {
                let method = *rng.pick(&["GET", "DELETE", "POST", "PUT", "PATCH"]);
                let id = if rng.below(3) == 0 { "s".repeat(1 + rng.below(20_000)) } else { rng.pick(&session_ids).to_string() };
                let path = rng.pick(&[format!("/v1/sessions/{id}"), format!("/v1/sessions/{id}/x"), "/v1/models".into(), format!("/{id}")]).clone();
                (method, path, mutate(&mut rng, &session_body()))
            }
        };
        let outcome = exchange(addr, &request(method, &path, &body));
        *statuses.entry(outcome.status()).or_default() += 1;
        if let Err(why) = verdict(&outcome, false) {
            let shown = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
            failures.push(format!("client {seed} request {i}: {method} {} {shown}: {why}", &path[..path.len().min(80)]));
        }
    }
    (statuses, failures)
}

// ---------------------------------------------------------------------------------------
// Framing, slow clients, disconnects, sessions

/// Requests broken below the HTTP message.
fn framing_cases() -> Vec<(&'static str, Vec<u8>)> {
    let valid = native_body().to_string();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("a 1 MiB header", {
            let mut r = format!("POST /v1/chat HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\nConnection: close\r\n\r\n", "a".repeat(1 << 20));
            r.push_str(&valid);
            r.into_bytes()
        }),
        ("20,000 headers", {
            let headers: String = (0..20_000).map(|i| format!("X-H{i}: v\r\n")).collect();
            format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{headers}Connection: close\r\n\r\n").into_bytes()
        }),
        ("a 100 KiB path", format!("GET /{} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "p".repeat(100 << 10)).into_bytes()),
        ("a garbage request line", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n".to_vec()),
        ("HTTP/0.9", b"GET /\r\n\r\n".to_vec()),
        ("an unknown method", b"BREW /v1/chat HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec()),
        ("a non-numeric Content-Length", format!("POST /v1/chat HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\nConnection: close\r\n\r\n{valid}").into_bytes()),
        ("a negative Content-Length", format!("POST /v1/chat HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\nConnection: close\r\n\r\n{valid}").into_bytes()),
        ("a Content-Length of 2^70", format!("POST /v1/chat HTTP/1.1\r\nHost: x\r\nContent-Length: 1180591620717411303424\r\nConnection: close\r\n\r\n{valid}").into_bytes()),
        ("a Content-Length of 10 GB", format!("POST /v1/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000000000\r\nConnection: close\r\n\r\n{valid}").into_bytes()),
        ("two different Content-Lengths", format!("POST /v1/chat HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\nConnection: close\r\n\r\n{valid}").into_bytes()),
        ("a bad chunk size", b"POST /v1/chat HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n".to_vec()),
        ("a chunk of 2^64 bytes", b"POST /v1/chat HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nffffffffffffffff\r\n{}\r\n0\r\n\r\n".to_vec()),
        ("chunks beyond the body limit", {
            let mut r = b"POST /v1/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
            for _ in 0..40 {
                r.extend_from_slice(format!("{:x}\r\n{}\r\n", 64 << 10, " ".repeat(64 << 10)).as_bytes());
            }
            r.extend_from_slice(b"0\r\n\r\n");
            r
        }),
        ("a header that is not UTF-8", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Bin: \xff\xfe\x80\r\nConnection: close\r\n\r\n".to_vec()),
        ("a header name with spaces", b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Name: v\r\nConnection: close\r\n\r\n".to_vec()),
        ("a bare LF request", b"GET /healthz HTTP/1.1\nHost: x\nConnection: close\n\n".to_vec()),
        ("a wrong Content-Type", format!("POST /v1/chat HTTP/1.1\r\nHost: x\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{valid}", valid.len()).into_bytes()),
        ("no Content-Type", format!("POST /v1/chat HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{valid}", valid.len()).into_bytes()),
        ("an Authorization that is not UTF-8", b"GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\xff\r\nConnection: close\r\n\r\n".to_vec()),
    ];
    cases
}

/// Sends the first `sent` bytes of a request, then closes the connection.
fn abandon(addr: &str, raw: &[u8], sent: usize) {
    let mut stream = TcpStream::connect(addr).unwrap();
    let _ = stream.write_all(&raw[..sent.min(raw.len())]);
    let _ = stream.shutdown(Shutdown::Both);
}

/// Sends a full request and closes after reading `read` bytes of the answer.
fn hang_up_after(addr: &str, raw: &[u8], read: usize) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let _ = stream.write_all(raw);
    let mut got = 0;
    let mut buf = [0u8; 256];
    while got < read {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
}

fn healthy(s: &Serve) -> bool {
    matches!(exchange(s.addr(), &request("GET", "/healthz", b"")), Outcome::Answer { status: 200, .. })
}

#[test]
fn the_server_survives_thousands_of_mutated_requests() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = start_server(dir.path());
    let addr = s.addr().to_string();
    // Memory after a few normal turns (the model's buffers and the allocator's pools are
    // there), against memory after the abuse.
    for _ in 0..5 {
        let outcome = exchange(&addr, &request("POST", "/v1/chat", native_body().to_string().as_bytes()));
        assert_eq!(outcome.status(), 200, "{outcome:?}");
    }
    let rss_before = rss_bytes(s.pid());

    const CLIENTS: u64 = 4;
    const PER_CLIENT: usize = 750;
    let started = Instant::now();
    let results: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let addr = addr.clone();
            std::thread::spawn(move || mutation_client(&addr, 0x9E37_79B9_7F4A_7C15 ^ (c + 1), PER_CLIENT))
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().expect("a mutation client panicked"))
        .collect();
    let mut statuses = BTreeMap::<u16, usize>::new();
    let mut failures = Vec::new();
    for (st, f) in results {
        for (k, n) in st {
            *statuses.entry(k).or_default() += n;
        }
        failures.extend(f);
    }
    eprintln!("{} mutated requests in {:.1} s: statuses {statuses:?}", CLIENTS as usize * PER_CLIENT, started.elapsed().as_secs_f64());
    assert!(failures.is_empty(), "{} bad answers, the first ones:\n{}", failures.len(), failures[..failures.len().min(20)].join("\n"));
    // The mutator must reach both the model and the validation.
    assert!(statuses.get(&200).copied().unwrap_or(0) > 50, "{statuses:?}");
    assert!(statuses.get(&400).copied().unwrap_or(0) > 500, "{statuses:?}");
    assert!(s.is_running(), "the server died");

    for (name, raw) in framing_cases() {
        let outcome = exchange(&addr, &raw);
        if let Err(why) = verdict(&outcome, true) {
            panic!("{name}: {why}");
        }
        eprintln!("{name}: {}", outcome.status());
        if name.contains("10 GB") {
            assert_eq!(outcome.status(), 413, "a declared length over the limit is refused at once");
        }
        assert!(s.is_running() && healthy(&s), "the server is down after {name}");
    }

    // Two requests in one write, the first keep-alive: both answered, in order.
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut both = String::new();
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    stream.read_to_string(&mut both).unwrap();
    assert_eq!(both.matches("HTTP/1.1 200 OK").count(), 2, "{both}");
    assert!(both.find("{\"status\":\"ok\"}") < both.find("\"object\":\"list\""), "{both}");

    // Disconnects: mid-request, right after sending, and mid-reply (plain and streaming).
    let chat = request("POST", "/v1/chat", native_body().to_string().as_bytes());
    let mut streaming_body = native_body();
    streaming_body["stream"] = json!(true);
    streaming_body["generation"]["max_new_tokens"] = json!(64);
    let streaming = request("POST", "/v1/chat", streaming_body.to_string().as_bytes());
    let mut rng = Rng(7);
    for _ in 0..60 {
        let cut = rng.below(chat.len());
        abandon(&addr, &chat, cut);
        abandon(&addr, &chat, chat.len());
        hang_up_after(&addr, &streaming, 1 + rng.below(400));
    }
    assert_eq!(s.queue_depth_after(Duration::from_secs(60)), 0.0, "abandoned requests stay queued");
    assert!(s.is_running() && healthy(&s));

    // After all of it the server still gives the same reply as before.
    let fresh = exchange(&addr, &chat);
    assert_eq!(fresh.status(), 200, "{fresh:?}");

    let rss_after = rss_bytes(s.pid());
    eprintln!("resident memory: {} MiB before the abuse, {} MiB after", rss_before >> 20, rss_after >> 20);
    assert!(
        rss_after < rss_before + (96 << 20),
        "memory grew from {} MiB to {} MiB",
        rss_before >> 20,
        rss_after >> 20
    );
}

#[test]
fn slow_and_idle_clients_are_cut_off_and_do_not_block_others() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_server(dir.path());
    let addr = s.addr().to_string();
    let timeout = Duration::from_secs(CLIENT_TIMEOUT_S.parse().unwrap());

    // 300 connections that send nothing, half a request line or half the headers, and
    // then wait.
    let idle: Vec<TcpStream> = (0..300)
        .map(|i| {
            let mut c = TcpStream::connect(&addr).unwrap();
            let part: &[u8] = match i % 3 {
                0 => b"",
                1 => b"POST /v1/ch",
                _ => b"POST /v1/chat HTTP/1.1\r\nHost: x\r\n",
            };
            c.write_all(part).unwrap();
            c
        })
        .collect();
    // Meanwhile others are served at once.
    let t = Instant::now();
    let outcome = exchange(&addr, &request("POST", "/v1/chat", native_body().to_string().as_bytes()));
    assert_eq!(outcome.status(), 200, "{outcome:?}");
    assert!(t.elapsed() < timeout, "a normal request waited {:?} behind idle clients", t.elapsed());
    // And the idle ones are closed once the timeout has passed.
    for (i, mut c) in idle.into_iter().enumerate() {
        c.set_read_timeout(Some(timeout * 10)).unwrap();
        let mut buf = Vec::new();
        let t = Instant::now();
        let closed = match c.read_to_end(&mut buf) {
            Ok(_) => true,
            Err(e) => e.kind() == ErrorKind::ConnectionReset,
        };
        assert!(closed, "idle connection {i} still open after {:?}", t.elapsed());
    }

    // A body that trickles in, a byte a second, gets a JSON 408 instead of holding the
    // connection for as long as the client likes.
    let body = native_body().to_string();
    let mut c = TcpStream::connect(&addr).unwrap();
    let head = format!(
        "POST /v1/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    c.write_all(head.as_bytes()).unwrap();
    let started = Instant::now();
    let writer = {
        let mut c = c.try_clone().unwrap();
        let body = body.clone().into_bytes();
        std::thread::spawn(move || {
            for b in body {
                if c.write_all(&[b]).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        })
    };
    let outcome = read_answer(&mut c);
    let waited = started.elapsed();
    assert_eq!(outcome.status(), 408, "{outcome:?}");
    verdict(&outcome, false).unwrap();
    assert!(waited < timeout * 3, "the slow body was cut off only after {waited:?}");
    drop(c);
    writer.join().unwrap();
    assert!(healthy(&s));
}

#[test]
fn concurrent_turns_in_one_session_store_exactly_the_acknowledged_ones() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_server(dir.path());
    let addr = s.addr().to_string();
    let created = exchange(&addr, &request("POST", "/v1/sessions", session_body().to_string().as_bytes()));
    assert_eq!(created.status(), 201, "{created:?}");
    let id = created.json().unwrap()["id"].as_str().unwrap().to_string();

    // 8 clients, 12 turns each, into the same session; with one worker and 4 queue
    // places many are refused (429), and those must leave no trace.
    let handles: Vec<_> = (0..8)
        .map(|c| {
            let (addr, id) = (addr.clone(), id.clone());
            std::thread::spawn(move || {
                let mut acknowledged = Vec::new();
                let mut refused = 0;
                for i in 0..12 {
                    let query = format!("客户{c}的第{i}句话");
                    let body = json!({"query": query, "session_id": id, "generation": {"num_beams": 1, "max_new_tokens": 4}});
                    let outcome = exchange(&addr, &request("POST", "/v1/chat", body.to_string().as_bytes()));
                    verdict(&outcome, false).unwrap_or_else(|why| panic!("{query}: {why}"));
                    match outcome.status() {
                        200 => acknowledged.push((query, outcome.json().unwrap()["response"].as_str().unwrap().to_string())),
                        429 => refused += 1,
                        other => panic!("{query}: status {other}"),
                    }
                }
                (acknowledged, refused)
            })
        })
        .collect();
    let mut acknowledged = Vec::new();
    let mut refused = 0;
    for h in handles {
        let (a, r) = h.join().unwrap();
        acknowledged.extend(a);
        refused += r;
    }
    eprintln!("{} turns acknowledged, {refused} refused", acknowledged.len());
    assert!(!acknowledged.is_empty());

    let session = exchange(&addr, &request("GET", &format!("/v1/sessions/{id}"), b"")).json().unwrap();
    let turns = session["turns"].as_array().unwrap();
    assert_eq!(turns.len() % 2, 0, "{session}");
    let mut stored: Vec<(String, String)> = turns
        .chunks(2)
        .map(|pair| {
            assert_eq!((pair[0]["role"].as_str(), pair[1]["role"].as_str()), (Some("user"), Some("bot")), "{session}");
            (pair[0]["utterance"].as_str().unwrap().to_string(), pair[1]["utterance"].as_str().unwrap().to_string())
        })
        .collect();
    stored.sort();
    acknowledged.sort();
    assert_eq!(stored, acknowledged);
}
