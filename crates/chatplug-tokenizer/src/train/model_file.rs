//! The files of a trained tokenizer directory, laid out as T5/mT5's:
//!
//! * `spiece.model`: a sentencepiece `ModelProto` (unigram) with `<pad>` = 0,
//!   `</s>` = 1 (both CONTROL), `<unk>` = 2 (UNKNOWN), then the learned pieces
//!   by decreasing score; no `<s>`;
//! * `tokenizer_config.json` and `special_tokens_map.json` with the content
//!   transformers 4.13 `T5Tokenizer(extra_ids=100).save_pretrained()` writes.
//!   The 100 `<extra_id_N>` tokens are not pieces: T5Tokenizer numbers them
//!   after the pieces, `<extra_id_0>` last.

use std::path::Path;

use prost::Message;

use super::unigram::LearnedPiece;
use super::{Normalization, TrainError, TrainOptions};
use crate::proto::{ModelProto, NormalizerSpec, SentencePiece, TrainerSpec};

/// `SentencePiece.Type` values written here.
const TYPE_UNKNOWN: i32 = 2;
const TYPE_CONTROL: i32 = 3;

/// The special pieces in T5's order, and T5Tokenizer's extra ids.
pub const PAD: &str = "<pad>";
pub const EOS: &str = "</s>";
pub const UNK: &str = "<unk>";
pub const EXTRA_IDS: u32 = 100;

/// sentencepiece 0.1.99's built-in `nmt_nfkc` rule (what T5 and mT5 use):
/// NFKC, control characters removed, every Unicode space mapped to " ".
/// Copied out of a model that the `sentencepiece` PyPI package trained (see
/// `data/ATTRIBUTION`); `fixtures/make_tokenizer_train_golden.py` checks it.
pub const NMT_NFKC_CHARSMAP: &[u8] = include_bytes!("../../data/nmt_nfkc.charsmap");

/// The normalizer spec for a choice: T5's flags (dummy prefix, collapse and
/// trim spaces, escape them as `▁`) with the chosen character map.
pub fn normalizer_spec(normalization: Normalization) -> NormalizerSpec {
    let (name, charsmap) = match normalization {
        Normalization::NmtNfkc => ("nmt_nfkc", NMT_NFKC_CHARSMAP.to_vec()),
        Normalization::Identity => ("identity", Vec::new()),
    };
    NormalizerSpec {
        name: Some(name.to_string()),
        precompiled_charsmap: Some(charsmap),
        add_dummy_prefix: Some(true),
        remove_extra_whitespaces: Some(true),
        escape_whitespaces: Some(true),
        normalization_rule_tsv: None,
    }
}

/// Serializes `spiece.model`.
pub fn spiece_model(pieces: &[LearnedPiece], options: &TrainOptions) -> Vec<u8> {
    let special = |piece: &str, kind: i32| SentencePiece {
        piece: Some(piece.to_string()),
        score: Some(0.0),
        r#type: Some(kind),
    };
    let mut all = Vec::with_capacity(pieces.len() + 3);
    all.push(special(PAD, TYPE_CONTROL));
    all.push(special(EOS, TYPE_CONTROL));
    all.push(special(UNK, TYPE_UNKNOWN));
    all.extend(pieces.iter().map(|p| SentencePiece {
        piece: Some(p.piece.clone()),
        score: Some(p.score),
        // NORMAL is the proto2 default; sentencepiece leaves it unset too.
        r#type: None,
    }));
    let trainer_spec = TrainerSpec {
        model_type: Some(1), // UNIGRAM
        vocab_size: Some(all.len() as i32),
        character_coverage: Some(options.character_coverage as f32),
        max_sentencepiece_length: Some(options.max_piece_length as i32),
        treat_whitespace_as_suffix: None,
        byte_fallback: None,
        unk_id: Some(2),
        bos_id: Some(-1),
        eos_id: Some(1),
        pad_id: Some(0),
        unk_surface: None,
        unk_piece: Some(UNK.to_string()),
        eos_piece: Some(EOS.to_string()),
        pad_piece: Some(PAD.to_string()),
    };
    ModelProto {
        pieces: all,
        trainer_spec: Some(trainer_spec),
        normalizer_spec: Some(normalizer_spec(options.normalization)),
        denormalizer_spec: None,
    }
    .encode_to_vec()
}

fn extra_id_list() -> String {
    let items: Vec<String> = (0..EXTRA_IDS).map(|i| format!("\"<extra_id_{i}>\"")).collect();
    format!("[{}]", items.join(", "))
}

/// `special_tokens_map.json` exactly as transformers 4.13 writes it for T5
/// (Python `json.dumps` spacing).
pub fn special_tokens_map_json() -> String {
    format!(
        "{{\"eos_token\": \"{EOS}\", \"unk_token\": \"{UNK}\", \"pad_token\": \"{PAD}\", \"additional_special_tokens\": {}}}",
        extra_id_list()
    )
}

/// `tokenizer_config.json` as transformers 4.13 writes it for T5; the
/// `name_or_path` it records is fixed so the bytes do not depend on `--out`.
pub fn tokenizer_config_json() -> String {
    format!(
        "{{\"eos_token\": \"{EOS}\", \"unk_token\": \"{UNK}\", \"pad_token\": \"{PAD}\", \"extra_ids\": {EXTRA_IDS}, \"additional_special_tokens\": {}, \"sp_model_kwargs\": {{}}, \"tokenizer_class\": \"T5Tokenizer\", \"name_or_path\": \"chatplug-tokenizer-train\"}}",
        extra_id_list()
    )
}

/// Writes the three files into `dir` (created if missing). Each file is
/// written to a temporary name first and renamed, so an interrupted run never
/// leaves a truncated `spiece.model` behind.
pub fn save(dir: &Path, spiece: &[u8]) -> Result<(), TrainError> {
    std::fs::create_dir_all(dir).map_err(|source| TrainError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let config = tokenizer_config_json();
    let special = special_tokens_map_json();
    let files: [(&str, &[u8]); 3] = [
        ("spiece.model", spiece),
        ("tokenizer_config.json", config.as_bytes()),
        ("special_tokens_map.json", special.as_bytes()),
    ];
    for (name, bytes) in files {
        let path = dir.join(name);
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, bytes)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|source| {
                let _ = std::fs::remove_file(&tmp);
                TrainError::Write { path, source }
            })?;
    }
    Ok(())
}
