//! Measured GAN quality, scored by an MNIST classifier (a "scorer"): class consistency of
//! conditional samples, a Fréchet distance on the scorer's 128-d features (overall and per
//! digit), improved precision and recall on the same features, the class histogram, and stroke
//! statistics against real digits. The same numbers for real training digits are the floor:
//! what a perfect generator would score.

use super::metrics::frechet_distance;
use super::precision_recall::{Manifold, PrecisionRecall};
use super::strokes::{ink_and_slant, strokes_against, ClassStrokes};
use crate::data::Dataset;
use crate::models::GanKind;
use crate::train::{ClassifierRun, GanRun, Scorer};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tch::{Kind, Tensor};

/// Neighbours of the precision/recall manifolds (the paper's choice).
pub const PR_NEIGHBOURS: usize = 3;

/// Quality numbers of one set of images (a generator's samples, or real training digits for
/// the floor), by one scorer, against test digits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GanQuality {
    /// Images scored.
    pub samples: usize,
    /// Share of images the scorer puts in the class they were drawn for (the requested digit of
    /// a conditional generator, the label of a real digit); None for the plain GAN.
    pub class_consistency: Option<f64>,
    /// Fréchet distance between the images' and the test digits' features.
    pub frechet_to_test: f64,
    /// Share of images the scorer puts in each digit class.
    pub class_histogram: Vec<f64>,
    /// Improved precision (k = 3): share of images within the test digits' feature manifold.
    pub precision: f64,
    /// Improved recall (k = 3): share of test digits within the images' feature manifold.
    pub recall: f64,
    /// Per digit 0–9: the Fréchet distance between the images of that digit (requested digit,
    /// label, or the scorer's reading for the plain GAN) and the test digits of that digit; None
    /// when fewer than 2 images have that digit.
    pub per_class_frechet: Vec<Option<f64>>,
    /// Per digit: ink and slant of the images against the test digits'.
    pub strokes: Vec<ClassStrokes>,
}

impl GanQuality {
    /// The largest per-digit Fréchet distance and its digit, if any digit was scored.
    pub fn worst_class(&self) -> Option<(usize, f64)> {
        self.per_class_frechet
            .iter()
            .enumerate()
            .filter_map(|(c, d)| d.map(|d| (c, d)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }

    /// Smallest and largest share of the class histogram.
    pub fn share_range(&self) -> (f64, f64) {
        let lo = self
            .class_histogram
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min);
        let hi = self.class_histogram.iter().copied().fold(0.0, f64::max);
        (lo, hi)
    }
}

/// Fréchet distance between the classifier features of `a` and `b` (images in `[0, 1]`).
pub fn feature_frechet(clf: &ClassifierRun, a: &Tensor, b: &Tensor) -> anyhow::Result<f64> {
    frechet_distance(&clf.features(a), &clf.features(b))
}

/// The Fréchet floor alone: the distance between `n` training and `n` test images.
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

/// The floor: `n` training digits (with their labels) scored as if generated, against the first
/// `n` test digits.
pub fn real_floor(
    clf: &ClassifierRun,
    train: &Dataset,
    test: &Dataset,
    n: usize,
) -> anyhow::Result<GanQuality> {
    Reference::new(clf, test, n)?.floor(train)
}

/// The share of each digit 0–9 among `predicted` (the scorer's reading of the samples).
pub fn class_shares(predicted: &[i64]) -> Vec<f64> {
    let mut hist = vec![0.0; 10];
    for &p in predicted {
        hist[p as usize] += 1.0 / predicted.len().max(1) as f64;
    }
    hist
}

/// Draws `n` samples: `n / 10` of each digit for conditional GANs (with the requested digits),
/// free draws otherwise (no digits).
pub fn draw_samples(
    gan: &GanRun,
    n: usize,
    seed: u64,
) -> anyhow::Result<(Tensor, Option<Vec<i64>>)> {
    anyhow::ensure!(n >= 10, "draw at least 10 samples, got {n}");
    if gan.config.arch.kind.conditional() {
        let per = n / 10;
        let parts: Vec<Tensor> = (0..10)
            .map(|c| gan.sample(per, Some(c), seed.wrapping_add(c as u64)))
            .collect();
        let requested = (0..10).flat_map(|c| std::iter::repeat_n(c, per)).collect();
        Ok((Tensor::cat(&parts, 0), Some(requested)))
    } else {
        Ok((gan.sample(n, None, seed), None))
    }
}

/// Draws `n` samples ([`draw_samples`]) and scores them against the first `n` test images.
pub fn gan_quality(
    gan: &GanRun,
    clf: &ClassifierRun,
    test: &Dataset,
    n: usize,
    seed: u64,
) -> anyhow::Result<GanQuality> {
    let (samples, requested) = draw_samples(gan, n, seed)?;
    score_images(clf, &samples, requested.as_deref(), test, n)
}

/// Scores `images` (`[m, 1, 28, 28]` in `[0, 1]`; `classes` = the digit each was drawn for, if
/// known) with `clf` against the first `n` test digits. To score several sets against the same
/// digits, build the [`Reference`] once.
pub fn score_images(
    clf: &ClassifierRun,
    images: &Tensor,
    classes: Option<&[i64]>,
    test: &Dataset,
    n: usize,
) -> anyhow::Result<GanQuality> {
    Reference::new(clf, test, n)?.score(images, classes)
}

/// The real side of one scorer's comparisons, measured once: the first `n` test digits' labels,
/// features, k-NN manifold, ink and slant.
pub struct Reference<'a> {
    clf: &'a ClassifierRun,
    n: usize,
    labels: Vec<i64>,
    feats: Tensor,
    manifold: Manifold,
    ink: Vec<f64>,
    slant: Vec<f64>,
}

