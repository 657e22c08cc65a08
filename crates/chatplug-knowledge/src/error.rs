//! Errors of the knowledge crate.

use std::path::PathBuf;

/// What went wrong, with enough context (file and line, table and key) to fix it.
#[derive(Debug, thiserror::Error)]
pub enum KbError {
    /// A malformed input file; `line` is 1-based.
    #[error("{}{}: {message}", file.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Input {
        file: PathBuf,
        line: Option<usize>,
        message: String,
    },
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The embedded index (tantivy) failed.
    #[error("knowledge base index at {}: {message}", dir.display())]
    Index { dir: PathBuf, message: String },
    #[error("PostgreSQL knowledge store: {0}")]
    Postgres(String),
    /// A bad `[knowledge]` option; `key` is `knowledge.<key>`.
    #[error("configuration: `{key}`: {message}")]
    Config { key: String, message: String },
    #[error("{0}")]
    Other(String),
}

impl KbError {
    pub(crate) fn input(file: &std::path::Path, line: Option<usize>, message: impl Into<String>) -> Self {
        KbError::Input {
            file: file.to_path_buf(),
            line,
            message: message.into(),
        }
    }
}

impl From<postgres::Error> for KbError {
    fn from(e: postgres::Error) -> Self {
        // The server's message (`db_error`) says more than the client's summary.
        match e.as_db_error() {
            Some(db) => KbError::Postgres(format!("{}: {}", db.code().code(), db.message())),
            None => KbError::Postgres(e.to_string()),
        }
    }
}

pub type Result<T, E = KbError> = std::result::Result<T, E>;
