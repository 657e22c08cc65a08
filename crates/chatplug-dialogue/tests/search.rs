//! Learn-to-search, knowledge providers, FAQ, classifier and rewriter hooks.

#![allow(clippy::field_reassign_with_default)]

mod common;

use chatplug_dialogue::search::decide;
use chatplug_dialogue::*;
use common::*;
use std::sync::{Arc, Mutex};

struct Label(QueryLabel);
impl QueryClassifier for Label {
    fn classify(&self, _q: &str) -> Result<QueryLabel, String> {
        Ok(self.0)
    }
}

struct Broken;
impl QueryClassifier for Broken {
    fn classify(&self, _q: &str) -> Result<QueryLabel, String> {
        Err("model missing".into())
    }
}
impl KnowledgeProvider for Broken {
    fn name(&self) -> &str {
        "broken"
    }
    fn search(&self, _q: &str) -> Result<SearchResults, String> {
        Err("timeout".into())
    }
}

#[test]
fn rule_only_decision() {
    let d = decide("姚明有多高", None).unwrap();
    assert!(d.need_search && !d.classified && d.allows_context());
    assert_eq!(d.query_label, QueryLabel::Chitchat);
    assert!(!decide("我喜欢篮球", None).unwrap().need_search);
    assert!(
        !decide("你叫什么名字？", None).unwrap().need_search,
        "persona question"
    );
    assert!(
        !decide("今天天气不错", None).unwrap().need_search,
        "special skill but not a question"
    );
}

#[test]
fn classifier_decision() {
    let baike = Label(QueryLabel::BaikeQa);
    let chat = Label(QueryLabel::Chitchat);
    let d = decide("姚明", Some(&baike)).unwrap();
    assert!(d.need_search && !d.allows_context());
    let d = decide("姚明有多高", Some(&chat)).unwrap();
    assert!(!d.need_search && d.allows_context());
    assert!(
        decide("今天天气", Some(&chat)).unwrap().need_search,
        "special skill"
    );
    assert!(
        !decide("你叫什么名字", Some(&baike)).unwrap().need_search,
        "persona question"
    );
}

#[test]
fn classifier_label_controls_context() {
    let h = vec![Turn::user("你喜欢篮球吗"), Turn::bot("喜欢")];
    let mut r = ChatRequest::new("姚明");
    r.history = h;
    let p = pipeline(Config::default()).with_classifier(Arc::new(Label(QueryLabel::BaikeQa)));
    let prepared = p.prepare(&r).unwrap();
    assert!(!prepared.debug.selection.as_ref().unwrap().use_context);
    assert_eq!(prepared.debug.query_label, Some(QueryLabel::BaikeQa));
    let p = pipeline(Config::default()).with_classifier(Arc::new(Label(QueryLabel::Chitchat)));
    assert!(p.prepare(&r).unwrap().debug.selection.unwrap().use_context);
    let p = pipeline(Config::default()).with_classifier(Arc::new(Broken));
    let prepared = p.prepare(&r).unwrap();
    assert!(prepared.debug.warnings[0].contains("model missing"));
    assert!(
        prepared.debug.selection.unwrap().use_context,
        "falls back to rule-only"
    );
}

#[test]
fn web_provider_only_when_search_is_needed() {
    let web = FixedProvider::web(&["姚明身高2.26米。"]);
    let p = pipeline(Config::default()).with_provider(web.clone());
    let prepared = p.prepare(&ChatRequest::new("姚明有多高")).unwrap();
    assert_eq!(prepared.debug.knowledge_chunks, vec!["姚明身高2.26米。"]);
    assert_eq!(prepared.debug.search_results[0].provider, "web");
    assert_eq!(prepared.debug.search_query.as_deref(), Some("姚明有多高"));
    p.prepare(&ChatRequest::new("我喜欢姚明")).unwrap();
    assert_eq!(web.queries.lock().unwrap().len(), 1);
}

#[test]
fn long_snippets_are_chunked() {
    let long: String = "篮".repeat(650);
    let web = FixedProvider::web(&[long.as_str(), "短"]);
    let p = pipeline(Config::default()).with_provider(web);
    let mut r = ChatRequest::new("篮球是什么？");
    r.knowledge = vec!["显式".into()];
    let k = p.prepare(&r).unwrap().debug.knowledge_chunks;
    assert_eq!(k.len(), 5);
    assert_eq!(k[0], "显式");
    assert_eq!(k[1].chars().count(), 300);
    assert_eq!(k[2].chars().count(), 310);
    assert_eq!(k[3].chars().count(), 60);
    assert_eq!(k[4], "短");
}

#[test]
fn special_card_is_the_reply() {
    let card = Arc::new(FixedProvider {
        name: "bing".into(),
        kind: ProviderKind::Web,
        results: SearchResults {
            snippets: vec![Snippet::new("100美元约等于720人民币")],
            special_card: true,
        },
        queries: Mutex::new(Vec::new()),
    });
    let p = pipeline(Config::default()).with_provider(card);
    let g = ScriptedGenerator::new("x");
    let r = p
        .chat(&ChatRequest::new("100美元是多少人民币"), &g)
        .unwrap();
    assert_eq!(
        (r.response_type, r.response.as_str()),
        (ResponseType::Skill, "100美元约等于720人民币")
    );
    assert!(g.calls.lock().unwrap().is_empty());
}

