//! Principal component analysis with `linfa-reduction`: the linear baseline every autoencoder
//! must beat, and 2-d projections of latent codes.

use crate::data::Dataset;
use linfa::traits::{Fit, Predict};
use linfa::DatasetBase;
use linfa_reduction::Pca;
use ndarray::Array2;
use serde::{Deserialize, Serialize};
use std::time::Instant;
use tch::{Device, Kind, Tensor};

/// A 2-d tensor `[n, d]` (any float kind, any device) as an `ndarray` matrix of `f64`.
pub fn tensor_to_matrix(t: &Tensor) -> anyhow::Result<Array2<f64>> {
    let size = t.size();
    anyhow::ensure!(size.len() == 2, "expected a 2-d tensor, got shape {size:?}");
    let (n, d) = (size[0] as usize, size[1] as usize);
    let flat = t
        .detach()
        .to_device(Device::Cpu)
        .to_kind(Kind::Double)
        .contiguous()
        .view([-1]);
    let v = Vec::<f64>::try_from(&flat)?;
    Ok(Array2::from_shape_vec((n, d), v)?)
}

/// Reconstruction error of PCA with `components` components, fitted on the training images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PcaBaseline {
    /// Number of principal components kept.
    pub components: usize,
    /// MSE per pixel on the training images (pixels in `[0, 1]`).
    pub train_mse: f64,
    /// MSE per pixel on the test images.
    pub test_mse: f64,
    /// Fraction of the pixel variance each component explains.
    pub explained_variance_ratio: Vec<f64>,
    /// Seconds to fit and evaluate.
    pub seconds: f64,
}

fn images_matrix(data: &Dataset) -> anyhow::Result<Array2<f64>> {
    tensor_to_matrix(&data.images_f32().view([data.len() as i64, 784]))
}

fn reconstruction_mse(pca: &Pca<f64>, x: &Array2<f64>) -> f64 {
    let z: Array2<f64> = pca.predict(x);
    let back = pca.inverse_transform(z);
    let diff = back - x;
    diff.mapv(|v| v * v).mean().unwrap_or(f64::NAN)
}

/// PCA fitted on flattened training images: projects images on `components` directions and back.
#[derive(Debug, Clone)]
pub struct PcaModel {
    pca: Pca<f64>,
    /// Number of components.
    pub components: usize,
    /// Total pixel variance of the training images (sum over pixels, `n − 1` normalisation).
    pub total_variance: f64,
    samples: usize,
}

/// Variance along each component, σ²/(n − 1). (linfa 0.8's `explained_variance` divides by the
/// number of components instead of the number of samples.)
fn component_variances(pca: &Pca<f64>, samples: usize) -> Vec<f64> {
    let d = (samples as f64 - 1.0).max(1.0);
    pca.singular_values().iter().map(|s| s * s / d).collect()
}

fn total_variance(x: &Array2<f64>) -> f64 {
    let mean = x.mean_axis(ndarray::Axis(0)).unwrap_or_default();
    let c = x - &mean;
    c.mapv(|v| v * v).sum() / (x.nrows() as f64 - 1.0).max(1.0)
}

impl PcaModel {
    /// Fits PCA with `components` components on the images of `train`.
    pub fn fit(train: &Dataset, components: usize) -> anyhow::Result<PcaModel> {
        anyhow::ensure!(
            (1..=784).contains(&components),
            "PCA needs between 1 and 784 components, got {components}"
        );
        anyhow::ensure!(
            train.len() > components,
            "PCA with {components} components needs more than {components} training images, got {}",
            train.len()
        );
        let x = images_matrix(train)?;
        let total_variance = total_variance(&x);
        let samples = x.nrows();
        Ok(PcaModel {
            pca: Pca::params(components).fit(&DatasetBase::from(x))?,
            components,
            total_variance,
            samples,
        })
    }

    /// Reconstructions of images `[n, 1, 28, 28]` in `[0, 1]` (same shape, CPU).
    pub fn reconstruct(&self, images: &Tensor) -> anyhow::Result<Tensor> {
        let n = images.size()[0];
        let x = tensor_to_matrix(&images.reshape([n, 784]))?;
        let z: Array2<f64> = self.pca.predict(&x);
        let back = self.pca.inverse_transform(z);
        let flat: Vec<f32> = back.iter().map(|&v| v as f32).collect();
        Ok(Tensor::from_slice(&flat).view([n, 1, 28, 28]))
    }

    /// Reconstruction MSE per pixel on a dataset.
    pub fn mse(&self, data: &Dataset) -> anyhow::Result<f64> {
        Ok(reconstruction_mse(&self.pca, &images_matrix(data)?))
    }

    /// Fraction of the total pixel variance each component explains (linfa's own ratio is
    /// relative to the kept components only, so it always sums to 1).
    pub fn explained_variance_ratio(&self) -> Vec<f64> {
        let t = self.total_variance.max(f64::MIN_POSITIVE);
        component_variances(&self.pca, self.samples)
            .iter()
            .map(|v| v / t)
            .collect()
    }
}

/// Fits PCA with `components` components on `train` and reports the reconstruction MSE of both
/// sets: the linear baseline for an autoencoder with a `components`-d latent code.
pub fn pca_reconstruction_baseline(
    train: &Dataset,
    test: &Dataset,
    components: usize,
) -> anyhow::Result<(PcaBaseline, PcaModel)> {
    let t0 = Instant::now();
    let model = PcaModel::fit(train, components)?;
    let baseline = PcaBaseline {
        components,
        train_mse: model.mse(train)?,
        test_mse: model.mse(test)?,
        explained_variance_ratio: model.explained_variance_ratio(),
        seconds: t0.elapsed().as_secs_f64(),
    };
    Ok((baseline, model))
}

