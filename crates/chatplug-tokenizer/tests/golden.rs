//! Parity with the reference tokenizers recorded by
//! `fixtures/make_tokenizer_golden.py` (see fixtures/README.md).

use std::path::{Path, PathBuf};

use chatplug_tokenizer::{t5_whitespace_mapping, Tokenizer};
use serde::Deserialize;

#[derive(Deserialize)]
struct Line {
    text: String,
    ids: Vec<u32>,
    fast_ids: Vec<u32>,
    decoded: String,
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/golden")
}

fn corpus() -> Vec<Line> {
    let path = fixtures().join("tokenizer_corpus.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let lines: Vec<Line> = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), i + 1))
        })
        .collect();
    assert!(lines.len() >= 1000, "corpus too small: {}", lines.len());
    lines
}

/// Compares every line and reports all mismatches (not only the first).
fn check(name: &str, lines: &[Line], got: impl Fn(&Line) -> (String, String)) {
    let mut bad = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let (g, want) = got(l);
        if g != want {
            bad.push(format!(
                "line {}: text={:?}\n   got: {g}\n  want: {want}",
                i + 1,
                l.text
            ));
        }
    }
    if !bad.is_empty() {
        let n = bad.len();
        bad.truncate(20);
        panic!(
            "{name}: {n}/{} lines differ:\n{}",
            lines.len(),
            bad.join("\n")
        );
    }
    eprintln!("{name}: {} lines match", lines.len());
}

fn slow() -> Tokenizer {
    Tokenizer::from_dir(&fixtures().join("tokenizer")).expect("load spiece.model")
}

fn fast() -> Tokenizer {
    Tokenizer::from_dir(&fixtures().join("tokenizer_fast")).expect("load tokenizer.json")
}

#[test]
fn spiece_ids_match_transformers_4_13() {
    let tok = slow();
    check("slow ids", &corpus(), |l| {
        (format!("{:?}", tok.encode(&l.text)), format!("{:?}", l.ids))
    });
}

#[test]
fn spiece_file_without_configs_matches() {
    let tok = Tokenizer::from_spiece_file(&fixtures().join("tokenizer/spiece.model")).unwrap();
    check("slow ids (bare spiece.model)", &corpus(), |l| {
        (format!("{:?}", tok.encode(&l.text)), format!("{:?}", l.ids))
    });
}

#[test]
fn tokenizer_json_ids_match_fast() {
    let tok = fast();
    check("fast ids", &corpus(), |l| {
        (
            format!("{:?}", tok.encode(&l.text)),
            format!("{:?}", l.fast_ids),
        )
    });
}

#[test]
fn decode_matches_chatplug_decode() {
    let lines = corpus();
    let tok = slow();
    check("decode (spiece)", &lines, |l| {
        (tok.decode(&l.ids), l.decoded.clone())
    });
    let tok = fast();
    check("decode (tokenizer.json)", &lines, |l| {
        (tok.decode(&l.ids), l.decoded.clone())
    });
}

#[test]
fn vocabulary_layout() {
    for tok in [slow(), fast()] {
        assert_eq!(tok.len(), 1600);
        assert_eq!((tok.pad_id(), tok.eos_id(), tok.unk_id()), (0, 1, 2));
        assert_eq!(tok.token_to_id("<extra_id_0>"), Some(1599));
        assert_eq!(tok.token_to_id("<extra_id_99>"), Some(1500));
        assert_eq!(tok.token_to_id("<extra_id_22>"), Some(1577));
        assert_eq!(tok.token_to_id("</s>"), Some(1));
        assert_eq!(tok.token_to_id("▁"), Some(6));
        assert_eq!(tok.token_to_id("no such piece"), None);
        assert_eq!(tok.id_to_token(1599).as_deref(), Some("<extra_id_0>"));
        assert_eq!(tok.id_to_token(1).as_deref(), Some("</s>"));
        assert_eq!(tok.id_to_token(6).as_deref(), Some("▁"));
        assert_eq!(tok.id_to_token(1600), None);
    }
}

#[test]
fn decode_skips_out_of_range_ids_and_maps_whitespace() {
    let tok = slow();
    let text = "第一行\n第二行\t你好  两个空格";
    let ids = tok.encode(&t5_whitespace_mapping(text));
    assert_eq!(tok.decode(&ids), text);
    let mut with_junk = ids.clone();
    with_junk.insert(2, 999_999);
    with_junk.push(1600);
    assert_eq!(tok.decode(&with_junk), text);
    assert_eq!(tok.encode(""), vec![1]);
    assert_eq!(tok.encode(" \t\u{3000} "), vec![1]);
}

#[test]
fn encode_is_fast_enough() {
    // A ~400-token Chinese passage; the budget is generous for debug/test builds.
    let tok = slow();
    let passage = "假设我和你正在进行对话，请你给我得体、准确、友好的回复。以下是我们的对话内容。\
        我：最近工作好累啊。你：辛苦了，要注意休息哦。我：周末有什么推荐的放松方式吗？\
        #知识#杭州是浙江省的省会，以西湖闻名，有灵隐寺、千岛湖等景点。#知识结束#"
        .repeat(4);
    let n = tok.encode(&passage).len();
    assert!(n > 350, "{n}");
    let iters = 200;
    let t0 = std::time::Instant::now();
    for _ in 0..iters {
        std::hint::black_box(tok.encode(std::hint::black_box(&passage)));
    }
    let per = t0.elapsed() / iters;
    eprintln!("encode of {n} tokens: {per:?} per call");
    assert!(per < std::time::Duration::from_millis(5), "{per:?}");
}

#[derive(Deserialize)]
struct AddedLine {
    text: String,
    ids: Vec<u32>,
    decoded: String,
}

/// added_tokens.json + AddedToken (lstrip/rstrip) special tokens from the config
/// files, on the same spiece.model (the config files live in
/// golden/tokenizer_added/, the model is copied next to them).
#[test]
fn added_tokens_and_added_token_configs() {
    let dir = std::env::temp_dir().join(format!("chatplug-tok-added-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for name in [
        "tokenizer_config.json",
        "special_tokens_map.json",
        "added_tokens.json",
    ] {
        std::fs::copy(
            fixtures().join("tokenizer_added").join(name),
            dir.join(name),
        )
        .unwrap();
    }
    std::fs::copy(
        fixtures().join("tokenizer/spiece.model"),
        dir.join("spiece.model"),
    )
    .unwrap();
    let tok = Tokenizer::from_dir(&dir).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(tok.len(), 1604);
    assert_eq!(tok.token_to_id("<sep>"), Some(1600));
    assert_eq!(tok.token_to_id("你好世界"), Some(1601));
    assert_eq!(tok.id_to_token(1603).as_deref(), Some("<ctx>"));
    let path = fixtures().join("tokenizer_added_corpus.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut n = 0;
    let mut bad = Vec::new();
    for (i, l) in text.lines().enumerate() {
        let l: AddedLine = serde_json::from_str(l).unwrap();
        let ids = tok.encode(&l.text);
        let dec = tok.decode(&l.ids);
        if ids != l.ids || dec != l.decoded {
            bad.push(format!(
                "line {}: {:?}\n  ids {ids:?}\n want {:?}\n  decoded {dec:?}\n want {:?}",
                i + 1,
                l.text,
                l.ids,
                l.decoded
            ));
        }
        n += 1;
    }
    assert!(
        bad.is_empty(),
        "{} of {n} lines differ:\n{}",
        bad.len(),
        bad.join("\n")
    );
    assert!(n > 100);
}
