//! Training semantics that need no reference run: gradients reach every parameter and agree
//! with finite differences, padding does not change the loss, a tiny model overfits, the
//! engine reads what the trainer saved, and a resumed run equals an uncut one.

mod common;

use candle_core::Tensor;
use chatplug_model::FidT5;
use chatplug_train::model::FidT5Train;
use chatplug_train::ops::scalar;
use chatplug_train::trainer::{accumulate_gradients, Observer, Quiet};
use chatplug_train::{Example, FidBatch, Parameters, Start};
use common::*;

fn loss_of(config: &chatplug_model::T5Config, params: &Parameters, examples: &[&Example]) -> f64 {
    let batch = FidBatch::new(examples, 0, 0, &cpu()).unwrap();
    let model = FidT5Train::new(config, params, &cpu());
    scalar(&model.forward::<rand::rngs::StdRng>(&batch, None).unwrap().loss).unwrap()
}

#[test]
fn every_parameter_gets_a_nonzero_gradient() {
    for (gated, tied, dropout) in [(false, true, None), (true, false, None), (true, true, Some(0.1)), (false, false, Some(0.2))] {
        let config = tiny_config(gated, tied);
        let params = Parameters::init(&config.0, 3, &cpu()).unwrap();
        let data = examples(6, 40);
        let batch: Vec<&Example> = data.iter().collect();
        let model = FidT5Train::new(&config.0, &params, &cpu());
        let grads = accumulate_gradients(&model, &[batch], dropout.map(|p| (p, 1, 1)), &cpu()).unwrap();
        assert_eq!(grads.grads.len(), params.specs().len());
        for (spec, g) in params.specs().iter().zip(&grads.grads) {
            let max = g.abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
            assert!(max > 0.0, "gated={gated} tied={tied}: `{}` got no gradient", spec.name);
        }
    }
}

/// Central differences in f32 on a few elements of every kind of parameter (the tied
/// embedding too, which gets gradient from the input embedding and the output head).
#[test]
fn gradients_agree_with_finite_differences() {
    for (gated, tied) in [(false, true), (true, false)] {
        let config = tiny_config(gated, tied);
        let params = Parameters::init(&config.0, 11, &cpu()).unwrap();
        let data = examples(4, 40);
        let batch: Vec<&Example> = data.iter().collect();
        let model = FidT5Train::new(&config.0, &params, &cpu());
        let grads = accumulate_gradients(&model, &[batch.clone()], None, &cpu()).unwrap();
        for (i, spec) in params.specs().iter().enumerate() {
            let original = params.vars()[i].as_tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let analytic = grads.grads[i].flatten_all().unwrap().to_vec1::<f32>().unwrap();
            // The element with the largest gradient: the most informative for a check in f32.
            let (k, _) = analytic.iter().enumerate().fold((0, 0f32), |best, (j, g)| if g.abs() > best.1 { (j, g.abs()) } else { best });
            let h = 1e-3f32;
            let eval = |delta: f32| {
                let mut values = original.clone();
                values[k] += delta;
                params.vars()[i].set(&Tensor::from_vec(values, spec.shape.as_slice(), &cpu()).unwrap()).unwrap();
                loss_of(&config.0, &params, &batch)
            };
            let numeric = (eval(h) - eval(-h)) / (2.0 * h as f64);
            params.vars()[i].set(&Tensor::from_vec(original, spec.shape.as_slice(), &cpu()).unwrap()).unwrap();
            let a = analytic[k] as f64;
            assert!(
                (a - numeric).abs() <= 2e-3 + 2e-2 * a.abs(),
                "gated={gated} tied={tied} `{}`[{k}]: analytic {a}, numeric {numeric}",
                spec.name
            );
        }
    }
}

#[test]
fn padding_does_not_change_the_loss() {
    let config = tiny_config(true, false);
    let params = Parameters::init(&config.0, 5, &cpu()).unwrap();
    let data = examples(5, 40);
    // Example 0 has 1 passage and 3 labels; example 4 has 2 passages and 7 labels, so
    // batching them pads example 0's passage count, passage length and labels.
    let (a, b) = (&data[0], &data[4]);
    assert!(a.input_ids.len() < b.input_ids.len() && a.labels.len() < b.labels.len());
    let alone_a = loss_of(&config.0, &params, &[a]);
    let alone_b = loss_of(&config.0, &params, &[b]);
    let together = loss_of(&config.0, &params, &[a, b]);
    let (na, nb) = (a.labels.len() as f64, b.labels.len() as f64);
    let expected = (alone_a * na + alone_b * nb) / (na + nb);
    assert!((together - expected).abs() < 1e-5, "batched {together} vs per-example {expected}");
}

