//! Hostile inputs to every subcommand: bad files, configs, flags and run folders.
//!
//! Each case runs the real `latentlab` binary in a scratch workspace holding copies of shipped
//! runs and bad files, and asserts the exit code, that the message names the path or field, that
//! no C++ stack trace or panic reaches the user, and that no file that existed before the command
//! was changed (SHA-256 of every file, before and after).

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    latentlab::runtime::repo_root()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let t = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), t).unwrap();
        }
    }
}

fn checksums(root: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let sum = Sha256::digest(std::fs::read(&p).unwrap());
                out.insert(p, format!("{sum:x}"));
            }
        }
    }
    out
}

/// The workspace: shipped runs copied, plus bad files.
fn workspace() -> tempfile::TempDir {
    let ws = tempfile::tempdir().unwrap();
    let w = ws.path();
    let ck = repo().join("data/checkpoints");
    for run in ["ae-homework", "gan-gan", "finetuned-homework"] {
        copy_dir(&ck.join(run), &w.join(run));
    }
    let ae_cfg = std::fs::read_to_string(w.join("ae-homework/config.json")).unwrap();
    let edit = |from: &str, to: &str| {
        assert!(ae_cfg.contains(from), "{from}");
        ae_cfg.replacen(from, to, 1)
    };
    std::fs::write(w.join("typo.json"), edit("\"latent_dim\"", "\"laten_dim\"")).unwrap();
    std::fs::write(
        w.join("big.json"),
        edit("\"latent_dim\": 10", "\"latent_dim\": 100000000"),
    )
    .unwrap();
    std::fs::write(
        w.join("wide.json"),
        edit("\"hidden\": 64", "\"hidden\": 60000").replacen(
            "\"latent_dim\": 10",
            "\"latent_dim\": 60000",
            1,
        ),
    )
    .unwrap();
    std::fs::write(
        w.join("negative.json"),
        edit("\"epochs\": 150", "\"epochs\": -2"),
    )
    .unwrap();
    std::fs::write(w.join("zero_lr.json"), edit("\"lr\": 0.001", "\"lr\": 0.0")).unwrap();
    std::fs::write(w.join("garbage.json"), "{\"name\": \"x\", ").unwrap();
    std::fs::write(w.join("afile"), "not a folder").unwrap();
    std::fs::write(w.join("search_typo.json"), "{\"bse\": {}}").unwrap();
    std::fs::write(
        w.join("finetune_typo.json"),
        std::fs::read_to_string(w.join("finetuned-homework/finetune_config.json"))
            .unwrap()
            .replacen("\"matcher_epochs\"", "\"matcher_epoch\"", 1),
    )
    .unwrap();
    let gan_cfg = std::fs::read_to_string(w.join("gan-gan/config.json")).unwrap();
    // The GAN config with one setting edited in (its text must hold `find`).
    let edited = |name: &str, find: &str, with: &str| {
        assert!(gan_cfg.contains(find), "{find}");
        std::fs::write(w.join(name), gan_cfg.replacen(find, with, 1)).unwrap();
    };
    let channels = "\"conv_channels\": 64";
    edited(
        "gan_projection.json",
        channels,
        &format!("{channels}, \"projection\": true"),
    );
    edited("gan_r1.json", "\"seed\":", "\"r1_gamma\": -1, \"seed\":");
    // A run folder whose checkpoint was cut short.
    copy_dir(&w.join("ae-homework"), &w.join("truncated"));
    let ckpt = w.join("truncated/checkpoint.safetensors");
    let bytes = std::fs::read(&ckpt).unwrap();
    std::fs::write(&ckpt, &bytes[..bytes.len() / 2]).unwrap();
    copy_dir(&w.join("gan-gan"), &w.join("gan-truncated"));
    let g = w.join("gan-truncated/generator.safetensors");
    std::fs::write(&g, &std::fs::read(&g).unwrap()[..100]).unwrap();
    ws
}

