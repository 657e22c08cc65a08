//! Full turns with a scripted generator: post-processing, grounding, the prompt JSON,
//! sessions.

#![allow(clippy::field_reassign_with_default)]

mod common;

use chatplug_dialogue::grounding::*;
use chatplug_dialogue::postprocess::*;
use chatplug_dialogue::*;
use common::*;
use serde_json::json;
use std::sync::Arc;

#[test]
fn model_turn() {
    let p = pipeline(Config::default());
    let g = ScriptedGenerator::new("是的,我也喜欢(真的)!");
    let mut r = ChatRequest::new("我喜欢爬山");
    r.history = vec![Turn::user("周末好无聊"), Turn::bot("那你平时喜欢做什么")];
    let res = p.chat(&r, &g).unwrap();
    assert_eq!(res.response_type, ResponseType::Model);
    assert_eq!(res.response, "是的，我也喜欢（真的）！");
    let calls = g.calls.lock().unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].0, res.debug.passages);
    assert_eq!(calls[0].0, vec!["假设我和你正在进行对话，请你给我得体、准确、友好的回复。以下是我们的对话内容。我：周末好无聊。你：那你平时喜欢做什么。我：我喜欢爬山。"]);
    assert_eq!(calls[0].1["num_beams"], json!(3));
    for stage in [
        "rewrite",
        "safety",
        "rule",
        "faq",
        "skill",
        "search_decision",
        "search",
        "passages",
        "no_repeat",
        "generate",
        "postprocess",
        "total",
    ] {
        assert!(res.debug.timings_ms.contains_key(stage), "{stage}");
    }
}

#[test]
fn generator_errors_propagate() {
    struct Fail;
    impl Generator for Fail {
        fn generate(
            &self,
            _p: &[String],
            _o: &serde_json::Map<String, serde_json::Value>,
        ) -> Result<String, String> {
            Err("out of memory".into())
        }
    }
    let e = pipeline(Config::default())
        .chat(&ChatRequest::new("你好"), &Fail)
        .unwrap_err()
        .to_string();
    assert_eq!(e, "generation failed: out of memory");
}

#[test]
fn grounding_evidence() {
    assert_eq!(lcs_len(&['a', 'b', 'c', 'd'], &['a', 'c', 'd', 'x']), 3);
    assert_eq!(rouge_l_precision("西湖 很美", "西湖在杭州，很美"), 1.0);
    assert_eq!(rouge_l_precision("", "x"), 0.0);
    assert!((rouge_l_precision("abcd", "ab") - 0.5).abs() < 1e-12);
    let items = vec![
        Evidence::new("苹果是水果", "request"),
        Evidence::new("西湖在杭州很美", "web"),
    ];
    let e = find_evidence("西湖很美", &items, 0.7).unwrap();
    assert_eq!((e.source.as_str(), e.score), ("web", 1.0));
    assert!(find_evidence("今天天气好", &items, 0.7).is_none());
    assert!(
        find_evidence("西湖天气好", &items, 0.7).is_none(),
        "0.4 is not above 0.7"
    );
    // Long knowledge: no recursion.
    let long: String = "知识".repeat(5000);
    assert!(find_evidence("知识知识", &[Evidence::new(long, "x")], 0.7).is_some());
}

#[test]
fn grounding_in_a_turn() {
    let web = FixedProvider::web(&["姚明身高2.26米，是前中国职业篮球运动员。"]);
    let p = pipeline(Config::default()).with_provider(web);
    let mut r = ChatRequest::new("姚明有多高");
    r.knowledge = vec!["姚明出生于上海。".into()];
    let res = p
        .chat(&r, &ScriptedGenerator::new("姚明身高2.26米"))
        .unwrap();
    let e = res.grounding_evidence.unwrap();
    assert_eq!(e.source, "web");
    assert_eq!(e.text, "姚明身高2.26米，是前中国职业篮球运动员。");
    let res = p
        .chat(&r, &ScriptedGenerator::new("姚明出生于上海"))
        .unwrap();
    assert_eq!(res.grounding_evidence.unwrap().source, "request");
    let res = p.chat(&r, &ScriptedGenerator::new("我不清楚哦")).unwrap();
    assert!(res.grounding_evidence.is_none());
}

