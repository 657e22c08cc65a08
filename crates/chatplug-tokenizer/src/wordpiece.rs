//! BERT WordPiece tokenization for ChatPLUG-240M (FiD PLUG), as ModelScope runs it.
//!
//! ModelScope's `fid_dialogue` pipeline tokenizes PLUG passages with the slow
//! `BertTokenizer` of transformers (over the model directory's `vocab.txt`), with
//! `[unused1]`…`[unused99]` added as special tokens, and decodes a reply with
//! `skip_special_tokens=False`, maps `[unused22]`/`[unused33]`/`[unused23]` back to
//! whitespace, deletes `[SEP] [CLS] [PAD] [UNK]` and removes the spaces between Chinese
//! characters.
//!
//! Encoding is the `tokenizers` crate's BERT pipeline (BertNormalizer, BertPreTokenizer,
//! WordPiece, `[CLS] … [SEP]`), which equals the slow tokenizer on the golden corpus with
//! one addition: a lower-casing slow tokenizer lower-cases the whole text *before* it
//! splits out special tokens (`[UNUSED1]` becomes `[unused1]`, one token), character by
//! character and leaving exact special tokens alone; [`BertTokenizer::encode`] does the
//! same first. Decoding is written out here: it is a few string operations of the
//! reference (`convert_tokens_to_string`, `clean_up_tokenization`, the pipeline's token
//! mapping, `remove_space_between_chinese_chars`).

use std::path::Path;

use serde_json::Value;
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::bert::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::processors::bert::BertProcessing;
use tokenizers::AddedToken;

use crate::hf::{clean_up_tokenization, py_strip};
use crate::TokenizerError;

/// The `[unusedN]` tokens ModelScope's pipeline adds as special tokens for PLUG models.
const UNUSED_SPECIALS: std::ops::RangeInclusive<u32> = 1..=99;

/// The pipeline's reply mapping, applied in this order (chained `str.replace`).
const REPLY_MAPPING: [(&str, &str); 10] = [
    ("<extra_id_22>", "\n"),
    ("<extra_id_33>", "\t"),
    ("<extra_id_23>", "  "),
    ("[unused22]", "\n"),
    ("[unused33]", "\t"),
    ("[unused23]", "  "),
    ("[SEP]", ""),
    ("[CLS]", ""),
    ("[PAD]", ""),
    ("[UNK]", ""),
];

/// ChatPLUG's whitespace mapping for PLUG models: `"\n"` → `"[unused22]"`, `"\t"` →
/// `"[unused33]"`, `"  "` → `"[unused23]"` (in that order, like the pipeline's
/// `str.replace` chain).
pub fn plug_whitespace_mapping(text: &str) -> String {
    text.replace('\n', "[unused22]")
        .replace('\t', "[unused33]")
        .replace("  ", "[unused23]")
}

/// What `tokenizer_config.json` may set (transformers' `BertTokenizer` arguments).
#[derive(Debug, Clone)]
struct BertOptions {
    do_lower_case: bool,
    tokenize_chinese_chars: bool,
    strip_accents: Option<bool>,
    clean_up_tokenization_spaces: bool,
    unk: String,
    sep: String,
    pad: String,
    cls: String,
    mask: String,
    /// `added_tokens_decoder` entries (content, special), in id order.
    added: Vec<(String, bool)>,
}

impl Default for BertOptions {
    fn default() -> Self {
        BertOptions {
            do_lower_case: true,
            tokenize_chinese_chars: true,
            strip_accents: None,
            clean_up_tokenization_spaces: true,
            unk: "[UNK]".into(),
            sep: "[SEP]".into(),
            pad: "[PAD]".into(),
            cls: "[CLS]".into(),
            mask: "[MASK]".into(),
            added: Vec::new(),
        }
    }
}

