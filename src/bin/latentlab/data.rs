//! `latentlab data`: fetch, verify or subset the datasets.

use clap::Subcommand;
use latentlab::data::{dataset::data_root, fetch, DatasetKind, EMBEDDED_TEST, EMBEDDED_TRAIN};

#[derive(Subcommand)]
pub enum DataCommand {
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

fn datasets(arg: &str) -> anyhow::Result<Vec<DatasetKind>> {
    if arg == "all" {
        Ok(DatasetKind::all().to_vec())
    } else {
        Ok(vec![arg
            .parse()
            .map_err(|e: String| anyhow::anyhow!("--dataset: {e}"))?])
    }
}

pub fn run(command: DataCommand) -> anyhow::Result<()> {
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
