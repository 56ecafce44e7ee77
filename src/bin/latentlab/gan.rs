//! `latentlab gan`: train a GAN (or resume one), sample from one, or score one.

use crate::checks;
use clap::Subcommand;
use latentlab::prelude::*;
use latentlab::train::guard::{expect_run, RunKind};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum GanCommand {
    /// Train (or resume) a GAN on MNIST.
    Train {
        /// gan, acgan or conv-acgan.
        #[arg(long, default_value = "acgan")]
        kind: String,
        /// quick or full (default: LATENTLAB_PROFILE, else quick).
        #[arg(long)]
        profile: Option<Profile>,
        /// Run folder.
        #[arg(long)]
        out: PathBuf,
        /// Override the number of epochs.
        #[arg(long, value_parser = checks::count, allow_negative_numbers = true)]
        epochs: Option<usize>,
        /// Sample from an exponential moving average of G's weights with this decay (0 < d < 1,
        /// e.g. 0.999).
        #[arg(long)]
        ema: Option<f64>,
        /// Start over in --out when it holds a GAN run with another config.
        #[arg(long)]
        force: bool,
        /// Train from this config file (a run's config.json, e.g. one in data/gan-variants)
        /// instead of the --kind and --profile defaults; --epochs and --ema still override it.
        #[arg(long, conflicts_with_all = ["kind", "profile"])]
        config: Option<PathBuf>,
        /// Train this GAN run on into --out: its config (or --config's) with more --epochs,
        /// starting from its saved state, exactly as one longer run would have gone. Only
        /// epochs and lr_schedule may change; the run itself is only read.
        #[arg(long, conflicts_with_all = ["kind", "profile"])]
        continue_from: Option<PathBuf>,
    },
    /// Score a finished GAN with both MNIST scorers against the test digits (class consistency,
    /// Fréchet distance, precision and recall, per-digit distances, strokes) beside each
    /// scorer's floor; writes the scores as JSON to --out.
    Score {
        /// GAN run folder.
        #[arg(long)]
        from: PathBuf,
        /// JSON file to write the scores to (outside the run folder, which is an input).
        #[arg(long)]
        out: PathBuf,
        /// quick (1,000 samples, scorers trained in runs/quick) or full (10,000, the shipped
        /// scorers); default: the GAN's own profile.
        #[arg(long)]
        profile: Option<Profile>,
    },
    /// Write generated digits as IDX (`.gz` if the name ends so) and a PNG grid of the first
    /// 100 beside it.
    Sample {
        /// GAN run folder (or generator.safetensors with config.json beside it).
        #[arg(long)]
        from: PathBuf,
        /// Digit to generate (conditional GANs); random if absent.
        #[arg(long, value_parser = checks::digit, allow_negative_numbers = true)]
        class: Option<i64>,
        /// Number of images.
        #[arg(long, default_value_t = 100, value_parser = checks::count, allow_negative_numbers = true)]
        count: usize,
        /// Noise seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Output IDX file.
        #[arg(long)]
        out: PathBuf,
        /// Write no PNG grid.
        #[arg(long)]
        no_png: bool,
    },
}

pub fn run(command: GanCommand) -> anyhow::Result<()> {
    match command {
        GanCommand::Train {
            kind,
            profile,
            out,
            epochs,
            ema,
            force,
            config,
            continue_from,
        } => {
            let from = continue_from.as_deref();
            if let Some(src) = from {
                expect_run(src, "--continue-from", &[RunKind::Gan], false)?;
            }
            let cfg = match (config, from) {
                (Some(file), _) => latentlab::fsutil::read_config(&file)?,
                (None, Some(src)) => latentlab::fsutil::read_config(src.join("config.json"))?,
                (None, None) => default_config(&kind, profile)?,
            };
            train(cfg, &out, (epochs, ema), force, from)
        }
        GanCommand::Score { from, out, profile } => score(&from, &out, profile),
        GanCommand::Sample {
            from,
            class,
            count,
            seed,
            out,
            no_png,
        } => sample(&from, class, count, seed, &out, no_png),
    }
}

/// The recipe `GanConfig::new` gives `--kind` in the profile.
fn default_config(kind: &str, profile: Option<Profile>) -> anyhow::Result<GanConfig> {
    let profile = checks::profile(profile, None)?;
    let kind: GanKind = kind
        .parse()
        .map_err(|e: String| anyhow::anyhow!("--kind: {e}"))?;
    Ok(GanConfig::new(kind, profile))
}

