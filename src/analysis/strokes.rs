//! Stroke statistics of digit images, to see whether generated digits vary as much as real ones:
//! the **ink** of an image (the sum of its pixel values, in fully inked pixels: thick or long
//! strokes have more) and its **slant** (the shear of its ink, in degrees, positive when the top
//! leans right). A generator whose strokes are all alike shows a smaller spread than real digits
//! of the same class.

use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

/// Mean and standard deviation of the ink and slant of a set of images.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StrokeSummary {
    /// Images summarised.
    pub images: usize,
    /// Mean ink (sum of pixel values in `[0, 1]`, i.e. fully inked pixels).
    pub ink_mean: f64,
    /// Standard deviation of the ink.
    pub ink_std: f64,
    /// Mean slant in degrees (positive: the top leans right).
    pub slant_mean: f64,
    /// Standard deviation of the slant in degrees.
    pub slant_std: f64,
}

/// One digit's strokes, generated against real.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClassStrokes {
    /// The digit.
    pub class: usize,
    /// The real (test) digits of this class.
    pub real: StrokeSummary,
    /// The scored images of this class.
    pub generated: StrokeSummary,
}

/// Per-image ink and slant of `images` (`[n, 1, 28, 28]` or `[n, 28, 28]`, values in `[0, 1]`).
/// An image without ink has slant 0.
pub fn ink_and_slant(images: &Tensor) -> (Vec<f64>, Vec<f64>) {
    let n = images.size()[0];
    if n == 0 {
        return (vec![], vec![]);
    }
    let x = images
        .to_device(Device::Cpu)
        .to_kind(Kind::Double)
        .reshape([n, 28, 28]);
    let opts = (Kind::Double, Device::Cpu);
    let rows = Tensor::arange(28, opts).view([1, 28, 1]);
    let cols = Tensor::arange(28, opts).view([1, 1, 28]);
    let ink = x.sum_dim_intlist([1, 2].as_slice(), false, Kind::Double);
    let mass = ink.clamp_min(1e-9).view([n, 1, 1]);
    let mean_of =
        |t: &Tensor| (&x * t).sum_dim_intlist([1, 2].as_slice(), true, Kind::Double) / &mass;
    let (r0, c0) = (mean_of(&rows), mean_of(&cols));
    let (dr, dc) = (&rows - r0, &cols - c0);
    let mu11 = mean_of(&(&dr * &dc));
    let mu02 = mean_of(&(&dr * &dr)).clamp_min(1e-9);
    // Rows grow downwards: a top leaning right has ink further right at smaller rows.
    let shear = -(mu11 / mu02);
    let slant = shear.atan().view([n]) * (180.0 / std::f64::consts::PI);
    let ink_v = Vec::<f64>::try_from(&ink).unwrap_or_default();
    let slant_v: Vec<f64> = Vec::<f64>::try_from(&slant)
        .unwrap_or_default()
        .into_iter()
        .zip(&ink_v)
        .map(|(s, &i)| if i > 1e-6 { s } else { 0.0 })
        .collect();
    (ink_v, slant_v)
}

/// Mean and standard deviation (n − 1) of `v`; zeros when empty, std 0 for one value.
fn mean_std(v: &[f64]) -> (f64, f64) {
    if v.is_empty() {
        return (0.0, 0.0);
    }
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    if v.len() < 2 {
        return (mean, 0.0);
    }
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}

/// The [`StrokeSummary`] of the images whose `classes` entry is `class` (all when `class` is None).
pub fn summarize(ink: &[f64], slant: &[f64], classes: &[i64], class: Option<i64>) -> StrokeSummary {
    let pick = |v: &[f64]| -> Vec<f64> {
        v.iter()
            .zip(classes)
            .filter(|(_, &c)| class.is_none_or(|k| k == c))
            .map(|(&x, _)| x)
            .collect()
    };
    let (ink, slant) = (pick(ink), pick(slant));
    let (ink_mean, ink_std) = mean_std(&ink);
    let (slant_mean, slant_std) = mean_std(&slant);
    StrokeSummary {
        images: ink.len(),
        ink_mean,
        ink_std,
        slant_mean,
        slant_std,
    }
}

/// Per digit 0–9: the strokes of `images` (grouped by `classes`) against those of `real`
/// (grouped by `real_classes`).
pub fn class_strokes(
    images: &Tensor,
    classes: &[i64],
    real: &Tensor,
    real_classes: &[i64],
) -> Vec<ClassStrokes> {
    let (real_ink, real_slant) = ink_and_slant(real);
    strokes_against(images, classes, (&real_ink, &real_slant), real_classes)
}

