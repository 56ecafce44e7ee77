//! t-SNE (t-distributed stochastic neighbour embedding) to 2-d, in plain Rust.
//!
//! `linfa-tsne` (through the `bhtsne` crate) needs about 100 s for the 10,000 test latents on
//! a 2-core machine, and scikit-learn about 140–180 s; this module implements the same method
//! in about 10 s (see `examples/bench_tsne.rs`), following van der Maaten's Barnes–Hut t-SNE
//! (2014) and scikit-learn's optimiser settings:
//!
//! * **Input affinities**: the `k = ⌈3·perplexity⌉` exact nearest neighbours of every point
//!   (brute force, `O(n²·d)`, parallel), a binary search per point for the Gaussian bandwidth
//!   that gives the requested perplexity, then the symmetrised sparse `P = (P_j|i + P_i|j) / 2n`.
//! * **Gradient**: exact attractive forces over the sparse `P`; repulsive forces and the
//!   normalisation `Z` by Barnes–Hut on a quadtree (rebuilt every iteration from a Morton-order
//!   sort of the embedding) with opening angle `theta` (`theta = 0` is exact, `O(n²)`). Nearby
//!   points share one tree walk (a cell is summarised by its centre of mass only if it is far
//!   enough from all of them), and the resulting interactions are summed in single precision,
//!   vectorised across the points.
//! * **Optimiser**: gradient descent with momentum 0.5 for the first 250 iterations and 0.8
//!   after, per-coordinate gains (`+0.2` / `×0.8`, at least 0.01), learning rate
//!   `max(n / early_exaggeration / 4, 50)` (scikit-learn's `"auto"`), and early exaggeration of
//!   `P` during the first 250 iterations.
//! * **Initialisation**: the first two principal components scaled so the first has standard
//!   deviation `1e-4` (as scikit-learn's `init="pca"`), plus seeded Gaussian jitter of
//!   standard deviation `1e-6` so degenerate inputs (collinear points) can still spread in 2-d.
//!
//! The work is spread over all cores with scoped threads; results do not depend on the number
//! of threads (every sum has a fixed order), so the same seed always gives the same output.

use anyhow::ensure;
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::BinaryHeap;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

/// Iterations with early exaggeration (and with momentum 0.5 rather than 0.8).
const EXAGGERATION_ITERATIONS: usize = 250;
/// Momentum during the first [`EXAGGERATION_ITERATIONS`] iterations.
const EARLY_MOMENTUM: f64 = 0.5;
/// Momentum after the first [`EXAGGERATION_ITERATIONS`] iterations.
const LATE_MOMENTUM: f64 = 0.8;
/// Lower bound of the per-coordinate gains.
const MIN_GAIN: f64 = 0.01;
/// Standard deviation of the first coordinate of the initial embedding.
const INIT_STD: f64 = 1e-4;
/// Standard deviation of the seeded jitter added to the initial embedding.
const INIT_JITTER: f64 = 1e-6;
/// Quadtree cells with at most this many points are leaves.
const LEAF_SIZE: usize = 8;
/// Quadtree cells with at most this many points share one tree walk.
const GROUP_SIZE: usize = 64;
/// Points per parallel work unit in the gradient.
const WORK_UNIT: usize = 256;
/// Tolerance on the entropy (nats) in the bandwidth search.
const ENTROPY_TOLERANCE: f64 = 1e-5;
/// Maximum number of bisection steps in the bandwidth search.
const MAX_BANDWIDTH_STEPS: usize = 200;
/// Every how many iterations the (test-only) KL trace is recorded.
const TRACE_EVERY: usize = 50;

/// Parameters of [`tsne_2d`], checked by [`TsneParams::validate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TsneParams {
    /// Effective number of neighbours each point attends to (typically 5–50). Each point uses
    /// its `⌈3·perplexity⌉` nearest neighbours, so there must be more points than that.
    pub perplexity: f64,
    /// Gradient-descent iterations, at least 250 (the early-exaggeration phase).
    pub iterations: usize,
    /// Barnes–Hut opening angle in `[0, 1]`: a quadtree cell is summarised by its centre of
    /// mass when its larger side is below `theta` times its distance to the points it acts on.
    /// `0` computes the repulsive forces exactly (`O(n²)` per iteration); `0.5` is the usual
    /// speed/accuracy trade-off.
    pub theta: f64,
    /// Seed of the random start of the PCA initialisation and of the initial jitter.
    pub seed: u64,
    /// Factor (at least 1) on the input affinities during the first 250 iterations, which lets
    /// clusters form and separate early.
    pub early_exaggeration: f64,
}

impl Default for TsneParams {
    /// Perplexity 30, 1000 iterations, `theta` 0.5, seed 42, early exaggeration 12.
    fn default() -> Self {
        Self {
            perplexity: 30.0,
            iterations: 1000,
            theta: 0.5,
            seed: 42,
            early_exaggeration: 12.0,
        }
    }
}

impl TsneParams {
    /// Number of nearest neighbours used for the input affinities: `⌈3·perplexity⌉`.
    fn neighbours(&self) -> usize {
        (3.0 * self.perplexity).ceil() as usize
    }

    /// Checks the parameters for a run on `n_points` points, with a message that says what to
    /// change.
    pub fn validate(&self, n_points: usize) -> anyhow::Result<()> {
        let p = self.perplexity;
        ensure!(
            p.is_finite() && p > 0.0,
            "t-SNE perplexity must be a positive number, got {p}"
        );
        ensure!(
            p <= 1e6,
            "t-SNE perplexity {p} is too large: use at most a few hundred"
        );
        ensure!(
            self.iterations >= EXAGGERATION_ITERATIONS,
            "t-SNE needs at least {EXAGGERATION_ITERATIONS} iterations (the early-exaggeration \
             phase), got {}",
            self.iterations
        );
        ensure!(
            self.theta.is_finite() && (0.0..=1.0).contains(&self.theta),
            "t-SNE theta must be between 0 (exact) and 1, got {}",
            self.theta
        );
        ensure!(
            self.early_exaggeration.is_finite() && self.early_exaggeration >= 1.0,
            "t-SNE early exaggeration must be at least 1 (1 = none), got {}",
            self.early_exaggeration
        );
        let needed = self.neighbours() + 1;
        ensure!(
            n_points >= needed,
            "t-SNE with perplexity {p} needs at least {needed} points, got {n_points}: lower \
             the perplexity or pass more points"
        );
        ensure!(
            n_points <= u32::MAX as usize,
            "t-SNE supports at most {} points, got {n_points}",
            u32::MAX
        );
        Ok(())
    }
}