/// Two members: one answers with addressed snippets, one fails.
struct TwoMembers;

impl KnowledgeProvider for TwoMembers {
    fn name(&self) -> &str {
        "fanout"
    }
    fn search(&self, _query: &str) -> Result<SearchResults, String> {
        unreachable!("the pipeline asks for the parts")
    }
    fn search_parts(&self, _query: &str) -> Vec<(String, Result<SearchResults, String>)> {
        let mut hit = Snippet::new("姚明身高2.26米，是前中国职业篮球运动员。");
        hit.url = Some("https://example.org/yao".into());
        hit.title = Some("姚明".into());
        hit.doc_id = Some("doc-7".into());
        let results = SearchResults {
            snippets: vec![Snippet::new("上海是一座城市。"), hit],
            special_card: false,
        };
        vec![
            ("alpha".into(), Ok(results)),
            ("beta".into(), Err("HTTP 500".into())),
        ]
    }
}

#[test]
fn evidence_points_back_to_the_retrieved_item() {
    let p = pipeline(Config::default()).with_provider(Arc::new(TwoMembers));
    let res = p
        .chat(
            &ChatRequest::new("姚明有多高"),
            &ScriptedGenerator::new("姚明身高2.26米"),
        )
        .unwrap();
    let e = res.grounding_evidence.unwrap();
    assert_eq!(
        e.source, "alpha",
        "the member's name when the snippet has no source"
    );
    assert_eq!(e.url.as_deref(), Some("https://example.org/yao"));
    assert_eq!(e.title.as_deref(), Some("姚明"));
    assert_eq!(e.doc_id.as_deref(), Some("doc-7"));
    let d = &res.debug;
    assert_eq!(d.search_results.len(), 1);
    assert_eq!(d.search_results[0].provider, "alpha");
    assert_eq!(
        d.warnings,
        vec!["provider `beta` failed: HTTP 500".to_string()]
    );
    let v = serde_json::to_value(&e).unwrap();
    assert_eq!(v["doc_id"], "doc-7");
    let plain = serde_json::to_value(Evidence::new("x", "request")).unwrap();
    assert!(
        plain.get("url").is_none(),
        "absent fields stay out of the JSON"
    );
}

#[test]
fn full_width_punctuation() {
    assert_eq!(
        postprocess::full_width_punctuation("a:b,c;d!e?(f)."),
        "a：b，c；d！e？（f）."
    );
}

fn cfg_lists() -> (Vec<String>, Vec<String>, Vec<String>) {
    let c = Config::default();
    (
        c.topic_trigger_prefixes,
        c.topic_trigger_responses,
        c.repeat_prefixes,
    )
}

#[test]
fn farewell_after_dropped_farewell_changes_topic() {
    let (tp, tr, rp) = cfg_lists();
    let h = vec![Turn::user("#")];
    let (out, notes) = postprocess("好的，再见", &h, &tp, &tr, &rp);
    assert!(notes.topic_change);
    assert!(
        tp.iter().any(|p| out.starts_with(p.as_str()))
            && tr.iter().any(|t| out.ends_with(t.as_str())),
        "{out}"
    );
    let (out, notes) = postprocess("好的，再见", &[Turn::user("在吗")], &tp, &tr, &rp);
    assert_eq!((out.as_str(), notes.topic_change), ("好的，再见", false));
    // Through the pipeline: the farewell turn is dropped first.
    let p = pipeline(Config::default());
    let mut r = ChatRequest::new("嗯嗯");
    r.history = vec![Turn::bot("你好"), Turn::user("我先去忙了")];
    let res = p.chat(&r, &ScriptedGenerator::new("好的，拜拜")).unwrap();
    assert!(res.debug.postprocess.unwrap().topic_change);
    assert_eq!(res.debug.farewells_dropped, 1);
}