impl<'a> Reference<'a> {
    /// Measures the first `n` test digits with `clf`.
    pub fn new(clf: &'a ClassifierRun, test: &Dataset, n: usize) -> anyhow::Result<Self> {
        let real = test.take(n);
        let images = real.images_f32();
        let feats = clf.features(&images);
        let (ink, slant) = ink_and_slant(&images);
        Ok(Reference {
            clf,
            n,
            labels: Vec::<i64>::try_from(real.labels())?,
            manifold: Manifold::new(&feats, PR_NEIGHBOURS)?,
            feats,
            ink,
            slant,
        })
    }

    /// The floor: the first `n` training digits, with their labels, scored as if generated.
    pub fn floor(&self, train: &Dataset) -> anyhow::Result<GanQuality> {
        let real = train.take(self.n);
        let labels = Vec::<i64>::try_from(real.labels())?;
        self.score(&real.images_f32(), Some(&labels))
    }

    /// Scores `images` (`[m, 1, 28, 28]` in `[0, 1]`; `classes` = the digit each was drawn for,
    /// if known) against these digits.
    pub fn score(&self, images: &Tensor, classes: Option<&[i64]>) -> anyhow::Result<GanQuality> {
        let predicted = self.clf.predict(images);
        anyhow::ensure!(
            classes.is_none_or(|c| c.len() == predicted.len()),
            "{} classes for {} images",
            classes.map_or(0, <[i64]>::len),
            predicted.len()
        );
        let hist = class_shares(&predicted);
        let groups = classes.unwrap_or(&predicted);
        let feats = self.clf.features(images);
        let PrecisionRecall { precision, recall } = self.manifold.precision_recall(&feats)?;
        let real_strokes = (self.ink.as_slice(), self.slant.as_slice());
        Ok(GanQuality {
            samples: predicted.len(),
            class_consistency: classes.map(|c| super::metrics::accuracy(&predicted, c)),
            frechet_to_test: frechet_distance(&feats, &self.feats)?,
            class_histogram: hist,
            precision,
            recall,
            per_class_frechet: per_class_frechet(&feats, groups, &self.feats, &self.labels)?,
            strokes: strokes_against(images, groups, real_strokes, &self.labels),
        })
    }
}

/// Per digit: the Fréchet distance between the rows of `feats` and of `real_feats` of that digit;
/// None where either side has fewer than 2 rows.
fn per_class_frechet(
    feats: &Tensor,
    classes: &[i64],
    real_feats: &Tensor,
    real_classes: &[i64],
) -> anyhow::Result<Vec<Option<f64>>> {
    let rows_of = |classes: &[i64], c: i64| -> Tensor {
        let idx: Vec<i64> = (0..classes.len() as i64)
            .filter(|&i| classes[i as usize] == c)
            .collect();
        Tensor::from_slice(&idx).to_kind(Kind::Int64)
    };
    (0..10)
        .map(|c| {
            let (a, b) = (rows_of(classes, c), rows_of(real_classes, c));
            if a.size()[0] < 2 || b.size()[0] < 2 {
                return Ok(None);
            }
            let d = frechet_distance(&feats.index_select(0, &a), &real_feats.index_select(0, &b))?;
            Ok(Some(d))
        })
        .collect()
}

