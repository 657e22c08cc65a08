//! The model workers: dedicated OS threads (never tokio tasks: the pipeline blocks on
//! the model and knowledge providers use blocking HTTP clients, which must not run
//! inside the async runtime) fed by one bounded queue.
//!
//! A request gets a [`Ticket`]; dropping it (the client went away, the timeout fired)
//! takes the job out of the queue, or makes the running turn stop at its next token.
//! Each job runs on one worker from start to end, so concurrent requests share nothing
//! but the read-only pipeline and model.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use axum::http::StatusCode;
use chatplug_dialogue::{ChatPipeline, ChatRequest, ChatResult, DialogueError, Generator, STOPPED};
use serde_json::{json, Map, Value};
use tokio::sync::mpsc;

use crate::error::ApiError;
use crate::generation::WithOverrides;
use crate::metrics::Metrics;
use crate::sessions::{now_rfc3339, title_from_query, SessionStore, StoredTurn, TurnPair};
use crate::stop::{cut_at_stop, StopFilter};

/// One turn to run.
#[derive(Debug, Clone)]
pub struct TurnJob {
    pub request: ChatRequest,
    /// HF generate options over the configured ones.
    pub overrides: Map<String, Value>,
    /// How many replies (OpenAI `n`); reply `i` uses seed `seed + i`.
    pub choices: usize,
    pub stop: Vec<String>,
    /// The session the turn is appended to (before the reply is sent).
    pub session_id: Option<String>,
}

/// What a worker sends back.
#[derive(Debug)]
pub enum Event {
    Delta { choice: usize, text: String },
    Done(Result<Vec<ChatResult>, ApiError>),
}

/// What the workers share.
pub struct Engine {
    pub pipeline: Arc<ChatPipeline>,
    pub generator: Arc<dyn Generator + Send + Sync>,
    pub store: Arc<dyn SessionStore>,
    pub metrics: Arc<Metrics>,
}

struct Queued {
    id: u64,
    job: TurnJob,
    cancel: Arc<AtomicBool>,
    events: mpsc::UnboundedSender<Event>,
}

#[derive(Default)]
struct Jobs {
    waiting: VecDeque<Queued>,
    next_id: u64,
    shutdown: bool,
}

pub struct Queue {
    jobs: Mutex<Jobs>,
    ready: Condvar,
    capacity: usize,
    metrics: Arc<Metrics>,
}

/// The queue is full.
#[derive(Debug)]
pub struct QueueFull;

/// A submitted job: its events, and its cancellation when dropped.
pub struct Ticket {
    id: u64,
    queue: Arc<Queue>,
    cancel: Arc<AtomicBool>,
    pub events: mpsc::UnboundedReceiver<Event>,
    finished: bool,
}

impl Ticket {
    /// Marks the job as answered: dropping the ticket then cancels nothing.
    pub fn finish(&mut self) {
        self.finished = true;
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        self.cancel.store(true, Ordering::SeqCst);
        self.queue.remove(self.id);
        self.queue.metrics.cancelled();
    }
}

impl Queue {
    fn lock(&self) -> std::sync::MutexGuard<'_, Jobs> {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn submit(self: &Arc<Self>, job: TurnJob) -> Result<Ticket, QueueFull> {
        let (tx, rx) = mpsc::unbounded_channel();
        let cancel = Arc::new(AtomicBool::new(false));
        let mut jobs = self.lock();
        if jobs.waiting.len() >= self.capacity {
            return Err(QueueFull);
        }
        let id = jobs.next_id;
        jobs.next_id += 1;
        jobs.waiting.push_back(Queued { id, job, cancel: cancel.clone(), events: tx });
        self.metrics.queue_depth.store(jobs.waiting.len(), Ordering::Relaxed);
        drop(jobs);
        self.ready.notify_one();
        Ok(Ticket { id, queue: self.clone(), cancel, events: rx, finished: false })
    }

    fn remove(&self, id: u64) {
        let mut jobs = self.lock();
        jobs.waiting.retain(|q| q.id != id);
        self.metrics.queue_depth.store(jobs.waiting.len(), Ordering::Relaxed);
    }

    /// The next job; `None` once shut down.
    fn pop(&self) -> Option<Queued> {
        let mut jobs = self.lock();
        loop {
            if jobs.shutdown {
                return None;
            }
            if let Some(q) = jobs.waiting.pop_front() {
                self.metrics.queue_depth.store(jobs.waiting.len(), Ordering::Relaxed);
                return Some(q);
            }
            jobs = self.ready.wait(jobs).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Stops the workers once they finish their current turn.
    pub fn shutdown(&self) {
        self.lock().shutdown = true;
        self.ready.notify_all();
    }
}

/// Starts `workers` threads; they run until [`Queue::shutdown`].
pub fn start(engine: Arc<Engine>, workers: usize, capacity: usize) -> Arc<Queue> {
    let metrics = engine.metrics.clone();
    metrics.queue_capacity.store(capacity, Ordering::Relaxed);
    metrics.workers.store(workers, Ordering::Relaxed);
    let queue = Arc::new(Queue { jobs: Mutex::default(), ready: Condvar::new(), capacity, metrics });
    for i in 0..workers {
        let (queue, engine) = (queue.clone(), engine.clone());
        std::thread::Builder::new()
            .name(format!("chatplug-worker-{i}"))
            .spawn(move || worker_loop(&queue, &engine))
            .expect("cannot start a model worker thread");
    }
    queue
}

fn worker_loop(queue: &Queue, engine: &Engine) {
    while let Some(q) = queue.pop() {
        if q.cancel.load(Ordering::SeqCst) {
            continue;
        }
        engine.metrics.busy_workers.fetch_add(1, Ordering::Relaxed);
        // A panic in a turn answers that request with a 500 and keeps the worker.
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| run_job(engine, &q)))
            .unwrap_or_else(|_| {
                tracing::error!("a turn panicked on a model worker; answered 500, worker kept");
                Err(ApiError::server("the model worker failed on this request"))
            });
        engine.metrics.busy_workers.fetch_sub(1, Ordering::Relaxed);
        let _ = q.events.send(Event::Done(outcome));
    }
}

