//! A circuit breaker per provider: after `threshold` consecutive failures the provider
//! is skipped (calls fail at once, no request) for `cooldown`; then one trial call is
//! let through (half-open): success closes the breaker, failure opens it again.

use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerPolicy {
    /// Consecutive failures that open the breaker; 0 never opens it.
    pub threshold: u32,
    pub cooldown: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// The trial call after the cool-down is under way.
    HalfOpen,
}

pub struct CircuitBreaker {
    policy: BreakerPolicy,
    state: Mutex<State>,
}

impl CircuitBreaker {
    pub fn new(policy: BreakerPolicy) -> CircuitBreaker {
        CircuitBreaker {
            policy,
            state: Mutex::new(State::Closed { failures: 0 }),
        }
    }

    /// Whether a call may go ahead now; the reason when not.
    pub fn admit(&self) -> Result<(), String> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match *state {
            State::Closed { .. } => Ok(()),
            State::Open { until } => {
                let now = Instant::now();
                if now >= until {
                    *state = State::HalfOpen;
                    Ok(())
                } else {
                    Err(format!(
                        "circuit open after {} consecutive failures; next try in {} ms",
                        self.policy.threshold,
                        (until - now).as_millis()
                    ))
                }
            }
            State::HalfOpen => Err("circuit half-open; a trial call is under way".into()),
        }
    }

    /// Records the outcome of an admitted call.
    pub fn record(&self, ok: bool) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        *state = match (*state, ok) {
            (_, true) => State::Closed { failures: 0 },
            (State::HalfOpen, false) | (State::Open { .. }, false) => self.open(),
            (State::Closed { failures }, false) => {
                let failures = failures + 1;
                if self.policy.threshold > 0 && failures >= self.policy.threshold {
                    self.open()
                } else {
                    State::Closed { failures }
                }
            }
        };
    }

    fn open(&self) -> State {
        State::Open {
            until: Instant::now() + self.policy.cooldown,
        }
    }

    /// Whether calls are being refused now (open and cooling down).
    pub fn is_open(&self) -> bool {
        matches!(*self.state.lock().unwrap_or_else(|p| p.into_inner()),
            State::Open { until } if Instant::now() < until)
    }
}
