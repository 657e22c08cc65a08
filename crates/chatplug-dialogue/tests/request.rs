//! Request parsing: clear errors that name the field.

#![allow(clippy::field_reassign_with_default)]

use chatplug_dialogue::*;

fn err(json: &str) -> String {
    ChatRequest::from_json(json).unwrap_err().to_string()
}

#[test]
fn minimal_request() {
    let r = ChatRequest::from_json(r#"{"query": "你好"}"#).unwrap();
    assert_eq!(r.query, "你好");
    assert!(r.history.is_empty() && r.knowledge.is_empty());
    assert_eq!(r.bot_profile, "");
    assert_eq!(r.role_instruction, None);
}

#[test]
fn full_request() {
    let r = ChatRequest::from_json(
        r#"{"query": "q", "history": [{"role": "user", "utterance": "a", "rewritten": "A"}, {"role": "bot", "utterance": "b"}],
            "knowledge": ["k1", "k2"], "bot_profile": "我叫小婉", "user_profile": "我是学生",
            "role_instruction": "你是一名导游", "dialog_state": {"ds_hang_skill": null}}"#,
    )
    .unwrap();
    assert_eq!(
        r.history[0],
        Turn {
            role: Role::User,
            utterance: "a".into(),
            rewritten: Some("A".into())
        }
    );
    assert_eq!(r.history[1].role, Role::Bot);
    assert_eq!(r.history[0].effective(), "A");
    assert_eq!(r.history[1].effective(), "b");
    assert_eq!(r.knowledge, vec!["k1", "k2"]);
    assert_eq!(r.role_instruction.as_deref(), Some("你是一名导游"));
    assert!(r.dialog_state.contains_key("ds_hang_skill"));
}

#[test]
fn missing_query_is_named() {
    let e = err(r#"{"history": []}"#);
    assert!(e.contains("missing field `query`"), "{e}");
}

#[test]
fn wrong_query_type_is_named() {
    let e = err(r#"{"query": 3}"#);
    assert!(e.contains("`query`") && e.contains("invalid type"), "{e}");
}

#[test]
fn unknown_role_is_named_with_its_index() {
    let e = err(
        r#"{"query": "q", "history": [{"role": "user", "utterance": "a"}, {"role": "system", "utterance": "b"}]}"#,
    );
    assert!(e.contains("history[1].role"), "{e}");
    assert!(e.contains("unknown variant `system`"), "{e}");
}

#[test]
fn missing_utterance_is_named() {
    let e = err(r#"{"query": "q", "history": [{"role": "user"}]}"#);
    assert!(e.contains("history[0]") && e.contains("utterance"), "{e}");
}

#[test]
fn unknown_fields_are_errors() {
    let e = err(r#"{"query": "q", "knowlege": []}"#);
    assert!(e.contains("unknown field `knowlege`"), "{e}");
    let e =
        err(r#"{"query": "q", "history": [{"role": "bot", "utterance": "b", "type": "model"}]}"#);
    assert!(
        e.contains("history[0]") && e.contains("unknown field `type`"),
        "{e}"
    );
}

#[test]
fn knowledge_must_be_a_list_of_strings() {
    let e = err(r#"{"query": "q", "knowledge": "one"}"#);
    assert!(
        e.contains("`knowledge`") && e.contains("invalid type"),
        "{e}"
    );
    let e = err(r#"{"query": "q", "knowledge": ["a", 2]}"#);
    assert!(e.contains("knowledge[1]"), "{e}");
}

#[test]
fn profiles_must_be_strings() {
    let e = err(r#"{"query": "q", "bot_profile": ["a"]}"#);
    assert!(e.contains("`bot_profile`"), "{e}");
}

#[test]
fn empty_query_and_non_objects_are_rejected() {
    assert!(err(r#"{"query": "  "}"#).contains("`query` is empty"));
    assert!(ChatRequest::from_value(serde_json::json!(["q"]))
        .unwrap_err()
        .to_string()
        .contains("JSON object"));
    assert!(err("{").contains("bad request"));
}

#[test]
fn requests_round_trip() {
    let mut r = ChatRequest::new("q");
    r.history.push(Turn::user("a"));
    r.history.push(Turn::bot("b"));
    let back = ChatRequest::from_json(&serde_json::to_string(&r).unwrap()).unwrap();
    assert_eq!(back, r);
}
