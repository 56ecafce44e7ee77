//! Benchmark of `latentlab::analysis::tsne::tsne_2d` on synthetic latent-like codes.
//!
//! ```text
//! cargo run --release --example bench_tsne -- [N] [DIMS] [--write-csv PATH] [--csv PATH]
//! ```
//!
//! Without `--csv`, builds `N` points (default 10,000) in `DIMS` dimensions (default 10): 10
//! Gaussian clusters with random centres (standard deviation 3 per coordinate) and different
//! spreads (0.5 to 1.85), like the latent codes of the 10 digit classes. `--write-csv PATH`
//! also writes them as `label,x0,x1,...` rows (with a header line), e.g. to time
//! scikit-learn on the same data:
//!
//! ```text
//! python -c "import numpy as np, time; from sklearn.manifold import TSNE
//! d = np.loadtxt('data.csv', delimiter=',', skiprows=1); t = time.time()
//! TSNE(n_components=2, perplexity=30, init='pca', random_state=0, method='barnes_hut').fit(d[:, 1:])
//! print(time.time() - t)"
//! ```
//!
//! `--csv PATH` reads points from such a file instead (first column: integer class label).
//!
//! Prints the number of points, dimensions, seconds, final KL divergence, and the 10-nearest-
//! neighbour class agreement (fraction of each point's 10 nearest neighbours with its class)
//! in the input and in the embedding.

use latentlab::analysis::tsne::{tsne_2d, TsneParams};
use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::io::Write;

/// Number of synthetic clusters.
const CLUSTERS: usize = 10;
/// Neighbours for the class-agreement score.
const K: usize = 10;

use latentlab::analysis::tsne::gaussian;

/// `n` points in `dims` dimensions from [`CLUSTERS`] Gaussian clusters, and their labels.
fn synthetic(n: usize, dims: usize) -> (Array2<f64>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(2024);
    let centres: Vec<Vec<f64>> = (0..CLUSTERS)
        .map(|_| (0..dims).map(|_| 3.0 * gaussian(&mut rng)).collect())
        .collect();
    let mut x = Array2::zeros((n, dims));
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let c = i % CLUSTERS;
        let spread = 0.5 + 0.15 * c as f64;
        for j in 0..dims {
            x[[i, j]] = centres[c][j] + spread * gaussian(&mut rng);
        }
        labels.push(c);
    }
    (x, labels)
}

fn write_csv(path: &str, x: &Array2<f64>, labels: &[usize]) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let header: Vec<String> = (0..x.ncols()).map(|j| format!("x{j}")).collect();
    writeln!(out, "label,{}", header.join(","))?;
    for (row, label) in x.rows().into_iter().zip(labels) {
        let vals: Vec<String> = row.iter().map(|v| format!("{v:.17e}")).collect();
        writeln!(out, "{label},{}", vals.join(","))?;
    }
    out.flush()?;
    Ok(())
}

fn read_csv(path: &str) -> anyhow::Result<(Array2<f64>, Vec<usize>)> {
    let text = std::fs::read_to_string(path)?;
    let mut values = Vec::new();
    let mut labels = Vec::new();
    let mut cols = None;
    for (line_no, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with("label") {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        anyhow::ensure!(
            fields.len() >= 2,
            "{path}:{}: need a label and features",
            line_no + 1
        );
        let c = *cols.get_or_insert(fields.len() - 1);
        anyhow::ensure!(
            fields.len() - 1 == c,
            "{path}:{}: expected {c} features",
            line_no + 1
        );
        labels.push(fields[0].parse::<f64>()? as usize);
        for f in &fields[1..] {
            values.push(f.parse::<f64>()?);
        }
    }
    let cols = cols.ok_or_else(|| anyhow::anyhow!("{path}: no data rows"))?;
    Ok((
        Array2::from_shape_vec((labels.len(), cols), values)?,
        labels,
    ))
}

/// Mean fraction of each point's `K` nearest neighbours (squared Euclidean) with its label.
fn knn_agreement(points: &[Vec<f64>], labels: &[usize]) -> f64 {
    let n = points.len();
    let mut total = 0usize;
    let mut dist: Vec<(f64, usize)> = Vec::with_capacity(n);
    for i in 0..n {
        dist.clear();
        for j in (0..n).filter(|&j| j != i) {
            let d: f64 = points[i]
                .iter()
                .zip(&points[j])
                .map(|(a, b)| (a - b) * (a - b))
                .sum();
            dist.push((d, j));
        }
        let k = K.min(dist.len());
        if k == 0 {
            continue;
        }
        dist.select_nth_unstable_by(k - 1, |a, b| a.0.total_cmp(&b.0));
        total += dist[..k]
            .iter()
            .filter(|e| labels[e.1] == labels[i])
            .count();
    }
    total as f64 / (n * K.min(n.saturating_sub(1)).max(1)) as f64
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut positional = Vec::new();
    let (mut write_path, mut read_path) = (None, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--write-csv" => write_path = it.next().cloned(),
            "--csv" => read_path = it.next().cloned(),
            _ => positional.push(a.parse::<usize>()?),
        }
    }
    let (x, labels) = match &read_path {
        Some(path) => read_csv(path)?,
        None => synthetic(
            positional.first().copied().unwrap_or(10_000),
            positional.get(1).copied().unwrap_or(10),
        ),
    };
    if let Some(path) = &write_path {
        write_csv(path, &x, &labels)?;
        println!("wrote {path}");
    }
    let (n, dims) = x.dim();
    let result = tsne_2d(&x, &TsneParams::default())?;
    let input: Vec<Vec<f64>> = x.rows().into_iter().map(|r| r.to_vec()).collect();
    let embedded: Vec<Vec<f64>> = result.embedding.iter().map(|p| vec![p.0, p.1]).collect();
    println!("n {n}  dims {dims}");
    println!("seconds {:.2}", result.seconds);
    println!("kl_divergence {:.4}", result.kl_divergence);
    println!(
        "knn{K}_class_agreement input {:.4}  embedding {:.4}",
        knn_agreement(&input, &labels),
        knn_agreement(&embedded, &labels)
    );
    Ok(())
}
