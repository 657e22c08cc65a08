//! The reference's regex rules (question, persona question, farewell, special skill)
//! and small text helpers shared by several stages.
//!
//! Patterns are data from `xdpx/utils/chat/__init__.py`; matching is "found anywhere"
//! (Python `findall` truthiness).

use regex::Regex;
use std::sync::OnceLock;

const QUESTION: &[&str] = &[
    r"(？|\?|吗|呢|什么|怎么|怎样|咋|啥|如何|为什么|哪|几|谁|多少|多大|多高|是不是|有没有|是否|多久|可不可以|能不能|行不行)",
    r"(是).+(还是)",
];

const PERSONA: &[&str] = &[
    r"(我|你)+(是|是不是|也是|叫啥|叫什么|几岁|多少岁|毕业|今年|多大|哪里|经常|一般|平时|平常|谁|会|还会|工作|名字|姓名|小名|大名|全名|年龄|年纪|工作|职业|干什么|专业)+",
    r"(我的|你的)+(名字|姓名|昵称|名称|全名|大名|年纪|年龄|工作|职业|学校|宠物|猫|狗|爱好|大学)+",
    r"(我|你)+(的)*(父母|爸|妈|男朋友|女朋友|哥|姐|妹|弟|老公|老婆|孩子|女儿|儿子)+",
    r"(我|你)+(是)*(男的|女的|男生|女生|男孩|女孩|性别)+",
    r"(我|你)+(是|叫|来自|在)+.*(专业|工作|哪里|男|女|毕业|名字)+",
    r"(你)+(是).+(还是)",
    r"^(你)+(是|叫|的|在)+",
    r"(你)+(看过|做过|喜欢|吃过|听过|已经|最喜欢)",
    r"(我|你)+(老家|来自|哪里)",
    r"(我|你)+(大学|上学|大几)",
];

const FAREWELL: &str = "再见|拜拜|不跟你聊|去忙|先忙|不聊|下次聊|再聊|打扰你|下次再";
const SPECIAL_SKILL: &str = "新闻|股价|疫情|天气|市值";

/// Characters after which the context renderer adds no `。`.
pub const END_PUNCTUATION: &str =
    "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~、。，？！；：“”（）【】《》〈〉……";

fn compile_all(patterns: &[&str]) -> Vec<Regex> {
    patterns
        .iter()
        .map(|p| Regex::new(p).expect("built-in pattern"))
        .collect()
}

fn question_res() -> &'static [Regex] {
    static R: OnceLock<Vec<Regex>> = OnceLock::new();
    R.get_or_init(|| compile_all(QUESTION))
}

fn persona_res() -> &'static [Regex] {
    static R: OnceLock<Vec<Regex>> = OnceLock::new();
    R.get_or_init(|| compile_all(PERSONA))
}

fn farewell_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| Regex::new(FAREWELL).expect("built-in pattern"))
}

fn special_skill_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| Regex::new(SPECIAL_SKILL).expect("built-in pattern"))
}

/// True when any pattern is found in `text`.
pub fn any_match(text: &str, patterns: &[Regex]) -> bool {
    patterns.iter().any(|r| r.is_match(text))
}

/// A question: ASCII spaces are removed first, as in the reference.
pub fn is_question(text: &str) -> bool {
    any_match(&text.replace(' ', ""), question_res())
}

/// A question about the speakers themselves (name, age, family, job...). Such
/// queries get no context, no search and a shorter `min_length`.
pub fn is_persona_question(text: &str) -> bool {
    is_question(text) && any_match(text, persona_res())
}

/// A farewell ("再见", "先忙"...): dropped from history so the model does not keep
/// saying goodbye.
pub fn is_farewell(text: &str) -> bool {
    farewell_re().is_match(text)
}

/// News / stocks / epidemic / weather / market value: queries the reference answers
/// from search only, without dialogue context.
pub fn is_special_skill(text: &str) -> bool {
    special_skill_re().is_match(text)
}

/// Number of characters (Python `len` on `str`).
pub fn char_len(text: &str) -> usize {
    text.chars().count()
}

/// Characters `[start, end)` of `text` (Python `text[start:end]` with in-range bounds).
pub fn char_slice(text: &str, start: usize, end: usize) -> String {
    text.chars()
        .skip(start)
        .take(end.saturating_sub(start))
        .collect()
}

/// Joins the non-empty parts with `;` (empty profile parts add nothing).
pub fn join_non_empty<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(";")
}

/// A deterministic choice among canned replies (the reference picks at random):
/// FNV-1a of `key` modulo the list length, so tests and replays are stable.
pub fn pick<'a>(options: &'a [String], key: &str) -> Option<&'a str> {
    if options.is_empty() {
        return None;
    }
    let mut h: u64 = 0xcbf29ce484222325;
    for b in key.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x100000001b3);
    }
    Some(options[(h % options.len() as u64) as usize].as_str())
}
