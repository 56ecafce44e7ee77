//! GAN generators and discriminators for 28×28 digits, pixels in `[-1, 1]`.
//!
//! - [`GanKind::Gan`]: the homework's fully-connected GAN (3 hidden layers with LeakyReLU; tanh
//!   output; dropout in the discriminator).
//! - [`GanKind::AcGan`]: the same with the class: the generator also gets a one-hot label, the
//!   discriminator has a second head with 10 class logits.
//! - [`GanKind::ConvAcGan`]: a DCGAN-style AC-GAN: transposed convolutions with batch norm in the
//!   generator, strided convolutions in the discriminator.

use super::spectral::{Down, Linear};
use serde::{Deserialize, Serialize};
use tch::{nn, Kind, Tensor};

/// Which GAN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GanKind {
    /// Fully connected, unconditional.
    Gan,
    /// Fully connected, class-conditional with an auxiliary classifier.
    AcGan,
    /// Convolutional (DCGAN-style) AC-GAN.
    ConvAcGan,
}

impl GanKind {
    /// All three, in the order they are trained and reported.
    pub const ALL: [GanKind; 3] = [GanKind::Gan, GanKind::AcGan, GanKind::ConvAcGan];

    /// Whether the generator takes a class and the discriminator predicts one.
    pub fn conditional(self) -> bool {
        !matches!(self, GanKind::Gan)
    }

    /// Name as used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            GanKind::Gan => "gan",
            GanKind::AcGan => "acgan",
            GanKind::ConvAcGan => "conv-acgan",
        }
    }
}

impl std::str::FromStr for GanKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "gan" => Ok(GanKind::Gan),
            "acgan" | "ac-gan" => Ok(GanKind::AcGan),
            "conv-acgan" | "conv-ac-gan" => Ok(GanKind::ConvAcGan),
            o => Err(format!(
                "unknown GAN kind '{o}': expected gan, acgan or conv-acgan"
            )),
        }
    }
}

/// Architecture sizes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GanArch {
    /// Which GAN.
    pub kind: GanKind,
    /// Size of the noise vector (default 100).
    pub noise_dim: i64,
    /// Hidden widths of the fully-connected generator (the discriminator uses them reversed).
    pub hidden: [i64; 3],
    /// Dropout in the discriminator.
    pub d_dropout: f64,
    /// LeakyReLU slope.
    pub leaky_slope: f64,
    /// Base channel count of the convolutional models.
    pub conv_channels: i64,
    /// How the weights start. Configs written before this field existed read as `tch`.
    #[serde(default)]
    pub init: WeightInit,
    /// Conditional kinds: add a projection term `⟨embed(y), h⟩` to the discriminator's
    /// real/fake logit, `h` being its last hidden features and `embed` a learned vector per
    /// class (Miyato & Koyama, 2018). The real/fake decision then depends on the class, so the
    /// generator must match each digit's distribution, not only look real and be classified
    /// right. False (the default, and what configs without the field read as): the AC-GAN's
    /// unconditional logit.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub projection: bool,
    /// Spectral normalisation of every discriminator weight (Miyato et al., 2018): each layer
    /// is divided by its largest singular value, so D is 1-Lipschitz layer by layer and its
    /// logit cannot grow steep around the data. It takes the place of D's batch norm, which
    /// the convolutional D then drops (batch statistics would undo the bound). False (the
    /// default, and what configs without the field read as): plain weights.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub spectral_norm: bool,
    /// Minibatch standard deviation (Karras et al., 2018), by group size: D's real/fake head
    /// also sees, for each sample, how much D's last hidden features vary across the group of
    /// this many samples it came in with (standard deviation per feature, averaged over the
    /// features). A generator that draws near-copies gives a small value where real digits give
    /// a larger one, so D can tell a batch that lacks variety and G is pushed to vary. The
    /// class head does not see it. A batch whose size is not a multiple of the group is one
    /// group. 0 (the default, and what configs without the field read as): off.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub minibatch_std: i64,
    /// Packing (PacGAN, Lin et al., 2018), for the unconditional fully connected GAN: D judges
    /// this many images at once, side by side in one input, and gives one real/fake logit per
    /// pack; real packs hold only real digits, fake packs only generated ones. A generator that
    /// over-draws some digits and under-draws others makes packs whose mix of digits real
    /// packs rarely show, so D can punish the imbalance that it cannot see in one image. A
    /// batch that is not a multiple of the pack is completed with its own first images. 1 (the
    /// default, and what configs without the field read as): one image at a time.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub pack: i64,
    /// The convolutional generator's refinement stage, by channels: its last transposed
    /// convolution then draws this many 28×28 feature maps (batch norm, ReLU) instead of the
    /// image itself, and a 3×3 convolution mixes each pixel's neighbourhood of them into the
    /// image. Without it every output pixel is one linear read of the 14×14 maps, so stroke
    /// width and the shape of each stroke's edge can only vary as far as those maps carry it.
    /// 0 (the default, and what configs without the field read as): the image straight from
    /// the 14×14 maps.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub g_refine_channels: i64,
    /// A twin class head in D (TAC-GAN, Gong et al., 2019), for the AC-GANs: a second linear
    /// head on D's features learns to name the digit a *generated* image was asked to be, and
    /// G's class loss becomes the first head's cross-entropy minus the twin's. The AC-GAN's
    /// class loss alone rewards G for drawing the digits its classifier is surest of, which
    /// narrows each digit toward its easiest forms; the twin's term cancels that pull, so the
    /// loss rewards matching each digit's real distribution instead. False (the default, and
    /// what configs without the field read as, and `GanArch::new`'s): no twin. The full
    /// profile's conv AC-GAN sets it (`GanConfig::new`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub twin_classifier: bool,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

