//! The "matcher": one linear layer from the latent code to class logits.

use tch::{nn, Tensor};

/// Latent code `[b, latent_dim]` → class logits `[b, classes]`.
#[derive(Debug)]
pub struct Matcher {
    linear: nn::Linear,
}

impl Matcher {
    /// Builds the layer's variables under `p`.
    pub fn new(p: &nn::Path, latent_dim: i64, classes: i64) -> Matcher {
        Matcher {
            linear: nn::linear(p / "matcher", latent_dim, classes, Default::default()),
        }
    }

    /// Class logits (apply `softmax` for probabilities).
    pub fn forward(&self, z: &Tensor) -> Tensor {
        z.apply(&self.linear)
    }
}
