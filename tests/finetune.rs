//! Fine-tuning: the frozen phase changes only the matcher, the joint phase changes everything.

mod common;

use latentlab::data::{DatasetKind, Split};
use latentlab::prelude::*;
use latentlab::train::{finetune, FinetuneConfig};

#[test]
fn frozen_phase_changes_only_the_matcher_and_joint_phase_changes_all() {
    common::single_thread();
    let train = common::small(DatasetKind::FashionMnist, Split::Train, 256);
    let test = common::small(DatasetKind::FashionMnist, Split::Test, 128);
    let mut ae_cfg = AutoencoderConfig::homework(Profile::Quick);
    ae_cfg.epochs = 1;
    let mut ae = train_autoencoder(&ae_cfg, &train, &test, None, &mut Progress::Silent).unwrap();
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
