//! Set-up errors: bad `[search]` options and unreadable triple files. Failures while
//! searching are not errors of this kind: they are strings the pipeline turns into
//! warnings, so a failed search never fails the turn.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// A bad option; `key` is its full name (`search.bing.count`).
    #[error("bad config value for `{key}`: {message}")]
    Config { key: String, message: String },
    /// The configuration file does not parse (or an override is not a table).
    #[error(transparent)]
    File(#[from] chatplug_dialogue::DialogueError),
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A bad entry (1-based) of a JSON triple file.
    #[error("{path}: entry {entry}: {message}")]
    TripleEntry {
        path: PathBuf,
        entry: usize,
        message: String,
    },
    /// A bad line (1-based) of a triple file.
    #[error("{path}:{line}: {message}")]
    Triples {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

impl SearchError {
    pub fn config(key: impl Into<String>, message: impl Into<String>) -> SearchError {
        SearchError::Config {
            key: key.into(),
            message: message.into(),
        }
    }
}

pub type Result<T> = std::result::Result<T, SearchError>;