/// Output of [`tsne_2d`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TsneResult {
    /// One `(x, y)` per input row, in input order. Units are arbitrary (distances between
    /// clusters are not meaningful); typical extents are tens of units.
    pub embedding: Vec<(f64, f64)>,
    /// Kullback–Leibler divergence `KL(P‖Q)` of the final embedding, in nats, with the
    /// Barnes–Hut estimate of the normalisation (lower is better).
    pub kl_divergence: f64,
    /// Wall-clock seconds of the whole run (neighbours, affinities and optimisation).
    pub seconds: f64,
}

/// Embeds the rows of `x` (`n` points × `d` features) in 2-d with Barnes–Hut t-SNE.
///
/// Errors (never panics) on invalid parameters (see [`TsneParams::validate`]), too few
/// points for the perplexity, no columns, or a non-finite value in `x`. Duplicated rows are
/// fine. Runs in `O(n²·d)` for the neighbour search plus `O(iterations · n log n)`.
pub fn tsne_2d(x: &Array2<f64>, params: &TsneParams) -> anyhow::Result<TsneResult> {
    run(x, params, None)
}

/// [`tsne_2d`], also pushing `(iteration, KL divergence)` onto `trace` every
/// [`TRACE_EVERY`] iterations when given.
fn run(
    x: &Array2<f64>,
    params: &TsneParams,
    mut trace: Option<&mut Vec<(usize, f64)>>,
) -> anyhow::Result<TsneResult> {
    let t0 = Instant::now();
    let (n, d) = x.dim();
    params.validate(n)?;
    ensure!(d >= 1, "t-SNE input has no columns (shape {n}×0)");
    if let Some((pos, v)) = x.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        anyhow::bail!(
            "t-SNE input has a non-finite value {v} at row {}, column {}",
            pos / d,
            pos % d
        );
    }
    // Row-major copy, whatever the layout of `x`.
    let data: Vec<f64> = x.iter().copied().collect();
    let threads = thread_count();

    let p = input_affinities(&data, n, d, params.perplexity, params.neighbours(), threads);
    let mut y = initial_embedding(&data, n, d, params.seed);

    let lr = (n as f64 / params.early_exaggeration / 4.0).max(50.0);
    let mut update = vec![[0.0f64; 2]; n];
    let mut gains = vec![[1.0f64; 2]; n];
    let mut tree = QuadTree::new(n);
    for it in 0..params.iterations {
        let early = it < EXAGGERATION_ITERATIONS;
        let exaggeration = if early {
            params.early_exaggeration
        } else {
            1.0
        };
        let momentum = if early { EARLY_MOMENTUM } else { LATE_MOMENTUM };
        let want_kl = trace.is_some() && it % TRACE_EVERY == 0;
        let f = forces(&mut tree, &y, &p, params.theta, want_kl, threads);
        if want_kl {
            if let Some(t) = trace.as_deref_mut() {
                t.push((it, f.kl));
            }
        }
        for i in 0..n {
            for a in 0..2 {
                let g = 4.0 * (exaggeration * f.attractive[i][a] - f.repulsive[i][a] / f.z);
                let gain = &mut gains[i][a];
                *gain = if update[i][a] * g < 0.0 {
                    *gain + 0.2
                } else {
                    (*gain * 0.8).max(MIN_GAIN)
                };
                update[i][a] = momentum * update[i][a] - lr * *gain * g;
                y[i][a] += update[i][a];
            }
        }
        recentre(&mut y);
    }
    let f = forces(&mut tree, &y, &p, params.theta, true, threads);
    if let Some(t) = trace {
        t.push((params.iterations, f.kl));
    }
    ensure!(
        y.iter().all(|v| v[0].is_finite() && v[1].is_finite()) && f.kl.is_finite(),
        "t-SNE diverged (non-finite embedding); try a smaller perplexity or fewer iterations"
    );
    Ok(TsneResult {
        embedding: y.iter().map(|v| (v[0], v[1])).collect(),
        kl_divergence: f.kl,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

// ---------------------------------------------------------------------------------------------
// Parallel helper.

/// Number of worker threads: the available parallelism (at least 1).
fn thread_count() -> usize {
    std::thread::available_parallelism().map_or(1, |t| t.get())
}

/// Runs `f` on every item, on up to `threads` threads that take items from a shared queue.
/// Falls back to the calling thread alone if threads cannot be started.
fn par_items<I, F>(items: Vec<I>, threads: usize, f: F)
where
    I: Send,
    F: Fn(I) + Sync,
{
    let n_items = items.len();
    if threads <= 1 || n_items <= 1 {
        items.into_iter().for_each(f);
        return;
    }
    let queue = Mutex::new(items.into_iter());
    let work = || loop {
        let next = queue.lock().unwrap_or_else(PoisonError::into_inner).next();
        match next {
            Some(item) => f(item),
            None => break,
        }
    };
    std::thread::scope(|s| {
        for _ in 1..threads.min(n_items) {
            if std::thread::Builder::new().spawn_scoped(s, work).is_err() {
                break;
            }
        }
        work();
    });
}

/// Calls `f(first_index, chunk)` for every `block`-sized chunk of `out`, in parallel.
fn par_blocks<T, F>(out: &mut [T], block: usize, threads: usize, f: F)
where
    T: Send,
    F: Fn(usize, &mut [T]) + Sync,
{
    let block = block.max(1);
    let chunks: Vec<_> = out.chunks_mut(block).enumerate().collect();
    par_items(chunks, threads, |(b, chunk)| f(b * block, chunk));
}

// ---------------------------------------------------------------------------------------------
// Input affinities.

/// Symmetric sparse joint probabilities `P` in compressed-row form (rows sum to the marginal;
/// all entries sum to 1).
struct SparseP {
    /// `row_start[i]..row_start[i + 1]` indexes row `i` of `cols` and `vals`.
    row_start: Vec<usize>,
    /// Column of every stored entry.
    cols: Vec<u32>,
    /// Value of every stored entry.
    vals: Vec<f64>,
    /// `Σ p log p` over the stored entries (the constant part of the KL divergence).
    entropy_term: f64,
}

/// Exact `k` nearest neighbours of every point, then the conditional probabilities with the
/// requested perplexity, symmetrised.
fn input_affinities(
    data: &[f64],
    n: usize,
    d: usize,
    perplexity: f64,
    k: usize,
    threads: usize,
) -> SparseP {
    // Conditional P_{j|i}: row i holds k (neighbour, probability) pairs.
    let mut cond = vec![(0u32, 0.0f64); n * k];
    let rows_per_block = 16;
    par_blocks(&mut cond, rows_per_block * k, threads, |first, chunk| {
        // The k nearest so far as (squared distance bits, index): for non-negative floats the
        // bit patterns order like the values, and the index breaks ties deterministically.
        let mut heap: BinaryHeap<(u64, u32)> = BinaryHeap::with_capacity(k + 1);
        let mut d2 = vec![0.0; k];
        let mut prob = vec![0.0; k];
        for (r, row) in chunk.chunks_mut(k).enumerate() {
            let i = first / k + r;
            let xi = &data[i * d..(i + 1) * d];
            heap.clear();
            for (j, xj) in data.chunks_exact(d).enumerate() {
                if j == i {
                    continue;
                }
                let dist: f64 = xi.iter().zip(xj).map(|(a, b)| (a - b) * (a - b)).sum();
                let key = (dist.to_bits(), j as u32);
                if heap.len() < k {
                    heap.push(key);
                } else if let Some(mut top) = heap.peek_mut() {
                    if key < *top {
                        *top = key;
                    }
                }
            }
            let mut nearest: Vec<(u64, u32)> = heap.drain().collect();
            nearest.sort_unstable();
            for (slot, &(bits, _)) in d2.iter_mut().zip(&nearest) {
                *slot = f64::from_bits(bits);
            }
            conditional_row(&d2, perplexity, &mut prob);
            // Keep each row sorted by column for the symmetrisation.
            for ((slot, &(_, j)), &pr) in row.iter_mut().zip(&nearest).zip(&prob) {
                *slot = (j, pr);
            }
            row.sort_unstable_by_key(|e| e.0);
        }
    });
    symmetrise(&cond, n, k)
}

/// Conditional probabilities `p_j|i ∝ exp(-β·d²_ij)` over one point's neighbours (squared
/// distances `d2`, ascending), with `β` found by bisection so the perplexity `exp(H)` matches.
fn conditional_row(d2: &[f64], perplexity: f64, prob: &mut [f64]) {
    let k = d2.len();
    let d_min = d2[0];
    let spread = d2[k - 1] - d_min;
    if spread <= 0.0 || !spread.is_finite() {
        prob.fill(1.0 / k as f64);
        return;
    }
    let target = perplexity.ln();
    let mean_shift = d2.iter().map(|v| v - d_min).sum::<f64>() / k as f64;
    let mut beta = (1.0 / mean_shift).min(f64::MAX);
    let (mut lo, mut hi) = (0.0f64, f64::INFINITY);
    for _ in 0..MAX_BANDWIDTH_STEPS {
        let mut sum = 0.0;
        let mut sum_dp = 0.0;
        for (p, &dist) in prob.iter_mut().zip(d2) {
            let shifted = dist - d_min;
            *p = (-beta * shifted).exp();
            sum += *p;
            sum_dp += shifted * *p;
        }
        // `sum >= 1` since the nearest neighbour has shifted distance 0.
        let entropy = sum.ln() + beta * sum_dp / sum;
        let diff = entropy - target;
        if diff.abs() < ENTROPY_TOLERANCE {
            break;
        }
        if diff > 0.0 {
            lo = beta;
            beta = if hi.is_finite() {
                0.5 * (beta + hi)
            } else {
                (beta * 2.0).min(f64::MAX)
            };
        } else {
            hi = beta;
            beta = 0.5 * (beta + lo);
        }
    }
    let sum: f64 = prob.iter().sum();
    for p in prob.iter_mut() {
        *p /= sum;
    }
}

/// `P = (P_j|i + P_i|j) / 2n` from the conditional rows (each sorted by column), normalised to
/// sum to 1.
fn symmetrise(cond: &[(u32, f64)], n: usize, k: usize) -> SparseP {
    // Transpose by counting sort: rows of the transpose come out sorted by column.
    let mut t_start = vec![0usize; n + 1];
    for &(j, _) in cond {
        t_start[j as usize + 1] += 1;
    }
    for i in 0..n {
        t_start[i + 1] += t_start[i];
    }
    let mut fill = t_start.clone();
    let mut t_entries = vec![(0u32, 0.0f64); cond.len()];
    for i in 0..n {
        for &(j, p) in &cond[i * k..(i + 1) * k] {
            t_entries[fill[j as usize]] = (i as u32, p);
            fill[j as usize] += 1;
        }
    }
    // Merge row i of the conditional matrix with row i of its transpose.
    let mut row_start = Vec::with_capacity(n + 1);
    let mut cols = Vec::with_capacity(2 * cond.len());
    let mut vals = Vec::with_capacity(2 * cond.len());
    row_start.push(0);
    for i in 0..n {
        let a = &cond[i * k..(i + 1) * k];
        let b = &t_entries[t_start[i]..t_start[i + 1]];
        let (mut ia, mut ib) = (0, 0);
        while ia < a.len() || ib < b.len() {
            let ca = a.get(ia).map_or(u32::MAX, |e| e.0);
            let cb = b.get(ib).map_or(u32::MAX, |e| e.0);
            let (c, v) = if ca == cb {
                ia += 1;
                ib += 1;
                (ca, a[ia - 1].1 + b[ib - 1].1)
            } else if ca < cb {
                ia += 1;
                (ca, a[ia - 1].1)
            } else {
                ib += 1;
                (cb, b[ib - 1].1)
            };
            cols.push(c);
            vals.push(v);
        }
        row_start.push(cols.len());
    }
    let total: f64 = vals.iter().sum();
    let mut entropy_term = 0.0;
    for v in vals.iter_mut() {
        *v /= total;
        if *v > 0.0 {
            entropy_term += *v * v.ln();
        }
    }
    SparseP {
        row_start,
        cols,
        vals,
        entropy_term,
    }
}

// ---------------------------------------------------------------------------------------------
// Initialisation.

/// One standard normal sample (`rand_distr`).
pub fn gaussian(rng: &mut impl Rng) -> f64 {
    rng.sample(rand_distr::StandardNormal)
}

/// First two principal components of the data, scaled so the first has standard deviation
/// [`INIT_STD`], plus seeded jitter; seeded Gaussian noise if the data has no variance.
fn initial_embedding(data: &[f64], n: usize, d: usize, seed: u64) -> Vec<[f64; 2]> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mean, cov) = mean_and_scatter(data, n, d);
    let v = top_two_eigenvectors(&cov, d, &mut rng);
    let mut y: Vec<[f64; 2]> = data
        .chunks_exact(d)
        .map(|row| {
            let mut out = [0.0; 2];
            for (o, vc) in out.iter_mut().zip(&v) {
                *o = row
                    .iter()
                    .zip(&mean)
                    .zip(vc)
                    .map(|((x, m), l)| (x - m) * l)
                    .sum();
            }
            out
        })
        .collect();
    let std0 = (y.iter().map(|p| p[0] * p[0]).sum::<f64>() / n as f64).sqrt();
    if std0.is_finite() && std0 > 0.0 {
        let scale = INIT_STD / std0;
        for p in y.iter_mut() {
            p[0] = p[0] * scale + INIT_JITTER * gaussian(&mut rng);
            p[1] = p[1] * scale + INIT_JITTER * gaussian(&mut rng);
        }
    } else {
        for p in y.iter_mut() {
            p[0] = INIT_STD * gaussian(&mut rng);
            p[1] = INIT_STD * gaussian(&mut rng);
        }
    }
    recentre(&mut y);
    y
}

