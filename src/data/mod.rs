//! Data: IDX files (gzip or raw), the MNIST and Fashion-MNIST datasets, fetching and checksum
//! verification, seeded batching, k-fold splits and subsets.
//!
//! Pixels are stored as `u8` in memory and turned into `f32` in `[0, 1]` one batch at a time.

pub mod batch;
pub mod dataset;
pub mod error;
pub mod fetch;
pub mod idx;
pub mod kfold;
pub mod pickle;

pub use batch::{BatchOrder, Batches};
pub use dataset::{DataSource, Dataset, Split};
pub use error::DataError;
pub use kfold::{kfold_splits, Fold};

use serde::{Deserialize, Serialize};

/// Which of the two MNIST-style datasets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetKind {
    /// Handwritten digits 0–9 (LeCun et al.).
    Mnist,
    /// Zalando's clothing images (Xiao et al., 2017).
    FashionMnist,
}

/// The four files of a dataset, in the official IDX naming.
pub const FILE_NAMES: [&str; 4] = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
];

impl DatasetKind {
    /// Folder name under `data/full/` and `data/embedded/`.
    pub fn dir_name(self) -> &'static str {
        match self {
            DatasetKind::Mnist => "mnist",
            DatasetKind::FashionMnist => "fashion-mnist",
        }
    }

    /// Human-readable name.
    pub fn display_name(self) -> &'static str {
        match self {
            DatasetKind::Mnist => "MNIST",
            DatasetKind::FashionMnist => "Fashion-MNIST",
        }
    }

    /// The ten class names, indexed by label.
    pub fn class_names(self) -> [&'static str; 10] {
        match self {
            DatasetKind::Mnist => ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
            DatasetKind::FashionMnist => [
                "T-shirt/top",
                "Trouser",
                "Pullover",
                "Dress",
                "Coat",
                "Sandal",
                "Shirt",
                "Sneaker",
                "Bag",
                "Ankle boot",
            ],
        }
    }

    /// SHA-256 of each *uncompressed* IDX file, in the order of [`FILE_NAMES`].
    pub fn sha256(self) -> [&'static str; 4] {
        match self {
            DatasetKind::Mnist => [
                "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
                "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
                "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
                "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
            ],
            DatasetKind::FashionMnist => [
                "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
                "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
                "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
                "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
            ],
        }
    }

    /// Both datasets.
    pub fn all() -> [DatasetKind; 2] {
        [DatasetKind::Mnist, DatasetKind::FashionMnist]
    }
}

impl std::fmt::Display for DatasetKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.dir_name())
    }
}

impl std::str::FromStr for DatasetKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "mnist" => Ok(DatasetKind::Mnist),
            "fashion-mnist" | "fashion_mnist" | "fashionmnist" | "fashion" => {
                Ok(DatasetKind::FashionMnist)
            }
            other => Err(format!(
                "unknown dataset '{other}': expected 'mnist' or 'fashion-mnist'"
            )),
        }
    }
}

/// Number of training and test images in the committed embedded subsets (the first ones of each
/// official file, in order).
pub const EMBEDDED_TRAIN: usize = 4000;
/// See [`EMBEDDED_TRAIN`].
pub const EMBEDDED_TEST: usize = 1000;