#[test]
fn repeated_reply_gets_a_prefix() {
    let (tp, tr, rp) = cfg_lists();
    let h = vec![Turn::user("你好"), Turn::bot("我很好")];
    let (out, notes) = postprocess("我很好", &h, &tp, &tr, &rp);
    assert_eq!(
        out, "大家这么喜欢问这个问题的吗。我很好",
        "prefix [len(history) % 6]"
    );
    assert!(notes.repeat_prefix);
    let h3 = vec![Turn::user("a"), Turn::bot("b"), Turn::user("我很好")];
    assert_eq!(
        postprocess("我很好", &h3, &tp, &tr, &rp).0,
        "唉~我再说一次吧，我很好"
    );
    assert_eq!(postprocess("我很好", &[], &tp, &tr, &rp).0, "我很好");
}

#[test]
fn prompt_json_for_generation() {
    let p = pipeline(Config::default()).with_tokenizer(std::sync::Arc::new(CharTokenizer));
    let v = p
        .prompt_json(r#"{"query": "介绍一下西湖", "knowledge": ["西湖位于杭州。"], "bot_profile": "我叫小婉"}"#)
        .unwrap();
    assert_eq!(v["passages"].as_array().unwrap().len(), 2);
    assert!(v["passages"][0]
        .as_str()
        .unwrap()
        .ends_with("#以下是和对话相关的知识，请你参考该知识进行回复。西湖位于杭州。"));
    assert!(v["passages"][1]
        .as_str()
        .unwrap()
        .ends_with("信息如下：我叫小婉"));
    assert_eq!(v["max_encoder_length"], json!(380));
    assert_eq!(v["generation"]["num_beams"], json!(3));
    assert!(v["generation"]["bad_words_ids"].is_array());
    assert!(v["response"].is_null());
    let d = &v["decisions"];
    assert_eq!(d["need_search"], json!(false));
    assert_eq!(d["is_persona_question"], json!(false));
    assert_eq!(d["knowledge_chunks"], json!(["西湖位于杭州。"]));
    assert!(d.get("passages").is_none() && d["timings_ms"]["total"].is_number());
}

#[test]
fn prompt_json_for_a_stage_answer() {
    let mut c = Config::default();
    c.skills_direct_trigger = true;
    let v = pipeline(c)
        .prompt_json(r#"{"query": "今天星期几"}"#)
        .unwrap();
    assert_eq!(v["passages"], json!([]));
    assert!(v["generation"].is_null());
    assert_eq!(v["response"]["response"], json!("今天是周三"));
    assert_eq!(v["response"]["response_type"], json!("skill"));
    assert_eq!(v["decisions"]["skill"]["name"], json!("calendar"));
}

#[test]
fn prompt_json_errors_name_the_field() {
    let e = pipeline(Config::default())
        .prompt_json(r#"{"history": []}"#)
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing field `query`"), "{e}");
}

#[test]
fn result_serializes() {
    let res = pipeline(Config::default())
        .chat(&ChatRequest::new("你好"), &ScriptedGenerator::new("你好呀"))
        .unwrap();
    let v = serde_json::to_value(&res).unwrap();
    assert_eq!(v["response"], json!("你好呀"));
    assert_eq!(v["response_type"], json!("model"));
    assert!(v["grounding_evidence"].is_null());
    assert_eq!(v["debug"]["query_rewritten"], json!("你好"));
    assert_eq!(v["debug"]["raw_response"], json!("你好呀"));
}

#[test]
fn session_memory() {
    let p = pipeline(Config::default());
    let mut s = Session::with_profiles("我叫小婉;我是一名医生", "我喜欢跑步");
    let g = ScriptedGenerator::new("我住在杭州，我喜欢画画");
    s.chat(&p, "我是一名老师，我在北京工作", &g).unwrap();
    assert_eq!(s.turns().len(), 2);
    assert_eq!(s.turns()[0], Turn::user("我是一名老师，我在北京工作"));
    assert_eq!(s.turns()[1].role, Role::Bot);
    let prof = s.profiles();
    assert_eq!(prof.dynamic_user_profile, "我是一名老师;我在北京工作");
    assert_eq!(prof.dynamic_bot_profile, "我住在杭州;我喜欢画画");
    assert_eq!(prof.bot_profile, "我叫小婉;我是一名医生");
    // The next request carries the history and profiles.
    let r = s.request("你呢");
    assert_eq!(r.history.len(), 2);
    assert_eq!(r.user_profile, "我喜欢跑步");
    let res = s.chat(&p, "你知道我的职业是什么吗", &g).unwrap();
    let passages = &res.debug.passages;
    assert!(
        passages
            .iter()
            .any(|x| x.ends_with("信息如下：你喜欢跑步;你是一名老师;你在北京工作")),
        "{passages:?}"
    );
    assert!(
        passages
            .iter()
            .any(|x| x.ends_with("信息如下：我叫小婉;我是一名医生;我住在杭州;我喜欢画画")),
        "{passages:?}"
    );
    assert_eq!(s.turns().len(), 4);
    s.reset();
    assert!(s.turns().is_empty());
    assert_eq!(s.profiles().dynamic_user_profile, "");
    assert_eq!(s.profiles().bot_profile, "我叫小婉;我是一名医生");
}

#[test]
fn session_keeps_rewritten_queries_and_dialog_state() {
    struct Rw;
    impl UtteranceRewriter for Rw {
        fn rewrite(&self, u: &[String]) -> Result<String, String> {
            Ok(format!("{}(改写)", u.last().unwrap()))
        }
    }
    let p = pipeline(Config::default()).with_rewriter(std::sync::Arc::new(Rw));
    let mut s = Session::new();
    let g = ScriptedGenerator::new("好");
    s.chat(&p, "在吗", &g).unwrap();
    assert_eq!(s.turns()[0].rewritten, None, "no history: no rewriting");
    s.chat(&p, "那个呢", &g).unwrap();
    assert_eq!(s.turns()[2].rewritten.as_deref(), Some("那个呢(改写)"));
    let mut req = s.request("x");
    req.dialog_state.insert("k".into(), json!(1));
    let res = p.chat(&req, &g).unwrap();
    s.add_turn("x", &res);
    assert_eq!(s.dialog_state().get("k"), Some(&json!(1)));
}

#[test]
fn example_request_prompt() {
    let text = std::fs::read_to_string(repo_root().join("examples/dialogue_request.json")).unwrap();
    let v = pipeline(Config::default()).prompt_json(&text).unwrap();
    let passages: Vec<String> = serde_json::from_value(v["passages"].clone()).unwrap();
    assert_eq!(
        passages.len(),
        4,
        "history, knowledge, user profile, bot profile"
    );
    assert!(passages[0].ends_with("#以下是在此之前我们的对话内容，可作为回复时的参考。我：我最近在学吉他。你：学吉他很酷啊，我会弹钢琴。"));
    assert!(passages[2].ends_with("信息如下：你手指很长;你是学生"));
    assert!(passages[3].ends_with("信息如下：我叫小婉;我是一名音乐老师;我会弹钢琴"));
    assert_eq!(v["decisions"]["need_search"], json!(true));
}

#[test]
fn streaming_turn_with_a_generator_that_cannot_stream() {
    let p = pipeline(Config::default());
    let g = ScriptedGenerator::new("是的,我也喜欢!");
    let mut deltas = Vec::new();
    let res = p
        .chat_streaming(&ChatRequest::new("我喜欢爬山"), &g, &mut |d: &str| {
            deltas.push(d.to_string());
            true
        })
        .unwrap();
    // The default hands the whole reply over once, mapped like the response.
    assert_eq!(deltas, ["是的，我也喜欢！"]);
    assert_eq!(res.response, "是的，我也喜欢！");
    assert_eq!(res.usage, None, "the scripted generator counts no tokens");
}

#[test]
fn streaming_turn_stops_when_nobody_listens() {
    let p = pipeline(Config::default());
    let g = ScriptedGenerator::new("好的");
    let err = p
        .chat_streaming(&ChatRequest::new("我喜欢爬山"), &g, &mut |_: &str| false)
        .unwrap_err();
    assert!(matches!(err, DialogueError::Generator(ref m) if m == STOPPED), "{err}");
}
