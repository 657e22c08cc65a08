//! Checkpoint validation: a missing, extra or mis-shaped tensor is an error that names it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use chatplug_model::FidT5;

fn source_model() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/golden/models/relu_tied")
}

/// A copy of the relu_tied fixture whose tensors went through `edit`.
fn edited_model(tag: &str, edit: impl FnOnce(&mut HashMap<String, Tensor>)) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chatplug-weights-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(source_model().join("config.json"), dir.join("config.json")).unwrap();
    let mut tensors =
        candle_core::safetensors::load(source_model().join("model.safetensors"), &Device::Cpu).unwrap();
    edit(&mut tensors);
    candle_core::safetensors::save(&tensors, dir.join("model.safetensors")).unwrap();
    dir
}

fn load_error(dir: &Path) -> String {
    let err = match FidT5::load(dir, &Device::Cpu) {
        Ok(_) => panic!("loading {} should fail", dir.display()),
        Err(e) => e.to_string(),
    };
    std::fs::remove_dir_all(dir).ok();
    err
}

const Q0: &str = "encoder.block.0.layer.0.SelfAttention.q.weight";

#[test]
fn the_unedited_copy_loads() {
    let dir = edited_model("same", |_| {});
    FidT5::load(&dir, &Device::Cpu).unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn missing_tensor_is_named() {
    let dir = edited_model("missing", |t| {
        t.remove(Q0);
    });
    let err = load_error(&dir);
    assert!(err.contains("missing") && err.contains(Q0), "{err}");
}

#[test]
fn extra_tensor_is_named() {
    let dir = edited_model("extra", |t| {
        t.insert("encoder.block.9.mystery.weight".into(), Tensor::zeros(3, DType::F32, &Device::Cpu).unwrap());
    });
    let err = load_error(&dir);
    assert!(err.contains("unexpected") && err.contains("encoder.block.9.mystery.weight"), "{err}");
}

#[test]
fn misshaped_tensor_is_named() {
    let dir = edited_model("shape", |t| {
        let q = t.remove(Q0).unwrap();
        let (rows, cols) = q.dims2().unwrap();
        t.insert(Q0.into(), Tensor::zeros((rows, cols + 1), DType::F32, &Device::Cpu).unwrap());
    });
    let err = load_error(&dir);
    assert!(err.contains(Q0) && err.contains("shape"), "{err}");
}

#[test]
fn integer_weights_are_rejected_by_name() {
    let dir = edited_model("dtype", |t| {
        let q = t.remove(Q0).unwrap();
        t.insert(Q0.into(), q.to_dtype(DType::I64).unwrap());
    });
    let err = load_error(&dir);
    assert!(err.contains(Q0) && err.contains("dtype"), "{err}");
}

/// A model directory whose `model.safetensors` is `bytes`.
fn raw_safetensors(tag: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chatplug-weights-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(source_model().join("config.json"), dir.join("config.json")).unwrap();
    std::fs::write(dir.join("model.safetensors"), bytes).unwrap();
    dir
}

/// A safetensors file: 8-byte header length, the JSON header, then `data`.
fn safetensors_bytes(header: &str, data: &[u8]) -> Vec<u8> {
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend(header.as_bytes());
    out.extend(data);
    out
}

#[test]
fn a_truncated_safetensors_file_is_refused() {
    let whole = std::fs::read(source_model().join("model.safetensors")).unwrap();
    let dir = raw_safetensors("truncated", &whole[..whole.len() / 2]);
    let err = load_error(&dir);
    assert!(err.contains("model.safetensors") && err.contains("not a valid safetensors file"), "{err}");
}

#[test]
fn a_header_length_beyond_the_file_is_refused() {
    let mut bytes = (1u64 << 62).to_le_bytes().to_vec();
    bytes.extend(b"{}");
    let err = load_error(&raw_safetensors("header-length", &bytes));
    assert!(err.contains("not a valid safetensors file"), "{err}");
}

#[test]
fn a_tensor_larger_than_the_file_is_refused_before_allocating() {
    // 2^31 × 2^31 f32 values (16 EiB) declared over 16 bytes of data.
    let header = format!(r#"{{"{Q0}":{{"dtype":"F32","shape":[2147483648,2147483648],"data_offsets":[0,16]}}}}"#);
    let err = load_error(&raw_safetensors("huge-shape", &safetensors_bytes(&header, &[0; 16])));
    assert!(err.contains("not a valid safetensors file"), "{err}");
    // Offsets past the end of the data.
    let header = format!(r#"{{"{Q0}":{{"dtype":"F32","shape":[4],"data_offsets":[0,4096]}}}}"#);
    let err = load_error(&raw_safetensors("past-end", &safetensors_bytes(&header, &[0; 16])));
    assert!(err.contains("not a valid safetensors file"), "{err}");
}
