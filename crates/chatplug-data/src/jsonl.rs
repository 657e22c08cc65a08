//! Reading input files line by line, with the line number for error messages.

use crate::error::{DataError, Result};
use serde_json::{Map, Value};
use std::path::Path;

/// One non-blank line of a file: its 1-based number and text.
pub struct Line<'a> {
    pub number: usize,
    pub text: &'a str,
}

/// Reads the whole file as UTF-8 (an invalid byte is an error naming the line).
pub fn read_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|source| DataError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        DataError::line(path, line, "not valid UTF-8")
    })
}

/// The non-blank lines of `text` (a trailing `\r` is dropped).
pub fn lines(text: &str) -> impl Iterator<Item = Line<'_>> {
    text.split('\n')
        .enumerate()
        .map(|(i, t)| Line {
            number: i + 1,
            text: t.strip_suffix('\r').unwrap_or(t),
        })
        .filter(|l| !l.text.trim().is_empty())
}

/// A line that must be one JSON object.
pub fn object(path: &Path, line: &Line<'_>) -> Result<Map<String, Value>> {
    match serde_json::from_str::<Value>(line.text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(DataError::line(path, line.number, "expected a JSON object")),
        Err(e) => Err(DataError::line(
            path,
            line.number,
            format!("not valid JSON: {e}"),
        )),
    }
}

/// A string field of `object`; `required`: missing is an error, else `""`.
pub fn string_field(
    path: &Path,
    line: usize,
    object: &Map<String, Value>,
    field: &str,
    required: bool,
) -> Result<String> {
    match object.get(field) {
        Some(Value::String(s)) => Ok(s.clone()),
        None | Some(Value::Null) if !required => Ok(String::new()),
        None => Err(DataError::line(
            path,
            line,
            format!("missing field `{field}`"),
        )),
        Some(v) => Err(DataError::line(
            path,
            line,
            format!("field `{field}` must be a string, got {}", kind(v)),
        )),
    }
}

/// JSON type name for messages.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
