//! The token callback can stop generation: the output ends at the token where it said
//! stop, and is a prefix of the full run.

use std::ops::ControlFlow;
use std::path::Path;

use candle_core::Device;
use chatplug_model::{generate, FidT5, GenerationConfig};
use serde_json::json;

fn model() -> FidT5 {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/golden/models/relu_tied");
    FidT5::load(&dir, &Device::Cpu).unwrap()
}

#[test]
fn callback_break_stops_greedy_generation() {
    let model = model();
    let passages = vec![vec![5u32, 6, 7, 8, 1], vec![9u32, 10, 1]];
    // min_length keeps EOS away so the full run is long enough to cut.
    let options = GenerationConfig::from_json(&json!({
        "num_beams": 1, "do_sample": false, "max_length": 16, "min_length": 16
    }))
    .unwrap();
    let full = generate(&model, &passages, &options, None).unwrap().sequences[0].clone();
    assert_eq!(full.len(), 16, "the full run generates max_length tokens");

    let mut seen = 0;
    let mut stop_after_three = |_row: usize, _token: u32| {
        seen += 1;
        if seen == 3 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let cut = generate(&model, &passages, &options, Some(&mut stop_after_three)).unwrap();
    assert_eq!(seen, 3, "no token is offered after the break");
    // Start token plus the three generated tokens, identical to the full run's prefix.
    assert_eq!(cut.sequences[0], full[..4].to_vec());
}

#[test]
fn callback_break_stops_beam_search() {
    let model = model();
    let passages = vec![vec![5u32, 6, 7, 8, 1]];
    let options = GenerationConfig::from_json(&json!({
        "num_beams": 3, "max_length": 16, "min_length": 16
    }))
    .unwrap();
    let mut steps = 0;
    let mut stop_at_step_two = |row: usize, _token: u32| {
        if row == 0 {
            steps += 1;
        }
        if steps == 2 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let cut = generate(&model, &passages, &options, Some(&mut stop_at_step_two)).unwrap();
    assert_eq!(steps, 2, "no step runs after the break");
    // Start token, two generated tokens, then the EOS the finished beam gets.
    assert!(cut.sequences[0].len() <= 4, "got {:?}", cut.sequences[0]);
}