/// Points projected on their first two principal components.
#[derive(Debug, Clone, PartialEq)]
pub struct PcaProjection {
    /// `(pc1, pc2)` per point.
    pub points: Vec<(f64, f64)>,
    /// Fraction of the variance explained by each of the two components.
    pub explained_variance_ratio: [f64; 2],
}

/// Projects the rows of `x` (`[n, d]`, d ≥ 2) on their first two principal components.
///
/// The data is centred and divided by its overall RMS before linfa fits it, and the projection
/// is scaled back: PCA does not depend on a global scale, but linfa's iterative eigensolver
/// (LOBPCG) does, and fails with NaNs on codes whose spread is around 10 (seen on a fine-tuned
/// autoencoder's latents).
pub fn pca_project(x: &Array2<f64>) -> anyhow::Result<PcaProjection> {
    anyhow::ensure!(
        x.nrows() >= 3 && x.ncols() >= 2,
        "a 2-d PCA projection needs at least 3 points of at least 2 dimensions, got {}×{}",
        x.nrows(),
        x.ncols()
    );
    let bad = x.iter().filter(|v| !v.is_finite()).count();
    anyhow::ensure!(
        bad == 0,
        "PCA needs finite values: {bad} of the {}×{} entries are NaN or infinite (check the model that produced them)",
        x.nrows(),
        x.ncols()
    );
    let mean = x.mean_axis(ndarray::Axis(0)).unwrap_or_default();
    let centred = x - &mean;
    let rms = centred.mapv(|v| v * v).mean().unwrap_or(0.0).sqrt();
    let scale = if rms > 0.0 { rms } else { 1.0 };
    let xs = centred / scale;
    let fitted = std::panic::catch_unwind(|| Pca::params(2).fit(&DatasetBase::from(xs.clone())))
        .map_err(|_| {
            anyhow::anyhow!(
                "linfa's PCA failed on this {}×{} matrix (its eigensolver did not converge)",
                x.nrows(),
                x.ncols()
            )
        })?;
    let pca = fitted?;
    let z: Array2<f64> = pca.predict(&xs) * scale;
    // linfa reports the ratio over the kept components only; report it over all of them.
    let total = total_variance(&xs);
    // Degenerate (rank-1) data can yield a single component: the second axis is then all zero.
    let ev = component_variances(&pca, x.nrows());
    let at = |i: usize| ev.get(i).copied().unwrap_or(0.0) / total.max(f64::MIN_POSITIVE);
    Ok(PcaProjection {
        points: z
            .rows()
            .into_iter()
            .map(|r| (r[0], r.get(1).copied().unwrap_or(0.0)))
            .collect(),
        explained_variance_ratio: [at(0), at(1)],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projection_does_not_depend_on_the_scale_and_refuses_non_finite_values() {
        // Ten correlated dimensions with a spread of about 10, like fine-tuned latent codes.
        let x = Array2::from_shape_fn((2000, 10), |(i, j)| {
            let t = i as f64 * 0.37;
            10.0 * ((t * (j as f64 + 1.0)).sin() + 0.5 * (t * 0.11).cos() * j as f64 / 10.0)
        });
        let a = pca_project(&x).unwrap();
        let b = pca_project(&(&x * 1e-3)).unwrap();
        // Each axis is defined up to its sign.
        let sign = |f: fn(&(f64, f64)) -> f64| (f(&a.points[0]) * f(&b.points[0])).signum();
        let (s0, s1) = (sign(|p| p.0), sign(|p| p.1));
        for (p, q) in a.points.iter().zip(&b.points) {
            assert!((p.0 * 1e-3 - s0 * q.0).abs() < 1e-6, "{p:?} {q:?}");
            assert!((p.1 * 1e-3 - s1 * q.1).abs() < 1e-6, "{p:?} {q:?}");
        }
        for k in 0..2 {
            let (r, s) = (a.explained_variance_ratio[k], b.explained_variance_ratio[k]);
            assert!((r - s).abs() < 1e-9 && r > 0.0 && r < 1.0, "{r} {s}");
        }
        let mut bad = x.clone();
        bad[[5, 3]] = f64::NAN;
        let err = pca_project(&bad).unwrap_err().to_string();
        assert!(
            err.contains("1 of the 2000×10 entries are NaN or infinite"),
            "{err}"
        );
    }

    #[test]
    fn projection_finds_the_dominant_direction() {
        // A long line along (1, 2, 3) plus a little alternating noise off it.
        let x = Array2::from_shape_fn((50, 3), |(i, j)| {
            let noise = if (i + j) % 2 == 0 { 0.05 } else { -0.05 };
            (i as f64) * (j as f64 + 1.0) + noise * j as f64
        });
        let p = pca_project(&x).unwrap();
        assert_eq!(p.points.len(), 50);
        assert!(
            p.explained_variance_ratio[0] > 0.99,
            "{:?}",
            p.explained_variance_ratio
        );
        assert!(p.explained_variance_ratio[1] < 0.01);
    }

    #[test]
    fn too_few_points_is_an_error() {
        let x = Array2::<f64>::zeros((2, 5));
        assert!(pca_project(&x).is_err());
    }
}
