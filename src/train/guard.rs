//! Run folders guarded: what kind of run a folder holds, inputs checked before any work, outputs
//! that can never overwrite an input or each other, and a changed config refused with the
//! differences listed.

use crate::fsutil;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What a run folder holds, told by the files in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunKind {
    /// `latentlab ae train`: `config.json` (an autoencoder config) and `checkpoint.safetensors`.
    Autoencoder,
    /// `latentlab finetune`: `finetune_config.json`, `matcher.safetensors`, `autoencoder/`.
    Finetuned,
    /// `latentlab finetune --softmax-latent`: `softmax_config.json`, `autoencoder/`.
    SoftmaxLatent,
    /// `latentlab ae search`: `search_config.json`, `folds/`.
    Search,
    /// `latentlab gan train`: `config.json` (a GAN config), `generator.safetensors`.
    Gan,
    /// `latentlab classifier`: `classifier.safetensors`.
    Classifier,
}

impl RunKind {
    /// Every kind, in the order [`RunKind::detect`] tries them.
    pub const ALL: [RunKind; 6] = [
        RunKind::Finetuned,
        RunKind::SoftmaxLatent,
        RunKind::Search,
        RunKind::Classifier,
        RunKind::Gan,
        RunKind::Autoencoder,
    ];

    /// "an autoencoder run", "a GAN run", ... for messages.
    pub fn describe(self) -> &'static str {
        match self {
            RunKind::Autoencoder => "an autoencoder run (written by `latentlab ae train`)",
            RunKind::Finetuned => "a fine-tuned run (written by `latentlab finetune`)",
            RunKind::SoftmaxLatent => {
                "a softmax-latent run (written by `latentlab finetune --softmax-latent`)"
            }
            RunKind::Search => "a search (written by `latentlab ae search`)",
            RunKind::Gan => "a GAN run (written by `latentlab gan train`)",
            RunKind::Classifier => "a classifier run (written by `latentlab classifier`)",
        }
    }

    /// A shipped example of this kind, for messages.
    pub fn example(self) -> &'static str {
        match self {
            RunKind::Autoencoder => "data/checkpoints/ae-homework",
            RunKind::Finetuned => "data/checkpoints/finetuned-improved",
            RunKind::SoftmaxLatent => "data/checkpoints/softmax-latent",
            RunKind::Search => "data/checkpoints/search",
            RunKind::Gan => "data/checkpoints/gan-acgan",
            RunKind::Classifier => "data/checkpoints/mnist-classifier",
        }
    }

    /// The file whose presence marks this kind (its config).
    fn marker(self) -> &'static str {
        match self {
            RunKind::Finetuned => "finetune_config.json",
            RunKind::SoftmaxLatent => "softmax_config.json",
            RunKind::Search => "search_config.json",
            RunKind::Classifier => "classifier.safetensors",
            RunKind::Gan | RunKind::Autoencoder => "config.json",
        }
    }

    /// The kind of run in `dir`, or None when it holds none. A `config.json` is told apart by
    /// its fields: a GAN config has `g_optimizer`, an autoencoder config `loss`.
    pub fn detect(dir: &Path) -> Option<RunKind> {
        for kind in RunKind::ALL {
            if !dir.join(kind.marker()).exists() {
                continue;
            }
            if kind.marker() != "config.json" {
                return Some(kind);
            }
            let v = fsutil::read_json::<serde_json::Value>(dir.join("config.json")).ok()?;
            let is_gan = v.get("g_optimizer").is_some();
            match kind {
                RunKind::Gan if is_gan => return Some(kind),
                RunKind::Autoencoder if !is_gan && v.get("loss").is_some() => return Some(kind),
                _ => {}
            }
        }
        None
    }
}

/// Checks that `path`, given as `flag`, is a run folder of one of the `expected` kinds, and
/// returns it. A checkpoint file inside such a folder stands for the folder when `allow_file`.
pub fn expect_run(
    path: &Path,
    flag: &str,
    expected: &[RunKind],
    allow_file: bool,
) -> anyhow::Result<PathBuf> {
    let wanted = expected
        .iter()
        .map(|k| k.describe())
        .collect::<Vec<_>>()
        .join(" or ");
    let example = expected.first().map_or("", |k| k.example());
    if !path.exists() {
        anyhow::bail!(
            "{flag} {}: no such file or folder; {flag} takes {wanted}, e.g. {example}",
            path.display()
        );
    }
    let dir = if path.is_dir() {
        path.to_path_buf()
    } else if allow_file && path.extension().is_some_and(|e| e == "safetensors") {
        path.parent().unwrap_or(Path::new(".")).to_path_buf()
    } else {
        anyhow::bail!(
            "{flag} {} is a file; {flag} takes the run folder itself: {wanted}, e.g. {example}",
            path.display()
        );
    };
    match RunKind::detect(&dir) {
        Some(k) if expected.contains(&k) => Ok(path.to_path_buf()),
        Some(k) => anyhow::bail!(
            "{flag} {} is {}, but {flag} needs {wanted}, e.g. {example}",
            dir.display(),
            k.describe()
        ),
        None => anyhow::bail!(
            "{flag} {} holds no finished or started run (no {} in it); {flag} takes {wanted}, e.g. {example}",
            dir.display(),
            expected.first().map_or("config", |k| k.marker())
        ),
    }
}

