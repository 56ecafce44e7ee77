//! Optimizers, reconstruction losses and learning-rate schedules, all from serde configs.

use super::fused_adam::FusedAdam;
use super::tensor_optim::{Rule, TensorOptimizer};
use serde::{Deserialize, Serialize};
use tch::{nn, nn::OptimizerConfig as _, Reduction, Tensor};

/// Which optimizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// Adam (β = 0.9, 0.999).
    Adam,
    /// SGD with momentum.
    Sgd,
    /// RMSprop (α = 0.99).
    RmsProp,
}

impl std::str::FromStr for OptimizerKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "adam" => Ok(OptimizerKind::Adam),
            "sgd" => Ok(OptimizerKind::Sgd),
            "rmsprop" => Ok(OptimizerKind::RmsProp),
            o => Err(format!(
                "unknown optimizer '{o}': expected adam, sgd or rmsprop"
            )),
        }
    }
}

/// Optimizer settings. `weight_decay` is an L2 penalty added to the gradient, as in PyTorch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimizerConfig {
    /// Which optimizer.
    pub kind: OptimizerKind,
    /// Learning rate (> 0).
    pub lr: f64,
    /// L2 weight decay (≥ 0).
    pub weight_decay: f64,
    /// Momentum for SGD and RMSprop.
    pub momentum: f64,
    /// Adam's β1 (0.9 by default; GANs use 0.5).
    #[serde(default = "default_beta1")]
    pub beta1: f64,
}

fn default_beta1() -> f64 {
    0.9
}

impl OptimizerConfig {
    /// Adam with the given learning rate and no weight decay.
    pub fn adam(lr: f64) -> Self {
        OptimizerConfig {
            kind: OptimizerKind::Adam,
            lr,
            weight_decay: 0.0,
            momentum: 0.9,
            beta1: 0.9,
        }
    }

    /// Checks the values, saying what is wrong.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.lr.is_finite() && self.lr > 0.0 && self.lr <= 10.0,
            "optimizer.lr (learning rate) must be in (0, 10], got {}",
            self.lr
        );
        anyhow::ensure!(
            self.weight_decay.is_finite() && self.weight_decay >= 0.0,
            "optimizer.weight_decay must be a number >= 0, got {}",
            self.weight_decay
        );
        anyhow::ensure!(
            (0.0..1.0).contains(&self.momentum),
            "optimizer.momentum must be in [0, 1), got {}",
            self.momentum
        );
        anyhow::ensure!(
            (0.0..1.0).contains(&self.beta1),
            "optimizer.beta1 must be in [0, 1), got {}",
            self.beta1
        );
        Ok(())
    }

    /// Builds the optimizer over every trainable variable of `vs`: for Adam on `f32` CPU
    /// parameters the one-pass [`FusedAdam`], otherwise [`TensorOptimizer`]. Both keep their
    /// state where a checkpoint can save it ([`Optimizer::state`]).
    pub fn build(&self, vs: &nn::VarStore) -> anyhow::Result<Optimizer> {
        self.validate()?;
        let params = vs.trainable_variables();
        let rule = match self.kind {
            OptimizerKind::Adam if FusedAdam::supports(&params) => {
                return Ok(Optimizer::Fused(FusedAdam::new(
                    params,
                    self.lr,
                    self.beta1,
                    0.999,
                    self.weight_decay,
                )?));
            }
            OptimizerKind::Adam => Rule::Adam {
                beta1: self.beta1,
                beta2: 0.999,
            },
            OptimizerKind::Sgd => Rule::Sgd {
                momentum: self.momentum,
            },
            OptimizerKind::RmsProp => Rule::RmsProp {
                alpha: 0.99,
                momentum: self.momentum,
            },
        };
        Ok(Optimizer::Own(TensorOptimizer::new(
            params,
            rule,
            self.lr,
            self.weight_decay,
        )))
    }

    /// As [`OptimizerConfig::build`]; `fused = false` takes libtorch's own optimizer instead
    /// (for benchmarks and comparisons; its state cannot be checkpointed).
    pub fn build_with(&self, vs: &nn::VarStore, fused: bool) -> anyhow::Result<Optimizer> {
        if fused {
            return self.build(vs);
        }
        self.validate()?;
        let opt = match self.kind {
            OptimizerKind::Adam => {
                nn::adam(self.beta1, 0.999, self.weight_decay).build(vs, self.lr)?
            }
            OptimizerKind::Sgd => nn::Sgd {
                momentum: self.momentum,
                dampening: 0.0,
                wd: self.weight_decay,
                nesterov: false,
            }
            .build(vs, self.lr)?,
            OptimizerKind::RmsProp => nn::RmsProp {
                alpha: 0.99,
                eps: 1e-8,
                wd: self.weight_decay,
                momentum: self.momentum,
                centered: false,
            }
            .build(vs, self.lr)?,
        };
        Ok(Optimizer::Torch(opt))
    }
}

