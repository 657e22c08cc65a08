//! `chatplug kb …` and the knowledge base in `chatplug prompt`, through the binary.

mod common;

use std::path::Path;

use common::{chatplug, stdout_json};

const DOCS: &str = concat!(
    r#"{"id": "panda", "title": "大熊猫", "text": "大熊猫主要吃竹子，野生种群生活在四川、陕西和甘肃的山区。"}"#,
    "\n",
    r#"{"id": "wall", "text": "明长城东起辽宁虎山，西至甘肃嘉峪关。"}"#,
    "\n"
);

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

fn search(kb: &str, query: &str) -> Vec<serde_json::Value> {
    let out = stdout_json(&chatplug(&["kb", "search", "--kb", kb, "--json", query], ""));
    out["hits"].as_array().unwrap().clone()
}

fn ok(args: &[&str]) -> String {
    let out = chatplug(args, "");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn index_search_replace_and_delete() {
    let t = tempfile::tempdir().unwrap();
    let kb = t.path().join("kb");
    let kb = kb.to_str().unwrap();
    let docs = write(t.path(), "docs.jsonl", DOCS);
    let md = write(t.path(), "guide.md", "# 退货\n收到商品七天内可以无理由退货。\n");
    let out = ok(&["kb", "index", "--kb", kb, &docs, &md]);
    assert!(out.contains("indexed 3 documents"), "{out}");

    let hits = search(kb, "熊猫平时吃什么");
    assert_eq!(hits[0]["doc_id"], "panda");
    assert!(hits[0]["text"].as_str().unwrap().contains("竹子"));
    assert!(hits[0]["score"].as_f64().unwrap() > 0.0);
    assert_eq!(search(kb, "几天之内能退货")[0]["doc_id"], "guide");
    let top1 = stdout_json(&chatplug(&["kb", "search", "--kb", kb, "--json", "--top-k", "1", "甘肃"], ""));
    assert_eq!(top1["hits"].as_array().unwrap().len(), 1);

    let new = write(t.path(), "new.jsonl", r#"{"id": "panda", "text": "小熊猫爱吃水果。"}"#);
    assert!(ok(&["kb", "index", "--kb", kb, &new]).contains("1 replaced"));
    assert!(search(kb, "竹子").iter().all(|h| h["doc_id"] != "panda"));

    assert!(ok(&["kb", "delete", "--kb", kb, "wall", "missing"]).contains("deleted 1 of 2"));
    assert!(search(kb, "嘉峪关").iter().all(|h| h["doc_id"] != "wall"));
}

#[test]
fn a_failed_import_changes_nothing() {
    let t = tempfile::tempdir().unwrap();
    let kb = t.path().join("kb");
    let kb = kb.to_str().unwrap();
    ok(&["kb", "index", "--kb", kb, &write(t.path(), "docs.jsonl", DOCS)]);
    let bad = write(
        t.path(),
        "more.jsonl",
        concat!(
            r#"{"id": "tea", "text": "西湖龙井是绿茶。"}"#,
            "\n",
            r#"{"id": "panda", "text": "替换熊猫。"}"#,
            "\n",
            r#"{"id": "x", "txt": "坏行"}"#,
            "\n"
        ),
    );
    let out = chatplug(&["kb", "index", "--kb", kb, &bad], "");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("more.jsonl:3:") && err.contains("missing field `text`"), "{err}");
    assert_eq!(search(kb, "熊猫吃竹子")[0]["doc_id"], "panda");
    assert!(search(kb, "龙井").iter().all(|h| h["doc_id"] != "tea"));
}

#[test]
fn faq_import_search_and_delete() {
    let t = tempfile::tempdir().unwrap();
    let kb = t.path().join("kb");
    let kb = kb.to_str().unwrap();
    let faq = write(
        t.path(),
        "faq.jsonl",
        r#"{"id": "hours", "question": "你们几点开门", "similar": ["营业时间是几点"], "answer": "每天九点开门。"}"#,
    );
    assert!(ok(&["kb", "faq", "import", "--kb", kb, &faq]).contains("imported 1"));
    let out = stdout_json(&chatplug(&["kb", "faq", "search", "--kb", kb, "--json", "营业时间是几点？"], ""));
    assert_eq!(out["hits"][0]["answer"], "每天九点开门。");
    assert_eq!(out["hits"][0]["score"], 1.0);
    let bad = write(t.path(), "bad.jsonl", r#"{"question": "q"}"#);
    let out = chatplug(&["kb", "faq", "import", "--kb", kb, &bad], "");
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.jsonl:1:"));
    assert!(ok(&["kb", "faq", "delete", "--kb", kb, "hours"]).contains("deleted 1 of 1"));
}

#[test]
fn searching_a_missing_kb_is_a_clear_error() {
    let t = tempfile::tempdir().unwrap();
    let out = chatplug(&["kb", "search", "--kb", t.path().join("none").to_str().unwrap(), "x"], "");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no knowledge base"));
}

#[test]
fn prompt_uses_kb_passages_and_faq_answers() {
    let t = tempfile::tempdir().unwrap();
    let kb = t.path().join("kb");
    ok(&["kb", "index", "--kb", kb.to_str().unwrap(), &write(t.path(), "docs.jsonl", DOCS)]);
    let faq = write(t.path(), "faq.jsonl", r#"{"question": "你们几点开门", "answer": "每天九点开门。"}"#);
    ok(&["kb", "faq", "import", "--kb", kb.to_str().unwrap(), &faq]);
    let config = write(t.path(), "chatplug.toml", "[knowledge]\nkb_dir = \"kb\"\ntop_k = 2\n");
    let request = write(t.path(), "req.json", r#"{"query": "大熊猫平时吃什么？"}"#);

    let out = stdout_json(&chatplug(&["prompt", "--config", &config, "--request", &request], ""));
    let results = &out["decisions"]["search_results"][0];
    assert_eq!(results["provider"], "kb");
    let first = &results["results"]["snippets"][0];
    assert_eq!(first["doc_id"], "panda");
    assert_eq!(first["source"], "kb");
    assert!(first["score"].as_f64().unwrap() > 0.0);
    let passages = out["passages"].as_array().unwrap();
    assert!(passages.iter().any(|p| p.as_str().unwrap().contains("大熊猫主要吃竹子")), "{passages:?}");

    let request = write(t.path(), "faq.json", r#"{"query": "你们几点开门？"}"#);
    let out = stdout_json(&chatplug(&["prompt", "--config", &config, "--request", &request], ""));
    assert_eq!(out["response"]["response"], "每天九点开门。");
    assert_eq!(out["decisions"]["faq"]["score"], 1.0);
}

#[test]
fn postgres_backend_from_the_command_line() {
    let pg = chatplug_testkit::TempPostgres::start().unwrap();
    let t = tempfile::tempdir().unwrap();
    let url = pg.url();
    let store = ["--backend", "postgres", "--postgres-url", url.as_str()];
    let docs = write(t.path(), "docs.jsonl", DOCS);
    let out = ok(&[&["kb", "index"][..], &store, &[docs.as_str()]].concat());
    assert!(out.contains("indexed 2 documents"), "{out}");
    let out = stdout_json(&chatplug(&[&["kb", "search", "--json"][..], &store, &["熊猫吃什么"]].concat(), ""));
    assert_eq!(out["hits"][0]["doc_id"], "panda");
}
