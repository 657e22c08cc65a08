//! Passage building blocks: context/history rendering and windows, farewells,
//! chunking, profiles, templates, whitespace mapping, the regex rules.

#![allow(clippy::field_reassign_with_default)]

use chatplug_dialogue::chunking::split_chunks;
use chatplug_dialogue::context::*;
use chatplug_dialogue::passages::*;
use chatplug_dialogue::profiles::*;
use chatplug_dialogue::templates::fill;
use chatplug_dialogue::text::*;
use chatplug_dialogue::*;

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[test]
fn context_speakers_alternate_backwards_from_me() {
    assert_eq!(render_context(&s(&["你好"])), "我：你好。");
    assert_eq!(
        render_context(&s(&["a", "b", "c"])),
        "我：a。你：b。我：c。"
    );
    assert_eq!(
        render_context(&s(&["在吗", "在的！", "好"])),
        "我：在吗。你：在的！我：好。"
    );
}

#[test]
fn history_speakers_alternate_backwards_from_you() {
    assert_eq!(render_history(&s(&["a", "b"])), "我：a。你：b。");
    assert_eq!(
        render_history(&s(&["a", "b", "c"])),
        "你：a。我：b。你：c。"
    );
}

#[test]
fn no_full_stop_after_punctuation() {
    for end in [
        "!", "?", "~", ")", "、", "。", "，", "？", "！", "；", "：", "”", "）", "】", "》", "〉",
        "…", ".", ",", "#",
    ] {
        assert_eq!(
            render_context(&[format!("好{end}")]),
            format!("我：好{end}"),
            "{end}"
        );
    }
    assert_eq!(render_context(&s(&["ok"])), "我：ok。");
    assert_eq!(render_context(&s(&[""])), "我：");
    assert_eq!(render_context(&s(&["😀"])), "我：😀。");
}

fn turns(n: usize) -> Vec<Turn> {
    (0..n)
        .map(|i| {
            if i % 2 == 0 {
                Turn::user(format!("u{i}"))
            } else {
                Turn::bot(format!("b{i}"))
            }
        })
        .collect()
}

#[test]
fn context_and_history_windows() {
    let h = turns(12);
    let sel = select_context(&h, "q", "q", false, true, 2, 10);
    assert_eq!(sel.context, s(&["u10", "b11"]));
    assert_eq!(
        sel.history,
        s(&["u2", "b3", "u4", "b5", "u6", "b7", "u8", "b9"])
    );
    assert!(sel.use_context);
    let sel = select_context(&h[..2], "q", "q", false, true, 2, 10);
    assert_eq!(sel.context, s(&["u0", "b1"]));
    assert!(sel.history.is_empty());
    let sel = select_context(&h[..1], "q", "q", false, true, 2, 10);
    assert_eq!(sel.context, s(&["u0"]));
    let sel = select_context(&h[..5], "q", "q", false, true, 3, 4);
    assert_eq!(sel.context, s(&["u2", "b3", "u4"]));
    assert_eq!(sel.history, s(&["b1"]));
    let sel = select_context(&h, "q", "q", false, true, 11, 10);
    assert!(sel.history.is_empty());
    assert_eq!(sel.context.len(), 11);
}

#[test]
fn persona_and_special_skill_queries_get_no_context() {
    let h = turns(4);
    let sel = select_context(&h, "你叫什么名字", "你叫什么名字", true, true, 2, 10);
    assert!(sel.context.is_empty() && sel.history.is_empty() && !sel.use_context);
    assert_eq!(sel.utterance, "你叫什么名字");
    let sel = select_context(&h, "杭州天气", "杭州今天天气", false, true, 2, 10);
    assert!(sel.context.is_empty());
    assert_eq!(
        sel.utterance, "杭州今天天气",
        "the rewritten query when not a persona question"
    );
    let sel = select_context(&h, "那杭州呢", "杭州有什么好玩的", false, false, 2, 10);
    assert!(sel.context.is_empty(), "classifier said encyclopedic");
    let sel = select_context(&h, "那杭州呢", "杭州有什么好玩的", false, true, 2, 10);
    assert_eq!(
        sel.utterance, "那杭州呢",
        "with context the original query is used"
    );
    let sel = select_context(&[], "那杭州呢", "杭州有什么好玩的", false, true, 2, 10);
    assert_eq!(
        sel.utterance, "杭州有什么好玩的",
        "no history: the rewritten query"
    );
}

