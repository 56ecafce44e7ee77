//! The loop a notebook drives with its own model and step (`train::fit`), the GAN and joint
//! fine-tuning loops with steps given by the caller, and the notebooks' exercise checks.

mod common;

use latentlab::data::{DatasetKind, Split};
use latentlab::prelude::*;
use latentlab::train::gan::GanRun;

/// A small model of the kind a notebook cell defines: a linear autoencoder through 4 numbers.
#[derive(Debug)]
struct Tiny {
    net: nn::Sequential,
}

fn tiny(p: &nn::Path, code: i64) -> Tiny {
    Tiny {
        net: nn::seq()
            .add_fn(|x| x.flatten(1, -1))
            .add(nn::linear(p / "enc", 784, code, Default::default()))
            .add(nn::linear(p / "dec", code, 784, Default::default()))
            .add_fn(|x| x.sigmoid().view([-1, 1, 28, 28])),
    }
}

impl nn::ModuleT for Tiny {
    fn forward_t(&self, x: &Tensor, _train: bool) -> Tensor {
        x.apply(&self.net)
    }
}

fn mse_step(m: &Tiny, opt: &mut Optimizer, x: &Tensor, _y: &Tensor) -> Tensor {
    let loss = m.forward_t(x, true).mse_loss(x, Reduction::Mean);
    opt.backward_step(&loss);
    loss
}

fn l1_step(m: &Tiny, opt: &mut Optimizer, x: &Tensor, _y: &Tensor) -> Tensor {
    let loss = m.forward_t(x, true).l1_loss(x, Reduction::Mean);
    opt.backward_step(&loss);
    loss
}

fn mse_held_out(m: &Tiny, x: &Tensor, _y: &Tensor) -> Tensor {
    m.forward_t(x, false).mse_loss(x, Reduction::Mean)
}

fn config(epochs: usize) -> FitConfig {
    FitConfig {
        name: "tiny".into(),
        epochs,
        batch_size: 32,
        seed: 3,
        optimizer: OptimizerConfig::adam(3e-3),
        schedule: LrSchedule::Constant,
    }
}

fn train_tiny(
    step: fn(&Tiny, &mut Optimizer, &Tensor, &Tensor) -> Tensor,
    code: i64,
    dir: &std::path::Path,
) -> (nn::VarStore, Tiny, Fitted) {
    let train = common::small(DatasetKind::FashionMnist, Split::Train, 256);
    let test = common::small(DatasetKind::FashionMnist, Split::Test, 64);
    tch::manual_seed(1);
    let mut vs = nn::VarStore::new(Device::Cpu);
    let model = tiny(&vs.root(), code);
    let fitted = train::fit(
        &config(3),
        &mut vs,
        &model,
        (&train, &test),
        step,
        mse_held_out,
        &RunFolder::new(dir),
        &mut Progress::Silent,
    )
    .unwrap();
    (vs, model, fitted)
}

#[test]
fn fit_trains_the_callers_model_with_the_callers_step_into_a_run_folder() {
    common::single_thread();
    let _rng = common::rng_lock();
    let tmp = tempfile::tempdir().unwrap();
    let (vs, model, fitted) = train_tiny(mse_step, 4, tmp.path());
    let e = &fitted.history.epochs;
    assert_eq!(e.len(), 3);
    assert!(!fitted.loaded);
    assert!(
        e[2].test_loss.unwrap() < e[0].test_loss.unwrap(),
        "held-out loss did not fall: {e:?}"
    );
    for f in ["config.json", "history.json", "checkpoint.safetensors"] {
        assert!(tmp.path().join(f).exists(), "{f} missing");
    }
    let saved: FitConfig =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("config.json")).unwrap())
            .unwrap();
    assert_eq!(saved, config(3));
    // The checkpoint holds the caller's model.
    let mut again = nn::VarStore::new(Device::Cpu);
    let _ = tiny(&again.root(), 4);
    again
        .load(tmp.path().join("checkpoint.safetensors"))
        .unwrap();
    let w = &vs.variables()["enc.weight"];
    assert!(w.equal(&again.variables()["enc.weight"]));
    // Metrics are computed and written for a model trained here.
    let train = common::small(DatasetKind::FashionMnist, Split::Train, 256);
    let test = common::small(DatasetKind::FashionMnist, Split::Test, 64);
    let m = train::reconstruction_metrics(&fitted, &vs, &model, &train, &test).unwrap();
    assert!((m.test_mse - e[2].test_loss.unwrap()).abs() < 1e-6);
    assert!(tmp.path().join("metrics.json").exists());
}

