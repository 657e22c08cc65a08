//! AdamW exactly as `torch.optim.AdamW` (single-tensor path, decoupled weight decay), with
//! the reference's parameter groups, and gradient clipping as `clip_grad_norm_`.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Tensor, Var};

use crate::error::{Result, TrainError};
use crate::params::Parameters;

#[derive(Debug, Clone, Copy)]
pub struct AdamWConfig {
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    /// The learning rate of T5's relative position bias tables, as a multiple of the
    /// others' (1 = one rate for all, as torch's recipe). A model trained from scratch
    /// gets its only notion of word order from these few values, and Adam moves a value
    /// by about the rate a step: at 5e-4 a head needs thousands of steps to prefer "the
    /// previous token" by the few units that ordered copying needs (data/demo/train/RUNS.md).
    pub position_bias_lr_scale: f64,
}

/// Parameters that [`AdamWConfig::position_bias_lr_scale`] applies to.
pub fn is_position_bias(name: &str) -> bool {
    name.contains("relative_attention_bias")
}

/// XDPX `models/chat.py get_param_groups`: names containing `layer_norm` or `bias` get no
/// weight decay (so T5's `relative_attention_bias` tables are not decayed either).
pub fn decays(name: &str) -> bool {
    !(name.contains("layer_norm") || name.contains("bias"))
}

struct Moments {
    exp_avg: Tensor,
    exp_avg_sq: Tensor,
}

pub struct AdamW {
    config: AdamWConfig,
    /// Optimizer steps taken so far (torch's per-parameter `step`, equal for all).
    step: u64,
    moments: Vec<Moments>,
    decay: Vec<bool>,
    /// Each parameter's learning rate as a multiple of the schedule's.
    lr_scale: Vec<f64>,
}