fn train(
    mut cfg: GanConfig,
    out: &std::path::Path,
    (epochs, ema): (Option<usize>, Option<f64>),
    force: bool,
    continue_from: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    if let Some(e) = epochs {
        cfg.epochs = e;
    }
    if ema.is_some() {
        cfg.g_ema_decay = ema;
    }
    cfg.validate()?;
    let (kind, profile) = (cfg.arch.kind, cfg.profile);
    match continue_from {
        Some(src) => {
            use latentlab::train::branch::{branch_gan, check_branch, Branched};
            // Everything about the source is checked before --force clears --out.
            latentlab::train::guard::check_not_input(out, "--out", &[("--continue-from", src)])?;
            check_branch(src, &cfg)?;
            checks::output_dir(out, &[("--continue-from", src)], RunKind::Gan, force)?;
            if let Branched::New(done) = branch_gan(src, out, &cfg)? {
                println!(
                    "{}: trains {} on from its epoch {done} to epoch {}",
                    out.display(),
                    src.display(),
                    cfg.epochs
                );
            }
        }
        None => {
            checks::output_dir(out, &[], RunKind::Gan, force)?;
            latentlab::train::guard::check_same_run(out, RunKind::Gan, "config.json", &cfg)?;
        }
    }
    let train = Dataset::load(DatasetKind::Mnist, Split::Train, profile)?;
    println!(
        "{} | {} | profile {} | run folder {}",
        runtime::describe(runtime::device()),
        kind.name(),
        profile,
        out.display()
    );
    let run = train_gan(&cfg, &train, Some(out), &mut Progress::auto())?;
    let fig = if kind.conditional() {
        figures::class_grid(
            &run.sample_grid(10, 0),
            10,
            "Generated digits, one row per class",
        )?
    } else {
        figures::digit_grid(&run.sample(100, None, 0), 10, "Generated digits")?
    };
    fig.save(out.join("samples.png"))?;
    figures::gan_losses(
        &run.history,
        &run.config,
        "Discriminator and generator losses",
    )?
    .save(out.join("losses.png"))?;
    println!("wrote {}", out.display());
    Ok(())
}

fn sample(
    from: &std::path::Path,
    class: Option<i64>,
    count: usize,
    seed: u64,
    out: &std::path::Path,
    no_png: bool,
) -> anyhow::Result<()> {
    expect_run(from, "--from", &[RunKind::Gan], true)?;
    checks::output_file(out, &[("--from", from)], !no_png)?;
    let run = load_gan(from, runtime::device())?;
    let hidden: f64 = run.config.arch.hidden.iter().map(|&h| h as f64).sum();
    crate::latent::check_sample_count(count, 3.0 * 784.0 + 2.0 * hidden)?;
    if class.is_some() {
        anyhow::ensure!(
            run.config.arch.kind.conditional(),
            "{} is an unconditional GAN: omit --class",
            from.display()
        );
    }
    let images = run.sample(count, class, seed);
    figures::write_images_idx(&images, out)?;
    let mut wrote = out.display().to_string();
    if !no_png {
        let png = out.with_extension("png");
        figures::digit_grid(&checks::first(&images, 100), 10, "Generated digits")?.save(&png)?;
        wrote = format!("{wrote} and {} (the first 100)", png.display());
    }
    println!("wrote {count} images to {wrote}");
    Ok(())
}

fn score(
    from: &std::path::Path,
    out: &std::path::Path,
    profile: Option<Profile>,
) -> anyhow::Result<()> {
    expect_run(from, "--from", &[RunKind::Gan], false)?;
    checks::output_file(out, &[("--from", from)], false)?;
    let gan = load_gan(from, runtime::device())?;
    let profile = checks::profile(profile, Some(gan.config.profile))?;
    let train = Dataset::load(DatasetKind::Mnist, Split::Train, profile)?;
    let test = Dataset::load(DatasetKind::Mnist, Split::Test, profile)?;
    let runs = runtime::runs_dir().join(profile.name());
    let mut scorers = Vec::new();
    for s in Scorer::ALL {
        let clf =
            train::train_or_load_scorer(s, profile, &train, &test, &runs, &mut Progress::auto())?;
        scorers.push((s, clf));
    }
    let scorers: Vec<_> = scorers.iter().map(|(s, c)| (*s, c)).collect();
    let n = match profile {
        Profile::Full => 10_000,
        Profile::Quick => 1_000,
    };
    let kind = gan.config.arch.kind;
    let q = analysis::score_generators(&[(kind, &gan)], &scorers, &train, &test, n)?;
    latentlab::fsutil::write_json(out, &q)?;
    let title = format!("{} ({profile} profile, {n} samples)", from.display());
    println!("{}", figures::gan_quality_table(&q, &title));
    println!("wrote {}", out.display());
    Ok(())
}
