//! The FiD PLUG network of ChatPLUG-240M: a BERT encoder (post-LN) that encodes each
//! passage on its own, the outputs concatenated, and the PALM decoder (pre-LN, sinusoidal
//! positions, output projection tied to the decoder embedding, plus a bias) that
//! cross-attends over all of them. Numerics follow ModelScope's `fid_plug` backbone.

use std::path::Path;

use candle_core::{DType, Device, Tensor};

use crate::attention::{append, attend_memory, cached_len, merge_heads, reorder, split_heads, KeyValue};
use crate::config::Activation;
use crate::error::{ModelError, Result};
use crate::layers::{activate, softmax_last_dim, Linear};
use crate::plug::config::{PlugConfig, DECODER_LAYER_NORM_EPS};
use crate::plug::keys::plug_key;
use crate::precision::Precision;
use crate::weights::WeightStore;

/// `nn.Linear` with its bias.
struct Dense {
    linear: Linear,
    bias: Tensor,
}

impl Dense {
    fn load(store: &mut WeightStore, name: &str, out_dim: usize, in_dim: usize) -> Result<Self> {
        Ok(Dense {
            linear: Linear::load(store, name, out_dim, in_dim)?,
            bias: store.take(&format!("{name}.bias"), &[out_dim])?,
        })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        self.linear.forward(x)?.broadcast_add(&self.bias)
    }
}

/// `nn.LayerNorm` (mean and variance over the last dimension, weight and bias).
struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f32,
}

impl LayerNorm {
    fn load(store: &mut WeightStore, name: &str, dim: usize, eps: f64) -> Result<Self> {
        Ok(LayerNorm {
            weight: store.take(&format!("{name}.weight"), &[dim])?,
            bias: store.take(&format!("{name}.bias"), &[dim])?,
            eps: eps as f32,
        })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        candle_nn::ops::layer_norm(&x.contiguous()?, &self.weight, &self.bias, self.eps)
    }
}

/// Multi-head attention projections with biases; `heads` splits `dim`.
struct HeadedAttention {
    query: Dense,
    key: Dense,
    value: Dense,
    output: Dense,
    heads: usize,
    head_dim: usize,
}

impl HeadedAttention {
    fn load(store: &mut WeightStore, names: [&str; 4], dim: usize, heads: usize) -> Result<Self> {
        Ok(HeadedAttention {
            query: Dense::load(store, names[0], dim, dim)?,
            key: Dense::load(store, names[1], dim, dim)?,
            value: Dense::load(store, names[2], dim, dim)?,
            output: Dense::load(store, names[3], dim, dim)?,
            heads,
            head_dim: dim / heads,
        })
    }

    /// (batch, len, dim) → (batch, heads, len, head_dim)
    fn split(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        split_heads(x, self.heads, self.head_dim)
    }

    fn scale(&self) -> f64 {
        1.0 / (self.head_dim as f64).sqrt()
    }
}

struct EncoderLayer {
    attention: HeadedAttention,
    attention_norm: LayerNorm,
    intermediate: Dense,
    output: Dense,
    output_norm: LayerNorm,
}

struct DecoderLayer {
    self_attention: HeadedAttention,
    context_attention: HeadedAttention,
    norm_1: LayerNorm,
    norm_2: LayerNorm,
    ff_norm: LayerNorm,
    ff_in: Dense,
    ff_out: Dense,
}

/// One request's encoder side, computed once and shared by every hypothesis.
pub struct PlugEncoded {
    /// Per decoder layer: cross keys (1, heads, head_dim, positions), transposed for the
    /// score product, and values (1, heads, positions, head_dim).
    cross: Vec<(Tensor, Tensor)>,
    /// 0 for tokens, -inf for padding: (1, 1, 1, positions). The reference masks
    /// cross-attention where the source id is the pad id.
    cross_mask: Tensor,
    pub num_passages: usize,
    pub passage_len: usize,
}

/// Self-attention caches of a batch of hypotheses.
pub struct PlugDecoderState {
    caches: Vec<Option<KeyValue>>,
}

