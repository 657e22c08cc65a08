//! Finding and reading checkpoint tensors: `model.safetensors`, sharded safetensors with an
//! index, `pytorch_model.bin` (torch zip pickle, optionally sharded), with the ChatPLUG/XDPX
//! training key layouts mapped to HF names.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};

use crate::error::{ModelError, Result};
use crate::int8::Int8Matrix;
use rayon::prelude::*;

/// Where one tensor lives.
struct Entry {
    source: usize,
    original_key: String,
}

enum Source {
    Safetensors(candle_core::safetensors::MmapedSafetensors, PathBuf),
    Pickle(candle_core::pickle::PthTensors, PathBuf),
}

/// The tensors of a checkpoint under their HF names. Tensors are read lazily, converted to the
/// compute dtype, and ticked off as the model takes them, so that leftovers can be reported.
pub struct WeightStore {
    dir: PathBuf,
    sources: Vec<Source>,
    entries: BTreeMap<String, Entry>,
    taken: HashSet<String>,
    dtype: DType,
    device: Device,
    /// What the linear maps convert their weights to as they take them.
    precision: crate::Precision,
    /// The names taken as linear maps' weights, in order (what `quantize` writes in int8).
    linear_names: Vec<String>,
    /// Names accepted unread by [`Self::ignore_if_shaped`].
    ignored: HashSet<String>,
}

/// A linear map's weight as the checkpoint holds it.
pub enum StoredLinear {
    Float(Tensor),
    /// Saved by [`crate::quantize`]: int8 values and their block scales.
    Int8(Int8Matrix),
}

/// The key of an int8 weight's block scales: the weight's key plus this suffix.
pub const INT8_SCALE_SUFFIX: &str = "_scale";

/// Checkpoint file names looked for, in order of preference.
pub const CHECKPOINT_FILES: [&str; 4] = [
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
];

impl WeightStore {
    /// Opens a T5 checkpoint, its keys mapped to HF names ([`hf_key`]).
    pub fn open(dir: &Path, dtype: DType, device: &Device) -> Result<Self> {
        Self::open_mapped(dir, dtype, device, &|key| Some(hf_key(key)))
    }

