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

/// What `--device` and `LATENTLAB_DEVICE` ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChoice {
    /// The first CUDA device when one is usable, else the CPU (the default).
    Auto,
    /// The CPU.
    Cpu,
    /// CUDA device N (`cuda` is `cuda:0`); an error where there is none.
    Cuda(usize),
}

impl std::str::FromStr for DeviceChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim().to_ascii_lowercase();
        match t.as_str() {
            "" | "auto" => Ok(DeviceChoice::Auto),
            "cpu" => Ok(DeviceChoice::Cpu),
            "cuda" => Ok(DeviceChoice::Cuda(0)),
            _ => t
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(DeviceChoice::Cuda)
                .ok_or_else(|| {
                    format!(
                        "unknown device '{s}': expected auto, cpu, cuda or cuda:N (N = 0, 1, ...)"
                    )
                }),
        }
    }
}

impl DeviceChoice {
    /// `LATENTLAB_DEVICE`, unset meaning `auto`.
    pub fn from_env() -> anyhow::Result<DeviceChoice> {
        let v = std::env::var("LATENTLAB_DEVICE").unwrap_or_default();
        v.parse()
            .map_err(|e: String| anyhow::anyhow!("LATENTLAB_DEVICE: {e}"))
    }
}

/// The folder of the libtorch this crate was built against (known at build time).
pub fn libtorch_lib() -> Option<&'static str> {
    option_env!("LATENTLAB_LIBTORCH_LIB")
}

static CUDA_LOAD: std::sync::OnceLock<Result<bool, String>> = std::sync::OnceLock::new();

/// Loads libtorch's CUDA library (`libtorch_cuda.so`) once, so that CUDA registers itself before
/// anything asks for it: Ok(true) when loaded, Ok(false) when this libtorch has none, Err with
/// the loader's message when it is there but cannot be loaded.
pub fn load_cuda() -> Result<bool, String> {
    CUDA_LOAD
        .get_or_init(|| {
            let Some(dir) = libtorch_lib() else {
                return Ok(false);
            };
            let path = std::path::Path::new(dir).join("libtorch_cuda.so");
            if !path.exists() {
                return Ok(false);
            }
            let c = std::ffi::CString::new(path.to_string_lossy().as_bytes())
                .map_err(|e| e.to_string())?;
            // SAFETY: dlopen with a valid NUL-terminated path; the handle is kept for the life of
            // the process (never closed), as a linked library would be.
            let handle = unsafe { libc::dlopen(c.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL) };
            if handle.is_null() {
                // SAFETY: dlerror returns a valid C string or null right after a failed dlopen.
                let msg = unsafe { libc::dlerror() };
                let msg = if msg.is_null() {
                    "unknown error".to_string()
                } else {
                    unsafe { std::ffi::CStr::from_ptr(msg) }
                        .to_string_lossy()
                        .into_owned()
                };
                return Err(format!("cannot load {}: {msg}", path.display()));
            }
            Ok(true)
        })
        .clone()
}

/// The device `choice` names, or an error saying why it cannot be had: libtorch without CUDA, no
/// NVIDIA driver, no device, or fewer devices than asked for.
pub fn select_device(choice: DeviceChoice) -> anyhow::Result<tch::Device> {
    init_threads();
    if choice == DeviceChoice::Cpu {
        return Ok(tch::Device::Cpu);
    }
    let loaded = load_cuda();
    match choice {
        DeviceChoice::Cpu => Ok(tch::Device::Cpu),
        DeviceChoice::Auto => Ok(if tch::Cuda::is_available() {
            tch::Device::Cuda(0)
        } else {
            tch::Device::Cpu
        }),
        DeviceChoice::Cuda(n) => {
            let why = match loaded {
                Err(e) => Some(format!("libtorch's CUDA library is there but did not load ({e})")),
                Ok(false) if !tch::utils::has_cuda() => Some(
                    "this libtorch was built without CUDA (no libtorch_cuda.so beside libtorch_cpu.so): install a CUDA build of torch==2.13.0 and run scripts/setup.sh".to_string(),
                ),
                _ if !std::path::Path::new("/proc/driver/nvidia/version").exists()
                    && !tch::Cuda::is_available() =>
                {
                    Some("this machine has no NVIDIA driver (no /proc/driver/nvidia/version)".to_string())
                }
                _ if tch::Cuda::device_count() == 0 => {
                    Some("the NVIDIA driver finds no CUDA device".to_string())
                }
                _ if n as i64 >= tch::Cuda::device_count() => Some(format!(
                    "this machine has {} CUDA device(s): cuda:0 to cuda:{}",
                    tch::Cuda::device_count(),
                    tch::Cuda::device_count() - 1
                )),
                _ => None,
            };
            match why {
                Some(w) => anyhow::bail!(
                    "device cuda:{n} is not usable: {w}; use --device cpu or auto (LATENTLAB_DEVICE=cpu)"
                ),
                None => Ok(tch::Device::Cuda(n)),
            }
        }
    }
}

/// The device `LATENTLAB_DEVICE` names (`auto` when unset); also sets the CPU thread count.
/// Panics with [`select_device`]'s message when that device cannot be had: the command line and
/// the notebooks' first cell check it first and report it as an error.
pub fn device() -> tch::Device {
    let setting = std::env::var("LATENTLAB_DEVICE").unwrap_or_default();
    let mut cached = DEVICE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((s, d)) = cached.as_ref() {
        if *s == setting {
            return *d;
        }
    }
    let d = DeviceChoice::from_env()
        .and_then(select_device)
        .unwrap_or_else(|e| panic!("{e:#}"));
    *cached = Some((setting, d));
    d
}

