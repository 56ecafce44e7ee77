//! Shared helpers for the integration tests: small slices of the committed embedded data.
#![allow(dead_code)]

use latentlab::data::{DataSource, Dataset, DatasetKind, Split};

/// The first `n` images of an embedded split.
pub fn small(kind: DatasetKind, split: Split, n: usize) -> Dataset {
    let root = latentlab::runtime::repo_root().join("data");
    Dataset::load_from(&root, kind, split, DataSource::Embedded)
        .expect("embedded data")
        .take(n)
}

/// One CPU thread, so that results are bit-for-bit repeatable.
pub fn single_thread() {
    std::env::set_var("LATENTLAB_THREADS", "1");
    std::env::set_var("LATENTLAB_DEVICE", "cpu");
    latentlab::runtime::init_threads();
}

/// Sums of every variable of a var store, by name.
pub fn snapshot(vs: &tch::nn::VarStore) -> std::collections::BTreeMap<String, tch::Tensor> {
    vs.variables()
        .into_iter()
        .map(|(k, v)| (k, v.detach().copy()))
        .collect()
}

/// Names of the trainable weights that differ between two snapshots (batch-norm running
/// statistics are buffers, not weights, and are left out).
pub fn changed(
    a: &std::collections::BTreeMap<String, tch::Tensor>,
    b: &std::collections::BTreeMap<String, tch::Tensor>,
) -> Vec<String> {
    a.iter()
        .filter(|(k, v)| !k.contains("running_") && !v.equal(&b[*k]))
        .map(|(k, _)| k.clone())
        .collect()
}

/// Serialises the tests of one binary that need libtorch's global random stream to themselves
/// (the same seed must give the same draws while they run).
pub fn rng_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}
