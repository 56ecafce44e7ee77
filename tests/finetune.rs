//! Fine-tuning: the frozen phase changes only the matcher, the joint phase changes everything.

mod common;

use latentlab::data::{DatasetKind, Split};
use latentlab::prelude::*;
use latentlab::train::{finetune, FinetuneConfig};

/// The homework's autoencoder after one quick-profile epoch on `train`.
fn one_epoch_autoencoder(train: &Dataset, test: &Dataset) -> AutoencoderRun {
    let mut cfg = AutoencoderConfig::homework(Profile::Quick);
    cfg.epochs = 1;
    train_autoencoder(&cfg, train, test, None, &mut Progress::Silent).unwrap()
}

#[test]
fn frozen_phase_changes_only_the_matcher_and_joint_phase_changes_all() {
    common::single_thread();
    let train = common::small(DatasetKind::FashionMnist, Split::Train, 256);
    let test = common::small(DatasetKind::FashionMnist, Split::Test, 128);
    let mut ae = one_epoch_autoencoder(&train, &test);
    let before = common::snapshot(&ae.vs);

    let mut cfg = FinetuneConfig::for_profile(Profile::Quick);
    cfg.matcher_epochs = 1;
    cfg.joint_epochs = 0;
    let run = finetune(&mut ae, &cfg, &train, &test, None, &mut Progress::Silent).unwrap();
    assert!(common::changed(&before, &common::snapshot(&ae.vs)).is_empty());
    let m = run.metrics.unwrap();
    assert!((0.0..=1.0).contains(&m.matcher_only_test_accuracy));
    assert_eq!(m.test_mse_before, m.test_mse_after);

    cfg.joint_epochs = 1;
    let _ = finetune(&mut ae, &cfg, &train, &test, None, &mut Progress::Silent).unwrap();
    let changed = common::changed(&before, &common::snapshot(&ae.vs));
    let all: Vec<String> = before.keys().cloned().collect();
    let trainable: Vec<&String> = all.iter().filter(|k| !k.contains("running")).collect();
    for k in trainable {
        assert!(changed.contains(k), "{k} did not change in the joint phase");
    }
}

#[test]
fn the_learning_rate_of_the_joint_phase_follows_its_schedule() {
    common::single_thread();
    let train = common::small(DatasetKind::FashionMnist, Split::Train, 128);
    let test = common::small(DatasetKind::FashionMnist, Split::Test, 64);
    let mut ae = one_epoch_autoencoder(&train, &test);
    let mut cfg = FinetuneConfig::for_profile(Profile::Quick);
    cfg.matcher_epochs = 0;
    cfg.joint_epochs = 3;
    cfg.joint_schedule = LrSchedule::Cosine { min_factor: 0.1 };
    let run = finetune(&mut ae, &cfg, &train, &test, None, &mut Progress::Silent).unwrap();
    let lrs: Vec<f64> = run.joint_history.epochs.iter().map(|e| e.lr).collect();
    let base = cfg.joint_optimizer.lr;
    assert!((lrs[0] - base).abs() < 1e-12, "{lrs:?}");
    assert!((lrs[2] - 0.1 * base).abs() < 1e-12, "{lrs:?}");
    assert!(lrs[1] < lrs[0] && lrs[1] > lrs[2], "{lrs:?}");
}

#[test]
fn a_config_without_a_joint_schedule_reads_as_constant() {
    let mut v = serde_json::to_value(FinetuneConfig::for_profile(Profile::Full)).unwrap();
    v.as_object_mut().unwrap().remove("joint_schedule");
    let c: FinetuneConfig = serde_json::from_value(v).unwrap();
    assert_eq!(c.joint_schedule, LrSchedule::Constant);
}