fn one() -> i64 {
    1
}

fn is_one(n: &i64) -> bool {
    *n == 1
}

/// The largest `arch.g_refine_channels`: its maps are full-size (28×28 per channel and digit),
/// so a batch of 128 at this width already holds about 100 MB of them per pass.
pub const MAX_REFINE_CHANNELS: i64 = 256;

/// The largest `arch.pack`: PacGAN's gains come with 2 to 4; D's first layer grows with it.
pub const MAX_PACK: i64 = 8;

/// Initial weights of the GAN layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WeightInit {
    /// tch's defaults: weights uniform within ±√(6 / fan_in), conv biases 0, linear biases
    /// within ±1/√fan_in, batch-norm scales uniform in [0, 1].
    #[default]
    Tch,
    /// PyTorch's defaults: weights and biases uniform within ±1/√fan_in, batch-norm scales 1.
    /// √6 times smaller weights than `tch`; the convolutional AC-GAN needs them (99 % class
    /// consistency where `tch` init gave 97 %, see `data/conv_acgan_sweep.json`).
    Torch,
}

impl WeightInit {
    /// The init of both weights and biases of a layer whose PyTorch fan-in is `fan_in`
    /// (uniform within ±1/√fan_in); None: keep tch's defaults for that layer kind.
    fn uniform(self, fan_in: i64) -> Option<nn::Init> {
        let b = 1.0 / (fan_in as f64).sqrt();
        (self == WeightInit::Torch).then_some(nn::Init::Uniform { lo: -b, up: b })
    }

    fn linear(self, p: nn::Path, i: i64, o: i64) -> nn::Linear {
        let mut cfg = nn::LinearConfig::default();
        if let Some(u) = self.uniform(i) {
            cfg.ws_init = u;
            cfg.bs_init = Some(u);
        }
        nn::linear(p, i, o, cfg)
    }

    /// A 4×4 convolution with stride 2 and padding 1 (halves the size).
    fn down(self, p: nn::Path, i: i64, o: i64) -> nn::Conv2D {
        let mut cfg = nn::ConvConfig {
            stride: 2,
            padding: 1,
            ..Default::default()
        };
        if let Some(u) = self.uniform(i * 16) {
            cfg.ws_init = u;
            cfg.bs_init = u;
        }
        nn::conv2d(p, i, o, 4, cfg)
    }

    /// A 4×4 transposed convolution with stride 2 and padding 1 (doubles the size). PyTorch
    /// takes its fan-in from the weight's second dimension, the output channels.
    fn up(self, p: nn::Path, i: i64, o: i64) -> nn::ConvTranspose2D {
        let mut cfg = nn::ConvTransposeConfig {
            stride: 2,
            padding: 1,
            ..Default::default()
        };
        if let Some(u) = self.uniform(o * 16) {
            cfg.ws_init = u;
            cfg.bs_init = u;
        }
        nn::conv_transpose2d(p, i, o, 4, cfg)
    }

    /// A 3×3 convolution with stride 1 and padding 1 (keeps the size).
    fn same(self, p: nn::Path, i: i64, o: i64) -> nn::Conv2D {
        let mut cfg = nn::ConvConfig {
            padding: 1,
            ..Default::default()
        };
        if let Some(u) = self.uniform(i * 9) {
            cfg.ws_init = u;
            cfg.bs_init = u;
        }
        nn::conv2d(p, i, o, 3, cfg)
    }

    fn batch_norm(self, p: nn::Path, c: i64) -> nn::BatchNorm {
        let mut cfg = nn::BatchNormConfig::default();
        if self == WeightInit::Torch {
            cfg.ws_init = nn::Init::Const(1.0);
        }
        nn::batch_norm2d(p, c, cfg)
    }
}

impl GanArch {
    /// Default sizes for a kind: noise 100, hidden 256/512/1024, dropout 0.3, slope 0.2, and 64
    /// base channels for the convolutional models (G: 128×7×7 → 64×14×14 → 1×28×28; D: 64 →
    /// 128 channels). With doubled learning rates, 64 channels beat 32 from two seeds after 40
    /// epochs (`data/gan-variants/`, rows `e40-r01-lr4*`), at about twice the time per epoch
    /// on a CPU. The convolutional kind starts from PyTorch's init, the others from tch's. No
    /// twin class head here: the full profile's conv AC-GAN adds one (`GanConfig::new`).
    pub fn new(kind: GanKind) -> Self {
        GanArch {
            kind,
            noise_dim: 100,
            hidden: [256, 512, 1024],
            d_dropout: 0.3,
            leaky_slope: 0.2,
            // Only the convolutional kinds use it (the fully connected ones write it, unused).
            conv_channels: 64,
            // The fully connected kinds keep tch's init, with which their shipped runs trained.
            init: if kind == GanKind::ConvAcGan {
                WeightInit::Torch
            } else {
                WeightInit::Tch
            },
            projection: false,
            spectral_norm: false,
            minibatch_std: 0,
            pack: 1,
            g_refine_channels: 0,
            twin_classifier: false,
        }
    }

