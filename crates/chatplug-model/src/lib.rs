//! Fusion-in-Decoder inference for ChatPLUG-3.7B (FiD over mT5-XL: reading released
//! checkpoints, the FiD forward pass, decoding with HF `generate` semantics) and
//! ChatPLUG-240M (FiD over PLUG: [`plug`], with its own beam search).
//!
//! This crate knows nothing of HTTP or dialogue; it maps token ids to token ids.

pub mod amx;
pub mod architecture;
pub mod attention;
pub mod config;
pub mod error;
pub mod fid;
pub mod generation;
pub mod int8;
pub mod kernels;
pub mod layers;
pub mod params;
pub mod pickle_guard;
pub mod plug;
pub mod precision;
pub mod quantize;
pub mod weights;

pub use architecture::Architecture;
pub use config::T5Config;
pub use params::{Init, ParamSpec};
pub use precision::Precision;
pub use error::{ModelError, Result};
pub use fid::{EncodedPassages, FidT5, StepRequest};
pub use generation::{batch::Batcher, generate, GenerationConfig, GenerationOutput};
