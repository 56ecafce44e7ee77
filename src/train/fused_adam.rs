//! Adam in one pass over memory, for `f32` parameters on the CPU.
//!
//! libtorch's C++ Adam (what `tch::nn::adam` wraps) updates each parameter with about seven
//! tensor operations, each a full pass over the parameter, its gradient or a moment, with
//! temporaries in between. Here one loop reads parameter, gradient and both moments once and
//! writes them back once, which the compiler vectorises. Same update as `torch.optim.Adam`
//! (L2 weight decay added to the gradient, bias-corrected moments, ε outside the square root),
//! equal up to float rounding.

use tch::{Device, Kind, Tensor};

/// Adam over a fixed list of `f32` CPU parameters, moments kept here.
#[derive(Debug)]
pub struct FusedAdam {
    params: Vec<Tensor>,
    exp_avg: Vec<Tensor>,
    exp_avg_sq: Vec<Tensor>,
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    steps: i64,
}

impl FusedAdam {
    /// Whether every one of `params` can be updated here (contiguous `f32` on the CPU).
    pub fn supports(params: &[Tensor]) -> bool {
        params
            .iter()
            .all(|p| p.device() == Device::Cpu && p.kind() == Kind::Float && p.is_contiguous())
    }

    /// Adam over `params` (see [`FusedAdam::supports`]); fails on any other parameter.
    pub fn new(
        params: Vec<Tensor>,
        lr: f64,
        beta1: f64,
        beta2: f64,
        weight_decay: f64,
    ) -> anyhow::Result<FusedAdam> {
        anyhow::ensure!(
            Self::supports(&params),
            "the fused Adam needs contiguous f32 parameters on the CPU"
        );
        let zeros = |p: &Tensor| p.zeros_like();
        Ok(FusedAdam {
            exp_avg: params.iter().map(zeros).collect(),
            exp_avg_sq: params.iter().map(zeros).collect(),
            params,
            lr,
            beta1,
            beta2,
            eps: 1e-8,
            weight_decay,
            steps: 0,
        })
    }

    /// Sets the learning rate for the next steps.
    pub fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    /// The state as named tensors: `steps`, `slot0.<i>` (first moments) and `slot1.<i>`
    /// (second moments), as [`super::tensor_optim::TensorOptimizer::state`] names them.
    pub fn state(&self) -> Vec<(String, Tensor)> {
        let mut out = vec![("steps".to_string(), Tensor::from(self.steps))];
        for (s, slot) in [&self.exp_avg, &self.exp_avg_sq].into_iter().enumerate() {
            for (i, t) in slot.iter().enumerate() {
                out.push((format!("slot{s}.{i}"), t.shallow_clone()));
            }
        }
        out
    }

    /// Restores [`FusedAdam::state`]; fails, changing nothing, when it does not fit.
    pub fn load_state(&mut self, get: &dyn Fn(&str) -> Option<Tensor>) -> anyhow::Result<()> {
        self.steps =
            super::tensor_optim::load_slots(get, [&mut self.exp_avg, &mut self.exp_avg_sq])?;
        Ok(())
    }

    /// Zeroes every gradient.
    pub fn zero_grad(&mut self) {
        for p in &mut self.params {
            p.zero_grad();
        }
    }

