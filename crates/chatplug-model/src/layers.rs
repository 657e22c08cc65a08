//! The T5 building blocks: linear maps, the RMS layer norm, the feed-forward block,
//! relative position buckets and a numerically HF-equal softmax.

use candle_core::{DType, Tensor};

use crate::config::{Activation, T5Config};
use crate::error::Result;
use crate::int8::Int8Matrix;
use crate::precision::Precision;
use crate::weights::{StoredLinear, WeightStore};

/// Up to this many input rows go through the streaming kernel instead of the GEMM: the
/// rows of a decoding step (one per hypothesis, of every request in a batched step). The
/// kernels work row by row, so a row's result does not depend on how many rows share the
/// call, which makes batched decoding equal solo decoding. Measured on 2048×768, 2 threads
/// (examples/linear_precisions.rs): 16 rows 1.6 ms against the GEMM's 1.9, 32 rows 3.2
/// against 2.7, 64 rows 5.9 against 3.8.
pub const MAX_STREAMED_ROWS: usize = 32;
/// Up to this many input rows an int8 map multiplies in integers with the AVX2 kernel;
/// more rows widen the weights for the GEMM. Measured (same example): 8 rows 0.7 ms against
/// 1.8 for widening, 32 rows 2.8 against 3.6, 64 rows 5.7 against 4.3. The VNNI kernel
/// multiplies in integers at every size ([`Int8Matrix::fast_at_any_size`]): 64 rows 0.53
/// ms against 2.2 widening, 2280 rows 18-21 ms against 24-26 (f32 GEMM 17.4).
const MAX_INTEGER_ROWS: usize = MAX_STREAMED_ROWS;

/// A bias-free linear map (T5 has no biases), `y = x W^T`, in the weights' [`Precision`].
pub struct Linear {
    weight: LinearWeight,
}

/// The (out, in) matrix as stored in the checkpoint, in one of the precisions.
#[derive(Clone)]
enum LinearWeight {
    /// The GEMM reads it transposed in place.
    F32(Tensor),
    /// bfloat16 values; decoding steps stream them, larger inputs widen them to f32 first.
    Bf16(Tensor),
    Int8(Int8Matrix),
}

impl LinearWeight {
    /// `weight` (rows, columns, any float dtype) held in `precision`.
    fn new(weight: &Tensor, precision: Precision) -> candle_core::Result<Self> {
        Ok(match precision {
            Precision::F32 => LinearWeight::F32(weight.to_dtype(DType::F32)?),
            Precision::Bf16 => LinearWeight::Bf16(weight.to_dtype(DType::BF16)?.contiguous()?),
            Precision::Int8 => {
                let (rows, columns) = weight.dims2()?;
                let weight = weight.to_dtype(DType::F32)?.contiguous()?;
                // Quantized from the tensor's own storage: no transient copy of the matrix.
                let (storage, layout) = weight.storage_and_layout();
                let Some(values) = crate::kernels::cpu_values::<f32>(&storage, layout, rows * columns) else {
                    candle_core::bail!("int8 quantization needs f32 weights on the CPU")
                };
                LinearWeight::Int8(Int8Matrix::quantize(values, rows, columns))
            }
        })
    }
}

impl Linear {
    /// Reads `{name}.weight` and holds it in the store's precision.
    pub fn load(store: &mut WeightStore, name: &str, out_dim: usize, in_dim: usize) -> Result<Self> {
        Ok(match store.take_linear(&format!("{name}.weight"), out_dim, in_dim)? {
            StoredLinear::Float(weight) => Self::new(weight, store.precision())?,
            StoredLinear::Int8(matrix) => Self::from_int8(matrix),
        })
    }

    /// An f32 map over `weight` (out, in).
    pub fn from_weight(weight: Tensor) -> candle_core::Result<Self> {
        Self::new(weight, Precision::F32)
    }

    /// A map over `weight` (out, in, any float dtype) held in `precision`.
    pub fn new(weight: Tensor, precision: Precision) -> candle_core::Result<Self> {
        Ok(Linear { weight: LinearWeight::new(&weight, precision)? })
    }

    /// A map over an already quantized matrix (a checkpoint saved in int8).
    pub fn from_int8(matrix: Int8Matrix) -> Self {
        Linear { weight: LinearWeight::Int8(matrix) }
    }

