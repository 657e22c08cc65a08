//! Continuous batching: the decoding steps of concurrent requests share one pass over the
//! weights.
//!
//! A decoding step reads every weight of the decoder and the vocabulary head for a few rows
//! of arithmetic (one per hypothesis), so N requests decoded one by one read the weights N
//! times a step. A [`Batcher`] owns one thread that steps every running request together
//! ([`FidT5::decode_steps`]): requests join between steps as they arrive and leave as they
//! finish; each keeps its own options, caches, random generator and token stream. The
//! encoder runs in the caller's thread, before the request joins, so a long prompt does
//! not hold up the others' tokens.
//!
//! Results equal [`super::generate`]'s bit for bit: the same [`Search`] chooses the tokens,
//! and every kernel on the shared rows works row by row (passes are kept within
//! [`MAX_STREAMED_ROWS`] rows for that).

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use rayon::prelude::*;

use super::search::{Search, Step};
use super::{GenerationConfig, GenerationOutput, TokenCallback};
use crate::error::{ModelError, Result};
use crate::fid::{DecoderState, EncodedPassages, FidT5, StepRequest};
use crate::layers::MAX_STREAMED_ROWS;

/// Runs the decoding of concurrent requests in shared steps; see the module docs.
pub struct Batcher {
    model: Arc<FidT5>,
    jobs: Mutex<Option<Sender<Job>>>,
    thread: Option<JoinHandle<()>>,
}

/// A request on the batching thread.
struct Job {
    encoded: EncodedPassages,
    state: DecoderState,
    search: Search,
    events: Sender<Event>,
    /// Set by the caller when its token callback asked to stop.
    cancelled: Arc<AtomicBool>,
    /// Ended with an error (already sent); removed at the next [`retire`].
    failed: bool,
}

enum Event {
    Token(usize, u32),
    Done(Result<GenerationOutput>),
}

impl Batcher {
    /// Starts the batching thread. Each pass over the weights carries at most
    /// `max_rows` hypotheses (1 ..= [`MAX_STREAMED_ROWS`]); more running hypotheses than
    /// that take several passes a step.
    pub fn new(model: Arc<FidT5>, max_rows: usize) -> Result<Self> {
        if !(1..=MAX_STREAMED_ROWS).contains(&max_rows) {
            return Err(ModelError::Input(format!(
                "batch rows must be between 1 and {MAX_STREAMED_ROWS}, not {max_rows}"
            )));
        }
        let (sender, receiver) = mpsc::channel();
        let worker = Arc::clone(&model);
        let thread = std::thread::Builder::new()
            .name("chatplug-batcher".into())
            .spawn(move || run(&worker, &receiver, max_rows))
            .map_err(|e| ModelError::Input(format!("cannot start the batching thread: {e}")))?;
        Ok(Batcher { model, jobs: Mutex::new(Some(sender)), thread: Some(thread) })
    }

    /// [`super::generate`] through the shared steps: encodes `passages` in this thread,
    /// joins the running batch and waits for the result, calling `on_token` here as tokens
    /// are chosen. When `on_token` returns `Break`, the request leaves the batch at its
    /// next step (one step later than alone; the tokens after the break are not reported).
    pub fn generate(
        &self,
        passages: &[Vec<u32>],
        options: &GenerationConfig,
        mut on_token: Option<TokenCallback<'_>>,
    ) -> Result<GenerationOutput> {
        let search = Search::new(options.resolve(self.model.config())?);
        let encoded = self.model.encode(passages)?;
        let (events, receiver) = mpsc::channel();
        let cancelled = Arc::new(AtomicBool::new(false));
        let job = Job {
            encoded,
            state: self.model.new_decoder_state(),
            search,
            events,
            cancelled: Arc::clone(&cancelled),
            failed: false,
        };
        let sent = match self.jobs.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            Some(jobs) => jobs.send(job).is_ok(),
            None => false,
        };
        if !sent {
            return Err(stopped());
        }
        for event in receiver {
            match event {
                Event::Token(row, token) => {
                    if cancelled.load(Ordering::Relaxed) {
                        continue;
                    }
                    if let Some(callback) = on_token.as_mut() {
                        if callback(row, token).is_break() {
                            cancelled.store(true, Ordering::Relaxed);
                        }
                    }
                }
                Event::Done(result) => return result,
            }
        }
        Err(stopped())
    }
}