#[test]
fn graph_provider_joins_triples_and_keeps_five_chunks() {
    let triples: Vec<String> = (0..200).map(|i| format!("姚明 属性{i} 值{i}")).collect();
    let graph = Arc::new(FixedProvider {
        name: "kg".into(),
        kind: ProviderKind::Graph,
        results: SearchResults {
            snippets: triples.iter().map(|t| Snippet::new(t.clone())).collect(),
            special_card: false,
        },
        queries: Mutex::new(Vec::new()),
    });
    let p = pipeline(Config::default()).with_provider(graph.clone());
    let k = p
        .prepare(&ChatRequest::new("我喜欢姚明"))
        .unwrap()
        .debug
        .knowledge_chunks;
    assert_eq!(k.len(), 5);
    assert!(k[0].starts_with("姚明 属性0 值0, 姚明 属性1 值1, "));
    p.prepare(&ChatRequest::new("你叫什么名字")).unwrap();
    assert_eq!(
        graph.queries.lock().unwrap().len(),
        1,
        "not for persona questions"
    );
}

#[test]
fn failing_provider_is_a_warning() {
    let p = pipeline(Config::default())
        .with_provider(Arc::new(Broken))
        .with_provider(FixedProvider::web(&["k"]));
    let prepared = p.prepare(&ChatRequest::new("这是什么？")).unwrap();
    assert!(prepared.debug.warnings[0].contains("`broken` failed: timeout"));
    assert_eq!(prepared.debug.knowledge_chunks, vec!["k"]);
}

struct Faq(Vec<FaqHit>);
impl FaqRetriever for Faq {
    fn retrieve(&self, _q: &str, size: usize) -> Result<Vec<FaqHit>, String> {
        Ok(self.0.iter().take(size).cloned().collect())
    }
}

fn hit(answer: &str, score: f64) -> FaqHit {
    FaqHit {
        question: "q".into(),
        answer: answer.into(),
        score,
    }
}

#[test]
fn faq_answers_near_exact_matches() {
    let p =
        pipeline(Config::default()).with_faq(Arc::new(Faq(vec![hit("营业时间是9点到5点", 0.97)])));
    let r = p
        .chat(
            &ChatRequest::new("你们几点营业"),
            &ScriptedGenerator::new("x"),
        )
        .unwrap();
    assert_eq!(
        (r.response_type, r.response.as_str()),
        (ResponseType::Faq, "营业时间是9点到5点")
    );
    assert_eq!(r.grounding_evidence.unwrap().source, "faq");
}

#[test]
fn faq_near_matches_become_knowledge() {
    let p = pipeline(Config::default()).with_faq(Arc::new(Faq(vec![
        hit("答案一", 0.93),
        hit("$$$查日期$$$", 0.92),
        hit("答案二", 0.91),
        hit("答案三", 0.5),
    ])));
    let prepared = p.prepare(&ChatRequest::new("随便聊聊")).unwrap();
    assert_eq!(prepared.debug.knowledge_chunks, vec!["答案一", "答案二"]);
    let mut c = Config::default();
    c.use_faq = false;
    let p = pipeline(c).with_faq(Arc::new(Faq(vec![hit("答案一", 0.99)])));
    assert!(p
        .prepare(&ChatRequest::new("随便聊聊"))
        .unwrap()
        .debug
        .knowledge_chunks
        .is_empty());
}

#[test]
fn faq_special_answer_invokes_a_skill() {
    let p = pipeline(Config::default()).with_faq(Arc::new(Faq(vec![hit("$$$查日期$$$", 0.99)])));
    let r = p
        .chat(&ChatRequest::new("明天几号"), &ScriptedGenerator::new("x"))
        .unwrap();
    assert_eq!(r.response_type, ResponseType::Skill);
    assert_eq!(r.debug.invoke_skill_name.as_deref(), Some("$$$查日期$$$"));
}

struct Rewriter(Mutex<Vec<Vec<String>>>, &'static str);
impl UtteranceRewriter for Rewriter {
    fn rewrite(&self, utterances: &[String]) -> Result<String, String> {
        self.0.lock().unwrap().push(utterances.to_vec());
        Ok(self.1.to_string())
    }
}

#[test]
fn rewriter_hook() {
    let rw = Arc::new(Rewriter(Mutex::new(Vec::new()), "杭州有什么好玩的"));
    let web = FixedProvider::web(&["西湖"]);
    let p = pipeline(Config::default())
        .with_rewriter(rw.clone())
        .with_provider(web.clone());
    let mut r = ChatRequest::new("那杭州呢");
    r.history = vec![
        Turn::user("a"),
        Turn {
            role: Role::User,
            utterance: "我去了苏州".into(),
            rewritten: Some("我去了苏州玩".into()),
        },
        Turn::bot("苏州好玩吗"),
        Turn::user("好玩"),
        Turn::bot("苏州有什么好玩的"),
    ];
    let prepared = p.prepare(&r).unwrap();
    assert_eq!(
        rw.0.lock().unwrap()[0],
        vec![
            "我去了苏州玩",
            "苏州好玩吗",
            "好玩",
            "苏州有什么好玩的",
            "那杭州呢"
        ]
    );
    assert_eq!(prepared.debug.query_rewritten, "杭州有什么好玩的");
    assert_eq!(
        web.queries.lock().unwrap()[0],
        "杭州有什么好玩的",
        "search uses the rewritten query"
    );
    let sel = prepared.debug.selection.unwrap();
    assert_eq!(
        sel.utterance, "那杭州呢",
        "the context keeps the user's words"
    );
    // No history: no rewriting.
    p.prepare(&ChatRequest::new("你好")).unwrap();
    assert_eq!(rw.0.lock().unwrap().len(), 1);
}
