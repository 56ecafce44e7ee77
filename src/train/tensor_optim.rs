//! SGD with momentum, RMSprop and Adam written with tensor operations (any device), their state
//! kept here so that a checkpoint can carry it and a resumed run continues exactly.
//!
//! The updates are PyTorch's (`torch.optim.SGD` without dampening or Nesterov, `RMSprop`
//! uncentred, `Adam` with L2 weight decay added to the gradient). For Adam on `f32` CPU
//! parameters the one-pass [`super::fused_adam::FusedAdam`] is used instead.

use tch::{Kind, Tensor};

/// Which update, with its constants.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    /// `buf = momentum·buf + g; p -= lr·buf` (plain SGD when momentum is 0).
    Sgd {
        /// Momentum.
        momentum: f64,
    },
    /// `sq = α·sq + (1-α)·g²; p -= lr·g/(√sq + ε)`, through a momentum buffer when momentum > 0.
    RmsProp {
        /// Smoothing constant α.
        alpha: f64,
        /// Momentum.
        momentum: f64,
    },
    /// Adam with bias-corrected moments.
    Adam {
        /// β1.
        beta1: f64,
        /// β2.
        beta2: f64,
    },
}

/// An optimizer over a fixed list of parameters; two state slots per parameter.
#[derive(Debug)]
pub struct TensorOptimizer {
    params: Vec<Tensor>,
    slots: [Vec<Tensor>; 2],
    rule: Rule,
    lr: f64,
    weight_decay: f64,
    eps: f64,
    steps: i64,
}

impl TensorOptimizer {
    /// An optimizer over `params` with zeroed state.
    pub fn new(params: Vec<Tensor>, rule: Rule, lr: f64, weight_decay: f64) -> TensorOptimizer {
        let zeros = || params.iter().map(|p| p.zeros_like()).collect::<Vec<_>>();
        TensorOptimizer {
            slots: [zeros(), zeros()],
            params,
            rule,
            lr,
            weight_decay,
            eps: 1e-8,
            steps: 0,
        }
    }

    /// Sets the learning rate for the next steps.
    pub fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    /// Zeroes every gradient.
    pub fn zero_grad(&mut self) {
        for p in &mut self.params {
            p.zero_grad();
        }
    }

    /// One update of every parameter that has a gradient.
    pub fn step(&mut self) {
        self.steps += 1;
        let (lr, wd, eps, steps) = (self.lr, self.weight_decay, self.eps, self.steps);
        let rule = self.rule;
        let [s0, s1] = &mut self.slots;
        tch::no_grad(|| {
            for ((p, a), b) in self.params.iter_mut().zip(s0.iter_mut()).zip(s1.iter_mut()) {
                let g = p.grad();
                if !g.defined() {
                    continue;
                }
                let g = if wd != 0.0 { &g + &*p * wd } else { g };
                match rule {
                    Rule::Sgd { momentum } => {
                        if momentum != 0.0 {
                            let _ = a.g_mul_scalar_(momentum).g_add_(&g);
                            let _ = p.g_add_(&(&*a * -lr));
                        } else {
                            let _ = p.g_add_(&(&g * -lr));
                        }
                    }
                    Rule::RmsProp { alpha, momentum } => {
                        let _ = a.g_mul_scalar_(alpha).g_add_(&(&g * &g * (1.0 - alpha)));
                        let avg = a.sqrt() + eps;
                        if momentum > 0.0 {
                            let _ = b.g_mul_scalar_(momentum).g_add_(&(&g / &avg));
                            let _ = p.g_add_(&(&*b * -lr));
                        } else {
                            let _ = p.g_add_(&(&g / &avg * -lr));
                        }
                    }
                    Rule::Adam { beta1, beta2 } => {
                        let bc1 = 1.0 - beta1.powi(steps as i32);
                        let bc2 = 1.0 - beta2.powi(steps as i32);
                        let _ = a.g_mul_scalar_(beta1).g_add_(&(&g * (1.0 - beta1)));
                        let _ = b.g_mul_scalar_(beta2).g_add_(&(&g * &g * (1.0 - beta2)));
                        let denom = b.sqrt() / bc2.sqrt() + eps;
                        let _ = p.g_add_(&(&*a / denom * (-lr / bc1)));
                    }
                }
            }
        });
    }

    /// The state as named tensors: `steps` and `slot0.<i>`, `slot1.<i>` per parameter.
    pub fn state(&self) -> Vec<(String, Tensor)> {
        let mut out = vec![("steps".to_string(), Tensor::from(self.steps))];
        for (s, slot) in self.slots.iter().enumerate() {
            for (i, t) in slot.iter().enumerate() {
                out.push((format!("slot{s}.{i}"), t.shallow_clone()));
            }
        }
        out
    }

    /// Restores [`TensorOptimizer::state`]; fails, changing nothing, when it does not fit.
    pub fn load_state(&mut self, get: &dyn Fn(&str) -> Option<Tensor>) -> anyhow::Result<()> {
        let [a, b] = &mut self.slots;
        let steps = load_slots(get, [a, b])?;
        self.steps = steps;
        Ok(())
    }
}

/// Reads the step count and both state slots of every parameter from `get` (names as
/// [`TensorOptimizer::state`] writes them) into `slots`, checking every shape first. Returns the
/// step count; on any misfit nothing is changed.
pub(crate) fn load_slots(
    get: &dyn Fn(&str) -> Option<Tensor>,
    slots: [&mut Vec<Tensor>; 2],
) -> anyhow::Result<i64> {
    let steps = get("steps").ok_or_else(|| anyhow::anyhow!("no optimizer step count"))?;
    let mut loaded: Vec<Vec<Tensor>> = Vec::new();
    for (s, list) in slots.iter().enumerate() {
        let mut one = Vec::new();
        for (i, t) in list.iter().enumerate() {
            let v = get(&format!("slot{s}.{i}"))
                .ok_or_else(|| anyhow::anyhow!("optimizer state slot{s}.{i} is missing"))?;
            anyhow::ensure!(
                v.size() == t.size(),
                "optimizer state slot{s}.{i} has shape {:?}, the parameter {:?}",
                v.size(),
                t.size()
            );
            one.push(v.to_kind(t.kind()).to_device(t.device()));
        }
        loaded.push(one);
    }
    tch::no_grad(|| {
        for (list, new) in slots.into_iter().zip(&loaded) {
            for (t, v) in list.iter_mut().zip(new) {
                t.copy_(v);
            }
        }
    });
    Ok(steps.to_kind(Kind::Int64).int64_value(&[]))
}