    /// Checks the sizes.
    pub fn validate(&self) -> anyhow::Result<()> {
        use crate::limits::{check_range, MAX_CHANNELS, MAX_WIDTH};
        check_range("arch.noise_dim", self.noise_dim, 1, MAX_WIDTH)?;
        for h in self.hidden {
            check_range("every arch.hidden width", h, 1, MAX_WIDTH)?;
        }
        check_range("arch.conv_channels", self.conv_channels, 1, MAX_CHANNELS)?;
        anyhow::ensure!(
            self.g_refine_channels == 0
                || (1..=MAX_REFINE_CHANNELS).contains(&self.g_refine_channels),
            "arch.g_refine_channels is a channel count: 0 (off) or from 1 to \
             {MAX_REFINE_CHANNELS} (16 or 32 are the usual), got {}",
            self.g_refine_channels
        );
        anyhow::ensure!(
            self.g_refine_channels == 0 || self.kind == GanKind::ConvAcGan,
            "arch.g_refine_channels needs the convolutional generator (kind conv-acgan); {} \
             draws its image with a fully connected layer: set it to 0",
            self.kind.name()
        );
        anyhow::ensure!(
            self.minibatch_std == 0 || (2..=MAX_WIDTH).contains(&self.minibatch_std),
            "arch.minibatch_std is a group size: 0 (off) or from 2 to {MAX_WIDTH} (4 is the usual), got {}",
            self.minibatch_std
        );
        anyhow::ensure!(
            (1..=MAX_PACK).contains(&self.pack),
            "arch.pack is how many images D judges at once: from 1 (off) to {MAX_PACK} (2 to 4 \
             are the usual), got {}",
            self.pack
        );
        anyhow::ensure!(
            self.pack == 1 || self.kind == GanKind::Gan,
            "arch.pack needs the unconditional fully connected GAN (kind gan): the class head of \
             {} judges one image at a time; set arch.pack to 1",
            self.kind.name()
        );
        anyhow::ensure!(
            self.leaky_slope.is_finite() && (0.0..1.0).contains(&self.leaky_slope),
            "arch.leaky_slope must be in [0, 1), got {}",
            self.leaky_slope
        );
        anyhow::ensure!(
            (0.0..1.0).contains(&self.d_dropout),
            "d_dropout must be in [0, 1)"
        );
        anyhow::ensure!(
            !self.projection || self.kind.conditional(),
            "arch.projection needs a class: use it with acgan or conv-acgan, not {}",
            self.kind.name()
        );
        anyhow::ensure!(
            !self.twin_classifier || self.kind.conditional(),
            "arch.twin_classifier is a second class head: use it with acgan or conv-acgan, not {} \
             (it has no class head); set it to false",
            self.kind.name()
        );
        // Fully-connected G and D (noise + 10 classes in, 784 out, and back), or the conv pair.
        let [h0, h1, h2] = self.hidden.map(|h| h as f64);
        let fc = (self.noise_dim as f64 + 10.0) * h0
            + h0 * h1
            + h1 * h2
            + h2 * 794.0
            + (self.pack - 1) as f64 * 784.0 * h2;
        let c = self.conv_channels as f64;
        let r = self.g_refine_channels as f64;
        let conv = (self.noise_dim as f64 + 10.0) * 2.0 * c * 49.0
            + 2.0 * c * c * 16.0
            + c * r.max(1.0) * 16.0
            + r * 9.0;
        crate::limits::check_memory(
            "this GAN (arch)",
            crate::limits::training_bytes(2.0 * fc.max(conv)),
        )?;
        Ok(())
    }
}

/// Images `[b, 784]` as packs `[⌈b / pack⌉, pack · 784]`: each row holds `pack` consecutive
/// images side by side. When `b` is not a multiple of `pack`, the batch is completed with its
/// own first images, so that every image is judged (see `GanArch::pack`).
pub fn packed(x: &Tensor, pack: i64) -> Tensor {
    if pack <= 1 {
        return x.shallow_clone();
    }
    let [b, f] = x.size()[..] else {
        panic!("packed expects [batch, features], got {:?}", x.size())
    };
    let n = (b + pack - 1) / pack * pack;
    let x = if n == b {
        x.shallow_clone()
    } else {
        let idx = Tensor::arange(n, (Kind::Int64, x.device())).remainder(b);
        x.index_select(0, &idx)
    };
    x.view([n / pack, pack * f])
}

/// `h` `[b, f]` with one more column: for each sample, the standard deviation of every feature
/// over its group of `group` consecutive samples (the whole batch when `b` is not a multiple),
/// averaged over the features (see `GanArch::minibatch_std`).
pub fn minibatch_std(h: &Tensor, group: i64) -> Tensor {
    let [b, f] = h.size()[..] else {
        panic!(
            "minibatch_std expects [batch, features], got {:?}",
            h.size()
        )
    };
    let g = if group > 0 && b % group == 0 {
        group
    } else {
        b
    };
    let std = (h.view([b / g, g, f]).var_dim(1, false, false) + 1e-8)
        .sqrt()
        .mean_dim(&[1i64][..], false, Kind::Float);
    let column = std.repeat_interleave_self_int(g, 0, None).view([b, 1]);
    Tensor::cat(&[h, &column], 1)
}