/// A path made absolute and cleaned of `.` and `..` without touching the disk (for paths that
/// may not exist yet), then resolved through symlinks as far as it exists.
pub fn normalise(path: &Path) -> PathBuf {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    // Resolve the longest existing prefix (symlinks), keep the rest as written.
    let mut existing = out.clone();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (
            existing.file_name().map(|n| n.to_os_string()),
            existing.parent(),
        ) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                existing = parent.to_path_buf();
            }
            _ => return out,
        }
    }
    let mut resolved = std::fs::canonicalize(&existing).unwrap_or(existing);
    for name in rest.into_iter().rev() {
        resolved.push(name);
    }
    resolved
}

/// Refuses an output that is one of the inputs, lies inside one, or contains one that it would
/// overwrite: `out` (given as `flag`) against each `(flag, path)` of `inputs`.
pub fn check_not_input(out: &Path, flag: &str, inputs: &[(&str, &Path)]) -> anyhow::Result<()> {
    let o = normalise(out);
    for (in_flag, input) in inputs {
        let i = normalise(input);
        // A checkpoint file given as input stands for its whole run folder.
        let i_dir = if i.is_file() {
            i.parent().map(Path::to_path_buf).unwrap_or(i.clone())
        } else {
            i.clone()
        };
        if o == i || o == i_dir {
            anyhow::bail!(
                "{flag} {} is the same as {in_flag}: the input would be overwritten; choose a new folder for {flag}",
                out.display()
            );
        }
        if o.starts_with(&i_dir) {
            anyhow::bail!(
                "{flag} {} is inside {in_flag} {}: writing there would change the input run; choose a folder outside it",
                out.display(),
                input.display()
            );
        }
    }
    Ok(())
}

/// Creates `dir` if needed and proves it writable by writing and removing a file in it, so that
/// an unwritable output fails before any work instead of after it.
pub fn check_writable_dir(dir: &Path, flag: &str) -> anyhow::Result<()> {
    if dir.exists() && !dir.is_dir() {
        anyhow::bail!(
            "{flag} {} is an existing file; {flag} needs a folder: choose another path",
            dir.display()
        );
    }
    if let Err(e) = std::fs::create_dir_all(dir) {
        anyhow::bail!(
            "{flag} {}: cannot create this folder ({}); choose another path",
            dir.display(),
            plain_io(&e)
        );
    }
    let probe = tempfile::Builder::new()
        .prefix(".tmp-write-check-")
        .tempfile_in(dir);
    if let Err(e) = probe {
        anyhow::bail!(
            "{flag} {}: cannot write in this folder ({}); choose another path or fix its permissions",
            dir.display(),
            plain_io(&e)
        );
    }
    Ok(())
}

/// Checks an output file before any work: its folder can be written, it is not a folder, and
/// it is none of `inputs`.
pub fn check_writable_file(path: &Path, flag: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        !path.is_dir(),
        "{flag} {} is a folder; {flag} needs a file name (e.g. {}/samples.idx)",
        path.display(),
        path.display()
    );
    anyhow::ensure!(
        path.file_name().is_some(),
        "{flag} {} has no file name",
        path.display()
    );
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if let Some(file) = parent.ancestors().find(|a| a.is_file()) {
        anyhow::bail!(
            "{flag} {}: cannot create its folder, because {} is a file: choose another path",
            path.display(),
            file.display()
        );
    }
    check_writable_dir(parent, flag)
}

