//! In-memory datasets: images kept as `u8` (1×28×28 each), labels as `i64`, with class names.

use super::{fetch, idx, DataError, DatasetKind, FILE_NAMES};
use crate::runtime::Profile;
use std::path::Path;
use tch::{Device, Kind, Tensor};

/// Training or test part of a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// The 60,000 official training images (or the embedded first 4,000).
    Train,
    /// The 10,000 official test images (or the embedded first 1,000).
    Test,
}

/// Where images come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataSource {
    /// The full verified data under `data/full/` (fetched with `latentlab data fetch`).
    Full,
    /// The committed subset under `data/embedded/`: the first 4,000 training and 1,000 test images.
    Embedded,
}

impl DataSource {
    /// The source a profile uses: `quick` the embedded subset, `full` the fetched data.
    pub fn for_profile(profile: Profile) -> DataSource {
        match profile {
            Profile::Quick => DataSource::Embedded,
            Profile::Full => DataSource::Full,
        }
    }
}

/// The repository's `data/` folder (defined with the other paths in [`crate::runtime`]).
pub use crate::runtime::data_root;

/// A labelled image set held in memory.
///
/// `images` is `u8` `[n, 1, 28, 28]`, `labels` is `i64` `[n]`, both on `device`. Batches are
/// converted to `f32` in `[0, 1]` only when taken, so 60,000 images take 47 MB, not 188 MB.
#[derive(Debug)]
pub struct Dataset {
    /// MNIST or Fashion-MNIST.
    pub kind: DatasetKind,
    /// Train or test.
    pub split: Split,
    /// Where the images were read from.
    pub source: DataSource,
    images: Tensor,
    labels: Tensor,
}

impl Dataset {
    /// Reads one split from `data_root` (see [`data_root`]), checking sizes and label ranges.
    pub fn load_from(
        data_root: &Path,
        kind: DatasetKind,
        split: Split,
        source: DataSource,
    ) -> Result<Dataset, DataError> {
        let dir = match source {
            DataSource::Full => fetch::full_dir(data_root, kind),
            DataSource::Embedded => fetch::embedded_dir(data_root, kind),
        };
        let (img_name, lbl_name) = match split {
            Split::Train => (FILE_NAMES[0], FILE_NAMES[1]),
            Split::Test => (FILE_NAMES[2], FILE_NAMES[3]),
        };
        let (img_path, lbl_path) = (dir.join(img_name), dir.join(lbl_name));
        for p in [&img_path, &lbl_path] {
            if !p.exists() {
                let hint = match source {
                    DataSource::Full => format!(
                        "the full {} data is not there yet: run `latentlab data fetch` (or use the quick profile, which reads the committed subset)",
                        kind.display_name()
                    ),
                    DataSource::Embedded => "the committed subset under data/embedded is missing: restore it with `git checkout data/embedded`".to_string(),
                };
                return Err(DataError::Missing {
                    path: p.to_path_buf(),
                    hint,
                });
            }
        }
        let (images, labels) = idx::read_pair(&img_path, &lbl_path, (28, 28))?;
        let n = images.count as i64;
        let images = Tensor::from_slice(&images.pixels).view([n, 1, 28, 28]);
        let labels: Vec<i64> = labels.iter().map(|&l| l as i64).collect();
        Ok(Dataset {
            kind,
            split,
            source,
            images,
            labels: Tensor::from_slice(&labels),
        })
    }

    /// Reads one split for a profile from the default data folder.
    pub fn load(kind: DatasetKind, split: Split, profile: Profile) -> Result<Dataset, DataError> {
        Self::load_from(&data_root(), kind, split, DataSource::for_profile(profile))
    }

    /// Builds a dataset from tensors (`images` `u8 [n,1,28,28]`, `labels` `i64 [n]`).
    pub fn from_tensors(
        kind: DatasetKind,
        split: Split,
        source: DataSource,
        images: Tensor,
        labels: Tensor,
    ) -> anyhow::Result<Dataset> {
        let n = labels.size1()?;
        anyhow::ensure!(
            images.size() == [n, 1, 28, 28] && images.kind() == Kind::Uint8,
            "images must be u8 [n, 1, 28, 28] with n = {n} labels, got {:?} {:?}",
            images.kind(),
            images.size()
        );
        Ok(Dataset {
            kind,
            split,
            source,
            images,
            labels: labels.to_kind(Kind::Int64),
        })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.size()[0] as usize
    }

