//! `chatplug_tokenizer::train`: the trained model's ids equal Python
//! sentencepiece's and transformers' T5Tokenizer's on the same spiece.model
//! (fixtures/make_tokenizer_train_golden.py), the committed model is exactly
//! what the trainer writes today (deterministic), the T5 layout, the alphabet
//! and the errors.

use std::path::{Path, PathBuf};

use chatplug_tokenizer::train::{train_files, train_sentences, InputFormat, Normalization, TrainError, TrainOptions};
use chatplug_tokenizer::{t5_whitespace_mapping, Tokenizer};
use serde_json::Value;

/// The options `fixtures/golden/tokenizer_trained/` was made with (README).
const VOCAB: u32 = 1500;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

fn train_txt() -> PathBuf {
    fixtures().join("tokenizer_corpus/train.txt")
}

fn golden_dir() -> PathBuf {
    fixtures().join("golden/tokenizer_trained")
}

fn options(vocab_size: u32) -> TrainOptions {
    TrainOptions {
        vocab_size,
        ..TrainOptions::default()
    }
}

/// A fresh empty directory under the system temp dir.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chatplug-tok-train-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn golden_tokenizer() -> Tokenizer {
    Tokenizer::from_dir(&golden_dir()).expect("the committed trained tokenizer loads")
}

/// A model trained now (as the committed one was), saved and loaded as the
/// engine loads it: the layout tests check the code, not only the fixture.
fn fresh_dir() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = temp_dir("fresh-model");
        train_files(&[train_txt()], &options(VOCAB)).unwrap().save(&dir).unwrap();
        dir
    })
}

fn fresh_tokenizer() -> Tokenizer {
    Tokenizer::from_dir(fresh_dir()).expect("a freshly trained tokenizer loads")
}

#[test]
fn ids_equal_sentencepiece_and_t5tokenizer_on_our_model() {
    let tok = golden_tokenizer();
    let text = std::fs::read_to_string(fixtures().join("golden/tokenizer_trained_corpus.jsonl")).unwrap();
    let mut lines = 0;
    let mut mismatches = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let row: Value = serde_json::from_str(line).unwrap();
        let t = row["text"].as_str().unwrap();
        let want: Vec<u32> = serde_json::from_value(row["ids"].clone()).unwrap();
        let got = tok.encode(t);
        if got != want {
            mismatches.push(format!("line {}: {t:?}: ours {got:?}, T5Tokenizer {want:?}", i + 1));
        }
        let decoded = tok.decode(&want);
        if decoded != row["decoded"].as_str().unwrap() {
            mismatches.push(format!("line {}: decode {decoded:?} != {:?}", i + 1, row["decoded"]));
        }
        lines += 1;
    }
    assert!(lines >= 1000, "only {lines} golden lines");
    assert!(mismatches.is_empty(), "{} mismatches:\n{}", mismatches.len(), mismatches.join("\n"));
}