    /// Applies the map to the last dimension of `x` (any rank ≥ 2).
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let dims = x.dims();
        let in_dim = dims[dims.len() - 1];
        let rows = x.elem_count() / in_dim;
        let x2 = x.reshape((rows, in_dim))?;
        let y = match &self.weight {
            LinearWeight::F32(w) => project(&x2, w, rows, crate::kernels::project_rows)?,
            LinearWeight::Bf16(w) => project(&x2, w, rows, crate::kernels::project_rows_bf16)?,
            LinearWeight::Int8(m) if rows <= MAX_INTEGER_ROWS || m.fast_at_any_size() => {
                // The input read in place where it is a contiguous f32 CPU tensor (the
                // encoder's are megabytes; a copy per map showed in the profile).
                let x2 = x2.to_dtype(DType::F32)?.contiguous()?;
                let (storage, layout) = x2.storage_and_layout();
                let y = match crate::kernels::cpu_values::<f32>(&storage, layout, rows * in_dim) {
                    Some(values) => m.matmul(values, rows),
                    None => {
                        drop(storage);
                        m.matmul(&x2.flatten_all()?.to_vec1::<f32>()?, rows)
                    }
                };
                Tensor::from_vec(y, (rows, m.out_dim()), x.device())?
            }
            LinearWeight::Int8(m) => {
                // Many rows (the encoder) without VNNI: AVX2 has no more integer multiply
                // throughput than f32 FMA, so the int8 kernel is compute-bound and slower
                // than the GEMM (examples/linear_precisions.rs: 0.3-0.5x f32 at 2280
                // rows); the weights are widened to f32 for this product instead.
                let w = Tensor::from_vec(m.dequantize(), (m.out_dim(), m.in_dim()), x.device())?;
                x2.to_dtype(DType::F32)?.matmul(&w.t()?)?
            }
        };
        let mut out_dims = dims.to_vec();
        *out_dims.last_mut().unwrap() = self.out_dim();
        y.reshape(out_dims)
    }

    pub fn out_dim(&self) -> usize {
        match &self.weight {
            LinearWeight::F32(w) | LinearWeight::Bf16(w) => w.dims()[0],
            LinearWeight::Int8(m) => m.out_dim(),
        }
    }
}

/// `x (rows, in) · Wᵀ`: decoding steps have a few rows (one per beam), and `stream` reads
/// the weight once for all of them, where the GEMM would repack it per call (measured 2x
/// slower for 3 beams); otherwise (or when `stream` declines) the f32 GEMM, over the
/// weight widened to f32 if it is stored narrower.
fn project(
    x: &Tensor,
    w: &Tensor,
    rows: usize,
    stream: fn(&Tensor, &Tensor) -> candle_core::Result<Option<Tensor>>,
) -> candle_core::Result<Tensor> {
    if rows <= MAX_STREAMED_ROWS {
        if let Some(y) = stream(x, w)? {
            return Ok(y);
        }
    }
    x.matmul(&w.to_dtype(DType::F32)?.t()?)
}

/// A token embedding table (vocab, d) held in the model's [`Precision`]; a lookup widens
/// the rows it reads to f32. mT5's table is 250,112 rows: in f32 it was most of an int8
/// model's memory (mT5-small: 512 of 701 MiB once loaded).
pub struct Embedding {
    /// (vocab, d), held as the linear maps hold their weights.
    table: LinearWeight,
    dim: usize,
}

impl Embedding {
    pub fn new(weight: &Tensor, precision: Precision) -> candle_core::Result<Self> {
        let (_, dim) = weight.dims2()?;
        Ok(Embedding { table: LinearWeight::new(weight, precision)?, dim })
    }

    /// A table already in int8 (a checkpoint saved quantized, or quantized from the file).
    pub fn from_int8(matrix: Int8Matrix) -> Self {
        let dim = matrix.in_dim();
        Embedding { table: LinearWeight::Int8(matrix), dim }
    }

    /// The output projection of a model that ties it to this embedding: the same table,
    /// already in the model's precision (converted once for both).
    pub fn tied_projection(&self) -> Linear {
        Linear { weight: self.table.clone() }
    }

    /// The rows of `ids` (any shape, u32), as f32 of shape `ids.shape + (d,)`.
    pub fn forward(&self, ids: &Tensor) -> candle_core::Result<Tensor> {
        let mut dims = ids.dims().to_vec();
        dims.push(self.dim);
        let flat = ids.flatten_all()?;
        let rows = match &self.table {
            // candle looks rows up in f32 or bf16 alike.
            LinearWeight::F32(table) | LinearWeight::Bf16(table) => table.embedding(&flat)?.to_dtype(DType::F32)?,
            LinearWeight::Int8(m) => {
                let ids = flat.to_vec1::<u32>()?;
                let Some(values) = m.dequantize_rows(&ids) else {
                    candle_core::bail!("token id out of the embedding's {} rows", m.out_dim())
                };
                Tensor::from_vec(values, (ids.len(), self.dim), flat.device())?
            }
        };
        rows.reshape(dims)
    }
}

