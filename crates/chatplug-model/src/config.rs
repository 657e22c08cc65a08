//! `config.json` as written by HF `T5Config` (and `MT5Config`).

use std::path::Path;

use serde::Deserialize;

use crate::error::{ModelError, Result};

/// The activation inside the feed-forward block, HF `ACT2FN` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    Relu,
    /// `gelu`: the exact, erf-based GELU.
    GeluErf,
    /// `gelu_new` / `gelu_pytorch_tanh`: the tanh approximation (what mT5 uses).
    GeluTanh,
    Silu,
}

impl Activation {
    fn from_hf_name(name: &str) -> Option<Self> {
        Some(match name {
            "relu" => Activation::Relu,
            "gelu" => Activation::GeluErf,
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Activation::GeluTanh,
            "silu" | "swish" => Activation::Silu,
            _ => return None,
        })
    }
}

/// The subset of `T5Config` that determines the computation. Unknown fields are ignored,
/// as HF does; fields with a wrong type or value are errors naming the field.
#[derive(Debug, Clone)]
pub struct T5Config {
    pub vocab_size: usize,
    pub d_model: usize,
    pub d_kv: usize,
    pub d_ff: usize,
    pub num_layers: usize,
    pub num_decoder_layers: usize,
    pub num_heads: usize,
    pub relative_attention_num_buckets: usize,
    pub relative_attention_max_distance: usize,
    pub layer_norm_epsilon: f64,
    pub activation: Activation,
    pub is_gated: bool,
    pub tie_word_embeddings: bool,
    pub pad_token_id: u32,
    pub eos_token_id: Vec<u32>,
    pub decoder_start_token_id: u32,
    /// Dropout probability used in training (HF `dropout_rate`); inference ignores it.
    pub dropout_rate: f64,
    /// HF's `initializer_factor`: scales every standard deviation of a fresh initialisation.
    pub initializer_factor: f64,
}

