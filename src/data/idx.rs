//! Reading and writing IDX files, the format of MNIST and Fashion-MNIST.
//!
//! An IDX file is a big-endian header followed by raw `u8` data:
//!
//! * images: magic `0x00000803`, then the number of images, rows and columns (`u32` each), then
//!   `count * rows * cols` pixels, row-major;
//! * labels: magic `0x00000801`, then the number of labels (`u32`), then one byte per label.
//!
//! Files may be gzip-compressed or raw. Readers detect gzip by its magic bytes `0x1f 0x8b`, not
//! by the file name. Writers are atomic: they write a temporary file next to the target, flush it
//! to disk and rename it into place, so an interrupted write never leaves a half-written file.

use std::fs;
use std::io::{Read, Write};
use std::path::Path;

use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;

use crate::data::error::DataError;

/// Magic number of an IDX images file (`u8` data, 3 dimensions).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX labels file (`u8` data, 1 dimension).
pub const LABELS_MAGIC: u32 = 0x0000_0801;
/// Number of classes; every label must be below it.
pub const NUM_CLASSES: u8 = 10;

/// The contents of an IDX images file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    /// Number of images.
    pub count: usize,
    /// Rows (height) of each image.
    pub rows: usize,
    /// Columns (width) of each image.
    pub cols: usize,
    /// `count * rows * cols` pixels, image after image, each row-major.
    pub pixels: Vec<u8>,
}

impl IdxImages {
    /// Pixels per image (`rows * cols`).
    pub fn image_len(&self) -> usize {
        self.rows.saturating_mul(self.cols)
    }

    /// The first `n` images (all of them when `n >= count`).
    pub fn first(&self, n: usize) -> IdxImages {
        let n = n.min(self.count);
        let end = n.saturating_mul(self.image_len()).min(self.pixels.len());
        IdxImages {
            count: n,
            rows: self.rows,
            cols: self.cols,
            pixels: self.pixels[..end].to_vec(),
        }
    }
}

/// Whether `bytes` start with the gzip magic `0x1f 0x8b`.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.len() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b
}

/// Reads a whole file; a missing file gives [`DataError::Missing`].
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, DataError> {
    fs::read(path).map_err(|e| DataError::io(path, e))
}

/// Decompresses `bytes` when they are gzip (several members allowed), else returns them as they
/// are. `path` is only used in errors.
pub(crate) fn maybe_gunzip(path: &Path, bytes: Vec<u8>) -> Result<Vec<u8>, DataError> {
    if !is_gzip(&bytes) {
        return Ok(bytes);
    }
    // The gzip trailer holds the uncompressed size modulo 2^32: a good capacity hint for files
    // below 4 GiB. Deflate cannot expand more than about 1032 times, which caps bogus hints.
    let hint = match bytes.len().checked_sub(4).and_then(|i| bytes.get(i..)) {
        Some(t) if t.len() == 4 => u32::from_le_bytes([t[0], t[1], t[2], t[3]]) as usize,
        _ => 0,
    };
    let cap = hint.min(bytes.len().saturating_mul(1100)).min(1 << 32);
    let mut out = Vec::with_capacity(cap);
    MultiGzDecoder::new(&bytes[..])
        .read_to_end(&mut out)
        .map_err(|e| DataError::BadGzip {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
    Ok(out)
}

/// The contents of `path`, decompressed when the file is gzip (detected by its magic bytes).
///
/// This is what the official checksums are computed over.
pub fn read_idx_bytes(path: &Path) -> Result<Vec<u8>, DataError> {
    let raw = read_file(path)?;
    maybe_gunzip(path, raw)
}

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    match bytes.get(at..at + 4) {
        Some(b) => u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        None => 0,
    }
}

/// Checks the header of decompressed IDX `bytes` and returns the dimensions it declares.
fn parse_header(
    path: &Path,
    bytes: &[u8],
    magic: u32,
    ndims: usize,
) -> Result<Vec<usize>, DataError> {
    let header_len = 4 + 4 * ndims;
    if bytes.len() < 4 {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            expected_bytes: header_len as u64,
            found_bytes: bytes.len() as u64,
        });
    }
    let found = be_u32(bytes, 0);
    if found != magic {
        return Err(DataError::BadMagic {
            path: path.to_path_buf(),
            expected: magic,
            found,
        });
    }
    if bytes.len() < header_len {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            expected_bytes: header_len as u64,
            found_bytes: bytes.len() as u64,
        });
    }
    let dims: Vec<usize> = (0..ndims)
        .map(|i| be_u32(bytes, 4 + 4 * i) as usize)
        .collect();
    let data_len: u128 = dims.iter().map(|&d| d as u128).product();
    let expected = (header_len as u128 + data_len).min(u64::MAX as u128) as u64;
    let found_bytes = bytes.len() as u64;
    if found_bytes < expected {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            expected_bytes: expected,
            found_bytes,
        });
    }
    if found_bytes > expected {
        return Err(DataError::TrailingData {
            path: path.to_path_buf(),
            expected_bytes: expected,
            found_bytes,
        });
    }
    Ok(dims)
}