/// A BERT WordPiece tokenizer with ChatPLUG's PLUG decoding (see the module docs).
pub struct BertTokenizer {
    inner: tokenizers::Tokenizer,
    lowercase: bool,
    /// Every special token, longest first: left alone by the lower-casing pass.
    specials: Vec<String>,
    /// Their first characters.
    special_starts: Vec<char>,
    /// Token strings by id: the vocabulary, then tokens added past it.
    tokens: Vec<String>,
    unk_id: u32,
    cls_id: u32,
    sep_id: u32,
    pad_id: u32,
    clean_up_tokenization_spaces: bool,
}

impl BertTokenizer {
    /// Loads `dir/vocab.txt`, with `dir/tokenizer_config.json` when present (a directory
    /// as ModelScope ships ChatPLUG-240M has none: transformers' defaults apply, which
    /// lower-case). Directories saved by current transformers (`added_tokens_decoder`)
    /// load too.
    pub fn from_dir(dir: &Path) -> Result<BertTokenizer, TokenizerError> {
        let vocab = dir.join("vocab.txt");
        let config = dir.join("tokenizer_config.json");
        let options = if config.is_file() {
            read_options(&config)?
        } else {
            BertOptions::default()
        };
        BertTokenizer::build(&vocab, options)
    }

    fn build(vocab_path: &Path, o: BertOptions) -> Result<BertTokenizer, TokenizerError> {
        let tokens = read_vocab(vocab_path)?;
        let invalid = |message: String| TokenizerError::Config {
            path: vocab_path.to_path_buf(),
            message,
        };
        // transformers' `load_vocab`: a token seen twice keeps its last line.
        let vocab: ahash::AHashMap<String, u32> = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        if !vocab.contains_key(o.unk.as_str()) {
            return Err(invalid(format!("the unknown token {:?} is not in the vocabulary", o.unk)));
        }
        let model = WordPiece::builder()
            .vocab(vocab)
            .unk_token(o.unk.clone())
            .continuing_subword_prefix("##".into())
            .max_input_chars_per_word(100)
            .build()
            .map_err(|e| invalid(format!("cannot build the WordPiece model: {e}")))?;
        let mut inner = tokenizers::Tokenizer::new(model);
        inner
            .with_normalizer(Some(BertNormalizer::new(
                true,
                o.tokenize_chinese_chars,
                o.strip_accents,
                o.do_lower_case,
            )))
            .map_err(|e| invalid(format!("cannot set the normalizer: {e}")))?;
        inner.with_pre_tokenizer(Some(BertPreTokenizer));

        // Special tokens in transformers' order (unk, sep, pad, cls, mask, then the
        // additional ones); one missing from the vocabulary gets the next free id.
        let mut specials: Vec<String> = vec![
            o.unk.clone(),
            o.sep.clone(),
            o.pad.clone(),
            o.cls.clone(),
            o.mask.clone(),
        ];
        specials.extend(UNUSED_SPECIALS.map(|i| format!("[unused{i}]")));
        let mut plain = Vec::new();
        for (content, special) in &o.added {
            if *special {
                if !specials.contains(content) {
                    specials.push(content.clone());
                }
            } else {
                plain.push(content.clone());
            }
        }
        let added = |t: &String, special: bool| {
            AddedToken::from(t.clone(), special).normalized(false)
        };
        inner
            .add_special_tokens(specials.iter().map(|t| added(t, true)))
            .map_err(|e| invalid(format!("cannot add the special tokens: {e}")))?;
        inner
            .add_tokens(plain.iter().map(|t| added(t, false)))
            .map_err(|e| invalid(format!("cannot add the added tokens: {e}")))?;

        let id = |t: &str| inner.token_to_id(t);
        let (Some(unk_id), Some(cls_id), Some(sep_id), Some(pad_id)) =
            (id(&o.unk), id(&o.cls), id(&o.sep), id(&o.pad))
        else {
            return Err(invalid("the special tokens have no ids".into()));
        };
        inner.with_post_processor(Some(BertProcessing::new(
            (o.sep.clone(), sep_id),
            (o.cls.clone(), cls_id),
        )));
        let len = inner.get_vocab_size(true);
        let mut by_id = tokens;
        for i in by_id.len()..len {
            by_id.push(inner.id_to_token(i as u32).unwrap_or_default());
        }
        // Longest first: at a position, the longest special token that matches wins.
        specials.sort_by_key(|s| std::cmp::Reverse(s.len()));
        let mut special_starts: Vec<char> = specials.iter().filter_map(|s| s.chars().next()).collect();
        special_starts.sort_unstable();
        special_starts.dedup();
        Ok(BertTokenizer {
            inner,
            lowercase: o.do_lower_case,
            specials,
            special_starts,
            tokens: by_id,
            unk_id,
            cls_id,
            sep_id,
            pad_id,
            clean_up_tokenization_spaces: o.clean_up_tokenization_spaces,
        })
    }

