//! The unit every metric counts: characters of a text with all whitespace removed
//! (punctuation kept), so that `你好 ，世界` and `你好，世界` score the same.

/// The characters of `text` without whitespace.
pub fn eval_chars(text: &str) -> Vec<char> {
    text.chars().filter(|c| !is_whitespace(*c)).collect()
}

/// Whitespace as Python's `str.split()` sees it (the golden script strips texts with
/// `"".join(text.split())`): Unicode `White_Space` (spaces, tabs, line breaks, U+3000
/// ideographic space, no-break spaces...) plus the ASCII separators U+001C–U+001F,
/// which Python also splits on and Rust's `char::is_whitespace` does not.
pub fn is_whitespace(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_every_kind_of_whitespace_and_keeps_punctuation() {
        let text = " 你好\t，\n世界\u{3000}！\u{a0}a b\u{1f}c\r\n";
        assert_eq!(
            eval_chars(text).into_iter().collect::<String>(),
            "你好，世界！abc"
        );
    }

    #[test]
    fn zero_width_space_is_not_whitespace() {
        // Python's str.split() keeps U+200B too.
        assert_eq!(eval_chars("a\u{200b}b").len(), 3);
    }
}
