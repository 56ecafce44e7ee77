//! Analysis: PCA (baseline and projections), latent encodings and class prototypes, t-SNE and
//! metrics.

pub mod gan_quality;
pub mod latent;
pub mod metrics;
pub mod pca;
pub mod tsne;

pub use gan_quality::{
    frechet_floor, gan_quality, load_sweep, shipped_sweep_path, GanQuality, SweepEval, SweepVariant,
};
pub use latent::{
    class_prototypes, code_range, encode_dataset, generate_by_class, generation_quality,
    interpolate, plane_grid, sample_codes, ClassPrototype, GenerationQuality,
};
pub use metrics::{accuracy, confusion_matrix, frechet_distance, mean_pairwise_distance};
pub use pca::{
    pca_project, pca_reconstruction_baseline, tensor_to_matrix, PcaBaseline, PcaModel,
    PcaProjection,
};
pub use tsne::{tsne_2d, TsneParams, TsneResult};
