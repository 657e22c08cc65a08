//! Pieces of the transformers 4.13 slow-tokenizer layer: Python whitespace
//! semantics, the added-token `Trie.split`, `clean_up_tokenization` and the
//! special-token configuration files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::TokenizerError;

/// Python's `str.isspace()` for one character.
#[inline]
pub(crate) fn py_isspace(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r' | '\u{1C}'..='\u{1F}' | ' ' | '\u{85}' | '\u{A0}' | '\u{1680}'
            | '\u{2000}'..='\u{200A}' | '\u{2028}' | '\u{2029}' | '\u{202F}' | '\u{205F}' | '\u{3000}'
    )
}

pub(crate) fn py_strip(s: &str) -> &str {
    s.trim_matches(py_isspace)
}
pub(crate) fn py_lstrip(s: &str) -> &str {
    s.trim_start_matches(py_isspace)
}
pub(crate) fn py_rstrip(s: &str) -> &str {
    s.trim_end_matches(py_isspace)
}

/// `PreTrainedTokenizerBase.clean_up_tokenization` (chained `str.replace`).
pub(crate) fn clean_up_tokenization(s: &str) -> String {
    s.replace(" .", ".")
        .replace(" ?", "?")
        .replace(" !", "!")
        .replace(" ,", ",")
        .replace(" ' ", "'")
        .replace(" n't", "n't")
        .replace(" 'm", "'m")
        .replace(" 's", "'s")
        .replace(" 've", "'ve")
        .replace(" 're", "'re")
}

// ---------------------------------------------------------------------------
// transformers.tokenization_utils.Trie (4.13), ported faithfully including
// its lookahead quirks for overlapping tokens.
// ---------------------------------------------------------------------------

#[derive(Clone, Debug, Default)]
struct TrieNode {
    children: HashMap<char, usize>,
    end: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct SplitTrie {
    nodes: Vec<TrieNode>,
}

impl SplitTrie {
    pub(crate) fn new<'a>(words: impl IntoIterator<Item = &'a str>) -> Self {
        let mut nodes = vec![TrieNode::default()];
        for w in words {
            if w.is_empty() {
                continue;
            }
            let mut n = 0usize;
            for c in w.chars() {
                n = match nodes[n].children.get(&c) {
                    Some(&x) => x,
                    None => {
                        let x = nodes.len();
                        nodes.push(TrieNode::default());
                        nodes[n].children.insert(c, x);
                        x
                    }
                };
            }
            nodes[n].end = true;
        }
        SplitTrie { nodes }
    }

    #[inline]
    fn child(&self, node: usize, c: char) -> Option<usize> {
        self.nodes[node].children.get(&c).copied()
    }

    /// `Trie.split(text)`: returns the pieces of `text` (as char ranges
    /// converted to byte ranges) cut along the tokens found.
    pub(crate) fn split<'t>(&self, text: &'t str) -> Vec<&'t str> {
        if self.nodes[0].children.is_empty() {
            return if text.is_empty() { vec![] } else { vec![text] };
        }
        // Byte offset of each char index (plus the end).
        let mut char_pos: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
        let chars: Vec<char> = text.chars().collect();
        let n = chars.len();
        char_pos.push(text.len());

        // Insertion-ordered map start -> trie node.
        let mut states: Vec<(usize, usize)> = Vec::new();
        let mut offsets: Vec<usize> = vec![0];
        let mut skip: Option<usize> = None;
        let mut to_remove: Vec<usize> = Vec::new();
        for current in 0..n {
            let current_char = chars[current];
            if let Some(s) = skip {
                if s != 0 && current < s {
                    continue;
                }
            }
            to_remove.clear();
            let mut reset = false;
            let mut idx = 0;
            while idx < states.len() {
                let (start0, node) = states[idx];
                if self.nodes[node].end {
                    let mut start = start0;
                    let mut end = 0usize;
                    for &(lookstart, look_node0) in &states {
                        let mut look_node = look_node0;
                        if lookstart > start {
                            break;
                        }
                        let mut lookahead_index;
                        if lookstart < start {
                            lookahead_index = current + 1;
                            end = current + 1;
                        } else {
                            lookahead_index = current;
                            end = current;
                        }
                        let mut next_char = chars.get(lookahead_index).copied();
                        while let Some(nc) = next_char {
                            let Some(nx) = self.child(look_node, nc) else {
                                break;
                            };
                            look_node = nx;
                            lookahead_index += 1;
                            if self.nodes[look_node].end {
                                start = lookstart;
                                end = lookahead_index;
                                skip = Some(lookahead_index);
                            }
                            if lookahead_index == n {
                                break;
                            }
                            next_char = chars.get(lookahead_index).copied();
                        }
                    }
                    offsets.push(start);
                    offsets.push(end);
                    reset = true;
                    break;
                } else if let Some(nx) = self.child(node, current_char) {
                    states[idx].1 = nx;
                } else {
                    to_remove.push(start0);
                }
                idx += 1;
            }
            if reset {
                states.clear();
            } else if !to_remove.is_empty() {
                states.retain(|s| !to_remove.contains(&s.0));
            }
            if let Some(nx) = self.child(0, current_char) {
                // `states[current] = ...`: a new key (all other starts are smaller).
                states.push((current, nx));
            }
        }
        for &(start, node) in &states {
            if self.nodes[node].end {
                offsets.push(start);
                offsets.push(n);
                break;
            }
        }
        // cut_text
        offsets.push(n);
        let mut out = Vec::new();
        let mut start = 0usize;
        for end in offsets {
            if start >= end {
                continue;
            }
            out.push(&text[char_pos[start]..char_pos[end]]);
            start = end;
        }
        out
    }
}