#[test]
fn farewells_become_hash() {
    let mut h = vec![
        Turn::user("我先去忙了"),
        Turn::bot("好的"),
        Turn::user("下次再聊吧"),
        Turn::bot("拜拜"),
    ];
    assert_eq!(drop_farewells(&mut h), 3);
    assert_eq!(h[0].utterance, "#");
    assert_eq!(h[0].rewritten.as_deref(), Some("#"));
    assert_eq!(h[1].utterance, "好的");
    for w in [
        "再见",
        "拜拜",
        "不跟你聊",
        "去忙",
        "先忙",
        "不聊",
        "下次聊",
        "再聊",
        "打扰你",
        "下次再",
    ] {
        assert!(is_farewell(&format!("那{w}吧")), "{w}");
    }
    assert!(!is_farewell("再来一次"));
}

#[test]
fn chunking_windows_and_overlap() {
    assert!(split_chunks("", 300, 10).is_empty());
    assert_eq!(split_chunks("短", 300, 10), s(&["短"]));
    let t300: String = "字".repeat(300);
    assert_eq!(split_chunks(&t300, 300, 10), vec![t300.clone()]);
    let t: String = (0..701)
        .map(|i| char::from_u32(0x4e00 + i).unwrap())
        .collect();
    let chunks = split_chunks(&t, 300, 10);
    let chars: Vec<char> = t.chars().collect();
    assert_eq!(chunks.len(), 3);
    assert_eq!(chunks[0], chars[0..300].iter().collect::<String>());
    assert_eq!(chunks[1], chars[290..600].iter().collect::<String>());
    assert_eq!(chunks[2], chars[590..701].iter().collect::<String>());
    let t301 = format!("{t300}尾");
    let c = split_chunks(&t301, 300, 10);
    assert_eq!(c.len(), 2);
    assert_eq!(c[1].chars().count(), 11);
    assert_eq!(split_chunks("abcdefg", 3, 1), s(&["abc", "cdef", "fg"]));
    assert_eq!(split_chunks("abcdef", 3, 0), s(&["abc", "def"]));
}

#[test]
fn persona_extraction() {
    assert_eq!(
        extract_persona("我叫小明，我是一名程序员"),
        s(&["我叫小明", "我是一名程序员"])
    );
    assert_eq!(
        extract_persona("我饿了。你吃了吗？我想吃面"),
        s(&["我饿了", "我想吃面"])
    );
    assert!(extract_persona("我呢").is_empty(), "a question");
    assert!(extract_persona("是我").is_empty(), "too short");
    assert!(extract_persona("你好，今天天气不错").is_empty(), "no 我");
    assert_eq!(
        extract_persona("  我喜欢猫;我也喜欢狗.  "),
        s(&["我喜欢猫", "我也喜欢狗"])
    );
    assert!(extract_persona("我是不是很笨").is_empty());
}

#[test]
fn dynamic_profiles_use_rewritten_text_and_roles() {
    let h = vec![
        Turn {
            role: Role::User,
            utterance: "我也是".into(),
            rewritten: Some("我也是杭州人".into()),
        },
        Turn::bot("我住在西湖边，你呢"),
        Turn::user("我是老师"),
        Turn {
            role: Role::Bot,
            utterance: "我喜欢画画".into(),
            rewritten: Some(String::new()),
        },
    ];
    let (u, b) = dynamic_profiles(&h);
    assert_eq!(u, "我也是杭州人;我是老师");
    assert_eq!(b, "我住在西湖边;我喜欢画画");
}

