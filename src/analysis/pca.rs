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

/// Fits PCA with `components` components on `train` and reports the reconstruction MSE of both
/// sets: the linear baseline for an autoencoder with a `components`-d latent code.
pub fn pca_reconstruction_baseline(
    train: &Dataset,
    test: &Dataset,
    components: usize,
) -> anyhow::Result<PcaBaseline> {
    let t0 = Instant::now();
    anyhow::ensure!(
        components >= 1 && components <= 784,
        "PCA needs between 1 and 784 components, got {components}"
    );
    anyhow::ensure!(
        train.len() > components,
        "PCA with {components} components needs more than {components} training images, got {}",
        train.len()
    );
    let xtr = images_matrix(train)?;
    let xte = images_matrix(test)?;
    let pca = Pca::params(components).fit(&DatasetBase::from(xtr.clone()))?;
    Ok(PcaBaseline {
        components,
        train_mse: reconstruction_mse(&pca, &xtr),
        test_mse: reconstruction_mse(&pca, &xte),
        explained_variance_ratio: pca.explained_variance_ratio().to_vec(),
        seconds: t0.elapsed().as_secs_f64(),
    })
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
pub fn pca_project(x: &Array2<f64>) -> anyhow::Result<PcaProjection> {
    anyhow::ensure!(
        x.nrows() >= 3 && x.ncols() >= 2,
        "a 2-d PCA projection needs at least 3 points of at least 2 dimensions, got {}×{}",
        x.nrows(),
        x.ncols()
    );
    let pca = Pca::params(2).fit(&DatasetBase::from(x.clone()))?;
    let z: Array2<f64> = pca.predict(x);
    // linfa reports the ratio over the kept components only; report it over all of them.
    let total: f64 = {
        let c = x - &x.mean_axis(ndarray::Axis(0)).unwrap_or_default();
        c.mapv(|v| v * v).sum() / (x.nrows() as f64 - 1.0)
    };
    let ev = pca.explained_variance();
    Ok(PcaProjection {
        points: z.rows().into_iter().map(|r| (r[0], r[1])).collect(),
        explained_variance_ratio: [ev[0] / total, ev[1] / total],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projection_of_a_line_explains_everything() {
        let x = Array2::from_shape_fn((50, 3), |(i, j)| (i as f64) * (j as f64 + 1.0));
        let p = pca_project(&x).unwrap();
        assert_eq!(p.points.len(), 50);
        assert!(p.explained_variance_ratio[0] > 0.999, "{:?}", p.explained_variance_ratio);
    }

    #[test]
    fn too_few_points_is_an_error() {
        let x = Array2::<f64>::zeros((2, 5));
        assert!(pca_project(&x).is_err());
    }
}
