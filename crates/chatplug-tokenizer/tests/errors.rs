//! Loading errors must be clear and name the offending file.

use std::path::{Path, PathBuf};

use chatplug_tokenizer::{Tokenizer, TokenizerError};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/golden")
}

/// A fresh empty directory under the system temp dir.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chatplug-tok-err-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn err_of(r: Result<Tokenizer, TokenizerError>) -> TokenizerError {
    match r {
        Ok(t) => panic!("expected an error, got {t:?}"),
        Err(e) => e,
    }
}

fn assert_mentions(e: &TokenizerError, path: &Path, words: &[&str]) {
    let msg = e.to_string();
    assert!(
        msg.contains(&path.display().to_string()),
        "{msg:?} does not name {}",
        path.display()
    );
    for w in words {
        assert!(msg.contains(w), "{msg:?} does not mention {w:?}");
    }
}

/// Hand-encoded protobuf helpers.
fn field_bytes(tag: u32, data: &[u8]) -> Vec<u8> {
    let mut v = vec![((tag << 3) | 2) as u8];
    v.push(data.len() as u8);
    v.extend_from_slice(data);
    v
}
fn field_varint(tag: u32, value: u8) -> Vec<u8> {
    vec![(tag << 3) as u8, value]
}
fn piece(s: &str, ty: u8) -> Vec<u8> {
    let mut p = field_bytes(1, s.as_bytes());
    p.extend(field_varint(3, ty));
    field_bytes(1, &p)
}

#[test]
fn missing_directory_and_files() {
    let missing = std::env::temp_dir().join("chatplug-tok-definitely-missing-dir");
    let e = err_of(Tokenizer::from_dir(&missing));
    assert!(matches!(e, TokenizerError::Io { .. }), "{e:?}");
    assert_mentions(&e, &missing, &[]);

    let empty = temp_dir("empty");
    let e = err_of(Tokenizer::from_dir(&empty));
    assert!(matches!(e, TokenizerError::NotFound { .. }), "{e:?}");
    assert_mentions(&e, &empty, &["spiece.model", "tokenizer.json"]);

    let f = empty.join("spiece.model");
    let e = err_of(Tokenizer::from_spiece_file(&f));
    assert!(matches!(e, TokenizerError::Io { .. }), "{e:?}");
    assert_mentions(&e, &f, &[]);

    let f = empty.join("tokenizer.json");
    let e = err_of(Tokenizer::from_tokenizer_json(&f));
    assert!(matches!(e, TokenizerError::Io { .. }), "{e:?}");
    assert_mentions(&e, &f, &[]);
    std::fs::remove_dir_all(&empty).ok();
}