/// Parses decompressed IDX images `bytes`; `path` is only used in errors.
pub fn decode_idx_images(path: &Path, mut bytes: Vec<u8>) -> Result<IdxImages, DataError> {
    let dims = parse_header(path, &bytes, IMAGES_MAGIC, 3)?;
    bytes.drain(..16);
    bytes.shrink_to_fit();
    Ok(IdxImages {
        count: dims[0],
        rows: dims[1],
        cols: dims[2],
        pixels: bytes,
    })
}

/// Parses decompressed IDX labels `bytes`; `path` is only used in errors. Label values are not
/// checked here (see [`read_pair`]).
pub fn decode_idx_labels(path: &Path, mut bytes: Vec<u8>) -> Result<Vec<u8>, DataError> {
    parse_header(path, &bytes, LABELS_MAGIC, 1)?;
    bytes.drain(..8);
    bytes.shrink_to_fit();
    Ok(bytes)
}

/// Reads an IDX images file, gzip-compressed or raw.
pub fn read_idx_images(path: &Path) -> Result<IdxImages, DataError> {
    decode_idx_images(path, read_idx_bytes(path)?)
}

/// Reads an IDX labels file, gzip-compressed or raw.
pub fn read_idx_labels(path: &Path) -> Result<Vec<u8>, DataError> {
    decode_idx_labels(path, read_idx_bytes(path)?)
}

/// Checks that `labels` are all below 10; `path` is only used in errors.
pub fn check_labels(path: &Path, labels: &[u8]) -> Result<(), DataError> {
    match labels.iter().position(|&l| l >= NUM_CLASSES) {
        Some(index) => Err(DataError::LabelOutOfRange {
            path: path.to_path_buf(),
            index,
            label: labels[index],
        }),
        None => Ok(()),
    }
}

/// Reads an images file and its labels file, checking that the images are
/// `expected_size = (rows, cols)`, that the counts match and that every label is below 10.
pub fn read_pair(
    images: &Path,
    labels: &Path,
    expected_size: (usize, usize),
) -> Result<(IdxImages, Vec<u8>), DataError> {
    let imgs = read_idx_images(images)?;
    if (imgs.rows, imgs.cols) != expected_size {
        return Err(DataError::WrongImageSize {
            path: images.to_path_buf(),
            expected: expected_size,
            found: (imgs.rows, imgs.cols),
        });
    }
    let labs = read_idx_labels(labels)?;
    if labs.len() != imgs.count {
        return Err(DataError::CountMismatch {
            images_path: images.to_path_buf(),
            images: imgs.count,
            labels_path: labels.to_path_buf(),
            labels: labs.len(),
        });
    }
    check_labels(labels, &labs)?;
    Ok((imgs, labs))
}

