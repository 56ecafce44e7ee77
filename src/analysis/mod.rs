//! Analysis: PCA (baseline and projections), latent encodings and class prototypes, t-SNE,
//! metrics, and the scores of generated digits (precision/recall, strokes, GAN quality).

pub mod gan_quality;
pub mod latent;
pub mod metrics;
pub mod pca;
pub mod precision_recall;
pub mod strokes;
pub mod tsne;

pub use gan_quality::{
    class_shares, draw_samples, frechet_floor, gan_quality, load_sweep, load_variant, real_floor,
    score_generators, score_images, shipped_sweep_path, shipped_variants_dir, GanQuality,
    GanQualityEntry, GanQualityFile, Reference, SweepEval, SweepVariant, PR_NEIGHBOURS,
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
pub use precision_recall::{precision_recall, Manifold, PrecisionRecall};
pub use strokes::{
    class_strokes, ink_and_slant, spread_ratios, strokes_against, ClassStrokes, StrokeSummary,
};
pub use tsne::{tsne_2d, TsneParams, TsneResult};
