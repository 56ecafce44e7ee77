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
use crate::train::{self, AutoencoderConfig, FinetuneConfig, GanConfig, LossKind, Progress};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Every section, in the order they run (later ones use earlier ones).
pub const SECTIONS: [&str; 16] = [
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
    let ft_cfg = FinetuneConfig::for_profile(profile);
    match name {
        "ae-homework" | "ae-improved" => {
            let cfg = if name == "ae-homework" {
                AutoencoderConfig::homework(profile)
            } else {
                AutoencoderConfig::improved(profile)
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
        "ae-loss-mse" | "ae-loss-l1" | "ae-loss-huber" => {
            let loss: LossKind = name["ae-loss-".len()..]
                .parse()
                .map_err(anyhow::Error::msg)?;
            let cfg = AutoencoderConfig::loss_comparison(profile, loss);
            let (train, test) = data.fashion()?;
            train::train_or_load_autoencoder(&cfg, train, test, &runs.join(name), progress)?;
        }
        "search" => {
            let cfg = train::SearchConfig::homework(profile);
            let (train, _) = data.fashion()?;
            train::search_or_load(&cfg, train, &runs.join("search"), progress)?;
        }
        "finetuned-homework" | "finetuned-improved" | "finetuned-plane2d" => {
            let cfg = match name {
                "finetuned-homework" => AutoencoderConfig::homework(profile),
                "finetuned-improved" => AutoencoderConfig::improved(profile),
                _ => AutoencoderConfig::plane(profile),
            };
            let (train, test) = data.fashion()?;
            train::finetune_or_load(&cfg, &ft_cfg, train, test, runs, progress)?;
        }
        "softmax-latent" => {
            let cfg = train::SoftmaxLatentConfig::for_profile(profile);
            let ae_cfg = AutoencoderConfig::homework(profile);
            let (train, test) = data.fashion()?;
            let ae_dir = runs.join("ae-homework");
            train::softmax_latent_or_train(
                || {
                    train::train_or_load_autoencoder(
                        &ae_cfg,
                        train,
                        test,
                        &ae_dir,
                        &mut Progress::Silent,
                    )
                },
                &cfg,
                train,
                test,
                runs,
                progress,
            )?;
        }
        "latent" => {
            let (train, test) = data.fashion()?;
            let (ae, ft) = train::finetune_or_load(
                &AutoencoderConfig::improved(profile),
                &ft_cfg,
                train,
                test,
                runs,
                progress,
            )?;
            let out = runs.join("latent");
            std::fs::create_dir_all(&out)?;
            latent_section(&ae, &ft, test, &out, 50)?;
        }
        "mnist-classifier" => {
            let (train, test) = data.mnist()?;
            train::train_or_load_classifier(profile, train, test, runs, progress)?;
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

/// One GAN's entry in `gan_quality.json`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GanQualityEntry {
    /// Epochs the GAN was trained.
    pub epochs: usize,
    /// Its training seconds.
    pub seconds: f64,
    /// Its scores.
    pub quality: analysis::GanQuality,
}

/// `gan_quality.json`: the real-vs-real floor and each finished GAN's scores, by kind.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GanQualityFile {
    /// Fréchet distance between training and test features (the floor).
    pub frechet_floor: f64,
    /// The fully connected GAN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gan: Option<GanQualityEntry>,
    /// The fully connected AC-GAN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acgan: Option<GanQualityEntry>,
    /// The convolutional AC-GAN.
    #[serde(
        default,
        rename = "conv-acgan",
        skip_serializing_if = "Option::is_none"
    )]
    pub conv_acgan: Option<GanQualityEntry>,
}

impl GanQualityFile {
    /// The entry of `kind` (`gan`, `acgan`, `conv-acgan`).
    pub fn get(&self, kind: &str) -> Option<&GanQualityEntry> {
        match kind {
            "gan" => self.gan.as_ref(),
            "acgan" => self.acgan.as_ref(),
            "conv-acgan" => self.conv_acgan.as_ref(),
            _ => None,
        }
    }
}

/// Scores every finished GAN with the classifier and writes `gan_quality.json` into the runs
/// folder: the real-vs-real floor and, per kind, epochs, seconds and [`analysis::GanQuality`].
fn gan_quality_section(
    profile: Profile,
    folders: &RunFolders,
    data: &mut Data,
) -> anyhow::Result<()> {
    let device = runtime::device();
    let clf_dir = folders.get("mnist-classifier");
    anyhow::ensure!(
        clf_dir.join("metrics.json").exists(),
        "{GAN_QUALITY} needs the mnist-classifier section: run it first (--sections mnist-classifier,{GAN_QUALITY})"
    );
    let clf = train::load_classifier(&clf_dir, device)?;
    let (train, test) = data.mnist()?;
    let n = match profile {
        Profile::Full => 10_000,
        Profile::Quick => 1_000,
    };
    let mut out = GanQualityFile {
        frechet_floor: analysis::frechet_floor(&clf, train, test, n)?,
        ..Default::default()
    };
    for kind in ["gan", "acgan", "conv-acgan"] {
        let dir = folders.get(&format!("gan-{kind}"));
        if !dir.join("generator.safetensors").exists() {
            continue;
        }
        let gan = train::load_gan(&dir, device)?;
        let entry = GanQualityEntry {
            epochs: gan.history.epochs.len(),
            seconds: gan.history.seconds(),
            quality: analysis::gan_quality(&gan, &clf, test, n, 1)?,
        };
        match kind {
            "gan" => out.gan = Some(entry),
            "acgan" => out.acgan = Some(entry),
            _ => out.conv_acgan = Some(entry),
        }
    }
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
