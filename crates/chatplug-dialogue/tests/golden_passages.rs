//! Passages equal to the reference pipeline's (fixtures/golden/prompt_golden.json,
//! recorded by fixtures/make_prompt_golden.py from the reference's own code), under
//! `persona_question_memory = false`, the reference's behaviour.

#![allow(clippy::field_reassign_with_default)]

mod common;

use chatplug_dialogue::*;
use common::*;
use serde_json::Value;
use std::sync::Arc;

fn golden() -> Vec<Value> {
    let path = repo_root().join("fixtures/golden/prompt_golden.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let v: Value = serde_json::from_str(&text).unwrap();
    v["cases"].as_array().unwrap().clone()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn golden_has_many_cases() {
    assert!(golden().len() >= 40);
}

#[test]
fn passages_match_reference() {
    let mut failures = Vec::new();
    for case in golden() {
        let name = case["name"].as_str().unwrap();
        // The recordings are the reference's behaviour: persona questions without
        // request profiles get no dynamic facts (tests/memory.rs covers the default).
        let mut config = Config {
            persona_question_memory: false,
            ..Config::default()
        };
        if case["templates"] == "training" {
            config.templates.preset = TemplatePreset::Training;
        }
        let mut p = pipeline(config).with_keyword_extractor(Arc::new(NoKeywords));
        let retrieved = strings(&case["retrieved"]);
        let provider =
            FixedProvider::web(&retrieved.iter().map(String::as_str).collect::<Vec<_>>());
        if !retrieved.is_empty() {
            p = p.with_provider(provider.clone());
        }
        let request = ChatRequest::from_value(case["request"].clone()).unwrap();
        let prepared = p.prepare(&request).unwrap();
        let (passages, options) = match &prepared.outcome {
            Outcome::Generate { passages, options } => (passages.clone(), options.clone()),
            other => {
                failures.push(format!("{name}: answered without the model: {other:?}"));
                continue;
            }
        };
        let expected = strings(&case["expected_passages"]);
        if passages != expected {
            failures.push(format!(
                "{name}: passages\n  got      {passages:?}\n  expected {expected:?}"
            ));
        }
        let d = &prepared.debug;
        if Value::Bool(d.is_persona_question) != case["is_persona_question"] {
            failures.push(format!(
                "{name}: is_persona_question {}",
                d.is_persona_question
            ));
        }
        if Value::Bool(d.need_search) != case["need_search"] {
            failures.push(format!("{name}: need_search {}", d.need_search));
        }
        let asked = provider.queries.lock().unwrap().first().cloned();
        if !retrieved.is_empty() && asked.as_deref() != case["search_query"].as_str() {
            failures.push(format!(
                "{name}: search query {asked:?} vs {}",
                case["search_query"]
            ));
        }
        if options["min_length"] != case["min_length"] {
            failures.push(format!("{name}: min_length {}", options["min_length"]));
        }
        let session = strings(&case["no_repeat_session"]);
        if d.no_repeat_session != session {
            failures.push(format!(
                "{name}: no_repeat_session {:?} vs {session:?}",
                d.no_repeat_session
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The golden cases where the reference differs only by the bare `;` of an empty
/// profile part: our passages equal the reference's once those are removed.
#[test]
fn deviation_from_reference_is_only_the_empty_profile_part() {
    for case in golden()
        .into_iter()
        .filter(|c| c["templates"] == "inference")
    {
        let expected = strings(&case["expected_passages"]);
        let reference = strings(&case["reference_passages"]);
        if expected.iter().chain(&reference).any(|p| {
            p.contains("▁<extra_id_") || p.contains('\n') || p.contains('\t') || p.contains("  ")
        }) {
            continue; // whitespace-mapping case
        }
        let count = |marker: &str| reference.iter().filter(|p| p.contains(marker)).count();
        if count("#假设以下是你的人物设定") > 1 || count("#假设以下是你对我所了解的信息") > 1
        {
            continue; // chunked profile: a chunk may start with `;` legitimately
        }
        let mut cleaned: Vec<String> = reference
            .iter()
            .filter(|p| !p.ends_with("信息如下：;"))
            .map(|p| {
                p.replace("信息如下：;", "信息如下：")
                    .trim_end_matches(';')
                    .to_string()
            })
            .collect();
        if cleaned.is_empty() {
            // The bare-`;` passage was the only one: we give the context-only passage.
            let only = reference[0]
                .split("#假设以下是你的人物设定")
                .next()
                .unwrap()
                .to_string();
            cleaned.push(only);
        }
        assert_eq!(expected, cleaned, "{}", case["name"]);
    }
}
