//! The training loop: stages of a curriculum in order, each a number of optimizer steps over
//! its data mixture, with gradient accumulation, clipping, AdamW, the schedule, evaluation,
//! checkpoints, and resuming exactly where a checkpoint stopped.

use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use chatplug_model::T5Config;

use crate::batch::{Example, FidBatch};
use crate::checkpoint::{self, TrainerState};
use crate::data::{rng_for, BatchSize, Mixture, Stream, PURPOSE_DROPOUT};
use crate::error::{Result, TrainError};
use crate::log::{EvalRecord, StepRecord, TrainLog};
use crate::model::FidT5Train;
use crate::ops::{scalar, Dropout};
use crate::optim::{clip_grad_norm, AdamW, AdamWConfig};
use crate::params::Parameters;
use crate::schedule::{Schedule, ScheduleKind};

/// The optimisation settings of one stage.
#[derive(Debug, Clone)]
pub struct StageSettings {
    pub batch_size: BatchSize,
    pub grad_accum: usize,
    pub steps: u64,
    pub lr: f64,
    pub schedule: ScheduleKind,
    pub warmup_steps: u64,
    pub div_factor: f64,
    pub adam: AdamWConfig,
    /// Global gradient-norm clipping; 0 or less disables it.
    pub clip_norm: f64,
    pub dropout: f64,
    pub shuffle: bool,
    pub eval_every: u64,
    pub save_every: u64,
}

/// One stage of a curriculum: its data (examples and mixture weights) and settings.
pub struct Stage {
    pub name: String,
    pub sources: Vec<(Vec<Example>, f64)>,
    pub settings: StageSettings,
}

/// Where the initial weights come from.
pub enum Start {
    /// HF's initialisation of `config`, seeded.
    Fresh { seed: u64 },
    /// The weights of a model directory.
    Model(PathBuf),
}

pub struct Job {
    pub config: T5Config,
    /// `config.json` text written to the output folder (and each checkpoint).
    pub config_json: String,
    pub start: Start,
    pub stages: Vec<Stage>,
    pub valid: Option<Vec<Example>>,
    pub out: PathBuf,
    /// Files copied into the output folder (tokenizer files).
    pub copy_files: Vec<PathBuf>,
    /// Written as `training_args.json`.
    pub args: serde_json::Value,
    pub seed: u64,
    pub keep_checkpoints: usize,
    /// Dtype of the saved final weights (checkpoints are always f32).
    pub save_dtype: DType,
}

/// What the caller shows while training runs (progress bar, log lines).
pub trait Observer {
    fn on_stage(&mut self, _index: usize, _stage: &Stage, _first_step: u64, _last_step: u64) {}
    fn on_step(&mut self, _record: &StepRecord, _total_steps: u64) {}
    fn on_eval(&mut self, _record: &EvalRecord) {}
    fn on_checkpoint(&mut self, _dir: &Path) {}
    /// Asked after every step (before its checkpoint): `true` ends the run there, as an
    /// interruption would, without saving the final weights.
    fn should_stop(&mut self) -> bool {
        false
    }
}

pub struct Quiet;
impl Observer for Quiet {}

pub struct Summary {
    pub steps: u64,
    pub last_loss: Option<f64>,
    pub out: PathBuf,
    pub parameters: usize,
    /// The observer ended the run early.
    pub stopped: bool,
}