/// (arguments with `{w}` for the workspace, exit code, texts the message must hold).
const CASES: &[(&str, i32, &[&str])] = &[
    // ae train
    (
        "ae train --config {w}/typo.json --out {w}/n1",
        1,
        &["typo.json", "laten_dim", "did you mean `latent_dim`"],
    ),
    (
        "ae train --config {w}/big.json --out {w}/n1",
        1,
        &["big.json", "latent_dim", "100000000"],
    ),
    (
        "ae train --config {w}/wide.json --out {w}/n1",
        1,
        &["wide.json", "memory", "GiB"],
    ),
    (
        "ae train --config {w}/negative.json --out {w}/n1",
        1,
        &["negative.json", "epochs"],
    ),
    (
        "ae train --config {w}/zero_lr.json --out {w}/n1",
        1,
        &["zero_lr.json", "optimizer.lr"],
    ),
    (
        "ae train --config {w}/garbage.json --out {w}/n1",
        1,
        &["garbage.json", "not valid JSON"],
    ),
    (
        "ae train --config {w}/gan-gan/config.json --out {w}/n1",
        1,
        &["gan-gan/config.json", "unknown field"],
    ),
    (
        "ae train --config {w}/missing.json --out {w}/n1",
        1,
        &["missing.json", "does not exist"],
    ),
    (
        "ae train --variant nope --out {w}/n1",
        1,
        &["--variant", "nope"],
    ),
    (
        "ae train --epochs -5 --out {w}/n1",
        2,
        &["-5", "at least 1"],
    ),
    ("ae train --epochs 0 --out {w}/n1", 2, &["0", "at least 1"]),
    (
        "ae train --profile medium --out {w}/n1",
        2,
        &["medium", "quick"],
    ),
    ("ae train --out {w}/afile", 1, &["afile", "existing file"]),
    (
        "ae train --out {w}/afile/sub",
        1,
        &["afile/sub", "cannot create"],
    ),
    (
        "ae train --out {w}/ae-homework",
        1,
        &["ae-homework", "different config", "profile"],
    ),
    (
        "ae train --config {w}/ae-homework/config.json --epochs 3 --out {w}/ae-homework",
        1,
        &["epochs: 150 in the folder, 3 now"],
    ),
    ("ae train --out {w}/gan-gan", 1, &["gan-gan", "a GAN run"]),
    (
        "ae train --out {w}/gan-gan --force",
        1,
        &["gan-gan", "same kind"],
    ),
    // ae pca
    ("ae pca --components 0", 2, &["at least 1"]),
    ("ae pca --components 1000", 1, &["--components", "784"]),
    (
        "ae pca --out {w}/ae-homework",
        1,
        &["ae-homework", "folder"],
    ),
    // ae search
    (
        "ae search --config {w}/search_typo.json --out {w}/n2",
        1,
        &["search_typo.json", "bse", "did you mean `base`"],
    ),
    (
        "ae search --out {w}/ae-homework",
        1,
        &["ae-homework", "autoencoder run"],
    ),
    // finetune
    (
        "finetune --from /no/such/run --out {w}/n3",
        1,
        &["/no/such/run", "no such"],
    ),
    (
        "finetune --from {w}/ae-homework/config.json --out {w}/n3",
        1,
        &["config.json", "is a file"],
    ),
    (
        "finetune --from {w}/gan-gan --out {w}/n3",
        1,
        &["gan-gan", "GAN run", "autoencoder run"],
    ),
    (
        "finetune --from {w}/ae-homework --out {w}/ae-homework",
        1,
        &["same as --from"],
    ),
    (
        "finetune --from {w}/ae-homework --out {w}/ae-homework/sub",
        1,
        &["inside --from"],
    ),
    (
        "finetune --from {w}/truncated --out {w}/n3",
        1,
        &["truncated/checkpoint.safetensors", "damaged file"],
    ),
    (
        "finetune --from {w}/ae-homework --config {w}/finetune_typo.json --out {w}/n3",
        1,
        &[
            "finetune_typo.json",
            "matcher_epoch",
            "did you mean `matcher_epochs`",
        ],
    ),
    (
        "finetune --from {w}/finetuned-homework --out {w}/n3",
        1,
        &["already fine-tuned", "--decoder-epochs"],
    ),
    (
        "finetune --from {w}/finetuned-homework --decoder-epochs 1 --out {w}/finetuned-homework",
        1,
        &["same as --from"],
    ),
    (
        "finetune --from {w}/ae-homework --out {w}/afile",
        1,
        &["afile", "existing file"],
    ),
    (
        "finetune --from {w}/ae-homework --matcher-epochs -1 --out {w}/n3",
        2,
        &["-1", "negative"],
    ),
    (
        "finetune --softmax-latent --from {w}/gan-gan --out {w}/n3",
        1,
        &["gan-gan", "GAN run"],
    ),
    ("finetune --out {w}/n3", 1, &["--from"]),
    // latent and sample
    (
        "latent --from {w}/ae-homework --out {w}/n4",
        1,
        &["ae-homework", "fine-tuned run"],
    ),
    (
        "latent --from {w}/finetuned-homework --top-k 0 --out {w}/n4",
        2,
        &["at least 1"],
    ),
    (
        "latent --from {w}/finetuned-homework --out {w}/finetuned-homework/plots",
        1,
        &["inside --from"],
    ),
    (
        "sample --from {w}/finetuned-homework --class -1 --out {w}/s.idx",
        2,
        &["-1", "0 to 9"],
    ),
    (
        "sample --from {w}/finetuned-homework --class 10 --out {w}/s.idx",
        2,
        &["10", "0 to 9"],
    ),
    (
        "sample --from {w}/finetuned-homework --class 1 --scale -1 --out {w}/s.idx",
        2,
        &["-1", "at least 0"],
    ),
    (
        "sample --from {w}/gan-gan --class 1 --out {w}/s.idx",
        1,
        &["gan-gan", "fine-tuned run"],
    ),
    (
        "sample --from {w}/finetuned-homework --class 1 --out {w}/finetuned-homework/s.idx",
        1,
        &["inside --from"],
    ),
    (
        "sample --from {w}/finetuned-homework --class 1 --out {w}/s.png",
        1,
        &["s.png", "PNG"],
    ),
    (
        "sample --from {w}/finetuned-homework --class 1 --count 99999999999 --out {w}/s.idx",
        1,
        &["--count 99999999999"],
    ),
    // gan train and sample
    ("gan train --kind nope --out {w}/n5", 1, &["--kind", "nope"]),
    (
        "gan train --config {w}/garbage.json --out {w}/n5",
        1,
        &["garbage.json", "unknown field `name`"],
    ),
    (
        "gan train --config {w}/ae-homework/config.json --out {w}/n5",
        1,
        &["ae-homework/config.json", "unknown field"],
    ),
    (
        "gan train --config {w}/gan_projection.json --out {w}/n5",
        1,
        &["projection", "acgan or conv-acgan"],
    ),
    (
        "gan train --config {w}/gan_r1.json --out {w}/n5",
        1,
        &["r1_gamma", ">= 0", "-1"],
    ),
    (
        "gan train --config {w}/gan-gan/config.json --kind gan --out {w}/n5",
        2,
        &["--config", "--kind"],
    ),
    ("gan train --epochs -1 --out {w}/n5", 2, &["-1"]),
    (
        "gan train --out {w}/ae-homework",
        1,
        &["ae-homework", "autoencoder run"],
    ),
    (
        "gan train --kind gan --out {w}/gan-gan",
        1,
        &["gan-gan", "different config", "profile"],
    ),
    (
        "gan train --continue-from {w}/ae-homework --epochs 60 --out {w}/n5",
        1,
        &["ae-homework", "autoencoder run", "--continue-from"],
    ),
    (
        "gan train --continue-from {w}/gan-gan --epochs 60 --out {w}/n5",
        1,
        &["gan-gan", "keeps no training state", "more --epochs"],
    ),
    (
        "gan train --continue-from {w}/gan-gan --epochs 60 --out {w}/gan-gan/more",
        1,
        &["gan-gan/more", "inside"],
    ),
    (
        "gan train --continue-from {w}/gan-gan --epochs 60 --out {w}/gan-truncated --force",
        1,
        &["gan-gan", "keeps no training state"],
    ),
    (
        "gan train --continue-from {w}/gan-gan --kind gan --out {w}/n5",
        2,
        &["--continue-from", "--kind"],
    ),
    (
        "gan sample --from {w}/ae-homework --out {w}/g.idx",
        1,
        &["ae-homework", "GAN run"],
    ),
    (
        "gan sample --from {w}/gan-gan --out {w}/g.png",
        1,
        &["g.png", "PNG"],
    ),
    (
        "gan sample --from {w}/gan-gan --out {w}/gan-gan/generator.safetensors",
        1,
        &["inside --from"],
    ),
    (
        "gan sample --from {w}/gan-gan/generator.safetensors --out {w}/gan-gan/x.idx",
        1,
        &["inside --from"],
    ),
    (
        "gan sample --from {w}/gan-gan --count 99999999999 --out {w}/g.idx",
        1,
        &["--count 99999999999"],
    ),
    (
        "gan sample --from {w}/gan-gan --count 900000000 --out {w}/g.idx",
        1,
        &["--count 900000000", "memory"],
    ),
    (
        "gan sample --from {w}/gan-gan --class 3 --out {w}/g.idx",
        1,
        &["gan-gan", "unconditional"],
    ),
    (
        "gan sample --from {w}/gan-gan --class -3 --out {w}/g.idx",
        2,
        &["-3", "0 to 9"],
    ),
    (
        "gan sample --from {w}/gan-truncated --out {w}/g.idx",
        1,
        &["generator.safetensors", "damaged file"],
    ),
    (
        "gan sample --from {w}/gan-gan --out {w}/afile/g.idx",
        1,
        &["afile", "cannot create"],
    ),
    // classifier, report, data
    ("classifier --out {w}/afile", 1, &["afile", "existing file"]),
    ("classifier --out {w}/gan-gan", 1, &["gan-gan", "GAN run"]),
    (
        "report --reuse-only --runs {w}/afile --out {w}/n6",
        1,
        &["afile", "is a file"],
    ),
    (
        "report --runs {w}/afile --out {w}/n6",
        1,
        &["afile", "existing file"],
    ),
    (
        "report --reuse-only --sections nope --out {w}/n6",
        1,
        &["nope"],
    ),
    ("report --out {w}/afile", 1, &["afile"]),
    ("data fetch --dataset nope", 1, &["--dataset", "nope"]),
    ("data verify --dataset nope", 1, &["--dataset", "nope"]),
];

