//! Search with k-fold cross-validation: fresh weights per fold, resumable after kill -9.

mod common;

use latentlab::prelude::*;
use latentlab::train::search::{fold_config, weight_checksum};
use latentlab::train::{run_search, SearchConfig, SearchSpace};
use std::process::Command;

fn tiny_search() -> SearchConfig {
    let mut c = SearchConfig::homework(Profile::Quick);
    c.base.train_limit = Some(240);
    c.base.batch_size = 40;
    c.base.epochs = 2;
    c.space = SearchSpace::Grid {
        latent_dims: vec![4, 8],
        learning_rates: vec![1e-3],
        weight_decays: vec![0.0, 1e-5],
        optimizers: vec![OptimizerKind::Adam],
    };
    c.folds = 3;
    c
}

#[test]
fn every_fold_starts_from_fresh_weights() {
    common::single_thread();
    let _rng = common::rng_lock();
    let c = tiny_search();
    let cand = &c.candidates().unwrap()[0];
    let sums: Vec<f64> = (0..3)
        .map(|k| {
            let run = AutoencoderRun::new(&fold_config(&c.base, cand, k), Device::Cpu).unwrap();
            weight_checksum(&run.vs)
        })
        .collect();
    assert!(sums[0] != sums[1] && sums[1] != sums[2], "{sums:?}");
    // ...and the same fold always gets the same start.
    let again = AutoencoderRun::new(&fold_config(&c.base, cand, 1), Device::Cpu).unwrap();
    assert_eq!(weight_checksum(&again.vs), sums[1]);
}

#[test]
fn results_are_sorted_and_saved_and_a_changed_config_is_refused() {
    common::single_thread();
    let _rng = common::rng_lock();
    let dir = tempfile::tempdir().unwrap();
    let c = tiny_search();
    let (train, _) = c.base.load_data().unwrap();
    let res = run_search(&c, &train, dir.path(), &mut Progress::Silent).unwrap();
    assert_eq!(res.rows.len(), 4);
    assert_eq!(res.folds.len(), 12);
    assert!(res.rows.windows(2).all(|w| w[0].mean <= w[1].mean));
    assert!(res
        .rows
        .iter()
        .all(|r| r.per_fold.len() == 3 && r.mean.is_finite()));
    for f in ["results.json", "results.csv", "search_config.json"] {
        assert!(dir.path().join(f).exists());
    }
    let mut other = c.clone();
    other.folds = 2;
    let err = run_search(&other, &train, dir.path(), &mut Progress::Silent)
        .unwrap_err()
        .to_string();
    assert!(err.contains("different config"), "{err}");
}

#[test]
fn a_killed_search_resumes_to_the_same_table() {
    let bin = env!("CARGO_BIN_EXE_latentlab");
    let work = tempfile::tempdir().unwrap();
    let cfg_path = work.path().join("search.json");
    latentlab::fsutil::write_json(&cfg_path, &tiny_search()).unwrap();
    let run = |out: &std::path::Path| {
        let mut c = Command::new(bin);
        c.args(["ae", "search", "--config"])
            .arg(&cfg_path)
            .arg("--out")
            .arg(out)
            .env("LATENTLAB_THREADS", "1")
            .env("LATENTLAB_DEVICE", "cpu");
        c
    };
    let clean = work.path().join("clean");
    let status = run(&clean).output().unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );

    let killed = work.path().join("killed");
    let mut child = run(&killed)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let folds = killed.join("folds");
    let t0 = std::time::Instant::now();
    while std::fs::read_dir(&folds).map(|d| d.count()).unwrap_or(0) < 2 {
        assert!(t0.elapsed().as_secs() < 300, "search made no progress");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let done_before = std::fs::read_dir(&folds).unwrap().count();
    assert!(
        done_before < 12,
        "the search finished before it could be killed"
    );
    // No temp file is taken for a result, and every finished fold file is valid JSON.
    for e in std::fs::read_dir(&folds).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "json") {
            let _: latentlab::train::FoldResult = latentlab::fsutil::read_json(&p).unwrap();
        }
    }
    let status = run(&killed).output().unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let a = std::fs::read_to_string(clean.join("results.csv")).unwrap();
    let b = std::fs::read_to_string(killed.join("results.csv")).unwrap();
    assert_eq!(a, b);
}
