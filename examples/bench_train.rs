//! Training throughput of the homework's autoencoder and the fully-connected GAN, through the
//! library's own training code, for comparison with `bench/pytorch_reference.py` (same models,
//! optimizers, batch sizes and thread settings, same libtorch). See `BENCHMARKS.md`.
//!
//! ```text
//! cargo run --release --example bench_train -- ae|gan [--steps N] [--batch B] [--warmup W]
//!                               [--threads T] [--data full|embedded]
//!                               [--breakdown] [--torch-adam]
//! cargo run --release --example bench_train -- ae --measure-rss [--threads T] [--data full]
//! ```
//!
//! - `ae`: `AutoencoderConfig::homework(Profile::Full)` (batch 256, Adam 1e-3, MSE) on the
//!   Fashion-MNIST training images, trained by `fit_epochs` (the loop `train_autoencoder` runs)
//!   for one epoch of exactly `N` batches (default 200), after a `W`-batch warm-up epoch.
//! - `gan`: `GanConfig::new(GanKind::Gan, Profile::Full)` (batch 128, Adam 2e-4 β1 0.5) on MNIST,
//!   `N` steps (default 200) of `discriminator_step` + `generator_step` with the bookkeeping of
//!   `train_gan` (k = 1), after `W` warm-up steps.
//! - `--batch B` overrides the config's batch size (default: the full profile's).
//! - `--breakdown`: instead of the timed library run, the same step taken apart (batching,
//!   forward + loss, zero-grad + backward, optimizer step, loss read-back), in ms per step.
//! - `--torch-adam`: libtorch's C++ Adam (what `tch::nn::adam` wraps) instead of the library's
//!   one-pass `FusedAdam`, to measure what the fused update saves.
//! - `--measure-rss`: one full-profile epoch of the autoencoder through `train_autoencoder`
//!   (all 60,000 images, then evaluation of the training and test sets) and the process's peak
//!   resident memory (`VmHWM` from `/proc/self/status`), after loading and at the end.
//!
//! Prints one machine-readable line, e.g.
//! `latentlab ae steps=200 batch=256 threads=1 data=full seconds=9.529 samples_per_s=5373.2
//! peak_rss_mb=211 minflt_per_step=0` (one line; minor page faults per timed step at the end).
//! Always runs on the CPU; `--threads` sets `LATENTLAB_THREADS` (intra-op threads; inter-op 1).

use latentlab::data::{dataset::data_root, BatchOrder, Batches, DataSource, Dataset, Split};
use latentlab::data::{DatasetKind, EMBEDDED_TRAIN};
use latentlab::models::GanKind;
use latentlab::runtime::{self, Profile};
use latentlab::train::autoencoder::fit_epochs;
use latentlab::train::gan::{discriminator_step, generator_step};
use latentlab::train::{
    check_finite, train_autoencoder, AutoencoderConfig, AutoencoderRun, GanConfig, GanRun,
    Optimizer, Progress,
};
use std::time::Instant;
use tch::{nn::ModuleT, Device, Kind, Tensor};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Model {
    Ae,
    Gan,
}

#[derive(Debug)]
struct Args {
    model: Model,
    steps: usize,
    batch: Option<usize>,
    warmup: usize,
    threads: usize,
    source: DataSource,
    breakdown: bool,
    torch_adam: bool,
    measure_rss: bool,
}

