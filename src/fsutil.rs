//! Files written so that nothing is ever half-written, and read with errors that say what to do.
//!
//! [`write_atomic_with`] is the one way this crate writes a file: a uniquely named temp file in
//! the target's folder (`.tmp-XXXXXX-<name>`, so two writers never share one), filled, flushed to
//! disk, renamed over the target, and the folder flushed. IDX files, figures, JSON and checkpoints
//! all go through it.

use anyhow::Context;
use serde::{de::DeserializeOwned, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The folder a file path lives in (`.` for a bare file name).
fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Writes `path` atomically: `fill(temp_path)` writes the content to a temp file in the same
/// folder (its name ends with `path`'s file name, so writers that pick a format by extension
/// still see it), which is then flushed to disk and renamed over `path`. Parent folders are
/// created. On any failure the temp file is removed and `path` is left as it was.
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&Path) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let name = path.file_name().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the path names a folder, not a file",
        )
    })?;
    let dir = parent_of(path);
    std::fs::create_dir_all(&dir)?;
    let mut builder = tempfile::Builder::new();
    let suffix = format!("-{}", name.to_string_lossy());
    builder.prefix(".tmp-").suffix(&suffix);
    // Readable by others, as a plain `File::create` would leave it (tempfile's default is 0600).
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
    let tmp = builder.tempfile_in(&dir)?;
    fill(tmp.path())?;
    std::fs::OpenOptions::new()
        .write(true)
        .open(tmp.path())?
        .sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    // Make the rename itself durable; not every platform can open a folder, so best effort.
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically (see [`write_atomic_with`]).
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_with(path, |tmp| {
        let mut f = std::fs::File::create(tmp)?;
        f.write_all(bytes)?;
        f.flush()
    })
}

/// Writes `bytes` to `path` atomically; the error names the path.
pub fn write_atomic(path: impl AsRef<Path>, bytes: &[u8]) -> anyhow::Result<()> {
    let path = path.as_ref();
    write_bytes_atomic(path, bytes).map_err(|e| write_error(path, e))
}

/// "cannot write P: <reason>", with a hint for the usual causes.
pub fn write_error(path: &Path, e: std::io::Error) -> anyhow::Error {
    let hint = match e.kind() {
        std::io::ErrorKind::PermissionDenied => {
            " (the folder is not writable: choose another --out, or fix its permissions)"
        }
        std::io::ErrorKind::NotADirectory | std::io::ErrorKind::AlreadyExists => {
            " (a file stands where a folder is needed: choose another --out)"
        }
        _ => "",
    };
    anyhow::anyhow!("cannot write {}: {e}{hint}", path.display())
}

/// Serialises `value` as pretty JSON and writes it atomically.
pub fn write_json(path: impl AsRef<Path>, value: &impl Serialize) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

/// Reads a JSON file written by this crate, naming the file in any error.
pub fn read_json<T: DeserializeOwned>(path: impl AsRef<Path>) -> anyhow::Result<T> {
    let path = path.as_ref();
    let text = read_text(path)?;
    serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is damaged or not of the expected kind: it does not parse as this file",
            path.display()
        )
    })
}

fn read_text(path: &Path) -> anyhow::Result<String> {
    if path.is_dir() {
        anyhow::bail!("{} is a folder; a JSON file is needed here", path.display());
    }
    std::fs::read_to_string(path).with_context(|| match path.exists() {
        true => format!("cannot read {}", path.display()),
        false => format!("{} does not exist", path.display()),
    })
}

