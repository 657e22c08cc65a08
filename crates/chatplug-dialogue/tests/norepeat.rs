//! No-repeat session, persona keyword blanking, bad_words_ids, generation options.

#![allow(clippy::field_reassign_with_default)]

mod common;

use chatplug_dialogue::norepeat::*;
use chatplug_dialogue::*;
use common::*;
use serde_json::json;
use std::sync::Arc;

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[test]
fn session_window_and_digits() {
    let h: Vec<String> = (0..25).map(|i| format!("第{i}句")).collect();
    let sess = session_utterances(&h, "我有3个苹果", false, 20);
    assert_eq!(sess.len(), 21);
    assert_eq!(sess[0], "第 句", "digits become a space");
    assert_eq!(sess[20], "我有 个苹果");
    assert_eq!(
        session_utterances(&h, "你几岁了12", true, 20),
        s(&["你几岁了 "]),
        "persona: the query only"
    );
    assert_eq!(session_utterances(&[], "q", false, 20), s(&["q"]));
}

#[test]
fn simple_keywords() {
    let k = SimpleKeywords;
    assert_eq!(k.keywords("我叫小明", 3), s(&["小明"]));
    assert_eq!(k.keywords("我喜欢打篮球", 3), s(&["打篮球"]));
    assert_eq!(
        k.keywords("我是一名医生，住在杭州西湖区", 3),
        s(&["杭州西湖区", "一名医生"])
    );
    assert!(k.keywords("", 3).is_empty());
    assert!(NoKeywords.keywords("我叫小明", 3).is_empty());
}

#[test]
fn persona_keywords_are_blanked() {
    let sess = s(&["小明你好", "小红是谁", "打篮球好玩"]);
    let out = blank_persona_keywords(&sess, "你叫小明;;我喜欢打篮球", &SimpleKeywords);
    assert_eq!(out, s(&["<>你好", "小红是谁", "<>好玩"]));
    // The keyword's first two characters too.
    let out = blank_persona_keywords(&s(&["打篮子"]), "我喜欢打篮球", &SimpleKeywords);
    assert_eq!(out, s(&["<>子"]));
}

#[test]
fn bad_words_ids_from_tokenizer() {
    let t = CharTokenizer;
    let ids = bad_words_ids(
        &s(&["不知道", "吗", "不知道"]),
        &s(&["一二三四五六七", "短"]),
        &t,
        6,
        true,
    );
    let c = |x: &str| x.chars().map(|c| c as u32).collect::<Vec<u32>>();
    assert_eq!(
        ids,
        vec![c("不知道"), c("吗"), c("一二三四五六"), c("二三四五六七")]
    );
    // Without skipping, the leading id 9 stays.
    let ids = bad_words_ids(&s(&["吗"]), &[], &t, 6, false);
    assert_eq!(ids, vec![vec![9, '吗' as u32]]);
    // Empty after skipping: dropped.
    assert!(bad_words_ids(&s(&[""]), &[], &t, 6, true).is_empty());
}

#[test]
fn generation_options() {
    let p = pipeline(Config::default());
    let prepared = p.prepare(&ChatRequest::new("今天好开心")).unwrap();
    let Outcome::Generate { options, .. } = prepared.outcome else {
        panic!()
    };
    assert_eq!(
        serde_json::Value::Object(options),
        json!({"num_beams": 3, "num_return_sequences": 1, "temperature": 0.8, "do_sample": false,
               "early_stopping": true, "top_k": 50, "top_p": 0.8, "repetition_penalty": 1.2,
               "length_penalty": 1.2, "min_length": 10, "max_length": 512, "no_repeat_ngram_size": 6})
    );
    assert_eq!(prepared.debug.bad_words_ids_count, None, "no tokenizer");
    assert_eq!(prepared.debug.bad_words.len(), 32);
}

#[test]
fn persona_questions_use_min_length_5() {
    let p = pipeline(Config::default());
    let Outcome::Generate { options, .. } = p
        .prepare(&ChatRequest::new("你叫什么名字"))
        .unwrap()
        .outcome
    else {
        panic!()
    };
    assert_eq!(options["min_length"], json!(5));
}

#[test]
fn bad_words_ids_in_options_with_a_tokenizer() {
    let p = pipeline(Config::default())
        .with_tokenizer(Arc::new(CharTokenizer))
        .with_keyword_extractor(Arc::new(NoKeywords));
    let mut r = ChatRequest::new("我今天去了西湖边散步");
    r.history = vec![Turn::user("你好"), Turn::bot("你好呀今天过得怎么样")];
    let prepared = p.prepare(&r).unwrap();
    let Outcome::Generate { options, .. } = &prepared.outcome else {
        panic!()
    };
    let ids: Vec<Vec<u32>> = serde_json::from_value(options["bad_words_ids"].clone()).unwrap();
    let c = |x: &str| x.chars().map(|c| c as u32).collect::<Vec<u32>>();
    assert!(ids.contains(&c("不知道")));
    assert!(ids.contains(&c("你好呀今天过")), "session 6-gram");
    assert!(ids.contains(&c("我今天去了西")), "query 6-gram");
    assert_eq!(prepared.debug.bad_words_ids_count, Some(ids.len()));
    // 32 bad words (31 distinct), 5 + 10 + 5 six-grams less duplicates.
    assert_eq!(ids.len(), 31 + 5 + 5);
}
