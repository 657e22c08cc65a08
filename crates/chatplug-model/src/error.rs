//! The model crate's error type: every message names the file, tensor or option at fault.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },

    #[error("{path}: field `{field}`: {message}")]
    Config {
        path: PathBuf,
        field: String,
        message: String,
    },

    #[error("checkpoint in {dir}: {message}")]
    Checkpoint { dir: PathBuf, message: String },

    #[error("generation option `{option}`: {message}")]
    Generation { option: String, message: String },

    #[error("invalid input: {0}")]
    Input(String),

    #[error("batched decoding failed: {0}")]
    Batch(String),

    #[error("tensor computation failed: {0}")]
    Tensor(#[from] candle_core::Error),
}

impl ModelError {
    pub(crate) fn file(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        ModelError::File {
            path: path.into(),
            message: message.into(),
        }
    }

    pub(crate) fn generation(option: &str, message: impl Into<String>) -> Self {
        ModelError::Generation {
            option: option.to_string(),
            message: message.into(),
        }
    }
}

pub type Result<T> = std::result::Result<T, ModelError>;
