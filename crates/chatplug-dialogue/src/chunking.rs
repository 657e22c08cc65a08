//! Knowledge and profile chunking: long texts are cut into windows of
//! `core_chat_max_knowledge_length` characters, each (after the first) starting
//! `overlap` characters early, so a fact cut at a boundary is whole in one chunk.

/// Splits `text` into chunks of at most `max_len + overlap` characters. Empty text
/// gives no chunk; text up to `max_len` characters is one chunk.
pub fn split_chunks(text: &str, max_len: usize, overlap: usize) -> Vec<String> {
    if text.is_empty() {
        return Vec::new();
    }
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= max_len {
        return vec![text.to_string()];
    }
    let n = chars.len().div_ceil(max_len);
    (0..n)
        .map(|i| {
            let start = (i * max_len).saturating_sub(overlap);
            let end = ((i + 1) * max_len).min(chars.len());
            chars[start..end].iter().collect()
        })
        .collect()
}
