//! Per-request generation options over the configured ones: a [`Generator`] wrapper
//! that merges the request's HF options into what the pipeline built, and the check of
//! those options before a request is queued.

use chatplug_dialogue::{Generated, Generator};
use serde_json::{Map, Value};

use crate::config::Limits;
use crate::error::ApiError;

/// Options a request may set, and the JSON type each takes.
const ALLOWED: &[(&str, Kind)] = &[
    ("num_beams", Kind::PositiveInt),
    ("num_return_sequences", Kind::PositiveInt),
    ("max_new_tokens", Kind::PositiveInt),
    ("max_length", Kind::PositiveInt),
    ("min_new_tokens", Kind::Int),
    ("min_length", Kind::Int),
    ("do_sample", Kind::Bool),
    ("early_stopping", Kind::Bool),
    ("temperature", Kind::Number),
    ("top_k", Kind::Int),
    ("top_p", Kind::Number),
    ("repetition_penalty", Kind::Number),
    ("length_penalty", Kind::Number),
    ("no_repeat_ngram_size", Kind::Int),
    ("seed", Kind::Int),
];

#[derive(Clone, Copy)]
enum Kind {
    Int,
    PositiveInt,
    Number,
    Bool,
}

/// Checks `generation` of a native request (`field` names it in errors): known
/// options, right types, token and beam counts within the limits.
pub fn check_options(options: &Map<String, Value>, field: &str, limits: &Limits) -> Result<(), ApiError> {
    for (key, value) in options {
        let Some(&(_, kind)) = ALLOWED.iter().find(|(k, _)| k == key) else {
            let known: Vec<&str> = ALLOWED.iter().map(|(k, _)| *k).collect();
            return Err(ApiError::invalid(format!("`{field}.{key}` is not a generation option; known: {}", known.join(", "))));
        };
        let ok = match kind {
            Kind::Int => value.as_u64().is_some(),
            Kind::PositiveInt => value.as_u64().is_some_and(|n| n > 0),
            Kind::Number => value.as_f64().is_some_and(|x| x.is_finite() && x >= 0.0),
            Kind::Bool => value.is_boolean(),
        };
        if !ok {
            let expected = match kind {
                Kind::Int => "a non-negative integer",
                Kind::PositiveInt => "a positive integer",
                Kind::Number => "a non-negative number",
                Kind::Bool => "true or false",
            };
            return Err(ApiError::invalid(format!("`{field}.{key}` must be {expected}, got {value}")));
        }
    }
    let bounded = [
        ("max_new_tokens", limits.max_new_tokens, "tokens"),
        ("max_length", limits.max_new_tokens, "tokens"),
        ("num_beams", limits.max_beams, "beams"),
        ("num_return_sequences", limits.max_beams, "sequences"),
    ];
    for (key, max, unit) in bounded {
        if let Some(n) = options.get(key).and_then(Value::as_u64) {
            if n > max as u64 {
                return Err(ApiError::too_large(&format!("{field}.{key}"), max, unit));
            }
        }
    }
    Ok(())
}

/// The pipeline's options with `overrides` on top.
pub struct WithOverrides<'a> {
    pub inner: &'a dyn Generator,
    pub overrides: &'a Map<String, Value>,
}

impl WithOverrides<'_> {
    fn merged(&self, options: &Map<String, Value>) -> Map<String, Value> {
        let mut merged = options.clone();
        for (k, v) in self.overrides {
            merged.insert(k.clone(), v.clone());
        }
        merged
    }
}

impl Generator for WithOverrides<'_> {
    fn generate(&self, passages: &[String], options: &Map<String, Value>) -> Result<String, String> {
        self.inner.generate(passages, &self.merged(options))
    }

    fn generate_streaming(
        &self,
        passages: &[String],
        options: &Map<String, Value>,
        on_text: &mut dyn FnMut(&str) -> bool,
    ) -> Result<Generated, String> {
        self.inner.generate_streaming(passages, &self.merged(options), on_text)
    }
}
