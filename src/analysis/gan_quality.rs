//! Measured GAN quality, scored by the MNIST classifier: class consistency of conditional samples,
//! a Fréchet distance on the classifier's 128-d features, and the class histogram of samples.

use super::metrics::frechet_distance;
use crate::data::Dataset;
use crate::train::{ClassifierRun, GanRun};
use serde::{Deserialize, Serialize};
use tch::Tensor;

/// Quality numbers of one generator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GanQuality {
    /// Samples drawn.
    pub samples: usize,
    /// Share of conditional samples classified as the requested digit (None for the plain GAN).
    pub class_consistency: Option<f64>,
    /// Fréchet distance between generated and test features.
    pub frechet_to_test: f64,
    /// Share of samples the classifier puts in each digit class.
    pub class_histogram: Vec<f64>,
}

/// Fréchet distance between the classifier features of `a` and `b` (images in `[0, 1]`).
pub fn feature_frechet(clf: &ClassifierRun, a: &Tensor, b: &Tensor) -> anyhow::Result<f64> {
    frechet_distance(&clf.features(a), &clf.features(b))
}

/// The floor: the Fréchet distance between `n` training and `n` test images.
pub fn frechet_floor(
    clf: &ClassifierRun,
    train: &Dataset,
    test: &Dataset,
    n: usize,
) -> anyhow::Result<f64> {
    let a = train.take(n).images_f32();
    let b = test.take(n).images_f32();
    feature_frechet(clf, &a, &b)
}

/// Draws `n` samples (`n / 10` of each digit for conditional GANs, free draws otherwise) and
/// scores them against the first `n` test images.
pub fn gan_quality(
    gan: &GanRun,
    clf: &ClassifierRun,
    test: &Dataset,
    n: usize,
    seed: u64,
) -> anyhow::Result<GanQuality> {
    anyhow::ensure!(n >= 10, "draw at least 10 samples, got {n}");
    let conditional = gan.config.arch.kind.conditional();
    let (samples, requested): (Tensor, Vec<i64>) = if conditional {
        let per = n / 10;
        let parts: Vec<Tensor> = (0..10)
            .map(|c| gan.sample(per, Some(c), seed.wrapping_add(c as u64)))
            .collect();
        (
            Tensor::cat(&parts, 0),
            (0..10).flat_map(|c| std::iter::repeat_n(c, per)).collect(),
        )
    } else {
        (gan.sample(n, None, seed), vec![])
    };
    let predicted = clf.predict(&samples);
    let mut hist = vec![0.0; 10];
    for &p in &predicted {
        hist[p as usize] += 1.0 / predicted.len() as f64;
    }
    let class_consistency = conditional.then(|| super::metrics::accuracy(&predicted, &requested));
    let real = test.take(n).images_f32();
    Ok(GanQuality {
        samples: predicted.len(),
        class_consistency,
        frechet_to_test: feature_frechet(clf, &samples, &real)?,
        class_histogram: hist,
    })
}

/// One variant of the conv AC-GAN sweep (`scripts/conv_acgan_sweep.py`, results in
/// `data/conv_acgan_sweep.json`): its settings and its scores at a few epochs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepVariant {
    /// Variant name, with `_s<seed>` for the seed checks.
    pub name: String,
    /// Settings: `c` (base channels), `sched` (list of [epoch, d_steps]), `d_fake_cls` (weight
    /// of D's class loss on fakes), `g_cls`, `drop`, `d_bn`, `epochs`, optional `seed`.
    pub cfg: serde_json::Value,
    /// Scores by epoch.
    pub evals: Vec<SweepEval>,
    /// Which of the two runs it belongs to.
    pub call: String,
}

/// Scores of a sweep variant after `epoch` epochs (10,000 samples, the shipped classifier).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepEval {
    /// Epochs trained.
    pub epoch: usize,
    /// Share of samples classified as the requested digit.
    pub consistency: f64,
    /// Fréchet distance to the 10,000 test images.
    pub fd: f64,
}

impl SweepVariant {
    /// The scores after `epoch` epochs, if measured.
    pub fn at(&self, epoch: usize) -> Option<&SweepEval> {
        self.evals.iter().find(|e| e.epoch == epoch)
    }
}

/// Reads the sweep results (a JSON list of [`SweepVariant`]).
pub fn load_sweep(path: &std::path::Path) -> anyhow::Result<Vec<SweepVariant>> {
    let v: Vec<SweepVariant> = crate::fsutil::read_json(path)?;
    anyhow::ensure!(!v.is_empty(), "{} holds no sweep variants", path.display());
    Ok(v)
}

/// Where the conv AC-GAN sweep's results ship: `data/conv_acgan_sweep.json`.
pub fn shipped_sweep_path() -> std::path::PathBuf {
    crate::data::dataset::data_root().join("conv_acgan_sweep.json")
}
