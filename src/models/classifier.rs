//! The MNIST CNNs that score generated digits (class consistency, Fréchet distance, precision and
//! recall on their 128-d penultimate features). Two architectures, so that no single network's
//! habits decide a ranking:
//!
//! - [`ClassifierArch::Lenet`] (the scorer recipes are chosen on): two 5×5 convolutions with
//!   max-pooling, a 128-unit hidden layer (the features) and 10 logits.
//! - [`ClassifierArch::WideBn`] (the held-out scorer, never used to choose anything): three 3×3
//!   convolutions (32, 64, 128 channels, the last two strided instead of pooled), batch
//!   normalisation after every layer, the same 128-unit feature layer.

use serde::{Deserialize, Serialize};
use tch::{nn, Tensor};

/// Which network a [`DigitClassifier`] is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClassifierArch {
    /// LeNet-like, dropout, no normalisation (the first scorer).
    #[default]
    Lenet,
    /// Wider, strided 3×3 convolutions with batch normalisation (the held-out scorer).
    WideBn,
}

/// Image `[b, 1, 28, 28]` in `[0, 1]` → 10 logits; `features` gives the 128-d penultimate layer.
#[derive(Debug)]
pub struct DigitClassifier {
    body: Body,
    fc2: nn::Linear,
}

#[derive(Debug)]
enum Body {
    Lenet {
        conv1: nn::Conv2D,
        conv2: nn::Conv2D,
        fc1: nn::Linear,
    },
    WideBn {
        convs: Vec<(nn::Conv2D, nn::BatchNorm)>,
        fc1: nn::Linear,
        bn1: nn::BatchNorm,
    },
}

/// Width of the feature layer.
pub const FEATURES: i64 = 128;

impl DigitClassifier {
    /// Builds the variables of `arch` under `p`.
    pub fn new(p: &nn::Path, arch: ClassifierArch) -> DigitClassifier {
        let body = match arch {
            ClassifierArch::Lenet => Body::Lenet {
                conv1: nn::conv2d(p / "conv1", 1, 32, 5, Default::default()),
                conv2: nn::conv2d(p / "conv2", 32, 64, 5, Default::default()),
                fc1: nn::linear(p / "fc1", 64 * 16, FEATURES, Default::default()),
            },
            ClassifierArch::WideBn => {
                let convs = [(1, 32, 1), (32, 64, 2), (64, 128, 2)]
                    .iter()
                    .enumerate()
                    .map(|(i, &(cin, cout, stride))| {
                        let cfg = nn::ConvConfig {
                            stride,
                            padding: 1,
                            bias: false,
                            ..Default::default()
                        };
                        (
                            nn::conv2d(p / format!("conv{}", i + 1), cin, cout, 3, cfg),
                            nn::batch_norm2d(p / format!("bn{}", i + 1), cout, Default::default()),
                        )
                    })
                    .collect();
                Body::WideBn {
                    convs,
                    fc1: nn::linear(p / "fc1", 128 * 49, FEATURES, Default::default()),
                    bn1: nn::batch_norm1d(p / "bn_fc1", FEATURES, Default::default()),
                }
            }
        };
        DigitClassifier {
            body,
            fc2: nn::linear(p / "fc2", FEATURES, 10, Default::default()),
        }
    }

    /// The 128-d features (after ReLU) of images in `[0, 1]`.
    pub fn features(&self, x: &Tensor, train: bool) -> Tensor {
        match &self.body {
            Body::Lenet { conv1, conv2, fc1 } => x
                .apply(conv1)
                .max_pool2d_default(2)
                .relu()
                .apply(conv2)
                .max_pool2d_default(2)
                .relu()
                .view([-1, 64 * 16])
                .dropout(0.25, train)
                .apply(fc1)
                .relu(),
            Body::WideBn { convs, fc1, bn1 } => {
                let mut h = x.shallow_clone();
                for (conv, bn) in convs {
                    h = h.apply(conv).apply_t(bn, train).relu();
                }
                h.view([-1, 128 * 49]).apply(fc1).apply_t(bn1, train).relu()
            }
        }
    }

    /// Class logits.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let drop = match self.body {
            Body::Lenet { .. } => 0.5,
            Body::WideBn { .. } => 0.3,
        };
        self.features(x, train)
            .dropout(drop, train)
            .apply(&self.fc2)
    }
}
