//! One HTML page from finished run folders: a results table beside the homework's numbers, the
//! figures redrawn from each run's history (and GAN samples drawn from their generators), and
//! every config.

use crate::display::{Figure, Table};
use crate::fsutil;
use crate::pipeline::RunFolders;
use crate::train::{GanConfig, History};
use serde_json::Value;
use std::path::Path;

/// What a report found and wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportSummary {
    /// Run folders (or files) that were included.
    pub included: Vec<String>,
    /// Known runs that were not found.
    pub missing: Vec<String>,
}

fn read(path: &Path) -> Option<Value> {
    fsutil::read_json::<Value>(path).ok()
}

fn num(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64)
}

fn fmt(v: Option<f64>, digits: usize) -> String {
    v.map_or("—".into(), |x| format!("{x:.digits$}"))
}

fn pct(v: Option<f64>) -> String {
    v.map_or("—".into(), |x| format!("{:.1}%", 100.0 * x))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Builds `report.html` in `out` from finished run folders (as written by the CLI, the notebooks
/// and [`crate::pipeline::run_sections`]; shipped checkpoints stand in where `folders` says so).
/// Nothing is trained here: sections without results are listed as missing.
pub fn write_report(
    folders: &RunFolders,
    out: &Path,
    title: &str,
) -> anyhow::Result<ReportSummary> {
    let mut included = Vec::new();
    let mut missing = Vec::new();
    let mut table = Table::new(["measure", "latentlab", "homework", "source"]);
    let mut sections: Vec<String> = Vec::new();
    let mut note = |name: &str, found: bool| {
        if found {
            included.push(name.to_string());
        } else {
            missing.push(name.to_string());
        }
    };

    for (name, label, homework) in [
        ("ae-homework", "homework AE test MSE", "0.0310"),
        ("ae-improved", "improved AE test MSE", "—"),
        ("ae-loss-mse", "homework AE, MSE loss: test MSE", "—"),
        ("ae-loss-l1", "homework AE, L1 loss: test MSE", "—"),
        ("ae-loss-huber", "homework AE, Huber loss: test MSE", "—"),
    ] {
        let dir = folders.get(name);
        let m = read(&dir.join("metrics.json"));
        note(name, m.is_some());
        if let Some(m) = m {
            table.push_row([
                label.to_string(),
                fmt(num(&m, "test_mse"), 4),
                homework.to_string(),
                name.to_string(),
            ]);
            if let Ok(h) = fsutil::read_json::<History>(dir.join("history.json")) {
                let fig = crate::figures::loss_curves(
                    &h,
                    &format!("{name}: reconstruction loss"),
                    "loss",
                )?;
                sections.push(section(name, &[fig], &dir));
            }
        }
    }
    let pca = read(&folders.runs.join("pca10.json"));
    note("pca10", pca.is_some());
    if let Some(p) = pca {
        table.push_row([
            "PCA-10 test MSE".into(),
            fmt(num(&p, "test_mse"), 4),
            "not measured".into(),
            "pca10.json".into(),
        ]);
    }
    let search_dir = folders.get("search");
    let search =
        fsutil::read_json::<crate::train::SearchResults>(search_dir.join("results.json")).ok();
    note("search", search.is_some());
    if let Some(res) = &search {
        if let Some(best) = res.best() {
            table.push_row([
                "best search configuration (validation MSE)".into(),
                format!("{} ({:.4} ± {:.4})", best.candidate.id, best.mean, best.std),
                "latent 10, Adam 1e-3, wd 0".into(),
                "search".into(),
            ]);
            let chart = crate::figures::search_chart(res, None)?;
            let curves = crate::figures::fold_curves(res, &best.candidate.id)?;
            sections.push(section("search", &[chart, curves], &search_dir));
        }
    }
    for (name, homework) in [
        ("finetuned-homework", ("32.6%", "87.7%", "0.0310 → ≈ same")),
        ("finetuned-improved", ("—", "—", "—")),
        ("finetuned-plane2d", ("—", "—", "—")),
    ] {
        let dir = folders.get(name);
        let m = read(&dir.join("metrics.json"));
        note(name, m.is_some());
        if let Some(m) = m {
            table.push_row([
                format!("{name}: matcher-only test accuracy"),
                pct(num(&m, "matcher_only_test_accuracy")),
                homework.0.into(),
                name.into(),
            ]);
            table.push_row([
                format!("{name}: fine-tuned test accuracy"),
                pct(num(&m, "finetuned_test_accuracy")),
                homework.1.into(),
                name.into(),
            ]);
            table.push_row([
                format!("{name}: test MSE before → after"),
                format!(
                    "{} → {}",
                    fmt(num(&m, "test_mse_before"), 4),
                    fmt(num(&m, "test_mse_after"), 4)
                ),
                homework.2.into(),
                name.into(),
            ]);
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
            let figs = vec![
                crate::figures::finetune_curves(&run)?,
                crate::figures::finetune_accuracy(&run)?,
            ];
            sections.push(section_with(name, &figs, &dir, "finetune_config.json"));
        }
    }
    let sm_dir = folders.get("softmax-latent");
    let sm = read(&sm_dir.join("metrics.json"));
    note("softmax-latent", sm.is_some());
    if let Some(m) = sm {
        table.push_row([
            "softmax latent: test accuracy".into(),
            pct(num(&m, "test_accuracy_after")),
            "not reported".into(),
            "softmax-latent".into(),
        ]);
        table.push_row([
            "softmax latent: test MSE (plain AE → decoded from the softmax)".into(),
            format!(
                "{} → {}",
                fmt(num(&m, "test_mse_before"), 4),
                fmt(num(&m, "test_mse_after"), 4)
            ),
            "not reported".into(),
            "softmax-latent".into(),
        ]);
    }
    let latent_dir = folders.get("latent");
    let lat = read(&latent_dir.join("metrics.json"));
    note("latent", lat.is_some());
    if let Some(m) = lat {
        let variance: Option<f64> = m
            .get("pca_explained_variance_ratio")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_f64).sum());
        table.push_row([
            "latent codes: variance kept by 2 PCA components".into(),
            pct(variance),
            "—".into(),
            "latent".into(),
        ]);
        table.push_row([
            "t-SNE seconds (test codes)".into(),
            format!(
                "{} s ({} points)",
                fmt(num(&m, "tsne_seconds"), 1),
                fmt(num(&m, "test_points"), 0)
            ),
            "—".into(),
            "latent".into(),
        ]);
        if let Some(gens) = m.get("generation").and_then(Value::as_array) {
            for g in gens {
                table.push_row([
                    format!(
                        "generated samples, noise scale {}: intended class / variety vs real",
                        fmt(num(g, "scale"), 1)
                    ),
                    format!(
                        "{} / {} vs {}",
                        pct(num(g, "intended_class_rate")),
                        fmt(num(g, "generated_variety"), 2),
                        fmt(num(g, "real_variety"), 2)
                    ),
                    "\"little variation\"".into(),
                    "latent".into(),
                ]);
            }
        }
        let figs: Vec<Figure> = ["pca.png", "tsne.png", "generated.png"]
            .iter()
            .filter_map(|f| Figure::from_png_file(latent_dir.join(f)).ok())
            .collect();
        sections.push(section("latent", &figs, &latent_dir));
    }
    let clf = read(&folders.get("mnist-classifier").join("metrics.json"));
    note("mnist-classifier", clf.is_some());
    if let Some(m) = clf {
        table.push_row([
            "MNIST scoring classifier test accuracy".into(),
            pct(num(&m, "test_accuracy")),
            "—".into(),
            "mnist-classifier".into(),
        ]);
    }
    let quality = read(&folders.runs.join("gan_quality.json"));
    for kind in ["gan", "acgan", "conv-acgan"] {
        let name = format!("gan-{kind}");
        let dir = folders.get(&name);
        let h = fsutil::read_json::<History>(dir.join("history.json")).ok();
        let c = fsutil::read_json::<GanConfig>(dir.join("config.json")).ok();
        note(&name, h.is_some() && c.is_some());
        if let (Some(h), Some(c)) = (h, c) {
            table.push_row([
                format!("{name}: epochs trained (seconds)"),
                format!("{} ({:.0} s)", h.epochs.len(), h.seconds()),
                "—".into(),
                name.clone(),
            ]);
            if let Some(q) = quality
                .as_ref()
                .and_then(|q| q.get(kind))
                .and_then(|k| k.get("quality"))
            {
                if let Some(cc) = num(q, "class_consistency") {
                    table.push_row([
                        format!("{name}: class consistency"),
                        pct(Some(cc)),
                        "looked at, not measured".into(),
                        "gan_quality.json".into(),
                    ]);
                }
                table.push_row([
                    format!(
                        "{name}: Fréchet distance to test (floor {})",
                        fmt(quality.as_ref().and_then(|q| num(q, "frechet_floor")), 2)
                    ),
                    fmt(num(q, "frechet_to_test"), 2),
                    "—".into(),
                    "gan_quality.json".into(),
                ]);
            }
            let mut figs = vec![crate::figures::gan_losses(
                &h,
                &c,
                &format!("{name}: losses"),
            )?];
            if dir.join("generator.safetensors").exists() {
                let gan = crate::train::load_gan(&dir, tch::Device::Cpu)?;
                figs.push(if c.arch.kind.conditional() {
                    crate::figures::class_grid(
                        &gan.sample_grid(10, 0),
                        10,
                        &format!("{name}: samples, one row per digit"),
                    )?
                } else {
                    crate::figures::digit_grid(
                        &gan.sample(100, None, 0),
                        10,
                        &format!("{name}: samples"),
                    )?
                });
            }
            sections.push(section(&name, &figs, &dir));
        }
    }

    let mut html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{t}</title>\
         <style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}\
         td,th{{padding:2px 10px;border-bottom:1px solid #ddd}}pre{{background:#f6f6f6;padding:8px;overflow:auto}}</style>\
         </head><body><h1>{t}</h1>\n<p>Runs read from <code>{r}</code>{s}. Missing: {m}.</p>\n{table}\n",
        t = escape(title),
        r = escape(&folders.runs.display().to_string()),
        s = if folders.overrides.is_empty() {
            String::new()
        } else {
            format!(
                " and the shipped checkpoints for {}",
                escape(&folders.overrides.keys().cloned().collect::<Vec<_>>().join(", "))
            )
        },
        m = if missing.is_empty() { "none".to_string() } else { escape(&missing.join(", ")) },
        table = table.to_html(),
    );
    for s in sections {
        html.push_str(&s);
    }
    html.push_str("</body></html>\n");
    fsutil::write_atomic(out.join("report.html"), html.as_bytes())?;
    Ok(ReportSummary { included, missing })
}

fn section(name: &str, figs: &[Figure], dir: &Path) -> String {
    let config = ["config.json", "search_config.json", "softmax_config.json"]
        .iter()
        .find(|f| dir.join(f).exists())
        .copied()
        .unwrap_or("config.json");
    section_with(name, figs, dir, config)
}

fn section_with(name: &str, figs: &[Figure], dir: &Path, config_file: &str) -> String {
    let config = std::fs::read_to_string(dir.join(config_file)).unwrap_or_default();
    let imgs: String = figs.iter().map(|f| f.to_html() + "\n").collect();
    format!(
        "<h2>{n}</h2>\n{imgs}<details><summary>config ({d})</summary><pre>{c}</pre></details>\n",
        n = escape(name),
        d = escape(&dir.display().to_string()),
        c = escape(&config)
    )
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
            &serde_json::json!({"test_mse": 0.0244, "train_mse": 0.0244}),
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
