//! Reading the classic `mnist.pkl.gz`, one source of MNIST.
//!
//! That file is a gzip-compressed Python pickle (protocol 2, written by Python 2 and numpy)
//! holding a tuple of three `(images, labels)` pairs: training (50,000), validation (10,000) and
//! test (10,000). Images are `float32` arrays of shape `[n, 784]` whose values are exactly the
//! original bytes divided by 256; labels are `int64` arrays of shape `[n]`. Training followed by
//! validation is the official 60,000-image training set, in order.
//!
//! The pickle is decoded by `serde-pickle`, which never runs code: the numpy globals it does not
//! know (`_reconstruct`, `dtype`) are replaced by `None`, so each array arrives as its `BUILD`
//! state, `(version, shape, dtype state, fortran order, raw bytes)`. That state does not carry the
//! dtype's type code (it went into the replaced `dtype(...)` call), so the element type is told
//! by its size in this known layout: images are `float32` (4 bytes), `float64` (8) or `uint8`
//! (1); labels are `int64` (8), `int32` (4) or `uint8` (1); the byte order comes from the state.

use std::path::Path;

use serde_pickle::{DeOptions, Value};

use crate::data::error::DataError;
use crate::data::idx::{maybe_gunzip, read_file, IdxImages, NUM_CLASSES};

/// The MNIST pickle converted to the official IDX layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MnistPickle {
    /// The official training set: the pickle's training split followed by its validation split.
    pub train: (IdxImages, Vec<u8>),
    /// The official test set.
    pub test: (IdxImages, Vec<u8>),
}

/// Reads `mnist.pkl.gz` (gzip-compressed or raw) and converts it to IDX images and labels.
///
/// Pixels are converted with `round(v * 256)`; every value must be a multiple of 1/256 in
/// `[0, 255/256]` (within 1e-4) and every label in `0..=9`, else [`DataError::BadPickle`].
pub fn read_mnist_pickle(path: &Path) -> Result<MnistPickle, DataError> {
    let bytes = maybe_gunzip(path, read_file(path)?)?;
    parse_mnist_pickle(path, &bytes)
}

/// Like [`read_mnist_pickle`] on the already decompressed pickle `bytes`; `path` is only used in
/// errors.
pub fn parse_mnist_pickle(path: &Path, bytes: &[u8]) -> Result<MnistPickle, DataError> {
    let bad = |detail: String| DataError::BadPickle {
        path: path.to_path_buf(),
        detail,
    };
    let top = serde_pickle::value_from_slice(bytes, DeOptions::new().replace_unresolved_globals())
        .map_err(|e| bad(format!("it is not a readable pickle ({e})")))?;
    let splits = match &top {
        Value::Tuple(items) if items.len() == 3 => items,
        other => {
            return Err(bad(format!(
                "the top-level object is {} instead of a tuple of three splits",
                describe(other)
            )))
        }
    };
    let mut parts = Vec::with_capacity(3);
    for (split, name) in splits.iter().zip(["training", "validation", "test"]) {
        parts.push(convert_split(split, name).map_err(bad)?);
    }
    let mut it = parts.into_iter();
    let (Some(train), Some(valid), Some(test)) = (it.next(), it.next(), it.next()) else {
        return Err(bad("fewer than three splits".to_string()));
    };
    let (mut train_imgs, mut train_labels) = train;
    let (valid_imgs, valid_labels) = valid;
    train_imgs.pixels.extend_from_slice(&valid_imgs.pixels);
    train_imgs.count += valid_imgs.count;
    train_labels.extend_from_slice(&valid_labels);
    Ok(MnistPickle {
        train: (train_imgs, train_labels),
        test,
    })
}

/// A short description of a pickled value, for errors.
fn describe(v: &Value) -> String {
    match v {
        Value::None => "None".into(),
        Value::Tuple(t) => format!("a tuple of {}", t.len()),
        Value::List(l) => format!("a list of {}", l.len()),
        Value::Bytes(b) => format!("{} bytes", b.len()),
        Value::String(_) => "a string".into(),
        Value::Dict(_) => "a dict".into(),
        Value::I64(_) | Value::Int(_) => "an integer".into(),
        Value::F64(_) => "a float".into(),
        _ => "another object".into(),
    }
}

