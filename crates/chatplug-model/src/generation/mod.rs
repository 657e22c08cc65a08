//! Decoding with HF `generate` semantics for encoder-decoder models: greedy search,
//! multinomial sampling and beam search, with HF's logits processors.

pub mod batch;
mod beam;
pub mod config;
pub mod model_defaults;
pub mod processors;
mod search;

use std::ops::ControlFlow;

use crate::error::Result;
use crate::fid::{EncodedPassages, FidT5};
pub use config::{EarlyStopping, GenerationConfig, ResolvedConfig, TokenIds};
use processors::LogitsPipeline;
use search::{Search, Step};

#[derive(Debug, Clone, PartialEq)]
pub struct GenerationOutput {
    /// As HF returns them: each starts with the decoder start token; finished rows are
    /// padded with `pad_token_id` to a common length.
    pub sequences: Vec<Vec<u32>>,
}

/// Receives `(sequence index, token id)` as tokens are chosen. Greedy search and sampling:
/// each row's tokens in order (a text stream). Beam search: each step's token of every beam
/// (`num_beams` calls a step); beams are reordered between steps, so these are no text
/// stream, only a chance to stop. Returning `ControlFlow::Break` stops generation after
/// that step (e.g. the client that streams the reply went away); greedy search and
/// sampling return the sequences so far, beam search its current beams.
pub type TokenCallback<'a> = &'a mut dyn FnMut(usize, u32) -> ControlFlow<()>;

/// Generates continuations for one FiD request (a list of token-id passages).
pub fn generate(
    model: &FidT5,
    passages: &[Vec<u32>],
    options: &GenerationConfig,
    on_token: Option<TokenCallback<'_>>,
) -> Result<GenerationOutput> {
    let encoded = model.encode(passages)?;
    generate_encoded(model, &encoded, options, on_token)
}

/// Like [`generate`], for passages already encoded (e.g. to time decoding alone).
pub fn generate_encoded(
    model: &FidT5,
    encoded: &EncodedPassages,
    options: &GenerationConfig,
    mut on_token: Option<TokenCallback<'_>>,
) -> Result<GenerationOutput> {
    let mut search = Search::new(options.resolve(model.config())?);
    let mut state = model.new_decoder_state();
    while !search.is_finished() {
        let logits = model.decode_step(encoded, &mut state, &search.inputs())?.to_vec2::<f32>()?;
        match search.advance(logits, &mut on_token)? {
            Step::Continue => {}
            Step::Reorder(rows) => model.reorder(&mut state, &rows)?,
            Step::Finished => break,
        }
    }
    Ok(search.finish())
}

/// The processed scores of every step of `sequence` under `options`, by teacher forcing:
/// what HF `generate(..., output_scores=True)` reports for greedy search and sampling.
pub fn teacher_forced_scores(
    model: &FidT5,
    passages: &[Vec<u32>],
    options: &GenerationConfig,
    sequence: &[u32],
) -> Result<Vec<Vec<f32>>> {
    let config = options.resolve(model.config())?;
    let pipeline = LogitsPipeline::new(&config);
    let encoded = model.encode(passages)?;
    let mut state = model.new_decoder_state();
    let mut steps = Vec::new();
    for t in 0..sequence.len().saturating_sub(1) {
        let logits = model.decode_step(&encoded, &mut state, &sequence[t..=t])?;
        let mut scores = logits.squeeze(0)?.to_vec1::<f32>()?;
        pipeline.process(&sequence[..=t], &mut scores);
        if config.do_sample {
            pipeline.warp(&mut scores);
        }
        steps.push(scores);
    }
    Ok(steps)
}
