//! Incremental detokenization: text deltas from a growing list of token ids.
//!
//! SentencePiece pieces do not map one-to-one to characters (byte-fallback pieces are
//! parts of a character; the first piece loses its leading space), so each step decodes
//! all ids so far and hands out the new suffix, holding it back while it ends in a
//! half character (U+FFFD) or while the decoding does not extend what was handed out.

use chatplug_tokenizer::Tokenizer;

pub struct TextStream<'a> {
    tokenizer: &'a Tokenizer,
    ids: Vec<u32>,
    /// The text handed out so far.
    emitted: String,
}

impl<'a> TextStream<'a> {
    pub fn new(tokenizer: &'a Tokenizer) -> Self {
        TextStream { tokenizer, ids: Vec::new(), emitted: String::new() }
    }

    /// Adds one generated token; returns the new text, if any.
    pub fn push(&mut self, id: u32) -> Option<String> {
        self.ids.push(id);
        let text = self.tokenizer.decode(&self.ids);
        if text.ends_with('\u{FFFD}') {
            return None;
        }
        let delta = text.strip_prefix(self.emitted.as_str())?.to_string();
        if delta.is_empty() {
            return None;
        }
        self.emitted = text;
        Some(delta)
    }

    /// What `full` (the final decoding) adds to the text handed out, when it extends it.
    pub fn rest(&self, full: &str) -> String {
        full.strip_prefix(self.emitted.as_str()).unwrap_or("").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::TextStream;
    use chatplug_tokenizer::Tokenizer;
    use std::path::Path;

    fn tokenizer() -> Tokenizer {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/golden/models/relu_tied");
        Tokenizer::from_dir(&dir).unwrap()
    }

    #[test]
    fn deltas_add_up_to_the_full_decoding() {
        let tok = tokenizer();
        for text in ["你好，今天天气怎么样？", "ChatPLUG is a dialogue system.", "数字 123 和 emoji 😀 混合"] {
            let ids = tok.encode(text);
            let mut stream = TextStream::new(&tok);
            let mut joined = String::new();
            for &id in &ids {
                if let Some(delta) = stream.push(id) {
                    assert!(!delta.contains('\u{FFFD}'), "half character in {delta:?}");
                    joined.push_str(&delta);
                }
            }
            let full = tok.decode(&ids);
            joined.push_str(&stream.rest(&full));
            assert_eq!(joined, full, "for {text:?}");
        }
    }
}
