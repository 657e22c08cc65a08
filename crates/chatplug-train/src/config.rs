//! The `[train]` TOML table (and its `[[train.stage]]` curriculum) with the defaults of the
//! reference recipe. Command-line flags fill the same struct and win over the file.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::BatchSize;
use crate::error::{Result, TrainError};
use crate::optim::AdamWConfig;
use crate::trainer::StageSettings;

/// Every option of `chatplug train`; `None` = not given here.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainOptions {
    pub model: Option<PathBuf>,
    pub init_config: Option<PathBuf>,
    pub tokenizer: Option<PathBuf>,
    pub train: Option<Vec<PathBuf>>,
    pub format: Option<String>,
    pub objective: Option<String>,
    pub valid: Option<PathBuf>,
    pub valid_format: Option<String>,
    pub out: Option<PathBuf>,
    pub steps: Option<u64>,
    pub epochs: Option<f64>,
    pub batch_size: Option<usize>,
    pub max_tokens: Option<usize>,
    pub grad_accum: Option<usize>,
    pub lr: Option<f64>,
    pub schedule: Option<String>,
    pub warmup_steps: Option<u64>,
    pub div_factor: Option<f64>,
    pub weight_decay: Option<f64>,
    pub adam_beta1: Option<f64>,
    pub adam_beta2: Option<f64>,
    pub adam_eps: Option<f64>,
    /// Learning rate of the relative position bias tables over the others' (default 1).
    pub position_bias_lr_scale: Option<f64>,
    pub clip_norm: Option<f64>,
    pub dropout: Option<f64>,
    pub seed: Option<u64>,
    pub shuffle: Option<bool>,
    pub eval_every: Option<u64>,
    pub save_every: Option<u64>,
    pub keep_checkpoints: Option<usize>,
    pub threads: Option<usize>,
    pub max_encoder_length: Option<usize>,
    pub max_decoder_length: Option<usize>,
    pub max_passages: Option<usize>,
    /// Dialogue pipeline configuration whose stages build the passages of text formats
    /// (default: the built-in defaults, which `config/chatplug.toml` documents).
    pub dialogue_config: Option<PathBuf>,
    /// Template set for dialogue/instruction passages: `inference` or `training`.
    pub templates: Option<String>,
    /// Span corruption: share of tokens masked (0.15) and mean span length (3).
    pub noise_density: Option<f64>,
    pub mean_span_length: Option<f64>,
    /// `f32`, `f16` or `bf16`: the saved final weights.
    pub save_dtype: Option<String>,
    /// Curriculum stages, run in order; each inherits every option above it doesn't set.
    #[serde(default)]
    pub stage: Vec<StageOptions>,
}

/// One `[[train.stage]]`: a name, its data mixture, and any option overridden for it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageOptions {
    pub name: Option<String>,
    #[serde(default)]
    pub data: Vec<DataSource>,
    pub steps: Option<u64>,
    pub epochs: Option<f64>,
    pub batch_size: Option<usize>,
    pub max_tokens: Option<usize>,
    pub grad_accum: Option<usize>,
    pub lr: Option<f64>,
    pub schedule: Option<String>,
    pub warmup_steps: Option<u64>,
    pub div_factor: Option<f64>,
    pub weight_decay: Option<f64>,
    pub adam_beta1: Option<f64>,
    pub adam_beta2: Option<f64>,
    pub adam_eps: Option<f64>,
    /// Learning rate of the relative position bias tables over the others' (default 1).
    pub position_bias_lr_scale: Option<f64>,
    pub clip_norm: Option<f64>,
    pub dropout: Option<f64>,
    pub shuffle: Option<bool>,
    pub eval_every: Option<u64>,
    pub save_every: Option<u64>,
}

/// One data file of a stage's mixture.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSource {
    pub file: PathBuf,
    /// `tokenized` (default), `dialogue`, `xdpx`, `instruction`, `documents`.
    pub format: Option<String>,
    /// For `documents`: `span-corruption` or `prefix-lm`; else the format's own objective.
    pub objective: Option<String>,
    #[serde(default = "one")]
    pub weight: f64,
}

