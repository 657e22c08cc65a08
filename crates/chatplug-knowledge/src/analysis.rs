//! Text analysis shared by every backend: normalization, jieba word segmentation
//! (search mode: long words plus their in-dictionary parts), stop words, and
//! character bigrams. Index and query go through the same functions, so a backend
//! only decides how to score the terms.

use std::collections::HashSet;
use std::sync::OnceLock;

use jieba_rs::Jieba;

fn jieba() -> &'static Jieba {
    static JIEBA: OnceLock<Jieba> = OnceLock::new();
    JIEBA.get_or_init(Jieba::new)
}

/// Question words, particles and function words that carry no topic. Dropped from
/// queries (and from indexed words) because they match almost every question-like
/// passage and nothing specific.
const STOP_WORDS: &[&str] = &[
    "的", "了", "吗", "呢", "吧", "啊", "呀", "嘛", "么", "哦", "是", "在", "有", "和", "与",
    "及", "或", "也", "都", "就", "还", "又", "被", "把", "对", "从", "向", "给", "让", "这",
    "那", "这个", "那个", "这些", "那些", "什么", "哪里", "哪儿", "哪个", "哪些", "哪", "哪位",
    "谁", "几", "多少", "怎么", "怎么样", "怎样", "如何", "为什么", "为何", "是否", "是不是",
    "有没有", "能不能", "可不可以", "可以", "能", "会", "要", "请问", "请", "一下", "告诉",
    "知道", "我", "你", "我们", "你们", "他", "她", "它", "吗？", "呢？", "多", "啥", "咋",
    "一个", "一种", "哪一", "哪一年", "多久", "哪年", "哪天", "哪一天", "时候", "什么时候", "地方",
    "多长", "多远", "多高", "多大", "多快", "多重", "多深", "怎么办", "是什么", "叫什么", "有哪些", "之", "其", "以", "为", "于", "而", "中", "上",
    "下", "里", "个", "些", "得", "地", "着", "过", "所", "叫", "做", "该", "应该", "需要",
    "the", "a", "an", "of", "is", "are", "what", "which", "who", "how", "to", "in", "and",
];

fn stop_words() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| STOP_WORDS.iter().copied().collect())
}

/// Whether `word` (normalized) carries no topic.
pub fn is_stop_word(word: &str) -> bool {
    stop_words().contains(word)
}

/// Lower-cases and folds full-width ASCII (`Ａ１？`) and the ideographic space to
/// their ASCII forms.
pub fn normalize(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
}

fn is_term_char(c: char) -> bool {
    c.is_alphanumeric()
}

/// How text becomes words. The default is what measurement on the retrieval set
/// (`fixtures/retrieval`) supported; the other settings exist to measure against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WordOptions {
    /// jieba search mode (long words plus their in-dictionary parts) instead of
    /// the plain cut.
    pub search_mode: bool,
    /// Drop [`STOP_WORDS`].
    pub stop_words: bool,
}

impl Default for WordOptions {
    fn default() -> Self {
        WordOptions { search_mode: true, stop_words: true }
    }
}

/// jieba search-mode words of `text` (normalized), punctuation and stop words
/// dropped. Used for indexing and for queries.
pub fn words(text: &str) -> Vec<String> {
    words_with(text, WordOptions::default())
}

/// [`words`] with other options.
pub fn words_with(text: &str, opts: WordOptions) -> Vec<String> {
    let text = normalize(text);
    let cut = if opts.search_mode {
        jieba().cut_for_search(&text, true)
    } else {
        jieba().cut(&text, true)
    };
    cut.into_iter()
        .map(str::trim)
        .filter(|w| w.chars().any(is_term_char) && !(opts.stop_words && is_stop_word(w)))
        .map(str::to_string)
        .collect()
}

/// Character bigrams of every CJK run of `text` (a lone CJK character stands for
/// itself) and every ASCII/alphanumeric word whole. Catches words jieba splits
/// differently in a query and in a passage.
pub fn bigrams(text: &str) -> Vec<String> {
    let text = normalize(text);
    let mut out = Vec::new();
    let mut run: Vec<char> = Vec::new();
    let mut word = String::new();
    let flush_run = |run: &mut Vec<char>, out: &mut Vec<String>| {
        match run.len() {
            0 => {}
            1 => out.push(run[0].to_string()),
            _ => out.extend(run.windows(2).map(|w| w.iter().collect::<String>())),
        }
        run.clear();
    };
    for c in text.chars() {
        if is_cjk(c) {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            run.push(c);
        } else if is_term_char(c) {
            flush_run(&mut run, &mut out);
            word.push(c);
        } else {
            flush_run(&mut run, &mut out);
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
        }
    }
    flush_run(&mut run, &mut out);
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// Every CJK character of `text` (normalized) and every alphanumeric word whole:
/// the loosest match, for paraphrases that share characters but not words
/// (`珠峰` / `珠穆朗玛峰`).
pub fn chars(text: &str) -> Vec<String> {
    let text = normalize(text);
    let mut out = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if is_cjk(c) || !is_term_char(c) {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            if is_cjk(c) {
                out.push(c.to_string());
            }
        } else {
            word.push(c);
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// [`chars`] of a query without its stop words.
pub fn query_chars(query: &str) -> Vec<String> {
    chars(&without_stop_words(query))
}

/// The query with each stop word replaced by a space.
fn without_stop_words(query: &str) -> String {
    let text = normalize(query);
    let mut kept = String::new();
    for w in jieba().cut(&text, true) {
        if is_stop_word(w.trim()) {
            kept.push(' ');
        } else {
            kept.push_str(w);
        }
    }
    kept
}

/// Bigrams of a query with its stop words cut out first, so `长城有多长` does not
/// look for `城有` or `有多`.
pub fn query_bigrams(query: &str) -> Vec<String> {
    bigrams(&without_stop_words(query))
}

/// `text` with punctuation and whitespace removed, normalized: what FAQ question
/// similarity compares.
pub fn compact(text: &str) -> String {
    normalize(text).chars().filter(|c| is_term_char(*c)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_drop_question_words_and_punctuation() {
        let w = words("长城在哪里？");
        assert!(w.contains(&"长城".to_string()), "{w:?}");
        assert!(!w.iter().any(|t| t == "哪里" || t == "？"), "{w:?}");
    }

    #[test]
    fn bigrams_cover_cjk_runs_and_keep_ascii_words() {
        assert_eq!(bigrams("北京大学ABC 上"), ["北京", "京大", "大学", "abc", "上"]);
    }

    #[test]
    fn query_bigrams_skip_stop_words() {
        let b = query_bigrams("长城有多长");
        assert!(b.contains(&"长城".to_string()), "{b:?}");
        assert!(!b.contains(&"城有".to_string()), "{b:?}");
    }

    #[test]
    fn normalize_folds_full_width() {
        assert_eq!(normalize("ＡＢＣ１２３？"), "abc123?");
    }
}
