//! SentencePiece unigram model: normalizer (precompiled charsmap) and the
//! optimized Viterbi encoder, written to reproduce the C++ library
//! (sentencepiece 0.1.99) bit for bit.

use std::collections::HashMap;

use crate::proto::{ModelProto, PieceType};

const SPACE_SYMBOL: &[u8] = "\u{2581}".as_bytes();
/// `kUnkPenalty` in unigram_model.h.
const UNK_PENALTY: f32 = 10.0;
/// sentencepiece's `kMaxTrieResultsSize` in `Normalizer::NormalizePrefix`.
const MAX_TRIE_RESULTS: usize = 32;

/// Length of the UTF-8 sequence starting with `b` (sentencepiece `OneCharLen`).
#[inline]
fn one_char_len(b: u8) -> usize {
    const LEN: [u8; 16] = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4];
    LEN[(b >> 4) as usize] as usize
}

// ---------------------------------------------------------------------------
// Darts-clone double array (read-only lookup of the precompiled charsmap)
// ---------------------------------------------------------------------------

/// A Darts-clone `DoubleArray` as stored in `precompiled_charsmap`.
#[derive(Clone, Debug)]
pub(crate) struct DoubleArray {
    units: Vec<u32>,
}

impl DoubleArray {
    pub(crate) fn new(bytes: &[u8]) -> Self {
        let units = bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        DoubleArray { units }
    }

    #[inline]
    fn has_leaf(unit: u32) -> bool {
        (unit >> 8) & 1 == 1
    }
    #[inline]
    fn value(unit: u32) -> u32 {
        unit & ((1u32 << 31) - 1)
    }
    #[inline]
    fn label(unit: u32) -> u32 {
        unit & ((1u32 << 31) | 0xFF)
    }
    #[inline]
    fn offset(unit: u32) -> u32 {
        (unit >> 10) << ((unit & (1u32 << 9)) >> 6)
    }

    /// `commonPrefixSearch` keeping only the longest of the first
    /// [`MAX_TRIE_RESULTS`] results, as `NormalizePrefix` does.
    /// Returns `(length, value)`.
    #[inline]
    fn longest_prefix(&self, key: &[u8]) -> Option<(usize, u32)> {
        let units = &self.units;
        let mut node_pos = 0usize;
        let first = *units.first()?;
        node_pos ^= Self::offset(first) as usize;
        let mut found: Option<(usize, u32)> = None;
        let mut num_results = 0usize;
        for (i, &b) in key.iter().enumerate() {
            node_pos ^= b as usize;
            let unit = match units.get(node_pos) {
                Some(&u) => u,
                None => break,
            };
            if Self::label(unit) != b as u32 {
                break;
            }
            node_pos ^= Self::offset(unit) as usize;
            if Self::has_leaf(unit) {
                if num_results < MAX_TRIE_RESULTS {
                    let v = match units.get(node_pos) {
                        Some(&u) => Self::value(u),
                        None => break,
                    };
                    // Results come in increasing length order; keep the longest.
                    found = Some((i + 1, v));
                }
                num_results += 1;
            }
        }
        found
    }
}

// ---------------------------------------------------------------------------
// Byte trie for vocabulary / user-defined symbol lookup
// ---------------------------------------------------------------------------

/// A compact byte-wise trie (sorted edge lists), built once.
#[derive(Clone, Debug, Default)]
pub(crate) struct ByteTrie {
    edge_start: Vec<u32>,
    labels: Vec<u8>,
    targets: Vec<u32>,
    values: Vec<i32>,
    root_table: Vec<u32>,
}

impl ByteTrie {
    pub(crate) fn build(mut keys: Vec<(&[u8], i32)>) -> Self {
        keys.sort_by(|a, b| a.0.cmp(b.0));
        // Temporary representation: children lists in increasing label order.
        let mut children: Vec<Vec<(u8, u32)>> = vec![Vec::new()];
        let mut values: Vec<i32> = vec![-1];
        for (key, value) in keys {
            let mut node = 0usize;
            for &b in key {
                // Keys are sorted, so an existing child for `b` is the last one.
                let next = match children[node].last() {
                    Some(&(l, t)) if l == b => t as usize,
                    _ => {
                        let t = children.len();
                        children.push(Vec::new());
                        values.push(-1);
                        children[node].push((b, t as u32));
                        t
                    }
                };
                node = next;
            }
            values[node] = value;
        }
        let mut edge_start = Vec::with_capacity(children.len() + 1);
        let mut labels = Vec::new();
        let mut targets = Vec::new();
        for c in &children {
            edge_start.push(labels.len() as u32);
            for &(l, t) in c {
                labels.push(l);
                targets.push(t);
            }
        }
        edge_start.push(labels.len() as u32);
        let mut root_table = vec![u32::MAX; 256];
        for &(l, t) in &children[0] {
            root_table[l as usize] = t;
        }
        ByteTrie {
            edge_start,
            labels,
            targets,
            values,
            root_table,
        }
    }