/// T5's layer norm: no mean subtraction, no bias, variance computed in f32.
pub struct RmsNorm {
    weight: Tensor,
    eps: f64,
}

impl RmsNorm {
    pub fn load(store: &mut WeightStore, name: &str, dim: usize, eps: f64) -> Result<Self> {
        Ok(RmsNorm {
            weight: store.take(&format!("{name}.weight"), &[dim])?,
            eps,
        })
    }

    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        // candle-nn's fused, multi-threaded kernel computes exactly T5's norm:
        // x / sqrt(mean(x²) + eps) * weight.
        candle_nn::ops::rms_norm(&x.contiguous()?, &self.weight, self.eps as f32)
    }
}

/// `DenseReluDense` / `DenseGatedActDense`.
pub struct FeedForward {
    wi: Linear,
    wi_1: Option<Linear>,
    wo: Linear,
    activation: Activation,
}

impl FeedForward {
    pub fn load(store: &mut WeightStore, prefix: &str, config: &T5Config) -> Result<Self> {
        let (d, f) = (config.d_model, config.d_ff);
        let (wi, wi_1) = if config.is_gated {
            (
                Linear::load(store, &format!("{prefix}.wi_0"), f, d)?,
                Some(Linear::load(store, &format!("{prefix}.wi_1"), f, d)?),
            )
        } else {
            (Linear::load(store, &format!("{prefix}.wi"), f, d)?, None)
        };
        Ok(FeedForward {
            wi,
            wi_1,
            wo: Linear::load(store, &format!("{prefix}.wo"), d, f)?,
            activation: config.activation,
        })
    }

    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let hidden = activate(&self.wi.forward(x)?, self.activation)?;
        let hidden = match &self.wi_1 {
            Some(wi_1) => hidden.mul(&wi_1.forward(x)?)?,
            None => hidden,
        };
        self.wo.forward(&hidden)
    }
}

/// HF's `ACT2FN` activations (also the PLUG encoder's and decoder's).
pub(crate) fn activate(x: &Tensor, activation: Activation) -> candle_core::Result<Tensor> {
    match activation {
        Activation::Relu => x.relu(),
        Activation::GeluErf => x.gelu_erf(),
        Activation::GeluTanh => match crate::kernels::gelu_tanh(x)? {
            Some(y) => Ok(y),
            None => x.gelu(),
        },
        Activation::Silu => x.silu(),
    }
}

/// Softmax over the last dimension (candle-nn's fused, multi-threaded kernel).
pub fn softmax_last_dim(x: &Tensor) -> candle_core::Result<Tensor> {
    candle_nn::ops::softmax_last_dim(&x.contiguous()?)
}

/// HF `T5Attention._relative_position_bucket`, with the same f32 arithmetic so that bucket
/// boundaries fall exactly where torch puts them.
pub fn relative_position_bucket(
    relative_position: i64,
    bidirectional: bool,
    num_buckets: usize,
    max_distance: usize,
) -> usize {
    let mut num_buckets = num_buckets as i64;
    let mut bucket = 0i64;
    let distance = if bidirectional {
        num_buckets /= 2;
        if relative_position > 0 {
            bucket += num_buckets;
        }
        relative_position.abs()
    } else {
        -relative_position.min(0)
    };
    let max_exact = num_buckets / 2;
    if distance < max_exact {
        bucket += distance;
    } else {
        let log_ratio = ((distance as f32) / (max_exact as f32)).ln();
        let scale = ((max_distance as f64) / (max_exact as f64)).ln() as f32;
        let large = max_exact + (log_ratio / scale * ((num_buckets - max_exact) as f32)) as i64;
        bucket += large.min(num_buckets - 1);
    }
    bucket as usize
}

#[cfg(test)]
mod tests {
    use super::relative_position_bucket as bucket;

    #[test]
    fn buckets_match_hf_for_mt5_settings() {
        // Values from HF `_relative_position_bucket(…, bidirectional=True, 32, 128)`.
        let expected = [
            (-200, 15),
            (-128, 15),
            (-64, 14),
            (-16, 10),
            (-9, 8),
            (-8, 8),
            (-7, 7),
            (0, 0),
            (1, 17),
            (7, 23),
            (8, 24),
            (16, 26),
            (100, 31),
        ];
        for (rel, want) in expected {
            assert_eq!(bucket(rel, true, 32, 128), want, "relative position {rel}");
        }
        // Causal (decoder) buckets only look back.
        assert_eq!(bucket(3, false, 32, 128), 0);
        assert_eq!(bucket(-3, false, 32, 128), 3);
        assert_eq!(bucket(-16, false, 32, 128), 16);
        assert_eq!(bucket(-32, false, 32, 128), 21);
        assert_eq!(bucket(-1000, false, 32, 128), 31);
    }
}