    /// One Adam update of every parameter that has a gradient.
    pub fn step(&mut self) {
        self.steps += 1;
        let bc1 = 1.0 - self.beta1.powi(self.steps as i32);
        let bc2 = 1.0 - self.beta2.powi(self.steps as i32);
        let step_size = (self.lr / bc1) as f32;
        let inv_sqrt_bc2 = (1.0 / bc2.sqrt()) as f32;
        let (b1, b2) = (self.beta1 as f32, self.beta2 as f32);
        let (eps, wd) = (self.eps as f32, self.weight_decay as f32);
        tch::no_grad(|| {
            for ((p, m), v) in self.params.iter().zip(&self.exp_avg).zip(&self.exp_avg_sq) {
                let g = p.grad();
                if !g.defined() {
                    continue;
                }
                let g = if g.is_contiguous() && g.kind() == Kind::Float {
                    g
                } else {
                    g.to_kind(Kind::Float).contiguous()
                };
                let n = p.numel();
                assert_eq!(g.numel(), n, "gradient and parameter sizes differ");
                // SAFETY: p, m and v are distinct contiguous f32 CPU tensors of n elements that
                // only this optimizer writes (checked in `new`, m and v made by it); g is
                // contiguous f32 with n elements and only read. No autograd graph holds them
                // during the step (it runs after `backward`, under no_grad).
                let (p, m, v, g) = unsafe {
                    (
                        std::slice::from_raw_parts_mut(p.data_ptr() as *mut f32, n),
                        std::slice::from_raw_parts_mut(m.data_ptr() as *mut f32, n),
                        std::slice::from_raw_parts_mut(v.data_ptr() as *mut f32, n),
                        std::slice::from_raw_parts(g.data_ptr() as *const f32, n),
                    )
                };
                update(p, m, v, g, [b1, b2, step_size, inv_sqrt_bc2, eps, wd]);
            }
        });
    }
}

/// The Adam update of one parameter, element by element.
#[inline(never)]
fn update(p: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32], k: [f32; 6]) {
    let [b1, b2, step_size, inv_sqrt_bc2, eps, wd] = k;
    for (((p, m), v), &g) in p.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(g) {
        let g = g + wd * *p;
        *m = b1 * *m + (1.0 - b1) * g;
        *v = b2 * *v + (1.0 - b2) * g * g;
        *p -= step_size * *m / (v.sqrt() * inv_sqrt_bc2 + eps);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::nn::{self, OptimizerConfig as _};

    #[test]
    fn matches_libtorch_adam_over_many_steps() {
        tch::manual_seed(3);
        let a = nn::VarStore::new(Device::Cpu);
        let _ = nn::linear(a.root() / "l", 7, 5, Default::default());
        let mut b = nn::VarStore::new(Device::Cpu);
        let _ = nn::linear(b.root() / "l", 7, 5, Default::default());
        b.copy(&a).unwrap();
        let mut reference = nn::adam(0.5, 0.999, 1e-3).build(&a, 1e-2).unwrap();
        let mut fused = FusedAdam::new(b.trainable_variables(), 1e-2, 0.5, 0.999, 1e-3).unwrap();
        let x = Tensor::randn([16, 7], (Kind::Float, Device::Cpu));
        for step in 0..50 {
            if step == 25 {
                reference.set_lr(3e-3);
                fused.set_lr(3e-3);
            }
            for (vs, is_fused) in [(&a, false), (&b, true)] {
                let w = vs.variables();
                let y = x.matmul(&w["l.weight"].tr()) + &w["l.bias"];
                let loss = (y.sin() * 3.0).sum(Kind::Float);
                if is_fused {
                    fused.zero_grad();
                    loss.backward();
                    fused.step();
                } else {
                    reference.backward_step(&loss);
                }
            }
        }
        let (wa, wb) = (a.variables(), b.variables());
        for k in ["l.weight", "l.bias"] {
            let diff = (&wa[k] - &wb[k]).abs().max().double_value(&[]);
            assert!(diff < 1e-5, "{k} differs by {diff}");
            assert!(!wa[k].equal(&Tensor::zeros_like(&wa[k])));
        }
    }

    #[test]
    fn refuses_parameters_it_cannot_update() {
        let p = Tensor::zeros([3], (Kind::Double, Device::Cpu)).set_requires_grad(true);
        let err = FusedAdam::new(vec![p], 1e-3, 0.9, 0.999, 0.0)
            .unwrap_err()
            .to_string();
        assert!(err.contains("f32"), "{err}");
    }
}
