//! Metrics: accuracy, confusion matrices, mean pairwise distance and the Fréchet distance between
//! two sets of feature vectors.

use tch::{Device, Kind, Tensor};

/// Fraction of equal entries (0 for empty input).
pub fn accuracy(predicted: &[i64], truth: &[i64]) -> f64 {
    if truth.is_empty() {
        return 0.0;
    }
    let ok = predicted.iter().zip(truth).filter(|(p, t)| p == t).count();
    ok as f64 / truth.len() as f64
}

/// `classes × classes` counts: row = true class, column = predicted class.
pub fn confusion_matrix(predicted: &[i64], truth: &[i64], classes: usize) -> Vec<Vec<f64>> {
    let mut m = vec![vec![0.0; classes]; classes];
    for (&p, &t) in predicted.iter().zip(truth) {
        if (0..classes as i64).contains(&p) && (0..classes as i64).contains(&t) {
            m[t as usize][p as usize] += 1.0;
        }
    }
    m
}

/// Mean Euclidean distance over all pairs of rows of `x` (`[n, d]`, n ≥ 2): a simple measure of
/// the variety of a set of images or codes.
pub fn mean_pairwise_distance(x: &Tensor) -> f64 {
    let n = x.size()[0];
    if n < 2 {
        return 0.0;
    }
    let x = x.to_kind(Kind::Double).reshape([n, -1]);
    let d = Tensor::cdist(&x, &x, 2.0, None::<i64>);
    d.sum(Kind::Double).double_value(&[]) / (n * (n - 1)) as f64
}

fn mean_cov(x: &Tensor) -> (Tensor, Tensor) {
    let x = x.to_kind(Kind::Double).to_device(Device::Cpu);
    let n = x.size()[0] as f64;
    let mu = x.mean_dim(0, false, Kind::Double);
    let c = &x - &mu;
    let cov = c.transpose(0, 1).matmul(&c) / (n - 1.0);
    (mu, cov)
}

fn sqrt_psd(m: &Tensor) -> Tensor {
    let (w, v) = m.linalg_eigh("L");
    let w = w.clamp_min(0.0).sqrt();
    (&v * w.unsqueeze(0)).matmul(&v.transpose(0, 1))
}

/// Fréchet distance between Gaussians fitted to two feature sets `[n, d]` and `[m, d]`:
/// `|μ₁−μ₂|² + tr(Σ₁) + tr(Σ₂) − 2 tr((Σ₁^½ Σ₂ Σ₁^½)^½)` (the FID formula, here on the features of
/// our own MNIST classifier rather than Inception's).
pub fn frechet_distance(a: &Tensor, b: &Tensor) -> anyhow::Result<f64> {
    let (sa, sb) = (a.size(), b.size());
    anyhow::ensure!(
        sa.len() == 2 && sb.len() == 2 && sa[1] == sb[1],
        "Fréchet distance needs two [n, d] feature sets of the same d, got {sa:?} and {sb:?}"
    );
    anyhow::ensure!(
        sa[0] >= 2 && sb[0] >= 2,
        "Fréchet distance needs at least 2 samples in each set"
    );
    let (mu1, c1) = mean_cov(a);
    let (mu2, c2) = mean_cov(b);
    let r1 = sqrt_psd(&c1);
    let m = r1.matmul(&c2).matmul(&r1);
    let m = (&m + m.transpose(0, 1)) / 2.0;
    let (w, _) = m.linalg_eigh("L");
    let tr_sqrt = w.clamp_min(0.0).sqrt().sum(Kind::Double).double_value(&[]);
    let diff = (&mu1 - &mu2).square().sum(Kind::Double).double_value(&[]);
    let tr = c1.trace().double_value(&[]) + c2.trace().double_value(&[]);
    Ok((diff + tr - 2.0 * tr_sqrt).max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accuracy_and_confusion() {
        let p = [0, 1, 1, 2];
        let t = [0, 1, 2, 2];
        assert_eq!(accuracy(&p, &t), 0.75);
        let m = confusion_matrix(&p, &t, 3);
        assert_eq!(m[2][1], 1.0);
        assert_eq!(m[2][2], 1.0);
        assert_eq!(m.iter().flatten().sum::<f64>(), 4.0);
    }

    #[test]
    fn frechet_of_identical_sets_is_zero_and_grows_with_shift() {
        tch::manual_seed(0);
        let a = Tensor::randn([2000, 4], (Kind::Double, Device::Cpu));
        assert!(frechet_distance(&a, &a).unwrap() < 1e-6);
        let b = &a + 2.0;
        // Shift of 2 in each of 4 dims: |Δμ|² = 16, same covariance.
        let d = frechet_distance(&a, &b).unwrap();
        assert!((d - 16.0).abs() < 1e-3, "{d}");
    }

    #[test]
    fn pairwise_distance_of_two_points() {
        let x = Tensor::from_slice(&[0.0f64, 0.0, 3.0, 4.0]).view([2, 2]);
        assert!((mean_pairwise_distance(&x) - 5.0).abs() < 1e-9);
    }
}
