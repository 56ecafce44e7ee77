//! One HTML page from finished run folders: a results table beside the homework's numbers, the
//! figures redrawn from each run's history (and GAN samples drawn from their generators), and
//! every config.
//!
//! Each section reads its run's files into the same typed structs the training wrote
//! ([`crate::train::AutoencoderMetrics`], [`crate::train::FinetuneMetrics`], ...), adds rows to
//! one [`Table`] and one HTML section of figures and config; [`write_report`] runs them in order.

use crate::analysis::GanQualityFile;
use crate::analysis::PcaBaseline;
use crate::display::escape_html as escape;
use crate::display::{Figure, Table};
use crate::fsutil;
use crate::models::GanKind;
use crate::pipeline::{LatentMetrics, RunFolders};
use crate::train::classifier::ClassifierMetrics;
use crate::train::Scorer;
use crate::train::{
    AutoencoderMetrics, FinetuneMetrics, GanConfig, History, SearchResults, SoftmaxLatentMetrics,
};
use serde::de::DeserializeOwned;
use std::path::Path;

/// What a report found and wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportSummary {
    /// Run folders (or files) that were included.
    pub included: Vec<String>,
    /// Known runs that were not found.
    pub missing: Vec<String>,
}

fn fmt(v: Option<f64>, digits: usize) -> String {
    v.map_or("—".into(), |x| format!("{x:.digits$}"))
}

fn pct(v: Option<f64>) -> String {
    v.map_or("—".into(), |x| format!("{:.1}%", 100.0 * x))
}

/// The report being built: the results table, the HTML sections, what was found.
struct Report<'a> {
    folders: &'a RunFolders,
    table: Table,
    sections: Vec<String>,
    included: Vec<String>,
    missing: Vec<String>,
}

impl<'a> Report<'a> {
    fn new(folders: &'a RunFolders) -> Self {
        Report {
            folders,
            table: Table::new(["measure", "latentlab", "homework", "source"]),
            sections: Vec::new(),
            included: Vec::new(),
            missing: Vec::new(),
        }
    }

    /// Reads `file` of run `name` as `T`, noting the run as included or missing.
    fn read<T: DeserializeOwned>(&mut self, name: &str, file: &Path) -> Option<T> {
        let v = fsutil::read_json::<T>(file).ok();
        if v.is_some() {
            self.included.push(name.to_string());
        } else {
            self.missing.push(name.to_string());
        }
        v
    }

    fn row(&mut self, measure: impl Into<String>, ours: String, homework: &str, source: &str) {
        self.table.push_row([
            measure.into(),
            ours,
            homework.to_string(),
            source.to_string(),
        ]);
    }

    fn section(&mut self, name: &str, figs: &[Figure], dir: &Path, config_file: Option<&str>) {
        let file = config_file.unwrap_or_else(|| {
            ["config.json", "search_config.json", "softmax_config.json"]
                .into_iter()
                .find(|f| dir.join(f).exists())
                .unwrap_or("config.json")
        });
        let config = std::fs::read_to_string(dir.join(file)).unwrap_or_default();
        let imgs: String = figs.iter().map(|f| f.to_html() + "\n").collect();
        self.sections.push(format!(
            "<h2>{n}</h2>\n{imgs}<details><summary>config ({d})</summary><pre>{c}</pre></details>\n",
            n = escape(name),
            d = escape(&dir.display().to_string()),
            c = escape(&config)
        ));
    }

    fn autoencoders(&mut self) -> anyhow::Result<()> {
        for (name, label, homework) in [
            ("ae-homework", "homework AE test MSE", "0.0310"),
            ("ae-improved", "improved AE test MSE", "—"),
            ("ae-loss-mse", "homework AE, MSE loss: test MSE", "—"),
            ("ae-loss-l1", "homework AE, L1 loss: test MSE", "—"),
            ("ae-loss-huber", "homework AE, Huber loss: test MSE", "—"),
        ] {
            let dir = self.folders.get(name);
            let Some(m) = self.read::<AutoencoderMetrics>(name, &dir.join("metrics.json")) else {
                continue;
            };
            self.row(label, fmt(Some(m.test_mse), 4), homework, name);
            if let Ok(h) = fsutil::read_json::<History>(dir.join("history.json")) {
                let title = format!("{name}: reconstruction loss");
                let fig = crate::figures::loss_curves(&h, &title, "loss")?;
                self.section(name, &[fig], &dir, None);
            }
        }
        Ok(())
    }

