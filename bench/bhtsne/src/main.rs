//! `bhtsne-timing CODES.csv [THREADS]`: one 2-d embedding with bhtsne 0.7 (perplexity 30, θ 0.5,
//! 1,000 epochs, Euclidean distance: the settings latentlab's own t-SNE uses), printing seconds
//! and the 10-nearest-neighbour class agreement of the embedding.

use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let text = std::fs::read_to_string(&args[0]).expect("a CSV of codes");
    let mut labels = Vec::new();
    let mut rows: Vec<Vec<f32>> = Vec::new();
    for line in text.lines().skip(1) {
        let mut it = line.split(',');
        labels.push(it.next().unwrap().parse::<usize>().unwrap());
        rows.push(it.map(|v| v.parse::<f32>().unwrap()).collect());
    }
    let d = rows[0].len();
    let t0 = Instant::now();
    let samples: Vec<&[f32]> = rows.iter().map(|r| r.as_slice()).collect();
    let mut tsne = bhtsne::tSNE::<f32, &[f32], 2>::new(&samples);
    tsne.perplexity(30.0)
        .epochs(1000)
        .barnes_hut(0.5, |a: &&[f32], b: &&[f32]| {
            a.iter().zip(b.iter()).map(|(x, y)| (x - y) * (x - y)).sum::<f32>().sqrt()
        });
    let emb = tsne.embedding();
    let secs = t0.elapsed().as_secs_f64();
    let n = rows.len();
    let pts: Vec<[f32; 2]> = (0..n).map(|i| [emb[2 * i], emb[2 * i + 1]]).collect();
    // 10-NN class agreement in the embedding (brute force).
    let mut agree = 0usize;
    for i in 0..n {
        let mut dist: Vec<(f32, usize)> = (0..n)
            .filter(|&j| j != i)
            .map(|j| {
                let (dx, dy) = (pts[i][0] - pts[j][0], pts[i][1] - pts[j][1]);
                (dx * dx + dy * dy, j)
            })
            .collect();
        dist.select_nth_unstable_by(10, |a, b| a.0.total_cmp(&b.0));
        agree += dist[..10].iter().filter(|(_, j)| labels[*j] == labels[i]).count();
    }
    println!(
        "bhtsne 0.7: {n} points, {d} dims, {secs:.1} s, 10-NN class agreement {:.3}",
        agree as f64 / (10 * n) as f64
    );
}