    /// Opens a checkpoint whose keys `map_key` turns into the model's names; a key it maps
    /// to `None` is dropped unread (as a reference loader drops it).
    pub fn open_mapped(
        dir: &Path,
        dtype: DType,
        device: &Device,
        map_key: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self> {
        let checkpoint_error = |message: String| ModelError::Checkpoint {
            dir: dir.to_path_buf(),
            message,
        };
        let found = CHECKPOINT_FILES
            .iter()
            .map(|name| dir.join(name))
            .find(|p| p.is_file())
            .ok_or_else(|| {
                checkpoint_error(format!(
                    "no weights found; expected one of {}",
                    CHECKPOINT_FILES.join(", ")
                ))
            })?;
        let name = found.file_name().unwrap().to_string_lossy().to_string();
        let files = if name.ends_with(".index.json") {
            shard_files(&found)?
        } else {
            vec![found]
        };
        let mut sources = Vec::with_capacity(files.len());
        for file in files {
            if !file.is_file() {
                return Err(ModelError::file(&file, "shard listed in the index is missing"));
            }
            let source = if file.extension().is_some_and(|e| e == "safetensors") {
                // SAFETY: the file is mapped read-only; like every mmap user we rely on it not
                // being truncated while the model loads.
                let st = unsafe { candle_core::safetensors::MmapedSafetensors::new(&file) }
                    .map_err(|e| ModelError::file(&file, format!("not a valid safetensors file: {e}")))?;
                Source::Safetensors(st, file)
            } else {
                // Bounded before candle's unpickler builds anything (see pickle_guard).
                crate::pickle_guard::check_torch_zip(&file)
                    .map_err(|e| ModelError::file(&file, format!("refused torch checkpoint: {e}")))?;
                // A training run's `{"model": state_dict, ...}` holds the tensors one level
                // down (ModelScope's loaders take `checkpoint["model"]` when present).
                let pth = candle_core::pickle::PthTensors::new(&file, Some("model"))
                    .ok()
                    .filter(|p| !p.tensor_infos().is_empty());
                let pth = match pth {
                    Some(p) => p,
                    None => candle_core::pickle::PthTensors::new(&file, None).map_err(|e| {
                        ModelError::file(&file, format!("not a readable torch checkpoint: {e}"))
                    })?,
                };
                Source::Pickle(pth, file)
            };
            sources.push(source);
        }

        let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
        for (index, source) in sources.iter().enumerate() {
            let keys: Vec<String> = match source {
                Source::Safetensors(st, _) => st.tensors().into_iter().map(|(k, _)| k).collect(),
                Source::Pickle(pth, _) => pth.tensor_infos().keys().cloned().collect(),
            };
            for key in keys {
                let Some(hf_name) = map_key(&key) else {
                    continue;
                };
                if let Some(previous) = entries.get(&hf_name) {
                    return Err(checkpoint_error(format!(
                        "tensors `{}` and `{key}` both map to `{hf_name}`",
                        previous.original_key
                    )));
                }
                entries.insert(
                    hf_name,
                    Entry {
                        source: index,
                        original_key: key,
                    },
                );
            }
        }
        if entries.is_empty() {
            return Err(checkpoint_error("the checkpoint holds no tensors".to_string()));
        }
        Ok(WeightStore {
            dir: dir.to_path_buf(),
            sources,
            entries,
            taken: HashSet::new(),
            dtype,
            device: device.clone(),
            precision: crate::Precision::F32,
            linear_names: Vec::new(),
            ignored: HashSet::new(),
        })
    }

    /// Has the linear maps taken from now on held in `precision`.
    pub fn set_precision(&mut self, precision: crate::Precision) {
        self.precision = precision;
    }

    pub fn precision(&self) -> crate::Precision {
        self.precision
    }

    /// The weight of a linear map, (out, in): stored int8 (a checkpoint written by
    /// [`crate::quantize`], only when the store's precision is int8) or float.
    pub fn take_linear(&mut self, name: &str, out_dim: usize, in_dim: usize) -> Result<StoredLinear> {
        self.linear_names.push(name.to_string());
        if let Some(matrix) = self.take_quantized(name, out_dim, in_dim)? {
            return Ok(StoredLinear::Int8(matrix));
        }
        Ok(StoredLinear::Float(self.take_for_precision(name, &[out_dim, in_dim])?))
    }

    /// [`Self::take`], except that a tensor stored as f32 in a safetensors file is read
    /// straight from the mapped file into memory backed by large pages
    /// ([`copy_to_large_pages`]): in f32 a copy, in bf16 rounded on the way (no f32 copy; the
    /// same rounding as candle's conversion), so loading peaks one f32 tensor lower.
    pub fn take_for_precision(&mut self, name: &str, shape: &[usize]) -> Result<Tensor> {
        let device = self.device.clone();
        let read = match self.precision {
            crate::Precision::F32 => {
                self.with_mapped_f32(name, shape, |values| Tensor::from_vec(copy_to_large_pages(values, |v| v), shape, &device))
            }
            crate::Precision::Bf16 => self.with_mapped_f32(name, shape, |values| {
                Tensor::from_vec(copy_to_large_pages(values, half::bf16::from_f32), shape, &device)
            }),
            crate::Precision::Int8 => None,
        };
        match read {
            Some(tensor) => Ok(tensor?),
            None => self.take(name, shape),
        }
    }

    /// Calls `f` on tensor `name`'s values read in place from the mapped file, when it is
    /// stored there as little-endian f32 of `shape`, aligned; then releases the mapped
    /// pages and marks the tensor read. `None` (nothing read) otherwise.
    fn with_mapped_f32<R>(&mut self, name: &str, shape: &[usize], f: impl FnOnce(&[f32]) -> R) -> Option<R> {
        let entry = self.entries.get(name)?;
        let Source::Safetensors(st, _) = &self.sources[entry.source] else {
            return None;
        };
        let view = st.get(&entry.original_key).ok()?;
        let bytes = view.data();
        let aligned = bytes.as_ptr() as usize % std::mem::align_of::<f32>() == 0;
        if view.dtype() != safetensors::Dtype::F32 || view.shape() != shape || !aligned || cfg!(target_endian = "big") {
            // Another dtype needs converting, a wrong shape gets take's error message, and
            // unaligned or big-endian data a copy.
            return None;
        }
        let len = shape.iter().product();
        // SAFETY: the bytes are aligned for f32, their length is len·4 (safetensors checked
        // the view against its shape and dtype), every bit pattern is a valid f32, and the
        // file stores them little-endian, as this target reads them.
        let values = unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<f32>(), len) };
        let result = f(values);
        release_mapped_pages(bytes);
        self.taken.insert(name.to_string());
        Some(result)
    }

    /// Matrix `name` (out, in) in int8 without an f32 copy, when that is possible: stored
    /// quantized (`chatplug quantize`), or, loading in int8, stored as f32 in a safetensors
    /// file (quantized straight from the mapped file, so loading peaks one f32 tensor lower:
    /// 512 MiB for mT5's vocabulary). `None`: read it with [`Self::take`].
    pub fn take_quantized(&mut self, name: &str, out_dim: usize, in_dim: usize) -> Result<Option<Int8Matrix>> {
        if let Some(matrix) = self.take_int8(name, out_dim, in_dim)? {
            return Ok(Some(matrix));
        }
        if self.precision != crate::Precision::Int8 {
            return Ok(None);
        }
        let matrix = self.with_mapped_f32(name, &[out_dim, in_dim], |values| Int8Matrix::quantize(values, out_dim, in_dim));
        Ok(matrix)
    }

    /// The names taken by [`Self::take_linear`] so far.
    pub fn linear_names(&self) -> &[String] {
        &self.linear_names
    }

    /// Whether the model read tensor `name` (not merely accepted it as ignorable).
    pub fn was_read(&self, name: &str) -> bool {
        self.taken.contains(name) && !self.ignored.contains(name)
    }

    /// Every tensor name of the checkpoint (mapped), in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// An int8 weight and its scales, when the checkpoint stores `name` as int8.
    fn take_int8(&mut self, name: &str, out_dim: usize, in_dim: usize) -> Result<Option<Int8Matrix>> {
        let Some(entry) = self.entries.get(name) else {
            return Ok(None);
        };
        let Source::Safetensors(st, file) = &self.sources[entry.source] else {
            return Ok(None);
        };
        let view = st
            .get(&entry.original_key)
            .map_err(|e| ModelError::file(file, format!("cannot read `{}`: {e}", entry.original_key)))?;
        if view.dtype() != safetensors::Dtype::I8 {
            return Ok(None);
        }
        let error = |message: String| ModelError::file(file, format!("tensor `{}`: {message}", entry.original_key));
        if self.precision != crate::Precision::Int8 {
            return Err(error(format!(
                "stored in int8 (written by `chatplug quantize`); load this model with precision int8, not {}",
                self.precision
            )));
        }
        if view.shape() != [out_dim, in_dim] {
            return Err(error(format!("has shape {:?}, expected {:?} from config.json", view.shape(), [out_dim, in_dim])));
        }
        let values: Vec<i8> = view.data().iter().map(|&b| b as i8).collect();
        let scale_name = format!("{name}{INT8_SCALE_SUFFIX}");
        let scales = match self.entries.get(&scale_name) {
            Some(scale_entry) => self
                .load_entry(scale_entry)
                .0
                .and_then(|t| t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>())
            .map_err(|e| error(format!("cannot read its scales `{scale_name}`: {e}")))?,
            None => return Err(error(format!("int8 values without their scales `{scale_name}`"))),
        };
        let matrix = Int8Matrix::from_parts(values, scales, out_dim, in_dim).map_err(error)?;
        self.taken.insert(name.to_string());
        self.taken.insert(scale_name);
        Ok(Some(matrix))
    }

    /// Reads tensor `name` again as f32, whatever the model did with it (for `quantize`).
    pub fn read_f32(&self, name: &str) -> Result<Tensor> {
        let entry = self.entries.get(name).ok_or_else(|| ModelError::Checkpoint {
            dir: self.dir.clone(),
            message: format!("missing tensor `{name}`"),
        })?;
        let (tensor, file) = self.load_entry(entry);
        tensor
            .and_then(|t| t.to_dtype(DType::F32))
            .map_err(|e| ModelError::file(file, format!("cannot read tensor `{}`: {e}", entry.original_key)))
    }

    /// Reads one entry's tensor as stored, on the CPU, with the file it comes from.
    fn load_entry(&self, entry: &Entry) -> (candle_core::Result<Tensor>, &PathBuf) {
        match &self.sources[entry.source] {
            Source::Safetensors(st, file) => {
                let tensor = st.load(&entry.original_key, &Device::Cpu);
                if tensor.is_ok() {
                    if let Ok(view) = st.get(&entry.original_key) {
                        release_mapped_pages(view.data());
                    }
                }
                (tensor, file)
            }
            Source::Pickle(pth, file) => (
                pth.get(&entry.original_key)
                    .and_then(|t| t.ok_or_else(|| candle_core::Error::Msg("tensor vanished".to_string()))),
                file,
            ),
        }
    }

    pub fn contains(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    /// Reads tensor `name` (HF naming), checks its shape, converts it to the compute dtype.
    pub fn take(&mut self, name: &str, shape: &[usize]) -> Result<Tensor> {
        self.take_optional(name, shape)?.ok_or_else(|| ModelError::Checkpoint {
            dir: self.dir.clone(),
            message: format!("missing tensor `{name}` (expected shape {shape:?})"),
        })
    }

    pub fn take_optional(&mut self, name: &str, shape: &[usize]) -> Result<Option<Tensor>> {
        let Some(entry) = self.entries.get(name) else {
            return Ok(None);
        };
        let (tensor, file) = self.load_entry(entry);
        let tensor = tensor.map_err(|e| {
            ModelError::file(file, format!("cannot read tensor `{}`: {e}", entry.original_key))
        })?;
        if tensor.dims() != shape {
            return Err(ModelError::Checkpoint {
                dir: self.dir.clone(),
                message: format!(
                    "tensor `{}` has shape {:?}, expected {shape:?} from config.json",
                    entry.original_key,
                    tensor.dims()
                ),
            });
        }
        if !matches!(tensor.dtype(), DType::F32 | DType::F16 | DType::BF16) {
            return Err(ModelError::Checkpoint {
                dir: self.dir.clone(),
                message: format!(
                    "tensor `{}` has dtype {:?}; only f32, f16 and bf16 weights are supported",
                    entry.original_key,
                    tensor.dtype()
                ),
            });
        }
        let tensor = tensor.to_dtype(self.dtype)?.to_device(&self.device)?;
        self.taken.insert(name.to_string());
        Ok(Some(tensor))
    }

    /// Accepts, without reading it, a tensor that HF itself ignores when present (tied
    /// copies, an unused bias), as long as its shape is the expected one.
    pub fn ignore_if_shaped(&mut self, name: &str, shape: &[usize]) -> Result<()> {
        let Some(entry) = self.entries.get(name) else {
            return Ok(());
        };
        let stored: Vec<usize> = match &self.sources[entry.source] {
            Source::Safetensors(st, file) => st
                .get(&entry.original_key)
                .map_err(|e| ModelError::file(file, format!("cannot read `{}`: {e}", entry.original_key)))?
                .shape()
                .to_vec(),
            Source::Pickle(pth, _) => pth.tensor_infos()[&entry.original_key].layout.dims().to_vec(),
        };
        if stored != shape {
            return Err(ModelError::Checkpoint {
                dir: self.dir.clone(),
                message: format!(
                    "tensor `{}` has shape {stored:?}, expected {shape:?} from config.json",
                    entry.original_key
                ),
            });
        }
        self.taken.insert(name.to_string());
        self.ignored.insert(name.to_string());
        Ok(())
    }

    /// Fails when the checkpoint holds tensors that the configured model does not use.
    pub fn finish(self) -> Result<()> {
        let extra: Vec<&str> = self
            .entries
            .iter()
            .filter(|(name, _)| !self.taken.contains(*name))
            .map(|(_, e)| e.original_key.as_str())
            .collect();
        if extra.is_empty() {
            return Ok(());
        }
        let shown: Vec<&str> = extra.iter().take(8).copied().collect();
        Err(ModelError::Checkpoint {
            dir: self.dir,
            message: format!(
                "{} unexpected tensor(s) that config.json does not account for: {}{}",
                extra.len(),
                shown.join(", "),
                if extra.len() > shown.len() { ", …" } else { "" }
            ),
        })
    }
}

