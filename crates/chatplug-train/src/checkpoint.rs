//! Checkpoints: `OUT/checkpoint-STEP/` with the weights, the optimizer moments and where
//! training stands. A checkpoint is written in a temporary folder and renamed into place,
//! so a run killed at any moment leaves either the whole checkpoint or none.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::Cursor;
use crate::error::{Result, TrainError};

pub const MODEL_FILE: &str = "model.safetensors";
pub const OPTIMIZER_FILE: &str = "optimizer.safetensors";
pub const STATE_FILE: &str = "trainer_state.json";

/// Where training stands after `global_step` optimizer steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainerState {
    pub global_step: u64,
    /// Index of the curriculum stage being trained, and steps done within it.
    pub stage: usize,
    pub stage_step: u64,
    /// Each data source's position in the current stage.
    pub cursors: Vec<Cursor>,
    pub seed: u64,
    /// Examples per source of each stage: a resumed run must see the same data.
    pub data_fingerprint: Vec<Vec<usize>>,
    pub elapsed_s: f64,
}

pub fn checkpoint_dir(out: &Path, step: u64) -> PathBuf {
    out.join(format!("checkpoint-{step}"))
}

/// Writes a checkpoint through `write` (which fills the folder it is given), atomically.
pub fn write_atomically(out: &Path, step: u64, write: impl FnOnce(&Path) -> Result<()>) -> Result<PathBuf> {
    let final_dir = checkpoint_dir(out, step);
    let tmp = out.join(format!(".checkpoint-{step}.tmp"));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| TrainError::file(&tmp, format!("cannot remove: {e}")))?;
    }
    std::fs::create_dir_all(&tmp).map_err(|e| TrainError::file(&tmp, format!("cannot create: {e}")))?;
    write(&tmp)?;
    sync_dir(&tmp)?;
    if final_dir.exists() {
        std::fs::remove_dir_all(&final_dir).map_err(|e| TrainError::file(&final_dir, format!("cannot replace: {e}")))?;
    }
    std::fs::rename(&tmp, &final_dir).map_err(|e| TrainError::file(&final_dir, format!("cannot rename into place: {e}")))?;
    sync_dir(out)?;
    Ok(final_dir)
}

/// Flushes every file of a folder and the folder itself to disk.
fn sync_dir(dir: &Path) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| TrainError::file(dir, format!("cannot list: {e}")))?;
    for entry in entries.flatten() {
        if entry.path().is_file() {
            if let Ok(f) = std::fs::File::open(entry.path()) {
                let _ = f.sync_all();
            }
        }
    }
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Removes checkpoints a killed run was still writing (`.checkpoint-STEP.tmp`).
pub fn remove_unfinished(out: &Path) -> Result<()> {
    for entry in std::fs::read_dir(out).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with(".checkpoint-") && name.ends_with(".tmp") {
            std::fs::remove_dir_all(entry.path())
                .map_err(|e| TrainError::file(entry.path(), format!("cannot remove an unfinished checkpoint: {e}")))?;
        }
    }
    Ok(())
}

/// Checkpoint folders of a run, oldest first.
pub fn list(out: &Path) -> Vec<(u64, PathBuf)> {
    let mut found: Vec<(u64, PathBuf)> = std::fs::read_dir(out)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            let step = name.strip_prefix("checkpoint-")?.parse::<u64>().ok()?;
            e.path().join(STATE_FILE).is_file().then(|| (step, e.path()))
        })
        .collect();
    found.sort();
    found
}

/// Removes all but the newest `keep` checkpoints (0 keeps all).
pub fn prune(out: &Path, keep: usize) -> Result<()> {
    if keep == 0 {
        return Ok(());
    }
    let all = list(out);
    for (_, dir) in all.iter().take(all.len().saturating_sub(keep)) {
        std::fs::remove_dir_all(dir).map_err(|e| TrainError::file(dir, format!("cannot remove old checkpoint: {e}")))?;
    }
    Ok(())
}

/// `--resume DIR`: DIR is a checkpoint folder, or a run's output folder (its newest checkpoint).
pub fn resolve(dir: &Path) -> Result<PathBuf> {
    if dir.join(STATE_FILE).is_file() {
        return Ok(dir.to_path_buf());
    }
    list(dir)
        .pop()
        .map(|(_, p)| p)
        .ok_or_else(|| TrainError::file(dir, format!("no checkpoint to resume from (no {STATE_FILE} here, no checkpoint-STEP folder)")))
}

pub fn read_state(dir: &Path) -> Result<TrainerState> {
    let path = dir.join(STATE_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| TrainError::file(&path, format!("cannot read: {e}")))?;
    serde_json::from_str(&text).map_err(|e| TrainError::file(&path, format!("invalid trainer state: {e}")))
}

pub fn write_state(dir: &Path, state: &TrainerState) -> Result<()> {
    let path = dir.join(STATE_FILE);
    let text = serde_json::to_string_pretty(state).expect("trainer state serializes");
    std::fs::write(&path, text).map_err(|e| TrainError::file(&path, format!("cannot write: {e}")))
}
