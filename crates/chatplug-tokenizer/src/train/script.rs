//! SentencePiece's "one Unicode script per piece" rule (`split_by_unicode_script`,
//! on by default and in every T5/mT5 model): a piece never mixes scripts, so
//! `好，` or `3个` are never learned, while `，。` (both Common) or `12` may be.
//! As in sentencepiece, Hiragana, Katakana and `ー` count as Han, and a combining
//! mark (script Inherited) takes the script of the character before it.

use unicode_script::{Script, UnicodeScript};

/// The script class a character contributes to a piece; `None` for a
/// combining mark, which joins whatever precedes it.
pub fn piece_script(c: char) -> Option<Script> {
    match c.script() {
        Script::Hiragana | Script::Katakana => Some(Script::Han),
        _ if c == '\u{30FC}' => Some(Script::Han),
        Script::Inherited => None,
        s => Some(s),
    }
}

/// Cuts `word` where the script changes; the result's pieces may be learned
/// whole, nothing across a cut. A leading `▁` stays with what follows it.
pub fn split_by_script<'a>(word: &'a str, out: &mut Vec<&'a str>) {
    let mut start = 0usize;
    let mut current: Option<Script> = None;
    for (i, c) in word.char_indices() {
        if c == '\u{2581}' {
            continue;
        }
        let Some(s) = piece_script(c) else {
            continue;
        };
        match current {
            Some(cur) if cur != s => {
                out.push(&word[start..i]);
                start = i;
                current = Some(s);
            }
            _ => current = Some(s),
        }
    }
    if start < word.len() {
        out.push(&word[start..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(w: &str) -> Vec<&str> {
        let mut v = Vec::new();
        split_by_script(w, &mut v);
        v
    }

    #[test]
    fn cuts_at_script_changes_only() {
        assert_eq!(split("▁你好，世界。"), ["▁你好", "，", "世界", "。"]);
        assert_eq!(split("▁3个苹果"), ["▁3", "个苹果"]);
        assert_eq!(split("▁ChatPLUG模型"), ["▁ChatPLUG", "模型"]);
        assert_eq!(split("▁日本語のテキスト"), ["▁日本語のテキスト"]);
        assert_eq!(split("▁e\u{301}t"), ["▁e\u{301}t"]);
        assert_eq!(split("▁"), ["▁"]);
        assert_eq!(split("，。！"), ["，。！"]);
    }
}
