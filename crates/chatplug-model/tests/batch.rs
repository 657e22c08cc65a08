//! Continuous batching (issue 11): a batched decoding step gives every request exactly the
//! logits it gets alone, and the `Batcher` gives every concurrent request exactly what
//! `generate` gives it alone (greedy, beam, sampling; requests joining mid-way, leaving
//! early, and more hypotheses than one pass carries).

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::mpsc;
use std::sync::Arc;

use candle_core::Device;
use chatplug_model::{generate, Batcher, FidT5, GenerationConfig, Precision, StepRequest};
use serde_json::{json, Value};

fn model(name: &str, precision: Precision) -> FidT5 {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/golden/models").join(name);
    FidT5::load_with_precision(&dir, &Device::Cpu, precision).unwrap()
}

fn options(value: Value) -> GenerationConfig {
    GenerationConfig::from_json(&value).unwrap()
}

/// Requests of different passage counts and lengths.
fn passages(i: usize) -> Vec<Vec<u32>> {
    let base = 5 + 37 * i as u32;
    (0..1 + i % 3)
        .map(|p| (0..3 + (i + p) % 7).map(|t| base + 11 * p as u32 + t as u32).chain([1]).collect())
        .collect()
}

fn values(t: &candle_core::Tensor) -> Vec<Vec<u32>> {
    // Bits, so that the comparison is exact (and NaN-safe).
    t.to_vec2::<f32>().unwrap().into_iter().map(|row| row.into_iter().map(f32::to_bits).collect()).collect()
}

#[test]
fn a_batched_step_gives_each_request_its_solo_logits() {
    for (name, precision) in [
        ("relu_tied", Precision::F32),
        ("gated_untied_sharded", Precision::F32),
        ("gated_untied_sharded", Precision::Bf16),
        ("relu_tied", Precision::Int8),
    ] {
        let model = model(name, precision);
        let encoded: Vec<_> = (0..3).map(|i| model.encode(&passages(i)).unwrap()).collect();
        // Requests at different positions with 1, 3 and 2 hypotheses.
        let tokens: [&[u32]; 3] = [&[7], &[9, 10, 11], &[12, 13]];
        let mut solo_states: Vec<_> = (0..3).map(|_| model.new_decoder_state()).collect();
        let mut batch_states: Vec<_> = (0..3).map(|_| model.new_decoder_state()).collect();
        for (i, steps) in [0usize, 2, 5].into_iter().enumerate() {
            for step in 0..steps {
                let feed: Vec<u32> = tokens[i].iter().map(|t| t + step as u32).collect();
                model.decode_step(&encoded[i], &mut solo_states[i], &feed).unwrap();
                model.decode_step(&encoded[i], &mut batch_states[i], &feed).unwrap();
            }
        }
        for step in 0..3 {
            let solo: Vec<_> = (0..3)
                .map(|i| values(&model.decode_step(&encoded[i], &mut solo_states[i], tokens[i]).unwrap()))
                .collect();
            let mut requests: Vec<StepRequest<'_>> = batch_states
                .iter_mut()
                .zip(&encoded)
                .zip(tokens)
                .map(|((state, encoded), tokens)| StepRequest { encoded, state, tokens })
                .collect();
            let batched: Vec<_> = model.decode_steps(&mut requests).unwrap().iter().map(values).collect();
            assert_eq!(batched, solo, "{name} {precision:?}, step {step}");
        }
    }
}

/// Options of request `i`: greedy, beam 3, seeded sampling and processors, mixed.
fn request_options(i: usize) -> GenerationConfig {
    options(match i % 4 {
        0 => json!({"num_beams": 1, "max_length": 12 + i, "min_length": 6}),
        1 => json!({"num_beams": 3, "max_length": 10, "no_repeat_ngram_size": 2}),
        2 => json!({"do_sample": true, "top_k": 20, "seed": i, "max_length": 14, "num_return_sequences": 2}),
        _ => json!({"num_beams": 2, "max_length": 9, "repetition_penalty": 1.3, "num_return_sequences": 2}),
    })
}

fn solo_runs(model: &FidT5, count: usize) -> Vec<(Vec<Vec<u32>>, Vec<(usize, u32)>)> {
    (0..count)
        .map(|i| {
            let mut streamed = Vec::new();
            let mut record = |row: usize, token: u32| {
                streamed.push((row, token));
                ControlFlow::Continue(())
            };
            let out = generate(model, &passages(i), &request_options(i), Some(&mut record)).unwrap();
            (out.sequences, streamed)
        })
        .collect()
}