fn leaky(x: Tensor, slope: f64) -> Tensor {
    // tch's `leaky_relu` is fixed at slope 0.01; PReLU with a constant weight is the same function
    // in one op (max(x, slope·x) costs a third more per GAN step, see BENCHMARKS.md).
    // The one-element weight is built once per slope and device (a host-to-device copy on a GPU
    // otherwise), and kept for the thread.
    thread_local! {
        static WEIGHTS: std::cell::RefCell<Vec<(u64, tch::Device, Tensor)>> =
            const { std::cell::RefCell::new(Vec::new()) };
    }
    let key = (slope.to_bits(), x.device());
    WEIGHTS.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some((_, _, w)) = cache.iter().find(|(s, d, _)| (*s, *d) == key) {
            return x.prelu(w);
        }
        let w = Tensor::from_slice(&[slope as f32]).to_device(x.device());
        let y = x.prelu(&w);
        cache.push((key.0, key.1, w));
        y
    })
}

/// One-hot `[b, 10]` floats from `i64` labels.
pub fn one_hot(labels: &Tensor) -> Tensor {
    labels.one_hot(10).to_kind(Kind::Float)
}

/// Noise (and, for conditional kinds, a class) → image `[b, 1, 28, 28]` in `[-1, 1]`.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // built once per run; boxing would only add noise
pub enum Generator {
    /// Fully connected (conditional if built for an AC-GAN).
    Dense {
        /// Layers: 3 hidden + output.
        layers: Vec<nn::Linear>,
        /// Whether a one-hot class is concatenated to the noise.
        conditional: bool,
        /// LeakyReLU slope.
        slope: f64,
    },
    /// DCGAN-style.
    Conv {
        /// Noise + class → 2c×7×7.
        fc: nn::Linear,
        /// Batch norm of the 2c×7×7 map.
        bn0: nn::BatchNorm,
        /// 2c×7×7 → c×14×14.
        up1: nn::ConvTranspose2D,
        /// Its batch norm.
        bn1: nn::BatchNorm,
        /// c×14×14 → 1×28×28 (r×28×28 with a refinement stage).
        up2: nn::ConvTranspose2D,
        /// The refinement stage (`GanArch::g_refine_channels`): the batch norm of the r×28×28
        /// maps and the 3×3 convolution r → 1.
        refine: Option<(nn::BatchNorm, nn::Conv2D)>,
        /// Base channels.
        c: i64,
    },
}

impl Generator {
    /// Builds the generator for `arch` under `p`.
    pub fn new(p: &nn::Path, arch: &GanArch) -> Generator {
        let cond = arch.kind.conditional();
        let input = arch.noise_dim + if cond { 10 } else { 0 };
        match arch.kind {
            GanKind::Gan | GanKind::AcGan => {
                let [h1, h2, h3] = arch.hidden;
                let dims = [input, h1, h2, h3, 784];
                let layers = (0..4)
                    .map(|i| {
                        arch.init
                            .linear(p / format!("fc{}", i + 1), dims[i], dims[i + 1])
                    })
                    .collect();
                Generator::Dense {
                    layers,
                    conditional: cond,
                    slope: arch.leaky_slope,
                }
            }
            GanKind::ConvAcGan => {
                let c = arch.conv_channels;
                let r = arch.g_refine_channels;
                let init = arch.init;
                Generator::Conv {
                    fc: init.linear(p / "fc", input, 2 * c * 49),
                    bn0: init.batch_norm(p / "bn0", 2 * c),
                    up1: init.up(p / "up1", 2 * c, c),
                    bn1: init.batch_norm(p / "bn1", c),
                    up2: init.up(p / "up2", c, r.max(1)),
                    refine: (r > 0)
                        .then(|| (init.batch_norm(p / "bn2", r), init.same(p / "refine", r, 1))),
                    c,
                }
            }
        }
    }

    /// Generates images from noise `[b, noise_dim]` and labels `[b]` (ignored if unconditional).
    pub fn forward_t(&self, z: &Tensor, labels: &Tensor, train: bool) -> Tensor {
        match self {
            Generator::Dense {
                layers,
                conditional,
                slope,
            } => {
                let mut x = if *conditional {
                    Tensor::cat(&[z.shallow_clone(), one_hot(labels)], 1)
                } else {
                    z.shallow_clone()
                };
                for (i, l) in layers.iter().enumerate() {
                    x = x.apply(l);
                    x = if i < 3 { leaky(x, *slope) } else { x.tanh() };
                }
                x.view([-1, 1, 28, 28])
            }
            Generator::Conv {
                fc,
                bn0,
                up1,
                bn1,
                up2,
                refine,
                c,
            } => {
                let x = Tensor::cat(&[z.shallow_clone(), one_hot(labels)], 1)
                    .apply(fc)
                    .view([-1, 2 * c, 7, 7])
                    .apply_t(bn0, train)
                    .relu()
                    .apply(up1)
                    .apply_t(bn1, train)
                    .relu()
                    .apply(up2);
                match refine {
                    Some((bn2, conv)) => x.apply_t(bn2, train).relu().apply(conv).tanh(),
                    None => x.tanh(),
                }
            }
        }
    }

