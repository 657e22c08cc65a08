//! Errors that name where the bad input is: the file and, when it is one line's
//! fault, the line.

use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq)]
pub struct EvalError {
    pub file: PathBuf,
    /// 1-based line number, when one line is at fault.
    pub line: Option<usize>,
    pub message: String,
}

impl EvalError {
    pub fn file(file: &Path, message: impl Into<String>) -> EvalError {
        EvalError {
            file: file.to_path_buf(),
            line: None,
            message: message.into(),
        }
    }

    pub fn line(file: &Path, line: usize, message: impl Into<String>) -> EvalError {
        EvalError {
            file: file.to_path_buf(),
            line: Some(line),
            message: message.into(),
        }
    }
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file.display(), line, self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

impl std::error::Error for EvalError {}

pub type Result<T> = std::result::Result<T, EvalError>;
