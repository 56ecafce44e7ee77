//! `latentlab finetune`: supervised fine-tuning (matcher, then everything jointly, then an
//! optional decoder refit), or the homework's softmax-latent variant.

use crate::checks;
use anyhow::Context;
use latentlab::prelude::*;
use latentlab::train::guard::{expect_run, RunKind};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct FinetuneArgs {
    /// quick or full (default: the config file's, else LATENTLAB_PROFILE, else quick).
    #[arg(long)]
    profile: Option<Profile>,
    /// Output folder (a new one, or one holding this same fine-tuning).
    #[arg(long)]
    out: PathBuf,
    /// Autoencoder run folder (e.g. data/checkpoints/ae-homework); with --decoder-epochs, a
    /// fine-tuned run folder.
    #[arg(long)]
    from: Option<PathBuf>,
    /// Override the epochs of phase 1 (matcher only).
    #[arg(long, value_parser = checks::count0, allow_negative_numbers = true)]
    matcher_epochs: Option<usize>,
    /// Override the epochs of phase 2 (everything together).
    #[arg(long, value_parser = checks::count0, allow_negative_numbers = true)]
    joint_epochs: Option<usize>,
    /// Override the epochs of phase 3 (decoder refit). With --from a fine-tuned folder, only
    /// this phase runs, on that model, and the result is written to --out.
    #[arg(long, value_parser = checks::count0, allow_negative_numbers = true)]
    decoder_epochs: Option<usize>,
    /// A JSON FinetuneConfig (e.g. the finetune_config.json of an earlier run) instead of the
    /// profile's defaults; the flags override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The homework's other approach: no matcher; the 10-d code itself is trained to be the
    /// class softmax (--joint-epochs sets its epochs).
    #[arg(long)]
    softmax_latent: bool,
    /// Replace a different run of the same kind in --out.
    #[arg(long)]
    force: bool,
}

pub fn run(args: FinetuneArgs) -> anyhow::Result<()> {
    let Some(from) = args.from.clone() else {
        anyhow::bail!(
            "pass --from with an autoencoder run folder (e.g. data/checkpoints/ae-homework or one written by `latentlab ae train`)"
        )
    };
    if args.softmax_latent {
        return softmax_latent(&args, &from);
    }
    expect_run(
        &from,
        "--from",
        &[RunKind::Autoencoder, RunKind::Finetuned],
        true,
    )?;
    let from_dir = if from.is_dir() {
        from.clone()
    } else {
        from.parent().unwrap_or(Path::new(".")).to_path_buf()
    };
    if RunKind::detect(&from_dir) == Some(RunKind::Finetuned) {
        return refit(&args, &from_dir);
    }
    let cfg = config(&args)?;
    checks::output_dir(
        &args.out,
        &[("--from", &from)],
        RunKind::Finetuned,
        args.force,
    )?;
    if checks::already_finished(&args.out, RunKind::Finetuned, "finetune_config.json", &cfg)? {
        return Ok(());
    }
    let mut ae = load_autoencoder(&from, runtime::device())?;
    let (train, test) = datasets_of(&ae, cfg.profile)?;
    let run = latentlab::train::finetune(
        &mut ae,
        &cfg,
        &train,
        &test,
        Some(&args.out),
        &mut Progress::auto(),
    )?;
    let m = run.metrics.context("the fine-tuning wrote no metrics")?;
    println!(
        "matcher only: test accuracy {:.1}% | fine-tuned: {:.1}% | test MSE {:.4} -> {:.4}",
        100.0 * m.matcher_only_test_accuracy,
        100.0 * m.finetuned_test_accuracy,
        m.test_mse_before,
        m.test_mse_after
    );
    Ok(())
}

