//! The training crate's error type: every message names the file, line, option or tensor.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },

    #[error("{path}:{line}: {message}")]
    Line { path: PathBuf, line: usize, message: String },

    #[error("option `{option}`: {message}")]
    Option { option: String, message: String },

    #[error("{0}")]
    Input(String),

    #[error(transparent)]
    Model(#[from] chatplug_model::ModelError),

    #[error("tensor computation failed: {0}")]
    Tensor(#[from] candle_core::Error),
}

impl TrainError {
    pub fn file(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        TrainError::File { path: path.into(), message: message.into() }
    }

    pub fn option(option: &str, message: impl Into<String>) -> Self {
        TrainError::Option { option: option.to_string(), message: message.into() }
    }
}

pub type Result<T> = std::result::Result<T, TrainError>;