/// A numpy array as its `BUILD` state: shape, little-endian flag, raw bytes.
struct Array<'a> {
    shape: Vec<usize>,
    little_endian: bool,
    data: &'a [u8],
}

impl Array<'_> {
    /// Bytes per element, when the data fills the shape exactly.
    fn item_size(&self) -> Option<usize> {
        let n: usize = self
            .shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))?;
        (n > 0 && self.data.len().is_multiple_of(n)).then(|| self.data.len() / n)
    }

    fn bytes_at<const N: usize>(&self, i: usize) -> Option<[u8; N]> {
        let b: [u8; N] = self.data.get(i * N..i * N + N)?.try_into().ok()?;
        Some(b)
    }

    /// Element `i` as a float (`float32`, `float64` or `uint8` data).
    fn float(&self, i: usize, size: usize) -> Option<f64> {
        let le = self.little_endian;
        match size {
            1 => self.data.get(i).map(|&b| f64::from(b)),
            4 => self.bytes_at::<4>(i).map(|b| {
                f64::from(if le {
                    f32::from_le_bytes(b)
                } else {
                    f32::from_be_bytes(b)
                })
            }),
            8 => self.bytes_at::<8>(i).map(|b| {
                if le {
                    f64::from_le_bytes(b)
                } else {
                    f64::from_be_bytes(b)
                }
            }),
            _ => None,
        }
    }

    /// Element `i` as an integer (`int64`, `int32` or `uint8` data).
    fn int(&self, i: usize, size: usize) -> Option<i64> {
        let le = self.little_endian;
        match size {
            1 => self.data.get(i).map(|&b| i64::from(b)),
            4 => self.bytes_at::<4>(i).map(|b| {
                i64::from(if le {
                    i32::from_le_bytes(b)
                } else {
                    i32::from_be_bytes(b)
                })
            }),
            8 => self.bytes_at::<8>(i).map(|b| {
                if le {
                    i64::from_le_bytes(b)
                } else {
                    i64::from_be_bytes(b)
                }
            }),
            _ => None,
        }
    }
}

