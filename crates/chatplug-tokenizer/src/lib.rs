//! Tokenization for ChatPLUG: mT5 SentencePiece (ChatPLUG-3.7B, below) and BERT
//! WordPiece ([`BertTokenizer`], ChatPLUG-240M).
//!
//! The mT5 tokenizer has two backends behind one [`Tokenizer`] type:
//!
//! * **`spiece.model`** (preferred): a from-scratch reimplementation of the
//!   SentencePiece unigram encoder (sentencepiece 0.1.99: precompiled-charsmap
//!   normalizer, optimized Viterbi, merge of consecutive unknown pieces) plus the
//!   slow `T5Tokenizer` layer of transformers 4.13.0 (special-token splitting with
//!   whitespace stripping, `<extra_id_N>` ids, EOS handling). Ids match
//!   `T5Tokenizer.from_pretrained(dir)(text)["input_ids"]` exactly.
//! * **`tokenizer.json`**: delegated to the `tokenizers` crate (ids match
//!   `T5TokenizerFast`, which differ from the slow tokenizer in a few corner
//!   cases, e.g. a second `</s>` is appended after text ending with `</s>`).
//!
//! [`Tokenizer::decode`] implements ChatPLUG's decode: the ids are split at the
//! whitespace-mapping tokens (`<extra_id_22>` → `"\n"`, `<extra_id_33>` → `"\t"`,
//! `<extra_id_23>` → two spaces), each segment is decoded like transformers 4.13
//! `decode(segment, skip_special_tokens=True)`, and the segments are joined.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

mod hf;
mod proto;
mod spm;
pub mod train;
mod wordpiece;

pub use wordpiece::{plug_whitespace_mapping, BertTokenizer};

use hf::{clean_up_tokenization, py_lstrip, py_rstrip, py_strip, HfConfig, SplitTrie};
use proto::PieceType;
use spm::{EncodedPiece, SpModel};

const SPACE_SYMBOL: char = '\u{2581}';

/// Errors while loading a tokenizer. Every variant names the offending file.
#[derive(Debug, thiserror::Error)]
pub enum TokenizerError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a valid SentencePiece model (protobuf decoding failed: {source})")]
    Protobuf {
        path: PathBuf,
        source: prost::DecodeError,
    },
    #[error("{path} is not a usable SentencePiece model: {message}")]
    InvalidModel { path: PathBuf, message: String },
    #[error("{path} is not valid JSON: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path}: invalid tokenizer configuration: {message}")]
    Config { path: PathBuf, message: String },
    #[error("{path}: cannot load tokenizer.json: {message}")]
    TokenizerJson { path: PathBuf, message: String },
    #[error("no tokenizer in {dir}: expected spiece.model (preferred) or tokenizer.json")]
    NotFound { dir: PathBuf },
}

/// ChatPLUG's T5 whitespace mapping: `"\n"` → `"▁<extra_id_22>"`, `"\t"` →
/// `"▁<extra_id_33>"`, `"  "` → `"▁<extra_id_23>"` (in that order, like Python
/// `str.replace` chains).
pub fn t5_whitespace_mapping(text: &str) -> String {
    text.replace('\n', "\u{2581}<extra_id_22>")
        .replace('\t', "\u{2581}<extra_id_33>")
        .replace("  ", "\u{2581}<extra_id_23>")
}

