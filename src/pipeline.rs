//! Every section of the homework, run or reused, each in its own folder: what `latentlab report`
//! does before it writes the page. The sections call the same `*_or_load` functions as the
//! notebooks, so a notebook run, a CLI run and a report share their run folders, and the full
//! profile uses the shipped checkpoints unless `LATENTLAB_RETRAIN=1`.

use crate::analysis;
use crate::data::{Dataset, DatasetKind, Split};
use crate::display::scatter_plot;
use crate::fsutil;
use crate::models::GanKind;
use crate::runtime::{self, Profile};
use crate::train::{
    self, AutoencoderConfig, FinetuneConfig, GanConfig, LossKind, Progress, Scorer,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Every section, in the order they run (later ones use earlier ones).
pub const SECTIONS: [&str; 17] = [
    "ae-homework",
    "ae-improved",
    "pca10",
    "ae-loss-mse",
    "ae-loss-l1",
    "ae-loss-huber",
    "search",
    "finetuned-homework",
    "finetuned-improved",
    "softmax-latent",
    "finetuned-plane2d",
    "latent",
    "mnist-classifier",
    "mnist-classifier-heldout",
    "gan-gan",
    "gan-acgan",
    "gan-conv-acgan",
];

/// The extra section computed from the classifier and the GANs (`gan_quality.json`).
pub const GAN_QUALITY: &str = "gan-quality";

/// Where each section's finished results are: `runs/<name>` unless a shipped checkpoint folder
/// was used instead.
#[derive(Debug, Clone, PartialEq)]
pub struct RunFolders {
    /// The runs folder (`runs/<profile>` by default).
    pub runs: PathBuf,
    /// Sections read from elsewhere (the shipped checkpoints), by name.
    pub overrides: BTreeMap<String, PathBuf>,
}

impl RunFolders {
    /// Everything under `runs`, except that in the full profile the shipped checkpoints are
    /// used where they exist (unless `LATENTLAB_RETRAIN=1`), as the notebooks and the
    /// `*_or_load` functions do.
    pub fn new(runs: &Path, profile: Profile) -> Self {
        let mut overrides = BTreeMap::new();
        for name in SECTIONS {
            if let Some(dir) = runtime::shipped(profile, name) {
                overrides.insert(name.to_string(), dir);
            }
        }
        RunFolders {
            runs: runs.to_path_buf(),
            overrides,
        }
    }

    /// The folder of a section (or the path of a file such as `pca10.json`).
    pub fn get(&self, name: &str) -> PathBuf {
        self.overrides
            .get(name)
            .cloned()
            .unwrap_or_else(|| self.runs.join(name))
    }
}

/// Checks section names, saying which exist.
pub fn parse_sections(list: &str) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for s in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        anyhow::ensure!(
            SECTIONS.contains(&s) || s == GAN_QUALITY,
            "unknown section '{s}': expected one of {}, {GAN_QUALITY}",
            SECTIONS.join(", ")
        );
        out.push(s.to_string());
    }
    anyhow::ensure!(
        !out.is_empty(),
        "no section named: pass e.g. --sections ae-homework,pca10"
    );
    Ok(out)
}

/// Lazily loaded datasets of one profile.
struct Data {
    profile: Profile,
    fashion: Option<(Dataset, Dataset)>,
    mnist: Option<(Dataset, Dataset)>,
}

impl Data {
    fn fashion(&mut self) -> anyhow::Result<&(Dataset, Dataset)> {
        if self.fashion.is_none() {
            self.fashion = Some(AutoencoderConfig::homework(self.profile).load_data()?);
        }
        Ok(self.fashion.as_ref().expect("loaded"))
    }

    fn mnist(&mut self) -> anyhow::Result<&(Dataset, Dataset)> {
        if self.mnist.is_none() {
            self.mnist = Some((
                Dataset::load(DatasetKind::Mnist, Split::Train, self.profile)?,
                Dataset::load(DatasetKind::Mnist, Split::Test, self.profile)?,
            ));
        }
        Ok(self.mnist.as_ref().expect("loaded"))
    }
}