impl PlugDecoderState {
    /// Tokens fed so far (the next token's position).
    pub fn position(&self) -> usize {
        self.caches.first().map(|c| cached_len(c).unwrap_or(0)).unwrap_or(0)
    }
}

pub struct FidPlug {
    config: PlugConfig,
    device: Device,
    word_embeddings: Tensor,
    position_embeddings: Tensor,
    token_type_embeddings: Tensor,
    embeddings_norm: LayerNorm,
    encoder_layers: Vec<EncoderLayer>,
    decoder_embeddings: Tensor,
    decoder_layers: Vec<DecoderLayer>,
    decoder_norm: LayerNorm,
    /// The tied output projection (the decoder embedding, in the model's precision).
    generator: Linear,
    generator_bias: Tensor,
}

/// Positions of the PALM decoder's sinusoidal table (`PositionalEncoding(max_len=5000)`).
const DECODER_MAX_POSITIONS: usize = 5000;

impl FidPlug {
    /// Loads `config.json` and `pytorch_model.bin` (or safetensors) of a ChatPLUG-240M
    /// directory, with ModelScope's checkpoint key layouts.
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        Self::load_with_precision(dir, device, Precision::F32)
    }

    /// [`Self::load`] with the linear maps held in `precision`.
    pub fn load_with_precision(dir: &Path, device: &Device, precision: Precision) -> Result<Self> {
        let config_path = dir.join("config.json");
        if !config_path.is_file() {
            return Err(ModelError::file(&config_path, "missing model config"));
        }
        let config = PlugConfig::from_file(&config_path)?;
        let mut store = WeightStore::open_mapped(dir, DType::F32, device, &plug_key)?;
        store.set_precision(precision);
        let model = Self::from_store(config, &mut store, device)?;
        store.finish()?;
        Ok(model)
    }

    pub(crate) fn from_store(config: PlugConfig, store: &mut WeightStore, device: &Device) -> Result<Self> {
        let c = &config;
        let (v, d) = (c.vocab_size, c.hidden_size);
        let eps = c.layer_norm_eps;
        let word_embeddings = store.take("bert.embeddings.word_embeddings.weight", &[v, d])?;
        let position_embeddings =
            store.take("bert.embeddings.position_embeddings.weight", &[c.max_position_embeddings, d])?;
        let token_type_embeddings =
            store.take("bert.embeddings.token_type_embeddings.weight", &[c.type_vocab_size, d])?;
        let embeddings_norm = LayerNorm::load(store, "bert.embeddings.LayerNorm", d, eps)?;
        // Buffers and the pooler: saved by some versions, unused by generation.
        store.ignore_if_shaped("bert.embeddings.position_ids", &[1, c.max_position_embeddings])?;
        store.ignore_if_shaped("bert.pooler.dense.weight", &[d, d])?;
        store.ignore_if_shaped("bert.pooler.dense.bias", &[d])?;
        store.ignore_if_shaped("decoder.pos_emb.pe", &[1, DECODER_MAX_POSITIONS, d])?;

        let mut encoder_layers = Vec::with_capacity(c.num_hidden_layers);
        for i in 0..c.num_hidden_layers {
            let p = format!("bert.encoder.layer.{i}");
            let a = format!("{p}.attention.self");
            encoder_layers.push(EncoderLayer {
                attention: HeadedAttention::load(
                    store,
                    [&format!("{a}.query"), &format!("{a}.key"), &format!("{a}.value"), &format!("{p}.attention.output.dense")],
                    d,
                    c.num_attention_heads,
                )?,
                attention_norm: LayerNorm::load(store, &format!("{p}.attention.output.LayerNorm"), d, eps)?,
                intermediate: Dense::load(store, &format!("{p}.intermediate.dense"), c.intermediate_size, d)?,
                output: Dense::load(store, &format!("{p}.output.dense"), d, c.intermediate_size)?,
                output_norm: LayerNorm::load(store, &format!("{p}.output.LayerNorm"), d, eps)?,
            });
        }

        // The generator's weight and the decoder embedding are one parameter in the
        // reference; `load_state_dict` fills it from both keys, the generator's last (its
        // module is registered after the decoder), so that one wins when both are stored.
        let decoder_embeddings = match store.take_optional("generator.dense.weight", &[v, d])? {
            Some(weight) => {
                store.ignore_if_shaped("decoder.embeddings.weight", &[v, d])?;
                weight
            }
            None => store.take("decoder.embeddings.weight", &[v, d])?,
        };
        let generator = Linear::new(decoder_embeddings.clone(), store.precision())?;
        let generator_bias = store.take("generator.dense.bias", &[v])?;
        let deps = DECODER_LAYER_NORM_EPS;
        let mut decoder_layers = Vec::with_capacity(c.dec_layers);
        for i in 0..c.dec_layers {
            let p = format!("decoder.transformer_layers.{i}");
            let attention = |store: &mut WeightStore, kind: &str| {
                let a = format!("{p}.{kind}");
                HeadedAttention::load(
                    store,
                    [&format!("{a}.linear_query"), &format!("{a}.linear_keys"), &format!("{a}.linear_values"), &format!("{a}.final_linear")],
                    d,
                    c.dec_heads,
                )
            };
            store.ignore_if_shaped(&format!("{p}.mask"), &[1, DECODER_MAX_POSITIONS, DECODER_MAX_POSITIONS])?;
            decoder_layers.push(DecoderLayer {
                self_attention: attention(store, "self_attn")?,
                context_attention: attention(store, "context_attn")?,
                norm_1: LayerNorm::load(store, &format!("{p}.layer_norm_1"), d, deps)?,
                norm_2: LayerNorm::load(store, &format!("{p}.layer_norm_2"), d, deps)?,
                ff_norm: LayerNorm::load(store, &format!("{p}.feed_forward.layer_norm"), d, deps)?,
                ff_in: Dense::load(store, &format!("{p}.feed_forward.w_1"), c.dec_ff_size, d)?,
                ff_out: Dense::load(store, &format!("{p}.feed_forward.w_2"), d, c.dec_ff_size)?,
            });
        }
        let decoder_norm = LayerNorm::load(store, "decoder.layer_norm", d, deps)?;
        Ok(FidPlug {
            config,
            device: device.clone(),
            word_embeddings,
            position_embeddings,
            token_type_embeddings,
            embeddings_norm,
            encoder_layers,
            decoder_embeddings,
            decoder_layers,
            decoder_norm,
            generator,
            generator_bias,
        })
    }

    pub fn config(&self) -> &PlugConfig {
        &self.config
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    fn check_ids(&self, ids: &[u32], limit: usize, what: &str) -> Result<()> {
        if let Some(bad) = ids.iter().find(|&&id| id as usize >= limit) {
            return Err(ModelError::Input(format!("{what}: id {bad} is outside the model's range (< {limit})")));
        }
        Ok(())
    }

    /// Encodes FiD passages (each `[CLS] … [SEP]`, padded with the pad id or not) as one
    /// padded batch; `token_types` (same shapes) default to 0. Positions past the longest
    /// passage are padding; pad ids are masked wherever they are, as the reference does.
    pub fn encode(&self, passages: &[Vec<u32>], token_types: Option<&[Vec<u32>]>) -> Result<PlugEncoded> {
        if passages.is_empty() {
            return Err(ModelError::Input("a request needs at least one passage".into()));
        }
        let c = &self.config;
        let pad = c.pad_token_id;
        let passage_len = passages.iter().map(Vec::len).max().unwrap_or(0);
        if passage_len == 0 {
            return Err(ModelError::Input("every passage is empty".into()));
        }
        if passage_len > c.max_position_embeddings {
            return Err(ModelError::Input(format!(
                "a passage of {passage_len} tokens is longer than the encoder's {} positions",
                c.max_position_embeddings
            )));
        }
        if let Some(types) = token_types {
            if types.len() != passages.len() || types.iter().zip(passages).any(|(t, p)| t.len() != p.len()) {
                return Err(ModelError::Input("token_type_ids must have the passages' shape".into()));
            }
        }
        let n = passages.len();
        let mut ids = vec![pad; n * passage_len];
        let mut types = vec![0u32; n * passage_len];
        for (i, p) in passages.iter().enumerate() {
            self.check_ids(p, c.vocab_size, &format!("passage {i}"))?;
            ids[i * passage_len..i * passage_len + p.len()].copy_from_slice(p);
            if let Some(t) = token_types {
                self.check_ids(&t[i], c.type_vocab_size, &format!("token types of passage {i}"))?;
                types[i * passage_len..i * passage_len + p.len()].copy_from_slice(&t[i]);
            }
        }
        // HF BertModel: (1 - mask) * finfo.min added to the scores.
        let additive: Vec<f32> = ids.iter().map(|&t| if t == pad { f32::MIN } else { 0.0 }).collect();
        let cross: Vec<f32> = ids.iter().map(|&t| if t == pad { f32::NEG_INFINITY } else { 0.0 }).collect();
        let dev = &self.device;
        let ids_t = Tensor::from_vec(ids, n * passage_len, dev)?;
        let types_t = Tensor::from_vec(types, n * passage_len, dev)?;
        let positions = Tensor::arange(0u32, passage_len as u32, dev)?;
        let d = c.hidden_size;
        let embedded = self
            .word_embeddings
            .embedding(&ids_t)?
            .reshape((n, passage_len, d))?
            .broadcast_add(&self.position_embeddings.embedding(&positions)?.unsqueeze(0)?)?
            .add(&self.token_type_embeddings.embedding(&types_t)?.reshape((n, passage_len, d))?)?;
        let mut hidden = self.embeddings_norm.forward(&embedded)?;
        let mask = Tensor::from_vec(additive, (n, 1, 1, passage_len), dev)?;
        for layer in &self.encoder_layers {
            let a = &layer.attention;
            let q = a.split(&a.query.forward(&hidden)?)?;
            let k = a.split(&a.key.forward(&hidden)?)?;
            let v = a.split(&a.value.forward(&hidden)?)?;
            let scores = (q.matmul(&k.t()?)? * a.scale())?.broadcast_add(&mask)?;
            let context = merge_heads(&softmax_last_dim(&scores)?.matmul(&v)?)?;
            let attended = layer.attention_norm.forward(&(a.output.forward(&context)? + &hidden)?)?;
            let inner = activate(&layer.intermediate.forward(&attended)?, c.hidden_act)?;
            hidden = layer.output_norm.forward(&(layer.output.forward(&inner)? + &attended)?)?;
        }
        // Fusion: (passages, len, d) → (1, passages*len, d).
        let memory = hidden.reshape((1, n * passage_len, d))?;
        let mut cross_kv = Vec::with_capacity(self.decoder_layers.len());
        for layer in &self.decoder_layers {
            let a = &layer.context_attention;
            let keys = a.split(&a.key.forward(&memory)?)?.t()?.contiguous()?;
            let values = a.split(&a.value.forward(&memory)?)?;
            cross_kv.push((keys, values));
        }
        Ok(PlugEncoded {
            cross: cross_kv,
            cross_mask: Tensor::from_vec(cross, (1, 1, 1, n * passage_len), dev)?,
            num_passages: n,
            passage_len,
        })
    }

    pub fn new_decoder_state(&self) -> PlugDecoderState {
        PlugDecoderState {
            caches: (0..self.decoder_layers.len()).map(|_| None).collect(),
        }
    }

    /// Feeds one token per hypothesis; returns next-token log-probabilities (the reference's
    /// generator: the tied projection plus its bias, then log-softmax), (hypotheses, vocab).
    pub fn decode_step(&self, encoded: &PlugEncoded, state: &mut PlugDecoderState, tokens: &[u32]) -> Result<Tensor> {
        let c = &self.config;
        self.check_ids(tokens, c.vocab_size, "decoder input")?;
        let position = state.position();
        if position >= DECODER_MAX_POSITIONS {
            return Err(ModelError::Input(format!("the decoder has {DECODER_MAX_POSITIONS} positions")));
        }
        let batch = tokens.len();
        let d = c.hidden_size;
        let ids = Tensor::from_vec(tokens.to_vec(), batch, &self.device)?;
        let position_row = Tensor::from_vec(sinusoid(position, d), (1, 1, d), &self.device)?;
        let mut hidden = (self.decoder_embeddings.embedding(&ids)?.reshape((batch, 1, d))? * (d as f64).sqrt())?
            .broadcast_add(&position_row)?;
        for ((layer, cache), (keys_t, values)) in self.decoder_layers.iter().zip(state.caches.iter_mut()).zip(&encoded.cross) {
            // Self-attention over the normalised inputs so far.
            let a = &layer.self_attention;
            let normed = layer.norm_1.forward(&hidden)?;
            let q = (a.split(&a.query.forward(&normed)?)? * a.scale())?;
            let step = KeyValue {
                keys: a.split(&a.key.forward(&normed)?)?,
                values: a.split(&a.value.forward(&normed)?)?,
            };
            let kv = append(cache, step)?;
            let weights = softmax_last_dim(&q.matmul(&kv.keys.t()?)?)?;
            let attended = a.output.forward(&merge_heads(&weights.matmul(&kv.values)?)?)?;
            let query = (attended + &hidden)?;

            // Cross-attention over the one memory, shared by the hypotheses.
            let a = &layer.context_attention;
            let normed = layer.norm_2.forward(&query)?;
            let q = (a.query.forward(&normed)? * a.scale())?;
            let context = attend_memory(&q, keys_t, values, &encoded.cross_mask, a.heads)?;
            let mid = a.output.forward(&context)?;

            let ff_input = (mid + &query)?;
            let inner = activate(&layer.ff_in.forward(&layer.ff_norm.forward(&ff_input)?)?, Activation::GeluTanh)?;
            hidden = (layer.ff_out.forward(&inner)? + &ff_input)?;
        }
        let hidden = self.decoder_norm.forward(&hidden)?.reshape((batch, d))?;
        let logits = self.generator.forward(&hidden)?.broadcast_add(&self.generator_bias)?;
        Ok(candle_nn::ops::log_softmax(&logits, 1)?)
    }

    /// Keeps hypotheses `rows` (with repetition) of the decoder caches, in that order.
    pub fn reorder(&self, state: &mut PlugDecoderState, rows: &[u32]) -> Result<()> {
        let rows = Tensor::from_vec(rows.to_vec(), rows.len(), &self.device)?;
        for cache in state.caches.iter_mut() {
            reorder(cache, &rows)?;
        }
        Ok(())
    }

    /// Log-probabilities of the last decoder position for one request (teacher forcing).
    pub fn forward_log_probs(
        &self,
        passages: &[Vec<u32>],
        token_types: Option<&[Vec<u32>]>,
        decoder_input_ids: &[u32],
    ) -> Result<Vec<f32>> {
        if decoder_input_ids.is_empty() {
            return Err(ModelError::Input("decoder_input_ids is empty".into()));
        }
        let encoded = self.encode(passages, token_types)?;
        let mut state = self.new_decoder_state();
        let mut last = None;
        for &token in decoder_input_ids {
            last = Some(self.decode_step(&encoded, &mut state, &[token])?);
        }
        Ok(last.unwrap().squeeze(0)?.to_vec1::<f32>()?)
    }
}

/// Row `position` of the PALM sinusoidal table: sin at even, cos at odd dimensions, with
/// the reference's f32 arithmetic (`exp(2i * -(ln 10000 / dim))`, then `position * term`).
fn sinusoid(position: usize, dim: usize) -> Vec<f32> {
    let mut row = vec![0f32; dim];
    let factor = (-(10000f64.ln() / dim as f64)) as f32;
    for i in (0..dim).step_by(2) {
        let angle = position as f32 * (i as f32 * factor).exp();
        row[i] = angle.sin();
        if i + 1 < dim {
            row[i + 1] = angle.cos();
        }
    }
    row
}
