//! Files written so that nothing is ever half-written: a temp file in the same folder, then rename.

use anyhow::Context;
use serde::{de::DeserializeOwned, Serialize};
use std::path::Path;

/// Writes `bytes` to `path` atomically (temp file, fsync, rename); creates parent folders.
pub fn write_atomic(path: impl AsRef<Path>, bytes: &[u8]) -> anyhow::Result<()> {
    let path = path.as_ref();
    crate::data::idx::write_atomic(path, bytes)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Serialises `value` as pretty JSON and writes it atomically.
pub fn write_json(path: impl AsRef<Path>, value: &impl Serialize) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

/// Reads a JSON file, naming the file in any error.
pub fn read_json<T: DeserializeOwned>(path: impl AsRef<Path>) -> anyhow::Result<T> {
    let path = path.as_ref();
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not valid JSON of the expected shape (fix or delete it)",
            path.display()
        )
    })
}

/// Saves a var store as `.safetensors` atomically.
pub fn save_varstore(vs: &tch::nn::VarStore, path: impl AsRef<Path>) -> anyhow::Result<()> {
    let path = path.as_ref();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    // The temp name must keep the .safetensors extension: tch picks the format from it.
    let tmp = path.with_file_name(format!(
        ".tmp-{}-{}",
        std::process::id(),
        path.file_name().unwrap_or_default().to_string_lossy()
    ));
    vs.save(&tmp)
        .with_context(|| format!("cannot write checkpoint {}", path.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("cannot move checkpoint into place at {}", path.display()))?;
    Ok(())
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
    vs.load(path).with_context(|| {
        format!(
            "checkpoint {} does not fit this model (different architecture or latent size?): \
             use the config.json saved beside it",
            path.display()
        )
    })
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
    fn read_json_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.json");
        std::fs::write(&p, "{not json").unwrap();
        let err = read_json::<Vec<i32>>(&p).unwrap_err().to_string();
        assert!(err.contains("bad.json"), "{err}");
    }
}
