//! Loading copies each tensor out of the mapped checkpoint and releases the mapped pages it
//! copied from, so the resident memory grows by the tensor, not by the tensor twice (issue
//! 11: peak RSS of a loaded model close to the weights' size). Its own test binary: resident
//! memory is per process, and other tests would move it.

use std::path::Path;

use candle_core::{DType, Device};
use chatplug_model::weights::WeightStore;

/// This process's resident memory in bytes (Linux).
fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux /proc");
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

fn write_checkpoint(dir: &Path, values: usize) {
    let bytes: Vec<u8> = (0..values).flat_map(|i| (i as f32 * 1e-3).to_le_bytes()).collect();
    let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![values / 1024, 1024], &bytes).unwrap();
    safetensors::serialize_to_file([("big.weight", view)], None, &dir.join("model.safetensors")).unwrap();
}

#[test]
fn a_loaded_tensor_costs_its_size_once() {
    let dir = tempfile::tempdir().unwrap();
    let values = 16 << 20; // 64 MiB of f32
    write_checkpoint(dir.path(), values);
    let size = (values * 4) as f64;

    let mut store = WeightStore::open(dir.path(), DType::F32, &Device::Cpu).unwrap();
    let before = resident_bytes();
    let tensor = store.take("big.weight", &[values / 1024, 1024]).unwrap();
    let grown = (resident_bytes() - before) as f64;
    assert_eq!(tensor.get(3).unwrap().get(5).unwrap().to_scalar::<f32>().unwrap(), (3 * 1024 + 5) as f32 * 1e-3);
    // The copy (1×) plus, without the release, the mapped file's pages (another 1×).
    assert!(grown < 1.4 * size, "resident memory grew by {:.0} MiB for a {:.0} MiB tensor", grown / 1048576.0, size / 1048576.0);
}