// ---------------------------------------------------------------------------
// Special-token configuration (tokenizer_config.json, special_tokens_map.json,
// added_tokens.json) as interpreted by transformers 4.13 `from_pretrained`.
// ---------------------------------------------------------------------------

/// A special token as configured: a plain string or an `AddedToken`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TokenSpec {
    pub content: String,
    /// `Some((lstrip, rstrip))` for an `AddedToken`, `None` for a plain string
    /// (whitespace is stripped on both sides by default).
    pub added_token: Option<(bool, bool)>,
}

impl TokenSpec {
    pub(crate) fn plain(s: &str) -> Self {
        TokenSpec {
            content: s.to_string(),
            added_token: None,
        }
    }
}

pub(crate) const SPECIAL_ATTRS: [&str; 7] = [
    "bos_token",
    "eos_token",
    "unk_token",
    "sep_token",
    "pad_token",
    "cls_token",
    "mask_token",
];

/// One entry of a directory's added-token table (`added_tokens.json`, or
/// `tokenizer_config.json`'s `added_tokens_decoder`).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct AddedEntry {
    pub content: String,
    pub id: u32,
    /// `(lstrip, rstrip)` of an `added_tokens_decoder` entry; `None` for an
    /// `added_tokens.json` entry (a plain string).
    pub strip: Option<(bool, bool)>,
}

/// Where the added-token table was read from (for error messages).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct AddedSource {
    pub path: PathBuf,
    /// `Some("added_tokens_decoder")` when the table is a key of `path`.
    pub key: Option<&'static str>,
}

#[derive(Clone, Debug)]
pub(crate) struct HfConfig {
    /// In `SPECIAL_TOKENS_ATTRIBUTES` order (bos, eos, unk, sep, pad, cls, mask).
    pub attrs: [Option<TokenSpec>; 7],
    pub additional: Vec<TokenSpec>,
    pub extra_ids: u32,
    /// The added-token table sorted by id: `tokenizer_config.json`'s
    /// `added_tokens_decoder` when it has one (transformers >= 4.34), else
    /// `added_tokens.json`.
    pub added_tokens: Vec<AddedEntry>,
    /// The file `added_tokens` come from (`None` when there is none).
    pub added_source: Option<AddedSource>,
}

impl Default for HfConfig {
    fn default() -> Self {
        let mut attrs: [Option<TokenSpec>; 7] = Default::default();
        attrs[1] = Some(TokenSpec::plain("</s>"));
        attrs[2] = Some(TokenSpec::plain("<unk>"));
        attrs[4] = Some(TokenSpec::plain("<pad>"));
        HfConfig {
            attrs,
            additional: (0..100)
                .map(|i| TokenSpec::plain(&format!("<extra_id_{i}>")))
                .collect(),
            extra_ids: 100,
            added_tokens: Vec::new(),
            added_source: None,
        }
    }
}