fn one() -> f64 {
    1.0
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRoot {
    train: TrainOptions,
}

impl TrainOptions {
    /// Reads a TOML file holding a `[train]` table. Relative paths inside are relative to
    /// the file's folder. Unknown keys are errors naming them.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| TrainError::file(path, format!("cannot read: {e}")))?;
        let root: FileRoot =
            toml::from_str(&text).map_err(|e| TrainError::file(path, format!("invalid training config: {e}")))?;
        let mut options = root.train;
        let base = path.parent().unwrap_or(Path::new("."));
        let rebase = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        for p in [
            &mut options.model,
            &mut options.init_config,
            &mut options.tokenizer,
            &mut options.valid,
            &mut options.out,
            &mut options.dialogue_config,
        ]
            .into_iter()
            .flatten()
        {
            rebase(p);
        }
        for p in options.train.iter_mut().flatten() {
            rebase(p);
        }
        for stage in &mut options.stage {
            for d in &mut stage.data {
                rebase(&mut d.file);
            }
        }
        Ok(options)
    }

    /// `self` with every option `over` gives replaced (flags over the file).
    pub fn overlay(self, over: TrainOptions) -> TrainOptions {
        macro_rules! pick {
            ($($f:ident),*) => { TrainOptions { $($f: over.$f.or(self.$f),)* stage: if over.stage.is_empty() { self.stage } else { over.stage } } };
        }
        pick!(model, init_config, tokenizer, train, format, objective, valid, valid_format, out, steps, epochs,
            batch_size, max_tokens, grad_accum, lr, schedule, warmup_steps, div_factor, weight_decay, adam_beta1,
            adam_beta2, adam_eps, position_bias_lr_scale, clip_norm, dropout, seed, shuffle, eval_every, save_every, keep_checkpoints,
            threads, max_encoder_length, max_decoder_length, max_passages, dialogue_config, templates, noise_density,
            mean_span_length, save_dtype)
    }

    /// The stages to run: the `[[train.stage]]` tables, or one stage made of `train` files.
    pub fn stages(&self) -> Result<Vec<StageOptions>> {
        if !self.stage.is_empty() {
            if self.train.is_some() {
                return Err(TrainError::option("train", "give either `train` files or `[[train.stage]]` tables, not both"));
            }
            return Ok(self.stage.clone());
        }
        let files = self.train.clone().unwrap_or_default();
        if files.is_empty() {
            return Err(TrainError::option("train", "no training data: give --train FILE or [[train.stage]] tables"));
        }
        Ok(vec![StageOptions {
            name: Some("train".into()),
            data: files
                .into_iter()
                .map(|file| DataSource { file, format: self.format.clone(), objective: self.objective.clone(), weight: 1.0 })
                .collect(),
            ..StageOptions::default()
        }])
    }

    /// A stage's settings: the stage's own values, else the top-level ones, else the
    /// defaults (the reference's SFT recipe where it has one). `steps` comes from `steps`
    /// or `epochs` with `batches_per_epoch` (of the stage's largest source).
    pub fn stage_settings(
        &self,
        stage: &StageOptions,
        config_dropout: f64,
        batches_per_epoch: impl FnOnce(BatchSize) -> usize,
    ) -> Result<StageSettings> {
        let name = stage.name.clone().unwrap_or_default();
        let batch_size = match (stage.max_tokens.or(self.max_tokens), stage.batch_size.or(self.batch_size)) {
            (Some(t), _) => BatchSize::Tokens(t),
            (None, b) => BatchSize::Examples(b.unwrap_or(8)),
        };
        let grad_accum = stage.grad_accum.or(self.grad_accum).unwrap_or(1);
        let steps = match (stage.steps, stage.epochs, self.steps, self.epochs) {
            (Some(s), _, _, _) => s,
            (None, Some(e), _, _) => epochs_to_steps(e, batches_per_epoch(batch_size), grad_accum),
            (None, None, Some(s), _) => s,
            (None, None, None, Some(e)) => epochs_to_steps(e, batches_per_epoch(batch_size), grad_accum),
            (None, None, None, None) => {
                return Err(TrainError::option("steps", format!("stage `{name}`: give `steps` or `epochs`")))
            }
        };
        let schedule = stage.schedule.clone().or(self.schedule.clone()).unwrap_or_else(|| "one-cycle".into()).parse()?;
        let position_bias_lr_scale = stage.position_bias_lr_scale.or(self.position_bias_lr_scale).unwrap_or(1.0);
        if !(position_bias_lr_scale.is_finite() && position_bias_lr_scale > 0.0) {
            return Err(TrainError::option(
                "position_bias_lr_scale",
                format!("stage `{name}`: {position_bias_lr_scale} is not a positive number"),
            ));
        }
        Ok(StageSettings {
            batch_size,
            grad_accum,
            steps,
            lr: stage.lr.or(self.lr).unwrap_or(1e-4),
            schedule,
            warmup_steps: stage.warmup_steps.or(self.warmup_steps).unwrap_or(0),
            div_factor: stage.div_factor.or(self.div_factor).unwrap_or(600.0),
            adam: AdamWConfig {
                beta1: stage.adam_beta1.or(self.adam_beta1).unwrap_or(0.9),
                beta2: stage.adam_beta2.or(self.adam_beta2).unwrap_or(0.999),
                eps: stage.adam_eps.or(self.adam_eps).unwrap_or(1e-6),
                weight_decay: stage.weight_decay.or(self.weight_decay).unwrap_or(0.01),
                position_bias_lr_scale,
            },
            clip_norm: stage.clip_norm.or(self.clip_norm).unwrap_or(5.0),
            dropout: stage.dropout.or(self.dropout).unwrap_or(config_dropout),
            shuffle: stage.shuffle.or(self.shuffle).unwrap_or(true),
            eval_every: stage.eval_every.or(self.eval_every).unwrap_or(0),
            save_every: stage.save_every.or(self.save_every).unwrap_or(500),
        })
    }
}