#[derive(Deserialize)]
struct RawConfig {
    #[serde(default = "defaults::vocab_size")]
    vocab_size: usize,
    #[serde(default = "defaults::d_model")]
    d_model: usize,
    #[serde(default = "defaults::d_kv")]
    d_kv: usize,
    #[serde(default = "defaults::d_ff")]
    d_ff: usize,
    #[serde(default = "defaults::num_layers")]
    num_layers: usize,
    #[serde(default)]
    num_decoder_layers: Option<usize>,
    #[serde(default = "defaults::num_heads")]
    num_heads: usize,
    #[serde(default = "defaults::buckets")]
    relative_attention_num_buckets: usize,
    #[serde(default = "defaults::max_distance")]
    relative_attention_max_distance: usize,
    #[serde(default = "defaults::eps")]
    layer_norm_epsilon: f64,
    #[serde(default = "defaults::feed_forward_proj")]
    feed_forward_proj: String,
    #[serde(default = "defaults::tie")]
    tie_word_embeddings: bool,
    #[serde(default)]
    pad_token_id: Option<u32>,
    #[serde(default)]
    eos_token_id: Option<EosIds>,
    #[serde(default)]
    decoder_start_token_id: Option<u32>,
    #[serde(default = "defaults::dropout_rate")]
    dropout_rate: f64,
    #[serde(default = "defaults::initializer_factor")]
    initializer_factor: f64,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum EosIds {
    One(u32),
    Many(Vec<u32>),
}

mod defaults {
    // HF `T5Config.__init__` defaults.
    pub fn vocab_size() -> usize {
        32128
    }
    pub fn d_model() -> usize {
        512
    }
    pub fn d_kv() -> usize {
        64
    }
    pub fn d_ff() -> usize {
        2048
    }
    pub fn num_layers() -> usize {
        6
    }
    pub fn num_heads() -> usize {
        8
    }
    pub fn buckets() -> usize {
        32
    }
    pub fn max_distance() -> usize {
        128
    }
    pub fn eps() -> f64 {
        1e-6
    }
    pub fn feed_forward_proj() -> String {
        "relu".to_string()
    }
    pub fn tie() -> bool {
        true
    }
    pub fn dropout_rate() -> f64 {
        0.1
    }
    pub fn initializer_factor() -> f64 {
        1.0
    }
}

/// A `config.json` that serde cannot read, as an error naming the field when serde's
/// message does (between backticks).
pub(crate) fn config_json_error(path: &Path, e: serde_json::Error) -> ModelError {
    let message = e.to_string();
    let field = message.split('`').nth(1).unwrap_or("(config)").to_string();
    ModelError::Config {
        path: path.to_path_buf(),
        field,
        message,
    }
}

/// At most 2^37 parameters (about 137 billion, 550 GB in f32).
const MAX_PARAMETERS: u128 = 1 << 37;

impl T5Config {
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ModelError::file(path, format!("cannot read model config: {e}")))?;
        Self::from_json_str(&text, path)
    }

    /// Parses config JSON; `path` is only used in error messages.
    pub fn from_json_str(text: &str, path: &Path) -> Result<Self> {
        let raw: RawConfig = serde_json::from_str(text).map_err(|e| config_json_error(path, e))?;
        let bad = |field: &str, message: String| ModelError::Config {
            path: path.to_path_buf(),
            field: field.to_string(),
            message,
        };

        let (activation, is_gated) = parse_feed_forward_proj(&raw.feed_forward_proj)
            .ok_or_else(|| {
                bad(
                    "feed_forward_proj",
                    format!(
                        "`{}` is not supported; expected `relu`, `gelu`, `gated-gelu`, `gated-silu`, \
                         or `[gated-]ACT` with ACT one of relu, gelu, gelu_new, silu",
                        raw.feed_forward_proj
                    ),
                )
            })?;
        // Sizes from 1 (0 where a missing key reads as 0) up to bounds far above any
        // published T5 (mT5-XXL: d_model 4096, d_ff 10240, vocab 250112, 24 layers, 64
        // heads): a config beyond them is broken or hostile and is refused before
        // anything is sized from it.
        for (field, value, min, max) in [
            ("vocab_size", raw.vocab_size, 1, 1 << 22),
            ("d_model", raw.d_model, 1, 1 << 16),
            ("d_kv", raw.d_kv, 1, 1 << 14),
            ("d_ff", raw.d_ff, 1, 1 << 18),
            ("num_heads", raw.num_heads, 1, 1 << 10),
            ("num_layers", raw.num_layers, 1, 1 << 10),
            ("num_decoder_layers", raw.num_decoder_layers.unwrap_or(0), 0, 1 << 10),
            ("relative_attention_num_buckets", raw.relative_attention_num_buckets, 1, 1 << 12),
            ("relative_attention_max_distance", raw.relative_attention_max_distance, 0, 1 << 20),
        ] {
            if value < min {
                return Err(bad(field, "must be greater than 0".to_string()));
            }
            if value > max {
                return Err(bad(field, format!("{value} is beyond the supported maximum {max}")));
            }
        }
        if !(raw.layer_norm_epsilon > 0.0) {
            return Err(bad("layer_norm_epsilon", "must be positive".to_string()));
        }
        if !(0.0..1.0).contains(&raw.dropout_rate) {
            return Err(bad("dropout_rate", "must be in [0, 1)".to_string()));
        }
        if !(raw.initializer_factor > 0.0) {
            return Err(bad("initializer_factor", "must be positive".to_string()));
        }
        let pad_token_id = raw.pad_token_id.unwrap_or(0);
        let eos_token_id = match raw.eos_token_id {
            None => vec![1],
            Some(EosIds::One(id)) => vec![id],
            Some(EosIds::Many(ids)) => ids,
        };
        let config = T5Config {
            vocab_size: raw.vocab_size,
            d_model: raw.d_model,
            d_kv: raw.d_kv,
            d_ff: raw.d_ff,
            num_layers: raw.num_layers,
            num_decoder_layers: raw.num_decoder_layers.unwrap_or(raw.num_layers),
            num_heads: raw.num_heads,
            relative_attention_num_buckets: raw.relative_attention_num_buckets,
            relative_attention_max_distance: raw.relative_attention_max_distance,
            layer_norm_epsilon: raw.layer_norm_epsilon,
            activation,
            is_gated,
            tie_word_embeddings: raw.tie_word_embeddings,
            pad_token_id,
            eos_token_id,
            // HF T5 falls back to the pad token as decoder start.
            decoder_start_token_id: raw.decoder_start_token_id.unwrap_or(pad_token_id),
            dropout_rate: raw.dropout_rate,
            initializer_factor: raw.initializer_factor,
        };
        // Each dimension is bounded above, so these products cannot overflow.
        let parameters: u128 = config.parameters().iter().map(|p| p.elem_count() as u128).sum();
        if parameters > MAX_PARAMETERS {
            return Err(bad(
                "(config)",
                format!("describes {parameters} parameters, beyond the supported maximum {MAX_PARAMETERS}"),
            ));
        }
        Ok(config)
    }

    /// Relative position buckets of a `q_len` × `k_len` grid of query/key positions
    /// (row-major; query `q` sits at position `q_offset + q`, key `k` at `k`).
    pub fn position_buckets(&self, q_len: usize, k_len: usize, q_offset: usize, bidirectional: bool) -> Vec<u32> {
        let mut buckets = Vec::with_capacity(q_len * k_len);
        for q in 0..q_len as i64 {
            for k in 0..k_len as i64 {
                buckets.push(crate::layers::relative_position_bucket(
                    k - (q + q_offset as i64),
                    bidirectional,
                    self.relative_attention_num_buckets,
                    self.relative_attention_max_distance,
                ) as u32);
            }
        }
        buckets
    }

    /// Width of the attention projections (`num_heads * d_kv`, not necessarily `d_model`).
    pub fn inner_dim(&self) -> usize {
        self.num_heads * self.d_kv
    }
}