/// The mean of the rows of `data` (`n × d`) and their scatter matrix (the covariance times
/// `n`, `d × d`, row-major).
fn mean_and_scatter(data: &[f64], n: usize, d: usize) -> (Vec<f64>, Vec<f64>) {
    let mut mean = vec![0.0; d];
    for row in data.chunks_exact(d) {
        for (m, v) in mean.iter_mut().zip(row) {
            *m += v;
        }
    }
    for m in mean.iter_mut() {
        *m /= n as f64;
    }
    // Covariance (unnormalised), upper triangle then mirrored.
    let mut cov = vec![0.0; d * d];
    let mut centred = vec![0.0; d];
    for row in data.chunks_exact(d) {
        for ((c, v), m) in centred.iter_mut().zip(row).zip(&mean) {
            *c = v - m;
        }
        for a in 0..d {
            let ca = centred[a];
            for b in a..d {
                cov[a * d + b] += ca * centred[b];
            }
        }
    }
    for a in 0..d {
        for b in 0..a {
            cov[a * d + b] = cov[b * d + a];
        }
    }
    (mean, cov)
}

/// The two leading eigenvectors of the symmetric `d × d` matrix `cov` by block power iteration
/// from a seeded start, each signed so that its largest loading is positive.
fn top_two_eigenvectors(cov: &[f64], d: usize, rng: &mut ChaCha8Rng) -> [Vec<f64>; 2] {
    // Block power iteration for the top-2 eigenvectors.
    let mut v: [Vec<f64>; 2] = [
        (0..d).map(|_| gaussian(rng)).collect(),
        (0..d).map(|_| gaussian(rng)).collect(),
    ];
    orthonormalise(&mut v);
    for _ in 0..300 {
        let mut w: [Vec<f64>; 2] = [vec![0.0; d], vec![0.0; d]];
        for (wc, vc) in w.iter_mut().zip(&v) {
            for a in 0..d {
                wc[a] = (0..d).map(|b| cov[a * d + b] * vc[b]).sum();
            }
        }
        if w[0].iter().all(|&x| x == 0.0) {
            break; // no variance at all
        }
        let old = v.clone();
        // A collapsed second vector (rank-1 data) keeps its previous direction.
        let keep_second = w[1].iter().map(|x| x * x).sum::<f64>() == 0.0;
        if keep_second {
            w[1].clone_from(&old[1]);
        }
        orthonormalise(&mut w);
        v = w;
        let change: f64 = (0..2)
            .map(|c| {
                let dot: f64 = v[c].iter().zip(&old[c]).map(|(a, b)| a * b).sum();
                1.0 - dot.abs()
            })
            .sum();
        if change < 1e-15 {
            break;
        }
    }
    // Deterministic signs: the largest loading of each component is positive.
    for vc in v.iter_mut() {
        let big = vc
            .iter()
            .fold(0.0f64, |acc, &x| if x.abs() > acc.abs() { x } else { acc });
        if big < 0.0 {
            vc.iter_mut().for_each(|x| *x = -*x);
        }
    }
    v
}

