//! Run-time settings shared by the CLI and the notebooks: the profile, the paths (data, runs,
//! shipped checkpoints), the device and CPU threads. It depends on no other module of the crate;
//! `data` and everything above it read their settings here.

use serde::{Deserialize, Serialize};
use std::sync::Once;

/// How much work a run does. `Quick` uses the first 4,000/1,000 images and an epoch or two, on the
/// same code paths as `Full`, which uses the homework's real settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// Small subsets, few epochs: minutes on 2 CPU cores (the default, and what CI runs).
    #[default]
    Quick,
    /// The homework's settings (e.g. 150 autoencoder epochs on all 60,000 images).
    Full,
}

impl Profile {
    /// Reads `LATENTLAB_PROFILE` (`quick` or `full`); unset means `quick`.
    pub fn from_env() -> anyhow::Result<Profile> {
        match std::env::var("LATENTLAB_PROFILE") {
            Err(_) => Ok(Profile::Quick),
            Ok(v) if v.trim().is_empty() => Ok(Profile::Quick),
            Ok(v) => v.parse().map_err(|e: String| anyhow::anyhow!(e)),
        }
    }

    /// The profile's name as written in configs and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Quick => "quick",
            Profile::Full => "full",
        }
    }
}

impl std::str::FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "quick" => Ok(Profile::Quick),
            "full" => Ok(Profile::Full),
            other => Err(format!(
                "unknown profile '{other}': expected 'quick' or 'full' (set LATENTLAB_PROFILE or pass --profile)"
            )),
        }
    }
}

impl std::fmt::Display for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

static THREADS: Once = Once::new();

/// Sets libtorch's intra-op thread count once per process: `LATENTLAB_THREADS` if set, else the
/// number of available cores (libtorch's own default can oversubscribe small machines).
pub fn init_threads() -> i32 {
    THREADS.call_once(|| {
        let n = std::env::var("LATENTLAB_THREADS")
            .ok()
            .and_then(|v| v.parse::<i32>().ok())
            .filter(|&n| n > 0)
            .unwrap_or_else(|| {
                std::thread::available_parallelism()
                    .map(|n| n.get() as i32)
                    .unwrap_or(1)
            });
        // Only the intra-op count: libtorch refuses a second inter-op setting, and in the
        // notebook kernel every cell links its own copy of this `Once`.
        tch::set_num_threads(n);
    });
    tch::get_num_threads()
}

/// CUDA when available (`LATENTLAB_DEVICE=cpu` forces the CPU), else the CPU. Also sets the CPU
/// thread count.
pub fn device() -> tch::Device {
    init_threads();
    match std::env::var("LATENTLAB_DEVICE").as_deref() {
        Ok("cpu") => tch::Device::Cpu,
        _ => tch::Device::cuda_if_available(),
    }
}

/// One line describing the device and threads, printed at the top of runs and notebooks.
pub fn describe(device: tch::Device) -> String {
    let threads = init_threads();
    match device {
        tch::Device::Cpu => format!("device: CPU, {threads} threads"),
        tch::Device::Cuda(i) => format!("device: CUDA:{i} (CPU side: {threads} threads)"),
        other => format!("device: {other:?}, {threads} threads"),
    }
}

/// The repository's `data/` folder: `LATENTLAB_DATA` if set, else the one beside `Cargo.toml`.
pub fn data_root() -> std::path::PathBuf {
    match std::env::var_os("LATENTLAB_DATA") {
        Some(p) if !p.is_empty() => std::path::PathBuf::from(p),
        _ => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data"),
    }
}

/// Where run folders go: `LATENTLAB_RUNS` if set, else `runs/` beside `Cargo.toml` (git-ignored).
pub fn runs_dir() -> std::path::PathBuf {
    match std::env::var_os("LATENTLAB_RUNS") {
        Some(p) if !p.is_empty() => std::path::PathBuf::from(p),
        _ => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("runs"),
    }
}

/// The shipped full-profile checkpoints: `data/checkpoints/` (each a run folder with its config
/// and metrics).
pub fn checkpoints_dir() -> std::path::PathBuf {
    data_root().join("checkpoints")
}

/// True if `LATENTLAB_RETRAIN=1`: notebooks in the full profile then retrain instead of loading
/// the shipped checkpoints.
pub fn retrain_requested() -> bool {
    matches!(
        std::env::var("LATENTLAB_RETRAIN").as_deref(),
        Ok("1") | Ok("true") | Ok("yes")
    )
}

/// The shipped checkpoint folder `name` when the profile is `full`, it exists and no retraining
/// was asked for.
pub fn shipped(profile: Profile, name: &str) -> Option<std::path::PathBuf> {
    let dir = checkpoints_dir().join(name);
    let complete = [
        "config.json",
        "finetune_config.json",
        "search_config.json",
        "softmax_config.json",
    ]
    .iter()
    .any(|f| dir.join(f).exists());
    (profile == Profile::Full && !retrain_requested() && complete).then_some(dir)
}

/// Set by [`notebook_settings`] on its first call: the values `LATENTLAB_PROFILE` and
/// `LATENTLAB_RETRAIN` had outside the notebook (empty when unset), so that later calls keep
/// honouring them after the cell has written its own choice into those variables.
const OUTSIDE: [(&str, &str); 2] = [
    ("LATENTLAB_PROFILE", "LATENTLAB_OUTSIDE_PROFILE"),
    ("LATENTLAB_RETRAIN", "LATENTLAB_OUTSIDE_RETRAIN"),
];

/// A notebook's first cell: the profile and the retrain switch as the cell sets them.
///
/// `LATENTLAB_PROFILE` and `LATENTLAB_RETRAIN`, when set outside the notebook (headless runs,
/// CI), win over the cell, on every run of the cell, and the printed line says so. The choice is
/// stored in those two variables of the kernel process, so every later cell and library call
/// sees it; rerunning the cell with other values changes it.
pub fn notebook_settings(profile: Profile, retrain: bool) -> anyhow::Result<Profile> {
    for (var, saved) in OUTSIDE {
        if std::env::var_os(saved).is_none() {
            std::env::set_var(saved, std::env::var(var).unwrap_or_default());
        }
    }
    let outside = |saved: &str| std::env::var(saved).ok().filter(|v| !v.trim().is_empty());
    let (profile, p_note) = match outside(OUTSIDE[0].1) {
        Some(v) => (
            v.parse::<Profile>().map_err(|e| anyhow::anyhow!(e))?,
            " (LATENTLAB_PROFILE, set outside the notebook, overrides this cell)",
        ),
        None => (profile, ""),
    };
    let (retrain, r_note) = match outside(OUTSIDE[1].1) {
        Some(v) => (
            matches!(v.trim(), "1" | "true" | "yes"),
            " (LATENTLAB_RETRAIN, set outside the notebook, overrides this cell)",
        ),
        None => (retrain, ""),
    };
    std::env::set_var("LATENTLAB_PROFILE", profile.name());
    std::env::set_var("LATENTLAB_RETRAIN", if retrain { "1" } else { "0" });
    let what = match (profile, retrain) {
        (Profile::Quick, _) => "every model trains here, on the first 4,000 training images",
        (Profile::Full, false) => {
            "shipped checkpoints are loaded where they exist; the rest trains here"
        }
        (Profile::Full, true) => "every model trains here with the homework's settings",
    };
    println!("profile: {profile}{p_note} | retrain: {retrain}{r_note} | {what}");
    println!("{}", describe(device()));
    Ok(profile)
}
