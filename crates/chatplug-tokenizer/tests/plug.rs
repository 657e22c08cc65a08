//! ChatPLUG-240M's BERT WordPiece tokenizer against the slow `BertTokenizer` of
//! transformers 4.46.3 and ModelScope's reply decoding, recorded by
//! `fixtures/make_plug_tokenizer_golden.py` (see fixtures/README.md).

use std::path::{Path, PathBuf};

use chatplug_tokenizer::{plug_whitespace_mapping, BertTokenizer, TokenizerError};
use serde::Deserialize;

#[derive(Deserialize)]
struct Line {
    text: String,
    ids: Vec<u32>,
    ids_cased: Vec<u32>,
    ids_trunc16: Vec<u32>,
    decoded: String,
    decoded_hf: String,
}

#[derive(Deserialize)]
struct DecodeLine {
    ids: Vec<u32>,
    decoded: String,
    decoded_hf: String,
}

fn golden() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/golden/plug_tokenizer")
}

fn read_jsonl<T: for<'de> Deserialize<'de>>(name: &str) -> Vec<T> {
    let path = golden().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .enumerate()
        .map(|(i, l)| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), i + 1)))
        .collect()
}

/// Compares every item and reports all mismatches, not only the first.
fn check<T>(what: &str, items: &[T], compare: impl Fn(&T) -> Option<String>) {
    let bad: Vec<String> = items.iter().enumerate().filter_map(|(i, x)| compare(x).map(|m| format!("line {}: {m}", i + 1))).collect();
    assert!(bad.is_empty(), "{what}: {} of {} differ:\n{}", bad.len(), items.len(), bad.iter().take(10).cloned().collect::<Vec<_>>().join("\n"));
}

fn differ<T: PartialEq + std::fmt::Debug>(text: &str, got: T, want: T) -> Option<String> {
    (got != want).then(|| format!("{text:?}: got {got:?}, want {want:?}"))
}

#[test]
fn ids_equal_the_slow_bert_tokenizer_in_a_modelscope_directory() {
    // vocab.txt alone, as ModelScope ships the model: transformers' defaults (lower case).
    let tok = BertTokenizer::from_dir(&golden()).unwrap();
    let corpus: Vec<Line> = read_jsonl("corpus.jsonl");
    assert!(corpus.len() >= 1000, "corpus too small: {}", corpus.len());
    check("ids", &corpus, |l| differ(&l.text, tok.encode(&l.text), l.ids.clone()));
    check("ids truncated to 16", &corpus, |l| differ(&l.text, tok.encode_truncated(&l.text, 16), l.ids_trunc16.clone()));
}

#[test]
fn ids_equal_a_cased_tokenizer_saved_by_current_transformers() {
    let tok = BertTokenizer::from_dir(&golden().join("saved")).unwrap();
    let corpus: Vec<Line> = read_jsonl("corpus.jsonl");
    check("cased ids", &corpus, |l| differ(&l.text, tok.encode(&l.text), l.ids_cased.clone()));
}

#[test]
fn replies_decode_as_the_fid_dialogue_pipeline_decodes_them() {
    let tok = BertTokenizer::from_dir(&golden()).unwrap();
    let corpus: Vec<Line> = read_jsonl("corpus.jsonl");
    check("decode_hf of encodings", &corpus, |l| differ(&l.text, tok.decode_hf(&l.ids), l.decoded_hf.clone()));
    check("decode of encodings", &corpus, |l| differ(&l.text, tok.decode(&l.ids), l.decoded.clone()));
    let sequences: Vec<DecodeLine> = read_jsonl("decode.jsonl");
    check("decode_hf of id sequences", &sequences, |l| differ("", tok.decode_hf(&l.ids), l.decoded_hf.clone()));
    check("decode of id sequences", &sequences, |l| differ("", tok.decode(&l.ids), l.decoded.clone()));
}

#[test]
fn special_tokens_and_whitespace_mapping() {
    let tok = BertTokenizer::from_dir(&golden()).unwrap();
    assert_eq!((tok.pad_id(), tok.unk_id(), tok.cls_id(), tok.sep_id()), (0, 100, 101, 102));
    assert_eq!(tok.len(), 21128);
    assert_eq!(tok.token_to_id("[unused22]"), Some(22));
    let mapped = plug_whitespace_mapping("第一行\n第二行\t制表  两个空格");
    let ids = tok.encode(&mapped);
    assert!(ids.contains(&22) && ids.contains(&33) && ids.contains(&23), "{ids:?}");
    // The reference's decoding does not restore the text exactly: the mapped newline and
    // tab keep the spaces that join tokens, and the two spaces vanish between Chinese
    // characters (`remove_space_between_chinese_chars` splits at single spaces).
    assert_eq!(tok.decode(&ids), "第一行 \n 第二行 \t 制表两个空格");
}

#[test]
fn broken_directories_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let err = BertTokenizer::from_dir(dir.path()).err().expect("no vocab.txt must fail");
    assert!(matches!(&err, TokenizerError::Io { path, .. } if path.ends_with("vocab.txt")), "{err}");

    std::fs::write(dir.path().join("vocab.txt"), "").unwrap();
    let err = BertTokenizer::from_dir(dir.path()).err().unwrap().to_string();
    assert!(err.contains("vocab.txt") && err.contains("empty"), "{err}");

    std::fs::write(dir.path().join("vocab.txt"), "[PAD]\nhello\n").unwrap();
    let err = BertTokenizer::from_dir(dir.path()).err().unwrap().to_string();
    assert!(err.contains("vocab.txt") && err.contains("[UNK]"), "{err}");

    std::fs::write(dir.path().join("vocab.txt"), b"[PAD]\n[UNK]\n\xff\xfe\n").unwrap();
    let err = BertTokenizer::from_dir(dir.path()).err().unwrap().to_string();
    assert!(err.contains("vocab.txt") && err.contains("line 3"), "{err}");

    std::fs::copy(golden().join("vocab.txt"), dir.path().join("vocab.txt")).unwrap();
    for (config, field) in [
        (r#"{"do_lower_case": "yes"}"#, "do_lower_case"),
        (r#"{"strip_accents": 1}"#, "strip_accents"),
        (r#"{"do_basic_tokenize": false}"#, "do_basic_tokenize"),
        (r#"{"never_split": ["[X]"]}"#, "never_split"),
        (r#"{"unk_token": 5}"#, "unk_token"),
        (r#"{"added_tokens_decoder": {"x": {"content": "a"}}}"#, "added_tokens_decoder"),
        (r#"[1, 2]"#, "not a JSON object"),
    ] {
        std::fs::write(dir.path().join("tokenizer_config.json"), config).unwrap();
        let err = BertTokenizer::from_dir(dir.path()).err().unwrap_or_else(|| panic!("{config} must fail")).to_string();
        assert!(err.contains("tokenizer_config.json") && err.contains(field), "{config}: {err}");
    }
    std::fs::write(dir.path().join("tokenizer_config.json"), "{").unwrap();
    let err = BertTokenizer::from_dir(dir.path()).err().unwrap().to_string();
    assert!(err.contains("tokenizer_config.json") && err.contains("not valid JSON"), "{err}");
}
