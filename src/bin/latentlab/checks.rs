//! What every command checks before it works, and how errors are printed.

use latentlab::runtime::Profile;
use std::path::Path;

/// The profile, in the documented order: the flag, else the config file's, else
/// `LATENTLAB_PROFILE`, else quick.
pub fn profile(flag: Option<Profile>, from_config: Option<Profile>) -> anyhow::Result<Profile> {
    match flag.or(from_config) {
        Some(p) => Ok(p),
        None => Profile::from_env(),
    }
}

/// A whole number of at least 1 (a clap value parser with a message for negative numbers).
pub fn count(s: &str) -> Result<usize, String> {
    match s.trim().parse::<i128>() {
        Ok(n) if n >= 1 && n <= usize::MAX as i128 => Ok(n as usize),
        Ok(n) => Err(format!(
            "{n} is not allowed: give a whole number of at least 1"
        )),
        Err(_) => Err(format!("'{s}' is not a whole number")),
    }
}

/// A whole number of at least 0.
pub fn count0(s: &str) -> Result<usize, String> {
    match s.trim().parse::<i128>() {
        Ok(n) if n >= 0 && n <= usize::MAX as i128 => Ok(n as usize),
        Ok(n) => Err(format!(
            "{n} is negative: give a whole number of at least 0"
        )),
        Err(_) => Err(format!("'{s}' is not a whole number")),
    }
}

/// A digit 0-9 (for `--class`).
pub fn digit(s: &str) -> Result<i64, String> {
    match s.trim().parse::<i64>() {
        Ok(n) if (0..10).contains(&n) => Ok(n),
        Ok(n) => Err(format!("{n} is not a class: give a digit from 0 to 9")),
        Err(_) => Err(format!("'{s}' is not a class: give a digit from 0 to 9")),
    }
}

/// A finite number of at least 0 (for `--scale`).
pub fn non_negative(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 => Ok(x),
        Ok(x) => Err(format!(
            "{x} is not allowed: give a finite number of at least 0"
        )),
        Err(_) => Err(format!("'{s}' is not a number")),
    }
}

/// The error text without libtorch's C++ stack trace (its "Exception raised from" and
/// "frame #N" lines), which `--verbose` or `RUST_BACKTRACE=1` keeps.
pub fn without_cpp_trace(text: &str) -> String {
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| {
            let t = l.trim_start();
            !(t.starts_with("Exception raised from") || t.starts_with("frame #"))
        })
        .collect();
    kept.join("\n")
}

/// Checks an output file before any work: writable folder, not a folder itself, not inside an
/// input, and not the PNG written beside it (when `png` is true).
pub fn output_file(out: &Path, inputs: &[(&str, &Path)], png: bool) -> anyhow::Result<()> {
    use latentlab::train::guard::{check_not_input, check_writable_file, normalise};
    check_writable_file(out, "--out")?;
    check_not_input(out, "--out", inputs)?;
    if png && normalise(&out.with_extension("png")) == normalise(out) {
        anyhow::bail!(
            "--out {} would be overwritten by the PNG grid written beside it: give the IDX file another extension (e.g. {}), or pass --no-png",
            out.display(),
            out.with_extension("idx").display()
        );
    }
    Ok(())
}

/// Checks an output run folder before any work: writable, not an input nor inside one, and
/// with `force`, cleared of an earlier run of the same kind (never of another kind).
pub fn output_dir(
    out: &Path,
    inputs: &[(&str, &Path)],
    kind: latentlab::train::guard::RunKind,
    force: bool,
) -> anyhow::Result<()> {
    use latentlab::train::guard::{check_not_input, check_writable_dir, start_over, RunKind};
    check_not_input(out, "--out", inputs)?;
    check_writable_dir(out, "--out")?;
    if let Some(found) = RunKind::detect(out).filter(|k| *k != kind) {
        anyhow::bail!(
            "--out {} already holds {}; this command writes {}: choose another folder{}",
            out.display(),
            found.describe(),
            kind.describe(),
            if force {
                " (--force only replaces a run of the same kind)"
            } else {
                ""
            }
        );
    }
    if force {
        start_over(out)?;
    }
    Ok(())
}

/// At most the first `n` images, for a bounded PNG grid.
pub fn first(images: &tch::Tensor, n: usize) -> tch::Tensor {
    let total = images.size()[0];
    images.narrow(0, 0, total.min(n as i64))
}

/// True (and says so) when `out` already holds a finished run of `kind` with exactly `config`
/// (its `config_file` equal, and `metrics.json` written): nothing to do. A different config there
/// is refused with the differences listed.
pub fn already_finished(
    out: &Path,
    kind: latentlab::train::guard::RunKind,
    config_file: &str,
    config: &impl serde::Serialize,
) -> anyhow::Result<bool> {
    let same = latentlab::train::guard::check_same_run(out, kind, config_file, config)?;
    let done = same && out.join("metrics.json").exists();
    if done {
        println!(
            "{} already holds this run, finished: nothing to do (pass --force to train it again)",
            out.display()
        );
    }
    Ok(done)
}