/// Gram–Schmidt on two vectors; a vector that vanishes is replaced by a unit vector
/// orthogonal to the first.
fn orthonormalise(v: &mut [Vec<f64>; 2]) {
    let d = v[0].len();
    let norm = |x: &[f64]| x.iter().map(|a| a * a).sum::<f64>().sqrt();
    let n0 = norm(&v[0]);
    if n0 > 0.0 && n0.is_finite() {
        v[0].iter_mut().for_each(|x| *x /= n0);
    } else {
        v[0] = (0..d).map(|i| if i == 0 { 1.0 } else { 0.0 }).collect();
    }
    let dot: f64 = v[0].iter().zip(&v[1]).map(|(a, b)| a * b).sum();
    let (first, second) = v.split_at_mut(1);
    for (b, a) in second[0].iter_mut().zip(&first[0]) {
        *b -= dot * a;
    }
    let n1 = norm(&v[1]);
    if n1 > 1e-12 && n1.is_finite() {
        v[1].iter_mut().for_each(|x| *x /= n1);
    } else if d >= 2 {
        // Any unit vector orthogonal to v[0]: rotate its two largest loadings.
        let mut idx: Vec<usize> = (0..d).collect();
        idx.sort_by(|&a, &b| v[0][b].abs().total_cmp(&v[0][a].abs()));
        let (a, b) = (idx[0], idx[1]);
        let mut w = vec![0.0; d];
        w[a] = -v[0][b];
        w[b] = v[0][a];
        let nw = norm(&w);
        if nw > 0.0 {
            w.iter_mut().for_each(|x| *x /= nw);
        } else {
            w[b] = 1.0;
        }
        v[1] = w;
    } else {
        v[1] = vec![0.0; d];
    }
}

