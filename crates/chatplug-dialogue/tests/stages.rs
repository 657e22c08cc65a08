//! The stage lists: training passages come from the inference stages themselves.

mod common;

use chatplug_dialogue::stages::{INFERENCE, PASSAGES};
use chatplug_dialogue::*;
use common::*;
use serde_json::json;

#[test]
fn passage_stages_are_the_inference_stages_in_order() {
    let names = |list: &[stages::Stage]| list.iter().map(|s| s.name).collect::<Vec<_>>();
    let inference = names(INFERENCE);
    let mut at = 0;
    for stage in PASSAGES {
        let found = inference[at..].iter().position(|n| *n == stage.name);
        let i = found.unwrap_or_else(|| panic!("{} is not an inference stage after {at}", stage.name));
        // The same function, not a copy of it.
        assert!(std::ptr::fn_addr_eq(INFERENCE[at + i].run, stage.run), "{}", stage.name);
        at += i + 1;
    }
    assert_eq!(
        inference,
        [
            "farewells", "rewrite", "query_safety", "rule_control", "faq", "skills", "search_decision",
            "knowledge_providers", "context_selection", "dynamic_profiles", "chunking", "templates",
            "whitespace_mapping", "no_repeat_session", "generation_options"
        ]
    );
    for skipped in ["query_safety", "rule_control", "faq", "skills", "knowledge_providers", "no_repeat_session"] {
        assert!(!names(PASSAGES).contains(&skipped), "{skipped}");
    }
}

fn requests() -> Vec<ChatRequest> {
    vec![
        req(json!({"query": "你好"})),
        req(json!({"query": "周末去哪里玩？", "history": [
            {"role": "user", "utterance": "我叫李雷，我喜欢打篮球"}, {"role": "bot", "utterance": "我是小婉"},
            {"role": "user", "utterance": "今天好累\n真的"}, {"role": "bot", "utterance": "早点休息吧"},
            {"role": "user", "utterance": "拜拜"}, {"role": "bot", "utterance": "再见"}]})),
        req(json!({"query": "长城有多长", "knowledge": ["长城\t全长两万多千米", "长".repeat(700)],
                   "bot_profile": "我叫小婉", "user_profile": "我住在北京", "role_instruction": "温柔"})),
        req(json!({"query": "你叫什么名字？", "history": [{"role": "user", "utterance": "我是老师"}, {"role": "bot", "utterance": "我是小婉"}],
                   "bot_profile": "我叫小婉", "user_profile": "我喜欢跑步"})),
    ]
}

#[test]
fn training_passages_equal_prepared_passages() {
    let p = pipeline(Config::default());
    for r in requests() {
        let Outcome::Generate { passages, .. } = p.prepare(&r).unwrap().outcome else { panic!("answered") };
        assert_eq!(p.training_passages(&r).unwrap(), passages, "{}", r.query);
    }
}

/// Rules, skills and search answer at inference; training passages are still built,
/// without what those stages would add.
#[test]
fn training_passages_skip_the_answering_stages() {
    let rules = RuleSet::from_json(r#"[{"name": "hi", "pos_regex_list": ["你好"], "response": ["嗨"]}]"#).unwrap();
    let p = pipeline(Config::default())
        .with_rules(rules)
        .with_provider(FixedProvider::web(&["长城是一项伟大的工程"]));
    let hello = req(json!({"query": "你好"}));
    assert!(matches!(p.prepare(&hello).unwrap().outcome, Outcome::Reply { .. }));
    assert_eq!(
        p.training_passages(&hello).unwrap(),
        vec!["假设我和你正在进行对话，请你给我得体、准确、友好的回复。以下是我们的对话内容。我：你好。"]
    );
    let question = req(json!({"query": "长城有多长？"}));
    let Outcome::Generate { passages, .. } = p.prepare(&question).unwrap().outcome else { panic!() };
    assert_eq!(passages.len(), 1, "the provider's knowledge");
    assert!(passages[0].contains("长城是一项伟大的工程"));
    assert!(!p.training_passages(&question).unwrap()[0].contains("伟大的工程"));
}

#[test]
fn training_inputs_take_another_template_set() {
    let p = pipeline(Config::default());
    let r = req(json!({"query": "你好", "bot_profile": "我叫小婉"}));
    let training = TemplateSet::preset(TemplatePreset::Training);
    let inputs = p.training_inputs(&r, Some(&training)).unwrap();
    assert_eq!(inputs.passages, vec![templates::fill(&training.bot_profile, &[("context", "我：你好。"), ("bot_profile", "我叫小婉")])]);
    assert_eq!(inputs.bot_profile_chunks, vec!["我叫小婉"]);
}