pub fn run(job: Job, resume: Option<&Path>, device: &Device, observer: &mut dyn Observer) -> Result<Summary> {
    validate(&job)?;
    let fingerprint: Vec<Vec<usize>> =
        job.stages.iter().map(|s| s.sources.iter().map(|(e, _)| e.len()).collect()).collect();

    let (params, mut state, resume_dir) = match resume {
        Some(dir) => {
            let dir = checkpoint::resolve(dir)?;
            let state = checkpoint::read_state(&dir)?;
            if state.data_fingerprint != fingerprint {
                return Err(TrainError::file(
                    &dir,
                    format!(
                        "the checkpoint was trained on other data (examples per source {:?}, now {:?}); resume with the same data",
                        state.data_fingerprint, fingerprint
                    ),
                ));
            }
            // A checkpoint folder is a model directory (config.json + model.safetensors).
            let params = Parameters::load(&job.config, &dir, device)?;
            (params, state, Some(dir))
        }
        None => {
            if job.out.join(crate::log::LOG_FILE).exists() {
                return Err(TrainError::file(
                    &job.out,
                    "already holds a training run (train_log.jsonl); continue it with --resume or choose another --out",
                ));
            }
            let params = match &job.start {
                Start::Fresh { seed } => Parameters::init(&job.config, *seed, device)?,
                Start::Model(dir) => Parameters::load(&job.config, dir, device)?,
            };
            let state = TrainerState {
                global_step: 0,
                stage: 0,
                stage_step: 0,
                cursors: Vec::new(),
                seed: job.seed,
                data_fingerprint: fingerprint,
                elapsed_s: 0.0,
            };
            (params, state, None)
        }
    };
    std::fs::create_dir_all(&job.out).map_err(|e| TrainError::file(&job.out, format!("cannot create: {e}")))?;
    checkpoint::remove_unfinished(&job.out)?;
    write_model_files(&job)?;
    let mut log = TrainLog::open(&job.out, state.global_step)?;

    let total_steps: u64 = job.stages.iter().map(|s| s.settings.steps).sum();
    let started = Instant::now();
    let elapsed_before = state.elapsed_s;
    let mut last_loss = None;
    let pad = job.config.pad_token_id;
    let start_token = job.config.decoder_start_token_id;

    let first_stage = state.stage;
    for (index, stage) in job.stages.iter().enumerate().skip(first_stage) {
        let st = &stage.settings;
        let stage_offset: u64 = job.stages[..index].iter().map(|s| s.settings.steps).sum();
        observer.on_stage(index, stage, stage_offset + 1, stage_offset + st.steps);
        let streams = stage
            .sources
            .iter()
            .enumerate()
            .map(|(i, (examples, _))| Stream::new(examples, st.batch_size, st.shuffle, job.seed ^ ((index as u64) << 32) ^ i as u64))
            .collect();
        let weights = stage.sources.iter().map(|(_, w)| *w).collect();
        let mut mixture = Mixture::new(streams, weights, job.seed ^ ((index as u64) << 40));
        let mut optimizer = AdamW::new(&params, st.adam)?;
        let resuming_here = resume_dir.is_some() && index == first_stage && state.stage_step > 0;
        if resuming_here {
            mixture.set_cursors(&state.cursors);
            optimizer.restore(&params, &resume_dir.as_ref().unwrap().join(checkpoint::OPTIMIZER_FILE))?;
        } else {
            state.stage = index;
            state.stage_step = 0;
        }
        let schedule = Schedule {
            kind: st.schedule,
            lr: st.lr,
            warmup_steps: st.warmup_steps,
            total_steps: st.steps,
            div_factor: st.div_factor,
        };
        let model = FidT5Train::new(&job.config, &params, device);

        while state.stage_step < st.steps {
            let step_in_stage = state.stage_step + 1;
            let global = stage_offset + step_in_stage;
            let lr = schedule.lr_at(state.stage_step);
            let mut micro_batches = Vec::with_capacity(st.grad_accum);
            for micro in 0..st.grad_accum {
                let (source, indices) = mixture.next_batch(global, micro as u64);
                micro_batches.push(indices.iter().map(|&i| &stage.sources[source].0[i]).collect::<Vec<_>>());
            }
            let dropout = (st.dropout > 0.0).then_some((st.dropout, job.seed, global));
            let step_grads = accumulate_gradients(&model, &micro_batches, dropout, device)?;
            let StepGradients { loss, grads, label_tokens: tokens, encoder_tokens, forward_s: fwd_s, backward_s: bwd_s } = step_grads;
            let t2 = Instant::now();
            let mut grads = grads;
            let max_norm = if st.clip_norm > 0.0 { st.clip_norm } else { f64::INFINITY };
            let grad_norm = clip_grad_norm(&mut grads, max_norm)?;
            optimizer.step(params.vars(), &grads, lr)?;
            let opt_s = t2.elapsed().as_secs_f64();
            state.stage_step = step_in_stage;
            state.global_step = global;
            state.cursors = mixture.cursors();
            state.elapsed_s = elapsed_before + started.elapsed().as_secs_f64();

            last_loss = Some(loss);
            let record = StepRecord {
                step: global,
                loss,
                lr,
                grad_norm,
                tokens,
                encoder_tokens,
                elapsed_s: state.elapsed_s,
                forward_s: fwd_s,
                backward_s: bwd_s,
                optimizer_s: opt_s,
                stage: stage.name.clone(),
            };
            log.write(&record)?;
            observer.on_step(&record, total_steps);
            if observer.should_stop() {
                return Ok(Summary { steps: state.global_step, last_loss, out: job.out.clone(), parameters: params.count(), stopped: true });
            }
            if !loss.is_finite() {
                return Err(TrainError::Input(format!(
                    "the loss became {loss} at step {global}; lower the learning rate or enable clipping"
                )));
            }

            let stage_done = step_in_stage == st.steps;
            if let Some(valid) = &job.valid {
                if (st.eval_every > 0 && global % st.eval_every == 0) || stage_done {
                    let record = evaluate(&model, valid, st.batch_size, pad, start_token, global, device)?;
                    log.write(&record)?;
                    observer.on_eval(&record);
                }
            }
            if (st.save_every > 0 && global % st.save_every == 0) || stage_done {
                let dir = save_checkpoint(&job, &params, &optimizer, &state)?;
                observer.on_checkpoint(&dir);
            }
        }
    }

    params.save(&job.out.join(checkpoint::MODEL_FILE), job.save_dtype)?;
    Ok(Summary { steps: state.global_step, last_loss, out: job.out.clone(), parameters: params.count(), stopped: false })
}

