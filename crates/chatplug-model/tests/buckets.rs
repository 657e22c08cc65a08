//! Relative position buckets equal HF's for every position in -600..=600 under several
//! settings (recorded by fixtures/make_bucket_golden.py).

use std::path::Path;

use chatplug_model::layers::relative_position_bucket;
use serde_json::Value;

#[test]
fn buckets_equal_hf() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/golden/relative_buckets.json");
    let cases: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(!cases.is_empty());
    for case in cases {
        let bidirectional = case["bidirectional"].as_bool().unwrap();
        let num_buckets = case["num_buckets"].as_u64().unwrap() as usize;
        let max_distance = case["max_distance"].as_u64().unwrap() as usize;
        let first = case["first_position"].as_i64().unwrap();
        for (i, want) in case["buckets"].as_array().unwrap().iter().enumerate() {
            let rel = first + i as i64;
            assert_eq!(
                relative_position_bucket(rel, bidirectional, num_buckets, max_distance) as u64,
                want.as_u64().unwrap(),
                "relative position {rel}, bidirectional {bidirectional}, {num_buckets} buckets, max distance {max_distance}"
            );
        }
    }
}