    /// Sets the batch norms' running statistics to "standing statistics" (Brock et al., 2019):
    /// the plain average, over `batches` of noise and labels, of the mean and variance each batch
    /// has in train mode, so that eval-mode samples are normalised as this generator's own
    /// training-mode batches are. Without it the statistics are a momentum-0.1 average over the
    /// last training steps, taken while the weights still moved (or, for a weight average, taken
    /// from the other generator). Nothing to do for the fully connected generators.
    pub fn set_standing_stats(&self, batches: &[(Tensor, Tensor)]) {
        let Generator::Conv {
            fc,
            bn0,
            up1,
            bn1,
            up2,
            refine,
            c,
        } = self
        else {
            return;
        };
        if batches.is_empty() {
            return;
        }
        let mut norms = vec![bn0, bn1];
        norms.extend(refine.as_ref().map(|(bn2, _)| bn2));
        tch::no_grad(|| {
            // Per batch norm, per batch: (mean, unbiased variance) of its input, by channel.
            let stats = |x: &Tensor| {
                let (v, m) = x.var_mean_correction(&[0i64, 2, 3][..], 1, false);
                (m, v)
            };
            let mut per_norm: Vec<Vec<(Tensor, Tensor)>> =
                norms.iter().map(|_| Vec::new()).collect();
            for (z, labels) in batches {
                // Train mode normalises by the batch's own statistics (its update of the
                // running statistics is overwritten below).
                let x0 = Tensor::cat(&[z.shallow_clone(), one_hot(labels)], 1)
                    .apply(fc)
                    .view([-1, 2 * c, 7, 7]);
                let x1 = x0.apply_t(bn0, true).relu().apply(up1);
                per_norm[0].push(stats(&x0));
                per_norm[1].push(stats(&x1));
                if refine.is_some() {
                    per_norm[2].push(stats(&x1.apply_t(bn1, true).relu().apply(up2)));
                }
            }
            for (bn, s) in norms.into_iter().zip(per_norm) {
                let (m, v): (Vec<Tensor>, Vec<Tensor>) = s.into_iter().unzip();
                let average = |t: &[Tensor]| Tensor::stack(t, 0).mean_dim(0, false, None);
                bn.running_mean.shallow_clone().copy_(&average(&m));
                bn.running_var.shallow_clone().copy_(&average(&v));
            }
        });
    }
}

/// Image → real/fake logit `[b]` (`[⌈b / pack⌉]` with `GanArch::pack`) and, for AC-GANs, class
/// logits `[b, 10]`.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // built once per run; boxing would only add noise
pub enum Discriminator {
    /// Fully connected.
    Dense {
        /// 3 hidden layers.
        layers: Vec<Linear>,
        /// Real/fake head.
        adv: Linear,
        /// Class head (AC-GAN).
        cls: Option<Linear>,
        /// Twin class head, trained on generated digits (`GanArch::twin_classifier`).
        twin: Option<Linear>,
        /// Class embedding of the projection term (`GanArch::projection`).
        proj: Option<nn::Embedding>,
        /// Group size of the minibatch standard deviation (0: off).
        mbstd: i64,
        /// Images judged together (`GanArch::pack`; 1: one at a time).
        pack: i64,
        /// Dropout probability.
        dropout: f64,
        /// LeakyReLU slope.
        slope: f64,
    },
    /// Strided convolutions.
    Conv {
        /// 1×28×28 → c×14×14.
        conv1: Down,
        /// c×14×14 → 2c×7×7.
        conv2: Down,
        /// Its batch norm (None with spectral normalisation).
        bn2: Option<nn::BatchNorm>,
        /// Real/fake head.
        adv: Linear,
        /// Class head.
        cls: Linear,
        /// Twin class head, trained on generated digits (`GanArch::twin_classifier`).
        twin: Option<Linear>,
        /// Class embedding of the projection term (`GanArch::projection`).
        proj: Option<nn::Embedding>,
        /// Group size of the minibatch standard deviation (0: off).
        mbstd: i64,
        /// Dropout probability.
        dropout: f64,
        /// LeakyReLU slope.
        slope: f64,
        /// Base channels.
        c: i64,
    },
}

impl Discriminator {
    /// Builds the discriminator for `arch` under `p`.
    pub fn new(p: &nn::Path, arch: &GanArch) -> Discriminator {
        let proj = |dim: i64| {
            arch.projection
                .then(|| nn::embedding(p / "proj", 10, dim, Default::default()))
        };
        let sn = arch.spectral_norm;
        let mbstd = (arch.minibatch_std > 0) as i64;
        let linear = |name: &str, i: i64, o: i64| {
            Linear::new(&(p / name), arch.init.linear(p / name, i, o), o, sn)
        };
        match arch.kind {
            GanKind::Gan | GanKind::AcGan => {
                let [h1, h2, h3] = arch.hidden;
                let dims = [784 * arch.pack, h3, h2, h1];
                let layers = (0..3)
                    .map(|i| linear(&format!("fc{}", i + 1), dims[i], dims[i + 1]))
                    .collect();
                Discriminator::Dense {
                    layers,
                    adv: linear("adv", h1 + mbstd, 1),
                    cls: arch.kind.conditional().then(|| linear("cls", h1, 10)),
                    proj: proj(h1),
                    // Built last, so that the other layers start as they do without it.
                    twin: (arch.twin_classifier && arch.kind.conditional())
                        .then(|| linear("twin", h1, 10)),
                    mbstd: arch.minibatch_std,
                    pack: arch.pack,
                    dropout: arch.d_dropout,
                    slope: arch.leaky_slope,
                }
            }
            GanKind::ConvAcGan => {
                let c = arch.conv_channels;
                let init = arch.init;
                let down = |name: &str, i: i64, o: i64| {
                    Down::new(&(p / name), init.down(p / name, i, o), o, sn)
                };
                Discriminator::Conv {
                    conv1: down("conv1", 1, c),
                    conv2: down("conv2", c, 2 * c),
                    bn2: (!sn).then(|| init.batch_norm(p / "bn2", 2 * c)),
                    adv: linear("adv", 2 * c * 49 + mbstd, 1),
                    cls: linear("cls", 2 * c * 49, 10),
                    proj: proj(2 * c * 49),
                    // Built last, so that the other layers start as they do without it.
                    twin: arch.twin_classifier.then(|| linear("twin", 2 * c * 49, 10)),
                    mbstd: arch.minibatch_std,
                    dropout: arch.d_dropout,
                    slope: arch.leaky_slope,
                    c,
                }
            }
        }
    }

