//! Dialogue and instruction files: the passages are the ones inference builds.

mod common;

use chatplug_data::{DataOptions, InputFormat};
use chatplug_dialogue::{ChatRequest, Outcome, TemplatePreset, TemplateSet};
use common::*;
use serde_json::{json, Value};

fn requests() -> Vec<Value> {
    vec![
        json!({"query": "你好"}),
        json!({"query": "你喜欢什么运动？", "history": [
            {"role": "user", "utterance": "我叫李雷，我喜欢打篮球"},
            {"role": "bot", "utterance": "你好李雷"},
            {"role": "user", "utterance": "今天好累"},
            {"role": "bot", "utterance": "早点休息吧"},
            {"role": "user", "utterance": "好的，再见"},
            {"role": "bot", "utterance": "拜拜"}]}),
        json!({"query": "长城有多长", "knowledge": ["长城全长两万多千米。\n它横跨多个省份。", "x".repeat(700)],
               "bot_profile": "我叫小婉;我是一名大学生", "user_profile": "我住在北京", "role_instruction": "说话温柔"}),
        json!({"query": "你叫什么名字？", "history": [{"role": "user", "utterance": "我是老师"}, {"role": "bot", "utterance": "我是小婉"}],
               "bot_profile": "我叫小婉"}),
    ]
}

/// What inference tokenizes for a request: `prepare`'s passages, each encoded and cut
/// as the engine does.
fn inference_ids(request: &Value, max_len: usize) -> Vec<Vec<u32>> {
    let tok = tokenizer();
    let prepared = pipeline()
        .prepare(&ChatRequest::from_value(request.clone()).unwrap())
        .unwrap();
    let Outcome::Generate { passages, .. } = prepared.outcome else {
        panic!("answered without the model")
    };
    passages
        .iter()
        .map(|p| {
            let mut ids = tok.encode(p);
            chatplug_data::truncate_keeping_eos(&mut ids, max_len, tok.eos_id());
            ids
        })
        .collect()
}

#[test]
fn dialogue_passages_are_the_inference_passages() {
    let tok = tokenizer();
    let lines: Vec<String> = requests()
        .into_iter()
        .enumerate()
        .map(|(i, mut r)| {
            r["response"] = json!(format!("回复{i}：好的\n第二行"));
            r.to_string()
        })
        .collect();
    let options = DataOptions::default();
    let (examples, stats) = prepare(&lines, InputFormat::Dialogue, &options).unwrap();
    assert_eq!(examples.len(), 4);
    assert_eq!(stats.examples, 4);
    for (i, (example, request)) in examples.iter().zip(requests()).enumerate() {
        assert_eq!(
            example.input_ids,
            inference_ids(&request, 380),
            "example {i}"
        );
        // The target is whitespace-mapped as the reference loader maps targets.
        assert_eq!(
            example.labels,
            tok.encode(&format!("回复{i}：好的▁<extra_id_22>第二行"))
        );
        assert_eq!(*example.labels.last().unwrap(), tok.eos_id());
    }
    // The long knowledge item is chunked into several passages, as at inference.
    assert!(
        examples[2].input_ids.len() >= 5,
        "{}",
        examples[2].input_ids.len()
    );
}

#[test]
fn training_templates_can_be_chosen() {
    let tok = tokenizer();
    let line = json!({"query": "你好", "response": "你好呀"}).to_string();
    let options = DataOptions {
        templates: Some(TemplatePreset::Training),
        ..DataOptions::default()
    };
    let (examples, _) = prepare(&[line], InputFormat::Dialogue, &options).unwrap();
    let expected = chatplug_dialogue::templates::fill(
        &TemplateSet::preset(TemplatePreset::Training).context,
        &[("context", "我：你好。")],
    );
    assert_eq!(examples[0].input_ids, vec![tok.encode(&expected)]);
}

#[test]
fn instruction_examples_are_one_context_passage() {
    let tok = tokenizer();
    let lines = vec![
        json!({"instruction": "把这句话翻译成英文", "input": "我喜欢猫", "output": "I like cats."})
            .to_string(),
        json!({"instruction": "写一首关于春天的诗", "output": "春风拂面"}).to_string(),
    ];
    let (examples, stats) =
        prepare(&lines, InputFormat::Instruction, &DataOptions::default()).unwrap();
    assert_eq!(stats.objective.as_deref(), Some("instruction"));
    let head = "假设我和你正在进行对话，请你给我得体、准确、友好的回复。以下是我们的对话内容。";
    assert_eq!(
        examples[0].input_ids,
        vec![tok.encode(&format!(
            "{head}我：把这句话翻译成英文▁<extra_id_22>▁<extra_id_22>我喜欢猫。"
        ))]
    );
    assert_eq!(examples[0].labels, tok.encode("I like cats."));
    assert_eq!(
        examples[1].input_ids,
        vec![tok.encode(&format!("{head}我：写一首关于春天的诗。"))]
    );
}

#[test]
fn bad_dialogue_lines_name_file_line_and_field() {
    let good = json!({"query": "你好", "response": "你好呀"}).to_string();
    for (bad, needle) in [
        ("{not json".to_string(), "not valid JSON"),
        ("[1, 2]".to_string(), "expected a JSON object"),
        (json!({"query": "你好"}).to_string(), "missing field `response`"),
        (json!({"query": "你好", "response": "  "}).to_string(), "`response` is empty"),
        (json!({"query": "你好", "response": 3}).to_string(), "`response` must be a string"),
        (json!({"query": "", "response": "好"}).to_string(), "`query` is empty"),
        (json!({"query": "你好", "response": "好", "histroy": []}).to_string(), "histroy"),
        (json!({"query": "你好", "response": "好", "history": [{"role": "system", "utterance": "x"}]}).to_string(), "history[0].role"),
    ] {
        let message = prepare_error(&[good.clone(), String::new(), bad.clone()], InputFormat::Dialogue, &DataOptions::default());
        assert!(message.contains("input.jsonl:3: "), "{bad}: {message}");
        assert!(message.contains(needle), "{bad}: {message}");
    }
    for (bad, needle) in [
        (
            json!({"input": "x", "output": "y"}).to_string(),
            "missing field `instruction`",
        ),
        (
            json!({"instruction": "x", "output": ""}).to_string(),
            "`output` is empty",
        ),
        (
            json!({"instruction": "x", "input": 1, "output": "y"}).to_string(),
            "field `input` must be a string",
        ),
    ] {
        let message = prepare_error(
            std::slice::from_ref(&bad),
            InputFormat::Instruction,
            &DataOptions::default(),
        );
        assert!(
            message.contains("input.jsonl:1: ") && message.contains(needle),
            "{bad}: {message}"
        );
    }
}

#[test]
fn an_empty_file_is_an_error() {
    let message = prepare_error(
        &["".into(), "  ".into()],
        InputFormat::Dialogue,
        &DataOptions::default(),
    );
    assert!(message.contains("no examples"), "{message}");
}
