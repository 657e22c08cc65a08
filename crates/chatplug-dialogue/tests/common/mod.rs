//! Test doubles: a character tokenizer, a scripted generator, providers.
#![allow(dead_code, clippy::type_complexity)]

use chatplug_dialogue::*;
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

pub fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// One id per character plus a leading word-start id 9 (like T5's `▁`).
pub struct CharTokenizer;

impl TextTokenizer for CharTokenizer {
    fn encode_no_eos(&self, text: &str) -> Vec<u32> {
        std::iter::once(9)
            .chain(text.chars().map(|c| c as u32))
            .collect()
    }
}

/// Returns a fixed reply and records what it was given.
pub struct ScriptedGenerator {
    pub reply: String,
    pub calls: Mutex<Vec<(Vec<String>, Map<String, Value>)>>,
}

impl ScriptedGenerator {
    pub fn new(reply: &str) -> Self {
        ScriptedGenerator {
            reply: reply.to_string(),
            calls: Mutex::new(Vec::new()),
        }
    }
}

impl Generator for ScriptedGenerator {
    fn generate(
        &self,
        passages: &[String],
        options: &Map<String, Value>,
    ) -> Result<String, String> {
        self.calls
            .lock()
            .unwrap()
            .push((passages.to_vec(), options.clone()));
        Ok(self.reply.clone())
    }
}

/// A provider returning fixed snippets and recording its queries.
pub struct FixedProvider {
    pub name: String,
    pub kind: ProviderKind,
    pub results: SearchResults,
    pub queries: Mutex<Vec<String>>,
}

impl FixedProvider {
    pub fn web(texts: &[&str]) -> Arc<FixedProvider> {
        Arc::new(FixedProvider {
            name: "web".into(),
            kind: ProviderKind::Web,
            results: SearchResults {
                snippets: texts.iter().map(|t| Snippet::new(*t)).collect(),
                special_card: false,
            },
            queries: Mutex::new(Vec::new()),
        })
    }
}

impl KnowledgeProvider for FixedProvider {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> ProviderKind {
        self.kind
    }
    fn search(&self, query: &str) -> Result<SearchResults, String> {
        self.queries.lock().unwrap().push(query.to_string());
        Ok(self.results.clone())
    }
}

/// 2024-05-15 (a Wednesday) 09:30.
pub fn wednesday() -> Arc<FixedClock> {
    Arc::new(FixedClock(LocalDateTime::new(2024, 5, 15, 9, 30)))
}

pub fn pipeline(config: Config) -> ChatPipeline {
    ChatPipeline::new(config).unwrap().with_clock(wednesday())
}

pub fn req(v: Value) -> ChatRequest {
    ChatRequest::from_value(v).unwrap()
}