/// Moves the embedding's mean to the origin.
fn recentre(y: &mut [[f64; 2]]) {
    let n = y.len() as f64;
    let (mx, my) = y
        .iter()
        .fold((0.0, 0.0), |(sx, sy), p| (sx + p[0], sy + p[1]));
    let (mx, my) = (mx / n, my / n);
    for p in y.iter_mut() {
        p[0] -= mx;
        p[1] -= my;
    }
}

// ---------------------------------------------------------------------------------------------
// Barnes–Hut quadtree and gradient.

/// A quadtree cell, stored in depth-first order: its first child (if any) follows it, and
/// `skip` is the index just past its subtree.
#[derive(Debug, Clone, Copy)]
struct Node {
    /// Centre of mass.
    cx: f64,
    cy: f64,
    /// Number of points.
    count: f64,
    /// Squared larger side of the tight bounding box of the points.
    size2: f64,
    /// Tight bounding box of the points.
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
    /// Range of sorted positions of the points.
    start: u32,
    end: u32,
    /// Index just past this node's subtree.
    skip: u32,
    /// Whether the node has no children.
    leaf: bool,
}

/// Quadtree over the embedding, rebuilt every iteration; keeps the Morton order of the
/// previous iteration so the sort is nearly linear.
struct QuadTree {
    nodes: Vec<Node>,
    /// Sorted position → original index.
    order: Vec<u32>,
    /// Morton code of every original index.
    code_of: Vec<u64>,
    /// Morton codes in sorted order.
    codes: Vec<u64>,
    /// Coordinates in sorted order.
    sx: Vec<f64>,
    sy: Vec<f64>,
}

/// Spreads the low 31 bits of `v` to the even bit positions.
fn spread_bits(v: u32) -> u64 {
    let mut x = u64::from(v) & 0x7fff_ffff;
    x = (x | (x << 16)) & 0x0000_ffff_0000_ffff;
    x = (x | (x << 8)) & 0x00ff_00ff_00ff_00ff;
    x = (x | (x << 4)) & 0x0f0f_0f0f_0f0f_0f0f;
    x = (x | (x << 2)) & 0x3333_3333_3333_3333;
    x = (x | (x << 1)) & 0x5555_5555_5555_5555;
    x
}

/// Count, coordinate sums and bounding box `[n, Σx, Σy, x0, x1, y0, y1]` of a set of points.
type Summary = [f64; 7];

/// The summary of no points.
const EMPTY_SUMMARY: Summary = [0.0, 0.0, 0.0, f64::MAX, f64::MIN, f64::MAX, f64::MIN];

/// Adds the summary `b` into `a`.
fn merge_summary(a: &mut Summary, b: &Summary) {
    a[0] += b[0];
    a[1] += b[1];
    a[2] += b[2];
    a[3] = a[3].min(b[3]);
    a[4] = a[4].max(b[4]);
    a[5] = a[5].min(b[5]);
    a[6] = a[6].max(b[6]);
}

impl QuadTree {
    fn new(n: usize) -> Self {
        Self {
            nodes: Vec::new(),
            order: (0..n as u32).collect(),
            code_of: vec![0; n],
            codes: vec![0; n],
            sx: vec![0.0; n],
            sy: vec![0.0; n],
        }
    }

    /// Rebuilds the tree for embedding `y`.
    fn build(&mut self, y: &[[f64; 2]]) {
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for p in y {
            x0 = x0.min(p[0]);
            x1 = x1.max(p[0]);
            y0 = y0.min(p[1]);
            y1 = y1.max(p[1]);
        }
        let range = (x1 - x0).max(y1 - y0);
        let scale = if range > 0.0 {
            f64::from(0x7fff_ffffu32) / range
        } else {
            0.0
        };
        for (c, p) in self.code_of.iter_mut().zip(y) {
            let qx = ((p[0] - x0) * scale) as u32; // saturating cast
            let qy = ((p[1] - y0) * scale) as u32;
            *c = spread_bits(qx) | (spread_bits(qy) << 1);
        }
        let code_of = &self.code_of;
        self.order.sort_by_key(|&i| code_of[i as usize]);
        for (pos, &i) in self.order.iter().enumerate() {
            let i = i as usize;
            self.codes[pos] = self.code_of[i];
            self.sx[pos] = y[i][0];
            self.sy[pos] = y[i][1];
        }
        self.nodes.clear();
        if !y.is_empty() {
            self.build_node(0, y.len());
        }
    }

    /// Appends the subtree of sorted positions `start..end` and returns its summary.
    fn build_node(&mut self, start: usize, end: usize) -> Summary {
        let idx = self.nodes.len();
        self.nodes.push(Node {
            cx: 0.0,
            cy: 0.0,
            count: 0.0,
            size2: 0.0,
            x0: 0.0,
            x1: 0.0,
            y0: 0.0,
            y1: 0.0,
            start: start as u32,
            end: end as u32,
            skip: 0,
            leaf: true,
        });
        let differing = self.codes[start] ^ self.codes[end - 1];
        let mut s = EMPTY_SUMMARY;
        if end - start <= LEAF_SIZE || differing == 0 {
            for q in start..end {
                let (x, y) = (self.sx[q], self.sy[q]);
                merge_summary(&mut s, &[1.0, x, y, x, x, y, y]);
            }
        } else {
            self.nodes[idx].leaf = false;
            // The highest differing bit pair splits the cell into quadrants.
            let shift = (63 - differing.leading_zeros()) & !1;
            let mut lo = start;
            for quadrant in 0..4u64 {
                let hi =
                    lo + self.codes[lo..end].partition_point(|&c| (c >> shift) & 3 <= quadrant);
                if hi > lo {
                    let child = self.build_node(lo, hi);
                    merge_summary(&mut s, &child);
                }
                lo = hi;
            }
        }
        let side = (s[4] - s[3]).max(s[6] - s[5]);
        let skip = self.nodes.len() as u32;
        let node = &mut self.nodes[idx];
        node.count = s[0];
        node.cx = s[1] / s[0];
        node.cy = s[2] / s[0];
        node.size2 = side * side;
        [node.x0, node.x1, node.y0, node.y1] = [s[3], s[4], s[5], s[6]];
        node.skip = skip;
        s
    }