/// Reads a config file strictly: an unknown field is an error that names it, where it is, and
/// the nearest known field; a wrong type or value names the field and the line.
pub fn read_config<T: DeserializeOwned>(path: impl AsRef<Path>) -> anyhow::Result<T> {
    let path = path.as_ref();
    let text = read_text(path)?;
    let de = &mut serde_json::Deserializer::from_str(&text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        let inner = e.into_inner();
        let msg = inner.to_string();
        if let Some(hint) = unknown_field_hint(&msg) {
            anyhow::anyhow!(
                "{}: unknown field `{field}`{hint}; remove or rename it",
                path.display()
            )
        } else if inner.is_syntax() || inner.is_eof() {
            anyhow::anyhow!("{} is not valid JSON: {msg}", path.display())
        } else if field == "." {
            anyhow::anyhow!("{}: {msg}", path.display())
        } else {
            anyhow::anyhow!("{}: field `{field}`: {msg}", path.display())
        }
    })
}

/// From serde's "unknown field `x`, expected one of `a`, `b`" (or "expected `a`"), the text
/// "; did you mean `a`? (known: a, b)".
fn unknown_field_hint(msg: &str) -> Option<String> {
    let rest = msg.strip_prefix("unknown field `")?;
    let (name, rest) = rest.split_once('`')?;
    let known: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    let nearest = known
        .iter()
        .min_by_key(|k| edit_distance(name, k))
        .filter(|k| edit_distance(name, k) <= k.len().max(name.len()) / 2 + 1);
    let list = known.join(", ");
    Some(match nearest {
        Some(k) => format!("; did you mean `{k}`? (known fields here: {list})"),
        None if known.is_empty() => " (this place takes no fields)".into(),
        None => format!(" (known fields here: {list})"),
    })
}

/// Levenshtein distance between two short strings.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// Checks that `path` is a whole `.safetensors` file (its header parses and the data it
/// describes is all there), so that a truncated or damaged file is reported as such.
pub fn check_safetensors(path: &Path) -> anyhow::Result<()> {
    let damaged = |why: String| {
        anyhow::anyhow!(
            "{} is a damaged file ({why}): it was cut short or overwritten; restore it, or train the run again",
            path.display()
        )
    };
    use std::io::Read;
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let len = file.metadata()?.len();
    if len < 8 {
        return Err(damaged(format!("{len} bytes long")));
    }
    let mut prefix = [0u8; 8];
    file.read_exact(&mut prefix)?;
    let n = u64::from_le_bytes(prefix);
    if n > len - 8 {
        return Err(damaged(format!(
            "its header needs {n} bytes; it is shorter"
        )));
    }
    let mut header = vec![0u8; n as usize];
    file.read_exact(&mut header)?;
    let header: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&header)
        .map_err(|_| damaged("its header is not a safetensors header".into()))?;
    let data = (len - 8 - n) as usize;
    for (name, entry) in &header {
        if name == "__metadata__" {
            continue;
        }
        let end = entry["data_offsets"][1].as_u64().unwrap_or(u64::MAX) as usize;
        if end > data {
            return Err(damaged(format!(
                "tensor `{name}` ends at byte {end} of the data, which has {data}"
            )));
        }
    }
    Ok(())
}

/// Saves a var store as `.safetensors` atomically.
pub fn save_varstore(vs: &tch::nn::VarStore, path: impl AsRef<Path>) -> anyhow::Result<()> {
    let path = path.as_ref();
    write_atomic_with(path, |tmp| vs.save(tmp).map_err(std::io::Error::other))
        .map_err(|e| write_error(path, e))
}

/// Loads a `.safetensors` checkpoint into `vs`, with an error that says what to do.
pub fn load_varstore(vs: &mut tch::nn::VarStore, path: impl AsRef<Path>) -> anyhow::Result<()> {
    let path = path.as_ref();
    if !path.exists() {
        anyhow::bail!(
            "checkpoint {} does not exist: train one first (see `latentlab --help`) or pass the right path",
            path.display()
        );
    }
    check_safetensors(path)?;
    vs.load(path).map_err(|e| {
        anyhow::anyhow!(
            "checkpoint {} does not fit this model (different architecture or latent size?): \
             use the config.json saved beside it ({})",
            path.display(),
            first_line(&e.to_string())
        )
    })
}