    /// True if there are no images.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The ten class names.
    pub fn class_names(&self) -> Vec<String> {
        self.kind
            .class_names()
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    /// The device the images live on.
    pub fn device(&self) -> Device {
        self.images.device()
    }

    /// A copy on `device` (e.g. the whole `u8` dataset moved to the GPU once).
    pub fn to_device(&self, device: Device) -> Dataset {
        Dataset {
            kind: self.kind,
            split: self.split,
            source: self.source,
            images: self.images.to_device(device),
            labels: self.labels.to_device(device),
        }
    }

    /// The images at `indices` as `f32 [b, 1, 28, 28]` in `[0, 1]`, and their labels.
    pub fn batch(&self, indices: &Tensor) -> (Tensor, Tensor) {
        let idx = indices.to_device(self.images.device());
        let x = self.images.index_select(0, &idx).to_kind(Kind::Float) / 255.0;
        (x, self.labels.index_select(0, &idx))
    }

    /// Images `start..end` as `f32` in `[0, 1]`, and their labels (no copy of the index).
    pub fn range(&self, start: usize, end: usize) -> (Tensor, Tensor) {
        let (s, e) = (start as i64, end.min(self.len()) as i64);
        let x = self.images.narrow(0, s, e - s).to_kind(Kind::Float) / 255.0;
        (x, self.labels.narrow(0, s, e - s))
    }

    /// All images as `f32 [n, 1, 28, 28]` in `[0, 1]`.
    pub fn images_f32(&self) -> Tensor {
        self.images.to_kind(Kind::Float) / 255.0
    }

    /// The raw `u8` images `[n, 1, 28, 28]`.
    pub fn images_u8(&self) -> &Tensor {
        &self.images
    }

    /// All labels, `i64 [n]`.
    pub fn labels(&self) -> &Tensor {
        &self.labels
    }

    /// Labels as a `Vec`.
    pub fn label_vec(&self) -> Vec<i64> {
        Vec::<i64>::try_from(&self.labels.to_device(Device::Cpu)).unwrap_or_default()
    }

    /// A new dataset with the images at `indices` (in that order).
    pub fn subset(&self, indices: &[i64]) -> Dataset {
        let idx = Tensor::from_slice(indices).to_device(self.images.device());
        Dataset {
            kind: self.kind,
            split: self.split,
            source: self.source,
            images: self.images.index_select(0, &idx),
            labels: self.labels.index_select(0, &idx),
        }
    }

    /// The first `n` images (all of them if there are fewer).
    pub fn take(&self, n: usize) -> Dataset {
        let n = n.min(self.len()) as i64;
        Dataset {
            kind: self.kind,
            split: self.split,
            source: self.source,
            images: self.images.narrow(0, 0, n),
            labels: self.labels.narrow(0, 0, n),
        }
    }

    /// Image `i` as 784 floats in `[0, 1]`, row-major (for figures).
    pub fn image(&self, i: usize) -> Vec<f32> {
        let t = self
            .images
            .get(i as i64)
            .to_device(Device::Cpu)
            .to_kind(Kind::Float)
            / 255.0;
        Vec::<f32>::try_from(t.flatten(0, -1)).unwrap_or_default()
    }

    /// The index of the first `per_class` images of each class, class by class (for figures).
    pub fn first_of_each_class(&self, per_class: usize) -> Vec<usize> {
        let labels = self.label_vec();
        let mut out = Vec::new();
        for c in 0..10 {
            out.extend(
                labels
                    .iter()
                    .enumerate()
                    .filter(|(_, &l)| l == c)
                    .map(|(i, _)| i)
                    .take(per_class),
            );
        }
        out
    }
}

/// Converts `f32 [n, 1, 28, 28]` (or `[n, 784]`) images in `[0, 1]` to one `Vec<f32>` each.
pub fn tensor_to_images(images: &Tensor) -> Vec<Vec<f32>> {
    let t = images
        .detach()
        .to_device(Device::Cpu)
        .to_kind(Kind::Float)
        .clamp(0.0, 1.0);
    let n = t.size()[0];
    let flat = t.reshape([n, -1]);
    (0..n)
        .map(|i| Vec::<f32>::try_from(flat.get(i)).unwrap_or_default())
        .collect()
}