#[test]
fn a_changed_step_or_model_changes_what_is_trained() {
    common::single_thread();
    let _rng = common::rng_lock();
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let (_, _, mse) = train_tiny(mse_step, 4, a.path());
    let (_, _, l1) = train_tiny(l1_step, 4, b.path());
    let (vs2, _, _) = train_tiny(mse_step, 2, c.path());
    let (m1, l1_1) = (
        mse.history.epochs[0].train_loss,
        l1.history.epochs[0].train_loss,
    );
    // On pixels in [0, 1] the absolute error is never below the squared one.
    assert!(l1_1 > m1, "L1 step logged {l1_1}, MSE step {m1}");
    assert_eq!(vs2.variables()["enc.weight"].size(), [2, 784]);
    // Same step, same seed: the same numbers (the loop itself adds no randomness).
    let d = tempfile::tempdir().unwrap();
    let (_, _, again) = train_tiny(mse_step, 4, d.path());
    assert_eq!(
        again.history.epochs[2].train_loss,
        mse.history.epochs[2].train_loss
    );
}

#[test]
fn a_nan_from_the_callers_step_stops_with_the_epoch() {
    common::single_thread();
    // Its model's initial weights come from the global generator, which the tests that compare
    // two seeded runs must have to themselves.
    let _rng = common::rng_lock();
    fn nan_step(m: &Tiny, opt: &mut Optimizer, x: &Tensor, y: &Tensor) -> Tensor {
        mse_step(m, opt, x, y) * f64::NAN
    }
    let tmp = tempfile::tempdir().unwrap();
    let train = common::small(DatasetKind::FashionMnist, Split::Train, 64);
    let mut vs = nn::VarStore::new(Device::Cpu);
    let model = tiny(&vs.root(), 4);
    let err = train::fit(
        &config(2),
        &mut vs,
        &model,
        (&train, &train.take(0)),
        nan_step,
        mse_held_out,
        &RunFolder::new(tmp.path()),
        &mut Progress::Silent,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("epoch 1"), "{err}");
}

#[test]
fn a_schedule_longer_than_the_run_is_refused_before_training() {
    // Building the model draws from the global generator (see the NaN test above).
    let _rng = common::rng_lock();
    let tmp = tempfile::tempdir().unwrap();
    let train = common::small(DatasetKind::FashionMnist, Split::Train, 64);
    let mut vs = nn::VarStore::new(Device::Cpu);
    let model = tiny(&vs.root(), 4);
    let mut cfg = config(2);
    cfg.schedule = LrSchedule::LinearTail { epochs: 3 };
    let err = train::fit(
        &cfg,
        &mut vs,
        &model,
        (&train, &train.take(0)),
        mse_step,
        mse_held_out,
        &RunFolder::new(tmp.path()),
        &mut Progress::Silent,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("schedule") && err.contains("(3)"), "{err}");
    assert!(!tmp.path().join("history.json").exists());
}

#[test]
fn gan_steps_given_by_the_caller_are_the_ones_that_train() {
    common::single_thread();
    let _rng = common::rng_lock();
    let mut cfg = GanConfig::new(GanKind::AcGan, Profile::Quick);
    cfg.arch.hidden = [32, 64, 128];
    cfg.batch_size = 32;
    cfg.epochs = 2;
    cfg.max_steps_per_epoch = Some(4);
    cfg.d_schedule = vec![train::DStepsFrom {
        epoch: 2,
        d_steps: 2,
    }];
    let data = common::small(DatasetKind::Mnist, Split::Train, 256);
    let library = train::train_gan(&cfg, &data, None, &mut Progress::Silent).unwrap();
    // The library's own steps passed as closures give the same run, number for number.
    let same = train::train_gan_with(
        &cfg,
        &data,
        None,
        &mut Progress::Silent,
        GanSteps {
            discriminator: train::gan::discriminator_step,
            generator: |r: &GanRun, o: &mut Optimizer, b: usize| {
                train::gan::generator_step(r, o, b, Device::Cpu)
            },
        },
    )
    .unwrap();
    assert_eq!(library.history.steps, same.history.steps);
    // Counting calls: D every batch, G every k-th batch of the schedule.
    let (mut d_calls, mut g_calls) = (0, 0);
    let counted = train::train_gan_with(
        &cfg,
        &data,
        None,
        &mut Progress::Silent,
        GanSteps {
            discriminator: |r: &GanRun, o: &mut Optimizer, x: &Tensor, y: &Tensor| {
                d_calls += 1;
                train::gan::discriminator_step(r, o, x, y)
            },
            generator: |r: &GanRun, o: &mut Optimizer, b: usize| {
                g_calls += 1;
                train::gan::generator_step(r, o, b, Device::Cpu)
            },
        },
    )
    .unwrap();
    assert_eq!(counted.history.epochs.len(), 2);
    assert_eq!((d_calls, g_calls), (8, 4 + 2));
}