/// Removes the named files from `dir`, skipping those that are not there; the error names the
/// file that could not be removed. Used to clear a run folder's stale files before a fresh start.
pub fn remove_files<'a>(
    dir: &Path,
    names: impl IntoIterator<Item = &'a str>,
) -> anyhow::Result<()> {
    for name in names {
        let p = dir.join(name);
        match std::fs::remove_file(&p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                anyhow::bail!("cannot remove {} ({e})", p.display())
            }
            _ => {}
        }
    }
    Ok(())
}

/// The first line of a message (libtorch's errors carry a C++ stack trace after it).
pub fn first_line(msg: &str) -> &str {
    msg.lines().next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_atomic_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b.json");
        write_json(&p, &vec![1, 2, 3]).unwrap();
        let back: Vec<i32> = read_json(&p).unwrap();
        assert_eq!(back, vec![1, 2, 3]);
        let names: Vec<_> = std::fs::read_dir(p.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn two_threads_writing_one_path_both_succeed_and_leave_a_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("same.bin");
        let a = vec![b'a'; 1 << 20];
        let b = vec![b'b'; 1 << 19];
        std::thread::scope(|s| {
            let ha = s.spawn(|| (0..20).all(|_| write_bytes_atomic(&p, &a).is_ok()));
            let hb = s.spawn(|| (0..20).all(|_| write_bytes_atomic(&p, &b).is_ok()));
            assert!(ha.join().unwrap() && hb.join().unwrap());
        });
        let back = std::fs::read(&p).unwrap();
        assert!(
            back == a || back == b,
            "a torn file of {} bytes",
            back.len()
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn read_json_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.json");
        std::fs::write(&p, "{not json").unwrap();
        let err = read_json::<Vec<i32>>(&p).unwrap_err().to_string();
        assert!(err.contains("bad.json"), "{err}");
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        latent_dim: i64,
        dropout: f64,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        epochs: usize,
        arch: Inner,
    }

    #[test]
    fn read_config_names_an_unknown_field_and_the_nearest_known_one() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.json");
        std::fs::write(
            &p,
            r#"{"epochs": 3, "arch": {"laten_dim": 4, "dropout": 0.1}}"#,
        )
        .unwrap();
        let err = read_config::<Outer>(&p).unwrap_err().to_string();
        assert!(err.contains("c.json"), "{err}");
        assert!(err.contains("`arch.laten_dim`"), "{err}");
        assert!(err.contains("did you mean `latent_dim`"), "{err}");
        std::fs::write(
            &p,
            r#"{"epochs": -3, "arch": {"latent_dim": 4, "dropout": 0.1}}"#,
        )
        .unwrap();
        let err = read_config::<Outer>(&p).unwrap_err().to_string();
        assert!(err.contains("`epochs`"), "{err}");
    }

    #[test]
    fn a_truncated_safetensors_file_is_called_damaged() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w.safetensors");
        let t = tch::Tensor::from_slice(&[1.0f32; 100]);
        tch::Tensor::write_safetensors(&[("w", &t)], &p).unwrap();
        check_safetensors(&p).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() - 10]).unwrap();
        let err = check_safetensors(&p).unwrap_err().to_string();
        assert!(err.contains("damaged file"), "{err}");
        std::fs::write(&p, &bytes[..5]).unwrap();
        assert!(check_safetensors(&p).is_err());
    }

    #[test]
    fn remove_files_removes_the_named_files_and_skips_missing_ones() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["a.json", "b.json", "keep.json"] {
            std::fs::write(dir.path().join(name), "{}").unwrap();
        }
        remove_files(dir.path(), ["a.json", "missing.json", "b.json"]).unwrap();
        let mut left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, ["keep.json"]);
        // A folder where a file is expected cannot be removed as a file: the error names it.
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let e = remove_files(dir.path(), ["sub"]).unwrap_err().to_string();
        assert!(e.contains("cannot remove") && e.contains("sub"), "{e}");
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("laten_dim", "latent_dim"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
