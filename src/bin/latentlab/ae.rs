//! `latentlab ae`: train an autoencoder, its PCA baseline, or a hyper-parameter search.

use crate::checks;
use anyhow::Context;
use clap::Subcommand;
use latentlab::prelude::*;
use latentlab::train::guard::{check_same_run, RunKind};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum AeCommand {
    /// Train (or resume) an autoencoder run into --out.
    Train {
        /// quick or full (default: the config file's, else LATENTLAB_PROFILE, else quick).
        #[arg(long)]
        profile: Option<Profile>,
        /// Run folder (config.json, history.json, metrics.json, checkpoint, figures).
        #[arg(long)]
        out: PathBuf,
        /// A JSON config (an AutoencoderConfig, e.g. a config.json of an earlier run).
        #[arg(long)]
        config: Option<PathBuf>,
        /// homework (the faithful model), improved, or plane2d (a 2-d latent).
        #[arg(long, default_value = "homework")]
        variant: String,
        /// Override the number of epochs.
        #[arg(long, value_parser = checks::count, allow_negative_numbers = true)]
        epochs: Option<usize>,
        /// Start over in --out when it holds a run with another config (its files are replaced).
        #[arg(long)]
        force: bool,
    },
    /// The linear baseline: PCA reconstruction error with K components.
    Pca {
        /// quick or full.
        #[arg(long)]
        profile: Option<Profile>,
        /// Number of components (1-784).
        #[arg(long, default_value_t = 10, value_parser = checks::count, allow_negative_numbers = true)]
        components: usize,
        /// Where to write the result as JSON.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Grid or random search with k-fold cross-validation (resumable).
    Search {
        /// quick or full (default: the config file's, else LATENTLAB_PROFILE, else quick).
        #[arg(long)]
        profile: Option<Profile>,
        /// Search folder.
        #[arg(long)]
        out: PathBuf,
        /// A JSON SearchConfig.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Start over in --out when it holds a search with another config.
        #[arg(long)]
        force: bool,
    },
}

pub fn run(command: AeCommand) -> anyhow::Result<()> {
    match command {
        AeCommand::Train {
            profile,
            out,
            config,
            variant,
            epochs,
            force,
        } => train(profile, &out, config, &variant, epochs, force),
        AeCommand::Pca {
            profile,
            components,
            out,
        } => pca(profile, components, out),
        AeCommand::Search {
            profile,
            out,
            config,
            force,
        } => search(profile, &out, config, force),
    }
}

/// The config of `ae train`: the file or the variant, then the flags over it, validated.
fn train_config(
    profile: Option<Profile>,
    config: Option<PathBuf>,
    variant: &str,
    epochs: Option<usize>,
) -> anyhow::Result<AutoencoderConfig> {
    let mut cfg = match &config {
        Some(path) => {
            let c: AutoencoderConfig = latentlab::fsutil::read_config(path)?;
            AutoencoderConfig {
                profile: checks::profile(profile, Some(c.profile))?,
                ..c
            }
        }
        None => {
            let p = checks::profile(profile, None)?;
            match variant {
                "homework" => AutoencoderConfig::homework(p),
                "improved" => AutoencoderConfig::improved(p),
                "plane2d" => AutoencoderConfig::plane(p),
                v => {
                    anyhow::bail!("unknown --variant '{v}': expected homework, improved or plane2d")
                }
            }
        }
    };
    if let Some(e) = epochs {
        cfg.epochs = e;
    }
    match &config {
        Some(path) => cfg
            .validate()
            .with_context(|| format!("invalid config in {}", path.display()))?,
        None => cfg.validate()?,
    }
    Ok(cfg)
}

fn train(
    profile: Option<Profile>,
    out: &std::path::Path,
    config: Option<PathBuf>,
    variant: &str,
    epochs: Option<usize>,
    force: bool,
) -> anyhow::Result<()> {
    // A config file inside --out is fine (an earlier run's config.json): it is only read.
    let cfg = train_config(profile, config, variant, epochs)?;
    checks::output_dir(out, &[], RunKind::Autoencoder, force)?;
    check_same_run(out, RunKind::Autoencoder, "config.json", &cfg)?;
    let device = runtime::device();
    println!(
        "{} | profile {} | run folder {}",
        runtime::describe(device),
        cfg.profile,
        out.display()
    );
    let (train, test) = cfg.load_data()?;
    let run = train_autoencoder(&cfg, &train, &test, Some(out), &mut Progress::auto())?;
    let idx = test.first_of_each_class(1);
    figures::reconstructions(
        &[(cfg.name.as_str(), &run.model)],
        &test,
        &idx,
        "Test images and reconstructions",
    )?
    .save(out.join("reconstructions.png"))?;
    figures::loss_curves(&run.history, "Reconstruction loss", cfg.loss.name())?
        .save(out.join("loss.png"))?;
    println!("wrote {}", out.display());
    Ok(())
}

fn pca(profile: Option<Profile>, components: usize, out: Option<PathBuf>) -> anyhow::Result<()> {
    latentlab::limits::check_range("--components", components, 1, 784)?;
    if let Some(p) = &out {
        checks::output_file(p, &[], false)?;
    }
    let profile = checks::profile(profile, None)?;
    let train = Dataset::load(DatasetKind::FashionMnist, Split::Train, profile)?;
    let test = Dataset::load(DatasetKind::FashionMnist, Split::Test, profile)?;
    let (b, _) = latentlab::analysis::pca_reconstruction_baseline(&train, &test, components)?;
    println!(
        "PCA-{components} on Fashion-MNIST ({profile}): train MSE {:.5}, test MSE {:.5}, variance kept {:.1}%, {:.1}s",
        b.train_mse,
        b.test_mse,
        100.0 * b.explained_variance_ratio.iter().sum::<f64>(),
        b.seconds
    );
    if let Some(p) = out {
        latentlab::fsutil::write_json(&p, &b)?;
    }
    Ok(())
}

fn search(
    profile: Option<Profile>,
    out: &std::path::Path,
    config: Option<PathBuf>,
    force: bool,
) -> anyhow::Result<()> {
    let cfg = match &config {
        Some(p) => {
            let mut c = SearchConfig::from_file(p)?;
            c.base.profile = checks::profile(profile, Some(c.base.profile))?;
            c.validate()
                .with_context(|| format!("invalid config in {}", p.display()))?;
            c
        }
        None => SearchConfig::homework(checks::profile(profile, None)?),
    };
    checks::output_dir(out, &[], RunKind::Search, force)?;
    check_same_run(out, RunKind::Search, "search_config.json", &cfg)?;
    let (train, _) = cfg.base.load_data()?;
    let res = latentlab::train::run_search(&cfg, &train, out, &mut Progress::auto())?;
    println!("{}", latentlab::figures::search_table(&res, 20));
    latentlab::figures::search_chart(&res, None)?.save(out.join("search.png"))?;
    println!("results: {}", out.join("results.csv").display());
    Ok(())
}