const USAGE: &str = "usage: bench_train ae|gan [--steps N] [--batch B] [--warmup W] [--threads T] \
                     [--data full|embedded] [--breakdown] [--torch-adam] \
                     [--measure-rss]";

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        model: Model::Ae,
        steps: 200,
        batch: None,
        warmup: 10,
        threads: 1,
        source: DataSource::Full,
        breakdown: false,
        torch_adam: false,
        measure_rss: false,
    };
    let mut model = None;
    let mut it = std::env::args().skip(1);
    let value = |it: &mut dyn Iterator<Item = String>, flag: &str| {
        it.next()
            .ok_or_else(|| anyhow::anyhow!("{flag} needs a value\n{USAGE}"))
    };
    while let Some(a) = it.next() {
        match a.as_str() {
            "ae" => model = Some(Model::Ae),
            "gan" => model = Some(Model::Gan),
            "--steps" => args.steps = value(&mut it, "--steps")?.parse()?,
            "--batch" => args.batch = Some(value(&mut it, "--batch")?.parse()?),
            "--warmup" => args.warmup = value(&mut it, "--warmup")?.parse()?,
            "--threads" => args.threads = value(&mut it, "--threads")?.parse()?,
            "--data" => {
                args.source = match value(&mut it, "--data")?.as_str() {
                    "full" => DataSource::Full,
                    "embedded" => DataSource::Embedded,
                    o => anyhow::bail!("unknown --data '{o}': expected full or embedded"),
                }
            }
            "--breakdown" => args.breakdown = true,
            "--torch-adam" => args.torch_adam = true,
            "--measure-rss" => args.measure_rss = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            o => anyhow::bail!("unknown argument '{o}'\n{USAGE}"),
        }
    }
    args.model = model.ok_or_else(|| anyhow::anyhow!("say which model: ae or gan\n{USAGE}"))?;
    anyhow::ensure!(
        args.steps >= 1 && args.threads >= 1,
        "--steps and --threads must be at least 1"
    );
    anyhow::ensure!(
        !args.torch_adam || args.model == Model::Gan || args.breakdown,
        "--torch-adam applies to `gan` and to `--breakdown` runs (the timed `ae` run goes through fit_epochs, which always builds the library's optimizer)"
    );
    anyhow::ensure!(
        !args.measure_rss || args.model == Model::Ae,
        "--measure-rss is for the autoencoder (ae)"
    );
    Ok(args)
}

/// A `VmHWM`/`VmRSS`-style line of `/proc/self/status`, in MB.
fn proc_status_mb(key: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Minor page faults of this process so far (`/proc/self/stat`, field 10).
fn minor_faults() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the command name, which is in parentheses and may hold spaces.
            let rest = &s[s.rfind(')')? + 2..];
            rest.split_whitespace().nth(7)?.parse::<f64>().ok()
        })
        .unwrap_or(f64::NAN)
}

fn source_name(source: DataSource) -> &'static str {
    match source {
        DataSource::Full => "full",
        DataSource::Embedded => "embedded",
    }
}

/// Exactly `count` images: the first ones, repeated when the dataset is smaller (embedded data).
fn exactly(data: &Dataset, count: usize) -> Dataset {
    let n = data.len();
    if count <= n {
        data.take(count)
    } else {
        let idx: Vec<i64> = (0..count).map(|i| (i % n) as i64).collect();
        data.subset(&idx)
    }
}

fn load(kind: DatasetKind, source: DataSource) -> anyhow::Result<Dataset> {
    match Dataset::load_from(&data_root(), kind, Split::Train, source) {
        Ok(d) => Ok(d),
        Err(e) if source == DataSource::Full => {
            eprintln!(
                "note: {e}\nnote: falling back to the embedded subset ({EMBEDDED_TRAIN} images)"
            );
            Ok(Dataset::load_from(
                &data_root(),
                kind,
                Split::Train,
                DataSource::Embedded,
            )?)
        }
        Err(e) => Err(e.into()),
    }
}

/// The result line; `faults`: minor page faults during the timed steps.
fn report(what: &str, args: &Args, batch: usize, data: &Dataset, seconds: f64, faults: f64) {
    println!(
        "latentlab {what} steps={} batch={batch} threads={} data={} adam={} seconds={seconds:.3} samples_per_s={:.1} peak_rss_mb={:.0} minflt_per_step={:.0}",
        args.steps,
        tch::get_num_threads(),
        source_name(data.source),
        if args.torch_adam { "torch" } else { "fused" },
        (args.steps * batch) as f64 / seconds,
        proc_status_mb("VmHWM:"),
        faults / args.steps as f64
    );
}

// ----------------------------------------------------------------------------- autoencoder

