//! Cutting documents into passages of at most `max_chars` characters. Passages end
//! at sentence boundaries where possible; each passage after the first repeats the
//! previous passage's last sentences (up to `overlap` characters) so a fact that
//! straddles a cut is still found whole. A sentence longer than `max_chars` is cut
//! into windows that overlap by `overlap` characters.

/// Passage sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitOptions {
    pub max_chars: usize,
    pub overlap: usize,
}

impl Default for SplitOptions {
    fn default() -> Self {
        // 300 is the reference's knowledge chunk length (core_chat_max_knowledge_length).
        SplitOptions { max_chars: 300, overlap: 50 }
    }
}

fn is_sentence_end(c: char) -> bool {
    matches!(c, '。' | '！' | '？' | '!' | '?' | '；' | ';' | '\n' | '…')
}

/// Sentences of `text`, each with its closing punctuation, whitespace trimmed.
fn sentences(text: &str) -> Vec<Vec<char>> {
    let mut out = Vec::new();
    let mut cur: Vec<char> = Vec::new();
    let flush = |cur: &mut Vec<char>, out: &mut Vec<Vec<char>>| {
        let s: String = cur.iter().collect();
        let t = s.trim();
        if !t.is_empty() {
            out.push(t.chars().collect());
        }
        cur.clear();
    };
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        cur.push(c);
        if is_sentence_end(c) {
            // Keep closing quotes and repeated marks with their sentence.
            while let Some(&n) = chars.peek() {
                if is_sentence_end(n) || matches!(n, '”' | '’' | '」' | '』' | ')' | '）') {
                    cur.push(n);
                    chars.next();
                } else {
                    break;
                }
            }
            flush(&mut cur, &mut out);
        }
    }
    flush(&mut cur, &mut out);
    out
}

/// Windows of `max` characters overlapping by `overlap` (for over-long sentences).
fn windows(s: &[char], max: usize, overlap: usize) -> Vec<Vec<char>> {
    let step = max.saturating_sub(overlap).max(1);
    let mut out = Vec::new();
    let mut start = 0;
    loop {
        let end = (start + max).min(s.len());
        out.push(s[start..end].to_vec());
        if end == s.len() {
            return out;
        }
        start += step;
    }
}

/// The passages of `text`.
pub fn split(text: &str, opts: SplitOptions) -> Vec<String> {
    let max = opts.max_chars.max(1);
    let overlap = opts.overlap.min(max / 2);
    let mut units: Vec<Vec<char>> = Vec::new();
    for s in sentences(text) {
        if s.len() > max {
            units.extend(windows(&s, max, overlap));
        } else {
            units.push(s);
        }
    }
    let mut passages: Vec<String> = Vec::new();
    let mut cur: Vec<&[char]> = Vec::new();
    let mut cur_len = 0;
    // Whether `cur` holds anything beyond the overlap carried from the last passage.
    let mut fresh = false;
    for unit in &units {
        if cur_len + unit.len() > max && fresh {
            passages.push(cur.iter().flat_map(|u| u.iter()).collect());
            let mut carried: Vec<&[char]> = Vec::new();
            let mut carried_len = 0;
            for u in cur.iter().rev() {
                if carried_len + u.len() > overlap || carried_len + u.len() + unit.len() > max {
                    break;
                }
                carried_len += u.len();
                carried.insert(0, u);
            }
            cur = carried;
            cur_len = carried_len;
        }
        cur.push(unit);
        cur_len += unit.len();
        fresh = true;
    }
    if fresh {
        passages.push(cur.iter().flat_map(|u| u.iter()).collect());
    }
    passages
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(max: usize, overlap: usize) -> SplitOptions {
        SplitOptions { max_chars: max, overlap }
    }

    #[test]
    fn short_text_is_one_passage() {
        assert_eq!(split("你好。世界！", opts(300, 50)), ["你好。世界！"]);
    }

    #[test]
    fn passages_respect_the_limit_and_cut_at_sentences() {
        let text = "第一句话在这里。第二句话在这里。第三句话在这里。第四句话在这里。";
        let p = split(text, opts(16, 8));
        assert!(p.iter().all(|x| x.chars().count() <= 16), "{p:?}");
        assert!(p.iter().all(|x| x.ends_with('。')), "{p:?}");
        // Overlap: each passage after the first starts with the previous one's last sentence.
        assert_eq!(p[0], "第一句话在这里。第二句话在这里。");
        assert!(p[1].starts_with("第二句话在这里。"), "{p:?}");
        assert!(p.last().unwrap().ends_with("第四句话在这里。"));
    }

    #[test]
    fn long_sentences_are_windowed_with_overlap() {
        let text = "字".repeat(25);
        let p = split(&text, opts(10, 3));
        assert!(p.iter().all(|x| x.chars().count() <= 10), "{p:?}");
        let total: usize = p.iter().map(|x| x.chars().count()).sum();
        assert!(total >= 25);
    }

    #[test]
    fn empty_text_has_no_passages() {
        assert!(split("  \n ", opts(300, 50)).is_empty());
    }
}
