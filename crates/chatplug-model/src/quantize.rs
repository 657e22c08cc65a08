//! `chatplug quantize`: a model directory saved with its linear maps in int8, so that
//! loading reads a quarter of the bytes and does not quantize again.
//!
//! The output is the input directory's files (config, tokenizer) and one `model.safetensors`
//! with the tensors under the model's own names: each linear map's weight as int8 (out, in)
//! plus its block scales as f32 (out, in/32) under `<name>_scale`
//! ([`crate::weights::INT8_SCALE_SUFFIX`]), every other tensor the model uses as f32. The
//! values are exactly those `--precision int8` computes on load, so both give the same
//! outputs. Tensors the model ignores (tied copies, buffers) are left out.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device};

use crate::architecture::Architecture;
use crate::error::{ModelError, Result};
use crate::int8::Int8Matrix;
use crate::weights::{WeightStore, CHECKPOINT_FILES, INT8_SCALE_SUFFIX};
use crate::Precision;

/// What was written.
#[derive(Debug, Clone, serde::Serialize)]
pub struct QuantizeReport {
    pub out: PathBuf,
    pub linear_maps: usize,
    pub other_tensors: usize,
    pub bytes_written: u64,
    pub copied_files: Vec<String>,
}

/// Quantizes the model of `dir` into `out` (created; must not hold a checkpoint already).
pub fn quantize_int8(dir: &Path, out: &Path) -> Result<QuantizeReport> {
    if dir == out {
        return Err(ModelError::file(out, "the output directory is the model directory"));
    }
    if let Some(existing) = CHECKPOINT_FILES.iter().map(|f| out.join(f)).find(|p| p.exists()) {
        return Err(ModelError::file(&existing, "already exists; choose an empty output directory"));
    }
    // Loading the model in int8 tells which tensors it takes and as what.
    let store = match Architecture::of_dir(dir)? {
        Architecture::FidT5 => {
            let mut store = WeightStore::open(dir, DType::F32, &Device::Cpu)?;
            store.set_precision(Precision::Int8);
            let config = crate::T5Config::from_file(&dir.join("config.json"))?;
            crate::FidT5::from_store(config, &mut store, &Device::Cpu)?;
            store
        }
        Architecture::FidPlug => {
            let mut store = WeightStore::open_mapped(dir, DType::F32, &Device::Cpu, &crate::plug::keys::plug_key)?;
            store.set_precision(Precision::Int8);
            let config = crate::plug::PlugConfig::from_file(&dir.join("config.json"))?;
            crate::plug::FidPlug::from_store(config, &mut store, &Device::Cpu)?;
            store
        }
    };
    let linear: std::collections::HashSet<String> = store.linear_names().iter().cloned().collect();

    // Owned bytes first; the views written below borrow them.
    let mut tensors: Vec<(String, safetensors::Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
    let (mut linear_maps, mut other_tensors) = (0, 0);
    let names: Vec<String> = store.names().map(str::to_string).collect();
    for name in names {
        if !store.was_read(&name) {
            continue;
        }
        let tensor = store.read_f32(&name).map_err(|e| match linear.contains(&name) {
            true => ModelError::file(dir, format!("cannot quantize `{name}` (is the model quantized already?): {e}")),
            false => e,
        })?;
        if linear.contains(&name) {
            let (out_dim, in_dim) = tensor.dims2()?;
            let matrix = Int8Matrix::quantize(&tensor.flatten_all()?.to_vec1::<f32>()?, out_dim, in_dim);
            let (values, scales) = matrix.parts();
            let blocks = scales.len() / out_dim.max(1);
            tensors.push((name.clone(), safetensors::Dtype::I8, vec![out_dim, in_dim], values.iter().map(|&v| v as u8).collect()));
            tensors.push((format!("{name}{INT8_SCALE_SUFFIX}"), safetensors::Dtype::F32, vec![out_dim, blocks], f32_bytes(&scales)));
            linear_maps += 1;
        } else {
            let values = tensor.flatten_all()?.to_vec1::<f32>()?;
            tensors.push((name.clone(), safetensors::Dtype::F32, tensor.dims().to_vec(), f32_bytes(&values)));
            other_tensors += 1;
        }
    }
    drop(store);

    std::fs::create_dir_all(out).map_err(|e| ModelError::file(out, format!("cannot create: {e}")))?;
    let views = tensors
        .iter()
        .map(|(name, dtype, shape, bytes)| {
            safetensors::tensor::TensorView::new(*dtype, shape.clone(), bytes)
                .map(|view| (name.clone(), view))
                .map_err(|e| ModelError::file(out, format!("tensor `{name}`: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let metadata = HashMap::from([
        ("format".to_string(), "pt".to_string()),
        ("chatplug_quantization".to_string(), "int8, blocks of 32, f32 scales".to_string()),
    ]);
    let path = out.join("model.safetensors");
    safetensors::tensor::serialize_to_file(views, Some(metadata), &path)
        .map_err(|e| ModelError::file(&path, format!("cannot write: {e}")))?;
    let bytes_written = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);

    let copied_files = copy_other_files(dir, out)?;
    Ok(QuantizeReport { out: out.to_path_buf(), linear_maps, other_tensors, bytes_written, copied_files })
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Copies the directory's files other than checkpoints (config, tokenizer, generation
/// config...): what makes the output a model directory of its own.
fn copy_other_files(dir: &Path, out: &Path) -> Result<Vec<String>> {
    let mut copied = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| ModelError::file(dir, format!("cannot list: {e}")))?;
    for entry in entries {
        let entry = entry.map_err(|e| ModelError::file(dir, format!("cannot list: {e}")))?;
        let name = entry.file_name().to_string_lossy().to_string();
        let is_checkpoint = name.ends_with(".safetensors")
            || name.ends_with(".bin")
            || name.ends_with(".pt")
            || name.ends_with(".index.json");
        if is_checkpoint || !entry.path().is_file() {
            continue;
        }
        std::fs::copy(entry.path(), out.join(&name)).map_err(|e| ModelError::file(&entry.path(), format!("cannot copy: {e}")))?;
        copied.push(name);
    }
    copied.sort();
    Ok(copied)
}