fn bench_ae(args: &Args) -> anyhow::Result<()> {
    let train = load(DatasetKind::FashionMnist, args.source)?;
    let mut config = AutoencoderConfig::homework(Profile::Full);
    config.epochs = 1;
    config.batch_size = args.batch.unwrap_or(config.batch_size);
    let b = config.batch_size;
    let mut run = AutoencoderRun::new(&config, Device::Cpu)?;
    let none = train.take(0);
    let mut progress = Progress::Silent;
    if args.breakdown {
        return ae_breakdown(args, &run, &train);
    }
    let mut opt = config.optimizer.build(&run.vs)?;
    if args.warmup > 0 {
        fit_epochs(
            &mut run,
            &mut opt,
            (&exactly(&train, args.warmup * b), &none),
            &mut progress,
            |_, _, _| Ok(()),
        )?;
    }
    // One more epoch of exactly `steps` full batches, through the library's training loop.
    run.config.epochs = run.history.epochs.len() + 1;
    let data = exactly(&train, args.steps * b);
    let (f0, t0) = (minor_faults(), Instant::now());
    fit_epochs(
        &mut run,
        &mut opt,
        (&data, &none),
        &mut progress,
        |_, _, _| Ok(()),
    )?;
    let seconds = t0.elapsed().as_secs_f64();
    report("ae", args, b, &train, seconds, minor_faults() - f0);
    Ok(())
}

/// Phase timer: milliseconds per phase, summed over the timed steps.
struct Phases {
    names: &'static [&'static str],
    ms: Vec<f64>,
    t: Instant,
}

impl Phases {
    fn new(names: &'static [&'static str]) -> Phases {
        Phases {
            names,
            ms: vec![0.0; names.len()],
            t: Instant::now(),
        }
    }
    fn start(&mut self) {
        self.t = Instant::now();
    }
    fn lap(&mut self, i: usize, on: bool) {
        let now = Instant::now();
        if on {
            self.ms[i] += (now - self.t).as_secs_f64() * 1e3;
        }
        self.t = now;
    }
    fn print(&self, what: &str, steps: usize) {
        let total: f64 = self.ms.iter().sum();
        let parts: Vec<String> = self
            .names
            .iter()
            .zip(&self.ms)
            .map(|(n, ms)| format!("{n}={:.3}", ms / steps as f64))
            .collect();
        println!(
            "latentlab-breakdown {what} steps={steps} threads={} ms_per_step: {} total={:.3}",
            tch::get_num_threads(),
            parts.join(" "),
            total / steps as f64
        );
    }
}

/// `fit_epochs`'s step taken apart: `Dataset::batch`, forward + `LossKind::compute`,
/// `zero_grad` + `backward`, Adam `step`, and the on-device loss accumulation.
fn ae_breakdown(args: &Args, run: &AutoencoderRun, train: &Dataset) -> anyhow::Result<()> {
    let config = &run.config;
    let b = config.batch_size;
    let mut opt = config.optimizer.build_with(&run.vs, !args.torch_adam)?;
    let data = exactly(train, (args.warmup + args.steps) * b);
    let batches = Batches::new(
        data.len(),
        b,
        BatchOrder::Shuffled {
            seed: config.seed,
            epoch: 0,
        },
    );
    let mut ph = Phases::new(&[
        "batch",
        "forward_loss",
        "backward",
        "optimizer",
        "bookkeeping",
    ]);
    let mut sum = Tensor::zeros([], (Kind::Float, Device::Cpu));
    for (step, idx) in batches.enumerate() {
        let on = step >= args.warmup;
        ph.start();
        let (x, _) = data.batch(&idx);
        ph.lap(0, on);
        let y = run.model.forward_t(&x, true);
        let loss = config.loss.compute(&y, &x);
        ph.lap(1, on);
        opt.zero_grad();
        loss.backward();
        ph.lap(2, on);
        opt.step();
        ph.lap(3, on);
        sum += loss.detach() * b as f64;
        if step % 50 == 0 {
            check_finite("training loss", loss.double_value(&[]), 1, step + 1)?;
        }
        ph.lap(4, on);
    }
    ph.print("ae", args.steps);
    Ok(())
}

