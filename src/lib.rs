//! # latentlab
//!
//! Unsupervised deep learning on MNIST-style data, in Rust on libtorch (`tch`): a convolutional
//! autoencoder with grid/random search and k-fold cross-validation, supervised fine-tuning,
//! latent-space exploration and generation, and GANs — with the figures and tables used by the
//! teaching notebooks in `notebooks/`.
//!
//! Layers, each using only those before it: [`data`] → [`models`] → [`train`] → [`analysis`] →
//! [`display`]; [`figures`] joins models and data to [`display`]'s drawing functions.
//!
//! Notebooks import everything with `use latentlab::prelude::*;`.

pub mod analysis;
pub mod data;
pub mod display;
pub mod exercise;
pub mod figures;
pub mod fsutil;
pub mod limits;
pub mod models;
pub mod pipeline;
pub mod report;
pub mod runtime;
pub mod train;

/// Everything a notebook needs, in one import.
pub mod prelude {
    pub use crate::analysis;
    pub use crate::data::{DataSource, Dataset, DatasetKind, Split};
    pub use crate::display::*;
    pub use crate::exercise;
    pub use crate::figures;
    pub use crate::models::{Autoencoder, AutoencoderArch, GanKind, Matcher};
    pub use crate::runtime::{self, Profile};
    pub use crate::train::{
        self, finetune, finetune_or_load, fit, load_autoencoder, load_gan, run_search,
        train_autoencoder, train_gan, train_or_load_autoencoder, AutoencoderConfig, AutoencoderRun,
        FinetuneConfig, FinetuneRun, FitConfig, Fitted, GanConfig, GanRun, GanSteps, History,
        LossKind, LrSchedule, Optimizer, OptimizerConfig, OptimizerKind, Progress, RunFolder,
        Scorer, SearchConfig, SearchResults,
    };
    pub use anyhow::Result;
    pub use ndarray;
    pub use serde_json;
    pub use tch::nn::{self, Module, ModuleT};
    pub use tch::{self, Device, Kind, Reduction, Tensor};
}