    fn pca_and_search(&mut self) -> anyhow::Result<()> {
        let pca_file = self.folders.runs.join("pca10.json");
        if let Some(p) = self.read::<PcaBaseline>("pca10", &pca_file) {
            let ours = fmt(Some(p.test_mse), 4);
            self.row("PCA-10 test MSE", ours, "not measured", "pca10.json");
        }
        let dir = self.folders.get("search");
        let Some(res) = self.read::<SearchResults>("search", &dir.join("results.json")) else {
            return Ok(());
        };
        if let Some(best) = res.best() {
            self.row(
                "best search configuration (validation MSE)",
                format!("{} ({:.4} ± {:.4})", best.candidate.id, best.mean, best.std),
                "latent 10, Adam 1e-3, wd 0",
                "search",
            );
            let chart = crate::figures::search_chart(&res, None)?;
            let curves = crate::figures::fold_curves(&res, &best.candidate.id)?;
            self.section("search", &[chart, curves], &dir, None);
        }
        Ok(())
    }

    fn finetuned(&mut self) -> anyhow::Result<()> {
        for (name, homework) in [
            ("finetuned-homework", ["32.6%", "87.7%", "0.0310 → ≈ same"]),
            ("finetuned-improved", ["—", "—", "—"]),
            ("finetuned-plane2d", ["—", "—", "—"]),
        ] {
            let dir = self.folders.get(name);
            let Some(m) = self.read::<FinetuneMetrics>(name, &dir.join("metrics.json")) else {
                continue;
            };
            let mse = format!(
                "{} → {}",
                fmt(Some(m.test_mse_before), 4),
                fmt(Some(m.test_mse_after), 4)
            );
            let acc = pct(Some(m.matcher_only_test_accuracy));
            self.row(
                format!("{name}: matcher-only test accuracy"),
                acc,
                homework[0],
                name,
            );
            let acc = pct(Some(m.finetuned_test_accuracy));
            self.row(
                format!("{name}: fine-tuned test accuracy"),
                acc,
                homework[1],
                name,
            );
            self.row(
                format!("{name}: test MSE before → after"),
                mse,
                homework[2],
                name,
            );
            let run = crate::train::FinetuneRun {
                matcher_history: fsutil::read_json(dir.join("matcher_history.json"))
                    .unwrap_or_default(),
                joint_history: fsutil::read_json(dir.join("joint_history.json"))
                    .unwrap_or_default(),
                ..crate::train::FinetuneRun::new(
                    &fsutil::read_json(dir.join("finetune_config.json"))?,
                    10,
                    tch::Device::Cpu,
                )
            };
            let figs = [
                crate::figures::finetune_curves(&run)?,
                crate::figures::finetune_accuracy(&run)?,
            ];
            self.section(name, &figs, &dir, Some("finetune_config.json"));
        }
        Ok(())
    }

    fn softmax_latent(&mut self) {
        let file = self.folders.get("softmax-latent").join("metrics.json");
        let Some(m) = self.read::<SoftmaxLatentMetrics>("softmax-latent", &file) else {
            return;
        };
        let (label, src) = ("not reported", "softmax-latent");
        let acc = pct(Some(m.test_accuracy_after));
        self.row("softmax latent: test accuracy", acc, label, src);
        self.row(
            "softmax latent: test MSE (plain AE → decoded from the softmax)",
            format!(
                "{} → {}",
                fmt(Some(m.test_mse_before), 4),
                fmt(Some(m.test_mse_after), 4)
            ),
            label,
            src,
        );
    }

