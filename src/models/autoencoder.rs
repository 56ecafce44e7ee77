//! The homework's convolutional autoencoder, and the knobs that make it better.
//!
//! Encoder: 3 strided convolutions with ReLU (28→14→7→3), then 2 fully-connected layers with
//! dropout and ReLU; no activation on the latent code. The decoder mirrors it: 2 fully-connected
//! layers with dropout, then 3 transposed convolutions back to 1×28×28.

use serde::{Deserialize, Serialize};
use tch::{nn, nn::ModuleT, Tensor};

/// What the decoder's last layer does to its output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputActivation {
    /// `sigmoid`, so pixels are in `(0, 1)` (the homework's choice).
    Sigmoid,
    /// No activation (pixels may leave `[0, 1]`; figures clamp them).
    Identity,
}

/// Architecture of a [`Autoencoder`]; saved in every run's `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoencoderArch {
    /// Size of the latent code.
    pub latent_dim: i64,
    /// Output channels of the three convolutions (the decoder mirrors them).
    pub channels: [i64; 3],
    /// Width of the hidden fully-connected layer on each side.
    pub hidden: i64,
    /// Dropout probability after each hidden fully-connected layer (the homework: 0.5).
    pub dropout: f64,
    /// Batch normalisation after each (transposed) convolution but the last.
    pub batch_norm: bool,
    /// The decoder's output activation.
    pub output: OutputActivation,
}

impl AutoencoderArch {
    /// The homework's network: channels 8/16/32, 64 hidden units, dropout 0.5, sigmoid output.
    pub fn homework(latent_dim: i64) -> Self {
        AutoencoderArch {
            latent_dim,
            channels: [8, 16, 32],
            hidden: 64,
            dropout: 0.5,
            batch_norm: false,
            output: OutputActivation::Sigmoid,
        }
    }

    /// The improved network (still a 10-d latent by default): wider convolutions with batch norm,
    /// a wider hidden layer and no dropout. Dropout on a 10-unit bottleneck throws away the very
    /// information the decoder needs, which is most of why the homework's model loses to PCA.
    pub fn improved(latent_dim: i64) -> Self {
        AutoencoderArch {
            latent_dim,
            channels: [32, 64, 128],
            hidden: 256,
            dropout: 0.0,
            batch_norm: true,
            output: OutputActivation::Sigmoid,
        }
    }

    /// Checks every field, with a message that says what to change.
    pub fn validate(&self) -> anyhow::Result<()> {
        use crate::limits::{check_range, MAX_CHANNELS, MAX_WIDTH};
        check_range("arch.latent_dim", self.latent_dim, 1, MAX_WIDTH)?;
        check_range("arch.hidden", self.hidden, 1, MAX_WIDTH)?;
        for c in self.channels {
            check_range("every arch.channels entry", c, 1, MAX_CHANNELS)?;
        }
        anyhow::ensure!(
            self.channels.iter().all(|&c| c >= 1),
            "every conv channel count must be at least 1, got {:?}",
            self.channels
        );
        anyhow::ensure!(
            self.hidden >= 1,
            "hidden must be at least 1, got {}",
            self.hidden
        );
        anyhow::ensure!(
            (0.0..1.0).contains(&self.dropout),
            "arch.dropout must be in [0, 1), got {}",
            self.dropout
        );
        crate::limits::check_memory(
            "this autoencoder (arch)",
            crate::limits::training_bytes(self.parameter_count() as f64),
        )?;
        Ok(())
    }

    /// Number of trainable parameters.
    pub fn parameter_count(&self) -> i64 {
        let [c1, c2, c3] = self.channels;
        let conv = |i: i64, o: i64| i * o * 9 + o;
        let bn = |c: i64| if self.batch_norm { 2 * c } else { 0 };
        let flat = c3 * 9;
        let enc = conv(1, c1) + conv(c1, c2) + conv(c2, c3) + bn(c1) + bn(c2) + bn(c3);
        let enc = enc
            + flat * self.hidden
            + self.hidden
            + self.hidden * self.latent_dim
            + self.latent_dim;
        let dec = self.latent_dim * self.hidden + self.hidden + self.hidden * flat + flat;
        let dec = dec + conv(c3, c2) + conv(c2, c1) + conv(c1, 1) + bn(c2) + bn(c1);
        enc + dec
    }
}

#[derive(Debug)]
struct ConvBlock {
    conv: nn::Conv2D,
    bn: Option<nn::BatchNorm>,
}

impl ConvBlock {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let y = x.apply(&self.conv);
        let y = match &self.bn {
            Some(bn) => y.apply_t(bn, train),
            None => y,
        };
        y.relu()
    }
}

#[derive(Debug)]
struct DeconvBlock {
    conv: nn::ConvTranspose2D,
    bn: Option<nn::BatchNorm>,
}

/// The encoder half: image `[b, 1, 28, 28]` → code `[b, latent_dim]`.
#[derive(Debug)]
pub struct Encoder {
    convs: [ConvBlock; 3],
    fc1: nn::Linear,
    fc2: nn::Linear,
    dropout: f64,
    flat: i64,
}