/// The fine-tuning config: the file or the profile's defaults, then the flags.
fn config(args: &FinetuneArgs) -> anyhow::Result<FinetuneConfig> {
    let mut cfg = match &args.config {
        Some(path) => {
            let c: FinetuneConfig = latentlab::fsutil::read_config(path)?;
            FinetuneConfig {
                profile: checks::profile(args.profile, Some(c.profile))?,
                ..c
            }
        }
        None => FinetuneConfig::for_profile(checks::profile(args.profile, None)?),
    };
    if let Some(e) = args.matcher_epochs {
        cfg.matcher_epochs = e;
    }
    if let Some(e) = args.joint_epochs {
        cfg.joint_epochs = e;
    }
    if let Some(e) = args.decoder_epochs {
        cfg.decoder_epochs = e;
    }
    match &args.config {
        Some(p) => cfg
            .validate()
            .with_context(|| format!("invalid config in {}", p.display()))?,
        None => cfg.validate()?,
    }
    Ok(cfg)
}

/// The training and test sets of the dataset an autoencoder was trained on.
pub fn datasets_of(ae: &AutoencoderRun, profile: Profile) -> anyhow::Result<(Dataset, Dataset)> {
    Ok((
        Dataset::load(ae.config.dataset, Split::Train, profile)?,
        Dataset::load(ae.config.dataset, Split::Test, profile)?,
    ))
}

/// Phase 3 alone on a fine-tuned run, written to a new folder.
fn refit(args: &FinetuneArgs, from: &Path) -> anyhow::Result<()> {
    let Some(epochs) = args.decoder_epochs.filter(|&e| e > 0) else {
        anyhow::bail!(
            "--from {} is already fine-tuned: pass --decoder-epochs N to refit its decoder into --out, or an autoencoder folder (e.g. data/checkpoints/ae-improved) to fine-tune from scratch",
            from.display()
        )
    };
    checks::output_dir(
        &args.out,
        &[("--from", from)],
        RunKind::Finetuned,
        args.force,
    )?;
    anyhow::ensure!(
        !args.out.join("finetune_config.json").exists(),
        "--out {} already holds a fine-tuned run: choose a new folder, or pass --force to replace it",
        args.out.display()
    );
    let profile = checks::profile(args.profile, None)?;
    let (mut ae, mut run) = latentlab::train::load_finetuned(from, runtime::device())?;
    let (train, test) = datasets_of(&ae, profile)?;
    let (acc, mse) = latentlab::train::finetune::refit_finetuned_decoder(
        &mut ae,
        &mut run,
        epochs,
        &train,
        &test,
        &mut Progress::auto(),
    )?;
    latentlab::train::finetune::save_finetuned(&args.out, &ae, &run)?;
    println!(
        "decoder refit: test accuracy {:.1}% (unchanged), test MSE {mse:.4} -> {}",
        100.0 * acc,
        args.out.display()
    );
    Ok(())
}

fn softmax_latent(args: &FinetuneArgs, from: &Path) -> anyhow::Result<()> {
    expect_run(from, "--from", &[RunKind::Autoencoder], true)?;
    let mut cfg =
        latentlab::train::SoftmaxLatentConfig::for_profile(checks::profile(args.profile, None)?);
    if let Some(e) = args.joint_epochs {
        cfg.epochs = e;
    }
    cfg.validate()?;
    checks::output_dir(
        &args.out,
        &[("--from", from)],
        RunKind::SoftmaxLatent,
        args.force,
    )?;
    if checks::already_finished(
        &args.out,
        RunKind::SoftmaxLatent,
        "softmax_config.json",
        &cfg,
    )? {
        return Ok(());
    }
    let ae = load_autoencoder(from, runtime::device())?;
    anyhow::ensure!(
        ae.config.arch.latent_dim == 10,
        "--from {} has a {}-d code; the softmax latent needs a 10-d one (one unit per class), e.g. data/checkpoints/ae-homework",
        from.display(),
        ae.config.arch.latent_dim
    );
    let (train, test) = datasets_of(&ae, cfg.profile)?;
    let run = latentlab::train::train_softmax_latent(
        ae,
        &cfg,
        &train,
        &test,
        Some(&args.out),
        &mut Progress::auto(),
    )?;
    let m = run.metrics.context("the run wrote no metrics")?;
    println!(
        "softmax latent: test accuracy {:.1}% -> {:.1}% | test MSE {:.4} (plain autoencoder) -> {:.4} (decoded from the softmax)",
        100.0 * m.test_accuracy_before,
        100.0 * m.test_accuracy_after,
        m.test_mse_before,
        m.test_mse_after
    );
    Ok(())
}