#[test]
fn the_joint_step_given_by_the_caller_is_the_one_that_trains() {
    common::single_thread();
    let _rng = common::rng_lock();
    let data = common::small(DatasetKind::FashionMnist, Split::Train, 256);
    let test = common::small(DatasetKind::FashionMnist, Split::Test, 64);
    let mut ae_cfg = AutoencoderConfig::homework(Profile::Quick);
    ae_cfg.epochs = 1;
    let mut ft_cfg = FinetuneConfig::for_profile(Profile::Quick);
    ft_cfg.matcher_epochs = 1;
    ft_cfg.joint_epochs = 1;
    let fresh = || train_autoencoder(&ae_cfg, &data, &test, None, &mut Progress::Silent).unwrap();
    let mut a = fresh();
    let lib = train::finetune(&mut a, &ft_cfg, &data, &test, None, &mut Progress::Silent).unwrap();
    let mut b = fresh();
    let w = ft_cfg.classification_weight;
    let same = train::finetune_with(
        &mut b,
        &ft_cfg,
        (&data, &test),
        None,
        &mut Progress::Silent,
        |m, matcher, opts, x, y| {
            train::default_joint_step(m, matcher, opts, (x, y), (LossKind::Mse, w))
        },
    )
    .unwrap();
    assert_eq!(
        lib.joint_history.epochs[0].train_loss,
        same.joint_history.epochs[0].train_loss
    );
    // A step that ignores the labels leaves the classification loss untrained.
    let mut c = fresh();
    let unsupervised = train::finetune_with(
        &mut c,
        &ft_cfg,
        (&data, &test),
        None,
        &mut Progress::Silent,
        |m, matcher, opts, x, y| {
            train::default_joint_step(m, matcher, opts, (x, y), (LossKind::Mse, 0.0))
        },
    )
    .unwrap();
    assert_ne!(
        unsupervised.joint_history.epochs[0].train_loss,
        lib.joint_history.epochs[0].train_loss
    );
}

#[test]
fn exercise_checks_say_whether_the_answer_holds() {
    assert!(exercise::check("Exercise 0", true, "a thing", "hint"));
    assert!(!exercise::check("Exercise 0", false, "a thing", "hint"));
    assert!(exercise::check_less(
        "Exercise 0",
        "smaller",
        ("a", 1.0),
        ("b", 2.0),
        "h"
    ));
    assert!(!exercise::check_less(
        "Exercise 0",
        "smaller",
        ("a", 2.0),
        ("b", 2.0),
        "h"
    ));
}

#[test]
fn comparison_configs_match_the_homework_runs() {
    use latentlab::train::OptimizerKind;
    for p in [Profile::Quick, Profile::Full] {
        // Adam is the MSE run of the loss comparison (the same shipped run).
        assert_eq!(
            AutoencoderConfig::optimizer_comparison(p, OptimizerKind::Adam),
            AutoencoderConfig::loss_comparison(p, LossKind::Mse)
        );
        for k in [OptimizerKind::Sgd, OptimizerKind::RmsProp] {
            let c = AutoencoderConfig::optimizer_comparison(p, k);
            assert_eq!(c.optimizer.kind, k);
            c.validate().unwrap();
        }
        // Random search: the grid's budget.
        let (grid, random) = (SearchConfig::homework(p), SearchConfig::random(p));
        assert_eq!(
            grid.candidates().unwrap().len(),
            random.candidates().unwrap().len()
        );
        assert_eq!(
            (grid.folds, grid.base.epochs),
            (random.folds, random.base.epochs)
        );
        assert_eq!(grid.base.train_limit, random.base.train_limit);
    }
    // A shipped random search must be the one the notebook asks for.
    let shipped = latentlab::runtime::checkpoints_dir().join("search-random/search_config.json");
    if shipped.exists() {
        let cfg: SearchConfig =
            serde_json::from_str(&std::fs::read_to_string(shipped).unwrap()).unwrap();
        assert_eq!(cfg, SearchConfig::random(Profile::Full));
    }
}