#[test]
fn a_softmax_latent_becomes_a_classifier_and_its_codes_are_probabilities() {
    use latentlab::train::softmax_latent::{softmax_codes, train_softmax_latent};
    use latentlab::train::SoftmaxLatentConfig;
    common::single_thread();
    let train = common::small(DatasetKind::FashionMnist, Split::Train, 1000);
    let test = common::small(DatasetKind::FashionMnist, Split::Test, 300);
    let ae = one_epoch_autoencoder(&train, &test);
    let before = common::snapshot(&ae.vs);
    let mut cfg = SoftmaxLatentConfig::for_profile(Profile::Quick);
    cfg.epochs = 4;
    cfg.batch_size = 32;
    let dir = tempfile::tempdir().unwrap();
    let run = train_softmax_latent(
        ae,
        &cfg,
        &train,
        &test,
        Some(dir.path()),
        &mut Progress::Silent,
    )
    .unwrap();
    let m = run.metrics.clone().unwrap();
    assert!(
        m.test_accuracy_after > m.test_accuracy_before + 0.2 && m.test_accuracy_after > 0.5,
        "{m:?}"
    );
    let changed = common::changed(&before, &common::snapshot(&run.ae.vs));
    assert!(changed.iter().any(|k| k.starts_with("enc")), "{changed:?}");
    assert!(changed.iter().any(|k| k.starts_with("dec")), "{changed:?}");
    let (x, _) = test.range(0, 16);
    let p = softmax_codes(&run.ae, &x);
    let sums = Vec::<f32>::try_from(p.sum_dim_intlist(1, false, Kind::Float)).unwrap();
    assert!(sums.iter().all(|s| (s - 1.0).abs() < 1e-5), "{sums:?}");
    // The tuned autoencoder's old numbers are not left beside it.
    assert!(!dir.path().join("autoencoder").join("metrics.json").exists());
    // The folder reloads to the same model.
    let back = latentlab::train::load_softmax_latent(dir.path(), Device::Cpu).unwrap();
    assert!(softmax_codes(&back.ae, &x).allclose(&p, 1e-6, 1e-6, false));
    assert_eq!(back.metrics, run.metrics);
}

#[test]
fn a_softmax_latent_refuses_a_code_that_is_not_10_d() {
    use latentlab::train::softmax_latent::train_softmax_latent;
    use latentlab::train::SoftmaxLatentConfig;
    common::single_thread();
    let train = common::small(DatasetKind::FashionMnist, Split::Train, 64);
    let ae = AutoencoderRun::new(&AutoencoderConfig::plane(Profile::Quick), Device::Cpu).unwrap();
    let err = train_softmax_latent(
        ae,
        &SoftmaxLatentConfig::for_profile(Profile::Quick),
        &train,
        &train,
        None,
        &mut Progress::Silent,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("2-d latent") && err.contains("latent_dim 10"),
        "{err}"
    );
}

#[test]
fn the_decoder_refit_changes_only_the_decoder_and_keeps_the_accuracy() {
    common::single_thread();
    let train = common::small(DatasetKind::FashionMnist, Split::Train, 256);
    let test = common::small(DatasetKind::FashionMnist, Split::Test, 128);
    let mut ae = one_epoch_autoencoder(&train, &test);
    let mut cfg = FinetuneConfig::for_profile(Profile::Quick);
    cfg.matcher_epochs = 1;
    cfg.joint_epochs = 1;
    let run = finetune(&mut ae, &cfg, &train, &test, None, &mut Progress::Silent).unwrap();
    let (acc_before, pred_before) = latentlab::train::classify(&ae, &run.matcher, &test);
    let before = common::snapshot(&ae.vs);
    cfg.decoder_epochs = 2;
    let h = latentlab::train::finetune::refit_decoder(
        &mut ae,
        &cfg,
        &train,
        &test,
        &mut Progress::Silent,
    )
    .unwrap();
    assert_eq!(h.epochs.len(), 2);
    let changed = common::changed(&before, &common::snapshot(&ae.vs));
    assert!(!changed.is_empty());
    assert!(
        changed.iter().all(|k| k.starts_with("decoder")),
        "{changed:?}"
    );
    let (acc_after, pred_after) = latentlab::train::classify(&ae, &run.matcher, &test);
    assert_eq!((acc_before, pred_before), (acc_after, pred_after));
    // The encoder trains again afterwards.
    assert!(ae
        .vs
        .variables()
        .iter()
        .filter(|(k, _)| k.starts_with("encoder") && !k.contains("running"))
        .all(|(_, t)| t.requires_grad()));
}