/// Runs (or reuses) the named sections of `profile` into `runs`, in [`SECTIONS`] order, then
/// computes `gan_quality.json` when asked. Returns where each section's results are.
pub fn run_sections(
    profile: Profile,
    runs: &Path,
    names: &[String],
    progress: &mut Progress,
) -> anyhow::Result<RunFolders> {
    std::fs::create_dir_all(runs)?;
    let mut data = Data {
        profile,
        fashion: None,
        mnist: None,
    };
    for name in SECTIONS.iter().filter(|s| names.iter().any(|n| n == *s)) {
        progress.line(&format!("== section {name} ({profile} profile)"));
        run_one(name, profile, runs, &mut data, progress)?;
    }
    let folders = RunFolders::new(runs, profile);
    if names.iter().any(|n| n == GAN_QUALITY) {
        progress.line(&format!("== section {GAN_QUALITY} ({profile} profile)"));
        gan_quality_section(profile, &folders, &mut data)?;
    }
    Ok(folders)
}

fn run_one(
    name: &str,
    profile: Profile,
    runs: &Path,
    data: &mut Data,
    progress: &mut Progress,
) -> anyhow::Result<()> {
    match name {
        "ae-homework" | "ae-improved" | "ae-loss-mse" | "ae-loss-l1" | "ae-loss-huber" => {
            let cfg = match name {
                "ae-homework" => AutoencoderConfig::homework(profile),
                "ae-improved" => AutoencoderConfig::improved(profile),
                _ => {
                    let loss: LossKind = name["ae-loss-".len()..]
                        .parse()
                        .map_err(anyhow::Error::msg)?;
                    AutoencoderConfig::loss_comparison(profile, loss)
                }
            };
            let (train, test) = data.fashion()?;
            train::train_or_load_autoencoder(&cfg, train, test, &runs.join(name), progress)?;
        }
        "pca10" => {
            let path = runs.join("pca10.json");
            if !path.exists() {
                let (train, test) = data.fashion()?;
                let (b, _) = analysis::pca_reconstruction_baseline(train, test, 10)?;
                fsutil::write_json(&path, &b)?;
            }
        }
        "search" => {
            let cfg = train::SearchConfig::homework(profile);
            let (train, _) = data.fashion()?;
            train::search_or_load(&cfg, train, &runs.join("search"), progress)?;
        }
        "finetuned-homework" | "finetuned-improved" | "finetuned-plane2d" | "softmax-latent"
        | "latent" => run_finetune_section(name, profile, runs, data, progress)?,
        "mnist-classifier" | "mnist-classifier-heldout" => {
            let scorer = if name == "mnist-classifier" {
                train::Scorer::Main
            } else {
                train::Scorer::Heldout
            };
            let (train, test) = data.mnist()?;
            train::train_or_load_scorer(scorer, profile, train, test, runs, progress)?;
        }
        "gan-gan" | "gan-acgan" | "gan-conv-acgan" => {
            let kind: GanKind = name["gan-".len()..].parse().map_err(anyhow::Error::msg)?;
            let (train, _) = data.mnist()?;
            train::train_or_load_gan(&GanConfig::new(kind, profile), train, runs, progress)?;
        }
        other => anyhow::bail!("unknown section '{other}'"),
    }
    Ok(())
}

