//! One HTML page from finished run folders: a results table beside the homework's numbers, the
//! figures redrawn from each run's history, and every config.

use crate::display::{Figure, Table};
use crate::fsutil;
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

/// Builds `report.html` in `out` from the run folders under `runs` (as written by the CLI and
/// the notebooks: `ae-homework`, `ae-improved`, `pca10.json`, `search`, `finetuned-*`,
/// `mnist-classifier`, `gan-*`). Nothing is trained: missing runs are listed as missing.
pub fn write_report(runs: &Path, out: &Path, title: &str) -> anyhow::Result<ReportSummary> {
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
    ] {
        let dir = runs.join(name);
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
                    "MSE",
                )?;
                sections.push(section(name, &fig, &dir));
            }
        }
    }
    let pca = read(&runs.join("pca10.json"));
    note("pca10.json", pca.is_some());
    if let Some(p) = pca {
        table.push_row([
            "PCA-10 test MSE".into(),
            fmt(num(&p, "test_mse"), 4),
            "not measured".into(),
            "pca10.json".into(),
        ]);
    }
    let search =
        fsutil::read_json::<crate::train::SearchResults>(runs.join("search/results.json")).ok();
    note("search", search.is_some());
    if let Some(res) = &search {
        if let Some(best) = res.best() {
            table.push_row([
                "best search configuration (validation MSE)".into(),
                format!("{} ({:.4} ± {:.4})", best.candidate.id, best.mean, best.std),
                "latent 10, Adam 1e-3, wd 0".into(),
                "search".into(),
            ]);
            let fig = crate::figures::search_chart(res, None)?;
            sections.push(section("search", &fig, &runs.join("search")));
        }
    }
    for (name, homework) in [
        ("finetuned-homework", ("32.6%", "87.7%")),
        ("finetuned-improved", ("—", "—")),
    ] {
        let m = read(&runs.join(name).join("metrics.json"));
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
                "0.0310 → ≈ same".into(),
                name.into(),
            ]);
        }
    }
    let clf = read(&runs.join("mnist-classifier/metrics.json"));
    note("mnist-classifier", clf.is_some());
    if let Some(m) = clf {
        table.push_row([
            "MNIST scoring classifier test accuracy".into(),
            pct(num(&m, "test_accuracy")),
            "—".into(),
            "mnist-classifier".into(),
        ]);
    }
    for kind in ["gan", "acgan", "conv-acgan"] {
        let name = format!("gan-{kind}");
        let dir = runs.join(&name);
        let h = fsutil::read_json::<History>(dir.join("history.json")).ok();
        let c = fsutil::read_json::<GanConfig>(dir.join("config.json")).ok();
        note(&name, h.is_some() && c.is_some());
        if let (Some(h), Some(c)) = (h, c) {
            table.push_row([
                format!("{name}: epochs trained"),
                h.epochs.len().to_string(),
                "—".into(),
                name.clone(),
            ]);
            let fig = crate::figures::gan_losses(&h, &c, &format!("{name}: losses"))?;
            sections.push(section(&name, &fig, &dir));
        }
    }

    let mut html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{t}</title>\
         <style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}\
         td,th{{padding:2px 10px;border-bottom:1px solid #ddd}}pre{{background:#f6f6f6;padding:8px;overflow:auto}}</style>\
         </head><body><h1>{t}</h1>\n<p>Runs read from <code>{r}</code>. Missing: {m}.</p>\n{table}\n",
        t = escape(title),
        r = escape(&runs.display().to_string()),
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

fn section(name: &str, fig: &Figure, dir: &Path) -> String {
    let config = std::fs::read_to_string(dir.join("config.json"))
        .or_else(|_| std::fs::read_to_string(dir.join("search_config.json")))
        .unwrap_or_default();
    format!(
        "<h2>{n}</h2>\n{img}\n<details><summary>config</summary><pre>{c}</pre></details>\n",
        n = escape(name),
        img = fig.to_html(),
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
        let s = write_report(runs.path(), out.path(), "t").unwrap();
        assert_eq!(s.included, vec!["pca10.json".to_string()]);
        assert!(s.missing.contains(&"ae-homework".to_string()));
        let html = std::fs::read_to_string(out.path().join("report.html")).unwrap();
        assert!(html.contains("0.0244") && html.contains("Missing: ae-homework"));
    }
}
