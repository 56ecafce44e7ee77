//! Improved precision and recall (Kynkäänniemi et al., 2019), on feature vectors.
//!
//! Each set of features is taken as a sample of a manifold: the union of balls around its points,
//! each ball reaching that point's k-th nearest neighbour in the same set. **Precision** is the
//! share of generated points inside the real manifold (are the samples realistic?); **recall** is
//! the share of real points inside the generated manifold (is every kind of real digit produced?).
//! A generator that draws a few perfect digits over and over has high precision and low recall.

use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

/// Rows compared at once: 1,000 × 10,000 distances in doubles is 80 MB.
const CHUNK: i64 = 1000;

/// Precision and recall, each in `[0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PrecisionRecall {
    /// Share of generated points within the real manifold.
    pub precision: f64,
    /// Share of real points within the generated manifold.
    pub recall: f64,
}

/// Precision and recall of `generated` against `real`, both `[n, d]` feature sets of the same `d`,
/// with manifolds of `k`-th-nearest-neighbour balls (the paper uses `k = 3`).
///
/// Fails if the shapes differ, or a set has no more than `k` points (a ball needs `k` neighbours).
pub fn precision_recall(
    real: &Tensor,
    generated: &Tensor,
    k: usize,
) -> anyhow::Result<PrecisionRecall> {
    Manifold::new(real, k)?.precision_recall(generated)
}

/// One set of features as a manifold: its points (in doubles, on the CPU) and each point's
/// distance to its `k`-th nearest neighbour. Built once for the real side, it serves any number
/// of generated sets (the radii are an n × n distance pass).
#[derive(Debug)]
pub struct Manifold {
    points: Tensor,
    radii: Tensor,
    k: usize,
}

impl Manifold {
    /// The manifold of `points` (`[n, d]`) with `k`-th-neighbour balls; fails unless n > k ≥ 1.
    pub fn new(points: &Tensor, k: usize) -> anyhow::Result<Manifold> {
        let s = points.size();
        anyhow::ensure!(
            s.len() == 2,
            "precision and recall need [n, d] feature sets, got {s:?}"
        );
        anyhow::ensure!(k >= 1, "k must be at least 1, got 0");
        anyhow::ensure!(
            s[0] > k as i64,
            "precision and recall with k = {k} need more than {k} points in each set, got {}",
            s[0]
        );
        let points = points.to_kind(Kind::Double).to_device(Device::Cpu);
        let radii = knn_radii(&points, k);
        Ok(Manifold { points, radii, k })
    }

    /// Precision and recall of `generated` (`[m, d]`, the same `d`) against this manifold,
    /// taken as the real one.
    pub fn precision_recall(&self, generated: &Tensor) -> anyhow::Result<PrecisionRecall> {
        let (sr, sg) = (self.points.size(), generated.size());
        anyhow::ensure!(
            sg.len() == 2 && sr[1] == sg[1],
            "precision and recall need two [n, d] feature sets of the same d, got {sr:?} and {sg:?}"
        );
        let generated = Manifold::new(generated, self.k)
            .map_err(|e| anyhow::anyhow!("{e} ({} real and {} generated)", sr[0], sg[0]))?;
        Ok(PrecisionRecall {
            precision: self.coverage(&generated.points),
            recall: generated.coverage(&self.points),
        })
    }

    /// Share of rows of `query` inside at least one ball.
    fn coverage(&self, query: &Tensor) -> f64 {
        let n = query.size()[0];
        let radii = self.radii.unsqueeze(0);
        let mut inside = 0i64;
        for s in (0..n).step_by(CHUNK as usize) {
            let d = Tensor::cdist(
                &query.narrow(0, s, CHUNK.min(n - s)),
                &self.points,
                2.0,
                None::<i64>,
            );
            inside += d
                .le_tensor(&radii)
                .any_dim(1, false)
                .sum(Kind::Int64)
                .int64_value(&[]);
        }
        inside as f64 / n as f64
    }
}