/// HF: `act_info = feed_forward_proj.split("-")`, gated when it starts with `gated`,
/// and `gated-gelu` means `gelu_new` for backwards compatibility.
fn parse_feed_forward_proj(value: &str) -> Option<(Activation, bool)> {
    if value == "gated-gelu" {
        return Some((Activation::GeluTanh, true));
    }
    let parts: Vec<&str> = value.split('-').collect();
    match parts.as_slice() {
        [act] => Some((Activation::from_hf_name(act)?, false)),
        ["gated", act] => Some((Activation::from_hf_name(act)?, true)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<T5Config> {
        T5Config::from_json_str(json, Path::new("config.json"))
    }

    #[test]
    fn mt5_xl_fields() {
        let c = parse(
            r#"{"d_model":2048,"d_kv":64,"d_ff":5120,"num_layers":24,"num_heads":32,
                "feed_forward_proj":"gated-gelu","tie_word_embeddings":false,"vocab_size":250112,
                "decoder_start_token_id":0}"#,
        )
        .unwrap();
        assert_eq!(c.num_decoder_layers, 24);
        assert_eq!(c.activation, Activation::GeluTanh);
        assert!(c.is_gated);
        assert!(!c.tie_word_embeddings);
        assert_eq!(c.eos_token_id, vec![1]);
    }

    #[test]
    fn errors_name_the_field() {
        let err = parse(r#"{"feed_forward_proj":"gated-tanhshrink"}"#).unwrap_err();
        assert!(err.to_string().contains("feed_forward_proj"), "{err}");
        let err = parse(r#"{"d_model":"big"}"#).unwrap_err();
        assert!(err.to_string().contains("config.json"), "{err}");
        let err = parse(r#"{"num_heads":0}"#).unwrap_err();
        assert!(err.to_string().contains("num_heads"), "{err}");
    }

    #[test]
    fn absurd_sizes_are_refused_before_allocating() {
        let err = parse(r#"{"d_model":1000000000000}"#).unwrap_err();
        assert!(err.to_string().contains("d_model") && err.to_string().contains("maximum"), "{err}");
        let err = parse(r#"{"num_decoder_layers":100000}"#).unwrap_err();
        assert!(err.to_string().contains("num_decoder_layers"), "{err}");
        // Each size allowed, together too many: 1000 layers of d_model 65536, d_ff 262144.
        let err = parse(r#"{"d_model":65536,"d_ff":262144,"num_layers":1000,"d_kv":64,"num_heads":64}"#).unwrap_err();
        assert!(err.to_string().contains("parameters"), "{err}");
    }
}