/// As [`class_strokes`], with the real digits' ink and slant already measured
/// ([`ink_and_slant`]).
pub fn strokes_against(
    images: &Tensor,
    classes: &[i64],
    (real_ink, real_slant): (&[f64], &[f64]),
    real_classes: &[i64],
) -> Vec<ClassStrokes> {
    let (ink, slant) = ink_and_slant(images);
    (0..10)
        .map(|c| ClassStrokes {
            class: c as usize,
            real: summarize(real_ink, real_slant, real_classes, Some(c)),
            generated: summarize(&ink, &slant, classes, Some(c)),
        })
        .collect()
}

/// The spread of generated strokes relative to real ones, averaged over the classes that have
/// at least two images of each: `(ink std ratio, slant std ratio)`. 1 is as varied as real
/// digits, below 1 too uniform; None when no class qualifies.
pub fn spread_ratios(strokes: &[ClassStrokes]) -> Option<(f64, f64)> {
    let usable: Vec<&ClassStrokes> = strokes
        .iter()
        .filter(|s| s.real.images >= 2 && s.generated.images >= 2)
        .filter(|s| s.real.ink_std > 0.0 && s.real.slant_std > 0.0)
        .collect();
    if usable.is_empty() {
        return None;
    }
    let n = usable.len() as f64;
    let ink = usable
        .iter()
        .map(|s| s.generated.ink_std / s.real.ink_std)
        .sum::<f64>();
    let slant = usable
        .iter()
        .map(|s| s.generated.slant_std / s.real.slant_std)
        .sum::<f64>();
    Some((ink / n, slant / n))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 28×28 image with a 2-pixel-wide line from (row 4, col c_top) to (row 23, col c_bottom).
    fn line(c_top: f64, c_bottom: f64, width: i64) -> Tensor {
        let img = Tensor::zeros([1, 1, 28, 28], (Kind::Float, Device::Cpu));
        for r in 4..24 {
            let t = (r - 4) as f64 / 19.0;
            let c = (c_top + t * (c_bottom - c_top)).round() as i64;
            for w in 0..width {
                let _ = img.get(0).get(0).get(r).get(c + w).fill_(1.0);
            }
        }
        img
    }

    #[test]
    fn ink_counts_inked_pixels_and_slant_follows_the_lean() {
        let upright = line(13.0, 13.0, 2);
        let (ink, slant) = ink_and_slant(&upright);
        assert_eq!(ink, vec![40.0]);
        assert!(slant[0].abs() < 1e-9, "{slant:?}");
        let right = line(18.0, 8.0, 2); // top to the right
        let left = line(8.0, 18.0, 2);
        let (_, s) = ink_and_slant(&Tensor::cat(&[right, left], 0));
        assert!(s[0] > 20.0 && s[1] < -20.0, "{s:?}");
        assert!((s[0] + s[1]).abs() < 1e-9, "symmetric: {s:?}");
        let (ink, slant) =
            ink_and_slant(&Tensor::zeros([1, 1, 28, 28], (Kind::Float, Device::Cpu)));
        assert_eq!((ink[0], slant[0]), (0.0, 0.0));
    }

    #[test]
    fn uniform_strokes_show_a_small_spread_ratio() {
        let real = Tensor::cat(
            &[line(13.0, 13.0, 1), line(18.0, 8.0, 3), line(9.0, 15.0, 2)],
            0,
        );
        let uniform = Tensor::cat(
            &[
                line(13.0, 13.0, 2),
                line(13.0, 13.0, 2),
                line(14.0, 13.0, 2),
            ],
            0,
        );
        let strokes = class_strokes(&uniform, &[4, 4, 4], &real, &[4, 4, 4]);
        assert_eq!(strokes[4].generated.images, 3);
        assert_eq!(strokes[3].generated.images, 0);
        let (ink, slant) = spread_ratios(&strokes).unwrap();
        assert!(ink < 0.2 && slant < 0.2, "{ink} {slant}");
        let same = class_strokes(&real, &[4, 4, 4], &real, &[4, 4, 4]);
        assert_eq!(spread_ratios(&same), Some((1.0, 1.0)));
        assert_eq!(spread_ratios(&strokes[..4]), None);
    }
}
