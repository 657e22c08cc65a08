//! Memory in the default configuration: a persona question about the user recalls
//! what the user said earlier, even without a user profile; the reference's
//! behaviour is one option away.

mod common;

use chatplug_dialogue::*;
use common::*;
use serde_json::json;
use std::path::Path;

/// The user gives their name, then talks about two other things, then asks.
fn asks_for_the_name() -> ChatRequest {
    req(json!({"query": "你还记得我叫什么吗？", "history": [
        {"role": "user", "utterance": "你好，我叫李雷"}, {"role": "bot", "utterance": "你好李雷，很高兴认识你"},
        {"role": "user", "utterance": "今天天气真好"}, {"role": "bot", "utterance": "是啊，适合出去走走"},
        {"role": "user", "utterance": "我打算下午去公园"}, {"role": "bot", "utterance": "听起来不错"}]}))
}

fn passages(config: Config, request: &ChatRequest) -> Vec<String> {
    match pipeline(config).prepare(request).unwrap().outcome {
        Outcome::Generate { passages, .. } => passages,
        other => panic!("answered without the model: {other:?}"),
    }
}

#[test]
fn a_name_stated_earlier_reaches_the_passages_by_default() {
    let request = asks_for_the_name();
    let got = passages(Config::default(), &request);
    assert_eq!(
        got,
        vec!["假设我和你正在进行对话，请你给我得体、准确、友好的回复。以下是我们的对话内容。我：你还记得我叫什么吗？#假设以下是你对我所了解的信息，请你参考该信息并避免你的回复和该信息矛盾，信息如下：你叫李雷;你打算下午去公园"]
    );
    // Training passages follow the same default.
    assert_eq!(pipeline(Config::default()).training_passages(&request).unwrap(), got);
}

#[test]
fn the_reference_behaviour_is_one_option_away() {
    let request = asks_for_the_name();
    let config = Config { persona_question_memory: false, ..Config::default() };
    let got = passages(config, &request);
    assert_eq!(got, vec!["假设我和你正在进行对话，请你给我得体、准确、友好的回复。以下是我们的对话内容。我：你还记得我叫什么吗？"]);
    assert!(!got.concat().contains("李雷"));
    // The same through the configuration file and the environment.
    let from_file = Config::from_toml("persona_question_memory = false", Path::new(".")).unwrap();
    assert!(!from_file.persona_question_memory);
    let env = [("CHATPLUG_PERSONA_QUESTION_MEMORY".to_string(), "false".to_string())];
    let from_env = Config::from_toml_with_env("", Path::new("."), env).unwrap();
    assert!(!from_env.persona_question_memory);
    assert!(Config::default().persona_question_memory);
}

/// Bot facts too: a persona question about the bot recalls what the bot said of
/// itself when no bot profile was given. With a request profile nothing changes.
#[test]
fn bot_facts_and_request_profiles() {
    let request = req(json!({"query": "你叫什么名字？", "history": [
        {"role": "user", "utterance": "你好"}, {"role": "bot", "utterance": "你好，我是小婉"}]}));
    let got = passages(Config::default(), &request);
    assert_eq!(got.len(), 1);
    assert!(got[0].ends_with("#假设以下是你的人物设定，请你参考该信息并避免你的回复和该信息矛盾，信息如下：我是小婉"), "{got:?}");
    let mut with_profiles = asks_for_the_name();
    with_profiles.user_profile = "我喜欢跑步".into();
    let reference = Config { persona_question_memory: false, ..Config::default() };
    assert_eq!(passages(Config::default(), &with_profiles), passages(reference, &with_profiles));
}

/// A whole conversation through `Session`: the model is given the name on the fourth turn.
#[test]
fn a_session_remembers_the_users_name() {
    let p = pipeline(Config::default());
    let g = ScriptedGenerator::new("好的");
    let mut session = Session::new();
    for query in ["我叫韩梅梅", "今天有点冷", "想喝杯热茶", "你还记得我叫什么吗？"] {
        session.chat(&p, query, &g).unwrap();
    }
    let calls = g.calls.lock().unwrap();
    let last = &calls.last().unwrap().0;
    assert!(last.iter().any(|p| p.contains("你叫韩梅梅")), "{last:?}");
}