/// A T5/mT5 tokenizer (see the crate documentation).
pub struct Tokenizer {
    backend: Backend,
    /// `len(tokenizer)`.
    len: u32,
    pad_id: u32,
    eos_id: u32,
    unk_id: u32,
    /// Indexed by id (`< len`): skipped by `decode(..., skip_special_tokens=True)`.
    special_ids: Vec<bool>,
    /// `all_special_tokens` as strings.
    special_strings: HashSet<String>,
    /// Added (non-special) tokens by id: decoded as separate sub-texts.
    added_nonspecial: HashMap<u32, String>,
    /// Ids of `<extra_id_22>`, `<extra_id_33>`, `<extra_id_23>` and their text.
    ws_ids: Vec<(u32, &'static str)>,
}

enum Backend {
    Slow(Box<SlowT5>),
    Fast(Box<tokenizers::Tokenizer>),
}

/// SentencePiece model + transformers 4.13 `T5Tokenizer` state.
struct SlowT5 {
    sp: SpModel,
    /// `vocab_size` = pieces + extra_ids.
    vocab_size: u32,
    added_encoder: HashMap<String, u32>,
    added_decoder: HashMap<u32, String>,
    split_trie: SplitTrie,
    /// `unique_no_split_tokens` with their ids.
    no_split: HashMap<String, u32>,
    /// `(lstrip, rstrip)` of special tokens configured as `AddedToken`.
    strip_rules: HashMap<String, (bool, bool)>,
    eos_id: u32,
}

impl SlowT5 {
    /// `T5Tokenizer._convert_token_to_id_with_added_voc`; `None` for ids that
    /// are not representable (negative `<extra_id_N>` ids for huge N).
    fn convert_token(&self, token: &str) -> Option<i64> {
        if let Some(&id) = self.added_encoder.get(token) {
            return Some(id as i64);
        }
        if let Some(n) = parse_extra_id(token) {
            return Some(self.vocab_size as i64 - n - 1);
        }
        Some(self.sp.piece_to_id(token) as i64)
    }

    fn convert_token_u32(&self, token: &str) -> u32 {
        match self.convert_token(token) {
            Some(id) if id >= 0 && id <= u32::MAX as i64 => id as u32,
            _ => self.sp.unk_id,
        }
    }

    fn encode(&self, text: &str) -> Vec<u32> {
        let mut tokens = self.split_trie.split(text);
        // Whitespace stripping around no-split tokens (PreTrainedTokenizer.tokenize).
        for i in 0..tokens.len() {
            if !self.no_split.contains_key(tokens[i]) {
                continue;
            }
            let (lstrip, rstrip) = self
                .strip_rules
                .get(tokens[i])
                .copied()
                .unwrap_or((true, true));
            if rstrip && i + 1 < tokens.len() && !tokens[i + 1].is_empty() {
                tokens[i + 1] = py_lstrip(tokens[i + 1]);
            }
            if lstrip && i > 0 && !tokens[i - 1].is_empty() {
                tokens[i - 1] = py_rstrip(tokens[i - 1]);
            }
        }
        let mut ids = Vec::with_capacity(text.len() / 2 + 2);
        let mut normalized = Vec::new();
        let mut pieces: Vec<EncodedPiece> = Vec::new();
        for tok in tokens {
            if tok.is_empty() {
                continue;
            }
            if let Some(&id) = self.no_split.get(tok) {
                ids.push(id);
                continue;
            }
            self.sp.normalizer.normalize(tok, &mut normalized);
            self.sp.encode_normalized(&normalized, &mut pieces);
            let generic = !self.added_encoder.is_empty();
            for p in &pieces {
                let bytes = &normalized[p.start..p.end];
                if generic || p.id == self.sp.unk_id || bytes.starts_with(b"<extra_id_") {
                    // HF converts the piece *string* back to an id.
                    let id = match std::str::from_utf8(bytes) {
                        Ok(s) => self.convert_token_u32(s),
                        Err(_) => self.sp.unk_id,
                    };
                    ids.push(id);
                } else {
                    ids.push(p.id);
                }
            }
        }
        if ids.last() != Some(&self.eos_id) {
            ids.push(self.eos_id);
        }
        ids
    }

    /// `T5Tokenizer.convert_ids_to_tokens(id)`.
    fn id_to_token(&self, id: u32) -> Option<String> {
        if let Some(t) = self.added_decoder.get(&id) {
            return Some(t.clone());
        }
        if (id as usize) < self.sp.pieces.len() {
            Some(self.sp.pieces[id as usize].piece.clone())
        } else if id < self.vocab_size {
            Some(format!("<extra_id_{}>", self.vocab_size - 1 - id))
        } else {
            None
        }
    }