/// One full-profile epoch of `train_autoencoder` (with its evaluation of both sets) and the
/// peak RSS.
fn measure_rss(args: &Args) -> anyhow::Result<()> {
    std::env::set_var("LATENTLAB_DEVICE", "cpu");
    let rss_start = proc_status_mb("VmHWM:");
    let kind = DatasetKind::FashionMnist;
    let train = load(kind, args.source)?;
    let test = Dataset::load_from(&data_root(), kind, Split::Test, train.source)?;
    let rss_loaded = proc_status_mb("VmHWM:");
    let mut config = AutoencoderConfig::homework(Profile::Full);
    config.epochs = 1;
    let t0 = Instant::now();
    let run = train_autoencoder(&config, &train, &test, None, &mut Progress::Silent)?;
    let seconds = t0.elapsed().as_secs_f64();
    let test_mse = run.metrics.as_ref().map_or(f64::NAN, |m| m.test_mse);
    println!(
        "latentlab ae-rss epochs=1 images={} batch={} threads={} data={} seconds={seconds:.1} test_mse={test_mse:.5} vmhwm_start_mb={rss_start:.0} vmhwm_loaded_mb={rss_loaded:.0} vmhwm_mb={:.0} vmrss_end_mb={:.0}",
        train.len(),
        config.batch_size,
        tch::get_num_threads(),
        source_name(train.source),
        proc_status_mb("VmHWM:"),
        proc_status_mb("VmRSS:")
    );
    Ok(())
}

// ----------------------------------------------------------------------------- GAN

/// `steps` steps of `train_gan`'s inner loop (k = 1): batch, rescale to `[-1, 1]`,
/// `discriminator_step`, loss read-back and NaN guard, `generator_step`, read-back; new epochs
/// (reshuffled) as needed.
fn gan_steps(
    run: &mut GanRun,
    opts: (&mut Optimizer, &mut Optimizer),
    data: &Dataset,
    steps: usize,
    epoch: &mut u64,
) -> anyhow::Result<()> {
    let (d_opt, g_opt) = opts;
    let config = run.config.clone();
    let mut done = 0;
    while done < steps {
        let batches = Batches::new(
            data.len(),
            config.batch_size,
            BatchOrder::Shuffled {
                seed: config.seed,
                epoch: *epoch,
            },
        );
        *epoch += 1;
        for (step, idx) in batches.enumerate() {
            if done == steps {
                break;
            }
            if idx.size()[0] < 2 {
                continue;
            }
            let (x, y) = data.batch(&idx);
            let real = x * 2.0 - 1.0;
            let (d_loss, _pr, _pf) = discriminator_step(run, d_opt, &real, &y);
            let d = d_loss.double_value(&[]);
            check_finite("discriminator loss", d, 1, step + 1)?;
            let g = generator_step(run, g_opt, idx.size()[0] as usize, Device::Cpu);
            let g = g.double_value(&[]);
            check_finite("generator loss", g, 1, step + 1)?;
            if step % config.log_every == 0 {
                run.history
                    .steps
                    .entry("d_loss".into())
                    .or_default()
                    .push(d);
                run.history
                    .steps
                    .entry("g_loss".into())
                    .or_default()
                    .push(g);
            }
            done += 1;
        }
    }
    Ok(())
}

fn bench_gan(args: &Args) -> anyhow::Result<()> {
    let train = load(DatasetKind::Mnist, args.source)?;
    let mut config = GanConfig::new(GanKind::Gan, Profile::Full);
    config.batch_size = args.batch.unwrap_or(config.batch_size);
    let mut run = GanRun::new(&config, Device::Cpu)?;
    let mut g_opt = config.g_optimizer.build_with(&run.g_vs, !args.torch_adam)?;
    let mut d_opt = config.d_optimizer.build_with(&run.d_vs, !args.torch_adam)?;
    if args.breakdown {
        return gan_breakdown(args, &run, (&mut d_opt, &mut g_opt), &train);
    }
    let mut epoch = 0;
    tch::manual_seed((config.seed + 7919) as i64);
    if args.warmup > 0 {
        gan_steps(
            &mut run,
            (&mut d_opt, &mut g_opt),
            &train,
            args.warmup,
            &mut epoch,
        )?;
    }
    let (f0, t0) = (minor_faults(), Instant::now());
    gan_steps(
        &mut run,
        (&mut d_opt, &mut g_opt),
        &train,
        args.steps,
        &mut epoch,
    )?;
    let seconds = t0.elapsed().as_secs_f64();
    let faults = minor_faults() - f0;
    report("gan", args, config.batch_size, &train, seconds, faults);
    Ok(())
}

