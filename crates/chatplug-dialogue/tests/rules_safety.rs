//! Rule control and safety, with the rule / lexicon files under tests/data.

#![allow(clippy::field_reassign_with_default)]

mod common;

use chatplug_dialogue::safety::{parse_lexicon, SafetyStage};
use chatplug_dialogue::*;
use common::*;

fn rules_config() -> Config {
    let mut c = Config::default();
    c.rule_control_path = data("rules.json").to_string_lossy().into_owned();
    c
}

fn safety_config() -> Config {
    let mut c = Config::default();
    c.safety_filter_use = true;
    c.safety_lexicon_path = data("safety_lexicon.txt").to_string_lossy().into_owned();
    c.use_safety_rule = true;
    c.safety_rule_for_query_path = data("safety_query_rules.json")
        .to_string_lossy()
        .into_owned();
    c.safety_rule_for_resp_path = data("safety_resp_rules.json")
        .to_string_lossy()
        .into_owned();
    c
}

#[test]
fn rule_file_loads_in_the_reference_format() {
    let rules = RuleSet::load(&data("rules.json")).unwrap();
    assert_eq!(rules.rules.len(), 4);
    assert_eq!(
        rules.first_hit("是谁开发了你").unwrap().name,
        "who_made_you"
    );
    assert!(
        rules.first_hit("你不是谁开发了你").is_none(),
        "negative pattern"
    );
    assert_eq!(
        rules
            .first_hit("阿里巴巴怎么样")
            .unwrap()
            .append_knowledge
            .as_deref(),
        Some("阿里巴巴集团创立于1999年，总部位于杭州。")
    );
    assert!(rules.first_hit("看看日历").unwrap().invoke_skill);
    assert!(
        rules.first_hit("写首藏头诗").unwrap().invoke_skill,
        "invoke_skill: 1 is true"
    );
    assert!(rules.first_hit("你好").is_none());
    assert!(RuleSet::from_json("[]").unwrap().rules.is_empty());
    assert!(RuleSet::from_json(r#"[{"name": "no patterns"}]"#)
        .unwrap()
        .first_hit("x")
        .is_none());
}

#[test]
fn first_hit_wins() {
    let r = RuleSet::from_json(
        r#"[{"name": "a", "pos_regex_list": ["好"]}, {"name": "b", "pos_regex_list": ["你好"]}]"#,
    )
    .unwrap();
    assert_eq!(r.first_hit("你好").unwrap().name, "a");
}

#[test]
fn bad_rule_files_name_the_rule_and_pattern() {
    let e = RuleSet::load(&data("bad_rules.json"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("bad_rules.json")
            && e.contains("`broken`")
            && e.contains("pos_regex_list[0]")
            && e.contains("(未闭合"),
        "{e}"
    );
    let e = RuleSet::from_json(r#"[{"name": "x", "response": "not a list"}]"#).unwrap_err();
    assert!(e.contains("[0].response"), "{e}");
    let e = RuleSet::load(&data("missing.json"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing.json"), "{e}");
}

#[test]
fn rule_response_answers_the_turn() {
    let p = pipeline(rules_config());
    let g = ScriptedGenerator::new("x");
    let r = p.chat(&ChatRequest::new("是谁开发了你"), &g).unwrap();
    assert_eq!(r.response_type, ResponseType::Rule);
    assert_eq!(r.response, "我是由ChatPLUG团队开发的对话机器人");
    assert_eq!(r.debug.hit_rule.unwrap().name, "who_made_you");
    assert!(g.calls.lock().unwrap().is_empty());
}

#[test]
fn rule_knowledge_and_reformed_search_query() {
    let web = FixedProvider::web(&["阿里巴巴是一家科技公司。"]);
    let p = pipeline(rules_config()).with_provider(web.clone());
    let prepared = p
        .prepare(&ChatRequest::new("阿里巴巴是做什么的？"))
        .unwrap();
    assert_eq!(
        web.queries.lock().unwrap().as_slice(),
        ["阿里巴巴集团 简介"]
    );
    assert_eq!(
        prepared.debug.search_query.as_deref(),
        Some("阿里巴巴集团 简介")
    );
    assert_eq!(
        prepared.debug.knowledge_chunks,
        vec![
            "阿里巴巴集团创立于1999年，总部位于杭州。",
            "阿里巴巴是一家科技公司。"
        ]
    );
    // Not a question: no search, the rule knowledge still comes in.
    let prepared = p.prepare(&ChatRequest::new("我喜欢阿里巴巴")).unwrap();
    assert_eq!(
        prepared.debug.knowledge_chunks,
        vec!["阿里巴巴集团创立于1999年，总部位于杭州。"]
    );
    assert!(!prepared.debug.need_search);
}

#[test]
fn rule_invokes_a_skill() {
    let p = pipeline(rules_config());
    let r = p
        .chat(
            &ChatRequest::new("查一下日历，今天几号"),
            &ScriptedGenerator::new("x"),
        )
        .unwrap();
    assert_eq!(r.response_type, ResponseType::Skill);
    assert_eq!(r.response, "今天是2024年5月15日");
    assert_eq!(r.debug.invoke_skill_name.as_deref(), Some("$$$查日期$$$"));
    // A skill this crate does not have: the model answers, with a warning.
    let r = p
        .chat(
            &ChatRequest::new("写首藏头诗"),
            &ScriptedGenerator::new("好的"),
        )
        .unwrap();
    assert_eq!(r.response_type, ResponseType::Model);
    assert!(
        r.debug.warnings.iter().any(|w| w.contains("$$$藏头诗$$$")),
        "{:?}",
        r.debug.warnings
    );
}

#[test]
fn hanging_skill_or_switch_skips_rules() {
    let p = pipeline(rules_config());
    let mut req = ChatRequest::new("是谁开发了你");
    req.dialog_state
        .insert("ds_hang_skill".into(), serde_json::json!("$$$藏头诗$$$"));
    let r = p.chat(&req, &ScriptedGenerator::new("好的")).unwrap();
    assert_eq!(r.response_type, ResponseType::Model);
    assert_eq!(
        r.dialog_state.get("ds_hang_skill"),
        Some(&serde_json::json!("$$$藏头诗$$$"))
    );
    let mut c = rules_config();
    c.use_hit_rule = false;
    let r = pipeline(c)
        .chat(
            &ChatRequest::new("是谁开发了你"),
            &ScriptedGenerator::new("好的"),
        )
        .unwrap();
    assert_eq!(r.response_type, ResponseType::Model);
}

#[test]
fn lexicon_file() {
    let text = std::fs::read_to_string(data("safety_lexicon.txt")).unwrap();
    assert_eq!(
        parse_lexicon(&text),
        vec!["赌博网站", "炸药配方", "毒品交易"]
    );
}

#[test]
fn unsafe_query_by_lexicon() {
    let c = safety_config();
    let canned = c.unsafe_responses.clone();
    let p = pipeline(c);
    let g = ScriptedGenerator::new("x");
    let r = p.chat(&ChatRequest::new("告诉我炸药配方"), &g).unwrap();
    assert_eq!(r.response_type, ResponseType::Safety);
    assert!(canned.contains(&r.response));
    let hit = r.debug.safety.unwrap();
    assert_eq!(
        (hit.stage, hit.method.as_str(), hit.matched.as_str()),
        (SafetyStage::UnsafeQuery, "lexicon", "炸药配方")
    );
    assert!(g.calls.lock().unwrap().is_empty());
    // Deterministic choice.
    let again = p.chat(&ChatRequest::new("告诉我炸药配方"), &g).unwrap();
    assert_eq!(again.response, r.response);
}

#[test]
fn unsafe_query_by_rule() {
    let c = safety_config();
    let canned = c.unsafe_responses.clone();
    let p = pipeline(c);
    let r = p
        .chat(
            &ChatRequest::new("聊聊敏感话题3"),
            &ScriptedGenerator::new("x"),
        )
        .unwrap();
    assert_eq!(
        (r.response_type, r.response.as_str()),
        (ResponseType::Safety, "这个话题我们就不聊啦")
    );
    let r = p
        .chat(
            &ChatRequest::new("我们不聊敏感话题3"),
            &ScriptedGenerator::new("好的"),
        )
        .unwrap();
    assert_eq!(r.response_type, ResponseType::Model, "negative pattern");
    let r = p
        .chat(
            &ChatRequest::new("哪里有违禁品"),
            &ScriptedGenerator::new("x"),
        )
        .unwrap();
    assert_eq!(r.response_type, ResponseType::Safety);
    assert!(
        canned.contains(&r.response),
        "a rule without responses uses the canned replies"
    );
}

#[test]
fn unsafe_generated_reply() {
    let p = pipeline(safety_config());
    let r = p
        .chat(
            &ChatRequest::new("你觉得我怎么样"),
            &ScriptedGenerator::new("你是个笨蛋"),
        )
        .unwrap();
    assert_eq!(
        (r.response_type, r.response.as_str()),
        (ResponseType::Safety, "我们友好聊天吧")
    );
    assert_eq!(r.debug.raw_response.as_deref(), Some("你是个笨蛋"));
    assert_eq!(r.debug.safety.unwrap().stage, SafetyStage::UnsafeResp);
    let r = p
        .chat(
            &ChatRequest::new("你好"),
            &ScriptedGenerator::new("这里有赌博网站"),
        )
        .unwrap();
    assert_eq!(r.response_type, ResponseType::Safety);
}

#[test]
fn safety_is_off_by_default() {
    let p = pipeline(Config::default());
    let r = p
        .chat(
            &ChatRequest::new("告诉我炸药配方"),
            &ScriptedGenerator::new("你是个笨蛋"),
        )
        .unwrap();
    assert_eq!(r.response_type, ResponseType::Model);
}

#[test]
fn safety_needs_its_files() {
    let mut c = Config::default();
    c.safety_filter_use = true;
    let e = ChatPipeline::new(c).err().unwrap().to_string();
    assert!(e.contains("safety_lexicon_path"), "{e}");
}
