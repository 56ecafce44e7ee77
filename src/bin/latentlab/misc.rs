//! `latentlab classifier`, `report` and `info`.

use crate::checks;
use latentlab::data::dataset::data_root;
use latentlab::prelude::*;
use latentlab::train::guard::RunKind;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct ClassifierArgs {
    /// quick or full (default: LATENTLAB_PROFILE, else quick).
    #[arg(long)]
    profile: Option<Profile>,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
    /// Replace a classifier with another config in --out.
    #[arg(long)]
    force: bool,
    /// Train the held-out scorer (a wider batch-norm CNN, another seed) instead of the first one.
    #[arg(long)]
    heldout: bool,
}

#[derive(clap::Args)]
pub struct ReportArgs {
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
    /// pca10, ae-loss-mse, ae-loss-l1, ae-loss-huber, search, finetuned-homework,
    /// finetuned-improved, softmax-latent, finetuned-plane2d, latent, mnist-classifier,
    /// mnist-classifier-heldout, gan-gan, gan-acgan, gan-conv-acgan, gan-quality.
    #[arg(long)]
    sections: Option<String>,
}

pub fn run_classifier(args: ClassifierArgs) -> anyhow::Result<()> {
    let profile = checks::profile(args.profile, None)?;
    let scorer = if args.heldout {
        latentlab::train::Scorer::Heldout
    } else {
        latentlab::train::Scorer::Main
    };
    let cfg = scorer.config(profile);
    checks::output_dir(&args.out, &[], RunKind::Classifier, args.force)?;
    if checks::already_finished(&args.out, RunKind::Classifier, "config.json", &cfg)? {
        return Ok(());
    }
    let train = Dataset::load(DatasetKind::Mnist, Split::Train, profile)?;
    let test = Dataset::load(DatasetKind::Mnist, Split::Test, profile)?;
    let run = latentlab::train::train_classifier(
        &cfg,
        &train,
        &test,
        Some(&args.out),
        &mut Progress::auto(),
    )?;
    println!(
        "test accuracy {:.2}% -> {}",
        100.0 * run.test_accuracy,
        args.out.display()
    );
    Ok(())
}

pub fn run_report(args: ReportArgs) -> anyhow::Result<()> {
    use latentlab::pipeline;
    let profile = checks::profile(args.profile, None)?;
    let runs = args
        .runs
        .unwrap_or_else(|| runtime::runs_dir().join(profile.name()));
    let names = match &args.sections {
        Some(list) => pipeline::parse_sections(list)?,
        None => pipeline::SECTIONS
            .iter()
            .map(|s| s.to_string())
            .chain([pipeline::GAN_QUALITY.to_string()])
            .collect(),
    };
    checks::output_file(&args.out.join("report.html"), &[], false)?;
    if args.reuse_only {
        anyhow::ensure!(
            !runs.is_file(),
            "--runs {} is a file; --runs takes the folder holding the run folders",
            runs.display()
        );
    } else {
        latentlab::train::guard::check_writable_dir(&runs, "--runs")?;
    }
    let folders = if args.reuse_only {
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
        &args.out,
        &format!("latentlab results ({profile} profile)"),
    )?;
    println!(
        "wrote {} with {} run(s); missing: {}",
        args.out.join("report.html").display(),
        s.included.len(),
        if s.missing.is_empty() {
            "none".into()
        } else {
            s.missing.join(", ")
        }
    );
    Ok(())
}

pub fn run_info() -> anyhow::Result<()> {
    match runtime::DeviceChoice::from_env().and_then(runtime::select_device) {
        Ok(d) => println!("{}", runtime::describe(d)),
        Err(e) => println!("device: {e:#}"),
    }
    for line in runtime::cuda_report() {
        println!("{line}");
    }
    println!("data folder: {}", data_root().display());
    println!(
        "libtorch: {}",
        runtime::libtorch_lib().unwrap_or("(unknown)")
    );
    Ok(())
}
