//! The Fusion-in-Decoder T5 model: passages encoded as one padded batch, encoder outputs
//! concatenated, and a decoder that cross-attends over all of them.

use std::path::Path;

use candle_core::{DType, Device, Tensor};

use crate::attention::{cached_len, reorder, Attention, CrossGroup, CrossMemory, KeyValue, StepGroup};
use crate::config::T5Config;
use crate::error::{ModelError, Result};
use crate::layers::{Embedding, FeedForward, Linear, RmsNorm};
use crate::precision::Precision;
use crate::weights::WeightStore;

struct EncoderLayer {
    attention_norm: RmsNorm,
    attention: Attention,
    ff_norm: RmsNorm,
    ff: FeedForward,
}

struct DecoderLayer {
    self_attention_norm: RmsNorm,
    self_attention: Attention,
    cross_attention_norm: RmsNorm,
    cross_attention: Attention,
    ff_norm: RmsNorm,
    ff: FeedForward,
}

/// How the final decoder states become vocabulary logits: a (vocab, d_model) matrix,
/// the shared embedding when tied (T5 then rescales the states by `d_model^-0.5`).
struct OutputHead {
    /// (vocab, d_model)
    projection: Linear,
    tied: bool,
}

impl OutputHead {
    fn forward(&self, hidden: &Tensor, d_model: usize) -> candle_core::Result<Tensor> {
        let hidden = if self.tied {
            (hidden * (d_model as f64).powf(-0.5))?
        } else {
            hidden.clone()
        };
        self.projection.forward(&hidden)
    }
}

pub struct FidT5 {
    config: T5Config,
    device: Device,
    dtype: DType,
    /// The shared token embedding, in the model's precision.
    shared: Embedding,
    encoder_layers: Vec<EncoderLayer>,
    encoder_final_norm: RmsNorm,
    /// (buckets, heads)
    encoder_relative_bias: Tensor,
    decoder_layers: Vec<DecoderLayer>,
    decoder_final_norm: RmsNorm,
    decoder_relative_bias: Tensor,
    head: OutputHead,
}

/// The encoder side of one request, computed once and shared by every hypothesis.
pub struct EncodedPassages {
    /// Cross-attention keys/values per decoder layer over passages*len positions.
    cross: Vec<CrossMemory>,
    /// 0 for real tokens, the most negative f32 for padding: (1, 1, 1, passages*len).
    cross_mask: Tensor,
    pub num_passages: usize,
    pub passage_len: usize,
}

/// One request's part of a batched decoding step ([`FidT5::decode_steps`]): its encoder
/// side, its caches and one input token per hypothesis.
pub struct StepRequest<'a> {
    pub encoded: &'a EncodedPassages,
    pub state: &'a mut DecoderState,
    pub tokens: &'a [u32],
}

/// Self-attention caches of a batch of hypotheses.
pub struct DecoderState {
    caches: Vec<Option<KeyValue>>,
}

impl DecoderState {
    pub fn position(&self) -> usize {
        self.caches
            .first()
            .map(|c| cached_len(c).unwrap_or(0))
            .unwrap_or(0)
    }
}

