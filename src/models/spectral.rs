//! Spectral normalisation (Miyato et al., 2018): a layer's weight divided by its largest
//! singular value, so that the layer is 1-Lipschitz and a discriminator built from such layers
//! cannot grow arbitrarily steep around the data.
//!
//! The singular value is estimated by power iteration: a vector `u` per layer (stored with the
//! weights, not trained) is refined by one step on every training forward pass, so over many
//! steps it tracks the top singular vector of the slowly changing weight.

use tch::{nn, Kind, Tensor};

/// The power-iteration state of one weight with `rows` output units.
#[derive(Debug)]
pub struct SpectralNorm {
    /// Estimate of the top left-singular vector, `[rows]`, unit length.
    u: Tensor,
}

impl SpectralNorm {
    /// A random unit `u` named `u` under `p` (saved and loaded with the weights, not trained).
    pub fn new(p: &nn::Path, rows: i64) -> SpectralNorm {
        let mut u = p.zeros_no_train("u", &[rows]);
        tch::no_grad(|| {
            let r = Tensor::randn([rows], (Kind::Float, u.device()));
            u.copy_(&unit(&r));
        });
        SpectralNorm { u }
    }

    /// `w / σ(w)`, `w` read as a matrix of `rows` rows (convolution kernels flattened per output
    /// channel). One power-iteration step refines `u` when `train`; otherwise `u` is only read.
    /// The gradient flows through `σ` as well as `w` (the estimate's vectors are constants).
    pub fn normalize(&self, w: &Tensor, train: bool) -> Tensor {
        let m = w.view([self.u.size()[0], -1]);
        let (u, v) = tch::no_grad(|| {
            let v = unit(&m.tr().mv(&self.u));
            let u = unit(&m.mv(&v));
            (u, v)
        });
        if train {
            let mut stored = self.u.shallow_clone();
            tch::no_grad(|| stored.copy_(&u));
        }
        let sigma = u.dot(&m.mv(&v));
        w / sigma
    }
}

/// A linear layer whose weight is spectrally normalised when built with `sn`.
#[derive(Debug)]
pub struct Linear {
    /// The layer (its weight as trained, before normalisation).
    pub layer: nn::Linear,
    /// The power-iteration state, stored as `<layer>.u`; None: a plain layer.
    pub sn: Option<SpectralNorm>,
}

impl Linear {
    /// Wraps `layer`, built under `p` with `rows` outputs.
    pub fn new(p: &nn::Path, layer: nn::Linear, rows: i64, sn: bool) -> Linear {
        let sn = sn.then(|| SpectralNorm::new(p, rows));
        Linear { layer, sn }
    }

    /// `x Wᵀ + b`, `W` normalised if spectral.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        match &self.sn {
            None => x.apply(&self.layer),
            Some(sn) => x.linear(&sn.normalize(&self.layer.ws, train), self.layer.bs.as_ref()),
        }
    }
}

/// A 4×4 convolution with stride 2 and padding 1 (the discriminator's), its kernel spectrally
/// normalised when built with `sn`.
#[derive(Debug)]
pub struct Down {
    /// The convolution (its kernel as trained).
    pub layer: nn::Conv2D,
    /// The power-iteration state, stored as `<layer>.u`; None: a plain convolution.
    pub sn: Option<SpectralNorm>,
}

impl Down {
    /// Wraps `layer`, a stride-2 padding-1 convolution built under `p` with `rows` output
    /// channels.
    pub fn new(p: &nn::Path, layer: nn::Conv2D, rows: i64, sn: bool) -> Down {
        let sn = sn.then(|| SpectralNorm::new(p, rows));
        Down { layer, sn }
    }

    /// The convolution of `x`, its kernel normalised if spectral.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        match &self.sn {
            None => x.apply(&self.layer),
            Some(sn) => x.conv2d(
                &sn.normalize(&self.layer.ws, train),
                self.layer.bs.as_ref(),
                [2, 2],
                [1, 1],
                [1, 1],
                1,
            ),
        }
    }
}

