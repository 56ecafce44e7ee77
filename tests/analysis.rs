//! PCA baseline and latent-space analysis on real (embedded) images.

mod common;

use latentlab::analysis::{
    pca_project, pca_reconstruction_baseline, tensor_to_matrix, tsne_2d, TsneParams,
};
use latentlab::data::{DatasetKind, Split};

#[test]
fn pca_baseline_is_consistent_with_its_explained_variance() {
    let train = common::small(DatasetKind::FashionMnist, Split::Train, 600);
    let test = common::small(DatasetKind::FashionMnist, Split::Test, 200);
    let (b, model) = pca_reconstruction_baseline(&train, &test, 10).unwrap();
    let kept: f64 = b.explained_variance_ratio.iter().sum();
    assert!(kept > 0.5 && kept < 1.0, "{kept}");
    // On the training images, the squared error is exactly the variance left out:
    // MSE · 784 · n = (1 − kept) · total · (n − 1).
    let n = train.len() as f64;
    let expected = (1.0 - kept) * model.total_variance * (n - 1.0) / n / 784.0;
    assert!(
        (b.train_mse - expected).abs() < 1e-3 * expected,
        "{} vs {expected}",
        b.train_mse
    );
    assert!(b.test_mse > 0.0 && b.test_mse < 0.1);
    // More components never reconstruct worse.
    let (b20, _) = pca_reconstruction_baseline(&train, &test, 20).unwrap();
    assert!(b20.train_mse < b.train_mse);
    let err = pca_reconstruction_baseline(&train.take(5), &test, 10)
        .unwrap_err()
        .to_string();
    assert!(err.contains("more than 10 training images"), "{err}");
}

#[test]
fn projections_have_one_point_per_image_and_refuse_bad_input() {
    let test = common::small(DatasetKind::FashionMnist, Split::Test, 120);
    let x = tensor_to_matrix(&test.images_f32().view([120, 784])).unwrap();
    assert_eq!(pca_project(&x).unwrap().points.len(), 120);
    let params = TsneParams {
        perplexity: 10.0,
        iterations: 250,
        ..Default::default()
    };
    let t = tsne_2d(&x, &params).unwrap();
    assert_eq!(t.embedding.len(), 120);
    assert!(t
        .embedding
        .iter()
        .all(|(a, b)| a.is_finite() && b.is_finite()));
    let few = x.slice(ndarray::s![..20, ..]).to_owned();
    let err = tsne_2d(&few, &TsneParams::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("needs at least"), "{err}");
}