impl Encoder {
    fn new(p: &nn::Path, a: &AutoencoderArch) -> Encoder {
        let [c1, c2, c3] = a.channels;
        let cfg = |padding| nn::ConvConfig {
            stride: 2,
            padding,
            ..Default::default()
        };
        let block = |name: &str, i, o, padding| ConvBlock {
            conv: nn::conv2d(p / name, i, o, 3, cfg(padding)),
            bn: a
                .batch_norm
                .then(|| nn::batch_norm2d(p / format!("{name}_bn"), o, Default::default())),
        };
        Encoder {
            convs: [
                block("conv1", 1, c1, 1),
                block("conv2", c1, c2, 1),
                block("conv3", c2, c3, 0),
            ],
            fc1: nn::linear(p / "fc1", c3 * 9, a.hidden, Default::default()),
            fc2: nn::linear(p / "fc2", a.hidden, a.latent_dim, Default::default()),
            dropout: a.dropout,
            flat: c3 * 9,
        }
    }

    /// Encodes images; `train` turns dropout and batch-norm updates on.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let mut y = x.shallow_clone();
        for b in &self.convs {
            y = b.forward_t(&y, train);
        }
        y.view([-1, self.flat])
            .apply(&self.fc1)
            .relu()
            .dropout(self.dropout, train)
            .apply(&self.fc2)
    }
}

/// The decoder half: code `[b, latent_dim]` → image `[b, 1, 28, 28]`.
#[derive(Debug)]
pub struct Decoder {
    fc1: nn::Linear,
    fc2: nn::Linear,
    deconvs: [DeconvBlock; 3],
    dropout: f64,
    c3: i64,
    output: OutputActivation,
}

impl Decoder {
    fn new(p: &nn::Path, a: &AutoencoderArch) -> Decoder {
        let [c1, c2, c3] = a.channels;
        let block = |name: &str, i, o, padding, output_padding, bn: bool| DeconvBlock {
            conv: nn::conv_transpose2d(
                p / name,
                i,
                o,
                3,
                nn::ConvTransposeConfig {
                    stride: 2,
                    padding,
                    output_padding,
                    ..Default::default()
                },
            ),
            bn: (bn && a.batch_norm)
                .then(|| nn::batch_norm2d(p / format!("{name}_bn"), o, Default::default())),
        };
        Decoder {
            fc1: nn::linear(p / "fc1", a.latent_dim, a.hidden, Default::default()),
            fc2: nn::linear(p / "fc2", a.hidden, c3 * 9, Default::default()),
            deconvs: [
                block("deconv1", c3, c2, 0, 0, true),
                block("deconv2", c2, c1, 1, 1, true),
                block("deconv3", c1, 1, 1, 1, false),
            ],
            dropout: a.dropout,
            c3,
            output: a.output,
        }
    }

    /// Decodes codes to images; `train` turns dropout and batch-norm updates on.
    pub fn forward_t(&self, z: &Tensor, train: bool) -> Tensor {
        let mut y = z
            .apply(&self.fc1)
            .relu()
            .dropout(self.dropout, train)
            .apply(&self.fc2)
            .relu()
            .dropout(self.dropout, train)
            .view([-1, self.c3, 3, 3]);
        for (i, b) in self.deconvs.iter().enumerate() {
            y = y.apply(&b.conv);
            if let Some(bn) = &b.bn {
                y = y.apply_t(bn, train);
            }
            if i < 2 {
                y = y.relu();
            }
        }
        match self.output {
            OutputActivation::Sigmoid => y.sigmoid(),
            OutputActivation::Identity => y,
        }
    }
}

/// Encoder + decoder. Variables live under `encoder/…` and `decoder/…` of the given path.
#[derive(Debug)]
pub struct Autoencoder {
    /// The architecture it was built with.
    pub arch: AutoencoderArch,
    /// Image → code.
    pub encoder: Encoder,
    /// Code → image.
    pub decoder: Decoder,
}

impl Autoencoder {
    /// Builds the model's variables under `p` (validate `arch` first; see [`AutoencoderArch::validate`]).
    pub fn new(p: &nn::Path, arch: &AutoencoderArch) -> Autoencoder {
        Autoencoder {
            arch: arch.clone(),
            encoder: Encoder::new(&(p / "encoder"), arch),
            decoder: Decoder::new(&(p / "decoder"), arch),
        }
    }

    /// Image `[b, 1, 28, 28]` in `[0, 1]` → code `[b, latent_dim]`.
    pub fn encode(&self, x: &Tensor, train: bool) -> Tensor {
        self.encoder.forward_t(x, train)
    }

    /// Code → image.
    pub fn decode(&self, z: &Tensor, train: bool) -> Tensor {
        self.decoder.forward_t(z, train)
    }

    /// The device the weights live on.
    pub fn encoder_device(&self) -> tch::Device {
        self.encoder.fc2.ws.device()
    }
}

impl ModuleT for Autoencoder {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        self.decode(&self.encode(xs, train), train)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn shapes_and_parameter_count() {
        for arch in [AutoencoderArch::homework(10), AutoencoderArch::improved(30)] {
            let vs = nn::VarStore::new(Device::Cpu);
            let ae = Autoencoder::new(&vs.root(), &arch);
            let x = Tensor::rand([5, 1, 28, 28], (Kind::Float, Device::Cpu));
            let z = ae.encode(&x, false);
            assert_eq!(z.size(), [5, arch.latent_dim]);
            let y = ae.forward_t(&x, true);
            assert_eq!(y.size(), [5, 1, 28, 28]);
            let n: i64 = vs
                .trainable_variables()
                .iter()
                .map(|t| t.numel() as i64)
                .sum();
            assert_eq!(n, arch.parameter_count());
        }
    }

    #[test]
    fn invalid_arch_is_refused() {
        let mut a = AutoencoderArch::homework(10);
        a.dropout = 1.0;
        assert!(a.validate().unwrap_err().to_string().contains("dropout"));
        a = AutoencoderArch::homework(0);
        assert!(a.validate().is_err());
    }
}