/// A built optimizer.
pub enum Optimizer {
    /// The one-pass Adam (f32 parameters on the CPU).
    Fused(FusedAdam),
    /// SGD, RMSprop or Adam with tensor operations (any device).
    Own(TensorOptimizer),
    /// libtorch's optimizer (benchmarks only: its state cannot be saved).
    Torch(nn::Optimizer),
}

impl std::fmt::Debug for Optimizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Optimizer::Fused(_) => "Optimizer::Fused",
            Optimizer::Own(_) => "Optimizer::Own",
            Optimizer::Torch(_) => "Optimizer::Torch",
        })
    }
}

impl Optimizer {
    /// Zeroes the gradients of its parameters.
    pub fn zero_grad(&mut self) {
        match self {
            Optimizer::Fused(o) => o.zero_grad(),
            Optimizer::Own(o) => o.zero_grad(),
            Optimizer::Torch(o) => o.zero_grad(),
        }
    }

    /// One update from the current gradients.
    pub fn step(&mut self) {
        match self {
            Optimizer::Fused(o) => o.step(),
            Optimizer::Own(o) => o.step(),
            Optimizer::Torch(o) => o.step(),
        }
    }

    /// Zero the gradients, backpropagate `loss`, update.
    pub fn backward_step(&mut self, loss: &Tensor) {
        self.zero_grad();
        loss.backward();
        self.step();
    }

    /// Sets the learning rate.
    pub fn set_lr(&mut self, lr: f64) {
        match self {
            Optimizer::Fused(o) => o.set_lr(lr),
            Optimizer::Own(o) => o.set_lr(lr),
            Optimizer::Torch(o) => o.set_lr(lr),
        }
    }

    /// The state a resumed run needs (moments and step count), as named tensors.
    pub fn state(&self) -> anyhow::Result<Vec<(String, Tensor)>> {
        match self {
            Optimizer::Fused(o) => Ok(o.state()),
            Optimizer::Own(o) => Ok(o.state()),
            Optimizer::Torch(_) => {
                anyhow::bail!("libtorch's own optimizer (benchmarks only) cannot be checkpointed")
            }
        }
    }

    /// Restores [`Optimizer::state`] from `get(name)`.
    pub fn load_state(&mut self, get: &dyn Fn(&str) -> Option<Tensor>) -> anyhow::Result<()> {
        match self {
            Optimizer::Fused(o) => o.load_state(get),
            Optimizer::Own(o) => o.load_state(get),
            Optimizer::Torch(_) => {
                anyhow::bail!("libtorch's own optimizer (benchmarks only) cannot be restored")
            }
        }
    }
}

/// Reconstruction loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LossKind {
    /// Mean squared error per pixel.
    Mse,
    /// Mean absolute error per pixel.
    L1,
    /// Huber (smooth L1) with δ = 1; on pixels in `[0, 1]` it equals MSE/2.
    Huber,
}

impl LossKind {
    /// Mean loss over every pixel of the batch.
    pub fn compute(self, pred: &Tensor, target: &Tensor) -> Tensor {
        match self {
            LossKind::Mse => pred.mse_loss(target, Reduction::Mean),
            LossKind::L1 => pred.l1_loss(target, Reduction::Mean),
            LossKind::Huber => pred.huber_loss(target, Reduction::Mean, 1.0),
        }
    }

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            LossKind::Mse => "mse",
            LossKind::L1 => "l1",
            LossKind::Huber => "huber",
        }
    }
}

impl std::str::FromStr for LossKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "mse" => Ok(LossKind::Mse),
            "l1" => Ok(LossKind::L1),
            "huber" => Ok(LossKind::Huber),
            o => Err(format!("unknown loss '{o}': expected mse, l1 or huber")),
        }
    }
}