#[test]
fn profile_branches() {
    let h = vec![Turn::user("我是老师"), Turn::bot("我是医生")];
    let p = build_profiles("我喜欢跑步", "我叫小婉", &h, false);
    assert_eq!(
        p.user_profile, "你喜欢跑步",
        "non-persona: request user profile only"
    );
    assert_eq!(p.bot_profile, "我叫小婉;我是医生");
    let p = build_profiles("我喜欢跑步", "我叫小婉", &h, true);
    assert_eq!(p.user_profile, "你喜欢跑步;你是老师");
    assert_eq!(p.bot_profile, "我叫小婉;我是医生");
    let p = build_profiles("", "", &h, true);
    assert_eq!(
        (p.user_profile.as_str(), p.bot_profile.as_str()),
        ("", ""),
        "persona: only with request profiles"
    );
    let p = build_profiles("", "", &h, false);
    assert_eq!(p.bot_profile, "我是医生", "no bare `;`");
    let p = build_profiles("", "", &[], false);
    assert_eq!(p.bot_profile, "");
    let p = build_profiles("我喜欢跑步", "我叫小婉", &[], true);
    assert_eq!(
        (p.user_profile.as_str(), p.bot_profile.as_str()),
        ("你喜欢跑步", "我叫小婉")
    );
}

#[test]
fn template_presets() {
    let inf = TemplateSet::preset(TemplatePreset::Inference);
    assert_eq!(
        inf.context,
        "假设我和你正在进行对话，请你给我得体、准确、友好的回复。以下是我们的对话内容。{context}"
    );
    assert!(inf
        .knowledge
        .ends_with("{context}#以下是和对话相关的知识，请你参考该知识进行回复。{knowledge}"));
    let tr = TemplateSet::preset(TemplatePreset::Training);
    assert_eq!(tr.history, "假设我和你正在进行对话，请你给我得体、有信息量且生动的回复。以下是我们的对话内容。{context}#请注意，在此之前我们还进行了以下对话内容。{history}");
    assert!(tr
        .bot_profile
        .ends_with("#请注意，你同时也有一个人物设定，以下是你的人物设定。{bot_profile}"));
    assert!(tr
        .user_profile
        .ends_with("#请注意，你同时也知道我的信息，以下是你对我了解的内容。{user_profile}"));
    assert!(tr
        .knowledge
        .ends_with("#请注意，你同时也知道以下知识。{knowledge}"));
}

#[test]
fn filling_does_not_rescan_values() {
    assert_eq!(
        fill(
            "{context}#K:{knowledge}",
            &[("context", "说{knowledge}"), ("knowledge", "k")]
        ),
        "说{knowledge}#K:k"
    );
    assert_eq!(fill("{{x}}{context}", &[("context", "c")]), "{x}c");
}

#[test]
fn custom_templates_from_config() {
    let c = Config::from_toml(
        "[templates]\npreset = \"training\"\nknowledge = \"对话：{context}||知识：{knowledge}\"",
        std::path::Path::new("."),
    )
    .unwrap();
    let p = ChatPipeline::new(c).unwrap();
    let mut r = ChatRequest::new("你好");
    r.knowledge.push("K".into());
    match p.prepare(&r).unwrap().outcome {
        Outcome::Generate { passages, .. } => {
            assert_eq!(passages, s(&["对话：我：你好。||知识：K"]))
        }
        o => panic!("{o:?}"),
    }
}

#[test]
fn passage_order_and_context_only_fallback() {
    let t = TemplateSet::preset(TemplatePreset::Inference);
    let sel = ContextSelection {
        utterance: "q".into(),
        context: s(&["c"]),
        history: s(&["h"]),
        use_context: true,
    };
    let k = s(&["k1", "k2"]);
    let u = s(&["u"]);
    let b = s(&["b"]);
    let out = build_passages(
        &t,
        &PassageInputs {
            selection: Some(&sel),
            knowledge: &k,
            user_profile: &u,
            bot_profile: &b,
        },
    );
    assert_eq!(out.len(), 5);
    assert!(out[0].ends_with("以下是我们的对话内容。你：c。我：q。#以下是在此之前我们的对话内容，可作为回复时的参考。你：h。"), "{}", out[0]);
    assert!(
        out[1].ends_with("k1")
            && out[2].ends_with("k2")
            && out[3].ends_with("u")
            && out[4].ends_with("b")
    );
    let out = build_passages(
        &t,
        &PassageInputs {
            selection: Some(&sel),
            ..Default::default()
        },
    );
    assert_eq!(out.len(), 1);
    assert!(out[0].contains("#以下是在此之前"));
    let bare = ContextSelection {
        utterance: "q".into(),
        context: vec![],
        history: vec![],
        use_context: false,
    };
    let out = build_passages(
        &t,
        &PassageInputs {
            selection: Some(&bare),
            ..Default::default()
        },
    );
    assert_eq!(
        out,
        vec![format!(
            "{}我：q。",
            t.context.trim_end_matches("{context}")
        )]
    );
}

