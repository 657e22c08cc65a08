//! Training examples and how a micro-batch of them becomes FiD tensors.
//!
//! Examples of one micro-batch can have different numbers of passages: each is padded to
//! the batch's largest count with all-padding passages, every passage to the longest one,
//! and masks keep each decoder on its own example's real tokens, as the reference's FiD
//! batching does.

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// One training example: FiD passages (unpadded token ids) and the target token ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Example {
    pub input_ids: Vec<Vec<u32>>,
    pub labels: Vec<u32>,
}

impl Example {
    /// Encoder positions this example occupies in a batch padded to its own shape.
    pub fn encoder_tokens(&self) -> usize {
        self.input_ids.iter().map(Vec::len).sum()
    }
}

/// Additive mask value for a position that must not be attended to (HF: `finfo(f32).min`).
pub const MASKED: f32 = f32::MIN;

/// A micro-batch as tensors.
pub struct FidBatch {
    pub batch: usize,
    pub passages: usize,
    pub passage_len: usize,
    pub target_len: usize,
    /// (batch·passages, passage_len) encoder ids, 0-padded.
    pub encoder_ids: Tensor,
    /// (batch·passages, 1, 1, passage_len): 0 for tokens, `MASKED` for padding.
    pub encoder_mask: Tensor,
    /// (batch, 1, 1, passages·passage_len): the same mask over each example's fused memory.
    pub cross_mask: Tensor,
    /// (batch, target_len): HF's `shift_right` of the labels padded with -100: `[decoder_start]
    /// + labels[:-1]`, -100 replaced by `pad` (positions past an example's end carry no loss).
    pub decoder_ids: Tensor,
    /// (batch·target_len, 1) label ids (0 where padded).
    pub labels: Tensor,
    /// (batch·target_len,) 1 for a real label, 0 for padding.
    pub label_mask: Tensor,
    /// Number of real label tokens.
    pub label_tokens: usize,
    /// Number of real (non-padding) encoder tokens.
    pub encoder_tokens: usize,
}

impl FidBatch {
    pub fn new(examples: &[&Example], pad: u32, decoder_start: u32, device: &Device) -> Result<Self> {
        let batch = examples.len();
        let passages = examples.iter().map(|e| e.input_ids.len()).max().unwrap_or(0).max(1);
        let passage_len = examples
            .iter()
            .flat_map(|e| e.input_ids.iter().map(Vec::len))
            .max()
            .unwrap_or(0)
            .max(1);
        let target_len = examples.iter().map(|e| e.labels.len()).max().unwrap_or(0).max(1);

        let mut encoder_ids = vec![pad; batch * passages * passage_len];
        for (b, example) in examples.iter().enumerate() {
            for (p, passage) in example.input_ids.iter().enumerate() {
                let start = (b * passages + p) * passage_len;
                encoder_ids[start..start + passage.len()].copy_from_slice(passage);
            }
        }
        // HF masks by `ids != pad`, so a pad id inside a passage is masked too.
        let mask: Vec<f32> = encoder_ids.iter().map(|&t| if t == pad { MASKED } else { 0.0 }).collect();
        let encoder_tokens = encoder_ids.iter().filter(|&&t| t != pad).count();

        let mut decoder_ids = vec![pad; batch * target_len];
        let mut labels = vec![0u32; batch * target_len];
        let mut label_mask = vec![0f32; batch * target_len];
        for (b, example) in examples.iter().enumerate() {
            let row = b * target_len;
            decoder_ids[row] = decoder_start;
            for (t, &label) in example.labels.iter().enumerate() {
                labels[row + t] = label;
                label_mask[row + t] = 1.0;
                if t + 1 < target_len {
                    decoder_ids[row + t + 1] = label;
                }
            }
        }
        let label_tokens = examples.iter().map(|e| e.labels.len()).sum();

        Ok(FidBatch {
            batch,
            passages,
            passage_len,
            target_len,
            encoder_ids: Tensor::from_vec(encoder_ids, (batch * passages, passage_len), device)?,
            encoder_mask: Tensor::from_vec(mask.clone(), (batch * passages, 1, 1, passage_len), device)?,
            cross_mask: Tensor::from_vec(mask, (batch, 1, 1, passages * passage_len), device)?,
            decoder_ids: Tensor::from_vec(decoder_ids, (batch, target_len), device)?,
            labels: Tensor::from_vec(labels, (batch * target_len, 1), device)?,
            label_mask: Tensor::from_vec(label_mask, batch * target_len, device)?,
            label_tokens,
            encoder_tokens,
        })
    }
}