/// `values` converted into a new vector whose memory is first advised to be backed by
/// transparent huge pages (Linux, `MADV_HUGEPAGE`; the usual `madvise` THP setting), then
/// filled in parallel. Weights are copied out of the mapped file into fresh memory, and
/// first-touching it 4 KiB at a time was most of an f32 load on this project's VM: a profile
/// of loading mT5-base (2.3 GB) put 89 % of it in the kernel zeroing pages (load 2.1-5.5 s;
/// 0.8 s with mimalloc's large pages forced by its environment variable).
fn copy_to_large_pages<S: Copy + Sync, T: Copy + Send>(values: &[S], convert: impl Fn(S) -> T + Sync) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(values.len());
    advise_huge_pages(out.as_mut_ptr().cast::<u8>(), values.len() * std::mem::size_of::<T>());
    out.spare_capacity_mut()[..values.len()]
        .par_chunks_mut(1 << 16)
        .zip(values.par_chunks(1 << 16))
        .for_each(|(dst, src)| dst.iter_mut().zip(src).for_each(|(d, &v)| {
            d.write(convert(v));
        }));
    // SAFETY: the loop above wrote every one of the first `values.len()` elements.
    unsafe { out.set_len(values.len()) };
    out
}

/// Asks the kernel to back the 2 MiB-aligned part of `[start, start + len)`, memory this
/// process owns and has not touched yet, with transparent huge pages. Advice only: nothing
/// changes where the kernel does not support it.
fn advise_huge_pages(start: *mut u8, len: usize) {
    #[cfg(target_os = "linux")]
    {
        const HUGE_PAGE: usize = 2 << 20;
        let first = (start as usize).next_multiple_of(HUGE_PAGE);
        let end = (start as usize + len) / HUGE_PAGE * HUGE_PAGE;
        if end > first {
            // SAFETY: [first, end) lies inside an allocation this process owns; MADV_HUGEPAGE
            // changes how its pages are backed, never their contents.
            unsafe { libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (start, len);
}

/// Drops the pages under `bytes`, part of a read-only file mapping whose tensor has just been
/// copied out, from this process's resident memory. Without it loading holds the mapped file
/// and the copies at once: twice the weights at the peak (mT5-small shape, 1.2 GB of f32:
/// 2.34 GiB). The page cache keeps the data, so reading the tensor again (`quantize` does)
/// faults it back in unchanged; pages the range covers only in part are left alone.
fn release_mapped_pages(bytes: &[u8]) {
    #[cfg(unix)]
    {
        // SAFETY: sysconf has no preconditions.
        let page = match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
            size if size > 0 => size as usize,
            _ => return,
        };
        let start = (bytes.as_ptr() as usize).next_multiple_of(page);
        let end = (bytes.as_ptr() as usize + bytes.len()) / page * page;
        if end > start {
            // SAFETY: [start, end) lies inside the live read-only mapping `bytes` borrows;
            // MADV_DONTNEED on a file mapping only unmaps its pages from this process, and a
            // later read maps the same file contents back, so no observable value changes.
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
        }
    }
    #[cfg(not(unix))]
    let _ = bytes;
}

fn shard_files(index_path: &Path) -> Result<Vec<PathBuf>> {
    let text = std::fs::read_to_string(index_path)
        .map_err(|e| ModelError::file(index_path, format!("cannot read: {e}")))?;
    let index: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| ModelError::file(index_path, format!("not valid JSON: {e}")))?;
    let map = index
        .get("weight_map")
        .and_then(|m| m.as_object())
        .ok_or_else(|| ModelError::file(index_path, "missing object field `weight_map`"))?;
    let dir = index_path.parent().unwrap_or(Path::new("."));
    let mut files = BTreeSet::new();
    for (tensor, file) in map {
        let file = file.as_str().ok_or_else(|| {
            ModelError::file(index_path, format!("`weight_map.{tensor}` is not a file name"))
        })?;
        files.insert(dir.join(file));
    }
    Ok(files.into_iter().collect())
}

/// Maps a checkpoint key to the HF `T5ForConditionalGeneration` name.
///
/// ChatPLUG (XDPX `FIDT5Chat`) checkpoints carry a DDP `module.` prefix, a `backbone.`
/// prefix, and the FiD encoder wrapper names `backbone.encoder.encoder.block.N.module.layer…`.
/// The original FiD code saves `encoder.encoder.block.N.module.layer…` without `backbone.`.
pub fn hf_key(key: &str) -> String {
    let mut key = key.to_string();
    if key.starts_with("module.") {
        key = key.replace("module.", "");
    }
    if let Some(rest) = key.strip_prefix("backbone.") {
        key = rest.to_string();
    }
    if let Some(rest) = key.strip_prefix("encoder.encoder.") {
        key = format!("encoder.{}", rest.replace("module.layer", "layer"));
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `weight` (f32 values, 5x40) into a one-tensor checkpoint in `dtype`.
    fn checkpoint(dir: &Path, values: &[f32], dtype: DType) {
        let t = Tensor::from_vec(values.to_vec(), (5, 40), &Device::Cpu).unwrap().to_dtype(dtype).unwrap();
        candle_core::safetensors::save(&std::collections::HashMap::from([("lm_head.weight".to_string(), t)]), dir.join("model.safetensors"))
            .unwrap();
    }

    #[test]
    fn int8_and_bf16_from_the_mapped_file_equal_conversions_of_a_copy() {
        let values: Vec<f32> = (0..200).map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.013).collect();
        let want = Int8Matrix::quantize(&values, 5, 40);
        let dir = tempfile::tempdir().unwrap();
        checkpoint(dir.path(), &values, DType::F32);
        let mut store = WeightStore::open(dir.path(), DType::F32, &Device::Cpu).unwrap();
        assert!(store.take_quantized("lm_head.weight", 5, 40).unwrap().is_none(), "f32 loading keeps f32");
        store.set_precision(crate::Precision::Int8);
        let got = store.take_quantized("lm_head.weight", 5, 40).unwrap().expect("quantized from the mapping");
        assert_eq!(got.parts(), want.parts());
        assert!(store.was_read("lm_head.weight"));
        // bf16 from the mapping: candle's rounding, to the bit.
        let mut store = WeightStore::open(dir.path(), DType::F32, &Device::Cpu).unwrap();
        store.set_precision(crate::Precision::Bf16);
        let got = store.take_for_precision("lm_head.weight", &[5, 40]).unwrap();
        let want = Tensor::from_vec(values.clone(), (5, 40), &Device::Cpu).unwrap().to_dtype(DType::BF16).unwrap();
        assert_eq!(got.dtype(), DType::BF16);
        let bits = |t: &Tensor| t.to_dtype(DType::F32).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(bits(&got), bits(&want));
        // Stored in f16: converted through a copy instead (`take`), not read as f32 bytes.
        let dir = tempfile::tempdir().unwrap();
        checkpoint(dir.path(), &values, DType::F16);
        let mut store = WeightStore::open(dir.path(), DType::F32, &Device::Cpu).unwrap();
        store.set_precision(crate::Precision::Int8);
        assert!(store.take_quantized("lm_head.weight", 5, 40).unwrap().is_none());
        // A wrong shape is left to `take`, which names it.
        assert!(store.take_quantized("lm_head.weight", 40, 5).unwrap().is_none());
    }

    #[test]
    fn chatplug_layouts_map_to_hf_names() {
        assert_eq!(
            hf_key("module.backbone.encoder.encoder.block.3.module.layer.0.SelfAttention.q.weight"),
            "encoder.block.3.layer.0.SelfAttention.q.weight"
        );
        assert_eq!(
            hf_key("backbone.encoder.encoder.block.0.module.layer.1.DenseReluDense.wi_0.weight"),
            "encoder.block.0.layer.1.DenseReluDense.wi_0.weight"
        );
        assert_eq!(
            hf_key("backbone.encoder.encoder.final_layer_norm.weight"),
            "encoder.final_layer_norm.weight"
        );
        assert_eq!(hf_key("module.backbone.lm_head.weight"), "lm_head.weight");
        assert_eq!(
            hf_key("backbone.decoder.block.1.layer.2.layer_norm.weight"),
            "decoder.block.1.layer.2.layer_norm.weight"
        );
        assert_eq!(
            hf_key("encoder.encoder.block.0.module.layer.0.layer_norm.weight"),
            "encoder.block.0.layer.0.layer_norm.weight"
        );
        assert_eq!(hf_key("shared.weight"), "shared.weight");
    }
}
