//! `config.json` of a ChatPLUG-240M (FiD PLUG) directory: ModelScope's `PlugConfig` fields
//! (the PALM decoder) and the `BertConfig` fields its encoder is built from, in one file.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::config::{config_json_error, Activation};
use crate::error::{ModelError, Result};

/// The computation-relevant fields. Unknown fields are ignored (as transformers does).
#[derive(Debug, Clone)]
pub struct PlugConfig {
    pub vocab_size: usize,
    /// The encoder's width, also the decoder's (the decoder embedding is the encoder's size).
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub hidden_act: Activation,
    pub max_position_embeddings: usize,
    pub type_vocab_size: usize,
    pub layer_norm_eps: f64,
    pub dec_layers: usize,
    pub dec_heads: usize,
    pub dec_ff_size: usize,
    /// Accepted and ignored: in the reference's beam search it acts after the top-k choice,
    /// so it changes no output (see `translate`).
    pub block_trigram: bool,
    pub pad_token_id: u32,
}

/// The decoder's layer norms (`nn.LayerNorm(d_model, eps=1e-6)` in the PALM code).
pub const DECODER_LAYER_NORM_EPS: f64 = 1e-6;

#[derive(Deserialize)]
struct RawConfig {
    // BertConfig defaults.
    #[serde(default = "d::vocab")]
    vocab_size: usize,
    #[serde(default = "d::hidden")]
    hidden_size: usize,
    #[serde(default = "d::layers")]
    num_hidden_layers: usize,
    #[serde(default = "d::heads")]
    num_attention_heads: usize,
    #[serde(default = "d::intermediate")]
    intermediate_size: usize,
    #[serde(default = "d::act")]
    hidden_act: String,
    #[serde(default = "d::positions")]
    max_position_embeddings: usize,
    #[serde(default = "d::types")]
    type_vocab_size: usize,
    #[serde(default = "d::bert_eps")]
    layer_norm_eps: f64,
    #[serde(default)]
    pad_token_id: Option<u32>,
    // PlugConfig defaults.
    #[serde(default = "d::encoder")]
    encoder: String,
    #[serde(default = "d::layers")]
    dec_layers: usize,
    #[serde(default = "d::hidden")]
    dec_hidden_size: usize,
    #[serde(default = "d::dec_heads")]
    dec_heads: usize,
    #[serde(default = "d::intermediate")]
    dec_ff_size: usize,
    #[serde(default)]
    block_trigram: bool,
    #[serde(default)]
    max_pos: Option<usize>,
}

mod d {
    pub fn vocab() -> usize {
        30522
    }
    pub fn hidden() -> usize {
        768
    }
    pub fn layers() -> usize {
        12
    }
    pub fn heads() -> usize {
        12
    }
    pub fn dec_heads() -> usize {
        8
    }
    pub fn intermediate() -> usize {
        3072
    }
    pub fn act() -> String {
        "gelu".into()
    }
    pub fn positions() -> usize {
        512
    }
    pub fn types() -> usize {
        2
    }
    pub fn bert_eps() -> f64 {
        1e-12
    }
    pub fn encoder() -> String {
        // PlugConfig's own default; ChatPLUG-240M says "zh_bert" or "bert".
        "roberta".into()
    }
}

