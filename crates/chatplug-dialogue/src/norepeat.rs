//! The no-repeat session (reference §4 stage 12): n-grams of recent utterances and
//! a bad-word list become `bad_words_ids`, so the bot neither parrots the dialogue
//! nor asks questions back. Persona keywords are blanked out first: the bot must be
//! free to restate its persona.

use regex::Regex;
use std::collections::HashSet;
use std::sync::OnceLock;

/// Tokenizes text without the end-of-sequence token; the CLI plugs in the model's
/// tokenizer.
pub trait TextTokenizer: Send + Sync {
    fn encode_no_eos(&self, text: &str) -> Vec<u32>;
}

/// Extracts up to `top_k` keywords of a profile fact (jieba TF-IDF in the reference).
pub trait KeywordExtractor: Send + Sync {
    fn keywords(&self, text: &str, top_k: usize) -> Vec<String>;
}

/// No keywords: persona text is not blanked out.
pub struct NoKeywords;

impl KeywordExtractor for NoKeywords {
    fn keywords(&self, _text: &str, _top_k: usize) -> Vec<String> {
        Vec::new()
    }
}

/// A dictionary-free stand-in for jieba: the fact is cut at punctuation and at
/// common function words (`我 你 是 的 叫 喜欢`...), and the longest pieces of two or
/// more characters are the keywords ("我叫小明" → 小明, "我喜欢打篮球" → 打篮球).
pub struct SimpleKeywords;

fn keyword_splitter() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(r"[\s\p{P}0-9]+|我们|你们|他们|喜欢|还是|就是|可以|一个|非常|比较|现在|今年|我|你|他|她|它|是|的|了|在|有|和|与|也|都|很|叫|住|去|做|爱|会|要|想|不|没|吗|呢|吧|啊")
            .unwrap()
    })
}

impl KeywordExtractor for SimpleKeywords {
    fn keywords(&self, text: &str, top_k: usize) -> Vec<String> {
        let mut pieces: Vec<(usize, String)> = keyword_splitter()
            .split(text)
            .filter(|p| p.chars().count() >= 2)
            .enumerate()
            .map(|(i, p)| (i, p.to_string()))
            .collect();
        pieces.sort_by(|a, b| {
            b.1.chars()
                .count()
                .cmp(&a.1.chars().count())
                .then(a.0.cmp(&b.0))
        });
        let mut seen = HashSet::new();
        pieces
            .into_iter()
            .map(|p| p.1)
            .filter(|p| seen.insert(p.clone()))
            .take(top_k)
            .collect()
    }
}

/// The utterances whose n-grams are banned: the query alone for persona questions
/// or an empty history, else the last `max_session` history utterances and the
/// query. Digit runs become a space.
pub fn session_utterances(
    history: &[String],
    query: &str,
    persona_question: bool,
    max_session: usize,
) -> Vec<String> {
    static DIGITS: OnceLock<Regex> = OnceLock::new();
    let digits = DIGITS.get_or_init(|| Regex::new("[0-9]+").unwrap());
    let mut out: Vec<&str> = Vec::new();
    if !persona_question && !history.is_empty() {
        out.extend(
            history[history.len().saturating_sub(max_session)..]
                .iter()
                .map(String::as_str),
        );
    }
    out.push(query);
    out.into_iter()
        .map(|u| digits.replace_all(u, " ").into_owned())
        .collect()
}

/// Replaces the top 3 keywords of every `;`-separated profile fact (and each
/// keyword's first two characters) by `<>` in the session utterances.
pub fn blank_persona_keywords(
    session: &[String],
    profiles: &str,
    extractor: &dyn KeywordExtractor,
) -> Vec<String> {
    let mut out = session.to_vec();
    for fact in profiles.split(';') {
        for kw in extractor.keywords(fact, 3) {
            let prefix: String = kw.chars().take(2).collect();
            for u in out.iter_mut() {
                *u = u.replace(&kw, "<>").replace(&prefix, "<>");
            }
        }
    }
    out
}

/// Token sequences to ban: every bad word whole, and every `ngram`-gram of every
/// session utterance. With `skip_first`, each tokenized text loses its first token
/// (T5's leading `▁`). Duplicates and empty sequences are dropped; order is first
/// occurrence.
pub fn bad_words_ids(
    bad_words: &[String],
    session: &[String],
    tokenizer: &dyn TextTokenizer,
    ngram: usize,
    skip_first: bool,
) -> Vec<Vec<u32>> {
    let encode = |t: &str| {
        let ids = tokenizer.encode_no_eos(t);
        if skip_first && !ids.is_empty() {
            ids[1..].to_vec()
        } else {
            ids
        }
    };
    let mut seen: HashSet<Vec<u32>> = HashSet::new();
    let mut out = Vec::new();
    let mut push = |ids: Vec<u32>| {
        if !ids.is_empty() && seen.insert(ids.clone()) {
            out.push(ids);
        }
    };
    for w in bad_words {
        push(encode(w));
    }
    for u in session {
        let ids = encode(u);
        if ngram > 0 && ids.len() >= ngram {
            for w in ids.windows(ngram) {
                push(w.to_vec());
            }
        }
    }
    out
}
