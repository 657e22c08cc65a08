//! Rule control (reference §4 stage 4) in the reference's JSON format: a list of
//! `{name, pos_regex_list, neg_regex_list, response, append_knowledge, reform_query,
//! invoke_skill}`. A rule hits when a positive pattern is found and no negative
//! one; the first hit wins. The same format serves the safety rules.

use crate::error::{DialogueError, Result};
use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::Path;

/// One rule as written in the file (every field optional, as in the reference).
#[derive(Debug, Clone, Default, Deserialize)]
struct RawRule {
    name: Option<String>,
    pos_regex_list: Option<Vec<String>>,
    neg_regex_list: Option<Vec<String>>,
    response: Option<Vec<String>>,
    append_knowledge: Option<String>,
    reform_query: Option<String>,
    invoke_skill: Option<Value>,
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pos: Vec<Regex>,
    neg: Vec<Regex>,
    /// Canned replies; non-empty means the rule answers the turn.
    pub response: Vec<String>,
    /// Knowledge added to the turn's passages.
    pub append_knowledge: Option<String>,
    /// A search query replacing the user's; with `invoke_skill`, the skill's name.
    pub reform_query: Option<String>,
    pub invoke_skill: bool,
}

/// What the debug output shows of a hit rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleHit {
    pub name: String,
    pub response: Vec<String>,
    pub append_knowledge: Option<String>,
    pub reform_query: Option<String>,
    pub invoke_skill: bool,
}

impl Rule {
    /// Whether the rule fires on `text`.
    pub fn hits(&self, text: &str) -> bool {
        self.pos.iter().any(|r| r.is_match(text)) && !self.neg.iter().any(|r| r.is_match(text))
    }

    pub fn as_hit(&self) -> RuleHit {
        RuleHit {
            name: self.name.clone(),
            response: self.response.clone(),
            append_knowledge: self.append_knowledge.clone(),
            reform_query: self.reform_query.clone(),
            invoke_skill: self.invoke_skill,
        }
    }
}

/// An ordered list of rules.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
}

/// Python truthiness of a JSON value (the reference does `bool(invoke_skill)`).
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().map(|f| f != 0.0).unwrap_or(true),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

impl RuleSet {
    /// No rules.
    pub fn empty() -> RuleSet {
        RuleSet::default()
    }

    /// Loads a rule file; errors name the file, the rule and the pattern.
    pub fn load(path: &Path) -> Result<RuleSet> {
        let text = std::fs::read_to_string(path).map_err(|source| DialogueError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        RuleSet::from_json(&text).map_err(|message| DialogueError::Rules {
            path: path.to_path_buf(),
            message,
        })
    }

    /// Parses rule JSON; the error message names the rule and field.
    pub fn from_json(text: &str) -> std::result::Result<RuleSet, String> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let raw: Vec<RawRule> = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            format!("`{path}`: {}", e.into_inner())
        })?;
        let mut rules = Vec::with_capacity(raw.len());
        for (i, r) in raw.into_iter().enumerate() {
            let name = r.name.clone().unwrap_or_else(|| format!("#{i}"));
            let compile = |list: &Option<Vec<String>>,
                           field: &str|
             -> std::result::Result<Vec<Regex>, String> {
                list.iter()
                    .flatten()
                    .enumerate()
                    .map(|(j, p)| {
                        Regex::new(p)
                            .map_err(|e| format!("rule [{i}] `{name}`: {field}[{j}] `{p}`: {e}"))
                    })
                    .collect()
            };
            rules.push(Rule {
                pos: compile(&r.pos_regex_list, "pos_regex_list")?,
                neg: compile(&r.neg_regex_list, "neg_regex_list")?,
                name,
                response: r.response.unwrap_or_default(),
                append_knowledge: r.append_knowledge.filter(|s| !s.is_empty()),
                reform_query: r.reform_query.filter(|s| !s.is_empty()),
                invoke_skill: r.invoke_skill.as_ref().map(truthy).unwrap_or(false),
            });
        }
        Ok(RuleSet { rules })
    }

    /// The first rule that fires on `text`.
    pub fn first_hit(&self, text: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.hits(text))
    }
}