fn validate(job: &Job) -> Result<()> {
    if job.stages.is_empty() {
        return Err(TrainError::Input("nothing to train: no stage".into()));
    }
    for stage in &job.stages {
        let st = &stage.settings;
        let bad = |option: &str, m: &str| Err(TrainError::option(option, format!("stage `{}`: {m}", stage.name)));
        if stage.sources.is_empty() || stage.sources.iter().all(|(e, _)| e.is_empty()) {
            return bad("train", "no training examples");
        }
        if stage.sources.iter().any(|(_, w)| !(*w > 0.0) || !w.is_finite()) {
            return bad("weight", "every data weight must be a positive number");
        }
        if st.steps == 0 {
            return bad("steps", "must be at least 1");
        }
        if st.grad_accum == 0 {
            return bad("grad_accum", "must be at least 1");
        }
        if matches!(st.batch_size, BatchSize::Examples(0) | BatchSize::Tokens(0)) {
            return bad("batch_size", "must be at least 1");
        }
        if !(st.lr > 0.0) || !st.lr.is_finite() {
            return bad("lr", "must be a positive number");
        }
        if !(0.0..1.0).contains(&st.dropout) {
            return bad("dropout", "must be in [0, 1)");
        }
        if !(0.0..1.0).contains(&st.adam.beta1) || !(0.0..1.0).contains(&st.adam.beta2) {
            return bad("adam_beta1", "betas must be in [0, 1)");
        }
        if !(st.adam.eps >= 0.0) || !(st.adam.weight_decay >= 0.0) {
            return bad("adam_eps", "eps and weight decay must not be negative");
        }
        if st.schedule == ScheduleKind::OneCycle && !(st.div_factor > 1.0) {
            return bad("div_factor", "must be greater than 1");
        }
        for (examples, _) in &stage.sources {
            for (i, e) in examples.iter().enumerate() {
                crate::examples::validate(e, job.config.vocab_size)
                    .map_err(|m| TrainError::Input(format!("stage `{}`, example {}: {m}", stage.name, i + 1)))?;
            }
        }
    }
    Ok(())
}

/// The gradients of one optimizer step.
pub struct StepGradients {
    /// Mean of the micro-batch losses.
    pub loss: f64,
    /// One gradient per parameter (`Parameters::vars` order), summed over micro-batches of
    /// `loss_i / k`: the gradient of the mean loss.
    pub grads: Vec<Tensor>,
    pub label_tokens: usize,
    pub encoder_tokens: usize,
    pub forward_s: f64,
    pub backward_s: f64,
}

