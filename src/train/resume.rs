//! Exact resume: `resume.safetensors` in a run folder holds everything a killed training needs
//! to continue as if it had never stopped, in one file written atomically after each
//! checkpointed epoch:
//!
//! - the weights of every model of the run (`w/<model>/<variable>`),
//! - every optimizer's state: moments and step count (`o/<optimizer>/...`),
//! - the history so far, as JSON bytes (`history`), which also says where the learning-rate
//!   schedule and the batch order stand (both are functions of the epoch).
//!
//! The random streams restart at every epoch from [`seed_epoch`], so an epoch's dropout masks
//! and noise depend only on the seed and the epoch number, never on what ran before in the
//! process. Together that makes a resumed run bit-identical to an uninterrupted one on the CPU.
//!
//! When the training finishes, an autoencoder's file is removed ([`finish`]); a GAN's is kept as
//! `final-state.safetensors` ([`keep_final`]), so that a later run can train it on to more
//! epochs exactly ([`crate::train::branch`]).

use super::Optimizer;
use crate::fsutil;
use serde::{de::DeserializeOwned, Serialize};
use std::collections::HashMap;
use std::path::Path;
use tch::{nn, Kind, Tensor};

/// The resume file's name in a run folder.
pub const RESUME_FILE: &str = "resume.safetensors";

/// The name the resume file of a finished GAN run is kept under (same content).
pub const FINAL_STATE_FILE: &str = "final-state.safetensors";

/// Restarts libtorch's random streams (CPU and CUDA) for `epoch` (0-based) of a run seeded with
/// `seed`, so that the epoch's draws do not depend on earlier epochs having run in this process.
pub fn seed_epoch(seed: u64, epoch: usize) {
    let mixed = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add((epoch as u64 + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9));
    tch::manual_seed((mixed >> 1) as i64);
}

/// Writes the resume file `path`: `models` (name, weights), `optimizers` (name, state) and the
/// history, in one atomic write.
pub fn save(
    path: &Path,
    models: &[(&str, &nn::VarStore)],
    optimizers: &[(&str, &Optimizer)],
    history: &impl Serialize,
) -> anyhow::Result<()> {
    let mut named: Vec<(String, Tensor)> = Vec::new();
    for (m, vs) in models {
        for (name, t) in vs.variables() {
            named.push((format!("w/{m}/{name}"), t.to_device(tch::Device::Cpu)));
        }
    }
    for (o, opt) in optimizers {
        for (name, t) in opt.state()? {
            named.push((format!("o/{o}/{name}"), t.to_device(tch::Device::Cpu)));
        }
    }
    let json = serde_json::to_vec(history)?;
    named.push(("history".into(), Tensor::from_slice(&json)));
    fsutil::write_atomic_with(path, |tmp| {
        Tensor::write_safetensors(&named, tmp).map_err(std::io::Error::other)
    })
    .map_err(|e| fsutil::write_error(path, e))
}

/// Reads the resume file `path` into `models` and `optimizers` (same names as [`save`]) and
/// returns the history. Nothing is changed unless everything fits.
pub fn load<H: DeserializeOwned>(
    path: &Path,
    models: &mut [(&str, &mut nn::VarStore)],
    optimizers: &mut [(&str, &mut Optimizer)],
) -> anyhow::Result<H> {
    let map = read(path)?;
    let bad = |what: String| misfit(path, what);
    // Check every model tensor first, then copy: a misfit changes nothing.
    for (m, vs) in models.iter() {
        for (name, t) in vs.variables() {
            let v = map
                .get(&format!("w/{m}/{name}"))
                .ok_or_else(|| bad(format!("no weights for {m}/{name}")))?;
            if v.size() != t.size() {
                return Err(bad(format!("{m}/{name} has shape {:?}", v.size())));
            }
        }
    }
    let history: H = history_of(path, &map)?;
    for (o, opt) in optimizers.iter_mut() {
        let prefix = format!("o/{o}/");
        opt.load_state(&|k| map.get(&format!("{prefix}{k}")).map(|t| t.shallow_clone()))
            .map_err(|e| bad(e.to_string()))?;
    }
    for (m, vs) in models.iter_mut() {
        tch::no_grad(|| {
            for (name, mut t) in vs.variables() {
                t.copy_(&map[&format!("w/{m}/{name}")]);
            }
        });
    }
    Ok(history)
}

/// The history stored in the resume (or final-state) file `path`, without loading anything else.
pub fn read_history<H: DeserializeOwned>(path: &Path) -> anyhow::Result<H> {
    history_of(path, &read(path)?)
}

fn read(path: &Path) -> anyhow::Result<HashMap<String, Tensor>> {
    fsutil::check_safetensors(path)?;
    Ok(Tensor::read_safetensors(path)
        .map_err(|e| {
            anyhow::anyhow!(
                "{} is a damaged file ({}): delete it, or pass --force to start over",
                path.display(),
                fsutil::first_line(&e.to_string())
            )
        })?
        .into_iter()
        .collect())
}

fn misfit(path: &Path, what: String) -> anyhow::Error {
    anyhow::anyhow!(
        "{} does not fit this run ({what}): it was written for another model; pass --force to start over",
        path.display()
    )
}