    /// `BertTokenizer(text)["input_ids"]`: `[CLS] … [SEP]`.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        self.encode_truncated(text, usize::MAX)
    }

    /// `BertTokenizer(text, truncation=True, max_length=max_len)["input_ids"]`: the text's
    /// first `max_len - 2` tokens between `[CLS]` and `[SEP]`.
    pub fn encode_truncated(&self, text: &str, max_len: usize) -> Vec<u32> {
        let mut ids = self.encode_without_specials(text);
        ids.truncate(max_len.saturating_sub(2));
        let mut out = Vec::with_capacity(ids.len() + 2);
        out.push(self.cls_id);
        out.extend(ids);
        out.push(self.sep_id);
        out
    }

    /// The ids of `text` without `[CLS]` and `[SEP]` (`add_special_tokens=False`).
    pub fn encode_without_specials(&self, text: &str) -> Vec<u32> {
        let lowered;
        let text = if self.lowercase {
            lowered = self.lowercase_outside_specials(text);
            &lowered
        } else {
            text
        };
        match self.inner.encode(text, false) {
            Ok(encoding) => encoding.get_ids().to_vec(),
            // The BERT pipeline has no failing step on a `&str`; should one appear,
            // the text is unknown rather than the process gone.
            Err(_) => vec![self.unk_id],
        }
    }

    /// transformers' `tokenize` for lower-casing tokenizers: every character is
    /// lower-cased on its own (Python `str.lower`), except inside exact special tokens.
    fn lowercase_outside_specials(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        'scan: while let Some(c) = rest.chars().next() {
            if self.special_starts.contains(&c) {
                for s in &self.specials {
                    if rest.starts_with(s.as_str()) {
                        out.push_str(s);
                        rest = &rest[s.len()..];
                        continue 'scan;
                    }
                }
            }
            out.extend(c.to_lowercase());
            rest = &rest[c.len_utf8()..];
        }
        out
    }

    /// The reply text, as ModelScope's `fid_dialogue` pipeline decodes a PLUG reply:
    /// [`BertTokenizer::decode_hf`], the whitespace tokens mapped back, `[SEP] [CLS] [PAD]
    /// [UNK]` removed, then the spaces between Chinese characters.
    pub fn decode(&self, ids: &[u32]) -> String {
        let mut text = self.decode_hf(ids);
        for (from, to) in REPLY_MAPPING {
            text = text.replace(from, to);
        }
        remove_space_between_chinese_chars(&text)
    }

    /// `BertTokenizer.decode(ids, skip_special_tokens=False)`: tokens joined by spaces,
    /// `##` continuations glued, tokenization spaces cleaned up.
    pub fn decode_hf(&self, ids: &[u32]) -> String {
        if ids.is_empty() {
            return String::new();
        }
        let unk = &self.tokens[self.unk_id as usize];
        let joined = ids
            .iter()
            .map(|&id| self.tokens.get(id as usize).unwrap_or(unk).as_str())
            .collect::<Vec<_>>()
            .join(" ")
            .replace(" ##", "");
        let text = py_strip(&joined);
        if self.clean_up_tokenization_spaces {
            clean_up_tokenization(text)
        } else {
            text.to_string()
        }
    }

    /// Vocabulary size including added tokens (`len(tokenizer)`).
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    pub fn id_to_token(&self, id: u32) -> Option<&str> {
        self.tokens.get(id as usize).map(String::as_str)
    }

    /// `[PAD]`: padding, masked out.
    pub fn pad_id(&self) -> u32 {
        self.pad_id
    }

    /// `[CLS]`: the first token of every passage, and the decoder's start token.
    pub fn cls_id(&self) -> u32 {
        self.cls_id
    }

    /// `[SEP]`: the end of every passage, and the decoder's end of reply.
    pub fn sep_id(&self) -> u32 {
        self.sep_id
    }

    pub fn unk_id(&self) -> u32 {
        self.unk_id
    }
}