    /// `SentencePieceProcessor.decode_pieces` (sentencepiece 0.1.99).
    fn decode_pieces(&self, pieces: &[String], out: &mut String) {
        let mut text = String::new();
        for piece in pieces {
            let id = self.sp.piece_to_id(piece);
            let kind = self.sp.pieces[id as usize].kind;
            match kind {
                PieceType::Control => {}
                PieceType::Unknown => {
                    if self.sp.pieces[id as usize].piece == *piece {
                        text.push_str(&self.sp.unk_surface);
                    } else {
                        text.push_str(piece);
                    }
                }
                _ => {
                    let mut p = piece.as_str();
                    if text.is_empty() {
                        p = p.strip_prefix(SPACE_SYMBOL).unwrap_or(p);
                    }
                    push_replacing_space_symbol(&mut text, p);
                }
            }
        }
        out.push_str(&text);
    }
}

fn push_replacing_space_symbol(out: &mut String, piece: &str) {
    for c in piece.chars() {
        out.push(if c == SPACE_SYMBOL { ' ' } else { c });
    }
}

/// `re.match(r"<extra_id_(\d+)>", token)` for tokens starting with `<extra_id_`
/// (ASCII digits only).
fn parse_extra_id(token: &str) -> Option<i64> {
    let rest = token.strip_prefix("<extra_id_")?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || rest.as_bytes().get(digits) != Some(&b'>') {
        return None;
    }
    Some(rest[..digits].parse::<i64>().unwrap_or(i64::MAX / 2))
}

impl Tokenizer {
    /// Loads from a model directory: `spiece.model` (+ `tokenizer_config.json` /
    /// `special_tokens_map.json` / `added_tokens.json` if present) is preferred;
    /// otherwise `tokenizer.json`.
    ///
    /// Directories saved by transformers >= 4.34 load too: their
    /// `tokenizer_config.json` `added_tokens_decoder` is then the added-token table
    /// (with its lstrip/rstrip; `special_tokens_map.json` and `added_tokens.json`
    /// are not read, as in transformers). Entries of the table (either file) at the
    /// id their token already has (`<extra_id_N>`, `<pad>`, `</s>`, `<unk>`) add
    /// nothing; entries at the next free id add the token; a token at an id that
    /// holds another token, an id past the next free one, or a token that already
    /// has another id is a [`TokenizerError::Config`] naming the token and the file.
    pub fn from_dir(dir: &Path) -> Result<Tokenizer, TokenizerError> {
        if !dir.is_dir() {
            return Err(TokenizerError::Io {
                path: dir.to_path_buf(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "not a directory"),
            });
        }
        let spiece = dir.join("spiece.model");
        if spiece.is_file() {
            let cfg = HfConfig::from_dir(dir)?;
            let sp = load_spiece(&spiece)?;
            return Self::from_sp(sp, cfg, dir);
        }
        let tj = dir.join("tokenizer.json");
        if tj.is_file() {
            return Self::from_tokenizer_json(&tj);
        }
        Err(TokenizerError::NotFound {
            dir: dir.to_path_buf(),
        })
    }

    /// Loads a bare `spiece.model` with the T5 defaults (`</s>`, `<unk>`,
    /// `<pad>`, 100 extra ids), as `T5Tokenizer.from_pretrained` does for a
    /// directory holding only that file.
    pub fn from_spiece_file(path: &Path) -> Result<Tokenizer, TokenizerError> {
        let sp = load_spiece(path)?;
        Self::from_sp(sp, HfConfig::default(), path)
    }