fn epochs_to_steps(epochs: f64, batches_per_epoch: usize, grad_accum: usize) -> u64 {
    ((epochs * batches_per_epoch as f64) / grad_accum as f64).ceil().max(1.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("train.toml");
        std::fs::write(&path, "[train]\nsteps = 3\nlearning_rate = 1.0\n").unwrap();
        let err = TrainOptions::from_file(&path).unwrap_err().to_string();
        assert!(err.contains("learning_rate"), "{err}");
    }

    #[test]
    fn stages_inherit_and_override() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("train.toml");
        std::fs::write(
            &path,
            "[train]\nlr = 0.01\nsteps = 5\n[[train.stage]]\nname = \"a\"\ndata = [{file = \"d.jsonl\", weight = 2.0}]\n\
             [[train.stage]]\nname = \"b\"\nlr = 0.5\nsteps = 2\ndata = [{file = \"e.jsonl\"}]\n",
        )
        .unwrap();
        let options = TrainOptions::from_file(&path).unwrap();
        let stages = options.stages().unwrap();
        assert_eq!(stages.len(), 2);
        assert_eq!(stages[0].data[0].file, dir.path().join("d.jsonl"));
        let a = options.stage_settings(&stages[0], 0.1, |_| 1).unwrap();
        let b = options.stage_settings(&stages[1], 0.1, |_| 1).unwrap();
        assert_eq!((a.lr, a.steps, a.dropout), (0.01, 5, 0.1));
        assert_eq!((b.lr, b.steps), (0.5, 2));
    }

    #[test]
    fn flags_win_over_the_file() {
        let file = TrainOptions { lr: Some(1.0), steps: Some(3), ..Default::default() };
        let flags = TrainOptions { lr: Some(2.0), ..Default::default() };
        let merged = file.overlay(flags);
        assert_eq!((merged.lr, merged.steps), (Some(2.0), Some(3)));
    }

    #[test]
    fn epochs_become_steps() {
        let options = TrainOptions { epochs: Some(2.0), grad_accum: Some(2), train: Some(vec!["x".into()]), ..Default::default() };
        let stage = &options.stages().unwrap()[0];
        assert_eq!(options.stage_settings(stage, 0.0, |_| 5).unwrap().steps, 5);
    }
}
