//! Learning-rate schedules. Step `k` (1-based optimizer step) uses `lr_at(k - 1)`, as a
//! scheduler updated after every step does (XDPX `step_update`, HF `LambdaLR`).

use std::str::FromStr;

use crate::error::TrainError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScheduleKind {
    /// XDPX `one_cycle` with linear annealing: lr/div_factor → lr over the warm-up, then
    /// linearly back to lr/div_factor at the last step.
    OneCycle,
    /// HF `get_linear_schedule_with_warmup`: 0 → lr over the warm-up, then → 0.
    Linear,
    Constant,
}

impl FromStr for ScheduleKind {
    type Err = TrainError;
    fn from_str(s: &str) -> Result<Self, TrainError> {
        match s {
            "one-cycle" | "one_cycle" => Ok(ScheduleKind::OneCycle),
            "linear" => Ok(ScheduleKind::Linear),
            "constant" => Ok(ScheduleKind::Constant),
            other => Err(TrainError::option(
                "schedule",
                format!("`{other}` is not one of one-cycle, linear, constant"),
            )),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    pub kind: ScheduleKind,
    pub lr: f64,
    pub warmup_steps: u64,
    pub total_steps: u64,
    pub div_factor: f64,
}

impl Schedule {
    /// The learning rate after `done` optimizer steps (used by step `done + 1`).
    pub fn lr_at(&self, done: u64) -> f64 {
        let (s, w, total) = (done as f64, self.warmup_steps as f64, self.total_steps as f64);
        match self.kind {
            ScheduleKind::Constant => self.lr,
            ScheduleKind::Linear => {
                if done < self.warmup_steps {
                    self.lr * s / w.max(1.0)
                } else {
                    self.lr * ((total - s) / (total - w).max(1.0)).max(0.0)
                }
            }
            ScheduleKind::OneCycle => {
                let initial = self.lr / self.div_factor;
                let anneal_steps = (total - w).max(1.0);
                if done > self.total_steps {
                    // XDPX keeps the last rate when stepping past the end.
                    initial
                } else if done < self.warmup_steps {
                    (self.lr - initial) * (s / w) + initial
                } else {
                    (initial - self.lr) * ((s - w) / anneal_steps) + self.lr
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(kind: ScheduleKind) -> Schedule {
        Schedule { kind, lr: 1e-3, warmup_steps: 10, total_steps: 110, div_factor: 600.0 }
    }

    #[test]
    fn one_cycle_matches_xdpx_formula() {
        let s = schedule(ScheduleKind::OneCycle);
        assert!((s.lr_at(0) - 1e-3 / 600.0).abs() < 1e-15);
        assert!((s.lr_at(5) - (1e-3 / 600.0 + (1e-3 - 1e-3 / 600.0) * 0.5)).abs() < 1e-15);
        assert!((s.lr_at(10) - 1e-3).abs() < 1e-15);
        assert!((s.lr_at(60) - (1e-3 + (1e-3 / 600.0 - 1e-3) * 0.5)).abs() < 1e-15);
        assert!((s.lr_at(110) - 1e-3 / 600.0).abs() < 1e-15);
    }

    #[test]
    fn linear_matches_hf() {
        let s = schedule(ScheduleKind::Linear);
        assert_eq!(s.lr_at(0), 0.0);
        assert!((s.lr_at(5) - 5e-4).abs() < 1e-15);
        assert!((s.lr_at(10) - 1e-3).abs() < 1e-15);
        assert!((s.lr_at(60) - 5e-4).abs() < 1e-15);
        assert_eq!(s.lr_at(110), 0.0);
    }

    #[test]
    fn names() {
        assert_eq!("one-cycle".parse::<ScheduleKind>().unwrap(), ScheduleKind::OneCycle);
        assert!("cosine".parse::<ScheduleKind>().unwrap_err().to_string().contains("schedule"));
    }
}