    /// Loads a `tokenizer.json` (T5TokenizerFast) through the `tokenizers` crate.
    pub fn from_tokenizer_json(path: &Path) -> Result<Tokenizer, TokenizerError> {
        // Read first so that a missing file is an I/O error naming the path.
        let bytes = std::fs::read(path).map_err(|source| TokenizerError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let err = |m: String| TokenizerError::TokenizerJson {
            path: path.to_path_buf(),
            message: m,
        };
        // The `tokenizers` crate panics (`expect("Precompiled")`) on some malformed
        // normalizers instead of returning an error; found by fuzzing (issue 13).
        let tk = std::panic::catch_unwind(|| tokenizers::Tokenizer::from_bytes(&bytes))
            .map_err(|_| err("malformed tokenizer (the tokenizers crate could not read its normalizer)".into()))?
            .map_err(|e| err(e.to_string()))?;
        let len = tk.get_vocab_size(true) as u32;
        let need = |t: &str| {
            tk.token_to_id(t)
                .ok_or_else(|| err(format!("token {t:?} is not in the vocabulary")))
        };
        let pad_id = need("<pad>")?;
        let eos_id = need("</s>")?;
        let unk_id = need("<unk>")?;
        let mut special_ids = vec![false; len as usize];
        let mut special_strings = HashSet::new();
        let mut added_nonspecial = HashMap::new();
        for (id, t) in tk.get_added_tokens_decoder() {
            if t.special {
                if let Some(s) = special_ids.get_mut(id as usize) {
                    *s = true;
                }
                special_strings.insert(t.content.clone());
            } else if tokenizers::Model::token_to_id(tk.get_model(), &t.content).is_none() {
                added_nonspecial.insert(id, t.content.clone());
            }
        }
        let ws_ids = ws_ids(|t| tk.token_to_id(t));
        Ok(Tokenizer {
            backend: Backend::Fast(Box::new(tk)),
            len,
            pad_id,
            eos_id,
            unk_id,
            special_ids,
            special_strings,
            added_nonspecial,
            ws_ids,
        })
    }

    fn from_sp(sp: SpModel, cfg: HfConfig, cfg_path: &Path) -> Result<Tokenizer, TokenizerError> {
        let piece_size = sp.pieces.len() as u32;
        let vocab_size =
            piece_size
                .checked_add(cfg.extra_ids)
                .ok_or_else(|| TokenizerError::Config {
                    path: cfg_path.to_path_buf(),
                    message: "extra_ids too large".into(),
                })?;
        let mut t = SlowT5 {
            sp,
            vocab_size,
            added_encoder: HashMap::new(),
            added_decoder: HashMap::new(),
            split_trie: SplitTrie::new([]),
            no_split: HashMap::new(),
            strip_rules: HashMap::new(),
            eos_id: 0,
        };
        let specials = cfg.all_special_tokens_extended();
        let special_strings: Vec<String> = {
            let mut v: Vec<String> = Vec::new();
            for s in &specials {
                if !v.contains(&s.content) {
                    v.push(s.content.clone());
                }
            }
            v
        };
        let unk_token: Option<String> = cfg.attrs[2].as_ref().map(|t| t.content.clone());
        let mut no_split: Vec<String> = Vec::new();

        // PreTrainedTokenizer._add_tokens
        let add_tokens =
            |t: &mut SlowT5, no_split: &mut Vec<String>, new: &[String], special: bool| {
                let unk_conv = unk_token.as_deref().and_then(|u| t.convert_token(u));
                let mut to_add: Vec<String> = Vec::new();
                for tok in new {
                    if Some(tok.as_str()) != unk_token.as_deref()
                        && unk_conv.is_some()
                        && t.convert_token(tok) == unk_conv
                        && !to_add.contains(tok)
                    {
                        to_add.push(tok.clone());
                    }
                }
                let base = t.vocab_size + t.added_encoder.len() as u32;
                for (i, tok) in to_add.iter().enumerate() {
                    t.added_encoder.insert(tok.clone(), base + i as u32);
                    t.added_decoder.insert(base + i as u32, tok.clone());
                }
                for tok in if special { new } else { &to_add[..] } {
                    if !no_split.contains(tok) {
                        no_split.push(tok.clone());
                    }
                }
            };

        // The directory's added-token table, in id order. A token listed at the id
        // it already has (T5's `<extra_id_N>`, `<pad>`/`</s>`/`<unk>`, or a token
        // added by an earlier entry: transformers >= 4.34 lists them all) adds
        // nothing; a token at the next free id is added (transformers 4.13's
        // `added_tokens.json`); anything else contradicts the vocabulary.
        // Every listed token is matched whole (no-split), and its whitespace
        // stripping is the entry's: `added_tokens_decoder`'s lstrip/rstrip; for an
        // `added_tokens.json` entry at an existing id none (only transformers
        // >= 4.34 writes those, and it reads them as `AddedToken(lstrip=False,
        // rstrip=False)`); an `added_tokens.json` entry at a new id keeps
        // transformers 4.13's rules (set below from the special-token configs).
        for entry in &cfg.added_tokens {
            let tok = &entry.content;
            let index = entry.id;
            let cur_len = t.vocab_size + t.added_encoder.len() as u32;
            let special = special_strings.contains(tok);
            if index < cur_len {
                match t.id_to_token(index) {
                    Some(held) if held == *tok => {
                        if !no_split.contains(tok) {
                            no_split.push(tok.clone());
                        }
                        let rule = entry.strip.unwrap_or((false, false));
                        t.strip_rules.insert(tok.clone(), rule);
                        continue;
                    }
                    held => {
                        let held = held.map_or_else(|| "nothing".to_string(), |h| format!("{h:?}"));
                        return Err(added_token_error(
                            &cfg,
                            cfg_path,
                            format!(
                                "added token {tok:?} has id {index}, but id {index} is already {held} \
                                 (a new token must take the next free id, {cur_len})"
                            ),
                        ));
                    }
                }
            } else if index > cur_len {
                return Err(added_token_error(
                    &cfg,
                    cfg_path,
                    format!(
                        "non-consecutive added token {tok:?}: should have index {cur_len} but has index {index} \
                         (no token would have id {cur_len})"
                    ),
                ));
            } else {
                add_tokens(&mut t, &mut no_split, std::slice::from_ref(tok), special);
                if t.added_encoder.get(tok) != Some(&index) {
                    let have = t
                        .convert_token(tok)
                        .map_or_else(|| "another id".to_string(), |i| format!("id {i}"));
                    return Err(added_token_error(
                        &cfg,
                        cfg_path,
                        format!(
                            "added token {tok:?} has the new id {index}, but it is already in the vocabulary as {have}"
                        ),
                    ));
                }
            }
            if let Some(rule) = entry.strip {
                t.strip_rules.insert(tok.clone(), rule);
            }
        }
        // sanitize_special_tokens()
        add_tokens(&mut t, &mut no_split, &special_strings, true);

        for s in &specials {
            if let Some(rule) = s.added_token {
                // The added-token table's flags win (transformers >= 4.34 replaces
                // the special tokens by its AddedTokens).
                t.strip_rules.entry(s.content.clone()).or_insert(rule);
            }
        }
        t.split_trie = SplitTrie::new(no_split.iter().map(String::as_str));
        t.no_split = no_split
            .iter()
            .map(|s| (s.clone(), t.convert_token_u32(s)))
            .collect();

        let cfg_err = |m: &str| TokenizerError::Config {
            path: cfg_path.to_path_buf(),
            message: m.to_string(),
        };
        let eos = cfg.attrs[1]
            .as_ref()
            .ok_or_else(|| cfg_err("no eos_token configured"))?;
        let unk = cfg.attrs[2]
            .as_ref()
            .ok_or_else(|| cfg_err("no unk_token configured"))?;
        let pad = cfg.attrs[4]
            .as_ref()
            .ok_or_else(|| cfg_err("no pad_token configured"))?;
        let eos_id = t.convert_token_u32(&eos.content);
        let unk_id = t.convert_token_u32(&unk.content);
        let pad_id = t.convert_token_u32(&pad.content);
        t.eos_id = eos_id;

        let len = t.vocab_size + t.added_encoder.len() as u32;
        let mut special_ids = vec![false; len as usize];
        for s in &special_strings {
            if let Some(id) = t.convert_token(s) {
                if id >= 0 && (id as u64) < len as u64 {
                    special_ids[id as usize] = true;
                }
            }
        }
        let added_nonspecial: HashMap<u32, String> = t
            .added_decoder
            .iter()
            .filter(|(_, tok)| !special_strings.contains(tok))
            .map(|(&id, tok)| (id, tok.clone()))
            .collect();
        let ws_ids = ws_ids(|tok| {
            t.convert_token(tok)
                .filter(|&i| i >= 0 && i < len as i64)
                .map(|i| i as u32)
        });
        Ok(Tokenizer {
            backend: Backend::Slow(Box::new(t)),
            len,
            pad_id,
            eos_id,
            unk_id,
            special_ids,
            special_strings: special_strings.into_iter().collect(),
            added_nonspecial,
            ws_ids,
        })
    }

    /// Ids exactly as HF `tokenizer(text)["input_ids"]` (EOS appended unless the
    /// ids already end with EOS).
    pub fn encode(&self, text: &str) -> Vec<u32> {
        match &self.backend {
            Backend::Slow(t) => t.encode(text),
            Backend::Fast(tk) => match tk.encode_fast(text, true) {
                Ok(enc) => enc.get_ids().to_vec(),
                // The T5 pipeline has no failing step for valid UTF-8 input.
                Err(e) => panic!("tokenizers failed to encode: {e}"),
            },
        }
    }

    /// ChatPLUG decode: skip special tokens, reverse the whitespace mapping
    /// (segments separated by `<extra_id_22>`/`<extra_id_33>`/`<extra_id_23>`
    /// are decoded separately and joined with `"\n"`/`"\t"`/`"  "`). Ids outside
    /// the vocabulary are skipped.
    pub fn decode(&self, ids: &[u32]) -> String {
        let mut out = String::new();
        let mut seg_start = 0;
        for (i, &id) in ids.iter().enumerate() {
            if let Some(&(_, sep)) = self.ws_ids.iter().find(|(w, _)| *w == id) {
                out.push_str(&self.hf_decode(&ids[seg_start..i]));
                out.push_str(sep);
                seg_start = i + 1;
            }
        }
        out.push_str(&self.hf_decode(&ids[seg_start..]));
        out
    }

    /// transformers 4.13 `decode(ids, skip_special_tokens=True)` (with
    /// `clean_up_tokenization_spaces=True`), skipping out-of-range ids.
    fn hf_decode(&self, ids: &[u32]) -> String {
        let mut sub_texts: Vec<String> = Vec::new();
        let mut current: Vec<String> = Vec::new();
        for &id in ids {
            if id >= self.len || self.special_ids[id as usize] {
                continue;
            }
            let Some(token) = self.id_to_token(id) else {
                continue;
            };
            if self.added_nonspecial.contains_key(&id) {
                if !current.is_empty() {
                    sub_texts.push(self.convert_tokens_to_string(&current));
                    current.clear();
                }
                sub_texts.push(token);
            } else {
                current.push(token);
            }
        }
        if !current.is_empty() {
            sub_texts.push(self.convert_tokens_to_string(&current));
        }
        clean_up_tokenization(&sub_texts.join(" "))
    }

    /// `T5Tokenizer.convert_tokens_to_string`.
    fn convert_tokens_to_string(&self, tokens: &[String]) -> String {
        let mut out = String::new();
        let mut current: Vec<String> = Vec::new();
        for t in tokens {
            if self.special_strings.contains(t) {
                self.decode_pieces(&current, &mut out);
                out.push_str(t);
                out.push(' ');
                current.clear();
            } else {
                current.push(t.clone());
            }
        }
        self.decode_pieces(&current, &mut out);
        py_strip(&out).to_string()
    }

    fn decode_pieces(&self, pieces: &[String], out: &mut String) {
        match &self.backend {
            Backend::Slow(t) => t.decode_pieces(pieces, out),
            Backend::Fast(_) => {
                // No piece types in tokenizer.json: every piece is a normal one.
                let mut text = String::new();
                for p in pieces {
                    let mut p = p.as_str();
                    if text.is_empty() {
                        p = p.strip_prefix(SPACE_SYMBOL).unwrap_or(p);
                    }
                    push_replacing_space_symbol(&mut text, p);
                }
                out.push_str(&text);
            }
        }
    }

    /// `len(tokenizer)` in HF terms (sentencepiece pieces + extra ids + added
    /// tokens), e.g. 250100 for mT5.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Always false for a loaded tokenizer (it has at least `<unk>`).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn pad_id(&self) -> u32 {
        self.pad_id
    }