fn u32_dim(x: usize) -> [u8; 4] {
    u32::try_from(x).unwrap_or(u32::MAX).to_be_bytes()
}

/// The raw (uncompressed) IDX encoding of `images`.
///
/// Dimensions above `u32::MAX` cannot be represented; [`write_idx_images`] rejects them.
pub fn encode_idx_images(images: &IdxImages) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + images.pixels.len());
    out.extend_from_slice(&IMAGES_MAGIC.to_be_bytes());
    out.extend_from_slice(&u32_dim(images.count));
    out.extend_from_slice(&u32_dim(images.rows));
    out.extend_from_slice(&u32_dim(images.cols));
    out.extend_from_slice(&images.pixels);
    out
}

/// The raw (uncompressed) IDX encoding of `labels`.
pub fn encode_idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + labels.len());
    out.extend_from_slice(&LABELS_MAGIC.to_be_bytes());
    out.extend_from_slice(&u32_dim(labels.len()));
    out.extend_from_slice(labels);
    out
}

/// Gzip-compresses `bytes` at `level` (0–9). The header carries no file name and a zero
/// timestamp, so the output depends only on the input.
pub fn gzip_bytes(bytes: &[u8], level: Compression) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::with_capacity(bytes.len() / 4 + 64), level);
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(bytes);
    enc.finish().unwrap_or_default()
}

/// Writes `bytes` to `path` atomically (the crate's one writer, [`crate::fsutil::write_atomic_with`]):
/// on failure `path` is left as it was.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    crate::fsutil::write_bytes_atomic(path, bytes)
}

/// Writes raw IDX `bytes` to `path`, gzip-compressed at `level` when given, atomically.
pub(crate) fn write_idx_bytes(
    path: &Path,
    raw: &[u8],
    level: Option<Compression>,
) -> Result<(), DataError> {
    let result = match level {
        Some(level) => write_atomic(path, &gzip_bytes(raw, level)),
        None => write_atomic(path, raw),
    };
    result.map_err(|e| DataError::Write {
        path: path.to_path_buf(),
        reason: e
            .to_string()
            .split(" (os error")
            .next()
            .unwrap_or_default()
            .to_string(),
    })
}

fn check_writable_images(path: &Path, images: &IdxImages) -> Result<(), DataError> {
    let expected = images
        .count
        .checked_mul(images.rows)
        .and_then(|n| n.checked_mul(images.cols));
    if expected != Some(images.pixels.len()) {
        return Err(DataError::Inconsistent {
            path: path.to_path_buf(),
            detail: format!(
                "{} images of {}x{} need {} pixels but {} were given",
                images.count,
                images.rows,
                images.cols,
                expected.map_or_else(|| "too many".to_string(), |n| n.to_string()),
                images.pixels.len()
            ),
        });
    }
    let too_big = [images.count, images.rows, images.cols]
        .iter()
        .any(|&d| u32::try_from(d).is_err());
    if too_big {
        return Err(DataError::Inconsistent {
            path: path.to_path_buf(),
            detail: "a dimension does not fit in 32 bits".to_string(),
        });
    }
    Ok(())
}

/// Writes `images` as an IDX file, gzip-compressed (default level) when `gzip`, atomically.
pub fn write_idx_images(path: &Path, images: &IdxImages, gzip: bool) -> Result<(), DataError> {
    write_idx_images_with(path, images, gzip.then(Compression::default))
}

/// Like [`write_idx_images`] with an explicit gzip level (`None`: raw).
pub fn write_idx_images_with(
    path: &Path,
    images: &IdxImages,
    level: Option<Compression>,
) -> Result<(), DataError> {
    check_writable_images(path, images)?;
    write_idx_bytes(path, &encode_idx_images(images), level)
}