/// `x / ‖x‖` (a tiny floor keeps a zero vector finite).
fn unit(x: &Tensor) -> Tensor {
    x / (x.norm().clamp_min(1e-12))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn power_iteration_converges_to_the_largest_singular_value() {
        tch::manual_seed(3);
        let vs = nn::VarStore::new(Device::Cpu);
        let sn = SpectralNorm::new(&vs.root(), 6);
        // Known singular values: an orthogonal 6×6 times diag(5, 2, 1, 1, 0.5, 0.1) times an
        // orthogonal 6×6, reshaped as 6 kernels of 1×2×3 like a convolution weight.
        let orthogonal = || {
            let a = Tensor::randn([6, 6], (Kind::Float, Device::Cpu));
            Tensor::linalg_qr(&a, "reduced").0
        };
        let (q1, q2) = (orthogonal(), orthogonal());
        let s = Tensor::from_slice(&[5.0f32, 2.0, 1.0, 1.0, 0.5, 0.1]);
        let w = q1.matmul(&s.diag(0)).matmul(&q2).view([6, 1, 2, 3]);
        for _ in 0..30 {
            let _ = sn.normalize(&w, true);
        }
        // σ = 5: the normalised weight is w / 5 (its singular values 1, 0.4, 0.2, ...).
        let n = sn.normalize(&w, false);
        let err = (&n - &w / 5.0).abs().max().double_value(&[]);
        assert!(err < 1e-5, "normalised weight off w / 5 by {err}");
        // Evaluation reads u without changing it; training moves it.
        let before = Vec::<f32>::try_from(&sn.u).unwrap();
        let _ = sn.normalize(&(&w * 0.5 + w.flip([0]) * 0.5), false);
        assert_eq!(Vec::<f32>::try_from(&sn.u).unwrap(), before);
        let _ = sn.normalize(&(&w * 0.5 + w.flip([0]) * 0.5), true);
        assert_ne!(Vec::<f32>::try_from(&sn.u).unwrap(), before);
        // u is stored, not trained.
        assert!(vs.trainable_variables().is_empty());
        assert_eq!(vs.variables().len(), 1);
    }

    #[test]
    fn wrapped_layers_compute_the_layer_with_the_normalised_weight() {
        tch::manual_seed(4);
        let vs = nn::VarStore::new(Device::Cpu);
        let p = vs.root();
        let conv = nn::conv2d(
            &p / "conv",
            2,
            3,
            4,
            nn::ConvConfig {
                stride: 2,
                padding: 1,
                ..Default::default()
            },
        );
        let lin = nn::linear(&p / "lin", 5, 4, Default::default());
        let x = Tensor::randn([2, 2, 8, 8], (Kind::Float, Device::Cpu));
        let h = Tensor::randn([3, 5], (Kind::Float, Device::Cpu));
        // Without sn the wrappers are the layers.
        let (plain_c, plain_l) = (x.apply(&conv), h.apply(&lin));
        let down = Down::new(&(&p / "conv"), conv, 3, true);
        let linear = Linear::new(&(&p / "lin"), lin, 4, true);
        assert_eq!(vs.variables().len(), 6, "weights, biases and one u each");
        assert!(vs.variables().contains_key("conv.u"));
        // With sn: (y − b) is the plain layer's (y − b) divided by σ, σ = w / normalise(w).
        let check = |y: Tensor, plain: &Tensor, w: &Tensor, b: &Tensor, sn: &SpectralNorm| {
            let sigma = (w / sn.normalize(w, false)).mean(Kind::Float);
            let b = b.view(&[1i64, -1, 1, 1][..y.dim()]);
            let want = (plain - &b) / &sigma + &b;
            let err = (y - want).abs().max().double_value(&[]);
            assert!(err < 1e-5, "{err}");
        };
        let (w, b) = (&down.layer.ws, down.layer.bs.as_ref().unwrap());
        check(
            down.forward_t(&x, false),
            &plain_c,
            w,
            b,
            down.sn.as_ref().unwrap(),
        );
        let (w, b) = (&linear.layer.ws, linear.layer.bs.as_ref().unwrap());
        check(
            linear.forward_t(&h, false),
            &plain_l,
            w,
            b,
            linear.sn.as_ref().unwrap(),
        );
    }

    #[test]
    fn the_gradient_sees_sigma() {
        // d/dw of sum(w / σ(w)) is not 1/σ everywhere: σ depends on w.
        let vs = nn::VarStore::new(Device::Cpu);
        let sn = SpectralNorm::new(&vs.root(), 2);
        let w = Tensor::from_slice(&[3.0f32, 0.0, 0.0, 1.0])
            .view([2, 2])
            .set_requires_grad(true);
        for _ in 0..10 {
            let _ = sn.normalize(&w, true);
        }
        sn.normalize(&w, false).sum(Kind::Float).backward();
        let g = Vec::<f32>::try_from(w.grad().view([-1])).unwrap();
        // σ = w00 (= 3), so f = (w00 + w11 + w01 + w10) / w00: df/dw00 = 1/3 − 4/9, df/dw11 = 1/3.
        assert!((g[0] - (1.0 / 3.0 - 4.0 / 9.0)).abs() < 1e-4, "{g:?}");
        assert!((g[3] - 1.0 / 3.0).abs() < 1e-4, "{g:?}");
    }
}