    fn latent(&mut self) {
        let dir = self.folders.get("latent");
        let Some(m) = self.read::<LatentMetrics>("latent", &dir.join("metrics.json")) else {
            return;
        };
        let variance = m.pca_explained_variance_ratio.iter().sum::<f64>();
        let label = "latent codes: variance kept by 2 PCA components";
        self.row(label, pct(Some(variance)), "—", "latent");
        let tsne = format!("{:.1} s ({} points)", m.tsne_seconds, m.test_points);
        self.row("t-SNE seconds (test codes)", tsne, "—", "latent");
        for g in &m.generation {
            self.row(
                format!(
                    "generated samples, noise scale {:.1}: intended class / variety vs real",
                    g.scale
                ),
                format!(
                    "{} / {:.2} vs {:.2}",
                    pct(Some(g.intended_class_rate)),
                    g.generated_variety,
                    g.real_variety
                ),
                "\"little variation\"",
                "latent",
            );
        }
        let figs: Vec<Figure> = ["pca.png", "tsne.png", "generated.png"]
            .iter()
            .filter_map(|f| Figure::from_png_file(dir.join(f)).ok())
            .collect();
        self.section("latent", &figs, &dir, None);
    }

    fn classifier(&mut self) {
        for scorer in Scorer::ALL {
            let name = scorer.folder();
            let file = self.folders.get(name).join("metrics.json");
            if let Some(m) = self.read::<ClassifierMetrics>(name, &file) {
                let acc = pct(Some(m.test_accuracy));
                let measure = format!("MNIST {} test accuracy", scorer.label());
                self.row(measure, acc, "—", name);
            }
        }
    }

    fn gans(&mut self) -> anyhow::Result<()> {
        let quality: Option<GanQualityFile> =
            fsutil::read_json(self.folders.runs.join("gan_quality.json")).ok();
        for kind in GanKind::ALL {
            let name = format!("gan-{}", kind.name());
            let dir = self.folders.get(&name);
            let Some(c) = self.read::<GanConfig>(&name, &dir.join("config.json")) else {
                continue;
            };
            let h: History = fsutil::read_json(dir.join("history.json")).unwrap_or_default();
            let trained = format!("{} ({:.0} s)", h.epochs.len(), h.seconds());
            self.row(
                format!("{name}: epochs trained (seconds)"),
                trained,
                "—",
                &name,
            );
            if let Some(q) = &quality {
                self.gan_scores(&name, kind, q);
            }
            let mut figs = vec![crate::figures::gan_losses(
                &h,
                &c,
                &format!("{name}: losses"),
            )?];
            if dir.join("generator.safetensors").exists() {
                figs.push(gan_samples(&name, &dir, &c)?);
            }
            self.section(&name, &figs, &dir, None);
        }
        if let Some(q) = &quality {
            self.gan_quality(q)?;
        }
        Ok(())
    }

    /// The headline scores of one GAN in the results table: class consistency, and Fréchet
    /// distance, precision and recall by each scorer beside its floor.
    fn gan_scores(&mut self, name: &str, kind: GanKind, q: &GanQualityFile) {
        let Some(e) = q.get(kind) else { return };
        let source = "gan_quality.json";
        for (scorer, s) in &e.scores {
            let Some(floor) = q.floors.get(scorer) else {
                continue;
            };
            let by = scorer.label();
            if let Some(cc) = s.class_consistency {
                let measure = format!("{name}: class consistency ({by})");
                self.row(measure, pct(Some(cc)), "looked at, not measured", source);
            }
            let measure = format!(
                "{name}: Fréchet distance ({by}; floor {:.2})",
                floor.frechet_to_test
            );
            self.row(measure, format!("{:.2}", s.frechet_to_test), "—", source);
            let measure = format!(
                "{name}: precision / recall ({by}; floor {:.3} / {:.3})",
                floor.precision, floor.recall
            );
            let ours = format!("{:.3} / {:.3}", s.precision, s.recall);
            self.row(measure, ours, "—", source);
        }
    }

