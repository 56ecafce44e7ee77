//! The `latentlab` command line: a thin clap layer over the library calls the notebooks use.

use anyhow::Context;
use clap::{Parser, Subcommand};
use latentlab::data::{dataset::data_root, fetch, DatasetKind, EMBEDDED_TEST, EMBEDDED_TRAIN};
use latentlab::prelude::*;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "latentlab",
    version,
    about = "Unsupervised deep learning on MNIST-style data"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fetch, verify or subset the datasets.
    Data {
        #[command(subcommand)]
        command: DataCommand,
    },
    /// Train the convolutional autoencoder.
    Ae {
        #[command(subcommand)]
        command: AeCommand,
    },
    /// Supervised fine-tuning of a trained autoencoder with a linear matcher.
    Finetune {
        /// quick or full (default: LATENTLAB_PROFILE, else quick).
        #[arg(long)]
        profile: Option<Profile>,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        /// Autoencoder run folder or checkpoint (e.g. data/checkpoints/ae-homework).
        #[arg(long)]
        from: Option<PathBuf>,
        /// Override the epochs of phase 1 (matcher only).
        #[arg(long)]
        matcher_epochs: Option<usize>,
        /// Override the epochs of phase 2 (everything together).
        #[arg(long)]
        joint_epochs: Option<usize>,
        /// Override the epochs of phase 3 (decoder refit). With --from a fine-tuned folder, only
        /// this phase runs, on that model, and the result is written to --out.
        #[arg(long)]
        decoder_epochs: Option<usize>,
        /// A JSON FinetuneConfig (e.g. the finetune_config.json of an earlier run) instead of
        /// the profile's defaults; the epoch flags still override it.
        #[arg(long)]
        config: Option<PathBuf>,
        /// The homework's other approach: no matcher; the 10-d code itself is trained to be the
        /// class softmax (--joint-epochs sets its epochs).
        #[arg(long)]
        softmax_latent: bool,
    },
    /// Latent space of a fine-tuned model: PCA and t-SNE plots, prototypes, generated samples.
    Latent {
        /// quick or full.
        #[arg(long)]
        profile: Option<Profile>,
        /// Output folder (figures and metrics.json).
        #[arg(long)]
        out: PathBuf,
        /// A fine-tuned run folder written by `latentlab finetune`.
        #[arg(long)]
        from: PathBuf,
        /// Codes per class used for each prototype.
        #[arg(long, default_value_t = 50)]
        top_k: usize,
    },
    /// Generate images of one class from a fine-tuned autoencoder's class prototype.
    Sample {
        /// A fine-tuned run folder written by `latentlab finetune`.
        #[arg(long)]
        from: PathBuf,
        /// Class index 0-9.
        #[arg(long)]
        class: i64,
        /// Number of images.
        #[arg(long, default_value_t = 16)]
        count: usize,
        /// Noise scale in multiples of the prototype's standard deviation.
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// Noise seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// quick or full (which test images define the prototypes).
        #[arg(long)]
        profile: Option<Profile>,
        /// Output IDX file (`.gz` to compress); a PNG grid is written beside it.
        #[arg(long)]
        out: PathBuf,
    },
    /// Train a GAN, or sample from one.
    Gan {
        #[command(subcommand)]
        command: GanCommand,
    },
    /// Train the MNIST classifier used to score generated digits.
    Classifier {
        /// quick or full.
        #[arg(long)]
        profile: Option<Profile>,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
    },
    /// Run every section of the homework (or reuse finished run folders and, in the full
    /// profile, the shipped checkpoints), then write one HTML report: results table, figures,
    /// configs.
    Report {
        /// quick or full: runs into runs/<profile>/ unless --runs is given.
        #[arg(long)]
        profile: Option<Profile>,
        /// Folder holding the run folders.
        #[arg(long)]
        runs: Option<PathBuf>,
        /// Output folder for report.html.
        #[arg(long)]
        out: PathBuf,
        /// Train nothing: report only what is already finished.
        #[arg(long)]
        reuse_only: bool,
        /// Comma-separated sections to run (default: all). Names: ae-homework, ae-improved,
        /// pca10, ae-loss-mse, ae-loss-l1, ae-loss-huber, search, finetuned-homework, finetuned-improved,
        /// softmax-latent, finetuned-plane2d, latent, mnist-classifier, gan-gan, gan-acgan,
        /// gan-conv-acgan, gan-quality.
        #[arg(long)]
        sections: Option<String>,
    },
    /// Print the device, threads and where data and libtorch are.
    Info,
}