impl PlugConfig {
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ModelError::file(path, format!("cannot read model config: {e}")))?;
        Self::from_json_str(&text, path)
    }

    /// Whether a parsed `config.json` describes a PLUG model rather than a T5:
    /// `model_type` "plug", a `Plug…` architecture, or any PlugConfig-only field.
    pub fn describes_plug(json: &Value) -> bool {
        let plug_architecture = json
            .get("architectures")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|n| n.as_str().is_some_and(|n| n.starts_with("Plug"))));
        json.get("model_type").and_then(Value::as_str) == Some("plug")
            || plug_architecture
            || ["dec_layers", "dec_heads", "dec_hidden_size", "dec_ff_size", "encoder_pth"]
                .iter()
                .any(|field| json.get(field).is_some())
    }

    pub fn from_json_str(text: &str, path: &Path) -> Result<Self> {
        let raw: RawConfig = serde_json::from_str(text).map_err(|e| config_json_error(path, e))?;
        let bad = |field: &str, message: String| ModelError::Config {
            path: path.to_path_buf(),
            field: field.to_string(),
            message,
        };
        if !matches!(raw.encoder.as_str(), "bert" | "zh_bert") {
            return Err(bad(
                "encoder",
                format!("`{}` is not supported; ChatPLUG-240M's encoder is `bert` / `zh_bert`", raw.encoder),
            ));
        }
        let hidden_act = match raw.hidden_act.as_str() {
            "gelu" => Activation::GeluErf,
            "gelu_new" | "gelu_pytorch_tanh" => Activation::GeluTanh,
            "relu" => Activation::Relu,
            "silu" | "swish" => Activation::Silu,
            other => return Err(bad("hidden_act", format!("`{other}` is not supported (gelu, gelu_new, relu, silu)"))),
        };
        // Bounds far above BERT-large and the PALM decoders: a config beyond them is broken
        // or hostile and is refused before anything is sized from it.
        for (field, value, max) in [
            ("vocab_size", raw.vocab_size, 1 << 22),
            ("hidden_size", raw.hidden_size, 1 << 16),
            ("num_hidden_layers", raw.num_hidden_layers, 1 << 10),
            ("num_attention_heads", raw.num_attention_heads, 1 << 10),
            ("intermediate_size", raw.intermediate_size, 1 << 18),
            ("max_position_embeddings", raw.max_position_embeddings, 1 << 16),
            ("type_vocab_size", raw.type_vocab_size, 1 << 10),
            ("dec_layers", raw.dec_layers, 1 << 10),
            ("dec_heads", raw.dec_heads, 1 << 10),
            ("dec_ff_size", raw.dec_ff_size, 1 << 18),
        ] {
            if value == 0 {
                return Err(bad(field, "must be greater than 0".into()));
            }
            if value > max {
                return Err(bad(field, format!("{value} is beyond the supported maximum {max}")));
            }
        }
        if raw.dec_hidden_size != raw.hidden_size {
            return Err(bad(
                "dec_hidden_size",
                format!(
                    "{} differs from hidden_size {}: the PLUG decoder embeds with the encoder's width",
                    raw.dec_hidden_size, raw.hidden_size
                ),
            ));
        }
        if raw.hidden_size % raw.num_attention_heads != 0 {
            return Err(bad("num_attention_heads", format!("does not divide hidden_size {}", raw.hidden_size)));
        }
        if raw.hidden_size % raw.dec_heads != 0 {
            return Err(bad("dec_heads", format!("does not divide hidden_size {}", raw.hidden_size)));
        }
        if raw.max_pos.is_some_and(|p| p > 512) {
            return Err(bad("max_pos", "beyond 512 (extended BERT positions) is not supported".into()));
        }
        if !(raw.layer_norm_eps > 0.0) {
            return Err(bad("layer_norm_eps", "must be positive".into()));
        }
        Ok(PlugConfig {
            vocab_size: raw.vocab_size,
            hidden_size: raw.hidden_size,
            num_hidden_layers: raw.num_hidden_layers,
            num_attention_heads: raw.num_attention_heads,
            intermediate_size: raw.intermediate_size,
            hidden_act,
            max_position_embeddings: raw.max_position_embeddings,
            type_vocab_size: raw.type_vocab_size,
            layer_norm_eps: raw.layer_norm_eps,
            dec_layers: raw.dec_layers,
            dec_heads: raw.dec_heads,
            dec_ff_size: raw.dec_ff_size,
            block_trigram: raw.block_trigram,
            pad_token_id: raw.pad_token_id.unwrap_or(0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::PlugConfig;
    use serde_json::json;

    #[test]
    fn plug_configs_are_told_from_t5_configs() {
        assert!(PlugConfig::describes_plug(&json!({"model_type": "plug"})));
        assert!(PlugConfig::describes_plug(&json!({"architectures": ["PlugForConditionalGeneration"]})));
        assert!(PlugConfig::describes_plug(&json!({"dec_layers": 12, "hidden_size": 768})));
        assert!(!PlugConfig::describes_plug(&json!({"model_type": "t5", "d_model": 512, "num_decoder_layers": 6})));
        assert!(!PlugConfig::describes_plug(&json!({"architectures": ["T5ForConditionalGeneration"]})));
    }

    #[test]
    fn a_roberta_encoder_is_refused_by_name() {
        // PlugConfig's own default encoder is RoBERTa; ChatPLUG-240M's is BERT.
        let err = PlugConfig::from_json_str(r#"{"dec_layers": 2}"#, std::path::Path::new("config.json")).unwrap_err();
        assert!(err.to_string().contains("encoder") && err.to_string().contains("roberta"), "{err}");
    }
}