#[test]
fn a_tiny_model_overfits_a_few_examples() {
    let config = tiny_config(false, true);
    let out = tempfile::tempdir().unwrap();
    let mut settings = settings(150);
    settings.batch_size = chatplug_train::data::BatchSize::Examples(4);
    settings.lr = 3e-2;
    let data = examples(4, 40);
    let summary = chatplug_train::run(job(&config, Start::Fresh { seed: 1 }, data, settings, out.path()), None, &cpu(), &mut Quiet).unwrap();
    let first = read_losses(out.path())[0];
    let last = summary.last_loss.unwrap();
    assert!(last < 0.05 && last < first / 20.0, "loss {first} -> {last}");
}

fn read_losses(out: &std::path::Path) -> Vec<f64> {
    std::fs::read_to_string(out.join("train_log.jsonl"))
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v.get("loss").and_then(|x| x.as_f64()))
        .collect()
}

/// What the trainer computes for an example, the engine computes from the saved files.
#[test]
fn the_engine_loads_the_saved_model_with_the_trainers_logits() {
    for (gated, tied) in [(false, true), (true, false)] {
        let config = tiny_config(gated, tied);
        let out = tempfile::tempdir().unwrap();
        let data = examples(6, 40);
        chatplug_train::run(job(&config, Start::Fresh { seed: 2 }, data.clone(), settings(3), out.path()), None, &cpu(), &mut Quiet).unwrap();
        let trained = Parameters::load(&config.0, out.path(), &cpu()).unwrap();
        let example = &data[4];
        let batch = FidBatch::new(&[example], 0, 0, &cpu()).unwrap();
        let logits = FidT5Train::new(&config.0, &trained, &cpu()).forward::<rand::rngs::StdRng>(&batch, None).unwrap().logits;
        let last = logits.get(example.labels.len() - 1).unwrap().to_vec1::<f32>().unwrap();

        let engine = FidT5::load(out.path(), &cpu()).unwrap();
        let mut decoder_input = vec![0u32];
        decoder_input.extend(&example.labels[..example.labels.len() - 1]);
        let engine_logits = engine.forward_logits(&example.input_ids, &decoder_input).unwrap();
        let diff = last.iter().zip(&engine_logits).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(diff < 1e-4, "gated={gated} tied={tied}: largest logit difference {diff}");
    }
}

/// Stops the run after a given step, as a kill would (the steps after the last checkpoint
/// are lost).
struct StopAfter(u64, u64);
impl Observer for StopAfter {
    fn on_step(&mut self, record: &chatplug_train::log::StepRecord, _: u64) {
        self.1 = record.step;
    }
    fn should_stop(&mut self) -> bool {
        self.1 >= self.0
    }
}

#[test]
fn a_resumed_run_equals_an_uncut_run() {
    let config = tiny_config(true, false);
    let data = examples(11, 40);
    let mut s = settings(8);
    s.shuffle = true;
    s.dropout = 0.1;
    s.save_every = 3;
    s.grad_accum = 2;
    s.schedule = chatplug_train::schedule::ScheduleKind::OneCycle;
    s.warmup_steps = 2;

    let uncut = tempfile::tempdir().unwrap();
    chatplug_train::run(job(&config, Start::Fresh { seed: 4 }, data.clone(), s.clone(), uncut.path()), None, &cpu(), &mut Quiet).unwrap();

    let cut = tempfile::tempdir().unwrap();
    let summary = chatplug_train::run(job(&config, Start::Fresh { seed: 4 }, data.clone(), s.clone(), cut.path()), None, &cpu(), &mut StopAfter(5, 0)).unwrap();
    assert!(summary.stopped);
    assert!(!cut.path().join("model.safetensors").exists());
    // Steps 4 and 5 ran after the checkpoint at 3: resuming redoes them.
    chatplug_train::run(job(&config, Start::Fresh { seed: 4 }, data.clone(), s.clone(), cut.path()), Some(cut.path()), &cpu(), &mut Quiet).unwrap();

    let a = std::fs::read(uncut.path().join("model.safetensors")).unwrap();
    let b = std::fs::read(cut.path().join("model.safetensors")).unwrap();
    assert!(a == b, "the resumed run's weights differ from the uncut run's");
    assert_eq!(read_losses(uncut.path()), read_losses(cut.path()));
    assert_eq!(read_losses(cut.path()).len(), 8);
}

