//! Autoencoder training: loss goes down, runs are repeatable, checkpoints round-trip, runs resume.

mod common;

use latentlab::data::{DatasetKind, Split};
use latentlab::prelude::*;
use latentlab::train::autoencoder::evaluate_reconstruction;

fn tiny_config() -> AutoencoderConfig {
    let mut cfg = AutoencoderConfig::homework(Profile::Quick);
    cfg.epochs = 3;
    cfg.batch_size = 64;
    cfg
}

#[test]
fn a_short_training_run_lowers_the_loss() {
    let _rng = common::rng_lock();
    common::single_thread();
    let train = common::small(DatasetKind::FashionMnist, Split::Train, 512);
    let test = common::small(DatasetKind::FashionMnist, Split::Test, 256);
    let mut cfg = tiny_config();
    cfg.arch.dropout = 0.0;
    cfg.optimizer.lr = 3e-3;
    let untrained = AutoencoderRun::new(&cfg, Device::Cpu).unwrap();
    let before = evaluate_reconstruction(&untrained.model, &test, LossKind::Mse, Device::Cpu);
    let run = train_autoencoder(&cfg, &train, &test, None, &mut Progress::Silent).unwrap();
    let after = run.metrics.as_ref().unwrap().test_mse;
    assert!(after < 0.8 * before, "test MSE {before} -> {after}");
    let h = &run.history.epochs;
    assert!(h.last().unwrap().train_loss < h[0].train_loss);
}

#[test]
fn same_seed_gives_identical_history() {
    common::single_thread();
    let _rng = common::rng_lock();
    let train = common::small(DatasetKind::FashionMnist, Split::Train, 256);
    let test = common::small(DatasetKind::FashionMnist, Split::Test, 128);
    let cfg = tiny_config();
    let a = train_autoencoder(&cfg, &train, &test, None, &mut Progress::Silent).unwrap();
    let b = train_autoencoder(&cfg, &train, &test, None, &mut Progress::Silent).unwrap();
    let losses = |r: &AutoencoderRun| {
        r.history
            .epochs
            .iter()
            .map(|e| (e.train_loss, e.test_loss))
            .collect::<Vec<_>>()
    };
    assert_eq!(losses(&a), losses(&b));
    let mut other = cfg.clone();
    other.seed += 1;
    let c = train_autoencoder(&other, &train, &test, None, &mut Progress::Silent).unwrap();
    assert_ne!(losses(&a), losses(&c));
}

#[test]
fn checkpoint_round_trip_gives_identical_outputs() {
    let _rng = common::rng_lock();
    common::single_thread();
    let dir = tempfile::tempdir().unwrap();
    let train = common::small(DatasetKind::FashionMnist, Split::Train, 128);
    let test = common::small(DatasetKind::FashionMnist, Split::Test, 64);
    let mut cfg = tiny_config();
    cfg.epochs = 1;
    cfg.arch.batch_norm = true;
    let run =
        train_autoencoder(&cfg, &train, &test, Some(dir.path()), &mut Progress::Silent).unwrap();
    for f in [
        "config.json",
        "history.json",
        "metrics.json",
        "checkpoint.safetensors",
    ] {
        assert!(dir.path().join(f).exists(), "{f} missing");
    }
    let loaded = load_autoencoder(dir.path(), Device::Cpu).unwrap();
    let (x, _) = test.range(0, 16);
    assert!(run.reconstruct(&x).equal(&loaded.reconstruct(&x)));
    assert_eq!(loaded.history, run.history);
}

#[test]
fn a_finished_run_folder_is_reused_and_another_config_refused() {
    let _rng = common::rng_lock();
    common::single_thread();
    let dir = tempfile::tempdir().unwrap();
    let train = common::small(DatasetKind::FashionMnist, Split::Train, 128);
    let test = common::small(DatasetKind::FashionMnist, Split::Test, 64);
    let mut cfg = tiny_config();
    cfg.epochs = 2;
    cfg.checkpoint_every = 1;
    let first =
        train_autoencoder(&cfg, &train, &test, Some(dir.path()), &mut Progress::Silent).unwrap();
    assert!(!dir.path().join("resume.safetensors").exists());
    let again =
        train_autoencoder(&cfg, &train, &test, Some(dir.path()), &mut Progress::Silent).unwrap();
    assert_eq!(again.history, first.history);
    assert_eq!(again.metrics, first.metrics);
    let (x, _) = test.range(0, 8);
    assert!(first.reconstruct(&x).equal(&again.reconstruct(&x)));
    // More epochs is another config too: refused with the difference named.
    let mut longer = cfg.clone();
    longer.epochs = 3;
    let err = train_autoencoder(
        &longer,
        &train,
        &test,
        Some(dir.path()),
        &mut Progress::Silent,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("epochs: 2 in the folder, 3 now"), "{err}");
    let mut other = cfg.clone();
    other.optimizer.lr = 0.1;
    let err = train_autoencoder(
        &other,
        &train,
        &test,
        Some(dir.path()),
        &mut Progress::Silent,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("different config"), "{err}");
}

#[test]
fn bad_configs_and_paths_get_clear_errors() {
    let mut cfg = tiny_config();
    cfg.batch_size = 0;
    assert!(cfg
        .validate()
        .unwrap_err()
        .to_string()
        .contains("batch_size"));
    let mut cfg = tiny_config();
    cfg.schedule = LrSchedule::Cosine { min_factor: -0.5 };
    let err = cfg.validate().unwrap_err().to_string();
    assert!(
        err.contains("schedule") && err.contains("min_factor"),
        "{err}"
    );
    cfg.schedule = LrSchedule::LinearTail {
        epochs: cfg.epochs + 1,
    };
    assert!(cfg.validate().is_err());
    let err = load_autoencoder(std::path::Path::new("/nonexistent/run"), Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("/nonexistent/run") && err.contains("no such"),
        "{err}"
    );
}