fn cfg_err(path: &Path, message: impl Into<String>) -> TokenizerError {
    TokenizerError::Config {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

fn parse_token(path: &Path, key: &str, v: &Value) -> Result<TokenSpec, TokenizerError> {
    match v {
        Value::String(s) => Ok(TokenSpec::plain(s)),
        Value::Object(o) => {
            let content = o.get("content").and_then(Value::as_str).ok_or_else(|| {
                cfg_err(
                    path,
                    format!("`{key}`: AddedToken without a string \"content\""),
                )
            })?;
            let flag = |name: &str| o.get(name).and_then(Value::as_bool).unwrap_or(false);
            if flag("single_word") {
                return Err(cfg_err(
                    path,
                    format!(
                        "`{key}`: AddedToken {content:?} with single_word=true is not supported"
                    ),
                ));
            }
            Ok(TokenSpec {
                content: content.to_string(),
                added_token: Some((flag("lstrip"), flag("rstrip"))),
            })
        }
        other => Err(cfg_err(
            path,
            format!("`{key}` must be a string or an AddedToken object, found {other}"),
        )),
    }
}

fn parse_token_list(path: &Path, key: &str, v: &Value) -> Result<Vec<TokenSpec>, TokenizerError> {
    match v {
        Value::Array(a) => a.iter().map(|t| parse_token(path, key, t)).collect(),
        other => Err(cfg_err(
            path,
            format!("`{key}` must be a list, found {other}"),
        )),
    }
}

/// `tokenizer_config.json`'s `added_tokens_decoder`: `{"<id>": {"content": ...,
/// "lstrip": ..., "rstrip": ..., "normalized": ..., "special": ...,
/// "single_word": ...}}`, sorted by id.
fn parse_added_tokens_decoder(path: &Path, v: &Value) -> Result<Vec<AddedEntry>, TokenizerError> {
    const KEY: &str = "added_tokens_decoder";
    let o = v.as_object().ok_or_else(|| {
        cfg_err(
            path,
            format!("`{KEY}` must be an object {{\"id\": AddedToken}}, found {v}"),
        )
    })?;
    let mut list = Vec::with_capacity(o.len());
    for (id_str, tok) in o {
        let id = id_str.parse::<u32>().map_err(|_| {
            cfg_err(
                path,
                format!("`{KEY}`: key {id_str:?} is not a token id (a non-negative integer)"),
            )
        })?;
        if !tok.is_object() {
            return Err(cfg_err(
                path,
                format!("`{KEY}`: entry {id_str:?} must be an AddedToken object, found {tok}"),
            ));
        }
        let spec = parse_token(path, &format!("{KEY}[{id_str:?}]"), tok)?;
        list.push(AddedEntry {
            content: spec.content,
            id,
            strip: spec.added_token,
        });
    }
    list.sort_by_key(|e| e.id);
    Ok(list)
}

fn read_json(path: &Path) -> Result<Value, TokenizerError> {
    let text = std::fs::read_to_string(path).map_err(|source| TokenizerError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| TokenizerError::Json {
        path: path.to_path_buf(),
        source,
    })
}

impl HfConfig {
    /// Reads the optional config files of a model directory, as transformers'
    /// `from_pretrained` does: when `tokenizer_config.json` has an
    /// `added_tokens_decoder` (written by transformers >= 4.34, together with
    /// every special token), that table is the added-token table and, like HF,
    /// `special_tokens_map.json` and `added_tokens.json` are not read; otherwise
    /// (transformers < 4.34) `special_tokens_map.json` overrides the special
    /// tokens and `added_tokens.json` is the table.
    pub(crate) fn from_dir(dir: &Path) -> Result<Self, TokenizerError> {
        let mut cfg = HfConfig::default();
        // 1) tokenizer_config.json: keyword arguments of T5Tokenizer.__init__.
        let tc_path: PathBuf = dir.join("tokenizer_config.json");
        if tc_path.is_file() {
            let v = read_json(&tc_path)?;
            let o = v
                .as_object()
                .ok_or_else(|| cfg_err(&tc_path, "expected a JSON object"))?;
            let mut additional: Option<Vec<TokenSpec>> = None;
            if let Some(e) = o.get("extra_ids") {
                let n = e.as_u64().ok_or_else(|| {
                    cfg_err(
                        &tc_path,
                        format!("`extra_ids` must be a non-negative integer, found {e}"),
                    )
                })?;
                cfg.extra_ids =
                    u32::try_from(n).map_err(|_| cfg_err(&tc_path, "`extra_ids` is too large"))?;
            }
            for (i, key) in SPECIAL_ATTRS.iter().enumerate() {
                if let Some(val) = o.get(*key) {
                    // `None` values are skipped by SpecialTokensMixin.__init__; for
                    // T5's own eos/unk/pad an explicit null replaces the default.
                    cfg.attrs[i] = if val.is_null() {
                        None
                    } else {
                        Some(parse_token(&tc_path, key, val)?)
                    };
                }
            }
            if let Some(a) = o.get("additional_special_tokens") {
                if !a.is_null() {
                    additional = Some(parse_token_list(&tc_path, "additional_special_tokens", a)?);
                }
            }
            cfg.additional = match additional {
                None if cfg.extra_ids > 0 => (0..cfg.extra_ids)
                    .map(|i| TokenSpec::plain(&format!("<extra_id_{i}>")))
                    .collect(),
                None => Vec::new(),
                Some(list) => {
                    if cfg.extra_ids > 0 {
                        let mut set: Vec<&str> = list
                            .iter()
                            .map(|t| t.content.as_str())
                            .filter(|c| c.contains("extra_id"))
                            .collect();
                        set.sort_unstable();
                        set.dedup();
                        if set.len() != cfg.extra_ids as usize {
                            return Err(cfg_err(
                                &tc_path,
                                format!(
                                    "extra_ids ({}) and additional_special_tokens ({} extra_id tokens) are both provided; \
                                     the additional_special_tokens must include the extra_ids tokens",
                                    cfg.extra_ids,
                                    set.len()
                                ),
                            ));
                        }
                    }
                    list
                }
            };
            if let Some(d) = o.get("added_tokens_decoder") {
                if !d.is_null() {
                    cfg.added_tokens = parse_added_tokens_decoder(&tc_path, d)?;
                    cfg.added_source = Some(AddedSource {
                        path: tc_path.clone(),
                        key: Some("added_tokens_decoder"),
                    });
                }
            }
        }
        if cfg.added_source.is_some() {
            return Ok(cfg);
        }
        // 2) special_tokens_map.json overrides the attributes.
        let sm_path = dir.join("special_tokens_map.json");
        if sm_path.is_file() {
            let v = read_json(&sm_path)?;
            let o = v
                .as_object()
                .ok_or_else(|| cfg_err(&sm_path, "expected a JSON object"))?;
            for (key, val) in o {
                if let Some(i) = SPECIAL_ATTRS.iter().position(|a| a == key) {
                    cfg.attrs[i] = if val.is_null() {
                        None
                    } else {
                        Some(parse_token(&sm_path, key, val)?)
                    };
                } else if key == "additional_special_tokens" {
                    cfg.additional = if val.is_null() {
                        Vec::new()
                    } else {
                        parse_token_list(&sm_path, key, val)?
                    };
                }
            }
        }
        // 3) added_tokens.json
        let at_path = dir.join("added_tokens.json");
        if at_path.is_file() {
            let v = read_json(&at_path)?;
            let o = v
                .as_object()
                .ok_or_else(|| cfg_err(&at_path, "expected a JSON object {token: id}"))?;
            let mut list = Vec::new();
            for (tok, id) in o {
                let id = id
                    .as_u64()
                    .and_then(|x| u32::try_from(x).ok())
                    .ok_or_else(|| {
                        cfg_err(
                            &at_path,
                            format!("id of {tok:?} must be a non-negative integer, found {id}"),
                        )
                    })?;
                list.push(AddedEntry {
                    content: tok.clone(),
                    id,
                    strip: None,
                });
            }
            list.sort_by_key(|x| x.id);
            cfg.added_tokens = list;
            cfg.added_source = Some(AddedSource {
                path: at_path,
                key: None,
            });
        }
        Ok(cfg)
    }

    /// `all_special_tokens_extended`: attribute tokens then additional ones, deduplicated.
    pub(crate) fn all_special_tokens_extended(&self) -> Vec<TokenSpec> {
        let mut out: Vec<TokenSpec> = Vec::new();
        for t in self.attrs.iter().flatten().chain(self.additional.iter()) {
            if !out.contains(t) {
                out.push(t.clone());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(words: &[&str], text: &str) -> Vec<String> {
        SplitTrie::new(words.iter().copied())
            .split(text)
            .into_iter()
            .map(String::from)
            .collect()
    }

    #[test]
    fn trie_split_like_transformers() {
        // Expected values produced by transformers 4.13.0 `Trie.split`.
        assert_eq!(
            split(
                &["[CLS]", "extra_id_1", "extra_id_100"],
                "[CLS] This is a extra_id_100"
            ),
            ["[CLS]", " This is a ", "extra_id_100"]
        );
        assert_eq!(
            split(&["A", "P", "[SPECIAL]"], "[CLS] This is a extra_id_100"),
            ["[CLS] This is a extra_id_100"]
        );
        assert_eq!(split(&["AB", "B", "C"], "ABC"), ["AB", "C"]);
        assert_eq!(split(&["ABC", "B", "CD"], "ABCD"), ["A", "B", "CD"]);
        assert_eq!(split(&["abcd", "bc"], "abcd"), ["a", "bc", "d"]);
        assert_eq!(split(&["ab", "abc", "c"], "abcX"), ["abc", "X"]);
        assert_eq!(split(&["abc", "bcdef"], "abcdef"), ["abc", "def"]);
        assert_eq!(
            split(
                &["TOKEN]", "[SPECIAL_TOKEN]"],
                "This is something [SPECIAL_TOKEN]"
            ),
            ["This is something ", "[SPECIAL_TOKEN]"]
        );
        assert_eq!(split(&["A", "B"], "AB"), ["A", "B"]);
        assert!(split(&["A"], "").is_empty());
    }

    #[test]
    fn python_whitespace() {
        assert_eq!(py_strip("\u{3000}\u{1c} a \u{85}"), "a");
        assert_eq!(py_strip("\u{200b}a"), "\u{200b}a");
        assert_eq!(py_strip("\u{2581}a"), "\u{2581}a");
    }
}
