//! A small CNN for MNIST, used to score generated digits (class consistency, Fréchet distance on
//! its penultimate features). LeNet-like: two 5×5 convolutions with max-pooling, a 128-unit
//! hidden layer (the feature layer) and 10 logits.

use tch::{nn, Tensor};

/// Image `[b, 1, 28, 28]` in `[0, 1]` → 10 logits; `features` gives the 128-d penultimate layer.
#[derive(Debug)]
pub struct DigitClassifier {
    conv1: nn::Conv2D,
    conv2: nn::Conv2D,
    fc1: nn::Linear,
    fc2: nn::Linear,
}

/// Width of the feature layer.
pub const FEATURES: i64 = 128;

impl DigitClassifier {
    /// Builds the variables under `p`.
    pub fn new(p: &nn::Path) -> DigitClassifier {
        DigitClassifier {
            conv1: nn::conv2d(p / "conv1", 1, 32, 5, Default::default()),
            conv2: nn::conv2d(p / "conv2", 32, 64, 5, Default::default()),
            fc1: nn::linear(p / "fc1", 64 * 16, FEATURES, Default::default()),
            fc2: nn::linear(p / "fc2", FEATURES, 10, Default::default()),
        }
    }

    /// The 128-d features (after ReLU) of images in `[0, 1]`.
    pub fn features(&self, x: &Tensor, train: bool) -> Tensor {
        x.apply(&self.conv1)
            .max_pool2d_default(2)
            .relu()
            .apply(&self.conv2)
            .max_pool2d_default(2)
            .relu()
            .view([-1, 64 * 16])
            .dropout(0.25, train)
            .apply(&self.fc1)
            .relu()
    }

    /// Class logits.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        self.features(x, train).dropout(0.5, train).apply(&self.fc2)
    }
}
