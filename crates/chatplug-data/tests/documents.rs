//! Documents: T5 span corruption and prefix-LM examples.

mod common;

use chatplug_data::span_corruption::{corrupt, count_spans, noise_mask, span_counts};
use chatplug_data::{DataOptions, InputFormat, Objective, TokenizedExample};
use common::*;
use rand::SeedableRng;
use serde_json::json;

/// Sentences written for this test, long enough to fill several pieces.
fn documents() -> Vec<String> {
    let sentences = [
        "清晨的公园里有人打太极，有人跑步，还有人在湖边喂鸽子。",
        "小镇的面包店每天六点开门，刚出炉的面包香气飘满整条街。",
        "学习一门新语言最好的办法，是每天坚持说一点、写一点。",
        "The river bends twice before it reaches the old stone bridge.",
    ];
    (0..12)
        .map(|i| {
            (0..=i)
                .map(|j| sentences[j % sentences.len()])
                .collect::<Vec<_>>()
                .join("")
        })
        .collect()
}

/// The documents' tokens, one after another, each without its EOS: what the pieces
/// of every objective put back together must give.
fn document_tokens(tok: &chatplug_tokenizer::Tokenizer) -> Vec<u32> {
    documents()
        .iter()
        .flat_map(|d| {
            let mut ids = tok.encode(d);
            ids.pop();
            ids
        })
        .collect()
}

fn span_options(seed: u64) -> DataOptions {
    DataOptions {
        objective: Some(Objective::SpanCorruption),
        seed,
        max_encoder_length: 64,
        ..DataOptions::default()
    }
}

/// Puts the hidden spans back in place of their sentinels.
fn reconstruct(e: &TokenizedExample, sentinels: &[u32]) -> Vec<u32> {
    let spans: Vec<Vec<u32>> = {
        let body = &e.labels[..e.labels.len() - 1];
        let mut spans: Vec<Vec<u32>> = Vec::new();
        for &id in body {
            if sentinels.contains(&id) {
                spans.push(Vec::new());
            } else {
                spans
                    .last_mut()
                    .expect("labels start with a sentinel")
                    .push(id);
            }
        }
        spans
    };
    let input = &e.input_ids[0][..e.input_ids[0].len() - 1];
    let mut out = Vec::new();
    let mut k = 0;
    for &id in input {
        if sentinels.contains(&id) {
            assert_eq!(id, sentinels[k], "sentinels in order");
            out.extend(&spans[k]);
            k += 1;
        } else {
            out.push(id);
        }
    }
    assert_eq!(k, spans.len(), "every span is used once");
    out
}

#[test]
fn span_corruption_is_reconstructable_in_sentinel_order() {
    let tok = tokenizer();
    let sentinels: Vec<u32> = (0..22)
        .map(|k| tok.token_to_id(&format!("<extra_id_{k}>")).unwrap())
        .collect();
    // T5 numbers sentinels down from the end of the vocabulary.
    assert_eq!(sentinels[0] as usize, tok.len() - 1);
    assert_eq!(sentinels[1] as usize, tok.len() - 2);
    let lines: Vec<String> = documents()
        .iter()
        .map(|d| json!({"text": d}).to_string())
        .collect();
    let (examples, stats) = prepare(&lines, InputFormat::Documents, &span_options(1)).unwrap();
    // The pieces, put back together, are the documents' tokens.
    let mut rebuilt: Vec<u32> = Vec::new();
    for e in &examples {
        assert_eq!(e.input_ids.len(), 1);
        assert!(e.input_ids[0].len() <= 64, "{}", e.input_ids[0].len());
        assert_eq!(*e.input_ids[0].last().unwrap(), tok.eos_id());
        assert_eq!(*e.labels.last().unwrap(), tok.eos_id());
        assert_eq!(e.labels[0], sentinels[0], "targets start with <extra_id_0>");
        rebuilt.extend(reconstruct(e, &sentinels));
    }
    let expected = document_tokens(&tok);
    assert_eq!(rebuilt, expected);
    assert_eq!(stats.truncated_passages, 0);
    let density = stats.noise_fraction.unwrap();
    assert!((density - 0.15).abs() < 0.02, "noise fraction {density}");
}

#[test]
fn the_noise_mask_has_t5_density_and_span_length() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let (mut noise, mut spans, mut total) = (0, 0, 0);
    for length in [40, 100, 379, 512, 1000] {
        for _ in 0..50 {
            let mask = noise_mask(length, 0.15, 3.0, &mut rng);
            assert_eq!(mask.len(), length);
            assert!(!mask[0], "the first token is never masked");
            let (n, s) = span_counts(length, 0.15, 3.0);
            assert_eq!(mask.iter().filter(|&&m| m).count(), n);
            assert_eq!(count_spans(&mask), s);
            noise += n;
            spans += s;
            total += length;
        }
    }
    let density = noise as f64 / total as f64;
    let mean_span = noise as f64 / spans as f64;
    assert!((density - 0.15).abs() < 0.005, "{density}");
    assert!((mean_span - 3.0).abs() < 0.2, "{mean_span}");
    // T5's counts: round half to even, at least one noise token and one span.
    assert_eq!(span_counts(10, 0.15, 3.0), (2, 1));
    assert_eq!(span_counts(100, 0.15, 3.0), (15, 5));
    assert_eq!(span_counts(1, 0.15, 3.0), (1, 1));
    assert_eq!(span_counts(30, 0.15, 3.0), (4, 1)); // 4.5 → 4
}

