//! Sampling-time levers of a conditional conv GAN, scored on both shipped scorers without
//! retraining: the generator's batch norm with the statistics it was saved with, with standing
//! statistics (`GanRun::set_standing_stats`), and in train mode (each batch of 125 mixed digits
//! normalised by its own statistics); then the noise scaled by 0.8, 1.1 and 1.2 (the
//! "truncation" trade: a narrower noise gives cleaner, less varied digits).
//!
//! ```text
//! cargo run --example sampling_probe -- data/checkpoints/gan-conv-acgan
//! ```
//!
//! The same 10,000 noise vectors (1,000 per digit) are used for every row, against the first
//! 10,000 test digits, so the rows differ only by the lever. `latentlab gan score` draws its
//! samples differently (per digit, from other seeds), so its numbers differ by the sampling noise.

use latentlab::prelude::*;
use latentlab::train::Scorer;

fn main() -> anyhow::Result<()> {
    let run = std::env::args()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("usage: sampling_probe CONV_GAN_RUN"))?;
    let profile = Profile::Full;
    let train = Dataset::load(DatasetKind::Mnist, Split::Train, profile)?;
    let test = Dataset::load(DatasetKind::Mnist, Split::Test, profile)?;
    let runs_dir = latentlab::runtime::runs_dir().join(profile.name());
    let gan = latentlab::train::load_gan(std::path::Path::new(&run), Device::Cpu)?;
    anyhow::ensure!(
        gan.config.arch.kind.conditional(),
        "{run} is an unconditional GAN: this probe draws 1,000 samples per digit"
    );
    let n = 10_000i64;
    let dim = gan.config.arch.noise_dim;
    let (z, _) = latentlab::train::gan::seeded_noise(n as usize, dim, Some(0), 1, Device::Cpu);
    let y = Tensor::arange(n, (tch::Kind::Int64, Device::Cpu)).remainder(10);
    let classes: Vec<i64> = (0..n).map(|i| i % 10).collect();
    let g = gan.sampling_generator();
    let sample = |scale: f64, train: bool| {
        tch::no_grad(|| {
            let parts: Vec<Tensor> = (0..n / 125)
                .map(|i| {
                    let z = z.narrow(0, i * 125, 125) * scale;
                    g.forward_t(&z, &y.narrow(0, i * 125, 125), train)
                })
                .collect();
            (Tensor::cat(&parts, 0) + 1.0) / 2.0
        })
    };
    let mut sets = vec![
        ("as saved".to_string(), sample(1.0, false)),
        ("train-mode batch norm".to_string(), sample(1.0, true)),
    ];
    gan.set_standing_stats(200, 77);
    for scale in [1.0, 0.8, 1.1, 1.2] {
        sets.push((
            format!("standing stats, noise x{scale}"),
            sample(scale, false),
        ));
    }
    println!("| sampling | scorer | FD | precision | recall | consistency |");
    println!("|---|---|---|---|---|---|");
    for s in Scorer::ALL {
        let clf = train::train_or_load_scorer(
            s,
            profile,
            &train,
            &test,
            &runs_dir,
            &mut Progress::Lines,
        )?;
        let reference = analysis::Reference::new(&clf, &test, n as usize)?;
        for (name, images) in &sets {
            let q = reference.score(images, Some(&classes))?;
            println!(
                "| {name} | {s:?} | {:.2} | {:.3} | {:.3} | {:.1} % |",
                q.frechet_to_test,
                q.precision,
                q.recall,
                100.0 * q.class_consistency.unwrap_or(f64::NAN)
            );
        }
    }
    Ok(())
}
