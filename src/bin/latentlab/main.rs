//! The `latentlab` command line: a thin clap layer over the library calls the notebooks use.
//! Each command lives in its own module and does four things: parse, check (inputs, outputs and
//! configs, before any work), call the library, print.
//!
//! Settings are taken in one order, for every command: a command-line flag, else the config
//! file (`--config`), else the environment (`LATENTLAB_PROFILE`), else the built-in default.

mod ae;
mod checks;
mod data;
mod finetune;
mod gan;
mod latent;
mod misc;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "latentlab",
    version,
    about = "Unsupervised deep learning on MNIST-style data",
    after_help = "Settings: a flag wins over the config file (--config), which wins over LATENTLAB_PROFILE, which wins over the defaults."
)]
struct Cli {
    /// Show every detail of an error (libtorch's C++ stack traces included).
    #[arg(long, short, global = true)]
    verbose: bool,
    /// auto (the first CUDA device when usable, else the CPU), cpu, cuda or cuda:N. Default:
    /// LATENTLAB_DEVICE, else auto. Asking for CUDA where there is none is an error that says why.
    #[arg(long, global = true)]
    device: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fetch, verify or subset the datasets.
    Data {
        #[command(subcommand)]
        command: data::DataCommand,
    },
    /// Train the convolutional autoencoder, its PCA baseline, or a hyper-parameter search.
    Ae {
        #[command(subcommand)]
        command: ae::AeCommand,
    },
    /// Supervised fine-tuning of a trained autoencoder with a linear matcher.
    Finetune(finetune::FinetuneArgs),
    /// Latent space of a fine-tuned model: PCA and t-SNE plots, prototypes, generated samples.
    Latent(latent::LatentArgs),
    /// Generate images of one class from a fine-tuned autoencoder's class prototype.
    Sample(latent::SampleArgs),
    /// Train a GAN, or sample from one.
    Gan {
        #[command(subcommand)]
        command: gan::GanCommand,
    },
    /// Train the MNIST classifier used to score generated digits.
    Classifier(misc::ClassifierArgs),
    /// Run every section of the homework (or reuse finished run folders and, in the full
    /// profile, the shipped checkpoints), then write one HTML report.
    Report(misc::ReportArgs),
    /// Print the device, threads and where data and libtorch are.
    Info,
}

fn main() {
    let cli = Cli::parse();
    let verbose = cli.verbose || std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0");
    if let Err(e) =
        choose_device(cli.device.as_deref(), &cli.command).and_then(|()| run(cli.command))
    {
        let text = format!("{e:#}");
        eprintln!(
            "error: {}",
            if verbose {
                text
            } else {
                checks::without_cpp_trace(&text)
            }
        );
        std::process::exit(1);
    }
}

/// Checks the device (`--device`, else `LATENTLAB_DEVICE`) before any work, and passes the
/// choice to the library through `LATENTLAB_DEVICE`.
fn choose_device(flag: Option<&str>, command: &Command) -> anyhow::Result<()> {
    use latentlab::runtime::{select_device, DeviceChoice};
    let choice = match flag {
        Some(f) => f
            .parse::<DeviceChoice>()
            .map_err(|e| anyhow::anyhow!("--device: {e}"))?,
        None => DeviceChoice::from_env()?,
    };
    if let Some(f) = flag {
        std::env::set_var("LATENTLAB_DEVICE", f.trim());
    }
    if !matches!(command, Command::Info | Command::Data { .. }) {
        select_device(choice)?;
    }
    Ok(())
}

fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Data { command } => data::run(command),
        Command::Ae { command } => ae::run(command),
        Command::Finetune(args) => finetune::run(args),
        Command::Latent(args) => latent::run_latent(args),
        Command::Sample(args) => latent::run_sample(args),
        Command::Gan { command } => gan::run(command),
        Command::Classifier(args) => misc::run_classifier(args),
        Command::Report(args) => misc::run_report(args),
        Command::Info => misc::run_info(),
    }
}
