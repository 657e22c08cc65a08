//! Server-sent events for a running turn. A task forwards the worker's events as SSE
//! events; it owns the job's ticket, so when the client goes away (the response body
//! is dropped) the task ends and the turn is cancelled.

use std::convert::Infallible;
use std::time::Duration;

use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use chatplug_dialogue::ChatResult;
use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;

use crate::app::SharedState;
use crate::error::ApiError;
use crate::turn::{deadline, next_event, record};
use crate::workers::{Event, Ticket};


/// How a stream renders a turn's events.
pub trait StreamFormat: Send + 'static {
    /// Events before the first delta.
    fn start(&mut self) -> Vec<SseEvent> {
        Vec::new()
    }
    fn delta(&mut self, choice: usize, text: &str) -> Vec<SseEvent>;
    fn done(&mut self, results: &[ChatResult]) -> Vec<SseEvent>;
    fn error(&mut self, error: &ApiError) -> Vec<SseEvent>;
}

pub fn stream(state: SharedState, mut ticket: Ticket, mut format: impl StreamFormat) -> Response {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let send_all = |events: Vec<SseEvent>| events.into_iter().all(|e| tx.send(Ok(e)).is_ok());
        if !send_all(format.start()) {
            return;
        }
        let deadline = deadline(&state);
        loop {
            let event = tokio::select! {
                _ = tx.closed() => return, // client gone: dropping the ticket cancels the turn
                event = next_event(&state, &mut ticket, deadline) => event,
            };
            let events = match event {
                Ok(Event::Delta { choice, text }) => format.delta(choice, &text),
                Ok(Event::Done(outcome)) => {
                    ticket.finish();
                    record(&state, &outcome);
                    let events = match &outcome {
                        Ok(results) => format.done(results),
                        Err(e) => format.error(e),
                    };
                    send_all(events);
                    return;
                }
                Err(e) => {
                    send_all(format.error(&e));
                    return;
                }
            };
            if !send_all(events) {
                return;
            }
        }
    });
    let events = UnboundedReceiverStream::<Result<SseEvent, Infallible>>::new(rx);
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(2))).into_response()
}