impl AdamW {
    pub fn new(params: &Parameters, config: AdamWConfig) -> Result<Self> {
        let moments = params
            .vars()
            .iter()
            .map(|v| {
                Ok(Moments {
                    exp_avg: v.as_tensor().zeros_like()?,
                    exp_avg_sq: v.as_tensor().zeros_like()?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let decay = params.specs().iter().map(|s| decays(&s.name)).collect();
        let lr_scale = params
            .specs()
            .iter()
            .map(|s| if is_position_bias(&s.name) { config.position_bias_lr_scale } else { 1.0 })
            .collect();
        Ok(AdamW { config, step: 0, moments, decay, lr_scale })
    }

    pub fn steps_taken(&self) -> u64 {
        self.step
    }

    /// One update of every parameter with its gradient (`grads[i]` for `vars[i]`).
    pub fn step(&mut self, vars: &[Var], grads: &[Tensor], lr: f64) -> Result<()> {
        self.step += 1;
        let c = self.config;
        let step = self.step as f64;
        let bias_correction1 = 1.0 - c.beta1.powf(step);
        let bias_correction2 = 1.0 - c.beta2.powf(step);
        let bias_correction2_sqrt = bias_correction2.sqrt();
        for (i, (var, grad)) in vars.iter().zip(grads).enumerate() {
            let decay = if self.decay[i] { c.weight_decay } else { 0.0 };
            let m = &mut self.moments[i];
            // A scale of 1 leaves torch's arithmetic exactly as it is (x · 1.0 is x).
            let lr = lr * self.lr_scale[i];
            let step_size = lr / bias_correction1;
            let update = Update { lr, decay, step_size, bias_correction2_sqrt, config: c };
            if var.device().is_cpu() {
                update.fused_cpu(var, grad, m)?;
            } else {
                update.with_tensor_ops(var, grad, m)?;
            }
        }
        Ok(())
    }

    pub fn save(&self, params: &Parameters, path: &Path) -> Result<()> {
        let mut map = HashMap::new();
        for (spec, m) in params.specs().iter().zip(&self.moments) {
            map.insert(format!("exp_avg/{}", spec.name), m.exp_avg.clone());
            map.insert(format!("exp_avg_sq/{}", spec.name), m.exp_avg_sq.clone());
        }
        let step = Tensor::new(&[self.step as f64], &candle_core::Device::Cpu)?;
        map.insert("step".to_string(), step);
        candle_core::safetensors::save(&map, path)
            .map_err(|e| TrainError::file(path, format!("cannot write: {e}")))
    }

    pub fn restore(&mut self, params: &Parameters, path: &Path) -> Result<()> {
        let device = params.vars()[0].device().clone();
        let map = candle_core::safetensors::load(path, &device)
            .map_err(|e| TrainError::file(path, format!("cannot read: {e}")))?;
        let get = |key: &str, shape: &[usize]| -> Result<Tensor> {
            let t = map
                .get(key)
                .ok_or_else(|| TrainError::file(path, format!("missing tensor `{key}`")))?;
            if t.dims() != shape {
                return Err(TrainError::file(path, format!("tensor `{key}` has shape {:?}, expected {shape:?}", t.dims())));
            }
            Ok(t.clone())
        };
        for (spec, m) in params.specs().iter().zip(self.moments.iter_mut()) {
            m.exp_avg = get(&format!("exp_avg/{}", spec.name), &spec.shape)?;
            m.exp_avg_sq = get(&format!("exp_avg_sq/{}", spec.name), &spec.shape)?;
        }
        let step = get("step", &[1])?.to_dtype(DType::F64)?.to_vec1::<f64>()?[0];
        self.step = step as u64;
        Ok(())
    }
}

/// One parameter's AdamW update, in torch's order of f32 operations.
struct Update {
    lr: f64,
    decay: f64,
    step_size: f64,
    bias_correction2_sqrt: f64,
    config: AdamWConfig,
}

impl Update {
    /// One pass over the elements (CPU): the same f32 arithmetic as the tensor version.
    fn fused_cpu(&self, var: &Var, grad: &Tensor, m: &mut Moments) -> Result<()> {
        let shape = var.as_tensor().shape().clone();
        let mut p = var.as_tensor().flatten_all()?.to_vec1::<f32>()?;
        let g = grad.flatten_all()?.to_vec1::<f32>()?;
        let mut ea = m.exp_avg.flatten_all()?.to_vec1::<f32>()?;
        let mut eas = m.exp_avg_sq.flatten_all()?.to_vec1::<f32>()?;
        let keep = (1.0 - self.lr * self.decay) as f32;
        let (w1, b2, w2) = ((1.0 - self.config.beta1) as f32, self.config.beta2 as f32, (1.0 - self.config.beta2) as f32);
        let (bc2, eps, step_size) = (self.bias_correction2_sqrt as f32, self.config.eps as f32, self.step_size as f32);
        for i in 0..p.len() {
            if self.decay != 0.0 {
                p[i] *= keep;
            }
            ea[i] += (g[i] - ea[i]) * w1;
            eas[i] = eas[i] * b2 + g[i] * g[i] * w2;
            let denom = eas[i].sqrt() / bc2 + eps;
            p[i] -= (ea[i] / denom) * step_size;
        }
        let device = var.device();
        var.set(&Tensor::from_vec(p, &shape, device)?)?;
        m.exp_avg = Tensor::from_vec(ea, &shape, device)?;
        m.exp_avg_sq = Tensor::from_vec(eas, &shape, device)?;
        Ok(())
    }

    /// Tensor ops (any device).
    fn with_tensor_ops(&self, var: &Var, grad: &Tensor, m: &mut Moments) -> Result<()> {
        let c = self.config;
        let mut param = var.as_tensor().clone();
        if self.decay != 0.0 {
            param = (param * (1.0 - self.lr * self.decay))?;
        }
        // exp_avg.lerp_(grad, 1 - beta1): self + w·(end − self) for w < 0.5.
        m.exp_avg = (&m.exp_avg + ((grad - &m.exp_avg)? * (1.0 - c.beta1))?)?;
        m.exp_avg_sq = ((&m.exp_avg_sq * c.beta2)? + (grad.sqr()? * (1.0 - c.beta2))?)?;
        let denom = ((m.exp_avg_sq.sqrt()? / self.bias_correction2_sqrt)? + c.eps)?;
        param = (param - (m.exp_avg.div(&denom)? * self.step_size)?)?;
        var.set(&param)?;
        Ok(())
    }
}

/// `torch.nn.utils.clip_grad_norm_(params, max_norm)`: the L2 norm of all gradients together
/// (the norm of the per-tensor norms); gradients are scaled by `max_norm / (norm + 1e-6)`
/// when that is below 1. Returns the norm before clipping.
pub fn clip_grad_norm(grads: &mut [Tensor], max_norm: f64) -> Result<f64> {
    let mut norms = Vec::with_capacity(grads.len());
    for g in grads.iter() {
        norms.push(g.sqr()?.sum_all()?.sqrt()?);
    }
    let total = Tensor::stack(&norms, 0)?.sqr()?.sum_all()?.sqrt()?.to_scalar::<f32>()? as f64;
    let coef = max_norm / (total + 1e-6);
    if coef < 1.0 {
        for g in grads.iter_mut() {
            *g = (&*g * coef)?;
        }
    }
    Ok(total)
}
