//! The trainable tensors of a model: one `Var` per HF-named parameter, created fresh (HF's
//! T5 initialisation, seeded), read from a model directory, or saved as safetensors.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor, Var};
use chatplug_model::{Init, ParamSpec, T5Config};
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};

use crate::error::{Result, TrainError};

pub struct Parameters {
    specs: Vec<ParamSpec>,
    vars: Vec<Var>,
    index: HashMap<String, usize>,
}

impl Parameters {
    fn from_parts(parts: Vec<(ParamSpec, Tensor)>) -> Result<Self> {
        let mut specs = Vec::with_capacity(parts.len());
        let mut vars = Vec::with_capacity(parts.len());
        let mut index = HashMap::new();
        for (i, (spec, tensor)) in parts.into_iter().enumerate() {
            index.insert(spec.name.clone(), i);
            vars.push(Var::from_tensor(&tensor.to_dtype(DType::F32)?)?);
            specs.push(spec);
        }
        Ok(Parameters { specs, vars, index })
    }

    /// A fresh model as HF `_init_weights` makes it (same distributions; torch's random
    /// stream itself cannot be reproduced), deterministic for a given seed.
    pub fn init(config: &T5Config, seed: u64, device: &Device) -> Result<Self> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut parts = Vec::new();
        for spec in config.parameters() {
            let n = spec.elem_count();
            let values: Vec<f32> = match spec.init {
                Init::Constant(c) => vec![c as f32; n],
                Init::Normal(std) => {
                    let normal = Normal::new(0.0f64, std).map_err(|e| {
                        TrainError::Input(format!("cannot initialise `{}`: {e}", spec.name))
                    })?;
                    (0..n).map(|_| normal.sample(&mut rng) as f32).collect()
                }
            };
            let tensor = Tensor::from_vec(values, spec.shape.as_slice(), device)?;
            parts.push((spec, tensor));
        }
        Self::from_parts(parts)
    }

    /// Reads the weights of a model directory (every checkpoint format the engine reads).
    pub fn load(config: &T5Config, dir: &Path, device: &Device) -> Result<Self> {
        Self::from_parts(chatplug_model::params::load_parameters(config, dir, device)?)
    }

    /// Writes every parameter under its HF name (tied tensors once, as HF's safetensors do).
    pub fn save(&self, path: &Path, dtype: DType) -> Result<()> {
        let mut map = HashMap::new();
        for (spec, var) in self.specs.iter().zip(&self.vars) {
            map.insert(spec.name.clone(), var.as_tensor().to_dtype(dtype)?);
        }
        candle_core::safetensors::save(&map, path)
            .map_err(|e| TrainError::file(path, format!("cannot write: {e}")))
    }

    pub fn get(&self, name: &str) -> &Tensor {
        match self.index.get(name) {
            Some(&i) => self.vars[i].as_tensor(),
            None => panic!("the model structure asked for `{name}`, which T5Config::parameters does not list"),
        }
    }

    pub fn specs(&self) -> &[ParamSpec] {
        &self.specs
    }

    pub fn vars(&self) -> &[Var] {
        &self.vars
    }

    pub fn count(&self) -> usize {
        self.specs.iter().map(|s| s.elem_count()).sum()
    }
}