    /// The `gan-quality` section: every score by both scorers, and the per-digit distances.
    fn gan_quality(&mut self, q: &GanQualityFile) -> anyhow::Result<()> {
        let title = format!("GAN quality on {} samples per generator", q.samples);
        let table = crate::figures::gan_quality_table(q, &title);
        let mut html = format!("<h2>gan-quality</h2>\n{}\n", table.to_html());
        for scorer in Scorer::ALL {
            if q.floors.contains_key(&scorer) {
                html += &crate::figures::per_class_frechet(q, scorer)?.to_html();
                html += "\n";
            }
        }
        self.sections.push(html);
        self.included.push("gan-quality".to_string());
        Ok(())
    }

    fn html(self, title: &str) -> (String, ReportSummary) {
        let shipped = if self.folders.overrides.is_empty() {
            String::new()
        } else {
            let names: Vec<String> = self.folders.overrides.keys().cloned().collect();
            format!(
                " and the shipped checkpoints for {}",
                escape(&names.join(", "))
            )
        };
        let missing = if self.missing.is_empty() {
            "none".to_string()
        } else {
            escape(&self.missing.join(", "))
        };
        let mut html = format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{t}</title>\
             <style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}\
             td,th{{padding:2px 10px;border-bottom:1px solid #ddd}}pre{{background:#f6f6f6;padding:8px;overflow:auto}}</style>\
             </head><body><h1>{t}</h1>\n<p>Runs read from <code>{r}</code>{shipped}. Missing: {missing}.</p>\n{table}\n",
            t = escape(title),
            r = escape(&self.folders.runs.display().to_string()),
            table = self.table.to_html(),
        );
        for s in &self.sections {
            html.push_str(s);
        }
        html.push_str("</body></html>\n");
        let summary = ReportSummary {
            included: self.included,
            missing: self.missing,
        };
        (html, summary)
    }
}

/// A grid of samples from the GAN in `dir`: one row per digit for conditional GANs.
fn gan_samples(name: &str, dir: &Path, c: &GanConfig) -> anyhow::Result<Figure> {
    let gan = crate::train::load_gan(dir, tch::Device::Cpu)?;
    if c.arch.kind.conditional() {
        let title = format!("{name}: samples, one row per digit");
        crate::figures::class_grid(&gan.sample_grid(10, 0), 10, &title)
    } else {
        let title = format!("{name}: samples");
        crate::figures::digit_grid(&gan.sample(100, None, 0), 10, &title)
    }
}

/// Builds `report.html` in `out` from finished run folders (as written by the CLI, the notebooks
/// and [`crate::pipeline::run_sections`]; shipped checkpoints stand in where `folders` says so).
/// Nothing is trained here: sections without results are listed as missing.
pub fn write_report(
    folders: &RunFolders,
    out: &Path,
    title: &str,
) -> anyhow::Result<ReportSummary> {
    let mut r = Report::new(folders);
    r.autoencoders()?;
    r.pca_and_search()?;
    r.finetuned()?;
    r.softmax_latent();
    r.latent();
    r.classifier();
    r.gans()?;
    let (html, summary) = r.html(title);
    fsutil::write_atomic(out.join("report.html"), html.as_bytes())?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_lists_what_it_found_and_what_is_missing() {
        let runs = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        fsutil::write_json(
            runs.path().join("pca10.json"),
            &serde_json::json!({"components": 10, "test_mse": 0.0244, "train_mse": 0.0244,
                "explained_variance_ratio": [0.3, 0.2], "seconds": 1.0}),
        )
        .unwrap();
        let folders = RunFolders {
            runs: runs.path().to_path_buf(),
            overrides: Default::default(),
        };
        let s = write_report(&folders, out.path(), "t").unwrap();
        assert_eq!(s.included, vec!["pca10".to_string()]);
        assert!(s.missing.contains(&"ae-homework".to_string()));
        let html = std::fs::read_to_string(out.path().join("report.html")).unwrap();
        assert!(html.contains("0.0244") && html.contains("Missing: ae-homework"));
    }
}