/// transformers' `load_vocab`: one token per line, the line ending removed, the id is
/// the line number.
fn read_vocab(path: &Path) -> Result<Vec<String>, TokenizerError> {
    let bytes = std::fs::read(path).map_err(|source| TokenizerError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let line = 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        TokenizerError::Config {
            path: path.to_path_buf(),
            message: format!("line {line} is not UTF-8"),
        }
    })?;
    let tokens: Vec<String> = text.lines().map(str::to_string).collect();
    if tokens.is_empty() {
        return Err(TokenizerError::Config {
            path: path.to_path_buf(),
            message: "the vocabulary is empty".into(),
        });
    }
    if tokens.len() > u32::MAX as usize / 2 {
        return Err(TokenizerError::Config {
            path: path.to_path_buf(),
            message: format!("{} tokens is more than a vocabulary can hold", tokens.len()),
        });
    }
    Ok(tokens)
}

fn read_options(path: &Path) -> Result<BertOptions, TokenizerError> {
    let text = std::fs::read_to_string(path).map_err(|source| TokenizerError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let json: Value = serde_json::from_str(&text).map_err(|source| TokenizerError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    let invalid = |message: String| TokenizerError::Config {
        path: path.to_path_buf(),
        message,
    };
    let Value::Object(map) = json else {
        return Err(invalid("not a JSON object".into()));
    };
    let mut o = BertOptions::default();
    let flag = |key: &str, default: bool| match map.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(invalid(format!("`{key}` must be true or false, not {other}"))),
    };
    o.do_lower_case = flag("do_lower_case", o.do_lower_case)?;
    o.tokenize_chinese_chars = flag("tokenize_chinese_chars", o.tokenize_chinese_chars)?;
    o.clean_up_tokenization_spaces =
        flag("clean_up_tokenization_spaces", o.clean_up_tokenization_spaces)?;
    o.strip_accents = match map.get("strip_accents") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(other) => return Err(invalid(format!("`strip_accents` must be true, false or null, not {other}"))),
    };
    if !flag("do_basic_tokenize", true)? {
        return Err(invalid("`do_basic_tokenize: false` is not supported (ChatPLUG's PLUG tokenizer splits words first)".into()));
    }
    match map.get("never_split") {
        None | Some(Value::Null) => {}
        Some(Value::Array(a)) if a.is_empty() => {}
        Some(_) => return Err(invalid("`never_split` is not supported".into())),
    }
    let token = |key: &str, slot: &mut String| -> Result<(), TokenizerError> {
        match map.get(key) {
            None | Some(Value::Null) => Ok(()),
            Some(Value::String(s)) => {
                *slot = s.clone();
                Ok(())
            }
            // An `AddedToken` as saved by transformers.
            Some(Value::Object(t)) => match t.get("content") {
                Some(Value::String(s)) => {
                    *slot = s.clone();
                    Ok(())
                }
                _ => Err(invalid(format!("`{key}` has no string `content`"))),
            },
            Some(other) => Err(invalid(format!("`{key}` must be a string, not {other}"))),
        }
    };
    token("unk_token", &mut o.unk)?;
    token("sep_token", &mut o.sep)?;
    token("pad_token", &mut o.pad)?;
    token("cls_token", &mut o.cls)?;
    token("mask_token", &mut o.mask)?;
    if let Some(decoder) = map.get("added_tokens_decoder") {
        let Value::Object(entries) = decoder else {
            return Err(invalid("`added_tokens_decoder` must be an object".into()));
        };
        let mut added = Vec::with_capacity(entries.len());
        for (id, entry) in entries {
            let id: u64 = id
                .parse()
                .map_err(|_| invalid(format!("`added_tokens_decoder` key {id:?} is not an id")))?;
            let content = entry.get("content").and_then(Value::as_str).ok_or_else(|| {
                invalid(format!("`added_tokens_decoder` entry {id} has no string `content`"))
            })?;
            let special = entry.get("special").and_then(Value::as_bool).unwrap_or(false);
            added.push((id, content.to_string(), special));
        }
        added.sort_by_key(|(id, _, _)| *id);
        o.added = added.into_iter().map(|(_, c, s)| (c, s)).collect();
    }
    Ok(o)
}

