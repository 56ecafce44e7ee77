//! PCA baseline and latent-space analysis on real (embedded) images.

mod common;

use latentlab::analysis::{
    pca_project, pca_reconstruction_baseline, tensor_to_matrix, tsne_2d, TsneParams,
};
use latentlab::data::{DatasetKind, Split};
use latentlab::prelude::*;

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

#[test]
fn a_plane_grid_runs_row_by_row_from_the_top_left() {
    let g = latentlab::analysis::plane_grid((0.0, 2.0), (-1.0, 1.0), 3).unwrap();
    assert_eq!(g.size(), [9, 2]);
    let v = Vec::<Vec<f32>>::try_from(g).unwrap();
    assert_eq!(v[0], vec![0.0, 1.0]); // top left
    assert_eq!(v[2], vec![2.0, 1.0]); // top right
    assert_eq!(v[4], vec![1.0, 0.0]); // centre
    assert_eq!(v[6], vec![0.0, -1.0]); // bottom left
    let err = latentlab::analysis::plane_grid((0.0, 1.0), (0.0, 1.0), 1)
        .unwrap_err()
        .to_string();
    assert!(err.contains("at least 2"), "{err}");
}

#[test]
fn code_range_gives_quantiles_and_refuses_bad_input() {
    let codes = Tensor::from_slice(&(0..101).map(|i| i as f32).collect::<Vec<_>>()).view([101, 1]);
    let (lo, hi) = latentlab::analysis::code_range(&codes, 0, 0.01, 0.99).unwrap();
    assert_eq!((lo, hi), (1.0, 99.0));
    let err = latentlab::analysis::code_range(&codes, 1, 0.0, 1.0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("codes"), "{err}");
    let err = latentlab::analysis::code_range(&codes, 0, 0.9, 0.1)
        .unwrap_err()
        .to_string();
    assert!(err.contains("lo < hi"), "{err}");
}

#[test]
fn the_latent_manifold_and_code_plane_figures_draw() {
    common::single_thread();
    let data = common::small(DatasetKind::FashionMnist, Split::Test, 50);
    let ae = AutoencoderRun::new(&AutoencoderConfig::plane(Profile::Quick), Device::Cpu).unwrap();
    let fig = figures::latent_manifold(&ae.model, (-1.0, 1.0), (-2.0, 2.0), 5, "manifold").unwrap();
    assert!(fig.width() > 5 * 56 && fig.height() > 5 * 56);
    let codes = analysis::encode_dataset(&ae.model, &data);
    assert_eq!(codes.size(), [50, 2]);
    figures::code_plane(&codes, &data, "plane").unwrap();
    let ten = Tensor::zeros([50, 10], (Kind::Float, Device::Cpu));
    let err = figures::code_plane(&ten, &data, "plane")
        .unwrap_err()
        .to_string();
    assert!(err.contains("2-d codes"), "{err}");
    let labels: Vec<String> = (0..3).map(|i| i.to_string()).collect();
    let err = figures::activations(&ten, &labels, &data.class_names(), "a")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("50 rows") && err.contains("3 row labels"),
        "{err}"
    );
}