fn run_job(engine: &Engine, q: &Queued) -> Result<Vec<ChatResult>, ApiError> {
    let job = &q.job;
    let base_seed = job.overrides.get("seed").and_then(Value::as_u64).unwrap_or(0);
    let mut results = Vec::with_capacity(job.choices);
    for choice in 0..job.choices {
        let mut overrides = job.overrides.clone();
        if job.choices > 1 {
            overrides.insert("seed".into(), json!(base_seed + choice as u64));
        }
        let generator = WithOverrides { inner: engine.generator.as_ref(), overrides: &overrides };
        let mut filter = StopFilter::new(&job.stop);
        let mut on_text = |delta: &str| {
            if q.cancel.load(Ordering::SeqCst) || q.events.is_closed() {
                return false;
            }
            let text = filter.push(delta);
            if !text.is_empty() {
                let _ = q.events.send(Event::Delta { choice, text });
            }
            true
        };
        let mut result = engine
            .pipeline
            .chat_streaming(&job.request, &generator, &mut on_text)
            .map_err(turn_error)?;
        let tail = filter.finish();
        if !tail.is_empty() {
            let _ = q.events.send(Event::Delta { choice, text: tail });
        }
        if !job.stop.is_empty() {
            result.response = cut_at_stop(&result.response, &job.stop);
        }
        if let Some(generation) = result.debug.generation.as_mut() {
            generation.extend(overrides);
        }
        results.push(result);
    }
    if let (Some(id), Some(first)) = (&job.session_id, results.first()) {
        store_turn(engine.store.as_ref(), id, &job.request.query, first)?;
    }
    Ok(results)
}

fn turn_error(e: DialogueError) -> ApiError {
    match e {
        DialogueError::Request(m) => ApiError::invalid(m),
        DialogueError::Generator(m) if m == STOPPED => {
            ApiError::new(StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST), "cancelled", "the client went away")
        }
        // The model rejected an option combination the request asked for.
        DialogueError::Generator(m) if m.starts_with("generation option") => ApiError::invalid(m),
        other => ApiError::server(other.to_string()),
    }
}

/// Appends the turn; the reply is sent only after this returns.
fn store_turn(store: &dyn SessionStore, id: &str, query: &str, result: &ChatResult) -> Result<(), ApiError> {
    let rewritten = &result.debug.query_rewritten;
    let user = StoredTurn {
        role: chatplug_dialogue::Role::User,
        utterance: query.to_string(),
        rewritten: (!rewritten.is_empty() && rewritten != query).then(|| rewritten.clone()),
        created_at: now_rfc3339(),
    };
    let bot = StoredTurn {
        role: chatplug_dialogue::Role::Bot,
        utterance: result.response.clone(),
        rewritten: None,
        created_at: now_rfc3339(),
    };
    let pair = TurnPair { user, bot, dialog_state: result.dialog_state.clone(), title_hint: title_from_query(query) };
    match store.append(id, &pair) {
        Ok(true) => Ok(()),
        Ok(false) => Err(ApiError::not_found(format!("session `{id}` was deleted during the turn"))),
        Err(e) => Err(ApiError::server(format!("the turn was not stored: {e}"))),
    }
}