/// The sections built on fine-tuning: the fine-tuned models, the softmax latent and the latent
/// space of the improved fine-tuned model.
fn run_finetune_section(
    name: &str,
    profile: Profile,
    runs: &Path,
    data: &mut Data,
    progress: &mut Progress,
) -> anyhow::Result<()> {
    let ft_cfg = FinetuneConfig::for_profile(profile);
    let (train, test) = data.fashion()?;
    match name {
        "softmax-latent" => {
            let cfg = train::SoftmaxLatentConfig::for_profile(profile);
            let ae_cfg = AutoencoderConfig::homework(profile);
            let ae_dir = runs.join("ae-homework");
            let silent = &mut Progress::Silent;
            let ae = || train::train_or_load_autoencoder(&ae_cfg, train, test, &ae_dir, silent);
            train::softmax_latent_or_train(ae, &cfg, train, test, runs, progress)?;
        }
        "latent" => {
            let cfg = AutoencoderConfig::improved(profile);
            let (ae, ft) = train::finetune_or_load(&cfg, &ft_cfg, train, test, runs, progress)?;
            let out = runs.join("latent");
            std::fs::create_dir_all(&out)?;
            latent_section(&ae, &ft, test, &out, 50)?;
        }
        _ => {
            let cfg = match name {
                "finetuned-homework" => AutoencoderConfig::homework(profile),
                "finetuned-improved" => AutoencoderConfig::improved(profile),
                _ => AutoencoderConfig::plane(profile),
            };
            train::finetune_or_load(&cfg, &ft_cfg, train, test, runs, progress)?;
        }
    }
    Ok(())
}

/// The latent-space section for a fine-tuned model: PCA and t-SNE plots of the test codes, class
/// samples generated from prototypes, and `metrics.json` (explained variance, t-SNE time,
/// generation quality per noise scale, the fine-tuning numbers), all written into `out`.
pub fn latent_section(
    ae: &train::AutoencoderRun,
    ft: &train::FinetuneRun,
    test: &Dataset,
    out: &Path,
    top_k: usize,
) -> anyhow::Result<LatentMetrics> {
    let names = test.class_names();
    let classes: Vec<usize> = test.label_vec().iter().map(|&l| l as usize).collect();
    let codes = analysis::encode_dataset(&ae.model, test);
    let m = analysis::tensor_to_matrix(&codes)?;
    let p = analysis::pca_project(&m)?;
    scatter_plot(
        "PCA of the test codes",
        "PC 1",
        "PC 2",
        &p.points,
        &classes,
        &names,
    )?
    .save(out.join("pca.png"))?;
    let ts = analysis::tsne_2d(&m, &analysis::TsneParams::default())?;
    scatter_plot(
        "t-SNE of the test codes",
        "t-SNE 1",
        "t-SNE 2",
        &ts.embedding,
        &classes,
        &names,
    )?
    .save(out.join("tsne.png"))?;
    let probs = ft
        .predict_proba(ae, &test.images_f32())
        .to_device(tch::Device::Cpu);
    let protos = analysis::class_prototypes(&codes, &probs, test.labels(), top_k)?;
    let generated = analysis::generate_by_class(&ae.model, &protos, 10, 1.0, 7);
    crate::figures::class_rows(&generated, &names, "Generated samples, noise scale 1")?
        .save(out.join("generated.png"))?;
    let quality =
        analysis::generation_quality(ae, ft, &protos, test, &[0.5, 1.0, 2.0, 3.0], 20, 11);
    let ftm = ft.metrics.as_ref();
    let metrics = LatentMetrics {
        test_points: test.len(),
        pca_explained_variance_ratio: p.explained_variance_ratio.to_vec(),
        tsne_seconds: ts.seconds,
        tsne_kl_divergence: ts.kl_divergence,
        generation: quality,
        matcher_only_test_accuracy: ftm.map(|m| m.matcher_only_test_accuracy),
        finetuned_test_accuracy: ftm.map(|m| m.finetuned_test_accuracy),
        test_mse_before: ftm.map(|m| m.test_mse_before),
        test_mse_after: ftm.map(|m| m.test_mse_after),
    };
    fsutil::write_json(out.join("metrics.json"), &metrics)?;
    Ok(metrics)
}