fn history_of<H: DeserializeOwned>(
    path: &Path,
    map: &HashMap<String, Tensor>,
) -> anyhow::Result<H> {
    let bad = |what: String| misfit(path, what);
    let json = map.get("history").ok_or_else(|| bad("no history".into()))?;
    let bytes: Vec<u8> = Vec::<u8>::try_from(json.to_kind(Kind::Uint8).flatten(0, -1))
        .map_err(|e| bad(e.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))
}

/// Keeps the resume file of a finished run as [`FINAL_STATE_FILE`] (one rename, replacing an
/// earlier one), so that the run can be trained on exactly; does nothing when there is none.
pub fn keep_final(dir: &Path) -> anyhow::Result<()> {
    let (from, to) = (dir.join(RESUME_FILE), dir.join(FINAL_STATE_FILE));
    if from.exists() {
        std::fs::rename(&from, &to).map_err(|e| {
            anyhow::anyhow!("cannot rename {} to {} ({e})", from.display(), to.display())
        })?;
    }
    Ok(())
}

/// Removes the resume file of a finished run (the run's checkpoint and history stay).
pub fn finish(dir: &Path) -> anyhow::Result<()> {
    crate::fsutil::remove_files(dir, [RESUME_FILE])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::{History, OptimizerConfig};

    #[test]
    fn weights_moments_and_history_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(RESUME_FILE);
        tch::manual_seed(1);
        let vs = nn::VarStore::new(tch::Device::Cpu);
        let lin = nn::linear(vs.root() / "l", 4, 3, Default::default());
        let mut opt = OptimizerConfig::adam(1e-2).build(&vs).unwrap();
        let x = Tensor::randn([8, 4], (Kind::Float, tch::Device::Cpu));
        let step = |opt: &mut Optimizer| {
            let l = tch::nn::Module::forward(&lin, &x)
                .pow_tensor_scalar(2)
                .mean(Kind::Float);
            opt.backward_step(&l);
        };
        step(&mut opt);
        let mut h = History::default();
        h.steps.insert("d".into(), vec![0.1, 1.0 / 3.0]);
        save(&path, &[("m", &vs)], &[("adam", &opt)], &h).unwrap();
        // Continue the original two steps, and a copy restored from the file two steps.
        step(&mut opt);
        step(&mut opt);
        let mut vs2 = nn::VarStore::new(tch::Device::Cpu);
        let lin2 = nn::linear(vs2.root() / "l", 4, 3, Default::default());
        let mut opt2 = OptimizerConfig::adam(1e-2).build(&vs2).unwrap();
        let h2: History = load(&path, &mut [("m", &mut vs2)], &mut [("adam", &mut opt2)]).unwrap();
        assert_eq!(h2, h);
        for _ in 0..2 {
            let l = tch::nn::Module::forward(&lin2, &x)
                .pow_tensor_scalar(2)
                .mean(Kind::Float);
            opt2.backward_step(&l);
        }
        assert!(lin.ws.equal(&lin2.ws), "weights differ after resuming");
        // A file for another shape is refused and changes nothing.
        let mut vs3 = nn::VarStore::new(tch::Device::Cpu);
        let _ = nn::linear(vs3.root() / "l", 5, 3, Default::default());
        let mut opt3 = OptimizerConfig::adam(1e-2).build(&vs3).unwrap();
        let before = vs3.variables()["l.weight"].copy();
        let err = load::<History>(&path, &mut [("m", &mut vs3)], &mut [("adam", &mut opt3)])
            .unwrap_err()
            .to_string();
        assert!(err.contains("does not fit"), "{err}");
        assert!(vs3.variables()["l.weight"].equal(&before));
    }

    #[test]
    fn every_optimizer_kind_resumes_exactly() {
        use crate::train::OptimizerKind;
        for kind in [
            OptimizerKind::Adam,
            OptimizerKind::Sgd,
            OptimizerKind::RmsProp,
        ] {
            let cfg = OptimizerConfig {
                kind,
                momentum: 0.9,
                weight_decay: 1e-3,
                ..OptimizerConfig::adam(1e-2)
            };
            let run = |resume_at: Option<usize>| {
                let mut vs = nn::VarStore::new(tch::Device::Cpu);
                let mut lin = nn::linear(vs.root() / "l", 4, 3, Default::default());
                // Fixed start, not libtorch's global generator (other unit tests of this binary
                // reseed and draw from it on parallel threads).
                tch::no_grad(|| {
                    let w = Tensor::arange(12, (Kind::Float, tch::Device::Cpu)).view([3, 4]);
                    lin.ws.copy_(&((w - 6.0) * 0.1));
                    lin.bs
                        .as_mut()
                        .unwrap()
                        .copy_(&Tensor::from_slice(&[0.1f32, -0.2, 0.3]));
                });
                let mut opt = cfg.build(&vs).unwrap();
                let x = Tensor::ones([8, 4], (Kind::Float, tch::Device::Cpu));
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join(RESUME_FILE);
                for i in 0..6 {
                    if Some(i) == resume_at {
                        save(&path, &[("m", &vs)], &[("o", &opt)], &0).unwrap();
                        let mut fresh = cfg.build(&vs).unwrap();
                        let _: i32 =
                            load(&path, &mut [("m", &mut vs)], &mut [("o", &mut fresh)]).unwrap();
                        opt = fresh;
                    }
                    let l = tch::nn::Module::forward(&lin, &x).sin().sum(Kind::Float);
                    opt.backward_step(&l);
                }
                lin.ws.copy()
            };
            assert!(
                run(None).equal(&run(Some(3))),
                "{kind:?} did not resume exactly"
            );
        }
    }
}
