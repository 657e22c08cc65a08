//! `chatplug train`: fine-tunes a model directory or trains a fresh model, from a `[train]`
//! TOML table and/or flags (flags win), and writes a model directory the engine loads.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use candle_core::{DType, Device};
use chatplug_model::T5Config;
use chatplug_train::config::{DataSource, TrainOptions};
use chatplug_train::log::{EvalRecord, StepRecord};
use chatplug_train::{Example, Job, Observer, Stage, Start};
use clap::Parser;

#[derive(Parser)]
pub struct Args {
    /// TOML file with a `[train]` table (and optional `[[train.stage]]` curriculum).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Continue a run from a checkpoint folder, or from a run's output folder (its newest
    /// checkpoint). The run's own options are read from its `training_args.json`.
    #[arg(long)]
    resume: Option<PathBuf>,
    /// Model directory to start from (config.json, weights, tokenizer).
    #[arg(long)]
    model: Option<PathBuf>,
    /// HF `config.json` of a fresh model (with --tokenizer).
    #[arg(long)]
    init_config: Option<PathBuf>,
    /// Tokenizer directory (default: the model directory's).
    #[arg(long)]
    tokenizer: Option<PathBuf>,
    /// Training data files (repeatable).
    #[arg(long)]
    train: Vec<PathBuf>,
    /// Format of the --train files: tokenized (default), dialogue, xdpx, instruction, documents.
    #[arg(long)]
    format: Option<String>,
    /// Objective for `documents`: span-corruption or prefix-lm.
    #[arg(long)]
    objective: Option<String>,
    #[arg(long)]
    valid: Option<PathBuf>,
    #[arg(long)]
    valid_format: Option<String>,
    /// Output model directory.
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long)]
    steps: Option<u64>,
    #[arg(long)]
    epochs: Option<f64>,
    /// Examples per micro-batch.
    #[arg(long)]
    batch_size: Option<usize>,
    /// Padded tokens per micro-batch (length-bucketed batches; instead of --batch-size).
    #[arg(long)]
    max_tokens: Option<usize>,
    #[arg(long)]
    grad_accum: Option<usize>,
    #[arg(long)]
    lr: Option<f64>,
    /// one-cycle (default, the reference's), linear, constant.
    #[arg(long)]
    schedule: Option<String>,
    #[arg(long)]
    warmup_steps: Option<u64>,
    #[arg(long)]
    div_factor: Option<f64>,
    #[arg(long)]
    weight_decay: Option<f64>,
    #[arg(long)]
    adam_beta1: Option<f64>,
    #[arg(long)]
    adam_beta2: Option<f64>,
    #[arg(long)]
    adam_eps: Option<f64>,
    /// Learning rate of T5's relative position bias tables as a multiple of the others'
    /// (default 1: the reference's single rate).
    #[arg(long)]
    position_bias_lr_scale: Option<f64>,
    #[arg(long)]
    clip_norm: Option<f64>,
    /// Dropout probability (default: config.json's dropout_rate; 0 disables).
    #[arg(long)]
    dropout: Option<f64>,
    #[arg(long)]
    seed: Option<u64>,
    /// false keeps file order: batches are consecutive lines.
    #[arg(long)]
    shuffle: Option<bool>,
    #[arg(long)]
    eval_every: Option<u64>,
    #[arg(long)]
    save_every: Option<u64>,
    #[arg(long)]
    keep_checkpoints: Option<usize>,
    #[arg(long)]
    threads: Option<usize>,
    #[arg(long)]
    max_encoder_length: Option<usize>,
    #[arg(long)]
    max_decoder_length: Option<usize>,
    #[arg(long)]
    max_passages: Option<usize>,
    /// Dialogue pipeline config whose stages build passages of text formats.
    #[arg(long)]
    dialogue_config: Option<PathBuf>,
    /// Template set for dialogue/instruction passages: inference or training.
    #[arg(long)]
    templates: Option<String>,
    #[arg(long)]
    noise_density: Option<f64>,
    #[arg(long)]
    mean_span_length: Option<f64>,
    /// Dtype of the saved final weights: f32 (default), f16, bf16.
    #[arg(long)]
    save_dtype: Option<String>,
}