    /// Groups of nearby points that share one tree walk: the topmost nodes with at most
    /// [`GROUP_SIZE`] points, and leaves. Their point ranges partition all sorted positions,
    /// in order.
    fn groups(&self) -> Vec<usize> {
        let mut groups = Vec::new();
        let mut i = 0;
        while i < self.nodes.len() {
            let nd = &self.nodes[i];
            if nd.leaf || nd.count <= GROUP_SIZE as f64 {
                groups.push(i);
                i = nd.skip as usize;
            } else {
                i += 1;
            }
        }
        groups
    }

    /// Fills `list` with what the points of group node `g` interact with: the centre of mass
    /// of every cell whose larger side is below `theta` times its distance to the group's
    /// bounding box (the Barnes–Hut criterion, for all the group's points at once), and the
    /// points of the other leaves, including the group's own points (each point then also
    /// meets itself, at distance 0).
    fn interaction_list(&self, g: &Node, theta2: f64, list: &mut InteractionList) {
        list.clear();
        let mut i = 0;
        while i < self.nodes.len() {
            let nd = &self.nodes[i];
            let overlaps = nd.start < g.end && g.start < nd.end;
            if !overlaps {
                let dx = (g.x0 - nd.cx).max(nd.cx - g.x1).max(0.0);
                let dy = (g.y0 - nd.cy).max(nd.cy - g.y1).max(0.0);
                if nd.size2 < theta2 * (dx * dx + dy * dy) {
                    list.push(nd.cx, nd.cy, nd.count);
                    i = nd.skip as usize;
                    continue;
                }
            }
            if nd.leaf {
                for q in nd.start as usize..nd.end as usize {
                    list.push(self.sx[q], self.sy[q], 1.0);
                }
                i = nd.skip as usize;
            } else {
                i += 1;
            }
        }
    }
}

/// Points of a group handled together by [`InteractionList::sums`] (vectorised across them).
const BLOCK: usize = 8;

/// Positions and masses (numbers of points) of what a group of points interacts with, in
/// single precision for speed.
#[derive(Default)]
struct InteractionList {
    x: Vec<f32>,
    y: Vec<f32>,
    m: Vec<f32>,
}

impl InteractionList {
    fn clear(&mut self) {
        self.x.clear();
        self.y.clear();
        self.m.clear();
    }

    fn push(&mut self, x: f64, y: f64, m: f64) {
        self.x.push(x as f32);
        self.y.push(y as f32);
        self.m.push(m as f32);
    }

    /// For each of [`BLOCK`] points `(px[b], py[b])`: `(Σ m w² Δx, Σ m w² Δy, Σ m w)` over the
    /// list, with `Δ = (px, py) − (x, y)` and `w = 1 / (1 + ‖Δ‖²)`.
    fn sums(&self, px: &[f32; BLOCK], py: &[f32; BLOCK]) -> [[f32; BLOCK]; 3] {
        let mut fx = [0.0f32; BLOCK];
        let mut fy = [0.0f32; BLOCK];
        let mut z = [0.0f32; BLOCK];
        for ((&ex, &ey), &em) in self.x.iter().zip(&self.y).zip(&self.m) {
            for b in 0..BLOCK {
                let dx = px[b] - ex;
                let dy = py[b] - ey;
                let w = 1.0 / (1.0 + dx * dx + dy * dy);
                let mw = em * w;
                z[b] += mw;
                let mww = mw * w;
                fx[b] += mww * dx;
                fy[b] += mww * dy;
            }
        }
        [fx, fy, z]
    }
}

/// Gradient terms at one embedding.
struct Forces {
    /// `Σ_j p_ij w_ij (y_i − y_j)` per point (original order).
    attractive: Vec<[f64; 2]>,
    /// `Σ_j w_ij² (y_i − y_j)` per point (original order).
    repulsive: Vec<[f64; 2]>,
    /// `Z = Σ_{i≠j} w_ij`.
    z: f64,
    /// `KL(P‖Q)` if requested, else NaN.
    kl: f64,
}

