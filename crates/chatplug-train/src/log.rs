//! `OUT/train_log.jsonl`: one line per optimizer step and one per evaluation.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Result, TrainError};

pub const LOG_FILE: &str = "train_log.jsonl";

#[derive(Debug, Clone, Serialize)]
pub struct StepRecord {
    pub step: u64,
    pub loss: f64,
    pub lr: f64,
    pub grad_norm: f64,
    /// Label tokens the step trained on (all micro-batches).
    pub tokens: usize,
    /// Non-padding encoder tokens of the step.
    pub encoder_tokens: usize,
    pub elapsed_s: f64,
    /// Time split of the step (seconds).
    pub forward_s: f64,
    pub backward_s: f64,
    pub optimizer_s: f64,
    pub stage: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct EvalRecord {
    pub step: u64,
    pub valid_loss: f64,
    pub valid_ppl: f64,
    pub valid_tokens: usize,
}

pub struct TrainLog {
    path: PathBuf,
    file: std::fs::File,
}

impl TrainLog {
    /// Opens the log for a run that has done `done_steps` steps: lines of later steps (left by
    /// a run killed after its last checkpoint) and any torn last line are dropped.
    pub fn open(out: &Path, done_steps: u64) -> Result<Self> {
        let path = out.join(LOG_FILE);
        let kept: Vec<String> = match std::fs::read_to_string(&path) {
            Ok(text) => text
                .lines()
                .filter(|line| {
                    serde_json::from_str::<serde_json::Value>(line)
                        .ok()
                        .and_then(|v| v.get("step").and_then(|s| s.as_u64()))
                        .is_some_and(|step| step <= done_steps)
                })
                .map(str::to_string)
                .collect(),
            Err(_) => Vec::new(),
        };
        let mut body = kept.join("\n");
        if !body.is_empty() {
            body.push('\n');
        }
        std::fs::write(&path, body).map_err(|e| TrainError::file(&path, format!("cannot write: {e}")))?;
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|e| TrainError::file(&path, format!("cannot open: {e}")))?;
        Ok(TrainLog { path, file })
    }

    pub fn write<T: Serialize>(&mut self, record: &T) -> Result<()> {
        let mut line = serde_json::to_string(record).expect("log records serialize");
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .and_then(|_| self.file.flush())
            .map_err(|e| TrainError::file(&self.path, format!("cannot write: {e}")))
    }
}
