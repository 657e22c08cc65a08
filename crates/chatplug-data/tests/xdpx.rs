//! XDPX files: passages as the reference's `t5_fidchat_instruction` loader builds
//! them (expected strings written by hand from reading the loader), and the export
//! round trip.

mod common;

use chatplug_data::xdpx::{build, XdpxRecord};
use chatplug_data::{export_dialogue_file, xdpx_jsonl, DataOptions, InputFormat};
use chatplug_dialogue::{TemplatePreset, TemplateSet};
use common::*;
use serde_json::json;

const HEAD: &str =
    "假设我和你正在进行对话，请你给我得体、有信息量且生动的回复。以下是我们的对话内容。";

fn record(context: &str, response: &str, passages: &str) -> XdpxRecord {
    XdpxRecord {
        context: context.into(),
        response: response.into(),
        passages: passages.into(),
    }
}

fn training() -> TemplateSet {
    TemplateSet::preset(TemplatePreset::Training)
}

#[test]
fn passages_follow_the_reference_loader() {
    let r = record(
        "你好</s>你好呀</s>你喜欢什么",
        "我喜欢打篮球\n你呢",
        "history:我叫李雷</s>你好李雷;;;knowledge:篮球是一项运动;;;user_profile:你叫李雷;;;bot_profile:我叫小婉;;;",
    );
    let (passages, target) = build(&r, &training());
    let ctx = "我：你好。你：你好呀。我：你喜欢什么。";
    assert_eq!(
        passages,
        vec![
            format!("{HEAD}{ctx}#请注意，在此之前我们还进行了以下对话内容。我：我叫李雷。你：你好李雷。</s>"),
            format!("{HEAD}{ctx}#请注意，你同时也知道以下知识。篮球是一项运动</s>"),
            format!("{HEAD}{ctx}#请注意，你同时也知道我的信息，以下是你对我了解的内容。你叫李雷</s>"),
            format!("{HEAD}{ctx}#请注意，你同时也有一个人物设定，以下是你的人物设定。我叫小婉</s>"),
        ]
    );
    assert_eq!(target, "我喜欢打篮球▁<extra_id_22>你呢</s>");
}

#[test]
fn the_loaders_quirks_are_kept() {
    // No passages: one context passage. `strip("</s>")` strips characters: the
    // response loses its final `s`; a trailing newline (mapped) loses its `>`.
    let (passages, target) = build(&record(" hello\n", "yes", ""), &training());
    assert_eq!(
        passages,
        vec![format!("{HEAD}我：hello▁<extra_id_22。</s>")]
    );
    assert_eq!(target, "ye</s>");
    // Any unknown prefix is taken as knowledge and loses 10 characters; `;` and
    // `</s>` characters are stripped from each piece; blank pieces are skipped.
    let (passages, _) = build(
        &record("问", "答", " ;;; ;;;facts:0123456789ABC;;;knowledge:知识;;"),
        &training(),
    );
    assert_eq!(
        passages,
        vec![
            format!("{HEAD}我：问。#请注意，你同时也知道以下知识。456789ABC</s>"),
            format!("{HEAD}我：问。#请注意，你同时也知道以下知识。知识</s>"),
        ]
    );
    // An empty context renders as nothing.
    let (passages, _) = build(&record("", "答", ""), &training());
    assert_eq!(passages, vec![format!("{HEAD}</s>")]);
}

#[test]
fn xdpx_files_tokenize_with_one_eos() {
    let tok = tokenizer();
    let line =
        json!({"context": "你好", "response": "你好呀", "passages": "", "id": 7}).to_string();
    let (examples, stats) = prepare(&[line], InputFormat::Xdpx, &DataOptions::default()).unwrap();
    assert_eq!(
        examples[0].input_ids,
        vec![tok.encode(&format!("{HEAD}我：你好。"))]
    );
    assert_eq!(examples[0].labels, tok.encode("你好呀"));
    assert_eq!(stats.objective.as_deref(), Some("dialogue"));
    for (bad, needle) in [
        (
            json!({"response": "x"}).to_string(),
            "missing field `context`",
        ),
        (
            json!({"context": "x", "response": "x", "passages": ["a"]}).to_string(),
            "field `passages` must be a string",
        ),
        (
            json!({"context": "x", "response": "s"}).to_string(),
            "`response` is empty",
        ),
    ] {
        let message = prepare_error(
            std::slice::from_ref(&bad),
            InputFormat::Xdpx,
            &DataOptions::default(),
        );
        assert!(
            message.contains("input.jsonl:1: ") && message.contains(needle),
            "{bad}: {message}"
        );
    }
}

/// Export → `prepare --format xdpx` gives the passages and targets of the dialogue
/// path with the same (training) templates: history window, knowledge chunks,
/// profiles with dynamic facts, farewell turns, whitespace.
#[test]
fn export_round_trip_preserves_the_examples() {
    let dialogues = [
        json!({"query": "周末去哪里玩比较好？", "response": "去爬山吧。", "history": [
            {"role": "user", "utterance": "我叫李雷，我喜欢打篮球"}, {"role": "bot", "utterance": "你好李雷"},
            {"role": "user", "utterance": "今天好累"}, {"role": "bot", "utterance": "早点休息吧"},
            {"role": "user", "utterance": "好的，再见"}, {"role": "bot", "utterance": "拜拜"}]}),
        json!({"query": "长城有多长", "response": "两万多千米。\n很长！", "knowledge": ["长城全长两万多千米", "长".repeat(650)],
               "bot_profile": "我叫小婉;我是一名大学生", "user_profile": "我住在北京", "role_instruction": "说话温柔"}),
        json!({"query": "你好", "response": "你好呀！"}),
    ];
    let lines: Vec<String> = dialogues.iter().map(|d| d.to_string()).collect();
    let (dir, path) = input(&lines);
    let records = export_dialogue_file(&path, &pipeline()).unwrap();
    // Farewell turns are `#`; the last two turns are context, the older ones history.
    assert_eq!(records[0].context, "#</s>#</s>周末去哪里玩比较好？");
    assert_eq!(
        records[0].passages,
        "history:我叫李雷，我喜欢打篮球</s>你好李雷</s>今天好累</s>早点休息吧"
    );
    assert_eq!(
        records[1]
            .passages
            .split(";;;")
            .filter(|p| p.starts_with("knowledge:"))
            .count(),
        4,
        "one knowledge item and three chunks of the long one"
    );
    assert_eq!(records[2].passages, "");
    let xdpx_path = dir.path().join("export.jsonl");
    std::fs::write(&xdpx_path, xdpx_jsonl(&records)).unwrap();
    let options = DataOptions {
        templates: Some(TemplatePreset::Training),
        ..DataOptions::default()
    };
    let (direct, _) = chatplug_data::prepare_file(
        &path,
        InputFormat::Dialogue,
        &options,
        &pipeline(),
        &tokenizer(),
    )
    .unwrap();
    let (round_trip, _) = chatplug_data::prepare_file(
        &xdpx_path,
        InputFormat::Xdpx,
        &options,
        &pipeline(),
        &tokenizer(),
    )
    .unwrap();
    assert_eq!(direct, round_trip);
}