impl Args {
    fn flags(&self) -> TrainOptions {
        TrainOptions {
            model: self.model.clone(),
            init_config: self.init_config.clone(),
            tokenizer: self.tokenizer.clone(),
            train: (!self.train.is_empty()).then(|| self.train.clone()),
            format: self.format.clone(),
            objective: self.objective.clone(),
            valid: self.valid.clone(),
            valid_format: self.valid_format.clone(),
            out: self.out.clone(),
            steps: self.steps,
            epochs: self.epochs,
            batch_size: self.batch_size,
            max_tokens: self.max_tokens,
            grad_accum: self.grad_accum,
            lr: self.lr,
            schedule: self.schedule.clone(),
            warmup_steps: self.warmup_steps,
            div_factor: self.div_factor,
            weight_decay: self.weight_decay,
            adam_beta1: self.adam_beta1,
            adam_beta2: self.adam_beta2,
            adam_eps: self.adam_eps,
            position_bias_lr_scale: self.position_bias_lr_scale,
            clip_norm: self.clip_norm,
            dropout: self.dropout,
            seed: self.seed,
            shuffle: self.shuffle,
            eval_every: self.eval_every,
            save_every: self.save_every,
            keep_checkpoints: self.keep_checkpoints,
            threads: self.threads,
            max_encoder_length: self.max_encoder_length,
            max_decoder_length: self.max_decoder_length,
            max_passages: self.max_passages,
            dialogue_config: self.dialogue_config.clone(),
            templates: self.templates.clone(),
            noise_density: self.noise_density,
            mean_span_length: self.mean_span_length,
            save_dtype: self.save_dtype.clone(),
            stage: Vec::new(),
        }
    }
}

pub fn run(args: Args) -> Result<()> {
    let mut options = match &args.config {
        Some(path) => TrainOptions::from_file(path)?,
        None => TrainOptions::default(),
    };
    let resume = match &args.resume {
        Some(dir) => {
            let checkpoint = chatplug_train::checkpoint::resolve(dir)?;
            let out = checkpoint.parent().map(Path::to_path_buf).unwrap_or_default();
            let saved = out.join("training_args.json");
            let text = std::fs::read_to_string(&saved).with_context(|| format!("cannot read {}", saved.display()))?;
            let previous: TrainOptions =
                serde_json::from_str(&text).with_context(|| format!("{}: not a training_args.json", saved.display()))?;
            options = previous.overlay(options);
            if options.out.is_none() {
                options.out = Some(out);
            }
            Some(checkpoint)
        }
        None => None,
    };
    let options = options.overlay(args.flags());

    // candle's CPU kernels size their thread pools from this, on first use.
    if let Some(threads) = options.threads {
        if threads == 0 {
            bail!("option `threads`: must be at least 1");
        }
        std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
    }
    let device = training_device()?;
    let job = build_job(&options)?;
    let out = job.out.clone();
    let total: u64 = job.stages.iter().map(|s| s.settings.steps).sum();
    let params_hint = job.config.parameters().iter().map(|p| p.elem_count()).sum::<usize>();
    eprintln!(
        "training {} parameters for {total} steps in {} stage(s) into {}",
        params_hint,
        job.stages.len(),
        out.display()
    );
    let mut progress = Progress::new(total);
    let summary = chatplug_train::run(job, resume.as_deref(), &device, &mut progress)?;
    progress.finish();
    println!(
        "{}",
        serde_json::json!({
            "out": summary.out,
            "steps": summary.steps,
            "last_loss": summary.last_loss,
            "parameters": summary.parameters,
        })
    );
    Ok(())
}

/// GPU 0 when built with the `cuda` feature, else the CPU.
fn training_device() -> Result<Device> {
    if cfg!(feature = "cuda") {
        return Device::new_cuda(0).context("cannot open CUDA device 0");
    }
    Ok(Device::Cpu)
}