/// The last device [`device`] chose and the `LATENTLAB_DEVICE` value it chose it for: asking
/// libtorch about CUDA once per setting, not once per call.
static DEVICE: std::sync::Mutex<Option<(String, tch::Device)>> = std::sync::Mutex::new(None);

/// One line describing the device and threads, printed at the top of runs and notebooks.
pub fn describe(device: tch::Device) -> String {
    let threads = init_threads();
    let auto = match DeviceChoice::from_env() {
        Ok(DeviceChoice::Auto) => " (auto: the first CUDA device when usable, else the CPU)",
        _ => "",
    };
    match device {
        tch::Device::Cpu => format!("device: CPU, {threads} threads{auto}"),
        tch::Device::Cuda(i) => format!("device: CUDA:{i} (CPU side: {threads} threads){auto}"),
        other => format!("device: {other:?}, {threads} threads"),
    }
}

/// What `latentlab info` prints about CUDA: whether it is usable, the devices' names
/// (`nvidia-smi`), and the libtorch build (`version.py` of the wheel).
pub fn cuda_report() -> Vec<String> {
    let loaded = match load_cuda() {
        Ok(true) => "loaded".to_string(),
        Ok(false) => "not in this libtorch".to_string(),
        Err(e) => format!("failed to load: {e}"),
    };
    let mut lines = vec![
        format!("libtorch CUDA library: {loaded}"),
        format!(
            "CUDA usable: {} ({} device(s); cuDNN {})",
            if tch::Cuda::is_available() {
                "yes"
            } else {
                "no"
            },
            tch::Cuda::device_count(),
            if tch::Cuda::cudnn_is_available() {
                "available"
            } else {
                "not available"
            }
        ),
    ];
    if let Ok(out) = std::process::Command::new("nvidia-smi")
        .args(["--query-gpu=name,memory.total", "--format=csv,noheader"])
        .output()
    {
        for l in String::from_utf8_lossy(&out.stdout).lines() {
            lines.push(format!("GPU: {l}"));
        }
    }
    if let Some(dir) = libtorch_lib() {
        let version = std::path::Path::new(dir).join("../version.py");
        if let Ok(text) = std::fs::read_to_string(version) {
            let get = |k: &str| {
                text.lines()
                    .find(|l| l.starts_with(k))
                    .and_then(|l| l.split('=').nth(1))
                    .map(|v| v.trim().trim_matches('\'').to_string())
                    .unwrap_or_default()
            };
            lines.push(format!(
                "libtorch build: torch {} (CUDA {})",
                get("__version__"),
                get("cuda")
            ));
        }
    }
    lines
}

/// The checkout this process works in: the nearest folder at or above the current directory
/// whose `Cargo.toml` is the `latentlab` package's, else the one this crate was compiled from.
///
/// Found at run time, not baked in: cargo reuses build artifacts across checkouts that share a
/// `CARGO_TARGET_DIR`, so a compile-time path can point at another clone's files.
pub fn repo_root() -> std::path::PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|dir| find_repo_root(&dir))
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// The nearest folder at or above `start` whose `Cargo.toml` declares `name = "latentlab"`.
pub fn find_repo_root(start: &std::path::Path) -> Option<std::path::PathBuf> {
    start.ancestors().find_map(|dir| {
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).ok()?;
        let names_us = manifest
            .lines()
            .map(str::trim)
            .take_while(|l| !l.starts_with('[') || *l == "[package]")
            .any(|l| l.replace(' ', "") == "name=\"latentlab\"");
        names_us.then(|| dir.to_path_buf())
    })
}

/// The repository's `data/` folder: `LATENTLAB_DATA` if set, else the one in [`repo_root`].
pub fn data_root() -> std::path::PathBuf {
    match std::env::var_os("LATENTLAB_DATA") {
        Some(p) if !p.is_empty() => std::path::PathBuf::from(p),
        _ => repo_root().join("data"),
    }
}

/// Where run folders go: `LATENTLAB_RUNS` if set, else `runs/` in [`repo_root`] (git-ignored).
pub fn runs_dir() -> std::path::PathBuf {
    match std::env::var_os("LATENTLAB_RUNS") {
        Some(p) if !p.is_empty() => std::path::PathBuf::from(p),
        _ => repo_root().join("runs"),
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
    println!("{}", describe(select_device(DeviceChoice::from_env()?)?));
    Ok(profile)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_repo_root_is_the_nearest_folder_whose_manifest_is_latentlab() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join("clone");
        let deep = repo.join("notebooks").join("solutions");
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(
            repo.join("Cargo.toml"),
            "[package]\nname = \"latentlab\"\nversion = \"0.1.0\"\n",
        )
        .unwrap();
        // Another crate's manifest on the way up does not count, nor a `[lib]` of that name.
        std::fs::write(
            deep.join("Cargo.toml"),
            "[package]\nname = \"other\"\n\n[lib]\nname = \"latentlab\"\n",
        )
        .unwrap();
        assert_eq!(find_repo_root(&deep), Some(repo.clone()));
        assert_eq!(find_repo_root(&repo), Some(repo));
        assert_eq!(find_repo_root(tmp.path()), None);
        // cargo test runs in this checkout's root, which holds the data.
        assert!(repo_root().join("data").join("checkpoints").is_dir());
    }
}
