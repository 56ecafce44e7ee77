//! A real `latentlab` process killed with SIGKILL in the middle of a training, then run again
//! with the same command, ends bit-identical to an uninterrupted run: the autoencoder, the
//! search, the fine-tuning and the GAN (quick profile, CPU); and a GAN trained on with
//! `--continue-from` ends bit-identical to the longer run.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One training at a time: four at once on a small machine (each with its libtorch threads)
/// slow each other down many times over.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn latentlab(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_latentlab"));
    c.args(args)
        .env_remove("LATENTLAB_PROFILE")
        .env("LATENTLAB_THREADS", "2")
        .env("OMP_WAIT_POLICY", "PASSIVE")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

fn run_to_end(args: &[&str]) {
    let out = latentlab(args).output().unwrap();
    assert!(
        out.status.success(),
        "latentlab {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Starts `args`, waits until `ready(out)` holds (a checkpoint exists), waits `delay` more (into
/// the next epoch), kills the process with SIGKILL, and runs the same command to the end.
/// Returns whether the process was still running when it was killed.
fn kill_then_resume(
    args: &[&str],
    out: &Path,
    ready: impl Fn(&Path) -> bool,
    delay: Duration,
) -> bool {
    let mut child = latentlab(args).spawn().unwrap();
    let t0 = Instant::now();
    while !ready(out) && t0.elapsed() < Duration::from_secs(120) {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(delay);
    let was_running = child.try_wait().unwrap().is_none();
    child.kill().unwrap_or(()); // SIGKILL on Unix
    let _ = child.wait();
    run_to_end(args);
    was_running
}

fn bytes(p: PathBuf) -> Vec<u8> {
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The losses of a history file, without the timings.
fn losses(p: PathBuf) -> String {
    let mut v: serde_json::Value = serde_json::from_slice(&bytes(p)).unwrap();
    for e in v["epochs"].as_array_mut().into_iter().flatten() {
        e.as_object_mut().unwrap().remove("seconds");
    }
    v.to_string()
}

fn config(dir: &Path) -> PathBuf {
    let p = dir.join("small.json");
    std::fs::write(
        &p,
        r#"{"name": "small", "profile": "quick", "dataset": "fashion-mnist",
  "arch": {"latent_dim": 10, "channels": [8, 16, 32], "hidden": 64, "dropout": 0.5,
           "batch_norm": false, "output": "sigmoid"},
  "optimizer": {"kind": "adam", "lr": 0.001, "weight_decay": 0.0, "momentum": 0.9, "beta1": 0.9},
  "schedule": {"kind": "cosine", "min_factor": 0.1}, "loss": "mse", "epochs": 5,
  "batch_size": 64, "seed": 42, "train_limit": 4000, "test_limit": 200, "checkpoint_every": 1}"#,
    )
    .unwrap();
    p
}

#[test]
fn autoencoder_killed_mid_epoch_resumes_bit_identical() {
    let _one = serial();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let cfg = cfg.to_str().unwrap();
    run_to_end(&["ae", "train", "--config", cfg, "--out", a.to_str().unwrap()]);
    let killed = kill_then_resume(
        &["ae", "train", "--config", cfg, "--out", b.to_str().unwrap()],
        &b,
        |d| d.join("resume.safetensors").exists(),
        Duration::from_millis(400),
    );
    assert!(killed, "the run ended before it could be killed");
    assert_eq!(
        bytes(a.join("checkpoint.safetensors")),
        bytes(b.join("checkpoint.safetensors"))
    );
    assert_eq!(
        losses(a.join("history.json")),
        losses(b.join("history.json"))
    );
    assert!(!b.join("resume.safetensors").exists());
}

#[test]
fn gan_killed_mid_epoch_resumes_bit_identical() {
    use latentlab::models::GanKind;
    use latentlab::prelude::*;
    use latentlab::train::GanConfig;
    let _one = serial();
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    // Two epochs, the second (the one killed and resumed) at a falling learning rate: the
    // resumed run must set the rate from the epoch, not carry the first epoch's.
    let mut cfg = GanConfig::new(GanKind::Gan, Profile::Quick);
    cfg.epochs = 2;
    cfg.lr_schedule = LrSchedule::LinearTail { epochs: 1 };
    let cfg_file = dir.path().join("gan.json");
    std::fs::write(&cfg_file, serde_json::to_string(&cfg).unwrap()).unwrap();
    let args = |d: &Path| {
        [
            "gan",
            "train",
            "--config",
            cfg_file.to_str().unwrap(),
            "--out",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([d.to_str().unwrap().to_string()])
        .collect::<Vec<_>>()
    };
    let (aa, ba) = (args(&a), args(&b));
    run_to_end(&aa.iter().map(String::as_str).collect::<Vec<_>>());
    let killed = kill_then_resume(
        &ba.iter().map(String::as_str).collect::<Vec<_>>(),
        &b,
        |d| d.join("resume.safetensors").exists(),
        Duration::from_millis(1500),
    );
    assert!(killed, "the run ended before it could be killed");
    for f in ["generator.safetensors", "discriminator.safetensors"] {
        assert_eq!(bytes(a.join(f)), bytes(b.join(f)), "{f} differs");
    }
    assert_eq!(
        losses(a.join("history.json")),
        losses(b.join("history.json"))
    );
    let history: serde_json::Value =
        serde_json::from_slice(&bytes(b.join("history.json"))).unwrap();
    let lr = cfg.g_optimizer.lr;
    assert_eq!(history["epochs"][1]["lr"].as_f64(), Some(lr / 2.0));
}

#[test]
fn gan_trained_on_from_the_command_line_equals_the_longer_run() {
    use latentlab::models::GanKind;
    use latentlab::prelude::*;
    use latentlab::train::GanConfig;
    let _one = serial();
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    // One epoch at a constant rate, trained on to two with the rate falling over the second,
    // against the two-epoch run from scratch.
    let mut short = GanConfig::new(GanKind::Gan, Profile::Quick);
    short.epochs = 1;
    short.max_steps_per_epoch = Some(20);
    let mut long = short.clone();
    long.epochs = 2;
    long.lr_schedule = LrSchedule::LinearTail { epochs: 1 };
    for (name, c) in [("short.json", &short), ("long.json", &long)] {
        std::fs::write(p(name), serde_json::to_string(c).unwrap()).unwrap();
    }
    let train = |args: &[&str]| run_to_end(&[&["gan", "train"], args].concat());
    train(&["--config", &p("short.json"), "--out", &p("short")]);
    train(&["--config", &p("long.json"), "--out", &p("whole")]);
    let on = [
        "--continue-from",
        &p("short"),
        "--config",
        &p("long.json"),
        "--out",
        &p("on"),
    ];
    train(&on);
    for f in ["generator.safetensors", "discriminator.safetensors"] {
        let (a, b) = (
            dir.path().join("whole").join(f),
            dir.path().join("on").join(f),
        );
        assert_eq!(bytes(a), bytes(b), "{f} differs");
    }
    assert_eq!(
        losses(dir.path().join("whole/history.json")),
        losses(dir.path().join("on/history.json"))
    );
    // The first epoch was taken over from the short run, timings included.
    let epoch1 = |run: &str| {
        let h: serde_json::Value =
            serde_json::from_slice(&bytes(dir.path().join(run).join("history.json"))).unwrap();
        h["epochs"][0].clone()
    };
    assert_eq!(epoch1("on"), epoch1("short"));
    // Run again, the same command finds the branch finished and changes nothing.
    let before = bytes(dir.path().join("on/final-state.safetensors"));
    train(&on);
    assert_eq!(bytes(dir.path().join("on/final-state.safetensors")), before);
}

#[test]
fn search_killed_midway_resumes_bit_identical() {
    let _one = serial();
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    run_to_end(&["ae", "search", "--out", a.to_str().unwrap()]);
    let killed = kill_then_resume(
        &["ae", "search", "--out", b.to_str().unwrap()],
        &b,
        |d| {
            std::fs::read_dir(d.join("folds"))
                .map(|r| r.count() >= 2)
                .unwrap_or(false)
        },
        Duration::from_millis(100),
    );
    assert!(killed, "the search ended before it could be killed");
    let scores = |d: &Path| {
        let v: serde_json::Value = serde_json::from_slice(&bytes(d.join("results.json"))).unwrap();
        v["folds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| format!("{} {}", f["valid_loss"], f["train_curve"]))
            .collect::<Vec<_>>()
    };
    assert!(!scores(&a).is_empty());
    assert_eq!(scores(&a), scores(&b));
}

#[test]
fn finetuning_killed_midway_ends_bit_identical() {
    let _one = serial();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let ae = dir.path().join("ae");
    run_to_end(&[
        "ae",
        "train",
        "--config",
        cfg.to_str().unwrap(),
        "--epochs",
        "1",
        "--out",
        ae.to_str().unwrap(),
    ]);
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let args = |d: &Path| {
        vec![
            "finetune".to_string(),
            "--from".into(),
            ae.to_str().unwrap().into(),
            "--joint-epochs".into(),
            "3".into(),
            "--out".into(),
            d.to_str().unwrap().into(),
        ]
    };
    let (aa, ba) = (args(&a), args(&b));
    run_to_end(&aa.iter().map(String::as_str).collect::<Vec<_>>());
    let killed = kill_then_resume(
        &ba.iter().map(String::as_str).collect::<Vec<_>>(),
        &b,
        |_| true,
        Duration::from_millis(1500),
    );
    assert!(killed, "the fine-tuning ended before it could be killed");
    for f in ["matcher.safetensors", "autoencoder/checkpoint.safetensors"] {
        assert_eq!(bytes(a.join(f)), bytes(b.join(f)), "{f} differs");
    }
    assert_eq!(
        losses(a.join("joint_history.json")),
        losses(b.join("joint_history.json"))
    );
}