/// Learning rate as a function of the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase", tag = "kind")]
#[serde(deny_unknown_fields)]
pub enum LrSchedule {
    /// The same rate every epoch (the homework).
    #[default]
    Constant,
    /// Cosine decay from the base rate to `base * min_factor` at the last epoch.
    Cosine {
        /// Final rate as a fraction of the base rate.
        min_factor: f64,
    },
    /// The base rate, then a linear fall over the last `epochs` epochs: the n-th of them
    /// (1-based) runs at `(epochs + 1 − n) / (epochs + 1)` of the base rate, so the last one at
    /// `1 / (epochs + 1)`. The epochs before are step for step those of a constant rate, so a
    /// run can be branched from a constant-rate run's saved state.
    #[serde(rename = "linear_tail")]
    LinearTail {
        /// How many last epochs the fall spans (at least 1, at most the run's epochs).
        epochs: usize,
    },
}

impl LrSchedule {
    /// The rate for `epoch` (0-based) of `epochs`.
    pub fn lr(self, base: f64, epoch: usize, epochs: usize) -> f64 {
        match self {
            LrSchedule::Constant => base,
            LrSchedule::Cosine { min_factor } => {
                let t = if epochs <= 1 {
                    0.0
                } else {
                    epoch as f64 / (epochs - 1) as f64
                };
                let f = min_factor
                    + (1.0 - min_factor) * 0.5 * (1.0 + (std::f64::consts::PI * t).cos());
                base * f
            }
            LrSchedule::LinearTail { epochs: n } => {
                let start = epochs.saturating_sub(n);
                if epoch < start {
                    base
                } else {
                    base * epochs.saturating_sub(epoch) as f64 / (n + 1) as f64
                }
            }
        }
    }

    /// Whether this is [`LrSchedule::Constant`] (the default, left out of saved configs).
    pub fn is_constant(&self) -> bool {
        *self == LrSchedule::Constant
    }

    /// Checks the schedule against a run of `epochs` epochs; `field` names it in the error.
    pub fn validate(&self, field: &str, epochs: usize) -> anyhow::Result<()> {
        match *self {
            LrSchedule::Constant => {}
            LrSchedule::Cosine { min_factor } => anyhow::ensure!(
                (0.0..=1.0).contains(&min_factor),
                "{field}: cosine min_factor must lie in [0, 1] (the final rate as a fraction of \
                 the base rate), got {min_factor}"
            ),
            LrSchedule::LinearTail { epochs: n } => anyhow::ensure!(
                n >= 1 && n <= epochs,
                "{field}: linear_tail epochs ({n}) must lie between 1 and the run's epochs \
                 ({epochs}): the fall spans the last epochs"
            ),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_goes_from_base_to_min() {
        let s = LrSchedule::Cosine { min_factor: 0.1 };
        assert!((s.lr(1.0, 0, 10) - 1.0).abs() < 1e-12);
        assert!((s.lr(1.0, 9, 10) - 0.1).abs() < 1e-12);
        assert_eq!(LrSchedule::Constant.lr(0.5, 3, 10), 0.5);
    }

    #[test]
    fn linear_tail_keeps_the_base_rate_then_falls_over_the_last_epochs() {
        let s = LrSchedule::LinearTail { epochs: 2 };
        let lr: Vec<f64> = (0..3).map(|e| s.lr(1.0, e, 3)).collect();
        assert_eq!(lr, [1.0, 2.0 / 3.0, 1.0 / 3.0]);
        assert_eq!(LrSchedule::LinearTail { epochs: 3 }.lr(1.0, 0, 3), 0.75);
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, r#"{"kind":"linear_tail","epochs":2}"#);
        assert_eq!(serde_json::from_str::<LrSchedule>(&json).unwrap(), s);
        let err = LrSchedule::LinearTail { epochs: 4 }
            .validate("lr_schedule", 3)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("lr_schedule") && err.contains("(4)") && err.contains("(3)"),
            "{err}"
        );
        assert!(LrSchedule::LinearTail { epochs: 0 }
            .validate("s", 3)
            .is_err());
        assert!(LrSchedule::Cosine { min_factor: 1.5 }
            .validate("s", 3)
            .is_err());
        assert!(LrSchedule::Cosine { min_factor: 0.1 }
            .validate("s", 3)
            .is_ok());
    }

    #[test]
    fn bad_optimizer_values_are_refused() {
        let mut c = OptimizerConfig::adam(0.0);
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("learning rate"));
        c.lr = 1e-3;
        c.weight_decay = -1.0;
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("weight_decay"));
    }
}
