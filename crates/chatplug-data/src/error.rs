//! One error type; every message names the file (and line, field) at fault.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A bad input line: `file:line: message`.
    #[error("{}:{line}: {message}", path.display())]
    Line {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file with no usable example.
    #[error("{}: {message}", path.display())]
    File { path: PathBuf, message: String },
    /// Options that do not fit together or out of range; names the option.
    #[error("bad option `{option}`: {message}")]
    Option { option: String, message: String },
    /// The tokenizer lacks something a format needs (sentinels, EOS).
    #[error("tokenizer: {0}")]
    Tokenizer(String),
}

pub type Result<T, E = DataError> = std::result::Result<T, E>;

impl DataError {
    pub fn line(path: &Path, line: usize, message: impl Into<String>) -> DataError {
        DataError::Line {
            path: path.to_path_buf(),
            line,
            message: message.into(),
        }
    }

    pub fn option(option: &str, message: impl Into<String>) -> DataError {
        DataError::Option {
            option: option.to_string(),
            message: message.into(),
        }
    }
}