fn bce(logits: &Tensor, target: f64) -> Tensor {
    let t = logits.full_like(target);
    logits.binary_cross_entropy_with_logits::<Tensor>(&t, None, None, tch::Reduction::Mean)
}

/// `discriminator_step` and `generator_step` taken apart (same operations, with the library's
/// networks): batch, D forward (incl. the no-grad fake), D backward, D Adam step, read-backs,
/// G forward (through D), G backward, G Adam step.
fn gan_breakdown(
    args: &Args,
    run: &GanRun,
    opts: (&mut Optimizer, &mut Optimizer),
    train: &Dataset,
) -> anyhow::Result<()> {
    let (d_opt, g_opt) = opts;
    let config = &run.config;
    let b = config.batch_size;
    let noise = config.arch.noise_dim;
    let d_vars = run.d_vs.trainable_variables();
    // As `generator_step` does: no gradients for D's weights during the generator step.
    let set_d_grad = |on: bool| {
        for v in &d_vars {
            let _ = v.set_requires_grad(on);
        }
    };
    let data = exactly(train, (args.warmup + args.steps) * b);
    let batches = Batches::new(
        data.len(),
        b,
        BatchOrder::Shuffled {
            seed: config.seed,
            epoch: 0,
        },
    );
    let mut ph = Phases::new(&[
        "batch",
        "d_forward",
        "d_backward",
        "d_optimizer",
        "readback",
        "g_forward",
        "g_backward",
        "g_optimizer",
    ]);
    for (step, idx) in batches.enumerate() {
        let on = step >= args.warmup;
        ph.start();
        let (x, y) = data.batch(&idx);
        let real = x * 2.0 - 1.0;
        ph.lap(0, on);
        let z = Tensor::randn([b as i64, noise], (Kind::Float, Device::Cpu));
        let fake = tch::no_grad(|| run.generator.forward_t(&z, &y, true));
        let adv_r = run.discriminator.forward_t(&real, true).0;
        let adv_f = run.discriminator.forward_t(&fake, true).0;
        let loss = bce(&adv_r, config.real_label) + bce(&adv_f, 0.0);
        ph.lap(1, on);
        d_opt.zero_grad();
        loss.backward();
        ph.lap(2, on);
        d_opt.step();
        ph.lap(3, on);
        let _pr = adv_r.sigmoid().mean(Kind::Float).double_value(&[]);
        let _pf = adv_f.sigmoid().mean(Kind::Float).double_value(&[]);
        check_finite("discriminator loss", loss.double_value(&[]), 1, step + 1)?;
        ph.lap(4, on);
        set_d_grad(false);
        let z = Tensor::randn([b as i64, noise], (Kind::Float, Device::Cpu));
        let labels = Tensor::randint(10, [b as i64], (Kind::Int64, Device::Cpu));
        let fake = run.generator.forward_t(&z, &labels, true);
        let adv = run.discriminator.forward_t(&fake, true).0;
        let g_loss = bce(&adv, 1.0);
        ph.lap(5, on);
        g_opt.zero_grad();
        g_loss.backward();
        ph.lap(6, on);
        g_opt.step();
        set_d_grad(true);
        ph.lap(7, on);
        check_finite("generator loss", g_loss.double_value(&[]), 1, step + 1)?;
        ph.lap(4, on);
    }
    let name = if args.torch_adam {
        "gan-torch-adam"
    } else {
        "gan"
    };
    ph.print(name, args.steps);
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    // The library's own thread setup, driven by the variable a user would set.
    std::env::set_var("LATENTLAB_THREADS", args.threads.to_string());
    runtime::init_threads();
    if args.measure_rss {
        return measure_rss(&args);
    }
    match args.model {
        Model::Ae => bench_ae(&args),
        Model::Gan => bench_gan(&args),
    }
}