    pub fn eos_id(&self) -> u32 {
        self.eos_id
    }

    pub fn unk_id(&self) -> u32 {
        self.unk_id
    }

    /// Id of a token (a vocabulary piece, `<extra_id_N>` or an added token);
    /// `None` if the string is not a token of this vocabulary.
    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        match &self.backend {
            Backend::Slow(t) => {
                if let Some(&id) = t.added_encoder.get(token) {
                    return Some(id);
                }
                if let Some(n) = parse_extra_id(token) {
                    let id = t.vocab_size as i64 - n - 1;
                    // Only the canonical spelling of an existing extra id.
                    if id >= t.sp.pieces.len() as i64
                        && id < t.vocab_size as i64
                        && token == format!("<extra_id_{n}>")
                    {
                        return Some(id as u32);
                    }
                }
                t.sp.piece_to_id.get(token).copied()
            }
            Backend::Fast(tk) => tk.token_to_id(token),
        }
    }

    /// The token string of an id (`None` outside `0..len()`).
    pub fn id_to_token(&self, id: u32) -> Option<String> {
        if id >= self.len {
            return None;
        }
        match &self.backend {
            Backend::Slow(t) => t.id_to_token(id),
            Backend::Fast(tk) => tk.id_to_token(id),
        }
    }
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer")
            .field(
                "backend",
                &match self.backend {
                    Backend::Slow(_) => "spiece.model",
                    Backend::Fast(_) => "tokenizer.json",
                },
            )
            .field("len", &self.len)
            .field("pad_id", &self.pad_id)
            .field("eos_id", &self.eos_id)
            .field("unk_id", &self.unk_id)
            .finish()
    }
}

