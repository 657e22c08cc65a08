//! The analysis of [`crate::analysis`] as tantivy tokenizers, registered on every
//! embedded index under [`WORDS`] and [`BIGRAMS`].

use tantivy::tokenizer::{TextAnalyzer, Token, TokenStream, Tokenizer};
use tantivy::Index;

use crate::analysis::{bigrams, chars, words_with, WordOptions};

/// jieba words.
pub const WORDS: &str = "kb_jieba";
/// CJK character bigrams.
pub const BIGRAMS: &str = "kb_bigram";
/// CJK characters.
pub const CHARS: &str = "kb_char";

#[derive(Clone)]
struct Words(WordOptions);

#[derive(Clone)]
struct Bigrams;

#[derive(Clone)]
struct Chars;

/// A stream over terms computed up front (jieba needs the whole text anyway).
pub struct Terms {
    tokens: Vec<Token>,
    next: usize,
}

impl Terms {
    fn new(terms: Vec<String>) -> Self {
        let tokens = terms
            .into_iter()
            .enumerate()
            .map(|(position, text)| Token { position, text, ..Token::default() })
            .collect();
        Terms { tokens, next: 0 }
    }
}

impl TokenStream for Terms {
    fn advance(&mut self) -> bool {
        self.next += 1;
        self.next <= self.tokens.len()
    }
    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}

impl Tokenizer for Words {
    type TokenStream<'a> = Terms;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> Terms {
        Terms::new(words_with(text, self.0))
    }
}

impl Tokenizer for Bigrams {
    type TokenStream<'a> = Terms;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> Terms {
        Terms::new(bigrams(text))
    }
}

impl Tokenizer for Chars {
    type TokenStream<'a> = Terms;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> Terms {
        Terms::new(chars(text))
    }
}

/// Registers the tokenizers on `index`.
pub fn register(index: &Index, opts: WordOptions) {
    index.tokenizers().register(WORDS, TextAnalyzer::from(Words(opts)));
    index.tokenizers().register(BIGRAMS, TextAnalyzer::from(Bigrams));
    index.tokenizers().register(CHARS, TextAnalyzer::from(Chars));
}