#[test]
fn committed_model_is_what_the_trainer_writes_and_training_is_deterministic() {
    let out = temp_dir("fresh");
    let first = train_files(&[train_txt()], &options(VOCAB)).unwrap();
    first.save(&out).unwrap();
    for name in ["spiece.model", "tokenizer_config.json", "special_tokens_map.json"] {
        let fresh = std::fs::read(out.join(name)).unwrap();
        let committed = std::fs::read(golden_dir().join(name)).unwrap();
        assert!(fresh == committed, "{name} differs from fixtures/golden/tokenizer_trained (regenerate, see fixtures/README.md)");
    }
    // Same input, same process, another run: same bytes (the committed file
    // came from another process, with other hash seeds).
    let second = train_files(&[train_txt()], &options(VOCAB)).unwrap();
    assert!(first.spiece_model() == second.spiece_model());
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn jsonl_text_lines_train_the_same_model_as_plain_text() {
    let dir = temp_dir("jsonl");
    let jsonl = dir.join("train.jsonl");
    let lines: Vec<String> = std::fs::read_to_string(train_txt())
        .unwrap()
        .lines()
        .map(|l| serde_json::json!({ "text": l }).to_string())
        .collect();
    std::fs::write(&jsonl, lines.join("\n")).unwrap();
    let from_jsonl = train_files(&[jsonl], &options(VOCAB)).unwrap();
    let committed = std::fs::read(golden_dir().join("spiece.model")).unwrap();
    assert!(from_jsonl.spiece_model() == committed.as_slice());
    // `--format jsonl` reads JSONL whatever the file is called.
    let renamed = dir.join("train_jsonl.txt");
    std::fs::rename(dir.join("train.jsonl"), &renamed).unwrap();
    let forced = TrainOptions { input_format: InputFormat::Jsonl, ..options(VOCAB) };
    let from_forced = train_files(&[renamed], &forced).unwrap();
    assert!(from_forced.spiece_model() == committed.as_slice());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn t5_layout_of_specials_and_extra_ids() {
    let tok = fresh_tokenizer();
    let n = VOCAB;
    assert_eq!(tok.len(), (n + 100) as usize);
    assert_eq!((tok.pad_id(), tok.eos_id(), tok.unk_id()), (0, 1, 2));
    assert_eq!(tok.token_to_id("<pad>"), Some(0));
    assert_eq!(tok.token_to_id("</s>"), Some(1));
    assert_eq!(tok.token_to_id("<unk>"), Some(2));
    assert_eq!(tok.token_to_id("<extra_id_0>"), Some(n + 99));
    assert_eq!(tok.token_to_id("<extra_id_99>"), Some(n));
    assert_eq!(tok.id_to_token(n + 77).as_deref(), Some("<extra_id_22>"));
    assert_eq!(tok.id_to_token(3).map(|p| p.is_empty()), Some(false));
    // Special tokens in text are split out with T5Tokenizer's ids.
    assert_eq!(tok.encode("<extra_id_0></s>"), vec![n + 99, 1]);

    // The config files carry what transformers 4.13 writes for T5 (the
    // hand-made fixture tokenizer's files came from save_pretrained itself).
    let read = |dir: &Path, f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    let reference = fixtures().join("golden/tokenizer");
    assert_eq!(read(fresh_dir(), "special_tokens_map.json"), read(&reference, "special_tokens_map.json"));
    let mut ours: Value = serde_json::from_str(&read(fresh_dir(), "tokenizer_config.json")).unwrap();
    let mut theirs: Value = serde_json::from_str(&read(&reference, "tokenizer_config.json")).unwrap();
    ours.as_object_mut().unwrap().remove("name_or_path");
    theirs.as_object_mut().unwrap().remove("name_or_path");
    assert_eq!(ours, theirs);
}

#[test]
fn normalizer_flags_and_nfkc_are_honoured() {
    let tok = fresh_tokenizer();
    // add_dummy_prefix: text starts with `▁`, as after a space (T5's "▁我" pieces).
    for text in ["我", "今天天气很好", "Python"] {
        let first = tok.id_to_token(tok.encode(text)[0]).unwrap();
        assert!(first.starts_with('\u{2581}'), "{text:?} starts with {first:?}");
    }
    // remove_extra_whitespaces: outer spaces dropped, runs collapsed.
    assert_eq!(tok.encode("  今天   天气  "), tok.encode("今天 天气"));
    // nmt_nfkc: full-width forms, ideographic space and tabs normalize like T5's.
    assert_eq!(tok.encode("ＡＢＣ１２３，"), tok.encode("ABC123,"));
    assert_eq!(tok.encode("今天\u{3000}天气"), tok.encode("今天 天气"));
    assert_eq!(tok.encode("今天\t天气"), tok.encode("今天 天气"));
    // escape_whitespaces: the space is the piece prefix `▁`, so it decodes back.
    assert_eq!(tok.decode(&tok.encode("今天 天气")), "今天 天气");
}

#[test]
fn whitespace_mapping_round_trips() {
    let tok = fresh_tokenizer();
    // Texts of characters the model knows (no <unk>), already NFKC.
    for text in [
        "今天天气很好\n我们一起去公园",
        "北京\t上海\n中国\t2024",
        "我们来聊聊  旅游吧  你们最近",
        "你好!\n请问有什么可以帮你的吗?",
        "今天天气很好\n\n我们去公园\t\t散步",
    ] {
        let ids = tok.encode(&t5_whitespace_mapping(text));
        assert_eq!(tok.decode(&ids), text, "ids {ids:?}");
    }
}

#[test]
fn every_kept_character_is_a_piece_and_dropped_ones_are_unk() {
    let trained = train_files(&[train_txt()], &options(VOCAB)).unwrap();
    // The freshly trained model, loaded as the engine loads it.
    let dir = temp_dir("alphabet");
    trained.save(&dir).unwrap();
    let tok = Tokenizer::from_dir(&dir).unwrap();
    let kept = trained.kept_chars();
    assert_eq!(kept.len(), trained.report().kept_chars);
    assert!(kept.len() > 500, "{} kept characters", kept.len());
    for &c in kept {
        let ids = tok.encode(&c.to_string());
        assert!(!ids.contains(&2), "kept character {c:?} encodes with <unk>: {ids:?}");
        // The character itself (after `▁`) is one piece.
        assert!(ids.len() <= 3, "{c:?} → {ids:?}");
    }
    let dropped = trained.dropped_chars();
    assert!(!dropped.is_empty(), "coverage 0.9995 should drop rare characters of train.txt");
    for &c in dropped {
        assert!(tok.encode(&c.to_string()).contains(&2), "dropped {c:?} is not <unk>");
    }
    let r = trained.report();
    assert!(r.coverage >= 0.9995 && r.coverage < 1.0, "{r:?}");
    assert_eq!(r.alphabet, kept.len() + dropped.len());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn chinese_pieces_span_several_characters() {
    let trained = train_files(&[train_txt()], &options(VOCAB)).unwrap();
    let r = trained.report();
    assert!(r.multi_char_pieces > 400, "{r:?}");
    let tok = fresh_tokenizer();
    // Frequent words of train.txt are single pieces, not one per character.
    let text = "我们来聊聊旅游吧，你们最近在用Python，特别兴奋。";
    let ids = tok.encode(text);
    assert!(ids.len() < text.chars().count() * 3 / 4, "{ids:?}");
    let long_han = ids
        .iter()
        .filter_map(|&id| tok.id_to_token(id))
        .filter(|p| p.chars().filter(|c| ('\u{4E00}'..='\u{9FFF}').contains(c)).count() >= 2)
        .count();
    assert!(long_han >= 3, "{ids:?}");
}

#[test]
fn identity_normalization_keeps_characters() {
    let text = "ＡＢＣ全角字母\nABC半角字母\n全角ＡＢＣ";
    // The smallest vocabularies: kept characters (▁ included) + 3 special pieces.
    let trained = train_sentences([text], &TrainOptions {
        vocab_size: 15,
        character_coverage: 1.0,
        normalization: Normalization::Identity,
        ..TrainOptions::default()
    })
    .unwrap();
    assert!(trained.kept_chars().contains(&'Ａ'));
    let nfkc = train_sentences([text], &TrainOptions {
        vocab_size: 12,
        character_coverage: 1.0,
        ..TrainOptions::default()
    })
    .unwrap();
    assert!(!nfkc.kept_chars().contains(&'Ａ'));
    assert!(nfkc.kept_chars().contains(&'A'));
}

fn err(r: Result<chatplug_tokenizer::train::TrainedTokenizer, TrainError>) -> String {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn clear_errors() {
    let dir = temp_dir("errors");
    let missing = dir.join("missing.txt");
    let msg = err(train_files(&[train_txt(), missing.clone()], &options(VOCAB)));
    assert!(msg.contains(&missing.display().to_string()) && msg.starts_with("cannot read"), "{msg}");

    let empty = dir.join("empty.txt");
    std::fs::write(&empty, "\n   \n\t\n").unwrap();
    let msg = err(train_files(std::slice::from_ref(&empty), &options(VOCAB)));
    assert!(msg.contains("no training text") && msg.contains(&empty.display().to_string()), "{msg}");

    let msg = err(train_files(&[train_txt()], &options(100)));
    assert!(msg.contains("vocab size 100 is too small") && msg.contains("kept characters"), "{msg}");

    let msg = err(train_files(&[train_txt()], &options(60000)));
    assert!(msg.contains("vocab size 60000 is too large"), "{msg}");

    let bad = dir.join("bad.jsonl");
    std::fs::write(&bad, "{\"text\": \"好\"}\nnot json\n").unwrap();
    let msg = err(train_files(std::slice::from_ref(&bad), &options(VOCAB)));
    assert!(msg.contains(&format!("{}:2: not valid JSON", bad.display())), "{msg}");

    let msg = err(train_files(&[train_txt()], &TrainOptions { character_coverage: 1.5, ..options(VOCAB) }));
    assert!(msg.contains("--character-coverage"), "{msg}");
    let msg = err(train_files(&[train_txt()], &TrainOptions { max_piece_length: 0, ..options(VOCAB) }));
    assert!(msg.contains("--max-piece-length"), "{msg}");

    // An output path below a regular file cannot be created (even as root).
    let trained = train_sentences(["你好世界", "你好"], &TrainOptions { vocab_size: 8, ..TrainOptions::default() }).unwrap();
    let blocker = dir.join("file");
    std::fs::write(&blocker, "x").unwrap();
    let out = blocker.join("out");
    let msg = trained.save(&out).unwrap_err().to_string();
    assert!(msg.starts_with("cannot write") && msg.contains(&out.display().to_string()), "{msg}");
    std::fs::remove_dir_all(&dir).ok();
}
