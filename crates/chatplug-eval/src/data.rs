//! Evaluation items: one JSON object per line with the request fields the dialogue
//! pipeline takes (`query`, `history`, `knowledge`, `bot_profile`, `user_profile`,
//! `role_instruction`) plus the evaluation fields `id` (default: the line number),
//! `category`, `response` (the reference reply) and `answers` (acceptable answer
//! strings). This crate checks the evaluation fields and the shape of `knowledge`
//! (Knowledge-F1 reads it); the request fields are left to the caller, which knows the
//! pipeline's request format and must reject unknown fields.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Map, Value};

use crate::error::{EvalError, Result};
use crate::jsonl::{id_text, parse_objects};
use crate::text::eval_chars;

/// The fields this crate owns; every other field belongs to the request.
pub const EVAL_FIELDS: [&str; 4] = ["id", "category", "response", "answers"];

#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// 1-based line of the data file.
    pub line: usize,
    pub id: String,
    pub category: Option<String>,
    pub response: Option<String>,
    /// Empty when the item has none (an empty list counts as none).
    pub answers: Vec<String>,
    /// The request's `knowledge` (empty when absent).
    pub knowledge: Vec<String>,
    /// Every field but the evaluation ones, `knowledge` included.
    pub request: Map<String, Value>,
}

/// Reads a data file; errors name the file and line.
pub fn read_items(path: &Path) -> Result<Vec<Item>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| EvalError::file(path, format!("cannot read: {e}")))?;
    parse_items(path, &text)
}

/// [`read_items`] on text already read; `path` only names it in errors.
pub fn parse_items(path: &Path, text: &str) -> Result<Vec<Item>> {
    let mut items = Vec::new();
    let mut first_line_of: HashMap<String, usize> = HashMap::new();
    for (line, object) in parse_objects(path, text)? {
        let item =
            parse_item(line, object).map_err(|message| EvalError::line(path, line, message))?;
        if let Some(first) = first_line_of.insert(item.id.clone(), line) {
            return Err(EvalError::line(
                path,
                line,
                format!("duplicate id `{}` (first on line {first})", item.id),
            ));
        }
        items.push(item);
    }
    Ok(items)
}

fn parse_item(line: usize, mut request: Map<String, Value>) -> std::result::Result<Item, String> {
    let id = match request.remove("id") {
        Some(value) => id_text(&value)?,
        None => line.to_string(),
    };
    let category = match request.remove("category") {
        None => None,
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s),
        Some(other) => {
            return Err(format!(
                "`category` must be a non-empty string, not {other}"
            ))
        }
    };
    let response = match request.remove("response") {
        None => None,
        Some(Value::String(s)) if !eval_chars(&s).is_empty() => Some(s),
        Some(Value::String(_)) => {
            return Err("`response` has no characters besides whitespace; leave it out when there is no reference".into())
        }
        Some(other) => return Err(format!("`response` must be a string, not {other}")),
    };
    let answers = match request.remove("answers") {
        None => Vec::new(),
        Some(value) => strings(&value, "answers")?,
    };
    if let Some(i) = answers.iter().position(|a| eval_chars(a).is_empty()) {
        return Err(format!(
            "`answers[{i}]` has no characters besides whitespace (it would match every prediction)"
        ));
    }
    let knowledge = match request.get("knowledge") {
        None => Vec::new(),
        Some(value) => strings(value, "knowledge")?,
    };
    Ok(Item {
        line,
        id,
        category,
        response,
        answers,
        knowledge,
        request,
    })
}

fn strings(value: &Value, field: &str) -> std::result::Result<Vec<String>, String> {
    let Value::Array(values) = value else {
        return Err(format!("`{field}` must be a list of strings, not {value}"));
    };
    values
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::String(s) => Ok(s.clone()),
            other => Err(format!("`{field}[{i}]` must be a string, not {other}")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<Item>> {
        parse_items(Path::new("data.jsonl"), text)
    }

    #[test]
    fn splits_evaluation_fields_from_the_request() {
        let items = parse(concat!(
            "{\"query\":\"你好\",\"response\":\"你好呀\",\"category\":\"chitchat\"}\n",
            "{\"id\":\"k1\",\"query\":\"首都？\",\"knowledge\":[\"北京是首都\"],\"answers\":[\"北京\"]}\n",
        ))
        .unwrap();
        assert_eq!(items[0].id, "1");
        assert_eq!(items[0].category.as_deref(), Some("chitchat"));
        assert_eq!(items[0].request.keys().collect::<Vec<_>>(), vec!["query"]);
        assert_eq!(items[1].id, "k1");
        assert_eq!(items[1].knowledge, vec!["北京是首都"]);
        assert_eq!(items[1].answers, vec!["北京"]);
        assert!(items[1].request.contains_key("knowledge"));
        assert!(!items[1].request.contains_key("answers"));
    }

    #[test]
    fn bad_fields_name_the_line_and_field() {
        for (text, needle) in [
            (
                "{\"query\":\"a\"}\n{\"query\":\"b\",\"id\":1}\n",
                "data.jsonl:2: duplicate id `1` (first on line 1)",
            ),
            (
                "{\"query\":\"a\",\"id\":1.5}\n",
                "data.jsonl:1: `id` must be a string or an integer",
            ),
            (
                "{\"query\":\"a\",\"response\":\" \\t\"}\n",
                "data.jsonl:1: `response` has no characters",
            ),
            (
                "{\"query\":\"a\",\"answers\":\"x\"}\n",
                "data.jsonl:1: `answers` must be a list of strings",
            ),
            (
                "{\"query\":\"a\",\"answers\":[\"x\",\" \"]}\n",
                "data.jsonl:1: `answers[1]` has no characters",
            ),
            (
                "{\"query\":\"a\",\"knowledge\":[1]}\n",
                "data.jsonl:1: `knowledge[0]` must be a string",
            ),
            (
                "{\"query\":\"a\",\"category\":\"\"}\n",
                "data.jsonl:1: `category` must be a non-empty string",
            ),
        ] {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.starts_with(needle), "{err}");
        }
    }
}
