//! JSON Lines files: one JSON object per line; blank lines are skipped but still
//! counted, so line numbers in errors are those an editor shows.

use std::path::Path;

use serde_json::{Map, Value};

use crate::error::{EvalError, Result};

/// The objects of a JSONL file with their 1-based line numbers.
pub fn read_objects(path: &Path) -> Result<Vec<(usize, Map<String, Value>)>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| EvalError::file(path, format!("cannot read: {e}")))?;
    parse_objects(path, &text)
}

/// [`read_objects`] on text already read; `path` only names it in errors.
pub fn parse_objects(path: &Path, text: &str) -> Result<Vec<(usize, Map<String, Value>)>> {
    let mut objects = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(map)) => objects.push((number, map)),
            Ok(_) => return Err(EvalError::line(path, number, "expected a JSON object")),
            Err(e) => {
                return Err(EvalError::line(
                    path,
                    number,
                    format!("not valid JSON: {e}"),
                ))
            }
        }
    }
    if objects.is_empty() {
        return Err(EvalError::file(
            path,
            "no lines; expected one JSON object per line",
        ));
    }
    Ok(objects)
}

/// An `id` field: a non-empty string, or an integer taken as its decimal text (so
/// `7` and `"7"` name the same item).
pub fn id_text(value: &Value) -> std::result::Result<String, String> {
    match value {
        Value::String(s) if !s.is_empty() => Ok(s.clone()),
        Value::String(_) => Err("`id` is empty".into()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Ok(n.to_string()),
        other => Err(format!("`id` must be a string or an integer, not {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_lines_keep_the_numbering() {
        let objects = parse_objects(Path::new("d.jsonl"), "{\"a\":1}\n\n  \n{\"b\":2}\n").unwrap();
        assert_eq!(
            objects.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            vec![1, 4]
        );
    }

    #[test]
    fn errors_name_file_and_line() {
        let err = parse_objects(Path::new("d.jsonl"), "{\"a\":1}\n[1]\n").unwrap_err();
        assert_eq!(err.to_string(), "d.jsonl:2: expected a JSON object");
        let err = parse_objects(Path::new("d.jsonl"), "{\"a\":\n").unwrap_err();
        assert!(
            err.to_string().starts_with("d.jsonl:1: not valid JSON"),
            "{err}"
        );
        let err = parse_objects(Path::new("d.jsonl"), "\n").unwrap_err();
        assert!(err.to_string().starts_with("d.jsonl: no lines"), "{err}");
    }
}
