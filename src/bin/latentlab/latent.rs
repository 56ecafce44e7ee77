//! `latentlab latent` and `latentlab sample`: a fine-tuned model's latent space, and new images
//! from its class prototypes.

use crate::checks;
use latentlab::prelude::*;
use latentlab::train::guard::{expect_run, RunKind};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct LatentArgs {
    /// quick or full (which test images are plotted).
    #[arg(long)]
    profile: Option<Profile>,
    /// Output folder (figures and metrics.json).
    #[arg(long)]
    out: PathBuf,
    /// A fine-tuned run folder written by `latentlab finetune`.
    #[arg(long)]
    from: PathBuf,
    /// Codes per class used for each prototype (1-10000).
    #[arg(long, default_value_t = 50, value_parser = checks::count, allow_negative_numbers = true)]
    top_k: usize,
}

#[derive(clap::Args)]
pub struct SampleArgs {
    /// A fine-tuned run folder written by `latentlab finetune`.
    #[arg(long)]
    from: PathBuf,
    /// Class index 0-9.
    #[arg(long, value_parser = checks::digit, allow_negative_numbers = true)]
    class: i64,
    /// Number of images.
    #[arg(long, default_value_t = 16, value_parser = checks::count, allow_negative_numbers = true)]
    count: usize,
    /// Noise scale in multiples of the prototype's standard deviation.
    #[arg(long, default_value_t = 1.0, value_parser = checks::non_negative, allow_negative_numbers = true)]
    scale: f64,
    /// Noise seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// quick or full (which test images define the prototypes).
    #[arg(long)]
    profile: Option<Profile>,
    /// Output IDX file (`.gz` to compress); a PNG grid of the first 100 is written beside it.
    #[arg(long)]
    out: PathBuf,
    /// Write no PNG grid.
    #[arg(long)]
    no_png: bool,
}

pub fn run_latent(args: LatentArgs) -> anyhow::Result<()> {
    latentlab::limits::check_range("--top-k", args.top_k, 1, 10_000)?;
    expect_run(&args.from, "--from", &[RunKind::Finetuned], false)?;
    checks::output_file(
        &args.out.join("metrics.json"),
        &[("--from", &args.from)],
        false,
    )?;
    let profile = checks::profile(args.profile, None)?;
    let (ae, ft) = latentlab::train::load_finetuned(&args.from, runtime::device())?;
    let test = Dataset::load(ae.config.dataset, Split::Test, profile)?;
    let m = latentlab::pipeline::latent_section(&ae, &ft, &test, &args.out, args.top_k)?;
    println!(
        "t-SNE of {} codes in {:.1}s; generated samples in the intended class at scale 1: {:.1}%; wrote {}",
        test.len(),
        m.tsne_seconds,
        100.0
            * m.generation
                .iter()
                .find(|g| g.scale == 1.0)
                .map_or(f64::NAN, |g| g.intended_class_rate),
        args.out.display()
    );
    Ok(())
}

/// Refuses a sample count whose images (and the network's activations) would not fit.
pub fn check_sample_count(count: usize, per_image_floats: f64) -> anyhow::Result<()> {
    anyhow::ensure!(
        count <= u32::MAX as usize,
        "--count {count} is more than an IDX file can hold (4294967295)"
    );
    latentlab::limits::check_memory(
        &format!("--count {count}"),
        count as f64 * per_image_floats * 4.0,
    )
}

pub fn run_sample(args: SampleArgs) -> anyhow::Result<()> {
    expect_run(&args.from, "--from", &[RunKind::Finetuned], false)?;
    checks::output_file(&args.out, &[("--from", &args.from)], !args.no_png)?;
    check_sample_count(args.count, 3.0 * 784.0 + 1024.0)?;
    let profile = checks::profile(args.profile, None)?;
    let (ae, ft) = latentlab::train::load_finetuned(&args.from, runtime::device())?;
    let test = Dataset::load(ae.config.dataset, Split::Test, profile)?;
    let codes = latentlab::analysis::encode_dataset(&ae.model, &test);
    let probs = ft
        .predict_proba(&ae, &test.images_f32())
        .to_device(Device::Cpu);
    let protos = latentlab::analysis::class_prototypes(&codes, &probs, test.labels(), 50)?;
    let z = latentlab::analysis::sample_codes(
        &protos[args.class as usize],
        args.count,
        args.scale,
        args.seed,
    );
    let images = tch::no_grad(|| ae.model.decode(&z.to_device(ae.vs.device()), false));
    figures::write_images_idx(&images, &args.out)?;
    let mut wrote = args.out.display().to_string();
    if !args.no_png {
        let png = args.out.with_extension("png");
        figures::digit_grid(
            &checks::first(&images, 100),
            10,
            &format!("Generated: {}", test.class_names()[args.class as usize]),
        )?
        .save(&png)?;
        wrote = format!("{wrote} and {} (the first 100)", png.display());
    }
    println!("wrote {} images to {wrote}", args.count);
    Ok(())
}