/// `modelscope.utils.chinese_utils.remove_space_between_chinese_chars`: split at single
/// spaces, join each run of "Chinese" words (every character a CJK ideograph, Chinese or
/// ASCII punctuation; an empty word counts) without spaces, strip the result.
fn remove_space_between_chinese_chars(text: &str) -> String {
    let words: Vec<&str> = text.split(' ').collect();
    let mut out: Vec<String> = Vec::new();
    let mut start: Option<usize> = None;
    for (i, word) in words.iter().enumerate() {
        if is_chinese_word(word) {
            start.get_or_insert(i);
        } else {
            if let Some(s) = start.take() {
                out.push(words[s..i].concat());
            }
            out.push((*word).to_string());
        }
    }
    if let Some(s) = start {
        out.push(words[s..].concat());
    }
    py_strip(&out.join(" ")).to_string()
}

/// Characters of ModelScope's `CHINESE_PUNCTUATION`.
const CHINESE_PUNCTUATION: &str = "＂＃＄％＆＇（）＊＋，－／：；＜＝＞＠［＼］＾＿｀｛｜｝～｟｠｢｣､\u{3000}、〃〈〉《》「」『』【】〔〕〖〗〘〙〚〛〜〝〞〟〰〾〿–—‘’‛“”„‟…‧﹏﹑﹔·！？｡。";

fn is_chinese_word(word: &str) -> bool {
    word.chars().all(|c| {
        is_cjk_ideograph(c) || c.is_ascii_punctuation() || CHINESE_PUNCTUATION.contains(c)
    })
}

/// The CJK blocks of ModelScope's `_is_chinese_char` (BERT's list).
fn is_cjk_ideograph(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF
        | 0x3400..=0x4DBF
        | 0x20000..=0x2A6DF
        | 0x2A700..=0x2B73F
        | 0x2B740..=0x2B81F
        | 0x2B820..=0x2CEAF
        | 0xF900..=0xFAFF
        | 0x2F800..=0x2FA1F)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_runs_lose_their_spaces_and_other_words_keep_them() {
        assert_eq!(remove_space_between_chinese_chars("你 好 ， world ! 我 们"), "你好， world !我们");
        assert_eq!(remove_space_between_chinese_chars("  a  "), "a");
        assert_eq!(remove_space_between_chinese_chars(""), "");
    }

    #[test]
    fn whitespace_maps_to_the_unused_tokens() {
        assert_eq!(plug_whitespace_mapping("a\nb\tc  d   e"), "a[unused22]b[unused33]c[unused23]d[unused23] e");
    }
}