#[derive(Subcommand)]
enum GanCommand {
    /// Train (or resume) a GAN on MNIST.
    Train {
        /// gan, acgan or conv-acgan.
        #[arg(long, default_value = "acgan")]
        kind: String,
        /// quick or full.
        #[arg(long)]
        profile: Option<Profile>,
        /// Run folder.
        #[arg(long)]
        out: PathBuf,
        /// Override the number of epochs.
        #[arg(long)]
        epochs: Option<usize>,
    },
    /// Write generated digits as IDX (`.gz` if the name ends so) and a PNG grid beside it.
    Sample {
        /// GAN run folder (or generator.safetensors with config.json beside it).
        #[arg(long)]
        from: PathBuf,
        /// Digit to generate (conditional GANs); random if absent.
        #[arg(long)]
        class: Option<i64>,
        /// Number of images.
        #[arg(long, default_value_t = 100)]
        count: usize,
        /// Noise seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Output IDX file.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum DataCommand {
    /// Put the full MNIST and Fashion-MNIST under data/full/ (verified by SHA-256).
    Fetch {
        /// mnist, fashion-mnist or all.
        #[arg(long, default_value = "all")]
        dataset: String,
    },
    /// Check the SHA-256 of every full data file.
    Verify {
        /// mnist, fashion-mnist or all.
        #[arg(long, default_value = "all")]
        dataset: String,
    },
    /// (Maintainers) rewrite data/embedded/ from data/full/: the first 4,000 train and 1,000 test images.
    MakeEmbedded,
}

#[derive(Subcommand)]
enum AeCommand {
    /// Train (or resume) an autoencoder run into --out.
    Train {
        /// quick or full (default: LATENTLAB_PROFILE, else quick).
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
        #[arg(long)]
        epochs: Option<usize>,
    },
    /// The linear baseline: PCA reconstruction error with K components.
    Pca {
        /// quick or full.
        #[arg(long)]
        profile: Option<Profile>,
        /// Number of components.
        #[arg(long, default_value_t = 10)]
        components: usize,
        /// Where to write the result as JSON.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Grid or random search with k-fold cross-validation (resumable).
    Search {
        /// quick or full.
        #[arg(long)]
        profile: Option<Profile>,
        /// Search folder.
        #[arg(long)]
        out: PathBuf,
        /// A JSON SearchConfig.
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

fn datasets(arg: &str) -> anyhow::Result<Vec<DatasetKind>> {
    if arg == "all" {
        Ok(DatasetKind::all().to_vec())
    } else {
        Ok(vec![arg.parse().map_err(anyhow::Error::msg)?])
    }
}

fn profile_or_env(p: Option<Profile>) -> anyhow::Result<Profile> {
    match p {
        Some(p) => Ok(p),
        None => Profile::from_env(),
    }
}

fn main() {
    if let Err(e) = run(Cli::parse()) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Info => {
            println!("{}", runtime::describe(runtime::device()));
            println!("data folder: {}", data_root().display());
            println!(
                "libtorch: {}",
                option_env!("LATENTLAB_LIBTORCH_LIB").unwrap_or("(unknown)")
            );
            Ok(())
        }
        Command::Data { command } => data_command(command),
        Command::Report {
            profile,
            runs,
            out,
            reuse_only,
            sections,
        } => {
            use latentlab::pipeline;
            let profile = profile_or_env(profile)?;
            let runs = runs.unwrap_or_else(|| runtime::runs_dir().join(profile.name()));
            let names = match &sections {
                Some(list) => pipeline::parse_sections(list)?,
                None => pipeline::SECTIONS
                    .iter()
                    .map(|s| s.to_string())
                    .chain([pipeline::GAN_QUALITY.to_string()])
                    .collect(),
            };
            let folders = if reuse_only {
                pipeline::RunFolders::new(&runs, profile)
            } else {
                println!(
                    "{} | profile {profile} | runs in {}",
                    runtime::describe(runtime::device()),
                    runs.display()
                );
                pipeline::run_sections(profile, &runs, &names, &mut Progress::auto())?
            };
            let s = latentlab::report::write_report(
                &folders,
                &out,
                &format!("latentlab results ({profile} profile)"),
            )?;
            println!(
                "wrote {} with {} run(s); missing: {}",
                out.join("report.html").display(),
                s.included.len(),
                if s.missing.is_empty() {
                    "none".into()
                } else {
                    s.missing.join(", ")
                }
            );
            Ok(())
        }
        Command::Ae { command } => ae_command(command),
        Command::Finetune {
            profile,
            out,
            from,
            joint_epochs,
            softmax_latent: true,
            ..
        } => softmax_latent_command(profile_or_env(profile)?, &out, from, joint_epochs),
        Command::Finetune {
            profile,
            out,
            from,
            matcher_epochs,
            joint_epochs,
            decoder_epochs,
            config,
            softmax_latent: false,
        } => finetune_command(
            profile_or_env(profile)?,
            &out,
            from,
            config,
            (matcher_epochs, joint_epochs, decoder_epochs),
        ),
        Command::Gan { command } => gan_command(command),
        Command::Latent {
            profile,
            out,
            from,
            top_k,
        } => latent_command(profile_or_env(profile)?, &out, &from, top_k),
        Command::Sample {
            from,
            class,
            count,
            scale,
            seed,
            profile,
            out,
        } => {
            anyhow::ensure!((0..10).contains(&class), "--class must be 0-9, got {class}");
            anyhow::ensure!(count >= 1, "--count must be at least 1");
            anyhow::ensure!(scale.is_finite() && scale >= 0.0, "--scale must be >= 0");
            let profile = profile_or_env(profile)?;
            let (ae, ft) = latentlab::train::load_finetuned(&from, runtime::device())?;
            let test = Dataset::load(ae.config.dataset, Split::Test, profile)?;
            let protos = prototypes(&ae, &ft, &test, 50)?;
            let z = latentlab::analysis::sample_codes(&protos[class as usize], count, scale, seed);
            let images = tch::no_grad(|| ae.model.decode(&z.to_device(ae.vs.device()), false));
            figures::write_images_idx(&images, &out)?;
            let png = out.with_extension("png");
            figures::digit_grid(
                &images,
                8,
                &format!("Generated: {}", test.class_names()[class as usize]),
            )?
            .save(&png)?;
            println!(
                "wrote {count} images to {} and {}",
                out.display(),
                png.display()
            );
            Ok(())
        }
        Command::Classifier { profile, out } => {
            let profile = profile_or_env(profile)?;
            let cfg = latentlab::train::ClassifierConfig::for_profile(profile);
            let train = Dataset::load(DatasetKind::Mnist, Split::Train, profile)?;
            let test = Dataset::load(DatasetKind::Mnist, Split::Test, profile)?;
            let run = latentlab::train::train_classifier(
                &cfg,
                &train,
                &test,
                Some(&out),
                &mut Progress::auto(),
            )?;
            println!(
                "test accuracy {:.2}% -> {}",
                100.0 * run.test_accuracy,
                out.display()
            );
            Ok(())
        }
    }
}

/// The training and test sets of the dataset an autoencoder was trained on.
fn datasets_of(ae: &AutoencoderRun, profile: Profile) -> anyhow::Result<(Dataset, Dataset)> {
    Ok((
        Dataset::load(ae.config.dataset, Split::Train, profile)?,
        Dataset::load(ae.config.dataset, Split::Test, profile)?,
    ))
}

fn softmax_latent_command(
    profile: Profile,
    out: &std::path::Path,
    from: Option<PathBuf>,
    epochs: Option<usize>,
) -> anyhow::Result<()> {
    let Some(from) = from else {
        anyhow::bail!(
            "pass --from with a 10-d autoencoder run folder (e.g. data/checkpoints/ae-homework)"
        )
    };
    let ae = load_autoencoder(&from, runtime::device())?;
    let mut cfg = latentlab::train::SoftmaxLatentConfig::for_profile(profile);
    if let Some(e) = epochs {
        cfg.epochs = e;
    }
    let (train, test) = datasets_of(&ae, profile)?;
    let run = latentlab::train::train_softmax_latent(
        ae,
        &cfg,
        &train,
        &test,
        Some(out),
        &mut Progress::auto(),
    )?;
    let m = run.metrics.expect("metrics");
    println!(
        "softmax latent: test accuracy {:.1}% -> {:.1}% | test MSE {:.4} (plain autoencoder) -> {:.4} (decoded from the softmax)",
        100.0 * m.test_accuracy_before,
        100.0 * m.test_accuracy_after,
        m.test_mse_before,
        m.test_mse_after
    );
    Ok(())
}

fn finetune_command(
    profile: Profile,
    out: &std::path::Path,
    from: Option<PathBuf>,
    config: Option<PathBuf>,
    (matcher_epochs, joint_epochs, decoder_epochs): (Option<usize>, Option<usize>, Option<usize>),
) -> anyhow::Result<()> {
    let device = runtime::device();
    if let Some(dir) = from
        .as_ref()
        .filter(|d| d.join("finetune_config.json").exists())
    {
        let Some(epochs) = decoder_epochs.filter(|&e| e > 0) else {
            anyhow::bail!(
                "{} is already fine-tuned: pass --decoder-epochs N to refit its decoder, or an autoencoder folder (e.g. data/checkpoints/ae-improved) to fine-tune from scratch",
                dir.display()
            )
        };
        let (mut ae, mut run) = latentlab::train::load_finetuned(dir, device)?;
        let (train, test) = datasets_of(&ae, profile)?;
        let (acc, mse) = latentlab::train::finetune::refit_finetuned_decoder(
            &mut ae,
            &mut run,
            epochs,
            &train,
            &test,
            &mut Progress::auto(),
        )?;
        latentlab::train::finetune::save_finetuned(out, &ae, &run)?;
        println!(
            "decoder refit: test accuracy {:.1}% (unchanged), test MSE {mse:.4}",
            100.0 * acc
        );
        return Ok(());
    }
    let mut ae = match from {
        Some(p) => load_autoencoder(&p, device)?,
        None => anyhow::bail!("pass --from with an autoencoder run folder (e.g. data/checkpoints/ae-homework or one written by `latentlab ae train`)"),
    };
    let mut cfg = match config {
        Some(path) => {
            let mut c: latentlab::train::FinetuneConfig = latentlab::fsutil::read_json(&path)?;
            c.profile = profile;
            c
        }
        None => latentlab::train::FinetuneConfig::for_profile(profile),
    };
    if let Some(e) = matcher_epochs {
        cfg.matcher_epochs = e;
    }
    if let Some(e) = joint_epochs {
        cfg.joint_epochs = e;
    }
    if let Some(e) = decoder_epochs {
        cfg.decoder_epochs = e;
    }
    let (train, test) = datasets_of(&ae, profile)?;
    let run = latentlab::train::finetune(
        &mut ae,
        &cfg,
        &train,
        &test,
        Some(out),
        &mut Progress::auto(),
    )?;
    let m = run.metrics.expect("metrics");
    println!(
        "matcher only: test accuracy {:.1}% | fine-tuned: {:.1}% | test MSE {:.4} -> {:.4}",
        100.0 * m.matcher_only_test_accuracy,
        100.0 * m.finetuned_test_accuracy,
        m.test_mse_before,
        m.test_mse_after
    );
    Ok(())
}

fn prototypes(
    ae: &AutoencoderRun,
    ft: &FinetuneRun,
    test: &Dataset,
    top_k: usize,
) -> anyhow::Result<Vec<latentlab::analysis::ClassPrototype>> {
    let codes = latentlab::analysis::encode_dataset(&ae.model, test);
    let probs = ft
        .predict_proba(ae, &test.images_f32())
        .to_device(Device::Cpu);
    latentlab::analysis::class_prototypes(&codes, &probs, test.labels(), top_k)
}

fn latent_command(
    profile: Profile,
    out: &std::path::Path,
    from: &std::path::Path,
    top_k: usize,
) -> anyhow::Result<()> {
    let (ae, ft) = latentlab::train::load_finetuned(from, runtime::device())?;
    let test = Dataset::load(ae.config.dataset, Split::Test, profile)?;
    std::fs::create_dir_all(out)?;
    let m = latentlab::pipeline::latent_section(&ae, &ft, &test, out, top_k)?;
    println!(
        "t-SNE of {} codes in {:.1}s; generated samples in the intended class at scale 1: {:.1}%; wrote {}",
        test.len(),
        m["tsne_seconds"].as_f64().unwrap_or(f64::NAN),
        100.0 * m["generation"][1]["intended_class_rate"].as_f64().unwrap_or(f64::NAN),
        out.display()
    );
    Ok(())
}

fn gan_command(command: GanCommand) -> anyhow::Result<()> {
    use latentlab::train::{load_gan, train_gan, GanConfig};
    match command {
        GanCommand::Train {
            kind,
            profile,
            out,
            epochs,
        } => {
            let profile = profile_or_env(profile)?;
            let kind: latentlab::models::GanKind = kind.parse().map_err(anyhow::Error::msg)?;
            let mut cfg = GanConfig::new(kind, profile);
            if let Some(e) = epochs {
                cfg.epochs = e;
            }
            let train = Dataset::load(DatasetKind::Mnist, Split::Train, profile)?;
            println!(
                "{} | {} | profile {} | run folder {}",
                runtime::describe(runtime::device()),
                kind.name(),
                profile,
                out.display()
            );
            let run = train_gan(&cfg, &train, Some(&out), &mut Progress::auto())?;
            let grid = if kind.conditional() {
                run.sample_grid(10, 0)
            } else {
                run.sample(100, None, 0)
            };
            let fig = if kind.conditional() {
                latentlab::figures::class_grid(&grid, 10, "Generated digits, one row per class")?
            } else {
                latentlab::figures::digit_grid(&grid, 10, "Generated digits")?
            };
            fig.save(out.join("samples.png"))?;
            latentlab::figures::gan_losses(
                &run.history,
                &run.config,
                "Discriminator and generator losses",
            )?
            .save(out.join("losses.png"))?;
            println!("wrote {}", out.display());
            Ok(())
        }
        GanCommand::Sample {
            from,
            class,
            count,
            seed,
            out,
        } => {
            anyhow::ensure!(count >= 1, "--count must be at least 1");
            let run = load_gan(&from, runtime::device())?;
            if let Some(c) = class {
                anyhow::ensure!((0..10).contains(&c), "--class must be a digit 0-9, got {c}");
                anyhow::ensure!(
                    run.config.arch.kind.conditional(),
                    "{} is an unconditional GAN: omit --class",
                    from.display()
                );
            }
            let images = run.sample(count, class, seed);
            latentlab::figures::write_images_idx(&images, &out)?;
            let png = out.with_extension("png");
            latentlab::figures::digit_grid(&images, 10, "Generated digits")?.save(&png)?;
            println!(
                "wrote {count} images to {} and {}",
                out.display(),
                png.display()
            );
            Ok(())
        }
    }
}

fn data_command(command: DataCommand) -> anyhow::Result<()> {
    let root = data_root();
    match command {
        DataCommand::Fetch { dataset } => {
            for kind in datasets(&dataset)? {
                fetch::fetch(&root, kind, &mut |m| println!("[{kind}] {m}"))?;
            }
        }
        DataCommand::Verify { dataset } => {
            for kind in datasets(&dataset)? {
                let dir = fetch::full_dir(&root, kind);
                fetch::verify(&dir, kind)?;
                println!(
                    "[{kind}] all four files match their SHA-256 ({})",
                    dir.display()
                );
            }
        }
        DataCommand::MakeEmbedded => {
            for kind in DatasetKind::all() {
                let full = fetch::full_dir(&root, kind);
                fetch::verify(&full, kind)?;
                let out = fetch::embedded_dir(&root, kind);
                fetch::make_embedded_subset(&full, &out, EMBEDDED_TRAIN, EMBEDDED_TEST)?;
                println!("[{kind}] wrote {}", out.display());
            }
        }
    }
    Ok(())
}

fn ae_command(command: AeCommand) -> anyhow::Result<()> {
    match command {
        AeCommand::Train {
            profile,
            out,
            config,
            variant,
            epochs,
        } => {
            let profile = profile_or_env(profile)?;
            let mut cfg = match config {
                Some(path) => AutoencoderConfig::from_file(&path)?,
                None => match variant.as_str() {
                    "homework" => AutoencoderConfig::homework(profile),
                    "improved" => AutoencoderConfig::improved(profile),
                    "plane2d" => AutoencoderConfig::plane(profile),
                    v => anyhow::bail!(
                        "unknown variant '{v}': expected homework, improved or plane2d"
                    ),
                },
            };
            if let Some(e) = epochs {
                cfg.epochs = e;
            }
            cfg.validate()?;
            let device = runtime::device();
            println!(
                "{} | profile {} | run folder {}",
                runtime::describe(device),
                cfg.profile,
                out.display()
            );
            let (train, test) = cfg.load_data()?;
            let run = train_autoencoder(&cfg, &train, &test, Some(&out), &mut Progress::auto())?;
            let idx = test.first_of_each_class(1);
            figures::reconstructions(
                &[(cfg.name.as_str(), &run.model)],
                &test,
                &idx,
                "Test images and reconstructions",
            )?
            .save(out.join("reconstructions.png"))
            .context("saving reconstructions.png")?;
            figures::loss_curves(&run.history, "Reconstruction loss", cfg.loss.name())?
                .save(out.join("loss.png"))?;
            println!("wrote {}", out.display());
            Ok(())
        }
        AeCommand::Pca {
            profile,
            components,
            out,
        } => {
            let profile = profile_or_env(profile)?;
            let train = Dataset::load(DatasetKind::FashionMnist, Split::Train, profile)?;
            let test = Dataset::load(DatasetKind::FashionMnist, Split::Test, profile)?;
            let (b, _) =
                latentlab::analysis::pca_reconstruction_baseline(&train, &test, components)?;
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
        AeCommand::Search {
            profile,
            out,
            config,
        } => {
            let profile = profile_or_env(profile)?;
            let cfg = match config {
                Some(p) => latentlab::train::SearchConfig::from_file(&p)?,
                None => latentlab::train::SearchConfig::homework(profile),
            };
            let (train, _) = cfg.base.load_data()?;
            let res = latentlab::train::run_search(&cfg, &train, &out, &mut Progress::auto())?;
            println!("{}", latentlab::figures::search_table(&res, 20));
            latentlab::figures::search_chart(&res, None)?.save(out.join("search.png"))?;
            println!("results: {}", out.join("results.csv").display());
            Ok(())
        }
    }
}