    /// Real/fake logits `[b]` and class logits `[b, 10]` (None for the plain GAN), without the
    /// projection term (see [`Discriminator::forward_labeled`]).
    pub fn forward_t(&self, x: &Tensor, train: bool) -> (Tensor, Option<Tensor>) {
        self.forward_labeled(x, None, train)
    }

    /// As [`Discriminator::forward_t`]; with `labels` and a discriminator built with
    /// `GanArch::projection`, the real/fake logit gets the projection term `⟨embed(y), h⟩`.
    pub fn forward_labeled(
        &self,
        x: &Tensor,
        labels: Option<&Tensor>,
        train: bool,
    ) -> (Tensor, Option<Tensor>) {
        let heads = self.forward_heads(x, labels, train);
        (heads.adv, heads.cls)
    }

    /// Every head's logits for `x`, as [`Discriminator::forward_labeled`] plus the twin class
    /// head's (`GanArch::twin_classifier`), all read from the same features.
    pub fn forward_heads(&self, x: &Tensor, labels: Option<&Tensor>, train: bool) -> Heads {
        let (h, adv, cls, twin, proj, mbstd) = match self {
            Discriminator::Dense {
                layers,
                adv,
                cls,
                twin,
                proj,
                mbstd,
                pack,
                dropout,
                slope,
            } => {
                let mut h = packed(&x.view([-1, 784]), *pack);
                for l in layers {
                    h = leaky(l.forward_t(&h, train), *slope).dropout(*dropout, train);
                }
                (h, adv, cls.as_ref(), twin, proj, *mbstd)
            }
            Discriminator::Conv {
                conv1,
                conv2,
                bn2,
                adv,
                cls,
                twin,
                proj,
                mbstd,
                dropout,
                slope,
                c,
            } => {
                let h = leaky(conv1.forward_t(x, train), *slope).dropout(*dropout, train);
                let mut h = conv2.forward_t(&h, train);
                if let Some(bn) = bn2 {
                    h = h.apply_t(bn, train);
                }
                let h = leaky(h, *slope)
                    .dropout(*dropout, train)
                    .view([-1, 2 * c * 49]);
                (h, adv, Some(cls), twin, proj, *mbstd)
            }
        };
        let mut logit = if mbstd > 0 {
            adv.forward_t(&minibatch_std(&h, mbstd), train)
        } else {
            adv.forward_t(&h, train)
        }
        .view([-1]);
        if let (Some(e), Some(y)) = (proj, labels) {
            logit += (y.apply(e) * &h).sum_dim_intlist(1, false, Kind::Float);
        }
        Heads {
            adv: logit,
            cls: cls.map(|c| c.forward_t(&h, train)),
            twin: twin.as_ref().map(|t| t.forward_t(&h, train)),
        }
    }
}