/// Reads an array from its `BUILD` state `(version, shape, dtype state, fortran, data)`.
fn array<'a>(v: &'a Value, what: &str) -> Result<Array<'a>, String> {
    let not = || format!("the {what} are {} instead of a numpy array", describe(v));
    let Value::Tuple(t) = v else {
        return Err(not());
    };
    let [_, Value::Tuple(shape), dtype, Value::Bool(fortran), data] = t.as_slice() else {
        return Err(not());
    };
    if *fortran {
        return Err(format!("the {what} are stored in Fortran order"));
    }
    let shape = shape
        .iter()
        .map(|d| match d {
            Value::I64(n) if *n >= 0 => Ok(*n as usize),
            _ => Err(format!(
                "the {what} have a shape that is not a list of sizes"
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let order = match dtype {
        Value::Tuple(d) => d.get(1),
        _ => None,
    };
    let little_endian = !matches!(order, Some(Value::String(s)) if s == ">")
        && !matches!(order, Some(Value::Bytes(b)) if b == b">");
    let data = match data {
        Value::Bytes(b) => b.as_slice(),
        Value::String(s) => s.as_bytes(),
        other => {
            return Err(format!(
                "the {what} hold {} instead of raw data",
                describe(other)
            ))
        }
    };
    Ok(Array {
        shape,
        little_endian,
        data,
    })
}

/// Converts one `(images, labels)` pair.
fn convert_split(split: &Value, name: &str) -> Result<(IdxImages, Vec<u8>), String> {
    let Value::Tuple(items) = split else {
        return Err(format!(
            "the {name} split is {} instead of an (images, labels) pair",
            describe(split)
        ));
    };
    let [imgs, labels] = items.as_slice() else {
        return Err(format!(
            "the {name} split holds {} items, not 2",
            items.len()
        ));
    };
    let imgs = array(imgs, &format!("{name} images"))?;
    let labels = array(labels, &format!("{name} labels"))?;
    let count = match imgs.shape.as_slice() {
        [n, 784] | [n, 28, 28] => *n,
        s => {
            return Err(format!(
                "the {name} images have shape {s:?} instead of [n, 784]"
            ))
        }
    };
    if labels.shape != [count] {
        return Err(format!(
            "the {name} labels have shape {:?} but there are {count} images",
            labels.shape
        ));
    }
    Ok((
        pixels(&imgs, name, count)?,
        label_bytes(&labels, name, count)?,
    ))
}

fn pixels(imgs: &Array, name: &str, count: usize) -> Result<IdxImages, String> {
    let size = imgs
        .item_size()
        .filter(|s| [1, 4, 8].contains(s))
        .ok_or_else(|| format!("the {name} images' data does not fit their shape"))?;
    let n = count * 784;
    let mut pixels = Vec::with_capacity(n);
    for i in 0..n {
        let v = imgs.float(i, size).unwrap_or(f64::NAN);
        pixels.push(to_pixel(v, size == 1).ok_or_else(|| {
            format!(
                "the {name} images hold the value {v} at position {i}, which is not a pixel \
                 (k/256 for k in 0..=255)"
            )
        })?);
    }
    Ok(IdxImages {
        count,
        rows: 28,
        cols: 28,
        pixels,
    })
}

fn label_bytes(labels: &Array, name: &str, count: usize) -> Result<Vec<u8>, String> {
    let size = labels
        .item_size()
        .filter(|s| [1, 4, 8].contains(s))
        .ok_or_else(|| format!("the {name} labels' data does not fit their shape"))?;
    (0..count)
        .map(|i| {
            let v = labels.int(i, size).unwrap_or(-1);
            u8::try_from(v)
                .ok()
                .filter(|l| *l < NUM_CLASSES)
                .ok_or_else(|| format!("the {name} label #{i} is {v}, not in 0..=9"))
        })
        .collect()
}

/// `v * 256` rounded, when it is (within 1e-4) an integer in `0..=255`; `raw` for uint8 data.
fn to_pixel(v: f64, raw: bool) -> Option<u8> {
    let x = if raw { v } else { v * 256.0 };
    let r = x.round();
    if x.is_finite() && (x - r).abs() <= 1e-4 && (0.0..=255.0).contains(&r) {
        Some(r as u8)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// Emits pickle opcodes, numbering memo entries as it goes.
    struct PickleWriter {
        p: Vec<u8>,
        memo: u8,
        /// Memo ids of the `f4` and `i8` dtypes once written (0: not yet).
        dtypes: (u8, u8),
    }

    impl PickleWriter {
        fn binput(&mut self) -> u8 {
            let id = self.memo;
            self.p.extend([b'q', id]);
            self.memo += 1;
            id
        }

        fn short_str(&mut self, s: &[u8]) {
            self.p.push(b'U');
            self.p.push(s.len() as u8);
            self.p.extend_from_slice(s);
        }

        fn int(&mut self, v: usize) {
            if v < 256 {
                self.p.extend([b'K', v as u8]);
            } else {
                self.p.push(b'M');
                self.p.extend((v as u16).to_le_bytes());
            }
        }

        /// `numpy.dtype(name, 0, 1)` with its state, memoised; later uses refer to the memo.
        fn dtype(&mut self, is_labels: bool) {
            let known = if is_labels {
                self.dtypes.1
            } else {
                self.dtypes.0
            };
            if known != 0 {
                self.p.extend([b'h', known]);
                return;
            }
            if is_labels {
                self.p.extend([b'h', 4]); // the `numpy.dtype` global memoised by the f4 dtype
            } else {
                self.p.extend(b"cnumpy\ndtype\n");
                self.binput();
            }
            self.short_str(if is_labels { b"i8" } else { b"f4" });
            self.int(0);
            self.int(1);
            self.p.extend([0x87, b'R']);
            let id = self.binput();
            self.p.push(b'(');
            self.int(3);
            self.short_str(b"<");
            self.p.extend(b"NNN");
            for _ in 0..2 {
                self.p.push(b'J');
                self.p.extend((-1i32).to_le_bytes());
            }
            self.int(0);
            self.p.extend([b't', b'b']);
            if is_labels {
                self.dtypes.1 = id;
            } else {
                self.dtypes.0 = id;
            }
        }

        /// One `numpy.core.multiarray._reconstruct` array of `rows` (× 784 for images) values.
        fn array(&mut self, rows: usize, is_labels: bool, raw: &[u8]) {
            if self.memo == 1 {
                self.p.extend(b"cnumpy.core.multiarray\n_reconstruct\n");
                self.binput();
                self.p.extend(b"cnumpy\nndarray\n");
                self.binput();
            } else {
                self.p.extend([b'h', 1, b'h', 2]);
            }
            self.int(0);
            self.p.push(0x85);
            self.short_str(b"b");
            self.p.extend([0x87, b'R']);
            self.binput();
            self.p.push(b'(');
            self.int(1);
            self.int(rows);
            if is_labels {
                self.p.push(0x85);
            } else {
                self.int(784);
                self.p.push(0x86);
            }
            self.dtype(is_labels);
            self.p.extend([0x89, b'T']);
            self.p.extend((raw.len() as u32).to_le_bytes());
            self.p.extend(raw);
            self.p.extend([b't', b'b']);
        }
    }

    /// Writes a protocol-2 pickle shaped exactly like the real `mnist.pkl.gz` (same opcodes and
    /// memo layout), with `sizes[k]` images in split `k`.
    fn mnist_like_pickle(
        sizes: [usize; 3],
        images: &[Vec<f32>; 3],
        labels: &[Vec<i64>; 3],
    ) -> Vec<u8> {
        let mut w = PickleWriter {
            p: vec![0x80, 2],
            memo: 1,
            dtypes: (0, 0),
        };
        for k in 0..3 {
            let pixels: Vec<u8> = images[k].iter().flat_map(|v| v.to_le_bytes()).collect();
            let digits: Vec<u8> = labels[k].iter().flat_map(|v| v.to_le_bytes()).collect();
            w.array(sizes[k], false, &pixels);
            w.array(sizes[k], true, &digits);
            w.p.push(0x86);
            w.binput();
        }
        w.p.extend([0x87, b'.']);
        w.p
    }

    fn fixture() -> (Vec<u8>, [Vec<u8>; 3], [Vec<u8>; 3]) {
        let sizes = [2, 2, 2];
        let bytes: [Vec<u8>; 3] = std::array::from_fn(|k| {
            (0..sizes[k] * 784)
                .map(|i| ((i * 13 + k * 101) % 256) as u8)
                .collect()
        });
        let labels: [Vec<u8>; 3] = [vec![5, 0], vec![4, 1], vec![7, 2]];
        let imgs = bytes
            .clone()
            .map(|b| b.iter().map(|&x| x as f32 / 256.0).collect());
        let labs = labels
            .clone()
            .map(|l| l.iter().map(|&x| x as i64).collect());
        (mnist_like_pickle(sizes, &imgs, &labs), bytes, labels)
    }

    #[test]
    fn parses_mnist_shaped_pickle() {
        let (p, bytes, labels) = fixture();
        let m = parse_mnist_pickle(Path::new("mnist.pkl"), &p).unwrap();
        let (ti, tl) = &m.train;
        assert_eq!((ti.count, ti.rows, ti.cols), (4, 28, 28));
        assert_eq!(ti.pixels, [bytes[0].clone(), bytes[1].clone()].concat());
        assert_eq!(tl, &vec![5, 0, 4, 1]);
        assert_eq!(m.test.0.pixels, bytes[2]);
        assert_eq!(m.test.0.count, 2);
        assert_eq!(m.test.1, labels[2]);
    }

    #[test]
    fn reads_gzip_file() {
        let (p, _, _) = fixture();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mnist.pkl.gz");
        std::fs::write(
            &path,
            crate::data::idx::gzip_bytes(&p, flate2::Compression::fast()),
        )
        .unwrap();
        let m = read_mnist_pickle(&path).unwrap();
        assert_eq!(m.train.0.count, 4);
    }

    fn bad_pickle(p: &[u8]) -> String {
        match parse_mnist_pickle(&PathBuf::from("data/mnist.pkl"), p) {
            Err(e @ DataError::BadPickle { .. }) => {
                let m = e.to_string();
                assert!(m.contains("data/mnist.pkl"), "{m}");
                m
            }
            other => panic!("expected BadPickle, got {other:?}"),
        }
    }

    #[test]
    fn rejects_bad_pickles() {
        let (p, _, _) = fixture();
        // Every truncation fails cleanly, never panics.
        for cut in (0..p.len()).step_by(97).chain([p.len() - 1]) {
            bad_pickle(&p[..cut]);
        }
        // A pixel value that is not k/256.
        let sizes = [1, 1, 1];
        let mut imgs: [Vec<f32>; 3] = std::array::from_fn(|_| vec![0.0; 784]);
        let labs: [Vec<i64>; 3] = [vec![1], vec![2], vec![3]];
        imgs[1][5] = 0.3;
        let m = bad_pickle(&mnist_like_pickle(sizes, &imgs, &labs));
        assert!(m.contains("validation") && m.contains("0.3"), "{m}");
        imgs[1][5] = 1.0;
        bad_pickle(&mnist_like_pickle(sizes, &imgs, &labs));
        imgs[1][5] = f32::NAN;
        bad_pickle(&mnist_like_pickle(sizes, &imgs, &labs));
        imgs[1][5] = -1.0 / 256.0;
        bad_pickle(&mnist_like_pickle(sizes, &imgs, &labs));
        imgs[1][5] = 255.0 / 256.0;
        assert!(
            parse_mnist_pickle(Path::new("x"), &mnist_like_pickle(sizes, &imgs, &labs)).is_ok()
        );
        // A label out of range.
        let labs: [Vec<i64>; 3] = [vec![1], vec![2], vec![10]];
        let m = bad_pickle(&mnist_like_pickle(sizes, &imgs, &labs));
        assert!(m.contains("test label #0 is 10"), "{m}");
        let labs: [Vec<i64>; 3] = [vec![-1], vec![2], vec![1]];
        bad_pickle(&mnist_like_pickle(sizes, &imgs, &labs));
        // Nothing is ever called: a call of os.system reads as an unknown object and is refused.
        let m = bad_pickle(b"\x80\x02cos\nsystem\nU\x02lsq\x01\x85R.");
        assert!(m.contains("instead of a tuple of three splits"), "{m}");
        // Not a pickle at all, and unknown opcodes.
        bad_pickle(b"");
        bad_pickle(b"\x80\x02\xff");
        bad_pickle(b"\x80\x02K\x01.");
        bad_pickle(b"\x80\x02t.");
        bad_pickle(b"\x80\x02h\x05.");
        bad_pickle(b"\x80\x02T\xff\xff\xff\xff");
    }

    /// Manual check against the real file (not committed): converts it and compares the SHA-256
    /// of the encoded IDX files with the official ones.
    #[test]
    #[ignore]
    fn real_mnist_pickle() {
        use crate::data::idx::{encode_idx_images, encode_idx_labels};
        use sha2::{Digest, Sha256};
        let path = std::env::var("MNIST_PKL")
            .unwrap_or_else(|_| "/tmp/dl/mh/mnist/data/mnist.pkl.gz".to_string());
        let m = read_mnist_pickle(Path::new(&path)).unwrap();
        let files = [
            encode_idx_images(&m.train.0),
            encode_idx_labels(&m.train.1),
            encode_idx_images(&m.test.0),
            encode_idx_labels(&m.test.1),
        ];
        let want = crate::data::DatasetKind::Mnist.sha256();
        for (f, w) in files.iter().zip(want) {
            let got = format!("{:x}", Sha256::digest(f));
            println!("{got}");
            assert_eq!(got, w);
        }
    }

    // Fuzzing by property: whatever bytes arrive, the reader returns a value or an error, never
    // panics, never loops. Cases: PROPTEST_CASES (256 by default; CI runs a bounded number).
    proptest::proptest! {
        #[test]
        fn any_mutation_of_a_valid_pickle_is_read_or_refused(
            edits in proptest::collection::vec((0usize..1_000_000, proptest::num::u8::ANY), 1..8),
            cut in proptest::option::of(0usize..1_000_000),
        ) {
            let (mut p, _, _) = fixture();
            for (at, b) in edits {
                let n = p.len();
                p[at % n] = b;
            }
            if let Some(c) = cut {
                let n = p.len();
                p.truncate(c % n);
            }
            let _ = parse_mnist_pickle(Path::new("fuzz.pkl"), &p);
        }

        #[test]
        fn random_bytes_are_refused(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..4096)) {
            proptest::prop_assert!(parse_mnist_pickle(Path::new("fuzz.pkl"), &bytes).is_err());
        }
    }
}