#[test]
fn corrupt_spiece_model() {
    let dir = temp_dir("corrupt");
    let f = dir.join("spiece.model");

    // Not protobuf at all.
    std::fs::write(&f, b"\xff\xff\xff\xff this is not a protobuf").unwrap();
    let e = err_of(Tokenizer::from_spiece_file(&f));
    assert!(matches!(e, TokenizerError::Protobuf { .. }), "{e:?}");
    assert_mentions(&e, &f, &["SentencePiece"]);

    // Truncated real model.
    let real = std::fs::read(fixtures().join("tokenizer/spiece.model")).unwrap();
    std::fs::write(&f, &real[..real.len() / 2]).unwrap();
    let e = err_of(Tokenizer::from_spiece_file(&f));
    assert_mentions(&e, &f, &[]);

    // Empty file: decodes to an empty ModelProto.
    std::fs::write(&f, b"").unwrap();
    let e = err_of(Tokenizer::from_spiece_file(&f));
    assert!(matches!(e, TokenizerError::InvalidModel { .. }), "{e:?}");
    assert_mentions(&e, &f, &["no pieces"]);

    // A tokenizer.json given as spiece.model.
    std::fs::copy(fixtures().join("tokenizer_fast/tokenizer.json"), &f).unwrap();
    let e = err_of(Tokenizer::from_dir(&dir));
    assert_mentions(&e, &f, &[]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn unsupported_or_invalid_models() {
    let dir = temp_dir("unsupported");
    let f = dir.join("spiece.model");
    let pieces = [piece("<unk>", 2), piece("a", 1)].concat();

    // BPE model.
    let bpe = [pieces.clone(), field_bytes(2, &field_varint(3, 2))].concat();
    std::fs::write(&f, bpe).unwrap();
    let e = err_of(Tokenizer::from_spiece_file(&f));
    assert_mentions(&e, &f, &["BPE", "UNIGRAM"]);

    // WORD / CHAR models.
    for (ty, name) in [(3u8, "WORD"), (4, "CHAR")] {
        std::fs::write(
            &f,
            [pieces.clone(), field_bytes(2, &field_varint(3, ty))].concat(),
        )
        .unwrap();
        let e = err_of(Tokenizer::from_spiece_file(&f));
        assert_mentions(&e, &f, &[name]);
    }

    // No <unk> piece.
    std::fs::write(&f, piece("a", 1)).unwrap();
    let e = err_of(Tokenizer::from_spiece_file(&f));
    assert_mentions(&e, &f, &["UNKNOWN"]);

    // Duplicate piece.
    std::fs::write(&f, [pieces.clone(), piece("a", 1)].concat()).unwrap();
    let e = err_of(Tokenizer::from_spiece_file(&f));
    assert_mentions(&e, &f, &["\"a\"", "twice"]);

    // Broken precompiled charsmap (trie size larger than the blob).
    let ns = field_bytes(2, &[0xff, 0xff, 0, 0, 1, 2, 3]);
    std::fs::write(&f, [pieces.clone(), field_bytes(3, &ns)].concat()).unwrap();
    let e = err_of(Tokenizer::from_spiece_file(&f));
    assert_mentions(&e, &f, &["precompiled_charsmap"]);

    // A minimal valid model works (sanity check of the hand encoding).
    std::fs::write(&f, [pieces, piece("</s>", 3), piece("<pad>", 3)].concat()).unwrap();
    let tok = Tokenizer::from_spiece_file(&f).unwrap();
    assert_eq!(tok.len(), 104);
    assert_eq!((tok.unk_id(), tok.eos_id(), tok.pad_id()), (0, 2, 3));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn corrupt_config_files() {
    let dir = temp_dir("config");
    std::fs::copy(
        fixtures().join("tokenizer/spiece.model"),
        dir.join("spiece.model"),
    )
    .unwrap();

    let f = dir.join("tokenizer_config.json");
    std::fs::write(&f, "{ not json").unwrap();
    let e = err_of(Tokenizer::from_dir(&dir));
    assert!(matches!(e, TokenizerError::Json { .. }), "{e:?}");
    assert_mentions(&e, &f, &["JSON"]);

    std::fs::write(
        &f,
        r#"{"extra_ids": 100, "additional_special_tokens": ["<extra_id_0>"]}"#,
    )
    .unwrap();
    let e = err_of(Tokenizer::from_dir(&dir));
    assert!(matches!(e, TokenizerError::Config { .. }), "{e:?}");
    assert_mentions(&e, &f, &["extra_ids"]);

    std::fs::write(&f, r#"{"eos_token": 5}"#).unwrap();
    let e = err_of(Tokenizer::from_dir(&dir));
    assert_mentions(&e, &f, &["eos_token"]);
    std::fs::remove_file(&f).unwrap();

    let f = dir.join("special_tokens_map.json");
    std::fs::write(&f, r#"["a list"]"#).unwrap();
    let e = err_of(Tokenizer::from_dir(&dir));
    assert_mentions(&e, &f, &["object"]);
    std::fs::remove_file(&f).unwrap();

    let f = dir.join("added_tokens.json");
    std::fs::write(&f, r#"{"<new>": 7}"#).unwrap();
    let e = err_of(Tokenizer::from_dir(&dir));
    assert_mentions(&e, &f, &["<new>", "1600", "7"]);
    std::fs::remove_file(&f).unwrap();

    // Valid again after removing the broken files.
    assert_eq!(Tokenizer::from_dir(&dir).unwrap().len(), 1600);
    std::fs::remove_dir_all(&dir).ok();
}

/// Added-token tables that contradict the vocabulary: a token at an id that holds
/// another token, a gap after the last id, a token that already has another id.
/// Entries at a token's own id (transformers >= 4.34 lists `<extra_id_N>`,
/// `<pad>`, `</s>`, `<unk>` that way) and at the next free id load.
#[test]
fn added_token_conflicts() {
    let dir = temp_dir("added");
    std::fs::copy(
        fixtures().join("tokenizer/spiece.model"),
        dir.join("spiece.model"),
    )
    .unwrap();
    let at = dir.join("added_tokens.json");
    let bad = |json: &str, words: &[&str]| {
        std::fs::write(&at, json).unwrap();
        let e = err_of(Tokenizer::from_dir(&dir));
        assert!(matches!(e, TokenizerError::Config { .. }), "{e:?}");
        assert_mentions(&e, &at, words);
    };
    // An id that holds a different piece / extra id / added token.
    bad(r#"{"<new>": 5}"#, &["\"<new>\"", "id 5", "1600"]);
    bad(
        r#"{"<extra_id_0>": 1599, "<extra_id_1>": 1599}"#,
        &["\"<extra_id_1>\"", "1599", "\"<extra_id_0>\""],
    );
    bad(
        r#"{"<a>": 1600, "<b>": 1600}"#,
        &["\"<b>\"", "1600", "\"<a>\""],
    );
    // A gap: an id beyond the current length.
    bad(r#"{"<new>": 1601}"#, &["\"<new>\"", "1601", "1600"]);
    bad(
        r#"{"<a>": 1600, "<b>": 1602}"#,
        &["\"<b>\"", "1602", "1601"],
    );
    // A token already in the vocabulary listed at the next free id.
    bad(
        r#"{"<extra_id_0>": 1600}"#,
        &["\"<extra_id_0>\"", "1600", "1599"],
    );
    bad(r#"{"</s>": 1600}"#, &["\"</s>\"", "1600", "id 1"]);

    // Consistent tables load: existing ids add nothing, the next free id adds.
    std::fs::write(
        &at,
        r#"{"<extra_id_0>": 1599, "</s>": 1, "<a>": 1600, "<b>": 1601}"#,
    )
    .unwrap();
    let tok = Tokenizer::from_dir(&dir).unwrap();
    assert_eq!(tok.len(), 1602);
    assert_eq!(tok.token_to_id("<b>"), Some(1601));
    assert_eq!(
        tok.encode("x<b>y<extra_id_0>"),
        tok.encode("x <b> y <extra_id_0>")
    );
    std::fs::remove_file(&at).unwrap();

    // The same rules for tokenizer_config.json's added_tokens_decoder.
    let tc = dir.join("tokenizer_config.json");
    let entry = |content: &str| {
        format!(
            r#"{{"content": "{content}", "lstrip": false, "normalized": false, "rstrip": false, "single_word": false, "special": true}}"#
        )
    };
    let bad_tc = |decoder: &str, words: &[&str]| {
        std::fs::write(
            &tc,
            format!(r#"{{"extra_ids": 100, "added_tokens_decoder": {decoder}}}"#),
        )
        .unwrap();
        let e = err_of(Tokenizer::from_dir(&dir));
        assert!(matches!(e, TokenizerError::Config { .. }), "{e:?}");
        assert_mentions(&e, &tc, &[&["added_tokens_decoder"], words].concat());
    };
    bad_tc(
        &format!(r#"{{"2": {}}}"#, entry("<new>")),
        &["\"<new>\"", "id 2", "\"<unk>\""],
    );
    bad_tc(
        &format!(r#"{{"1599": {}}}"#, entry("<extra_id_1>")),
        &["\"<extra_id_1>\"", "1599", "\"<extra_id_0>\""],
    );
    bad_tc(
        &format!(r#"{{"1700": {}}}"#, entry("<new>")),
        &["\"<new>\"", "1700", "1600"],
    );
    bad_tc(&format!(r#"{{"x": {}}}"#, entry("<new>")), &["\"x\""]);
    bad_tc(r#"{"1600": "<new>"}"#, &["1600", "AddedToken"]);
    bad_tc(r#"[1, 2]"#, &["object"]);
    bad_tc(
        r#"{"1600": {"content": "<new>", "single_word": true}}"#,
        &["<new>", "single_word"],
    );

    // As in transformers, a tokenizer_config.json with added_tokens_decoder makes
    // added_tokens.json (and special_tokens_map.json) unused.
    std::fs::write(
        &tc,
        format!(
            r#"{{"extra_ids": 100, "added_tokens_decoder": {{"1599": {}, "1600": {}}}}}"#,
            entry("<extra_id_0>"),
            entry("<a>")
        ),
    )
    .unwrap();
    std::fs::write(&at, r#"{"<new>": 5}"#).unwrap();
    let tok = Tokenizer::from_dir(&dir).unwrap();
    assert_eq!(tok.len(), 1601);
    assert_eq!(tok.token_to_id("<a>"), Some(1600));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn corrupt_tokenizer_json() {
    let dir = temp_dir("json");
    let f = dir.join("tokenizer.json");
    std::fs::write(&f, r#"{"model": {"type": "Nope"}}"#).unwrap();
    let e = err_of(Tokenizer::from_dir(&dir));
    assert!(matches!(e, TokenizerError::TokenizerJson { .. }), "{e:?}");
    assert_mentions(&e, &f, &["tokenizer.json"]);
    std::fs::write(&f, "garbage").unwrap();
    let e = err_of(Tokenizer::from_tokenizer_json(&f));
    assert_mentions(&e, &f, &[]);
    // A Precompiled normalizer whose charsmap is not a string makes the tokenizers
    // crate panic (found by fuzzing): an error naming the file, not a crash.
    std::fs::write(&f, r#"{"normalizer": {"type": "Precompiled", "precompiled_charsmap": 5}}"#).unwrap();
    let e = err_of(Tokenizer::from_tokenizer_json(&f));
    assert!(matches!(e, TokenizerError::TokenizerJson { .. }), "{e:?}");
    assert_mentions(&e, &f, &["normalizer"]);
    std::fs::remove_dir_all(&dir).ok();
}