fn stopped() -> ModelError {
    ModelError::Batch("the batching thread has stopped".into())
}

impl Drop for Batcher {
    /// Closes the queue; the thread finishes the running requests and exits.
    fn drop(&mut self) {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The batching thread: admit waiting requests, step all running ones, retire finished
/// ones; sleep while there is nothing to run.
fn run(model: &FidT5, jobs: &Receiver<Job>, max_rows: usize) {
    let mut running: Vec<Job> = Vec::new();
    let mut open = true;
    loop {
        if running.is_empty() {
            match jobs.recv() {
                Ok(job) => running.push(job),
                Err(_) => return,
            }
        }
        while open {
            match jobs.try_recv() {
                Ok(job) => running.push(job),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => open = false,
            }
        }
        if running.is_empty() {
            if open {
                continue;
            }
            return;
        }
        // Also retires requests that need no step at all (`max_length` 1).
        retire(&mut running);
        step(model, &mut running, max_rows);
        retire(&mut running);
    }
}

/// One decoding step of every running request, in passes of at most `max_rows`
/// hypotheses (a request with more rows than that gets a pass of its own).
fn step(model: &FidT5, running: &mut [Job], max_rows: usize) {
    let mut start = 0;
    while start < running.len() {
        let mut end = start;
        let mut rows = 0;
        while end < running.len() {
            let more = running[end].search.rows();
            if end > start && rows + more > max_rows {
                break;
            }
            rows += more;
            end += 1;
        }
        step_pass(model, &mut running[start..end]);
        start = end;
    }
}

fn step_pass(model: &FidT5, pass: &mut [Job]) {
    let inputs: Vec<Vec<u32>> = pass.iter().map(|job| job.search.inputs()).collect();
    let logits = {
        let mut requests: Vec<StepRequest<'_>> = pass
            .iter_mut()
            .zip(&inputs)
            .map(|(job, tokens)| StepRequest { encoded: &job.encoded, state: &mut job.state, tokens })
            .collect();
        model.decode_steps(&mut requests)
    };
    let logits = match logits {
        Ok(logits) => logits,
        Err(e) => {
            // The step is shared, so its failure is every request's.
            let message = e.to_string();
            for job in pass.iter_mut() {
                fail(job, ModelError::Batch(message.clone()));
            }
            return;
        }
    };
    // The requests' token choices are independent (log-softmax, processors and top-k over
    // the vocabulary, per hypothesis), so they run in parallel.
    pass.par_iter_mut().zip(logits).for_each(|(job, logits)| {
        if let Err(e) = advance(model, job, &logits) {
            fail(job, e);
        }
    });
}

/// Feeds one request its step's logits and prepares its caches for the next step.
fn advance(model: &FidT5, job: &mut Job, logits: &candle_core::Tensor) -> Result<()> {
    let logits = logits.to_vec2::<f32>()?;
    let (events, cancelled) = (&job.events, &job.cancelled);
    let mut relay = |row: usize, token: u32| {
        // A caller that went away or asked to stop ends the request.
        if events.send(Event::Token(row, token)).is_err() || cancelled.load(Ordering::Relaxed) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let mut callback: Option<TokenCallback<'_>> = Some(&mut relay);
    match job.search.advance(logits, &mut callback)? {
        Step::Continue | Step::Finished => {}
        Step::Reorder(rows) => model.reorder(&mut job.state, &rows)?,
    }
    Ok(())
}

/// Ends a request with an error; [`retire`] removes it.
fn fail(job: &mut Job, error: ModelError) {
    let _ = job.events.send(Event::Done(Err(error)));
    job.failed = true;
}

/// Sends finished requests their output and removes them (and failed ones), keeping the
/// others in arrival order.
fn retire(running: &mut Vec<Job>) {
    for job in std::mem::take(running) {
        if job.failed {
            continue;
        }
        if job.search.is_finished() {
            let _ = job.events.send(Event::Done(Ok(job.search.finish())));
        } else {
            running.push(job);
        }
    }
}
