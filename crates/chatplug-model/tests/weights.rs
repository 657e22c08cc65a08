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