    #[inline]
    pub(crate) fn child(&self, node: u32, b: u8) -> Option<u32> {
        if node == 0 {
            let t = self.root_table[b as usize];
            return if t == u32::MAX { None } else { Some(t) };
        }
        let s = self.edge_start[node as usize] as usize;
        let e = self.edge_start[node as usize + 1] as usize;
        let labels = &self.labels[s..e];
        if labels.len() <= 8 {
            labels
                .iter()
                .position(|&l| l == b)
                .map(|i| self.targets[s + i])
        } else {
            labels.binary_search(&b).ok().map(|i| self.targets[s + i])
        }
    }

    #[inline]
    pub(crate) fn value(&self, node: u32) -> i32 {
        self.values[node as usize]
    }

    /// Length of the longest key that is a prefix of `input`.
    pub(crate) fn longest_prefix_len(&self, input: &[u8]) -> Option<usize> {
        let mut node = 0u32;
        let mut best = None;
        for (i, &b) in input.iter().enumerate() {
            match self.child(node, b) {
                Some(n) => node = n,
                None => break,
            }
            if self.value(node) >= 0 {
                best = Some(i + 1);
            }
        }
        best
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

// ---------------------------------------------------------------------------
// Normalizer
// ---------------------------------------------------------------------------

#[derive(Clone, Debug)]
pub(crate) struct Normalizer {
    trie: Option<DoubleArray>,
    normalized: Vec<u8>,
    add_dummy_prefix: bool,
    remove_extra_whitespaces: bool,
    escape_whitespaces: bool,
    /// User-defined symbols are passed through unnormalized (`PrefixMatcher`).
    user_defined: ByteTrie,
}

impl Normalizer {
    pub(crate) fn new(
        charsmap: &[u8],
        add_dummy_prefix: bool,
        remove_extra_whitespaces: bool,
        escape_whitespaces: bool,
        user_defined: ByteTrie,
    ) -> Result<Self, String> {
        let (trie, normalized) = if charsmap.is_empty() {
            (None, Vec::new())
        } else {
            // <trie size (u32 LE)><double array><NUL-separated normalized strings>
            if charsmap.len() < 4 {
                return Err("precompiled_charsmap is shorter than 4 bytes".into());
            }
            let trie_size =
                u32::from_le_bytes([charsmap[0], charsmap[1], charsmap[2], charsmap[3]]) as usize;
            let rest = &charsmap[4..];
            if trie_size >= charsmap.len() || trie_size > rest.len() {
                return Err(format!(
                    "precompiled_charsmap: trie size {trie_size} exceeds the blob size {}",
                    charsmap.len()
                ));
            }
            if !trie_size.is_multiple_of(4) || trie_size == 0 {
                return Err(format!(
                    "precompiled_charsmap: invalid trie size {trie_size}"
                ));
            }
            (
                Some(DoubleArray::new(&rest[..trie_size])),
                rest[trie_size..].to_vec(),
            )
        };
        Ok(Normalizer {
            trie,
            normalized,
            add_dummy_prefix,
            remove_extra_whitespaces,
            escape_whitespaces,
            user_defined,
        })
    }

    /// `Normalizer::NormalizePrefix`: (normalized bytes of the prefix, bytes consumed).
    #[inline]
    fn normalize_prefix<'a>(&'a self, input: &'a [u8]) -> (&'a [u8], usize) {
        if input.is_empty() {
            return (&[], 0);
        }
        if !self.user_defined.is_empty() {
            if let Some(len) = self.user_defined.longest_prefix_len(input) {
                return (&input[..len], len);
            }
        }
        if let Some(trie) = &self.trie {
            if let Some((len, value)) = trie.longest_prefix(input) {
                let v = value as usize;
                if v <= self.normalized.len() {
                    let s = &self.normalized[v..];
                    let end = s.iter().position(|&b| b == 0).unwrap_or(s.len());
                    return (&s[..end], len);
                }
            }
        }
        // No rule: one (valid) UTF-8 character is passed through.
        let len = one_char_len(input[0]).min(input.len());
        (&input[..len], len)
    }

    /// `Normalizer::Normalize` (without the offset mapping).
    pub(crate) fn normalize(&self, text: &str, out: &mut Vec<u8>) {
        out.clear();
        let mut input = text.as_bytes();
        if input.is_empty() {
            return;
        }
        if self.remove_extra_whitespaces {
            while !input.is_empty() {
                let (sp, n) = self.normalize_prefix(input);
                if sp != b" " {
                    break;
                }
                input = &input[n..];
            }
        }
        if input.is_empty() {
            return;
        }
        out.reserve(input.len() * 3);
        let space: &[u8] = if self.escape_whitespaces {
            SPACE_SYMBOL
        } else {
            b" "
        };
        if self.add_dummy_prefix {
            out.extend_from_slice(space);
        }
        let mut is_prev_space = self.remove_extra_whitespaces;
        while !input.is_empty() {
            let (mut sp, n) = self.normalize_prefix(input);
            if is_prev_space {
                while let [b' ', rest @ ..] = sp {
                    sp = rest;
                }
            }
            if !sp.is_empty() {
                for &b in sp {
                    if self.escape_whitespaces && b == b' ' {
                        out.extend_from_slice(SPACE_SYMBOL);
                    } else {
                        out.push(b);
                    }
                }
                is_prev_space = sp.last() == Some(&b' ');
            }
            input = &input[n..];
            if !self.remove_extra_whitespaces {
                is_prev_space = false;
            }
        }
        if self.remove_extra_whitespaces {
            while out.ends_with(space) {
                out.truncate(out.len() - space.len());
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Unigram model
// ---------------------------------------------------------------------------

#[derive(Clone, Debug)]
pub(crate) struct Piece {
    pub piece: String,
    pub score: f32,
    pub kind: PieceType,
}

#[derive(Clone, Debug)]
pub(crate) struct SpModel {
    pub pieces: Vec<Piece>,
    /// `PieceToId` map (reserved pieces override normal ones, as in C++).
    pub piece_to_id: HashMap<String, u32>,
    pub unk_id: u32,
    pub unk_surface: String,
    trie: ByteTrie,
    min_score: f32,
    max_score: f32,
    pub normalizer: Normalizer,
}

/// A piece of the encoding result: a byte range of the normalized text and its id.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EncodedPiece {
    pub start: usize,
    pub end: usize,
    pub id: u32,
}

#[derive(Clone, Copy)]
struct BestPathNode {
    id: u32,
    score: f32,
    starts_at: i64,
}

impl SpModel {
    pub(crate) fn from_proto(m: &ModelProto) -> Result<Self, String> {
        let ts = m.trainer_spec.clone().unwrap_or_default();
        match ts.model_type.unwrap_or(1) {
            1 => {}
            2 => return Err("model_type is BPE; only UNIGRAM models are supported".into()),
            3 => return Err("model_type is WORD; only UNIGRAM models are supported".into()),
            4 => return Err("model_type is CHAR; only UNIGRAM models are supported".into()),
            t => {
                return Err(format!(
                    "unknown model_type {t}; only UNIGRAM models are supported"
                ))
            }
        }
        if ts.byte_fallback.unwrap_or(false) {
            return Err("byte_fallback models are not supported".into());
        }
        if ts.treat_whitespace_as_suffix.unwrap_or(false) {
            return Err("treat_whitespace_as_suffix models are not supported".into());
        }
        if m.pieces.is_empty() {
            return Err("the model has no pieces".into());
        }
        if let Some(d) = &m.denormalizer_spec {
            if d.precompiled_charsmap
                .as_ref()
                .is_some_and(|c| !c.is_empty())
            {
                return Err("models with a denormalizer are not supported".into());
            }
        }
        let mut pieces = Vec::with_capacity(m.pieces.len());
        let mut normal: HashMap<String, u32> = HashMap::with_capacity(m.pieces.len());
        let mut reserved: HashMap<String, u32> = HashMap::new();
        let mut unk_id: Option<u32> = None;
        let mut user_defined: Vec<(Vec<u8>, i32)> = Vec::new();
        let mut min_score = f32::MAX;
        let mut max_score = f32::MIN_POSITIVE; // C++ FLT_MIN
        for (i, p) in m.pieces.iter().enumerate() {
            let piece = p.piece.clone().unwrap_or_default();
            if piece.is_empty() {
                return Err(format!("piece {i} is empty"));
            }
            let kind = p.piece_type().ok_or_else(|| {
                format!("piece {i} ({piece:?}) has an unknown type {:?}", p.r#type)
            })?;
            let score = p.score.unwrap_or(0.0);
            let is_normal = matches!(
                kind,
                PieceType::Normal | PieceType::UserDefined | PieceType::Unused
            );
            let map = if is_normal {
                &mut normal
            } else {
                &mut reserved
            };
            if map.insert(piece.clone(), i as u32).is_some() {
                return Err(format!("piece {piece:?} is defined twice"));
            }
            match kind {
                PieceType::UserDefined => user_defined.push((piece.as_bytes().to_vec(), i as i32)),
                PieceType::Unknown => {
                    if unk_id.is_some() {
                        return Err("more than one UNKNOWN piece".into());
                    }
                    unk_id = Some(i as u32);
                }
                PieceType::Byte => {
                    return Err("BYTE pieces are not supported (byte_fallback)".into())
                }
                PieceType::Normal => {
                    min_score = min_score.min(score);
                    max_score = max_score.max(score);
                }
                _ => {}
            }
            pieces.push(Piece { piece, score, kind });
        }
        let unk_id = unk_id.ok_or("no UNKNOWN (<unk>) piece is defined")?;
        let trie = ByteTrie::build(
            normal
                .iter()
                .map(|(k, &v)| (k.as_bytes(), v as i32))
                .collect(),
        );
        let mut piece_to_id = normal;
        piece_to_id.extend(reserved);

        let ns = m.normalizer_spec.clone().unwrap_or_default();
        let ud_trie = ByteTrie::build(
            user_defined
                .iter()
                .map(|(k, v)| (k.as_slice(), *v))
                .collect(),
        );
        let normalizer = Normalizer::new(
            ns.precompiled_charsmap.as_deref().unwrap_or(&[]),
            ns.add_dummy_prefix.unwrap_or(true),
            ns.remove_extra_whitespaces.unwrap_or(true),
            ns.escape_whitespaces.unwrap_or(true),
            ud_trie,
        )?;
        Ok(SpModel {
            pieces,
            piece_to_id,
            unk_id,
            unk_surface: ts.unk_surface.unwrap_or_else(|| " \u{2047} ".to_string()),
            trie,
            min_score,
            max_score,
            normalizer,
        })
    }

    /// `PieceToId`: unknown strings map to the unk id.
    pub(crate) fn piece_to_id(&self, piece: &str) -> u32 {
        self.piece_to_id.get(piece).copied().unwrap_or(self.unk_id)
    }

    /// `Model::EncodeOptimized` followed by the merge of consecutive unknown
    /// pieces done in `SentencePieceProcessor::PopulateSentencePieceText`.
    pub(crate) fn encode_normalized(&self, normalized: &[u8], out: &mut Vec<EncodedPiece>) {
        out.clear();
        let size = normalized.len();
        if size == 0 {
            return;
        }
        let unk_score: f32 = self.min_score - UNK_PENALTY;
        let mut best = vec![
            BestPathNode {
                id: 0,
                score: 0.0,
                starts_at: -1
            };
            size + 1
        ];
        let mut starts_at = 0usize;
        while starts_at < size {
            let best_here = best[starts_at].score;
            let mut has_single_node = false;
            let mblen = one_char_len(normalized[starts_at]).min(size - starts_at);
            let mut node = 0u32;
            let mut key_pos = starts_at;
            while key_pos < size {
                node = match self.trie.child(node, normalized[key_pos]) {
                    Some(n) => n,
                    None => break,
                };
                key_pos += 1;
                let ret = self.trie.value(node);
                if ret < 0 {
                    continue;
                }
                let piece = &self.pieces[ret as usize];
                if piece.kind == PieceType::Unused {
                    continue;
                }
                let length = key_pos - starts_at;
                // C++: `IsUserDefined ? (length * max_score_ - 0.1) : score` has type
                // double; the candidate is computed and compared in double precision
                // and stored as float.
                let score: f64 = if piece.kind == PieceType::UserDefined {
                    ((length as f32) * self.max_score) as f64 - 0.1
                } else {
                    piece.score as f64
                };
                let candidate = score + best_here as f64;
                let target = &mut best[key_pos];
                if target.starts_at == -1 || candidate > target.score as f64 {
                    target.score = candidate as f32;
                    target.starts_at = starts_at as i64;
                    target.id = ret as u32;
                }
                if !has_single_node && length == mblen {
                    has_single_node = true;
                }
            }
            if !has_single_node {
                let target = &mut best[starts_at + mblen];
                let candidate: f32 = unk_score + best_here;
                if target.starts_at == -1 || candidate > target.score {
                    target.score = candidate;
                    target.starts_at = starts_at as i64;
                    target.id = self.unk_id;
                }
            }
            starts_at += mblen;
        }
        // Backtrack.
        let mut ends_at = size;
        while ends_at > 0 {
            let node = best[ends_at];
            let start = node.starts_at.max(0) as usize;
            out.push(EncodedPiece {
                start,
                end: ends_at,
                id: node.id,
            });
            if start >= ends_at {
                break; // cannot happen for a consistent lattice
            }
            ends_at = start;
        }
        out.reverse();
        // Merge runs of unknown pieces.
        let mut w = 0usize;
        for r in 0..out.len() {
            let p = out[r];
            if w > 0 && p.id == self.unk_id && out[w - 1].id == self.unk_id {
                out[w - 1].end = p.end;
            } else {
                out[w] = p;
                w += 1;
            }
        }
        out.truncate(w);
    }
}