#[test]
fn bad_input_is_refused_before_training() {
    let config = tiny_config(false, true);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("data.jsonl");
    std::fs::write(&file, "{\"input_ids\": [[5, 1]], \"labels\": [6, 1]}\n{\"input_ids\": [[5, 99]], \"labels\": [1]}\n").unwrap();
    let err = chatplug_train::examples::read_tokenized(&file, 40).unwrap_err().to_string();
    assert!(err.contains("data.jsonl:2") && err.contains("99"), "{err}");
    std::fs::write(&file, "").unwrap();
    let err = chatplug_train::examples::read_tokenized(&file, 40).unwrap_err().to_string();
    assert!(err.contains("no examples"), "{err}");

    // A finished run's folder is not overwritten by a fresh run.
    let out = dir.path().join("out");
    chatplug_train::run(job(&config, Start::Fresh { seed: 1 }, examples(3, 40), settings(1), &out), None, &cpu(), &mut Quiet).unwrap();
    let err = chatplug_train::run(job(&config, Start::Fresh { seed: 1 }, examples(3, 40), settings(1), &out), None, &cpu(), &mut Quiet)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("--resume"), "{err}");
    // Resuming with other data is refused.
    let err = chatplug_train::run(job(&config, Start::Fresh { seed: 1 }, examples(4, 40), settings(1), &out), Some(&out), &cpu(), &mut Quiet)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("other data"), "{err}");
}

/// `position_bias_lr_scale` moves exactly the relative position bias tables faster: after
/// one AdamW step from the same gradients, a bias value moves `scale` times as far as with
/// scale 1 (Adam's first step is the rate times the gradient's sign), and every other
/// parameter moves exactly as far.
#[test]
fn position_bias_lr_scale_scales_only_the_bias_tables() {
    use chatplug_train::optim::{is_position_bias, AdamW, AdamWConfig};
    let config = tiny_config(true, false);
    let moved = |scale: f64| -> Vec<(String, Tensor)> {
        let params = Parameters::init(&config.0, 7, &cpu()).unwrap();
        let before: Vec<Tensor> = params.vars().iter().map(|v| v.as_tensor().copy().unwrap()).collect();
        // A fixed gradient of ones for every parameter.
        let grads: Vec<Tensor> = params.vars().iter().map(|v| v.as_tensor().ones_like().unwrap()).collect();
        let adam = AdamWConfig { beta1: 0.9, beta2: 0.999, eps: 1e-6, weight_decay: 0.0, position_bias_lr_scale: scale };
        let mut optimizer = AdamW::new(&params, adam).unwrap();
        optimizer.step(params.vars(), &grads, 1e-3).unwrap();
        params
            .specs()
            .iter()
            .zip(params.vars())
            .zip(before)
            .map(|((spec, var), b)| (spec.name.clone(), (var.as_tensor() - b).unwrap()))
            .collect()
    };
    let (plain, scaled) = (moved(1.0), moved(30.0));
    let mut biases = 0;
    for ((name, a), (_, b)) in plain.iter().zip(&scaled) {
        let (a, b) = (a.flatten_all().unwrap().to_vec1::<f32>().unwrap(), b.flatten_all().unwrap().to_vec1::<f32>().unwrap());
        let want = if is_position_bias(name) { 30.0 } else { 1.0 };
        biases += is_position_bias(name) as usize;
        for (x, y) in a.iter().zip(&b) {
            // Both moves are differences of f32 values near 0.1 (rounding ~1e-8 each).
            assert!((y - want * x).abs() <= 1e-5 * (want * x).abs() + 5e-7, "{name}: {y} vs {want} × {x}");
        }
    }
    assert_eq!(biases, 2, "the encoder's and the decoder's table");
}