/// The discriminator's outputs for a batch ([`Discriminator::forward_heads`]).
#[derive(Debug)]
pub struct Heads {
    /// Real/fake logits `[b]` (`[⌈b / pack⌉]` with `GanArch::pack`), with the projection term
    /// when labels were given.
    pub adv: Tensor,
    /// Class logits `[b, 10]` (AC-GANs).
    pub cls: Option<Tensor>,
    /// Twin class logits `[b, 10]` (`GanArch::twin_classifier`).
    pub twin: Option<Tensor>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn packed_puts_consecutive_images_side_by_side_and_completes_the_last_pack() {
        let x =
            Tensor::from_slice(&[0.0f32, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]).view([5, 2]);
        assert!(packed(&x, 1).equal(&x));
        let p = packed(&x, 2);
        assert_eq!(p.size(), [3, 4]);
        let rows: Vec<f32> = Vec::try_from(p.view([-1])).unwrap();
        // Images 0 and 1, 2 and 3, then 4 and (the batch's first again) 0.
        assert_eq!(
            rows,
            vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 0.0, 1.0]
        );
        // A batch smaller than the pack is repeated to fill it.
        let one = packed(&x.narrow(0, 0, 1), 3);
        assert_eq!(
            Vec::<f32>::try_from(one.view([-1])).unwrap(),
            vec![0.0, 1.0, 0.0, 1.0, 0.0, 1.0]
        );
    }

    #[test]
    fn leaky_is_leaky_relu_with_the_given_slope() {
        let x = Tensor::from_slice(&[-2.0f32, -0.5, 0.0, 1.5]);
        let y = Vec::<f32>::try_from(leaky(x, 0.2)).unwrap();
        assert_eq!(y, vec![-0.4, -0.1, 0.0, 1.5]);
    }

    #[test]
    fn torch_init_bounds_weights_by_the_fan_in_and_sets_batch_norm_scales_to_one() {
        let arch = GanArch::new(GanKind::ConvAcGan);
        assert_eq!(arch.init, WeightInit::Torch);
        let vs = nn::VarStore::new(Device::Cpu);
        let _g = Generator::new(&vs.root(), &arch);
        let _d = Discriminator::new(&(vs.root() / "d"), &arch);
        let c = arch.conv_channels;
        // PyTorch's fan-in of each weight (transposed convolutions: output channels × 4 × 4).
        let fans = [
            ("fc.weight", arch.noise_dim + 10),
            ("up1.weight", c * 16),
            ("up2.weight", 16),
            ("d.conv1.weight", 16),
            ("d.conv2.weight", c * 16),
            ("d.cls.weight", 2 * c * 49),
        ];
        let vars = vs.variables();
        for (name, fan) in fans {
            let bound = 1.0 / (fan as f64).sqrt();
            let m = vars[name].abs().max().double_value(&[]);
            assert!(
                m <= bound && m > 0.5 * bound,
                "{name}: max {m}, bound {bound}"
            );
        }
        for name in ["bn0.weight", "bn1.weight", "d.bn2.weight"] {
            assert_eq!(vars[name].min().double_value(&[]), 1.0, "{name}");
        }
        // tch's init (the fully connected kinds and old configs) is √6 times wider.
        let old = GanArch {
            init: WeightInit::Tch,
            ..arch.clone()
        };
        let vs = nn::VarStore::new(Device::Cpu);
        let _g = Generator::new(&vs.root(), &old);
        let m = vs.variables()["up1.weight"].abs().max().double_value(&[]);
        assert!(m > 1.5 / ((c * 16) as f64).sqrt(), "{m}");
        let json = serde_json::json!({"kind": "ac-gan", "noise_dim": 100, "hidden": [256, 512, 1024],
            "d_dropout": 0.3, "leaky_slope": 0.2, "conv_channels": 64});
        let read: GanArch = serde_json::from_value(json).unwrap();
        assert_eq!(read.init, WeightInit::Tch);
    }

    #[test]
    fn minibatch_std_appends_each_groups_mean_feature_spread() {
        // Group [0, 0], [2, 4]: feature spreads 1 and 2, mean 1.5; group [1, 1], [1, 1]: 0
        // (plus the 1e-8 under the root).
        let h = Tensor::from_slice(&[0.0f32, 0.0, 2.0, 4.0, 1.0, 1.0, 1.0, 1.0]).view([4, 2]);
        let out = minibatch_std(&h, 2);
        assert_eq!(out.size(), [4, 3]);
        assert!(out.narrow(1, 0, 2).equal(&h));
        let col = Vec::<f32>::try_from(out.select(1, 2)).unwrap();
        for (got, want) in col.iter().zip([1.5, 1.5, 1e-4, 1e-4]) {
            assert!((got - want).abs() < 1e-6, "{col:?}");
        }
        // A batch of 3 is not a multiple of 2: one group of three. Feature 0 is 0, 2, 1
        // (std √(2/3)), feature 1 is 0, 4, 1 (std √(26/9)).
        let out = minibatch_std(&h.narrow(0, 0, 3), 2);
        let want = ((2.0f64 / 3.0).sqrt() + (26.0f64 / 9.0).sqrt()) / 2.0;
        for got in Vec::<f32>::try_from(out.select(1, 2)).unwrap() {
            assert!((got as f64 - want).abs() < 1e-5, "{got} vs {want}");
        }
    }

    #[test]
    fn standing_stats_make_eval_mode_normalise_as_train_mode_did_on_those_batches() {
        let gvs = nn::VarStore::new(Device::Cpu);
        let g = Generator::new(&gvs.root(), &GanArch::new(GanKind::ConvAcGan));
        let z = Tensor::randn([64, 100], (Kind::Float, Device::Cpu));
        let y = Tensor::arange(64, (Kind::Int64, Device::Cpu)).remainder(10);
        // Train mode normalises by the batch's own statistics, whatever the running ones are.
        let train = tch::no_grad(|| g.forward_t(&z, &y, true));
        let eval = |g: &Generator| tch::no_grad(|| g.forward_t(&z, &y, false));
        let gap = |g: &Generator| (eval(g) - &train).abs().max().double_value(&[]);
        // The running statistics (fresh, then one momentum step) are not this batch's.
        assert!(gap(&g) > 1e-2, "{}", gap(&g));
        // Two halves of the batch: their average is close to the whole batch's statistics.
        let halves = [
            (z.narrow(0, 0, 32), y.narrow(0, 0, 32)),
            (z.narrow(0, 32, 32), y.narrow(0, 32, 32)),
        ];
        g.set_standing_stats(&halves);
        assert!(gap(&g) < 0.05, "{}", gap(&g));
        // One batch: eval mode then reproduces train mode on it (up to N/(N-1) in the variance).
        g.set_standing_stats(&[(z.shallow_clone(), y.shallow_clone())]);
        assert!(gap(&g) < 1e-3, "{}", gap(&g));
        // Nothing to set in the fully connected generator, and no batches change nothing.
        let dense = Generator::new(&(gvs.root() / "fc"), &GanArch::new(GanKind::Gan));
        dense.set_standing_stats(&halves);
        let before = eval(&g);
        g.set_standing_stats(&[]);
        assert!(eval(&g).equal(&before));
    }

    #[test]
    fn a_twin_class_head_reads_the_same_features_and_is_off_unless_asked() {
        for kind in [GanKind::AcGan, GanKind::ConvAcGan] {
            let arch = GanArch {
                twin_classifier: true,
                ..GanArch::new(kind)
            };
            let vs = nn::VarStore::new(Device::Cpu);
            let d = Discriminator::new(&vs.root(), &arch);
            let vars = vs.variables();
            let width = vars["cls.weight"].size()[1];
            assert_eq!(vars["twin.weight"].size(), [10, width], "{kind:?}");
            let x = Tensor::rand([6, 1, 28, 28], (Kind::Float, Device::Cpu));
            let h = tch::no_grad(|| d.forward_heads(&x, None, false));
            assert_eq!(h.twin.as_ref().unwrap().size(), [6, 10]);
            // The twin is a separate head: its logits are not the class head's.
            assert!(!h.twin.unwrap().equal(&h.cls.unwrap()));
            let (adv, _) = tch::no_grad(|| d.forward_t(&x, false));
            assert!(adv.equal(&h.adv));
        }
        let plain = GanArch::new(GanKind::ConvAcGan);
        let vs = nn::VarStore::new(Device::Cpu);
        let d = Discriminator::new(&vs.root(), &plain);
        assert!(!vs.variables().contains_key("twin.weight"));
        let x = Tensor::rand([2, 1, 28, 28], (Kind::Float, Device::Cpu));
        assert!(tch::no_grad(|| d.forward_heads(&x, None, false))
            .twin
            .is_none());
        let json = serde_json::to_value(&plain).unwrap();
        assert!(json.get("twin_classifier").is_none(), "{json}");
        let read: GanArch = serde_json::from_value(json).unwrap();
        assert!(!read.twin_classifier);
    }

    #[test]
    fn a_refinement_stage_draws_maps_at_28_by_28_and_mixes_them_into_the_image() {
        let arch = GanArch {
            g_refine_channels: 16,
            ..GanArch::new(GanKind::ConvAcGan)
        };
        arch.validate().unwrap();
        let vs = nn::VarStore::new(Device::Cpu);
        let g = Generator::new(&vs.root(), &arch);
        let vars = vs.variables();
        let c = arch.conv_channels;
        // up2 now draws 16 maps (weights [in, out, 4, 4]); the 3×3 convolution mixes them.
        assert_eq!(vars["up2.weight"].size(), [c, 16, 4, 4]);
        assert_eq!(vars["bn2.weight"].size(), [16]);
        assert_eq!(vars["refine.weight"].size(), [1, 16, 3, 3]);
        let bound = 1.0 / (16.0f64 * 9.0).sqrt();
        let m = vars["refine.weight"].abs().max().double_value(&[]);
        assert!(
            m <= bound && m > 0.5 * bound,
            "refine: max {m}, bound {bound}"
        );
        let z = Tensor::randn([64, 100], (Kind::Float, Device::Cpu));
        let y = Tensor::arange(64, (Kind::Int64, Device::Cpu)).remainder(10);
        let x = tch::no_grad(|| g.forward_t(&z, &y, true));
        assert_eq!(x.size(), [64, 1, 28, 28]);
        assert!(x.abs().max().double_value(&[]) <= 1.0);
        // Standing statistics reach the third batch norm: eval mode then reproduces train mode.
        g.set_standing_stats(&[(z.shallow_clone(), y.shallow_clone())]);
        let eval = tch::no_grad(|| g.forward_t(&z, &y, false));
        let gap = (eval - &x).abs().max().double_value(&[]);
        assert!(gap < 1e-3, "{gap}");
        // Off by default, left out of saved configs, and read as off from configs without it.
        let plain = GanArch::new(GanKind::ConvAcGan);
        let json = serde_json::to_value(&plain).unwrap();
        assert!(json.get("g_refine_channels").is_none(), "{json}");
        let read: GanArch = serde_json::from_value(json).unwrap();
        assert_eq!(read.g_refine_channels, 0);
        let json = serde_json::to_value(&arch).unwrap();
        assert_eq!(json["g_refine_channels"], 16);
        // Bad values are refused with the field's name.
        for (bad, needle) in [
            (
                GanArch {
                    g_refine_channels: -1,
                    ..arch.clone()
                },
                "0 (off) or from 1",
            ),
            (
                GanArch {
                    g_refine_channels: 16,
                    ..GanArch::new(GanKind::AcGan)
                },
                "needs the convolutional generator",
            ),
        ] {
            let err = bad.validate().unwrap_err().to_string();
            assert!(
                err.contains("arch.g_refine_channels") && err.contains(needle),
                "{err}"
            );
        }
    }

    #[test]
    fn shapes_for_every_kind() {
        for kind in [GanKind::Gan, GanKind::AcGan, GanKind::ConvAcGan] {
            let arch = GanArch::new(kind);
            let gvs = nn::VarStore::new(Device::Cpu);
            let dvs = nn::VarStore::new(Device::Cpu);
            let g = Generator::new(&gvs.root(), &arch);
            let d = Discriminator::new(&dvs.root(), &arch);
            let z = Tensor::randn([4, 100], (Kind::Float, Device::Cpu));
            let y = Tensor::from_slice(&[0i64, 3, 7, 9]);
            let x = g.forward_t(&z, &y, true);
            assert_eq!(x.size(), [4, 1, 28, 28]);
            assert!(x.abs().max().double_value(&[]) <= 1.0);
            let (adv, cls) = d.forward_t(&x, true);
            assert_eq!(adv.size(), [4]);
            assert_eq!(
                cls.map(|c| c.size()),
                kind.conditional().then(|| vec![4, 10])
            );
        }
    }
}