/// An io error's message without Rust's "(os error N)" suffix.
fn plain_io(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// The settings that differ between the config a run folder holds and the one given now, as
/// "field: in the folder X, now Y" lines (fields flattened with dots).
pub fn config_differences(old: &serde_json::Value, new: &serde_json::Value) -> Vec<String> {
    let mut a = Vec::new();
    let mut b = Vec::new();
    flatten("", old, &mut a);
    flatten("", new, &mut b);
    let get = |v: &[(String, String)], k: &str| {
        v.iter()
            .find(|(key, _)| key == k)
            .map(|(_, x)| x.clone())
            .unwrap_or_else(|| "(absent)".into())
    };
    let mut keys: Vec<String> = a.iter().chain(&b).map(|(k, _)| k.clone()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| get(&a, k) != get(&b, k))
        .map(|k| format!("{k}: {} in the folder, {} now", get(&a, &k), get(&b, &k)))
        .collect()
}

fn flatten(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, String)>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, x, out);
            }
        }
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

/// Before a training writes into `dir`: refuses a folder that holds another kind of run, or a
/// run of this kind with another config (every field, epochs included), listing the
/// differences. Returns true when `dir` already holds a run with exactly this config (to be
/// resumed or, if finished, reused).
pub fn check_same_run(
    dir: &Path,
    kind: RunKind,
    config_file: &str,
    config: &impl Serialize,
) -> anyhow::Result<bool> {
    if !dir.exists() {
        return Ok(false);
    }
    if let Some(found) = RunKind::detect(dir).filter(|k| *k != kind) {
        anyhow::bail!(
            "{} already holds {}; this command writes {}: choose another --out folder",
            dir.display(),
            found.describe(),
            kind.describe()
        );
    }
    let path = dir.join(config_file);
    if !path.exists() {
        return Ok(false);
    }
    let old: serde_json::Value = fsutil::read_json(&path)?;
    let new = serde_json::to_value(config)?;
    let diff = config_differences(&old, &new);
    if diff.is_empty() {
        return Ok(true);
    }
    anyhow::bail!(
        "{} already holds a run with a different config:\n  {}\nto start over there, pass --force (the run's files are replaced); or choose another --out folder",
        dir.display(),
        diff.join("\n  ")
    )
}

/// The files and folders a training writes into its run folder (removed by `--force`).
pub const RUN_FILES: &[&str] = &[
    "config.json",
    "history.json",
    "metrics.json",
    "checkpoint.safetensors",
    super::resume::RESUME_FILE,
    super::resume::FINAL_STATE_FILE,
    "generator.safetensors",
    "discriminator.safetensors",
    "generator_ema.safetensors",
    "classifier.safetensors",
    "matcher.safetensors",
    "finetune_config.json",
    "softmax_config.json",
    "search_config.json",
    "matcher_history.json",
    "joint_history.json",
    "decoder_history.json",
    "results.json",
    "results.csv",
    "autoencoder",
    "folds",
    "samples.png",
];

/// `--force`: removes the files a training writes from `dir` (nothing else), so that the next
/// training starts over there.
pub fn start_over(dir: &Path) -> anyhow::Result<()> {
    for name in RUN_FILES.iter().chain(&[
        "losses.png",
        "loss.png",
        "reconstructions.png",
        "search.png",
    ]) {
        let p = dir.join(name);
        let r = if p.is_dir() {
            std::fs::remove_dir_all(&p)
        } else if p.exists() {
            std::fs::remove_file(&p)
        } else {
            Ok(())
        };
        r.map_err(|e| anyhow::anyhow!("cannot remove {} ({e})", p.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_name_every_changed_field() {
        let a = serde_json::json!({"epochs": 10, "arch": {"latent_dim": 10, "hidden": 64}});
        let b = serde_json::json!({"epochs": 5, "arch": {"latent_dim": 10, "hidden": 32}});
        let d = config_differences(&a, &b);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(
            d[0].starts_with("arch.hidden: 64 in the folder, 32 now"),
            "{d:?}"
        );
        assert!(d[1].starts_with("epochs: 10"), "{d:?}");
        assert!(config_differences(&a, &a).is_empty());
    }

    #[test]
    fn an_output_inside_or_equal_to_an_input_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        std::fs::create_dir_all(&run).unwrap();
        let file = run.join("generator.safetensors");
        std::fs::write(&file, b"x").unwrap();
        assert!(check_not_input(&run, "--out", &[("--from", &run)]).is_err());
        assert!(check_not_input(&run.join("./x/.."), "--out", &[("--from", &run)]).is_err());
        assert!(check_not_input(&file, "--out", &[("--from", &run)]).is_err());
        assert!(check_not_input(&run.join("new.idx"), "--out", &[("--from", &file)]).is_err());
        assert!(check_not_input(&dir.path().join("other"), "--out", &[("--from", &run)]).is_ok());
    }
}
