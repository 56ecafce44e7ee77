//! Prints, for each GAN run folder given, the share of each digit among 10,000 of its samples as
//! both shipped scorers read them: one JSON object per line (`run`, `epochs`, `main`, `heldout`,
//! shares in %). Much cheaper than `latentlab gan score` (no Fréchet distance, no precision and
//! recall), so it can follow a run's digit mix over snapshots taken while it trained.
//!
//! ```text
//! cargo run --example gan_shares -- runs/variants/fc-ema-snaps/e*
//! ```

use latentlab::prelude::*;
use latentlab::train::Scorer;

fn main() -> anyhow::Result<()> {
    let runs: Vec<String> = std::env::args().skip(1).collect();
    anyhow::ensure!(!runs.is_empty(), "usage: gan_shares GAN_RUN...");
    let profile = Profile::Full;
    let train = Dataset::load(DatasetKind::Mnist, Split::Train, profile)?;
    let test = Dataset::load(DatasetKind::Mnist, Split::Test, profile)?;
    let runs_dir = latentlab::runtime::runs_dir().join(profile.name());
    let mut scorers = Vec::new();
    for s in Scorer::ALL {
        let clf = train::train_or_load_scorer(
            s,
            profile,
            &train,
            &test,
            &runs_dir,
            &mut Progress::Lines,
        )?;
        scorers.push(clf);
    }
    for run in &runs {
        let gan = latentlab::train::load_gan(std::path::Path::new(run), Device::Cpu)?;
        let (images, _) = analysis::draw_samples(&gan, 10_000, 1)?;
        let shares: Vec<Vec<f64>> = scorers
            .iter()
            .map(|clf| {
                let shares = analysis::class_shares(&clf.predict(&images));
                // In %, to two decimals (10,000 samples: each is 0.01 %).
                shares.iter().map(|v| (1e4 * v).round() / 100.0).collect()
            })
            .collect();
        let line = serde_json::json!({
            "run": run,
            "epochs": gan.history.epochs.len(),
            "main": shares[0],
            "heldout": shares[1],
        });
        println!("{line}");
    }
    Ok(())
}
