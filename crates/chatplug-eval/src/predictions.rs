//! Predictions made elsewhere (`{"id", "prediction"}` lines, optionally `latency_ms`),
//! matched to the data items by id. `chatplug eval --out` writes this format, so its
//! own output can be scored again; the extra fields it writes (`category`, `passages`)
//! are accepted and ignored.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Map, Value};

use crate::data::Item;
use crate::error::{EvalError, Result};
use crate::jsonl::{id_text, parse_objects};

const FIELDS: [&str; 5] = ["id", "prediction", "latency_ms", "category", "passages"];

#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    pub line: usize,
    pub id: String,
    pub prediction: String,
    pub latency_ms: Option<f64>,
}

/// Reads a predictions file; errors name the file and line.
pub fn read_predictions(path: &Path) -> Result<Vec<Prediction>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| EvalError::file(path, format!("cannot read: {e}")))?;
    parse_predictions(path, &text)
}

/// [`read_predictions`] on text already read; `path` only names it in errors.
pub fn parse_predictions(path: &Path, text: &str) -> Result<Vec<Prediction>> {
    parse_objects(path, text)?
        .into_iter()
        .map(|(line, object)| {
            parse_prediction(line, object).map_err(|m| EvalError::line(path, line, m))
        })
        .collect()
}

fn parse_prediction(
    line: usize,
    object: Map<String, Value>,
) -> std::result::Result<Prediction, String> {
    if let Some(unknown) = object.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(format!(
            "unknown field `{unknown}`, expected one of {}",
            FIELDS.join(", ")
        ));
    }
    let id = id_text(object.get("id").ok_or("missing field `id`")?)?;
    let prediction = match object.get("prediction") {
        Some(Value::String(s)) => s.clone(),
        Some(other) => return Err(format!("`prediction` must be a string, not {other}")),
        None => return Err("missing field `prediction`".into()),
    };
    let latency_ms = match object.get("latency_ms") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.as_f64().is_some_and(|v| v >= 0.0) => n.as_f64(),
        Some(other) => return Err(format!("`latency_ms` must be a number ≥ 0, not {other}")),
    };
    Ok(Prediction {
        line,
        id,
        prediction,
        latency_ms,
    })
}

/// Each item's prediction, in the items' order. Every item needs exactly one
/// prediction and every prediction an item; errors name the id and where it is.
pub fn match_predictions<'a>(
    items: &[Item],
    data_path: &Path,
    predictions: &'a [Prediction],
    predictions_path: &Path,
) -> Result<Vec<&'a Prediction>> {
    let mut by_id: HashMap<&str, &Prediction> = HashMap::new();
    for p in predictions {
        if let Some(first) = by_id.insert(p.id.as_str(), p) {
            return Err(EvalError::line(
                predictions_path,
                p.line,
                format!("duplicate id `{}` (first on line {})", p.id, first.line),
            ));
        }
    }
    let item_ids: HashMap<&str, ()> = items.iter().map(|i| (i.id.as_str(), ())).collect();
    if let Some(stray) = predictions
        .iter()
        .find(|p| !item_ids.contains_key(p.id.as_str()))
    {
        return Err(EvalError::line(
            predictions_path,
            stray.line,
            format!(
                "id `{}` is not an item of {}",
                stray.id,
                data_path.display()
            ),
        ));
    }
    items
        .iter()
        .map(|item| {
            by_id.get(item.id.as_str()).copied().ok_or_else(|| {
                EvalError::file(
                    predictions_path,
                    format!(
                        "no prediction for id `{}` ({}:{})",
                        item.id,
                        data_path.display(),
                        item.line
                    ),
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::parse_items;

    #[test]
    fn matches_by_id_whatever_the_order() {
        let items = parse_items(
            Path::new("d"),
            "{\"query\":\"a\"}\n{\"id\":\"x\",\"query\":\"b\"}\n",
        )
        .unwrap();
        let preds = parse_predictions(
            Path::new("p"),
            "{\"id\":\"x\",\"prediction\":\"B\"}\n{\"id\":1,\"prediction\":\"A\",\"latency_ms\":3}\n",
        )
        .unwrap();
        let matched = match_predictions(&items, Path::new("d"), &preds, Path::new("p")).unwrap();
        assert_eq!(matched[0].prediction, "A");
        assert_eq!(matched[0].latency_ms, Some(3.0));
        assert_eq!(matched[1].prediction, "B");
    }

    #[test]
    fn missing_duplicate_and_stray_ids_are_errors() {
        let items = parse_items(Path::new("d"), "{\"query\":\"a\"}\n{\"query\":\"b\"}\n").unwrap();
        let check = |text: &str, needle: &str| {
            let preds = parse_predictions(Path::new("p"), text).unwrap();
            let err = match_predictions(&items, Path::new("d"), &preds, Path::new("p"))
                .unwrap_err()
                .to_string();
            assert_eq!(err, needle);
        };
        check(
            "{\"id\":1,\"prediction\":\"A\"}\n",
            "p: no prediction for id `2` (d:2)",
        );
        check(
            "{\"id\":1,\"prediction\":\"A\"}\n{\"id\":\"1\",\"prediction\":\"A\"}\n",
            "p:2: duplicate id `1` (first on line 1)",
        );
        check(
            "{\"id\":1,\"prediction\":\"A\"}\n{\"id\":2,\"prediction\":\"B\"}\n{\"id\":3,\"prediction\":\"C\"}\n",
            "p:3: id `3` is not an item of d",
        );
    }

    #[test]
    fn bad_lines_name_the_field() {
        for (text, needle) in [
            ("{\"prediction\":\"A\"}", "p:1: missing field `id`"),
            ("{\"id\":1}", "p:1: missing field `prediction`"),
            (
                "{\"id\":1,\"prediction\":2}",
                "p:1: `prediction` must be a string",
            ),
            (
                "{\"id\":1,\"prediction\":\"A\",\"latency_ms\":-1}",
                "p:1: `latency_ms` must be a number ≥ 0",
            ),
            (
                "{\"id\":1,\"prediction\":\"A\",\"score\":1}",
                "p:1: unknown field `score`",
            ),
        ] {
            let err = parse_predictions(Path::new("p"), text)
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(needle), "{err}");
        }
    }
}
