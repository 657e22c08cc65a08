#![allow(dead_code)]

use std::path::{Path, PathBuf};

use candle_core::{DType, Device};
use chatplug_model::T5Config;
use chatplug_train::config::TrainOptions;
use chatplug_train::data::BatchSize;
use chatplug_train::optim::AdamWConfig;
use chatplug_train::schedule::ScheduleKind;
use chatplug_train::{Example, Job, Stage, StageSettings, Start};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn tiny_config(gated: bool, tied: bool) -> (T5Config, String) {
    let json = serde_json::json!({
        "vocab_size": 40, "d_model": 16, "d_kv": 4, "num_heads": 3, "d_ff": 24,
        "num_layers": 2, "num_decoder_layers": 2,
        "relative_attention_num_buckets": 8, "relative_attention_max_distance": 16,
        "feed_forward_proj": if gated { "gated-gelu" } else { "relu" },
        "tie_word_embeddings": tied, "dropout_rate": 0.1,
        "pad_token_id": 0, "eos_token_id": 1, "decoder_start_token_id": 0
    })
    .to_string();
    (T5Config::from_json_str(&json, Path::new("config.json")).unwrap(), json)
}

/// Deterministic little examples with unequal passage counts and lengths.
pub fn examples(n: usize, vocab: u32) -> Vec<Example> {
    (0..n)
        .map(|i| {
            let passages = 1 + i % 3;
            let input_ids = (0..passages)
                .map(|p| {
                    let len = 2 + (i * 3 + p * 5) % 7;
                    let mut ids: Vec<u32> = (0..len).map(|t| 2 + ((i * 7 + p * 11 + t * 13) as u32) % (vocab - 2)).collect();
                    ids.push(1);
                    ids
                })
                .collect();
            let label_len = 2 + i % 5;
            let mut labels: Vec<u32> = (0..label_len).map(|t| 2 + ((i * 5 + t * 3) as u32) % (vocab - 2)).collect();
            labels.push(1);
            Example { input_ids, labels }
        })
        .collect()
}

pub fn settings(steps: u64) -> StageSettings {
    StageSettings {
        batch_size: BatchSize::Examples(3),
        grad_accum: 1,
        steps,
        lr: 1e-2,
        schedule: ScheduleKind::Constant,
        warmup_steps: 0,
        div_factor: 600.0,
        adam: AdamWConfig { beta1: 0.9, beta2: 0.999, eps: 1e-6, weight_decay: 0.01, position_bias_lr_scale: 1.0 },
        clip_norm: 5.0,
        dropout: 0.0,
        shuffle: false,
        eval_every: 0,
        save_every: 0,
    }
}

pub fn job(config: &(T5Config, String), start: Start, data: Vec<Example>, settings: StageSettings, out: &Path) -> Job {
    Job {
        config: config.0.clone(),
        config_json: config.1.clone(),
        start,
        stages: vec![Stage { name: "train".into(), sources: vec![(data, 1.0)], settings }],
        valid: None,
        out: out.to_path_buf(),
        copy_files: Vec::new(),
        args: serde_json::to_value(TrainOptions::default()).unwrap(),
        seed: 7,
        keep_checkpoints: 0,
        save_dtype: DType::F32,
    }
}

pub fn cpu() -> Device {
    Device::Cpu
}
