//! Per-epoch (and optionally per-step) training history, serde-serialisable, and the NaN guard.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What happened in one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches (in train mode).
    pub train_loss: f64,
    /// Loss on the held-out set in eval mode, if one was evaluated.
    pub test_loss: Option<f64>,
    /// Learning rate used.
    pub lr: f64,
    /// Wall-clock seconds for the epoch (training + evaluation).
    pub seconds: f64,
    /// Other named values (accuracy, D/G losses, …).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, f64>,
}

/// The whole history of a run, appended epoch by epoch; saved as `history.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// One record per finished epoch.
    pub epochs: Vec<EpochRecord>,
    /// Optional per-step series by name (e.g. `d_loss`, `g_loss` for GANs).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub steps: BTreeMap<String, Vec<f64>>,
}

impl History {
    /// `(epoch, train_loss)` points.
    pub fn train_curve(&self) -> Vec<(f64, f64)> {
        self.epochs
            .iter()
            .map(|e| (e.epoch as f64, e.train_loss))
            .collect()
    }

    /// `(epoch, test_loss)` points for the epochs that have one.
    pub fn test_curve(&self) -> Vec<(f64, f64)> {
        self.epochs
            .iter()
            .filter_map(|e| e.test_loss.map(|l| (e.epoch as f64, l)))
            .collect()
    }

    /// `(epoch, value)` points of an `extra` entry.
    pub fn extra_curve(&self, name: &str) -> Vec<(f64, f64)> {
        self.epochs
            .iter()
            .filter_map(|e| e.extra.get(name).map(|&v| (e.epoch as f64, v)))
            .collect()
    }

    /// Total seconds over all epochs.
    pub fn seconds(&self) -> f64 {
        self.epochs.iter().map(|e| e.seconds).sum()
    }

    /// The last record, if any.
    pub fn last(&self) -> Option<&EpochRecord> {
        self.epochs.last()
    }
}

/// The NaN guard: an error naming the epoch and step if `loss` is NaN or infinite.
pub fn check_finite(what: &str, loss: f64, epoch: usize, step: usize) -> anyhow::Result<()> {
    if loss.is_finite() {
        Ok(())
    } else {
        anyhow::bail!(
            "{what} became {loss} at epoch {epoch}, step {step}: training stopped and the last good \
             checkpoint was kept; lower the learning rate or check the input data"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_guard_names_epoch_and_step() {
        assert!(check_finite("loss", 0.5, 1, 1).is_ok());
        let e = check_finite("loss", f64::NAN, 3, 17)
            .unwrap_err()
            .to_string();
        assert!(e.contains("epoch 3") && e.contains("step 17"), "{e}");
        assert!(check_finite("loss", f64::INFINITY, 1, 1).is_err());
    }
}
