//! Field paths into a JSON answer, as a generic provider's configuration writes them:
//! `data.items[].summary` is "for each element of `data.items`, its `summary`". The
//! text path names the list (exactly one `[]`); the other paths of the same provider
//! start with the same list. Numeric segments index arrays (`hits.0.doc`).

use serde_json::Value;

/// A path split at its `[]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPath {
    /// From the answer's root to the list.
    pub list: Vec<String>,
    /// From one element to the value.
    pub item: Vec<String>,
}

fn segments(path: &str) -> Vec<String> {
    path.split('.')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

impl ListPath {
    /// Parses `a.b[].c`; the message says what is wrong.
    pub fn parse(path: &str) -> Result<ListPath, String> {
        let parts: Vec<&str> = path.split("[]").collect();
        if parts.len() != 2 {
            return Err(format!(
                "`{path}` must contain exactly one `[]` marking the result list (e.g. `data.items[].summary`)"
            ));
        }
        if !(parts[1].is_empty() || parts[1].starts_with('.')) {
            return Err(format!("`{path}`: expected `.` after `[]`"));
        }
        Ok(ListPath {
            list: segments(parts[0]),
            item: segments(parts[1]),
        })
    }

    /// Parses a path that must name an element field of `list`'s list.
    pub fn parse_in(path: &str, list: &ListPath) -> Result<ListPath, String> {
        let parsed = ListPath::parse(path)?;
        if parsed.list != list.list {
            return Err(format!(
                "`{path}` must start with the text path's list `{}[]`",
                list.list.join(".")
            ));
        }
        Ok(parsed)
    }

    /// The list's elements; an error when the list is missing or not a list.
    pub fn elements<'a>(&self, root: &'a Value) -> Result<&'a [Value], String> {
        let list = follow(root, &self.list);
        match list {
            Some(Value::Array(a)) => Ok(a),
            Some(other) => Err(format!(
                "`{}` is {}, expected a list",
                self.list.join("."),
                kind(other)
            )),
            None => Err(format!("the answer has no `{}`", self.list.join("."))),
        }
    }

    /// The value at the element path.
    pub fn value<'a>(&self, element: &'a Value) -> Option<&'a Value> {
        follow(element, &self.item)
    }
}

fn follow<'a>(mut v: &'a Value, path: &[String]) -> Option<&'a Value> {
    for key in path {
        v = match v {
            Value::Object(m) => m.get(key)?,
            Value::Array(a) => a.get(key.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(v)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A value as text: strings as they are, numbers written out; others are not text.
pub fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