/// One GAN's entry in `gan_quality.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GanQualityEntry {
    /// Epochs the GAN was trained.
    pub epochs: usize,
    /// Its training seconds.
    pub seconds: f64,
    /// Its scores (the same samples), by scorer.
    pub scores: BTreeMap<Scorer, GanQuality>,
}

/// `gan_quality.json`: per scorer, the floor (training digits scored as if generated) and each
/// finished GAN's scores, by kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GanQualityFile {
    /// Images drawn per generator (and real digits per floor).
    pub samples: usize,
    /// The floor, by scorer.
    pub floors: BTreeMap<Scorer, GanQuality>,
    /// The fully connected GAN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gan: Option<GanQualityEntry>,
    /// The fully connected AC-GAN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acgan: Option<GanQualityEntry>,
    /// The convolutional AC-GAN.
    #[serde(
        default,
        rename = "conv-acgan",
        skip_serializing_if = "Option::is_none"
    )]
    pub conv_acgan: Option<GanQualityEntry>,
}

impl GanQualityFile {
    /// The entry of `kind`.
    pub fn get(&self, kind: GanKind) -> Option<&GanQualityEntry> {
        match kind {
            GanKind::Gan => self.gan.as_ref(),
            GanKind::AcGan => self.acgan.as_ref(),
            GanKind::ConvAcGan => self.conv_acgan.as_ref(),
        }
    }

    fn slot(&mut self, kind: GanKind) -> &mut Option<GanQualityEntry> {
        match kind {
            GanKind::Gan => &mut self.gan,
            GanKind::AcGan => &mut self.acgan,
            GanKind::ConvAcGan => &mut self.conv_acgan,
        }
    }
}

/// Scores each generator with each scorer against the first `n` test digits: per scorer the
/// floor ([`real_floor`]) and each generator's [`GanQuality`]. Each generator's `n` samples are
/// drawn once (seed 1) and shown to every scorer.
pub fn score_generators(
    gans: &[(GanKind, &GanRun)],
    scorers: &[(Scorer, &ClassifierRun)],
    train: &Dataset,
    test: &Dataset,
    n: usize,
) -> anyhow::Result<GanQualityFile> {
    let mut out = GanQualityFile {
        samples: n,
        ..Default::default()
    };
    let references = scorers
        .iter()
        .map(|&(scorer, clf)| Ok((scorer, Reference::new(clf, test, n)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    for (scorer, reference) in &references {
        out.floors.insert(*scorer, reference.floor(train)?);
    }
    for &(kind, gan) in gans {
        let (samples, requested) = draw_samples(gan, n, 1)?;
        let mut scores = BTreeMap::new();
        for (scorer, reference) in &references {
            scores.insert(*scorer, reference.score(&samples, requested.as_deref())?);
        }
        *out.slot(kind) = Some(GanQualityEntry {
            epochs: gan.history.epochs.len(),
            seconds: gan.history.seconds(),
            scores,
        });
    }
    Ok(out)
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

/// Where the recorded conv AC-GAN variants ship (`scripts/gan_variant.py`):
/// `data/gan-variants`, a `NAME.config.json` and a `NAME.quality.json` each.
pub fn shipped_variants_dir() -> std::path::PathBuf {
    crate::data::dataset::data_root().join("gan-variants")
}

/// The scores of the recorded variant `name` in `dir` (`NAME.quality.json`, what `latentlab gan
/// score` wrote): its floors and its one generator's scores.
pub fn load_variant(dir: &std::path::Path, name: &str) -> anyhow::Result<GanQualityFile> {
    let path = dir.join(format!("{name}.quality.json"));
    anyhow::ensure!(
        path.exists(),
        "no recorded GAN variant '{name}': {} does not exist (the variants are the \
         *.quality.json files of {})",
        path.display(),
        dir.display()
    );
    let q: GanQualityFile = crate::fsutil::read_json(&path)?;
    anyhow::ensure!(
        GanKind::ALL.iter().any(|&k| q.get(k).is_some()),
        "{} holds no generator's scores",
        path.display()
    );
    Ok(q)
}

/// Where the conv AC-GAN sweep's results ship: `data/conv_acgan_sweep.json`.
pub fn shipped_sweep_path() -> std::path::PathBuf {
    crate::data::dataset::data_root().join("conv_acgan_sweep.json")
}