/// An error about the added-token table, naming its file (and key).
fn added_token_error(cfg: &HfConfig, cfg_path: &Path, message: String) -> TokenizerError {
    match &cfg.added_source {
        Some(src) => TokenizerError::Config {
            path: src.path.clone(),
            message: match src.key {
                Some(key) => format!("`{key}`: {message}"),
                None => message,
            },
        },
        None => TokenizerError::Config {
            path: cfg_path.to_path_buf(),
            message,
        },
    }
}

fn ws_ids(lookup: impl Fn(&str) -> Option<u32>) -> Vec<(u32, &'static str)> {
    [
        ("<extra_id_22>", "\n"),
        ("<extra_id_33>", "\t"),
        ("<extra_id_23>", "  "),
    ]
    .into_iter()
    .filter_map(|(tok, sep)| lookup(tok).map(|id| (id, sep)))
    .collect()
}

fn load_spiece(path: &Path) -> Result<SpModel, TokenizerError> {
    use prost::Message;
    let bytes = std::fs::read(path).map_err(|source| TokenizerError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let proto =
        proto::ModelProto::decode(bytes.as_slice()).map_err(|source| TokenizerError::Protobuf {
            path: path.to_path_buf(),
            source,
        })?;
    SpModel::from_proto(&proto).map_err(|message| TokenizerError::InvalidModel {
        path: path.to_path_buf(),
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_mapping() {
        assert_eq!(
            t5_whitespace_mapping("a\nb\tc  d   e"),
            "a▁<extra_id_22>b▁<extra_id_33>c▁<extra_id_23>d▁<extra_id_23> e"
        );
        assert_eq!(
            t5_whitespace_mapping("    "),
            "▁<extra_id_23>▁<extra_id_23>"
        );
    }

    #[test]
    fn tokenizer_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Tokenizer>();
    }

    #[test]
    fn extra_id_parsing() {
        assert_eq!(parse_extra_id("<extra_id_0>"), Some(0));
        assert_eq!(parse_extra_id("<extra_id_99>x"), Some(99));
        assert_eq!(parse_extra_id("<extra_id_>"), None);
        assert_eq!(parse_extra_id("<extra_id_1"), None);
    }
}