fn batched_runs(batcher: &Arc<Batcher>, count: usize) -> Vec<(Vec<Vec<u32>>, Vec<(usize, u32)>)> {
    let handles: Vec<_> = (0..count)
        .map(|i| {
            let batcher = Arc::clone(batcher);
            std::thread::spawn(move || {
                let mut streamed = Vec::new();
                let mut record = |row: usize, token: u32| {
                    streamed.push((row, token));
                    ControlFlow::Continue(())
                };
                let out = batcher.generate(&passages(i), &request_options(i), Some(&mut record)).unwrap();
                (out.sequences, streamed)
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
fn concurrent_requests_get_their_solo_results() {
    for precision in [Precision::F32, Precision::Int8] {
        let model = Arc::new(model("relu_tied", precision));
        let solo = solo_runs(&model, 12);
        // 8 rows a pass: the 12 requests' 23 hypotheses take several passes a step.
        for max_rows in [8, 32] {
            let batcher = Arc::new(Batcher::new(Arc::clone(&model), max_rows).unwrap());
            let batched = batched_runs(&batcher, 12);
            for (i, (b, s)) in batched.iter().zip(&solo).enumerate() {
                assert_eq!(b, s, "request {i} ({precision:?}, {max_rows} rows a pass)");
            }
        }
    }
}

#[test]
fn a_request_joins_a_running_batch_and_one_leaves_early() {
    let model = Arc::new(model("relu_tied", Precision::F32));
    let long = options(json!({"num_beams": 1, "max_length": 24, "min_length": 24}));
    let expected_long = generate(&model, &passages(0), &long, None).unwrap().sequences;
    let expected_late = generate(&model, &passages(1), &request_options(1), None).unwrap().sequences;
    let batcher = Arc::new(Batcher::new(Arc::clone(&model), 32).unwrap());

    // The long request streams; after its 5th token a second request joins; a third one
    // stops itself after 3 tokens while both run.
    let (joined, join_now) = mpsc::channel();
    let first = {
        let batcher = Arc::clone(&batcher);
        let long = long.clone();
        std::thread::spawn(move || {
            let mut seen = 0;
            let mut on_token = |_: usize, _: u32| {
                seen += 1;
                if seen == 5 {
                    joined.send(()).unwrap();
                }
                ControlFlow::Continue(())
            };
            batcher.generate(&passages(0), &long, Some(&mut on_token)).unwrap().sequences
        })
    };
    join_now.recv().unwrap();
    let late = {
        let batcher = Arc::clone(&batcher);
        std::thread::spawn(move || batcher.generate(&passages(1), &request_options(1), None).unwrap().sequences)
    };
    let mut seen = 0;
    let mut stop_after_three = |_: usize, _: u32| {
        seen += 1;
        if seen == 3 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let stopped = batcher.generate(&passages(2), &long, Some(&mut stop_after_three)).unwrap();
    assert_eq!(seen, 3, "no token reaches the callback after it said stop");
    let full = generate(&model, &passages(2), &long, None).unwrap().sequences[0].clone();
    let cut = &stopped.sequences[0];
    assert!(cut.len() < full.len() && full.starts_with(cut), "{cut:?} is a prefix of {full:?}");

    assert_eq!(first.join().unwrap(), expected_long);
    assert_eq!(late.join().unwrap(), expected_late);
}

#[test]
fn batcher_errors_are_specific() {
    let model = Arc::new(model("relu_tied", Precision::F32));
    for rows in [0, 33] {
        let error = Batcher::new(Arc::clone(&model), rows).err().expect("out of range").to_string();
        assert!(error.contains("batch rows must be between 1 and 32"), "{error}");
    }
    let batcher = Batcher::new(Arc::clone(&model), 4).unwrap();
    // A bad request fails alone, before it joins.
    let error = batcher.generate(&[vec![999_999, 1]], &request_options(0), None).unwrap_err().to_string();
    assert!(error.contains("outside the model vocabulary"), "{error}");
    let error = batcher
        .generate(&passages(0), &options(json!({"num_beams": 0})), None)
        .unwrap_err()
        .to_string();
    assert!(error.contains("num_beams"), "{error}");
    // ... and the batcher goes on serving.
    assert_eq!(
        batcher.generate(&passages(0), &request_options(0), None).unwrap(),
        generate(&model, &passages(0), &request_options(0), None).unwrap()
    );
}
