//! Training a GAN run on: a new run folder that starts from another run's exact state (its
//! `final-state.safetensors`, or the resume file of an unfinished run) and trains to more epochs.
//!
//! The new run is step for step the run that a longer config would have trained from scratch
//! (on the CPU, bit for bit), because everything an epoch draws depends only on the seed and the
//! epoch number (see [`super::resume`]). So the config may differ from the source's only where
//! that stays true: more `epochs`, and an `lr_schedule` that gives the epochs already trained
//! the same rates (e.g. a linear fall over epochs that come after them). The source folder is
//! only read.

use super::guard::{check_same_run, config_differences, normalise, RunKind};
use super::resume::{self, FINAL_STATE_FILE, RESUME_FILE};
use super::{GanConfig, History};
use crate::fsutil;
use std::path::Path;

/// Fields a branch may change: the run's length and its learning-rate schedule.
const MAY_CHANGE: [&str; 2] = ["epochs", "lr_schedule"];

/// Prepares `to` to train the GAN run in `from` on under `config`: checks that `config` differs
/// from the source's only in `epochs` (more than the epochs trained) and `lr_schedule` (the same
/// rates for the epochs trained), then writes the source's state as `to`'s resume file and the
/// config. [`super::train_gan`] with `config` and `to` then goes on from there. Returns the
/// number of epochs taken over. When `to` already holds this config (a branch made before,
/// trained or not), nothing is written and the epochs of its history are returned.
pub fn branch_gan(from: &Path, to: &Path, config: &GanConfig) -> anyhow::Result<usize> {
    config.validate()?;
    anyhow::ensure!(
        normalise(from) != normalise(to),
        "{} would be trained on in place: give the new run another folder (the source stays as it is)",
        from.display()
    );
    if check_same_run(to, RunKind::Gan, "config.json", config)? {
        let done = fsutil::read_json::<History>(to.join("history.json"))
            .map(|h| h.epochs.len())
            .unwrap_or(0);
        return Ok(done);
    }
    let old: GanConfig = fsutil::read_config(from.join("config.json")).map_err(|e| {
        anyhow::anyhow!(
            "{} holds no GAN run to train on ({e}); give a folder written by `latentlab gan train`",
            from.display()
        )
    })?;
    let state = [FINAL_STATE_FILE, RESUME_FILE]
        .iter()
        .map(|f| from.join(f))
        .find(|p| p.exists())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "{} keeps no training state ({FINAL_STATE_FILE}): a run finished by a latentlab \
                 older than 2026-12-07 lost its optimizer state, so it can be sampled and scored \
                 but not trained on exactly; train a new run with more --epochs instead",
                from.display()
            )
        })?;
    let done = resume::read_history::<History>(&state)?.epochs.len();
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
         trains from scratch); these differ:\n  {}",
        from.display(),
        MAY_CHANGE.join(" and "),
        others.join("\n  ")
    );
    anyhow::ensure!(
        config.epochs > done,
        "{} has trained {done} epochs already: ask for more than {done} (e.g. --epochs {})",
        from.display(),
        done + 10
    );
    if let Some(e) = (0..done).find(|&e| old.lr_factor(e) != config.lr_factor(e)) {
        anyhow::bail!(
            "lr_schedule {:?} over {} epochs gives epoch {} a rate of {} × the base rate, but \
             {} trained it at {} ×: the epochs already trained must keep their rates (a \
             constant rate, or a linear_tail that starts after epoch {done}); train a new run \
             for a schedule that changes them",
            config.lr_schedule,
            config.epochs,
            e + 1,
            config.lr_factor(e),
            from.display(),
            old.lr_factor(e)
        );
    }
    // The state first, the config last: until the config is written, `to` holds no run, and a
    // second call starts over.
    let bytes = std::fs::read(&state)
        .map_err(|e| anyhow::anyhow!("cannot read {} ({e})", state.display()))?;
    fsutil::write_atomic(to.join(RESUME_FILE), &bytes)?;
    fsutil::write_json(to.join("config.json"), config)?;
    Ok(done)
}