#[test]
fn every_bad_input_gets_a_clear_error_and_changes_nothing() {
    let ws = workspace();
    let w = ws.path().to_str().unwrap().to_string();
    let mut failures = Vec::new();
    for (args, code, needles) in CASES {
        let before = checksums(ws.path());
        let args: Vec<String> = args
            .split_whitespace()
            .map(|a| a.replace("{w}", &w))
            .collect();
        let out = Command::new(env!("CARGO_BIN_EXE_latentlab"))
            .args(&args)
            .env_remove("LATENTLAB_PROFILE")
            .env_remove("RUST_BACKTRACE")
            .env("LATENTLAB_RUNS", ws.path().join("runs"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        let got = out.status.code().unwrap_or(-1);
        let mut why = Vec::new();
        if got != *code {
            why.push(format!("exit {got}, expected {code}"));
        }
        for n in *needles {
            let n = n.replace("{w}", &w);
            if !err.contains(&n) {
                why.push(format!("message lacks `{n}`"));
            }
        }
        if err.contains("frame #") || err.contains("Exception raised from") {
            why.push("a C++ stack trace reached the user".into());
        }
        if err.contains("panicked") {
            why.push("a panic".into());
        }
        let after = checksums(ws.path());
        for (path, sum) in &before {
            if after.get(path) != Some(sum) {
                why.push(format!("changed or removed {}", path.display()));
            }
        }
        if after.keys().any(|p| p.to_string_lossy().contains(".tmp-")) {
            why.push("left a temp file".into());
        }
        if !why.is_empty() {
            failures.push(format!(
                "latentlab {}\n  {}\n  stderr: {err}",
                args.join(" "),
                why.join("; ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn ten_thousand_samples_are_written_with_a_bounded_grid() {
    let dir = tempfile::tempdir().unwrap();
    let gan = repo().join("data/checkpoints/gan-gan");
    let before = checksums(&gan);
    let out = dir.path().join("samples.idx");
    let run = Command::new(env!("CARGO_BIN_EXE_latentlab"))
        .args(["gan", "sample", "--count", "10000", "--from"])
        .arg(&gan)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let images = latentlab::data::idx::read_idx_images(&out).unwrap();
    assert_eq!((images.count, images.rows, images.cols), (10_000, 28, 28));
    let png = latentlab::display::Figure::from_png_file(out.with_extension("png")).unwrap();
    assert!(
        png.height() < 2000,
        "the grid is {} pixels high",
        png.height()
    );
    assert_eq!(checksums(&gan), before, "sampling changed the GAN run");
    // --no-png writes the IDX only.
    let out2 = dir.path().join("more.idx");
    let run = Command::new(env!("CARGO_BIN_EXE_latentlab"))
        .args(["gan", "sample", "--no-png", "--count", "10", "--from"])
        .arg(&gan)
        .arg("--out")
        .arg(&out2)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(out2.exists() && !out2.with_extension("png").exists());
}
