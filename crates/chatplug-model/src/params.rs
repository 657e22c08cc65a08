//! The parameters of a T5 model as HF names them, with their shapes and HF's initialisation.
//!
//! One list serves every place that must agree on a model's tensors: a fresh model for
//! training, loading a checkpoint to fine-tune, and saving weights the engine (and HF) load.

use crate::config::T5Config;

/// How HF `T5PreTrainedModel._init_weights` initialises a tensor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Init {
    /// Normal with mean 0 and this standard deviation.
    Normal(f64),
    /// Every element this value (layer norms).
    Constant(f64),
}

/// One named parameter: HF name, shape, initialisation.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamSpec {
    pub name: String,
    pub shape: Vec<usize>,
    pub init: Init,
}

impl ParamSpec {
    fn new(name: String, shape: Vec<usize>, init: Init) -> Self {
        ParamSpec { name, shape, init }
    }

    pub fn elem_count(&self) -> usize {
        self.shape.iter().product()
    }
}

impl T5Config {
    /// Every parameter of `T5ForConditionalGeneration` in `named_parameters()` order, with
    /// tied tensors listed once (`shared.weight`; `lm_head.weight` only when untied). The
    /// relative attention bias lives in block 0 of each stack only.
    pub fn parameters(&self) -> Vec<ParamSpec> {
        let f = self.initializer_factor;
        let (v, d, ff, h) = (self.vocab_size, self.d_model, self.d_ff, self.num_heads);
        let inner = self.inner_dim();
        let d_f = d as f64;
        let norm = |name: String| ParamSpec::new(format!("{name}.weight"), vec![d], Init::Constant(f));
        let mut out = vec![ParamSpec::new("shared.weight".into(), vec![v, d], Init::Normal(f))];

        let attention = |out: &mut Vec<ParamSpec>, prefix: &str, with_bias: bool| {
            // HF scales q by (d_model * d_kv)^-0.5 instead of scaling the scores.
            let q_std = f * (d_f * self.d_kv as f64).powf(-0.5);
            out.push(ParamSpec::new(format!("{prefix}.q.weight"), vec![inner, d], Init::Normal(q_std)));
            for kv in ["k", "v"] {
                out.push(ParamSpec::new(format!("{prefix}.{kv}.weight"), vec![inner, d], Init::Normal(f * d_f.powf(-0.5))));
            }
            let o_std = f * (inner as f64).powf(-0.5);
            out.push(ParamSpec::new(format!("{prefix}.o.weight"), vec![d, inner], Init::Normal(o_std)));
            if with_bias {
                out.push(ParamSpec::new(
                    format!("{prefix}.relative_attention_bias.weight"),
                    vec![self.relative_attention_num_buckets, h],
                    Init::Normal(f * d_f.powf(-0.5)),
                ));
            }
        };
        let feed_forward = |out: &mut Vec<ParamSpec>, prefix: &str| {
            let wi_std = f * d_f.powf(-0.5);
            if self.is_gated {
                for wi in ["wi_0", "wi_1"] {
                    out.push(ParamSpec::new(format!("{prefix}.{wi}.weight"), vec![ff, d], Init::Normal(wi_std)));
                }
            } else {
                out.push(ParamSpec::new(format!("{prefix}.wi.weight"), vec![ff, d], Init::Normal(wi_std)));
            }
            out.push(ParamSpec::new(format!("{prefix}.wo.weight"), vec![d, ff], Init::Normal(f * (ff as f64).powf(-0.5))));
        };

        for i in 0..self.num_layers {
            let p = format!("encoder.block.{i}.layer");
            attention(&mut out, &format!("{p}.0.SelfAttention"), i == 0);
            out.push(norm(format!("{p}.0.layer_norm")));
            feed_forward(&mut out, &format!("{p}.1.DenseReluDense"));
            out.push(norm(format!("{p}.1.layer_norm")));
        }
        out.push(norm("encoder.final_layer_norm".into()));
        for i in 0..self.num_decoder_layers {
            let p = format!("decoder.block.{i}.layer");
            attention(&mut out, &format!("{p}.0.SelfAttention"), i == 0);
            out.push(norm(format!("{p}.0.layer_norm")));
            attention(&mut out, &format!("{p}.1.EncDecAttention"), false);
            out.push(norm(format!("{p}.1.layer_norm")));
            feed_forward(&mut out, &format!("{p}.2.DenseReluDense"));
            out.push(norm(format!("{p}.2.layer_norm")));
        }
        out.push(norm("decoder.final_layer_norm".into()));
        if !self.tie_word_embeddings {
            out.push(ParamSpec::new("lm_head.weight".into(), vec![v, d], Init::Normal(f)));
        }
        out
    }
}

/// Reads every parameter of `config.parameters()` from a model directory's checkpoint (any
/// format and key layout the engine loads), as f32 on `device`. Tied copies stored under
/// other names are accepted as HF accepts them; a missing, extra or mis-shaped tensor is an
/// error naming it.
pub fn load_parameters(
    config: &T5Config,
    dir: &std::path::Path,
    device: &candle_core::Device,
) -> crate::Result<Vec<(ParamSpec, candle_core::Tensor)>> {
    let mut store = crate::weights::WeightStore::open(dir, candle_core::DType::F32, device)?;
    let (v, d) = (config.vocab_size, config.d_model);
    let shared_name = ["shared.weight", "encoder.embed_tokens.weight", "decoder.embed_tokens.weight"]
        .into_iter()
        .find(|n| store.contains(n))
        .unwrap_or("shared.weight");
    let mut out = Vec::new();
    for spec in config.parameters() {
        let name = if spec.name == "shared.weight" { shared_name } else { spec.name.as_str() };
        let tensor = store.take(name, &spec.shape)?;
        out.push((spec, tensor));
    }
    for tied in ["encoder.embed_tokens.weight", "decoder.embed_tokens.weight"] {
        store.ignore_if_shaped(tied, &[v, d])?;
    }
    if config.tie_word_embeddings {
        store.ignore_if_shaped("lm_head.weight", &[v, d])?;
    }
    store.ignore_if_shaped(
        "decoder.block.0.layer.1.EncDecAttention.relative_attention_bias.weight",
        &[config.relative_attention_num_buckets, config.num_heads],
    )?;
    store.finish()?;
    Ok(out)
}