#[test]
fn corrupt_builds_t5_inputs_and_targets() {
    let mask = [false, true, true, false, false, true, false];
    let (inputs, targets) = corrupt(&[10, 11, 12, 13, 14, 15, 16], &mask, &[99, 98], 1);
    assert_eq!(inputs, vec![10, 99, 13, 14, 98, 16, 1]);
    assert_eq!(targets, vec![99, 11, 12, 98, 15, 1]);
}

#[test]
fn the_same_seed_gives_the_same_examples() {
    let lines: Vec<String> = documents();
    let a = prepare(&lines, InputFormat::Documents, &span_options(7))
        .unwrap()
        .0;
    let b = prepare(&lines, InputFormat::Documents, &span_options(7))
        .unwrap()
        .0;
    let c = prepare(&lines, InputFormat::Documents, &span_options(8))
        .unwrap()
        .0;
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn prefix_lm_splits_documents_into_beginning_and_rest() {
    let tok = tokenizer();
    let options = DataOptions {
        objective: Some(Objective::PrefixLm),
        max_encoder_length: 40,
        max_decoder_length: 30,
        seed: 5,
        ..DataOptions::default()
    };
    let (examples, stats) = prepare(&documents(), InputFormat::Documents, &options).unwrap();
    assert_eq!(stats.objective.as_deref(), Some("prefix-lm"));
    let mut rebuilt: Vec<u32> = Vec::new();
    let mut split_points = std::collections::BTreeSet::new();
    for e in &examples {
        let (input, labels) = (&e.input_ids[0], &e.labels);
        assert!(input.len() <= 40 && labels.len() <= 30);
        assert!(
            input.len() >= 2 && labels.len() >= 2,
            "both sides have a token"
        );
        split_points.insert(input.len());
        rebuilt.extend(&input[..input.len() - 1]);
        rebuilt.extend(&labels[..labels.len() - 1]);
    }
    assert!(
        split_points.len() > 3,
        "split points vary: {split_points:?}"
    );
    let expected = document_tokens(&tok);
    assert_eq!(rebuilt, expected);
    assert_eq!((stats.truncated_passages, stats.truncated_labels), (0, 0));
}

#[test]
fn document_errors_name_the_line() {
    let options = span_options(0);
    let message = prepare_error(
        &[
            json!({"text": "好"}).to_string(),
            json!({"txt": "x"}).to_string(),
        ],
        InputFormat::Documents,
        &options,
    );
    assert!(
        message.contains("input.jsonl:2: missing field `text`"),
        "{message}"
    );
    let message = prepare_error(
        &[json!({"text": 3}).to_string()],
        InputFormat::Documents,
        &options,
    );
    assert!(
        message.contains("input.jsonl:1: field `text` must be a string"),
        "{message}"
    );
    let message = prepare_error(
        &["x".into()],
        InputFormat::Dialogue,
        &DataOptions {
            objective: Some(Objective::PrefixLm),
            ..DataOptions::default()
        },
    );
    assert!(
        message.contains("`prefix-lm` cannot be built from dialogue files"),
        "{message}"
    );
}

#[test]
fn pieces_under_two_tokens_are_skipped() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let p = chatplug_data::documents::prefix_lm(&[5], 10, 10, 1, &mut rng);
    assert_eq!((p.examples.len(), p.too_short), (0, 1));
    let p = chatplug_data::documents::prefix_lm(&[5, 6, 7], 2, 10, 1, &mut rng);
    assert_eq!(
        p.examples[0].input_ids,
        vec![vec![5, 1]],
        "the prefix fits max_encoder_length"
    );
    let p = chatplug_data::documents::span_corruption(&[5], 4, 0.15, 3.0, &[99, 98], 1, &mut rng);
    assert_eq!((p.examples.len(), p.too_short), (0, 1));
    // Five tokens in pieces of at most four: 3 + 2, not 4 + a lone leftover.
    let p = chatplug_data::documents::span_corruption(
        &[5, 6, 7, 8, 9],
        4,
        0.15,
        3.0,
        &[99, 98],
        1,
        &mut rng,
    );
    assert_eq!((p.examples.len(), p.too_short, p.piece_tokens), (2, 0, 5));
    let lens: Vec<usize> = chatplug_data::documents::even_pieces(&[1; 11], 4)
        .iter()
        .map(|p| p.len())
        .collect();
    assert_eq!(lens, vec![4, 4, 3]);
}