fn build_job(options: &TrainOptions) -> Result<Job> {
    let out = options.out.clone().context("option `out`: give the output folder (--out DIR)")?;
    let (config_path, start) = match (&options.model, &options.init_config) {
        (Some(_), Some(_)) => bail!("give either --model (fine-tune) or --init-config (fresh model), not both"),
        (Some(dir), None) => (dir.join("config.json"), Start::Model(dir.clone())),
        (None, Some(path)) => (path.clone(), Start::Fresh { seed: options.seed.unwrap_or(42) }),
        (None, None) => bail!("give --model DIR to fine-tune or --init-config config.json to train a fresh model"),
    };
    let config_json =
        std::fs::read_to_string(&config_path).with_context(|| format!("cannot read {}", config_path.display()))?;
    let config = T5Config::from_json_str(&config_json, &config_path)?;

    let tokenizer_dir = options.tokenizer.clone().or_else(|| options.model.clone());
    let tokenizer = match &tokenizer_dir {
        Some(dir) => crate::io::load_tokenizer(dir)?,
        None => None,
    };
    if let Some(tok) = &tokenizer {
        if tok.len() > config.vocab_size {
            bail!(
                "{}: vocab_size {} is smaller than the tokenizer's {} tokens ({}): ids would fall outside the embedding",
                config_path.display(),
                config.vocab_size,
                tok.len(),
                tokenizer_dir.as_ref().unwrap().display()
            );
        }
    } else if options.init_config.is_some() {
        bail!("a fresh model needs --tokenizer DIR (its files are copied into the output model)");
    }

    let mut loader = DataLoader::new(options, config.vocab_size, tokenizer.as_ref());
    let mut stages = Vec::new();
    for stage in options.stages()? {
        let name = stage.name.clone().unwrap_or_else(|| format!("stage{}", stages.len() + 1));
        if stage.data.is_empty() {
            bail!("stage `{name}`: no data (give `data = [{{file = ..., weight = ...}}]`)");
        }
        let mut sources = Vec::new();
        for source in &stage.data {
            let examples = loader.load(source).with_context(|| format!("stage `{name}`"))?;
            sources.push((examples, source.weight));
        }
        let settings = {
            let largest = sources.iter().map(|(e, _)| e).max_by_key(|e| e.len()).expect("a stage has data");
            options.stage_settings(&stage, config.dropout_rate, |size| {
                chatplug_train::data::plan_epoch(largest, size, false, 0, 0).len()
            })?
        };
        stages.push(Stage { name, sources, settings });
    }
    let valid = match &options.valid {
        Some(file) => {
            let source = DataSource { file: file.clone(), format: options.valid_format.clone().or(options.format.clone()), objective: options.objective.clone(), weight: 1.0 };
            Some(loader.load(&source).context("validation data")?)
        }
        None => None,
    };
    let save_dtype = match options.save_dtype.as_deref().unwrap_or("f32") {
        "f32" => DType::F32,
        "f16" => DType::F16,
        "bf16" => DType::BF16,
        other => bail!("option `save_dtype`: `{other}` is not one of f32, f16, bf16"),
    };
    let copy_files = tokenizer_dir
        .map(|dir| {
            ["spiece.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json"]
                .iter()
                .map(|f| dir.join(f))
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    Ok(Job {
        config,
        config_json,
        start,
        stages,
        valid,
        out,
        copy_files,
        args: serde_json::to_value(options).expect("options serialize"),
        seed: options.seed.unwrap_or(42),
        keep_checkpoints: options.keep_checkpoints.unwrap_or(3),
        save_dtype,
    })
}

/// Turns data files into examples: tokenized files directly, text formats through
/// `chatplug-data` (the dialogue pipeline's passage stages and the model's tokenizer).
struct DataLoader<'a> {
    options: &'a TrainOptions,
    vocab_size: usize,
    tokenizer: Option<&'a chatplug_tokenizer::Tokenizer>,
    pipeline: Option<chatplug_dialogue::ChatPipeline>,
}

impl<'a> DataLoader<'a> {
    fn new(options: &'a TrainOptions, vocab_size: usize, tokenizer: Option<&'a chatplug_tokenizer::Tokenizer>) -> Self {
        DataLoader { options, vocab_size, tokenizer, pipeline: None }
    }

    fn data_options(&self, objective: Option<&str>) -> Result<chatplug_data::DataOptions> {
        let o = self.options;
        let defaults = chatplug_data::DataOptions::default();
        let templates = match o.templates.as_deref() {
            None => None,
            Some("inference") => Some(chatplug_dialogue::TemplatePreset::Inference),
            Some("training") => Some(chatplug_dialogue::TemplatePreset::Training),
            Some(other) => bail!("option `templates`: `{other}` is not one of inference, training"),
        };
        Ok(chatplug_data::DataOptions {
            max_encoder_length: o.max_encoder_length.unwrap_or(defaults.max_encoder_length),
            max_decoder_length: o.max_decoder_length.unwrap_or(defaults.max_decoder_length),
            max_passages: o.max_passages.unwrap_or(defaults.max_passages),
            templates,
            objective: objective.map(|s| s.parse().map_err(|e: String| anyhow::anyhow!("option `objective`: {e}"))).transpose()?,
            noise_density: o.noise_density.unwrap_or(defaults.noise_density),
            mean_span_length: o.mean_span_length.unwrap_or(defaults.mean_span_length),
            seed: o.seed.unwrap_or(42),
        })
    }

    /// The examples of one data file, in its format.
    fn load(&mut self, source: &DataSource) -> Result<Vec<Example>> {
        let format: chatplug_data::InputFormat = source
            .format
            .as_deref()
            .unwrap_or("tokenized")
            .parse()
            .map_err(|e: String| anyhow::anyhow!("{}: {e}", source.file.display()))?;
        if format == chatplug_data::InputFormat::Tokenized {
            if source.objective.is_some() {
                bail!("{}: an objective does not apply to tokenized files", source.file.display());
            }
            return Ok(chatplug_train::examples::read_tokenized(&source.file, self.vocab_size)?);
        }
        let tokenizer = self
            .tokenizer
            .with_context(|| format!("{}: {format} files are tokenized on the fly and need a tokenizer (--tokenizer DIR or a model directory with one)", source.file.display()))?;
        if self.pipeline.is_none() {
            self.pipeline = Some(crate::prompt::load_pipeline(self.options.dialogue_config.as_deref())?);
        }
        let data_options = self.data_options(source.objective.as_deref())?;
        let (examples, _stats) =
            chatplug_data::prepare_file(&source.file, format, &data_options, self.pipeline.as_ref().unwrap(), tokenizer)?;
        eprintln!(
            "{}: {} examples ({format}{})",
            source.file.display(),
            examples.len(),
            source.objective.as_deref().map(|o| format!(", {o}")).unwrap_or_default()
        );
        // Ids come from the tokenizer, already checked to fit `vocab_size`; `chatplug_train::run`
        // validates every example once more before the first step.
        Ok(examples.into_iter().map(|e| Example { input_ids: e.input_ids, labels: e.labels }).collect())
    }
}

/// A progress bar on a terminal; a log line every few seconds otherwise.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    last_line: Instant,
    started: Instant,
    tokens: usize,
}

impl Progress {
    fn new(total: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(total);
            if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} [{elapsed} < {eta}]") {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        });
        Progress { bar, last_line: Instant::now(), started: Instant::now(), tokens: 0 }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}

impl Observer for Progress {
    fn on_step(&mut self, r: &StepRecord, total: u64) {
        self.tokens += r.tokens + r.encoder_tokens;
        let rate = self.tokens as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
        let message = format!("loss {:.4} lr {:.2e} {:.0} tok/s", r.loss, r.lr, rate);
        match &self.bar {
            Some(bar) => {
                bar.set_position(r.step);
                bar.set_message(message);
            }
            None => {
                if self.last_line.elapsed().as_secs_f64() >= 5.0 || r.step == total || r.step == 1 {
                    eprintln!("step {}/{total} {message}", r.step);
                    self.last_line = Instant::now();
                }
            }
        }
    }

    fn on_eval(&mut self, r: &EvalRecord) {
        let line = format!("step {}: valid loss {:.4} (ppl {:.2})", r.step, r.valid_loss, r.valid_ppl);
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    fn on_checkpoint(&mut self, dir: &Path) {
        if self.bar.is_none() {
            eprintln!("checkpoint {}", dir.display());
        }
    }
}