impl FidT5 {
    /// Loads `config.json` and the checkpoint from a model directory, as released (f32).
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        Self::load_with_precision(dir, device, Precision::F32)
    }

    /// [`Self::load`] with the linear maps held in `precision`.
    pub fn load_with_precision(dir: &Path, device: &Device, precision: Precision) -> Result<Self> {
        let config_path = dir.join("config.json");
        if !config_path.is_file() {
            return Err(ModelError::file(&config_path, "missing model config"));
        }
        let config = T5Config::from_file(&config_path)?;
        let mut store = WeightStore::open(dir, DType::F32, device)?;
        store.set_precision(precision);
        let model = Self::from_store(config, &mut store, device)?;
        store.finish()?;
        Ok(model)
    }

    pub(crate) fn from_store(config: T5Config, store: &mut WeightStore, device: &Device) -> Result<Self> {
        let (v, d, h) = (config.vocab_size, config.d_model, config.num_heads);
        let eps = config.layer_norm_epsilon;
        let buckets = config.relative_attention_num_buckets;

        // The shared embedding may be stored once under any of its tied names.
        let shared_name = ["shared.weight", "encoder.embed_tokens.weight", "decoder.embed_tokens.weight"]
            .into_iter()
            .find(|n| store.contains(n))
            .unwrap_or("shared.weight");
        // Held in the model's precision; loading in int8 quantizes straight from the file
        // when it can: no f32 copy of 250,112 rows.
        let shared = match store.take_quantized(shared_name, v, d)? {
            Some(matrix) => Embedding::from_int8(matrix),
            None => Embedding::new(&store.take_for_precision(shared_name, &[v, d])?, store.precision())?,
        };
        for tied in ["encoder.embed_tokens.weight", "decoder.embed_tokens.weight"] {
            store.ignore_if_shaped(tied, &[v, d])?;
        }
        // HF drops this unused tensor on load (`_keys_to_ignore_on_load_unexpected`).
        store.ignore_if_shaped(
            "decoder.block.0.layer.1.EncDecAttention.relative_attention_bias.weight",
            &[buckets, h],
        )?;

        let mut encoder_layers = Vec::with_capacity(config.num_layers);
        for i in 0..config.num_layers {
            let p = format!("encoder.block.{i}.layer");
            encoder_layers.push(EncoderLayer {
                attention_norm: RmsNorm::load(store, &format!("{p}.0.layer_norm"), d, eps)?,
                attention: Attention::load(store, &format!("{p}.0.SelfAttention"), &config)?,
                ff_norm: RmsNorm::load(store, &format!("{p}.1.layer_norm"), d, eps)?,
                ff: FeedForward::load(store, &format!("{p}.1.DenseReluDense"), &config)?,
            });
        }
        let encoder_relative_bias = store.take(
            "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
            &[buckets, h],
        )?;
        let encoder_final_norm = RmsNorm::load(store, "encoder.final_layer_norm", d, eps)?;

        let mut decoder_layers = Vec::with_capacity(config.num_decoder_layers);
        for i in 0..config.num_decoder_layers {
            let p = format!("decoder.block.{i}.layer");
            decoder_layers.push(DecoderLayer {
                self_attention_norm: RmsNorm::load(store, &format!("{p}.0.layer_norm"), d, eps)?,
                self_attention: Attention::load(store, &format!("{p}.0.SelfAttention"), &config)?,
                cross_attention_norm: RmsNorm::load(store, &format!("{p}.1.layer_norm"), d, eps)?,
                cross_attention: Attention::load(store, &format!("{p}.1.EncDecAttention"), &config)?,
                ff_norm: RmsNorm::load(store, &format!("{p}.2.layer_norm"), d, eps)?,
                ff: FeedForward::load(store, &format!("{p}.2.DenseReluDense"), &config)?,
            });
        }
        let decoder_relative_bias = store.take(
            "decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
            &[buckets, h],
        )?;
        let decoder_final_norm = RmsNorm::load(store, "decoder.final_layer_norm", d, eps)?;

        let head = if config.tie_word_embeddings {
            // A stored copy of the tied head is ignored, as in HF.
            store.ignore_if_shaped("lm_head.weight", &[v, d])?;
            OutputHead {
                projection: shared.tied_projection(),
                tied: true,
            }
        } else {
            OutputHead {
                projection: Linear::load(store, "lm_head", v, d)?,
                tied: false,
            }
        };

        Ok(FidT5 {
            config,
            device: device.clone(),
            dtype: DType::F32,
            shared,
            encoder_layers,
            encoder_final_norm,
            encoder_relative_bias,
            decoder_layers,
            decoder_final_norm,
            decoder_relative_bias,
            head,
        })
    }

    pub fn config(&self) -> &T5Config {
        &self.config
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    fn embed(&self, ids: &Tensor) -> candle_core::Result<Tensor> {
        self.shared.forward(ids)
    }

    fn check_ids(&self, ids: &[u32], what: &str) -> Result<()> {
        if let Some(bad) = ids.iter().find(|&&id| id as usize >= self.config.vocab_size) {
            return Err(ModelError::Input(format!(
                "{what}: token id {bad} is outside the model vocabulary (vocab_size {})",
                self.config.vocab_size
            )));
        }
        Ok(())
    }

    /// Encodes FiD passages (token ids, unpadded or padded with 0) as one padded batch and
    /// prepares the cross-attention memory of every decoder layer.
    pub fn encode(&self, passages: &[Vec<u32>]) -> Result<EncodedPassages> {
        if passages.is_empty() {
            return Err(ModelError::Input("a request needs at least one passage".into()));
        }
        let pad = self.config.pad_token_id;
        // Trailing pads are padding; the longest passage sets the batch length.
        let lengths: Vec<usize> = passages
            .iter()
            .map(|p| p.len() - p.iter().rev().take_while(|&&t| t == pad).count())
            .collect();
        let passage_len = lengths.iter().copied().max().unwrap_or(0);
        if passage_len == 0 {
            return Err(ModelError::Input("every passage is empty (only padding)".into()));
        }
        let n = passages.len();
        let mut ids = vec![pad; n * passage_len];
        for (i, (p, &len)) in passages.iter().zip(&lengths).enumerate() {
            self.check_ids(p, &format!("passage {i}"))?;
            ids[i * passage_len..i * passage_len + len].copy_from_slice(&p[..len]);
        }
        // HF masks by `ids != pad`, so a pad id inside a passage is masked too.
        let additive: Vec<f32> = ids
            .iter()
            .map(|&t| if t == pad { f32::MIN } else { 0.0 })
            .collect();
        let ids = Tensor::from_vec(ids, (n, passage_len), &self.device)?;
        let additive = Tensor::from_vec(additive, (n, 1, 1, passage_len), &self.device)?;

        let position_bias = self.encoder_position_bias(passage_len)?;
        let bias = position_bias.broadcast_add(&additive)?.to_dtype(self.dtype)?;

        let mut hidden = self.embed(&ids)?;
        for layer in &self.encoder_layers {
            let normed = layer.attention_norm.forward(&hidden)?;
            hidden = (hidden + layer.attention.forward_full(&normed, &bias)?)?;
            let normed = layer.ff_norm.forward(&hidden)?;
            hidden = (hidden + layer.ff.forward(&normed)?)?;
        }
        let hidden = self.encoder_final_norm.forward(&hidden)?;
        // Fusion: (passages, len, d) → (1, passages*len, d).
        let fused = hidden.reshape((1, n * passage_len, self.config.d_model))?;
        let cross = self
            .decoder_layers
            .iter()
            .map(|layer| layer.cross_attention.project_memory(&fused))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let cross_mask = additive.reshape((1, 1, 1, n * passage_len))?;
        Ok(EncodedPassages {
            cross,
            cross_mask,
            num_passages: n,
            passage_len,
        })
    }

    /// (1, heads, len, len) bidirectional relative position bias.
    fn encoder_position_bias(&self, len: usize) -> candle_core::Result<Tensor> {
        let c = &self.config;
        let buckets = c.position_buckets(len, len, 0, true);
        let buckets = Tensor::from_vec(buckets, len * len, &self.device)?;
        self.encoder_relative_bias
            .embedding(&buckets)? // (len*len, heads)
            .reshape((len, len, c.num_heads))?
            .permute((2, 0, 1))?
            .unsqueeze(0)?
            .contiguous()
    }

    /// (1, heads, 1, position+1): the causal bias row of the query at `position`.
    fn decoder_position_bias(&self, position: usize) -> candle_core::Result<Tensor> {
        let c = &self.config;
        let buckets = c.position_buckets(1, position + 1, position, false);
        let buckets = Tensor::from_vec(buckets, position + 1, &self.device)?;
        self.decoder_relative_bias
            .embedding(&buckets)? // (positions, heads)
            .t()?
            .reshape((1, c.num_heads, 1, position + 1))?
            .contiguous()
    }

    pub fn new_decoder_state(&self) -> DecoderState {
        DecoderState {
            caches: (0..self.decoder_layers.len()).map(|_| None).collect(),
        }
    }

    /// Feeds one token per hypothesis and returns next-token logits, (hypotheses, vocab), f32.
    pub fn decode_step(
        &self,
        encoded: &EncodedPassages,
        state: &mut DecoderState,
        tokens: &[u32],
    ) -> Result<Tensor> {
        let mut logits = self.decode_steps(&mut [StepRequest { encoded, state, tokens }])?;
        Ok(logits.pop().expect("one request, one result"))
    }

    /// One decoding step of several requests in one pass over the weights (continuous
    /// batching): embeddings, norms, linear maps, feed-forward blocks and the vocabulary
    /// head run on all hypotheses' rows together; attention runs per request over its own
    /// caches and encoder output. Every kernel on the shared rows works row by row, so each
    /// request's logits are bit for bit those of [`Self::decode_step`] alone. Returns one
    /// (hypotheses, vocab) f32 tensor per request.
    pub fn decode_steps(&self, requests: &mut [StepRequest<'_>]) -> Result<Vec<Tensor>> {
        let mut tokens = Vec::new();
        let mut biases = Vec::with_capacity(requests.len());
        for request in requests.iter() {
            self.check_ids(request.tokens, "decoder input")?;
            tokens.extend_from_slice(request.tokens);
            biases.push(self.decoder_position_bias(request.state.position())?.to_dtype(self.dtype)?);
        }
        let total = tokens.len();
        let ids = Tensor::from_vec(tokens, (total, 1), &self.device)?;
        let mut hidden = self.embed(&ids)?;
        for (l, layer) in self.decoder_layers.iter().enumerate() {
            let normed = layer.self_attention_norm.forward(&hidden)?;
            let mut groups: Vec<StepGroup<'_>> = requests
                .iter_mut()
                .zip(&biases)
                .map(|(request, bias)| StepGroup {
                    rows: request.tokens.len(),
                    cache: &mut request.state.caches[l],
                    bias,
                })
                .collect();
            hidden = (hidden + layer.self_attention.forward_steps(&normed, &mut groups)?)?;
            let normed = layer.cross_attention_norm.forward(&hidden)?;
            let memories: Vec<CrossGroup<'_>> = requests
                .iter()
                .map(|request| CrossGroup {
                    rows: request.tokens.len(),
                    memory: &request.encoded.cross[l],
                    mask: &request.encoded.cross_mask,
                })
                .collect();
            hidden = (hidden + layer.cross_attention.forward_cross_many(&normed, &memories)?)?;
            let normed = layer.ff_norm.forward(&hidden)?;
            hidden = (hidden + layer.ff.forward(&normed)?)?;
        }
        let hidden = self.decoder_final_norm.forward(&hidden)?.squeeze(1)?;
        let logits = self.head.forward(&hidden.contiguous()?, self.config.d_model)?.to_dtype(DType::F32)?;
        let mut out = Vec::with_capacity(requests.len());
        let mut start = 0;
        for request in requests.iter() {
            out.push(logits.narrow(0, start, request.tokens.len())?);
            start += request.tokens.len();
        }
        Ok(out)
    }

    /// Keeps hypotheses `rows` (with repetition) of the decoder caches, in that order.
    pub fn reorder(&self, state: &mut DecoderState, rows: &[u32]) -> Result<()> {
        let rows = Tensor::from_vec(rows.to_vec(), rows.len(), &self.device)?;
        for cache in state.caches.iter_mut() {
            reorder(cache, &rows)?;
        }
        Ok(())
    }

    /// Raw logits of the last decoder position for one request (teacher forcing).
    pub fn forward_logits(&self, passages: &[Vec<u32>], decoder_input_ids: &[u32]) -> Result<Vec<f32>> {
        if decoder_input_ids.is_empty() {
            return Err(ModelError::Input("decoder_input_ids is empty".into()));
        }
        let encoded = self.encode(passages)?;
        let mut state = self.new_decoder_state();
        let mut logits = None;
        for &token in decoder_input_ids {
            logits = Some(self.decode_step(&encoded, &mut state, &[token])?);
        }
        Ok(logits.unwrap().squeeze(0)?.to_vec1::<f32>()?)
    }
}