/// Attractive and repulsive terms (the gradient is `4·(exaggeration·attractive − repulsive/Z)`)
/// and, if `want_kl`, the KL divergence.
///
/// A numeric kernel, kept in one piece on purpose (it is the t-SNE's hot loop, measured in
/// BENCHMARKS.md): the parallel split over points, the sparse attractive pass and the Barnes-Hut
/// repulsive pass share per-thread buffers that helper functions would have to thread through.
fn forces(
    tree: &mut QuadTree,
    y: &[[f64; 2]],
    p: &SparseP,
    theta: f64,
    want_kl: bool,
    threads: usize,
) -> Forces {
    let n = y.len();
    // Attractive terms in row order (P streams from memory), with Σ_j p_ij log(1 + d²_ij).
    let mut attr = vec![[0.0f64; 3]; n];
    par_blocks(&mut attr, WORK_UNIT, threads, |first, chunk| {
        for (off, out) in chunk.iter_mut().enumerate() {
            let i = first + off;
            let [yx, yy] = y[i];
            let (mut ax, mut ay) = (0.0, 0.0);
            let row = p.row_start[i]..p.row_start[i + 1];
            let (cols, vals) = (&p.cols[row.clone()], &p.vals[row]);
            for (&j, &pij) in cols.iter().zip(vals) {
                let [jx, jy] = y[j as usize];
                let dx = yx - jx;
                let dy = yy - jy;
                let pw = pij / (1.0 + dx * dx + dy * dy);
                ax += pw * dx;
                ay += pw * dy;
            }
            let mut log_term = 0.0;
            if want_kl {
                for (&j, &pij) in cols.iter().zip(vals) {
                    let [jx, jy] = y[j as usize];
                    log_term += pij * (1.0 + (yx - jx).powi(2) + (yy - jy).powi(2)).ln();
                }
            }
            *out = [ax, ay, log_term];
        }
    });

    // Repulsive terms in tree order, one tree walk per group of points.
    tree.build(y);
    let tree = &*tree;
    let theta2 = theta * theta;
    let groups = tree.groups();
    // Per sorted position: repulsive x, y; z.
    let mut rep = vec![[0.0f64; 3]; n];
    // Work units of whole groups, about `WORK_UNIT` points each.
    let mut units = Vec::new();
    let mut rest: &mut [[f64; 3]] = &mut rep;
    let mut first = 0;
    while first < groups.len() {
        let start = tree.nodes[groups[first]].start as usize;
        let mut last = first;
        let mut end = start;
        while last < groups.len() && end - start < WORK_UNIT {
            end = tree.nodes[groups[last]].end as usize;
            last += 1;
        }
        let (chunk, tail) = std::mem::take(&mut rest).split_at_mut(end - start);
        rest = tail;
        units.push((first..last, start, chunk));
        first = last;
    }
    par_items(units, threads, |(range, start, chunk)| {
        let mut list = InteractionList::default();
        for &g in &groups[range] {
            let nd = &tree.nodes[g];
            tree.interaction_list(nd, theta2, &mut list);
            let (g0, g1) = (nd.start as usize, nd.end as usize);
            for b0 in (g0..g1).step_by(BLOCK) {
                let b1 = (b0 + BLOCK).min(g1);
                // Unused slots repeat the block's first point; their sums are dropped.
                let mut px = [tree.sx[b0] as f32; BLOCK];
                let mut py = [tree.sy[b0] as f32; BLOCK];
                for (b, pos) in (b0..b1).enumerate() {
                    px[b] = tree.sx[pos] as f32;
                    py[b] = tree.sy[pos] as f32;
                }
                let [fx, fy, z] = list.sums(&px, &py);
                for (b, pos) in (b0..b1).enumerate() {
                    // The point met itself once in the list, with w = 1 and no force.
                    let zb = f64::from(z[b]) - 1.0;
                    chunk[pos - start] = [f64::from(fx[b]), f64::from(fy[b]), zb];
                }
            }
        }
    });

    let mut repulsive = vec![[0.0; 2]; n];
    let mut z = 0.0;
    for (r, &i) in rep.iter().zip(&tree.order) {
        repulsive[i as usize] = [r[0], r[1]];
        z += r[2];
    }
    let z = z.max(f64::MIN_POSITIVE);
    let kl = if want_kl {
        p.entropy_term + attr.iter().map(|a| a[2]).sum::<f64>() + z.ln()
    } else {
        f64::NAN
    };
    Forces {
        attractive: attr.iter().map(|a| [a[0], a[1]]).collect(),
        repulsive,
        z,
        kl,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `blobs` Gaussian blobs of `per_blob` points in `dims` dimensions, centres `separation`
    /// apart along successive axes, unit spread; returns the data and the blob labels.
    fn blobs(
        blobs: usize,
        per_blob: usize,
        dims: usize,
        separation: f64,
    ) -> (Array2<f64>, Vec<usize>) {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let n = blobs * per_blob;
        let mut x = Array2::zeros((n, dims));
        let mut labels = Vec::with_capacity(n);
        for i in 0..n {
            let b = i % blobs;
            labels.push(b);
            for j in 0..dims {
                let centre = if j == b % dims { separation } else { 0.0 };
                x[[i, j]] = centre + gaussian(&mut rng);
            }
        }
        (x, labels)
    }

    fn nearest(emb: &[(f64, f64)], i: usize) -> usize {
        let (xi, yi) = emb[i];
        (0..emb.len())
            .filter(|&j| j != i)
            .min_by(|&a, &b| {
                let da = (emb[a].0 - xi).powi(2) + (emb[a].1 - yi).powi(2);
                let db = (emb[b].0 - xi).powi(2) + (emb[b].1 - yi).powi(2);
                da.total_cmp(&db)
            })
            .unwrap_or(i)
    }

    fn quick() -> TsneParams {
        TsneParams {
            perplexity: 10.0,
            iterations: 300,
            ..TsneParams::default()
        }
    }

    #[test]
    fn output_has_one_finite_point_per_row() {
        let (x, _) = blobs(3, 40, 4, 5.0);
        let r = tsne_2d(&x, &quick()).unwrap();
        assert_eq!(r.embedding.len(), 120);
        assert!(r
            .embedding
            .iter()
            .all(|p| p.0.is_finite() && p.1.is_finite()));
        assert!(r.kl_divergence.is_finite() && r.kl_divergence > 0.0);
        assert!(r.seconds >= 0.0);
    }

    #[test]
    fn refuses_too_few_points_with_a_clear_message() {
        let (x, _) = blobs(2, 25, 3, 5.0);
        let err = tsne_2d(&x, &TsneParams::default()).unwrap_err().to_string();
        assert_eq!(
            err,
            "t-SNE with perplexity 30 needs at least 91 points, got 50: lower the perplexity \
             or pass more points"
        );
        assert!(TsneParams::default().validate(91).is_ok());
        assert!(TsneParams::default().validate(90).is_err());
    }

    #[test]
    fn refuses_bad_parameters_and_input() {
        let bad = |p: TsneParams, what: &str| {
            let err = p.validate(1000).unwrap_err().to_string();
            assert!(err.contains(what), "{err}");
        };
        let d = TsneParams::default;
        bad(
            TsneParams {
                perplexity: 0.0,
                ..d()
            },
            "positive",
        );
        bad(
            TsneParams {
                perplexity: f64::NAN,
                ..d()
            },
            "positive",
        );
        bad(
            TsneParams {
                iterations: 100,
                ..d()
            },
            "at least 250 iterations",
        );
        bad(TsneParams { theta: 1.5, ..d() }, "theta");
        bad(
            TsneParams {
                early_exaggeration: 0.5,
                ..d()
            },
            "exaggeration",
        );

        let (mut x, _) = blobs(2, 50, 3, 5.0);
        x[[7, 2]] = f64::NAN;
        let err = tsne_2d(&x, &quick()).unwrap_err().to_string();
        assert!(
            err.contains("non-finite value NaN at row 7, column 2"),
            "{err}"
        );
        let empty = Array2::<f64>::zeros((100, 0));
        assert!(tsne_2d(&empty, &quick()).is_err());
    }

    #[test]
    fn separates_two_blobs_and_kl_decreases() {
        let (x, labels) = blobs(2, 100, 5, 10.0);
        let params = TsneParams {
            iterations: 500,
            ..TsneParams::default()
        };
        let mut trace = Vec::new();
        let r = run(&x, &params, Some(&mut trace)).unwrap();
        for i in 0..labels.len() {
            assert_eq!(labels[nearest(&r.embedding, i)], labels[i], "point {i}");
        }
        // Centroid distance much larger than the spread within a blob.
        let centroid = |b: usize| {
            let pts: Vec<_> = (0..200)
                .filter(|&i| labels[i] == b)
                .map(|i| r.embedding[i])
                .collect();
            let m = pts.len() as f64;
            let c = (
                pts.iter().map(|p| p.0).sum::<f64>() / m,
                pts.iter().map(|p| p.1).sum::<f64>() / m,
            );
            let spread = (pts
                .iter()
                .map(|p| (p.0 - c.0).powi(2) + (p.1 - c.1).powi(2))
                .sum::<f64>()
                / m)
                .sqrt();
            (c, spread)
        };
        let ((c0, s0), (c1, s1)) = (centroid(0), centroid(1));
        let dist = ((c0.0 - c1.0).powi(2) + (c0.1 - c1.1).powi(2)).sqrt();
        assert!(
            dist > 3.0 * (s0 + s1),
            "centroids {dist} apart, spreads {s0}, {s1}"
        );
        // KL goes down: well below the start, and non-increasing (up to noise) once the
        // exaggeration is off.
        let first = trace[0].1;
        let last = trace.last().unwrap().1;
        assert!(last < 0.5 * first, "KL {first} -> {last}: {trace:?}");
        let late: Vec<f64> = trace.iter().filter(|t| t.0 >= 300).map(|t| t.1).collect();
        assert!(late.windows(2).all(|w| w[1] <= w[0] + 1e-3), "{trace:?}");
        assert!((last - r.kl_divergence).abs() < 1e-12);
    }

    #[test]
    fn same_seed_gives_identical_output() {
        let (x, _) = blobs(3, 40, 4, 5.0);
        let a = tsne_2d(&x, &quick()).unwrap();
        let b = tsne_2d(&x, &quick()).unwrap();
        assert_eq!(a.embedding, b.embedding);
        assert_eq!(a.kl_divergence, b.kl_divergence);
    }

    #[test]
    fn duplicated_points_are_fine() {
        let (mut x, _) = blobs(2, 50, 3, 5.0);
        for i in 0..60 {
            let row = x.row(0).to_owned();
            x.row_mut(i).assign(&row);
        }
        let r = tsne_2d(&x, &quick()).unwrap();
        assert!(r
            .embedding
            .iter()
            .all(|p| p.0.is_finite() && p.1.is_finite()));
        // All identical points, and a single column.
        let same = Array2::<f64>::ones((40, 1));
        let r = tsne_2d(&same, &quick()).unwrap();
        assert!(r
            .embedding
            .iter()
            .all(|p| p.0.is_finite() && p.1.is_finite()));
    }

    #[test]
    fn barnes_hut_matches_exact_forces() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let n = 500;
        let y: Vec<[f64; 2]> = (0..n)
            .map(|i| {
                let c = (i % 4) as f64 * 6.0;
                [c + gaussian(&mut rng), c * 0.5 + gaussian(&mut rng)]
            })
            .collect();
        let (x, _) = blobs(2, n / 2, 3, 4.0);
        let data: Vec<f64> = x.iter().copied().collect();
        let p = input_affinities(&data, n, 3, 10.0, 30, 2);
        let mut tree = QuadTree::new(n);
        let exact = forces(&mut tree, &y, &p, 0.0, true, 2);
        let bh = forces(&mut tree, &y, &p, 0.5, true, 2);
        assert!(
            (bh.z / exact.z - 1.0).abs() < 0.01,
            "{} vs {}",
            bh.z,
            exact.z
        );
        assert!((bh.kl - exact.kl).abs() < 0.01);
        let (mut err, mut norm) = (0.0, 0.0);
        for i in 0..n {
            for a in 0..2 {
                err += (bh.repulsive[i][a] - exact.repulsive[i][a]).powi(2);
                norm += exact.repulsive[i][a].powi(2);
            }
        }
        assert!(
            (err / norm).sqrt() < 0.05,
            "relative error {}",
            (err / norm).sqrt()
        );
        // Exact repulsion by brute force.
        let (mut z, mut f0) = (0.0, [0.0; 2]);
        for i in 0..n {
            for j in 0..n {
                if i != j {
                    let (dx, dy) = (y[i][0] - y[j][0], y[i][1] - y[j][1]);
                    let w = 1.0 / (1.0 + dx * dx + dy * dy);
                    z += w;
                    if i == 0 {
                        f0[0] += w * w * dx;
                        f0[1] += w * w * dy;
                    }
                }
            }
        }
        // The kernel sums in single precision.
        assert!((z / exact.z - 1.0).abs() < 1e-5, "{z} vs {}", exact.z);
        let f0_norm = f0[0].hypot(f0[1]);
        assert!((f0[0] - exact.repulsive[0][0]).abs() < 1e-5 * f0_norm);
        assert!((f0[1] - exact.repulsive[0][1]).abs() < 1e-5 * f0_norm);
    }

    #[test]
    fn affinities_are_symmetric_and_have_the_perplexity() {
        let (x, _) = blobs(2, 60, 3, 4.0);
        let data: Vec<f64> = x.iter().copied().collect();
        let n = 120;
        let p = input_affinities(&data, n, 3, 10.0, 30, 2);
        let total: f64 = p.vals.iter().sum();
        assert!((total - 1.0).abs() < 1e-12);
        let get = |i: usize, j: usize| {
            let r = p.row_start[i]..p.row_start[i + 1];
            p.cols[r.clone()]
                .iter()
                .position(|&c| c as usize == j)
                .map_or(0.0, |k| p.vals[r.start + k])
        };
        for i in 0..n {
            for &j in &p.cols[p.row_start[i]..p.row_start[i + 1]] {
                assert!((get(i, j as usize) - get(j as usize, i)).abs() < 1e-15);
            }
        }
        let d2: Vec<f64> = (0..30).map(|i| (i as f64 * 0.37).powi(2)).collect();
        let mut prob = vec![0.0; 30];
        conditional_row(&d2, 10.0, &mut prob);
        let h: f64 = -prob
            .iter()
            .filter(|&&q| q > 0.0)
            .map(|q| q * q.ln())
            .sum::<f64>();
        assert!((h.exp() - 10.0).abs() < 1e-3, "perplexity {}", h.exp());
    }
}
