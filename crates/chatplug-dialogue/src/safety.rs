//! Query and reply safety (reference §4 stages 3 and 16): an unsafe-term lexicon and
//! regex rules in the rule-control format. An unsafe query or reply is answered with
//! a canned reply.

use crate::config::Config;
use crate::error::{DialogueError, Result};
use crate::rules::RuleSet;
use crate::text::pick;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Which text was unsafe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SafetyStage {
    UnsafeQuery,
    UnsafeResp,
}

/// A safety decision for the debug output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SafetyHit {
    pub stage: SafetyStage,
    /// `lexicon` or `rule`.
    pub method: String,
    /// The lexicon term or the rule name.
    pub matched: String,
    /// The canned reply used instead.
    pub response: String,
}

/// The safety checks configured for a pipeline.
#[derive(Debug, Clone, Default)]
pub struct Safety {
    pub lexicon: Vec<String>,
    pub query_rules: RuleSet,
    pub resp_rules: RuleSet,
    pub canned: Vec<String>,
}

/// Reads a lexicon: one term a line, blank lines and `#` comments skipped.
pub fn parse_lexicon(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

impl Safety {
    /// Loads the files the config enables.
    pub fn from_config(config: &Config) -> Result<Safety> {
        let mut s = Safety {
            canned: config.unsafe_responses.clone(),
            ..Safety::default()
        };
        if config.safety_filter_use {
            if config.safety_lexicon_path.is_empty() {
                return Err(DialogueError::config(
                    "safety_lexicon_path",
                    "required when safety_filter_use = true",
                ));
            }
            let p = Path::new(&config.safety_lexicon_path);
            let text = std::fs::read_to_string(p).map_err(|source| DialogueError::Io {
                path: p.to_path_buf(),
                source,
            })?;
            s.lexicon = parse_lexicon(&text);
        }
        if config.use_safety_rule {
            for (key, path, slot) in [
                (
                    "safety_rule_for_query_path",
                    &config.safety_rule_for_query_path,
                    &mut s.query_rules,
                ),
                (
                    "safety_rule_for_resp_path",
                    &config.safety_rule_for_resp_path,
                    &mut s.resp_rules,
                ),
            ] {
                if path.is_empty() {
                    return Err(DialogueError::config(
                        key,
                        "required when use_safety_rule = true",
                    ));
                }
                *slot = RuleSet::load(Path::new(path))?;
            }
        }
        Ok(s)
    }

    fn check(&self, text: &str, rules: &RuleSet, stage: SafetyStage) -> Option<SafetyHit> {
        if let Some(term) = self.lexicon.iter().find(|t| text.contains(t.as_str())) {
            return Some(SafetyHit {
                stage,
                method: "lexicon".into(),
                matched: term.clone(),
                response: pick(&self.canned, text).unwrap_or_default().to_string(),
            });
        }
        let rule = rules.first_hit(text)?;
        let options = if rule.response.is_empty() {
            &self.canned
        } else {
            &rule.response
        };
        Some(SafetyHit {
            stage,
            method: "rule".into(),
            matched: rule.name.clone(),
            response: pick(options, text).unwrap_or_default().to_string(),
        })
    }

    /// Checks the (rewritten) query.
    pub fn check_query(&self, query: &str) -> Option<SafetyHit> {
        self.check(query, &self.query_rules, SafetyStage::UnsafeQuery)
    }

    /// Checks a generated reply.
    pub fn check_response(&self, response: &str) -> Option<SafetyHit> {
        self.check(response, &self.resp_rules, SafetyStage::UnsafeResp)
    }
}