/// Each row's distance to its `k`-th nearest other row of `x` (`[n]`). The row itself is the
/// nearest at distance 0, hence `k + 1` smallest.
fn knn_radii(x: &Tensor, k: usize) -> Tensor {
    let n = x.size()[0];
    let parts: Vec<Tensor> = (0..n)
        .step_by(CHUNK as usize)
        .map(|s| {
            let d = Tensor::cdist(&x.narrow(0, s, CHUNK.min(n - s)), x, 2.0, None::<i64>);
            let (values, _) = d.topk(k as i64 + 1, 1, false, true);
            values.select(1, k as i64)
        })
        .collect();
    Tensor::cat(&parts, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` points of a standard normal in 8-d, moved by `shift`. Drawn with ChaCha8 (as the
    /// batch order is), not libtorch's global generator, which the other unit tests of this
    /// binary reseed and draw from on parallel threads.
    fn cloud(n: i64, shift: f64, seed: u64) -> Tensor {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let values: Vec<f64> = (0..n * 8)
            .map(|_| rng.sample(rand_distr::StandardNormal))
            .collect();
        Tensor::from_slice(&values).view([n, 8]) + shift
    }

    #[test]
    fn identical_sets_give_one_and_one() {
        let a = cloud(300, 0.0, 1);
        let pr = precision_recall(&a, &a.copy(), 3).unwrap();
        assert_eq!((pr.precision, pr.recall), (1.0, 1.0));
    }

    #[test]
    fn disjoint_sets_give_zero_and_zero() {
        let a = cloud(300, 0.0, 1);
        let b = cloud(300, 100.0, 2);
        let pr = precision_recall(&a, &b, 3).unwrap();
        assert_eq!((pr.precision, pr.recall), (0.0, 0.0));
    }

    #[test]
    fn a_collapsed_generator_has_precision_but_no_recall() {
        let real = cloud(400, 0.0, 1);
        // Every generated point is (nearly) one real point, repeated: realistic, not varied.
        let one = real.narrow(0, 0, 1).repeat([400, 1]);
        let generated = one + cloud(400, 0.0, 3) * 1e-3;
        let pr = precision_recall(&real, &generated, 3).unwrap();
        assert_eq!(pr.precision, 1.0);
        assert!(pr.recall < 0.05, "recall {}", pr.recall);
    }

    #[test]
    fn two_samples_of_one_distribution_score_high_but_not_perfectly() {
        let pr = precision_recall(&cloud(1500, 0.0, 1), &cloud(1500, 0.0, 2), 3).unwrap();
        assert!(pr.precision > 0.6 && pr.precision < 1.0, "{pr:?}");
        assert!(pr.recall > 0.6 && pr.recall < 1.0, "{pr:?}");
    }

    #[test]
    fn bad_shapes_and_too_few_points_are_refused() {
        let a = cloud(10, 0.0, 1);
        let err = precision_recall(&a, &Tensor::zeros([10, 3], (Kind::Double, Device::Cpu)), 3)
            .unwrap_err()
            .to_string();
        assert!(err.contains("same d"), "{err}");
        let err = precision_recall(&a, &a.narrow(0, 0, 3), 3)
            .unwrap_err()
            .to_string();
        assert!(err.contains("more than 3 points"), "{err}");
        let err = precision_recall(&a.narrow(0, 0, 3), &a, 3)
            .unwrap_err()
            .to_string();
        assert!(err.contains("more than 3 points"), "{err}");
    }

    #[test]
    fn one_manifold_scores_many_sets_as_the_function_does() {
        let real = cloud(500, 0.0, 1);
        let manifold = Manifold::new(&real, 3).unwrap();
        for (shift, seed) in [(0.0, 2), (0.7, 3), (2.0, 4)] {
            let g = cloud(400, shift, seed);
            assert_eq!(
                manifold.precision_recall(&g).unwrap(),
                precision_recall(&real, &g, 3).unwrap()
            );
        }
    }
}
