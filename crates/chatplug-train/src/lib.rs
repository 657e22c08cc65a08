//! Training FiD-T5 models on candle, equal step for step to PyTorch + HF transformers with
//! the reference's (XDPX) recipe: teacher-forced FiD forward, mean cross-entropy, gradient
//! accumulation, global-norm clipping, AdamW with the reference's parameter groups, one-cycle
//! / linear / constant schedules, checkpoints that resume bit for bit, and curricula.
//!
//! This crate knows nothing of text: it trains on token ids (`Example`). Turning dialogue
//! data and documents into examples is `chatplug-data`'s job.

pub mod batch;
pub mod checkpoint;
pub mod config;
pub mod data;
pub mod error;
pub mod examples;
pub mod fused;
pub mod fused_attention;
pub mod log;
pub mod model;
pub mod ops;
pub mod optim;
pub mod params;
pub mod schedule;
pub mod trainer;

pub use batch::{Example, FidBatch};
pub use config::TrainOptions;
pub use error::{Result, TrainError};
pub use params::Parameters;
pub use trainer::{run, Job, Observer, Stage, StageSettings, Start, Summary};