/// Writes `labels` as an IDX file, gzip-compressed (default level) when `gzip`, atomically.
pub fn write_idx_labels(path: &Path, labels: &[u8], gzip: bool) -> Result<(), DataError> {
    write_idx_labels_with(path, labels, gzip.then(Compression::default))
}

/// Like [`write_idx_labels`] with an explicit gzip level (`None`: raw).
pub fn write_idx_labels_with(
    path: &Path,
    labels: &[u8],
    level: Option<Compression>,
) -> Result<(), DataError> {
    if u32::try_from(labels.len()).is_err() {
        return Err(DataError::Inconsistent {
            path: path.to_path_buf(),
            detail: "more than 2^32 - 1 labels".to_string(),
        });
    }
    write_idx_bytes(path, &encode_idx_labels(labels), level)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(count: usize) -> (IdxImages, Vec<u8>) {
        let (rows, cols) = (28, 28);
        let pixels = (0..count * rows * cols)
            .map(|i| (i * 7 % 256) as u8)
            .collect();
        let labels = (0..count).map(|i| (i % 10) as u8).collect();
        (
            IdxImages {
                count,
                rows,
                cols,
                pixels,
            },
            labels,
        )
    }

    #[test]
    fn round_trip_gz_and_raw() {
        let dir = tempfile::tempdir().unwrap();
        let (imgs, labs) = sample(5);
        for gzip in [true, false] {
            let ip = dir.path().join(format!("sub/images-{gzip}.idx"));
            let lp = dir.path().join(format!("sub/labels-{gzip}.idx"));
            write_idx_images(&ip, &imgs, gzip).unwrap();
            write_idx_labels(&lp, &labs, gzip).unwrap();
            let raw = fs::read(&ip).unwrap();
            assert_eq!(is_gzip(&raw), gzip);
            let (i2, l2) = read_pair(&ip, &lp, (28, 28)).unwrap();
            assert_eq!(i2, imgs);
            assert_eq!(l2, labs);
            assert_eq!(read_idx_bytes(&ip).unwrap(), encode_idx_images(&imgs));
        }
        // No temporary files are left behind.
        let leftovers: Vec<_> = fs::read_dir(dir.path().join("sub"))
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
            .collect();
        assert!(leftovers.is_empty());
        // Zero images is a valid file.
        let (e, el) = sample(0);
        let ip = dir.path().join("empty-images.gz");
        let lp = dir.path().join("empty-labels.gz");
        write_idx_images(&ip, &e, true).unwrap();
        write_idx_labels(&lp, &el, true).unwrap();
        assert_eq!(read_pair(&ip, &lp, (28, 28)).unwrap(), (e, el));
    }

    #[test]
    fn gzip_is_deterministic() {
        let (imgs, _) = sample(3);
        let a = gzip_bytes(&encode_idx_images(&imgs), Compression::best());
        let b = gzip_bytes(&encode_idx_images(&imgs), Compression::best());
        assert_eq!(a, b);
    }

    fn names_file(e: &DataError, p: &Path) {
        let m = e.to_string();
        assert!(m.contains(&p.display().to_string()), "{m}");
    }

    /// A folder with a good 4-image pair: (folder, images path, labels path, images, labels).
    fn good_pair() -> (
        tempfile::TempDir,
        std::path::PathBuf,
        std::path::PathBuf,
        IdxImages,
        Vec<u8>,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let (imgs, labs) = sample(4);
        let ip = d.join("train-images-idx3-ubyte.gz");
        let lp = d.join("train-labels-idx1-ubyte.gz");
        write_idx_images(&ip, &imgs, true).unwrap();
        write_idx_labels(&lp, &labs, true).unwrap();
        (dir, ip, lp, imgs, labs)
    }

    #[test]
    fn missing_files_and_wrong_magic_are_named() {
        let (dir, ip, lp, _, _) = good_pair();
        let d = dir.path();
        // Missing.
        let missing = d.join("nope.gz");
        let e = read_idx_images(&missing).unwrap_err();
        assert!(matches!(e, DataError::Missing { .. }), "{e:?}");
        names_file(&e, &missing);
        assert!(e.to_string().contains("latentlab data fetch"));

        // Wrong magic: labels read as images, and vice versa.
        let e = read_idx_images(&lp).unwrap_err();
        assert!(
            matches!(
                e,
                DataError::BadMagic {
                    expected: IMAGES_MAGIC,
                    found: LABELS_MAGIC,
                    ..
                }
            ),
            "{e:?}"
        );
        names_file(&e, &lp);
        let e = read_idx_labels(&ip).unwrap_err();
        assert!(matches!(e, DataError::BadMagic { .. }), "{e:?}");
    }

    #[test]
    fn truncated_and_overlong_files_are_named() {
        let (dir, _, _, imgs, labs) = good_pair();
        let d = dir.path();
        // Truncated header (raw and gzip).
        let p = d.join("short-header");
        fs::write(&p, &encode_idx_images(&imgs)[..10]).unwrap();
        let e = read_idx_images(&p).unwrap_err();
        assert!(
            matches!(
                e,
                DataError::Truncated {
                    expected_bytes: 16,
                    found_bytes: 10,
                    ..
                }
            ),
            "{e:?}"
        );
        names_file(&e, &p);
        fs::write(&p, [0u8, 0]).unwrap();
        let e = read_idx_labels(&p).unwrap_err();
        assert!(matches!(e, DataError::Truncated { .. }), "{e:?}");
        fs::write(&p, []).unwrap();
        let e = read_idx_labels(&p).unwrap_err();
        assert!(matches!(e, DataError::Truncated { .. }), "{e:?}");

        // Truncated data.
        let p = d.join("short-data.gz");
        let enc = encode_idx_images(&imgs);
        fs::write(&p, gzip_bytes(&enc[..enc.len() - 5], Compression::fast())).unwrap();
        let e = read_idx_images(&p).unwrap_err();
        let full = enc.len() as u64;
        assert!(
            matches!(e, DataError::Truncated { expected_bytes, found_bytes, .. }
                if expected_bytes == full && found_bytes == full - 5),
            "{e:?}"
        );
        names_file(&e, &p);

        // Trailing garbage.
        let p = d.join("long-labels");
        let mut enc = encode_idx_labels(&labs);
        enc.push(3);
        fs::write(&p, &enc).unwrap();
        let e = read_idx_labels(&p).unwrap_err();
        assert!(matches!(e, DataError::TrailingData { .. }), "{e:?}");
        names_file(&e, &p);

        // Huge declared dimensions do not overflow or allocate.
        let p = d.join("huge");
        let mut enc = IMAGES_MAGIC.to_be_bytes().to_vec();
        enc.extend([0xff; 12]);
        fs::write(&p, &enc).unwrap();
        assert!(matches!(
            read_idx_images(&p),
            Err(DataError::Truncated { .. })
        ));
    }

    #[test]
    fn image_and_label_files_that_disagree_are_named() {
        let (dir, ip, lp, _, labs) = good_pair();
        let d = dir.path();
        // Count mismatch.
        let lp3 = d.join("three-labels.gz");
        write_idx_labels(&lp3, &labs[..3], true).unwrap();
        let e = read_pair(&ip, &lp3, (28, 28)).unwrap_err();
        assert!(
            matches!(
                e,
                DataError::CountMismatch {
                    images: 4,
                    labels: 3,
                    ..
                }
            ),
            "{e:?}"
        );
        names_file(&e, &ip);
        names_file(&e, &lp3);

        // Wrong size.
        let e = read_pair(&ip, &lp, (32, 32)).unwrap_err();
        assert!(
            matches!(
                e,
                DataError::WrongImageSize {
                    expected: (32, 32),
                    found: (28, 28),
                    ..
                }
            ),
            "{e:?}"
        );
        names_file(&e, &ip);

        // Label out of range.
        let lbad = d.join("bad-labels");
        write_idx_labels(&lbad, &[1, 2, 10, 3], false).unwrap();
        let e = read_pair(&ip, &lbad, (28, 28)).unwrap_err();
        assert!(
            matches!(
                e,
                DataError::LabelOutOfRange {
                    index: 2,
                    label: 10,
                    ..
                }
            ),
            "{e:?}"
        );
        names_file(&e, &lbad);
    }

    #[test]
    fn corrupt_gzip_and_missing_embedded_files_are_named() {
        let (dir, ip, _, _, _) = good_pair();
        let d = dir.path();
        // Corrupt gzip: damaged in the middle, and cut short.
        let good = fs::read(&ip).unwrap();
        let p = d.join("corrupt.gz");
        let mut bad = good.clone();
        let mid = bad.len() / 2;
        for b in &mut bad[mid..mid + 8] {
            *b ^= 0x5a;
        }
        fs::write(&p, &bad).unwrap();
        let e = read_idx_images(&p).unwrap_err();
        assert!(matches!(e, DataError::BadGzip { .. }), "{e:?}");
        names_file(&e, &p);
        fs::write(&p, &good[..good.len() / 2]).unwrap();
        let e = read_idx_images(&p).unwrap_err();
        assert!(matches!(e, DataError::BadGzip { .. }), "{e:?}");
        fs::write(&p, [0x1f, 0x8b]).unwrap();
        assert!(matches!(
            read_idx_images(&p),
            Err(DataError::BadGzip { .. })
        ));

        // Embedded paths point at git.
        let emb = d.join("embedded/mnist/train-images-idx3-ubyte.gz");
        let e = read_idx_images(&emb).unwrap_err();
        assert!(e.to_string().contains("git checkout data/embedded"), "{e}");
    }

    #[test]
    fn writers_reject_inconsistent_input() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.gz");
        let imgs = IdxImages {
            count: 2,
            rows: 28,
            cols: 28,
            pixels: vec![0; 100],
        };
        assert!(matches!(
            write_idx_images(&p, &imgs, true),
            Err(DataError::Inconsistent { .. })
        ));
        assert!(!p.exists());
    }

    #[test]
    fn write_atomic_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b/c.bin");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
    }

    // Fuzzing by property: any bytes are decoded or refused with an error, never a panic or an
    // allocation the header merely claims. Cases: PROPTEST_CASES (256 by default).
    proptest::proptest! {
        #[test]
        fn any_mutation_of_a_valid_idx_file_is_read_or_refused(
            edits in proptest::collection::vec((0usize..100_000, proptest::num::u8::ANY), 1..8),
            cut in proptest::option::of(0usize..100_000),
        ) {
            let images = IdxImages { count: 3, rows: 28, cols: 28, pixels: (0..3 * 784).map(|i| (i % 251) as u8).collect() };
            for mut b in [encode_idx_images(&images), encode_idx_labels(&[1, 2, 3])] {
                for (at, v) in &edits {
                    let n = b.len();
                    b[at % n] = *v;
                }
                if let Some(c) = cut {
                    let n = b.len();
                    b.truncate(c % n);
                }
                let _ = decode_idx_images(Path::new("fuzz.idx"), b.clone());
                let _ = decode_idx_labels(Path::new("fuzz.idx"), b.clone());
                let gz = gzip_bytes(&b, Compression::fast());
                let _ = maybe_gunzip(Path::new("fuzz.idx.gz"), gz);
            }
        }

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2048)) {
            let _ = decode_idx_images(Path::new("fuzz.idx"), bytes.clone());
            let _ = decode_idx_labels(Path::new("fuzz.idx"), bytes.clone());
            let _ = maybe_gunzip(Path::new("fuzz.idx.gz"), bytes);
        }
    }
}
