//! What a prepared file holds: counts, lengths and what the limits cut.

use serde::Serialize;

/// Length distribution (nearest-rank percentiles) of token sequences.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Lengths {
    pub count: usize,
    pub mean: f64,
    pub min: usize,
    pub p50: usize,
    pub p90: usize,
    pub p99: usize,
    pub max: usize,
}

impl Lengths {
    pub fn of(values: &[usize]) -> Lengths {
        if values.is_empty() {
            return Lengths::default();
        }
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        // Nearest rank: the smallest value with at least p% of values at or below it.
        let rank = |p: f64| {
            sorted[((p / 100.0 * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1]
        };
        Lengths {
            count: sorted.len(),
            mean: sorted.iter().sum::<usize>() as f64 / sorted.len() as f64,
            min: sorted[0],
            p50: rank(50.0),
            p90: rank(90.0),
            p99: rank(99.0),
            max: sorted[sorted.len() - 1],
        }
    }
}

/// Statistics of one prepared file. Token lengths are counted after truncation (what
/// the trainer reads), EOS included.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    pub format: String,
    /// `None` for tokenized input.
    pub objective: Option<String>,
    /// Non-blank input lines read.
    pub input_lines: usize,
    pub examples: usize,
    pub passages_per_example: Lengths,
    pub passage_tokens: Lengths,
    pub label_tokens: Lengths,
    /// Passages longer than `max_encoder_length`, cut (EOS kept).
    pub truncated_passages: usize,
    /// Targets longer than `max_decoder_length`, cut (EOS kept).
    pub truncated_labels: usize,
    /// Passages beyond `max_passages`, left out.
    pub dropped_passages: usize,
    /// Documents and pieces too short for the objective (under 2 tokens), left out.
    pub skipped_pieces: usize,
    /// Span corruption: masked tokens / piece tokens, over the whole file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub noise_fraction: Option<f64>,
}

/// Collects lengths while examples are built.
#[derive(Debug, Default)]
pub struct StatsBuilder {
    pub stats: Stats,
    passages_per_example: Vec<usize>,
    passage_tokens: Vec<usize>,
    label_tokens: Vec<usize>,
    noise_tokens: usize,
    piece_tokens: usize,
}

impl StatsBuilder {
    pub fn example(&mut self, example: &crate::TokenizedExample) {
        self.stats.examples += 1;
        self.passages_per_example.push(example.input_ids.len());
        self.passage_tokens
            .extend(example.input_ids.iter().map(Vec::len));
        self.label_tokens.push(example.labels.len());
    }

    /// Span corruption: a piece of `piece` tokens with `noise` of them masked.
    pub fn noise(&mut self, noise: usize, piece: usize) {
        self.noise_tokens += noise;
        self.piece_tokens += piece;
    }

    pub fn finish(mut self) -> Stats {
        self.stats.passages_per_example = Lengths::of(&self.passages_per_example);
        self.stats.passage_tokens = Lengths::of(&self.passage_tokens);
        self.stats.label_tokens = Lengths::of(&self.label_tokens);
        if self.piece_tokens > 0 {
            self.stats.noise_fraction = Some(self.noise_tokens as f64 / self.piece_tokens as f64);
        }
        self.stats
    }
}
