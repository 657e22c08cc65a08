//! Prometheus metrics, kept in memory and written in the text exposition format:
//! requests by route and status, errors by type, request latency by route, pipeline
//! stage latency (from the turn's `timings_ms`), tokens read and generated, queue depth.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

/// Histogram bucket bounds in seconds.
const BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0];

#[derive(Default, Clone)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        if self.counts.is_empty() {
            self.counts = vec![0; BUCKETS.len()];
        }
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                self.counts[i] += 1;
            }
        }
        self.sum += seconds;
        self.count += 1;
    }

    fn write(&self, out: &mut String, name: &str, labels: &str) {
        for (i, bound) in BUCKETS.iter().enumerate() {
            let n = self.counts.get(i).copied().unwrap_or(0);
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {n}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", self.count);
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    errors: Mutex<BTreeMap<(String, String), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    stages: Mutex<BTreeMap<String, Histogram>>,
    prompt_tokens: AtomicU64,
    generated_tokens: AtomicU64,
    cancelled: AtomicU64,
    /// Requests waiting for a worker.
    pub queue_depth: AtomicUsize,
    /// Workers running a turn.
    pub busy_workers: AtomicUsize,
    pub queue_capacity: AtomicUsize,
    pub workers: AtomicUsize,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Escapes a label value.
fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

impl Metrics {
    pub fn request(&self, route: &str, status: u16, seconds: f64, error_kind: Option<&str>) {
        *lock(&self.requests).entry((route.to_string(), status)).or_default() += 1;
        lock(&self.latency).entry(route.to_string()).or_default().observe(seconds);
        if let Some(kind) = error_kind {
            *lock(&self.errors).entry((route.to_string(), kind.to_string())).or_default() += 1;
        }
    }

    /// Stage timings of one turn, in milliseconds by stage (`total` included).
    pub fn stages<'a>(&self, timings_ms: impl IntoIterator<Item = (&'a String, &'a f64)>) {
        let mut stages = lock(&self.stages);
        for (stage, ms) in timings_ms {
            stages.entry(stage.clone()).or_default().observe(ms / 1000.0);
        }
    }

    pub fn tokens(&self, prompt: usize, generated: usize) {
        self.prompt_tokens.fetch_add(prompt as u64, Ordering::Relaxed);
        self.generated_tokens.fetch_add(generated as u64, Ordering::Relaxed);
    }

    /// A turn stopped or dropped because its client went away or timed out.
    pub fn cancelled(&self) {
        self.cancelled.fetch_add(1, Ordering::Relaxed);
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP chatplug_requests_total HTTP requests by route and status.\n# TYPE chatplug_requests_total counter\n");
        for ((route, status), n) in lock(&self.requests).iter() {
            let _ = writeln!(out, "chatplug_requests_total{{route=\"{}\",status=\"{status}\"}} {n}", label(route));
        }
        out.push_str("# HELP chatplug_errors_total Error responses by route and error type.\n# TYPE chatplug_errors_total counter\n");
        for ((route, kind), n) in lock(&self.errors).iter() {
            let _ = writeln!(out, "chatplug_errors_total{{route=\"{}\",type=\"{}\"}} {n}", label(route), label(kind));
        }
        out.push_str("# HELP chatplug_request_duration_seconds Time to the response head (streams: to the first byte).\n# TYPE chatplug_request_duration_seconds histogram\n");
        for (route, h) in lock(&self.latency).iter() {
            h.write(&mut out, "chatplug_request_duration_seconds", &format!("route=\"{}\"", label(route)));
        }
        out.push_str("# HELP chatplug_stage_duration_seconds Pipeline stage time per turn (total: the whole turn).\n# TYPE chatplug_stage_duration_seconds histogram\n");
        for (stage, h) in lock(&self.stages).iter() {
            h.write(&mut out, "chatplug_stage_duration_seconds", &format!("stage=\"{}\"", label(stage)));
        }
        let gauges = [
            ("chatplug_prompt_tokens_total", "counter", "Tokens the model read.", self.prompt_tokens.load(Ordering::Relaxed)),
            ("chatplug_generated_tokens_total", "counter", "Tokens the model generated.", self.generated_tokens.load(Ordering::Relaxed)),
            ("chatplug_cancelled_total", "counter", "Turns stopped or dropped because the client went away or timed out.", self.cancelled.load(Ordering::Relaxed)),
            ("chatplug_queue_depth", "gauge", "Requests waiting for a model worker.", self.queue_depth.load(Ordering::Relaxed) as u64),
            ("chatplug_queue_capacity", "gauge", "Queue capacity.", self.queue_capacity.load(Ordering::Relaxed) as u64),
            ("chatplug_busy_workers", "gauge", "Model workers running a turn.", self.busy_workers.load(Ordering::Relaxed) as u64),
            ("chatplug_workers", "gauge", "Model workers.", self.workers.load(Ordering::Relaxed) as u64),
        ];
        for (name, kind, help, value) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
        }
        out
    }
}