/// Forward and backward over the micro-batches of one step (XDPX: the step's loss is the
/// mean of the micro-batch losses). `dropout` = (p, seed, global step) during training.
pub fn accumulate_gradients(
    model: &FidT5Train,
    micro_batches: &[Vec<&Example>],
    dropout: Option<(f64, u64, u64)>,
    device: &Device,
) -> Result<StepGradients> {
    let k = micro_batches.len();
    let params = model.params;
    let mut sums: Vec<Option<Tensor>> = vec![None; params.vars().len()];
    let mut out = StepGradients { loss: 0.0, grads: Vec::new(), label_tokens: 0, encoder_tokens: 0, forward_s: 0.0, backward_s: 0.0 };
    for (micro, examples) in micro_batches.iter().enumerate() {
        let t0 = Instant::now();
        let batch = FidBatch::new(examples, model.config.pad_token_id, model.config.decoder_start_token_id, device)?;
        let forward = match dropout {
            Some((p, seed, step)) => {
                let mut rng = rng_for(seed, PURPOSE_DROPOUT, step, micro as u64);
                model.forward(&batch, Some(Dropout { p, rng: &mut rng }))?
            }
            None => model.forward::<rand::rngs::StdRng>(&batch, None)?,
        };
        out.loss += scalar(&forward.loss)? / k as f64;
        let t1 = Instant::now();
        let grads = (forward.loss / k as f64)?.backward()?;
        for (slot, var) in sums.iter_mut().zip(params.vars()) {
            if let Some(g) = grads.get(var.as_tensor()) {
                *slot = Some(match slot.take() {
                    Some(acc) => (acc + g)?,
                    None => g.clone(),
                });
            }
        }
        out.forward_s += (t1 - t0).as_secs_f64();
        out.backward_s += t1.elapsed().as_secs_f64();
        out.label_tokens += batch.label_tokens;
        out.encoder_tokens += batch.encoder_tokens;
    }
    // A parameter the loss does not reach gets a zero gradient (AdamW still decays it).
    out.grads = sums
        .into_iter()
        .zip(params.vars())
        .map(|(g, v)| g.map_or_else(|| v.as_tensor().zeros_like(), Ok))
        .collect::<candle_core::Result<_>>()?;
    Ok(out)
}

/// Token-weighted mean loss over a data set, without dropout.
pub fn evaluate(
    model: &FidT5Train,
    examples: &[Example],
    size: BatchSize,
    pad: u32,
    start: u32,
    step: u64,
    device: &Device,
) -> Result<EvalRecord> {
    let (mut total, mut tokens) = (0.0, 0usize);
    for indices in crate::data::plan_epoch(examples, size, false, 0, 0) {
        let batch_examples: Vec<&Example> = indices.iter().map(|&i| &examples[i]).collect();
        let batch = FidBatch::new(&batch_examples, pad, start, device)?;
        let out = model.forward::<rand::rngs::StdRng>(&batch, None)?;
        total += scalar(&out.loss.detach())? * batch.label_tokens as f64;
        tokens += batch.label_tokens;
    }
    let valid_loss = total / tokens.max(1) as f64;
    Ok(EvalRecord { step, valid_loss, valid_ppl: valid_loss.exp(), valid_tokens: tokens })
}

fn write_model_files(job: &Job) -> Result<()> {
    let write = |name: &str, text: &str| {
        let path = job.out.join(name);
        std::fs::write(&path, text).map_err(|e| TrainError::file(&path, format!("cannot write: {e}")))
    };
    write("config.json", &job.config_json)?;
    write("training_args.json", &serde_json::to_string_pretty(&job.args).expect("json"))?;
    for file in &job.copy_files {
        let name = file.file_name().ok_or_else(|| TrainError::file(file, "not a file"))?;
        let target = job.out.join(name);
        if target != *file {
            std::fs::copy(file, &target).map_err(|e| TrainError::file(file, format!("cannot copy into the output: {e}")))?;
        }
    }
    Ok(())
}

fn save_checkpoint(job: &Job, params: &Parameters, optimizer: &AdamW, state: &TrainerState) -> Result<PathBuf> {
    let dir = checkpoint::write_atomically(&job.out, state.global_step, |dir| {
        params.save(&dir.join(checkpoint::MODEL_FILE), DType::F32)?;
        optimizer.save(params, &dir.join(checkpoint::OPTIMIZER_FILE))?;
        let config = dir.join("config.json");
        std::fs::write(&config, &job.config_json).map_err(|e| TrainError::file(&config, format!("cannot write: {e}")))?;
        checkpoint::write_state(dir, state)
    })?;
    checkpoint::prune(&job.out, job.keep_checkpoints)?;
    Ok(dir)
}