/// The latent section's numbers (`metrics.json` in its folder).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LatentMetrics {
    /// Test codes plotted.
    pub test_points: usize,
    /// Variance kept by each of the two PCA components of the codes.
    pub pca_explained_variance_ratio: Vec<f64>,
    /// Seconds of the t-SNE.
    pub tsne_seconds: f64,
    /// The t-SNE's final KL divergence.
    pub tsne_kl_divergence: f64,
    /// Generated samples per noise scale.
    pub generation: Vec<analysis::GenerationQuality>,
    /// The fine-tuned model's numbers, copied for the report.
    pub matcher_only_test_accuracy: Option<f64>,
    /// See `matcher_only_test_accuracy`.
    pub finetuned_test_accuracy: Option<f64>,
    /// See `matcher_only_test_accuracy`.
    pub test_mse_before: Option<f64>,
    /// See `matcher_only_test_accuracy`.
    pub test_mse_after: Option<f64>,
}

/// Scores every finished GAN with every finished scorer (the main one is required) and writes
/// `gan_quality.json` into the runs folder: per scorer the floor and, per kind, epochs, seconds
/// and [`analysis::GanQuality`]. Each generator's samples are drawn once and shown to both.
fn gan_quality_section(
    profile: Profile,
    folders: &RunFolders,
    data: &mut Data,
) -> anyhow::Result<()> {
    let device = runtime::device();
    let mut scorers = Vec::new();
    for scorer in Scorer::ALL {
        let dir = folders.get(scorer.folder());
        anyhow::ensure!(
            scorer != Scorer::Main || dir.join("metrics.json").exists(),
            "{GAN_QUALITY} needs the mnist-classifier section: run it first (--sections mnist-classifier,{GAN_QUALITY})"
        );
        if dir.join("metrics.json").exists() {
            scorers.push((scorer, train::load_classifier(&dir, device)?));
        }
    }
    let (train, test) = data.mnist()?;
    let n = match profile {
        Profile::Full => 10_000,
        Profile::Quick => 1_000,
    };
    let mut gans = Vec::new();
    for kind in GanKind::ALL {
        let dir = folders.get(&format!("gan-{}", kind.name()));
        if dir.join("generator.safetensors").exists() {
            gans.push((kind, train::load_gan(&dir, device)?));
        }
    }
    let gans: Vec<(GanKind, &train::GanRun)> = gans.iter().map(|(k, g)| (*k, g)).collect();
    let scorers: Vec<(Scorer, &train::ClassifierRun)> =
        scorers.iter().map(|(s, c)| (*s, c)).collect();
    let out = analysis::score_generators(&gans, &scorers, train, test, n)?;
    fsutil::write_json(folders.runs.join("gan_quality.json"), &out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn section_names_are_checked() {
        assert_eq!(
            parse_sections("pca10, gan-quality").unwrap(),
            vec!["pca10".to_string(), "gan-quality".to_string()]
        );
        let err = parse_sections("pca10,tsne").unwrap_err().to_string();
        assert!(
            err.contains("unknown section 'tsne'") && err.contains("ae-homework"),
            "{err}"
        );
        assert!(parse_sections(" , ").is_err());
    }

    #[test]
    fn the_quick_profile_reads_every_section_from_the_runs_folder() {
        let runs = tempfile::tempdir().unwrap();
        let f = RunFolders::new(runs.path(), Profile::Quick);
        assert!(f.overrides.is_empty());
        assert_eq!(f.get("ae-homework"), runs.path().join("ae-homework"));
    }

    #[test]
    fn a_report_section_runs_and_is_reported() {
        let runs = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        let folders = run_sections(
            Profile::Quick,
            runs.path(),
            &["pca10".to_string()],
            &mut Progress::Silent,
        )
        .unwrap();
        let b: serde_json::Value = fsutil::read_json(runs.path().join("pca10.json")).unwrap();
        assert!(b["test_mse"].as_f64().unwrap() > 0.0);
        let s = crate::report::write_report(&folders, out.path(), "t").unwrap();
        assert!(s.included.contains(&"pca10".to_string()));
        assert!(s.missing.contains(&"gan-gan".to_string()));
    }
}