#[test]
fn whitespace_mapping() {
    assert_eq!(
        map_whitespace("a\nb\tc  d   e", ModelType::T5),
        "a▁<extra_id_22>b▁<extra_id_33>c▁<extra_id_23>d▁<extra_id_23> e"
    );
    assert_eq!(
        map_whitespace("a\nb\tc  d", ModelType::Plug),
        "a[unused22]b[unused33]c[unused23]d"
    );
    assert_eq!(map_whitespace("a b", ModelType::T5), "a b");
    assert_eq!(
        unmap_whitespace("a▁<extra_id_22>b<extra_id_33>c[unused23]d[SEP][PAD]"),
        "a\nb\tc  d"
    );
}

#[test]
fn whitespace_mapping_can_be_switched_off() {
    let mut c = Config::default();
    c.whitespace_mapping = false;
    let p = ChatPipeline::new(c).unwrap();
    let mut r = ChatRequest::new("看");
    r.knowledge.push("a\nb".into());
    match p.prepare(&r).unwrap().outcome {
        Outcome::Generate { passages, .. } => assert!(passages[0].ends_with("a\nb")),
        o => panic!("{o:?}"),
    }
}

#[test]
fn regex_rules() {
    for q in [
        "你吃饭了吗",
        "what?",
        "是猫还是狗",
        "怎么办",
        "有没有人",
        "多 少",
    ] {
        assert!(is_question(q), "{q}");
    }
    for q in ["我吃饭了", "好的", "是猫"] {
        assert!(!is_question(q), "{q}");
    }
    for q in [
        "你叫什么名字",
        "你今年多大了？",
        "你的爱好是什么",
        "你是男生还是女生",
        "我妈妈是谁",
        "你在哪里？",
    ] {
        assert!(is_persona_question(q), "{q}");
    }
    for q in ["我叫小明", "西湖在哪里", "今天星期几"] {
        assert!(!is_persona_question(q), "{q}");
    }
    assert!(
        is_special_skill("今天天气怎么样")
            && is_special_skill("最新新闻")
            && !is_special_skill("你好")
    );
}

#[test]
fn role_instruction_is_a_bot_profile_part() {
    let p = ChatPipeline::new(Config::default()).unwrap();
    let mut r = ChatRequest::new("你好");
    r.bot_profile = "我叫小婉".into();
    r.role_instruction = Some("请用导游的口吻说话".into());
    let prepared = p.prepare(&r).unwrap();
    assert_eq!(
        prepared.debug.profiles.unwrap().bot_profile,
        "我叫小婉;请用导游的口吻说话"
    );
}

#[test]
fn plug_passages_use_sep_and_unused_tokens() {
    let mut c = Config::default();
    c.model_type = ModelType::Plug;
    let p = ChatPipeline::new(c)
        .unwrap()
        .with_tokenizer(std::sync::Arc::new(CharTok));
    let mut r = ChatRequest::new("看</s>看");
    r.knowledge.push("a\nb".into());
    let prepared = p.prepare(&r).unwrap();
    let Outcome::Generate { passages, options } = prepared.outcome else {
        panic!()
    };
    assert!(
        passages[0].contains("看[SEP]看") && passages[0].ends_with("a[unused22]b"),
        "{passages:?}"
    );
    // PLUG keeps the first token of every bad word.
    assert_eq!(
        options["bad_words_ids"][0],
        serde_json::json!([9, '不' as u32, '知' as u32, '道' as u32])
    );
}

struct CharTok;
impl TextTokenizer for CharTok {
    fn encode_no_eos(&self, text: &str) -> Vec<u32> {
        std::iter::once(9)
            .chain(text.chars().map(|c| c as u32))
            .collect()
    }
}
