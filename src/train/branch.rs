//! Training a GAN run on: a new run folder that starts from another run's exact state (its
//! `final-state.safetensors`, or the resume file of an unfinished run) and trains to more epochs.
//!
//! The new run is step for step the run that a longer config would have trained from scratch
//! (on the CPU, bit for bit), because nothing an epoch draws depends on the run's length: the
//! noise and dropout masks come from the seed and the epoch number (see `gan_epoch` in
//! [`super::gan`]), the batch order too, and D's steps per G step from the epoch. So the config
//! may differ from the source's only where that stays true: more `epochs`, and an
//! `lr_schedule` that gives the epochs already trained the same rates (e.g. a linear fall over
//! epochs that come after them). The source folder is only read. It is exact when the new run
//! trains with the source's steps: the library's, unless a notebook changed them.

use super::guard::{check_same_run, config_differences, normalise, RunKind};
use super::resume::{self, FINAL_STATE_FILE, RESUME_FILE};
use super::{GanConfig, History};
use crate::fsutil;
use std::path::{Path, PathBuf};

/// Fields a branch may change: the run's length and its learning-rate schedule.
const MAY_CHANGE: [&str; 2] = ["epochs", "lr_schedule"];

/// A GAN run's saved state that a longer run can start from, checked against a config.
#[derive(Debug, Clone)]
pub struct BranchSource {
    /// The state file: the source's resume file while it is unfinished, else its final state.
    pub state: PathBuf,
    /// The epochs the state has trained.
    pub epochs: usize,
}

/// What [`branch_gan`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Branched {
    /// Wrote the new run folder, starting after this many epochs of the source.
    New(usize),
    /// The folder already held a run with this config (a branch made before): nothing written.
    Existing,
}

/// Checks, reading only, that the GAN run in `from` can be trained on under `config`: that it
/// kept its state, and that `config` differs from its config only in `epochs` (more than the
/// epochs trained) and `lr_schedule` (the same rates for the epochs trained).
pub fn check_branch(from: &Path, config: &GanConfig) -> anyhow::Result<BranchSource> {
    config.validate()?;
    let old: GanConfig = fsutil::read_config(from.join("config.json")).map_err(|e| {
        anyhow::anyhow!(
            "{} holds no GAN run to train on ({e}); give a folder written by `latentlab gan train`",
            from.display()
        )
    })?;
    let state = [RESUME_FILE, FINAL_STATE_FILE]
        .iter()
        .map(|f| from.join(f))
        .find(|p| p.exists())
        .ok_or_else(|| {
            if from.join("generator.safetensors").exists() {
                anyhow::anyhow!(
                    "{} keeps no training state ({FINAL_STATE_FILE}): a run finished by a \
                     latentlab older than 2026-12-07 lost its optimizer state, so it can be \
                     sampled and scored but not trained on exactly; train a new run with more \
                     --epochs instead",
                    from.display()
                )
            } else {
                anyhow::anyhow!(
                    "{} has not finished its first epoch: there is no state to train on yet",
                    from.display()
                )
            }
        })?;
    let epochs = resume::read_history::<History>(&state)?.epochs.len();
    if let Ok(h) = fsutil::read_json::<History>(from.join("history.json")) {
        anyhow::ensure!(
            h.epochs.len() == epochs,
            "{} holds epoch {epochs}, but {}/history.json lists {} epochs: the run is being \
             trained, or was stopped between the two writes; let its training finish (or rerun \
             it to resume), then try again",
            state.display(),
            from.display(),
            h.epochs.len()
        );
    }
    let others: Vec<String> =
        config_differences(&serde_json::to_value(&old)?, &serde_json::to_value(config)?)
            .into_iter()
            .filter(|d| {
                let key = d.split(':').next().unwrap_or_default();
                !MAY_CHANGE
                    .iter()
                    .any(|f| key == *f || key.starts_with(&format!("{f}.")))
            })
            .collect();
    anyhow::ensure!(
        others.is_empty(),
        "training {} on may change only {} (any other change would make a run that no config \
         trains from scratch); these differ:\n  {}\nset them back to the values in {}",
        from.display(),
        MAY_CHANGE.join(" and "),
        others.join("\n  "),
        from.join("config.json").display()
    );
    anyhow::ensure!(
        config.epochs > epochs,
        "{} has trained {epochs} epochs already: ask for more than {epochs} (e.g. --epochs {})",
        from.display(),
        epochs + 10
    );
    if let Some(e) = (0..epochs).find(|&e| old.lr_factor(e) != config.lr_factor(e)) {
        anyhow::bail!(
            "lr_schedule {} over {} epochs gives epoch {} a rate of {} × the base rate, but {} \
             trained it at {} ×: the epochs already trained must keep their rates (a constant \
             rate, or a linear_tail that starts after epoch {epochs}); train a new run for a \
             schedule that changes them",
            serde_json::to_string(&config.lr_schedule)?,
            config.epochs,
            e + 1,
            config.lr_factor(e),
            from.display(),
            old.lr_factor(e)
        );
    }
    Ok(BranchSource { state, epochs })
}

/// Prepares `to` to train the GAN run in `from` on under `config` (checked by
/// [`check_branch`]): writes the source's state as `to`'s resume file, then the config.
/// [`super::train_gan`] with `config` and `to` then goes on from there. When `to` already holds
/// this config (a branch made before, trained or not), nothing is written; another run there is
/// refused with the differences listed.
pub fn branch_gan(from: &Path, to: &Path, config: &GanConfig) -> anyhow::Result<Branched> {
    anyhow::ensure!(
        normalise(from) != normalise(to),
        "{} would be trained on in place: give the new run another folder (the source stays as it is)",
        from.display()
    );
    if check_same_run(to, RunKind::Gan, "config.json", config)? {
        return Ok(Branched::Existing);
    }
    let source = check_branch(from, config)?;
    // The state first, the config last: until the config is written, `to` holds no run, and a
    // second call starts over (a plain training there removes the stray state).
    let bytes = std::fs::read(&source.state)
        .map_err(|e| anyhow::anyhow!("cannot read {} ({e})", source.state.display()))?;
    fsutil::write_atomic(to.join(RESUME_FILE), &bytes)?;
    fsutil::write_json(to.join("config.json"), config)?;
    Ok(Branched::New(source.epochs))
}
