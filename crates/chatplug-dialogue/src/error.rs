//! One error type for the crate, so the CLI can print a single line that names the
//! field, key, file or rule at fault.

use std::path::PathBuf;

/// Everything that can go wrong before or around generation.
#[derive(Debug, thiserror::Error)]
pub enum DialogueError {
    /// A request that does not parse or validate; the message names the field.
    #[error("bad request: {0}")]
    Request(String),
    /// A configuration value that does not parse or validate; `key` is the TOML key
    /// (or environment variable) at fault.
    #[error("bad config value for `{key}`: {message}")]
    Config { key: String, message: String },
    /// A rule / safety rule file that does not load.
    #[error("bad rule file {path}: {message}")]
    Rules { path: PathBuf, message: String },
    /// A file that cannot be read.
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A knowledge provider, FAQ retriever, classifier or rewriter hook failed.
    #[error("{stage} failed: {message}")]
    Hook { stage: String, message: String },
    /// The generator (the model) failed.
    #[error("generation failed: {0}")]
    Generator(String),
}

pub type Result<T, E = DialogueError> = std::result::Result<T, E>;

impl DialogueError {
    pub(crate) fn config(key: impl Into<String>, message: impl Into<String>) -> Self {
        DialogueError::Config {
            key: key.into(),
            message: message.into(),
        }
    }
}
