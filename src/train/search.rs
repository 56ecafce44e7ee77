//! Hyper-parameter search for the autoencoder: a grid or seeded random search, each candidate
//! scored by k-fold cross-validation with **fresh weights in every fold**, resumable fold by fold.
//!
//! Folder layout: `search_config.json` (the config the folder was started with), `folds/` with one
//! JSON file per finished (candidate, fold), `results.json` and `results.csv` (one row per
//! candidate, sorted by mean validation loss).

use super::autoencoder::{fit_epochs, AutoencoderConfig, AutoencoderRun};
use super::{OptimizerConfig, OptimizerKind, Progress};
use crate::data::{kfold_splits, Dataset, Fold};
use crate::fsutil;
use crate::runtime::Profile;
use anyhow::Context;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;

/// The space searched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
#[serde(deny_unknown_fields)]
pub enum SearchSpace {
    /// Every combination of the listed values.
    Grid {
        /// Latent sizes (the homework: 10, 30).
        latent_dims: Vec<i64>,
        /// Learning rates (the homework: 5e-3, 1e-3, 5e-4).
        learning_rates: Vec<f64>,
        /// Weight decays (the homework: 1e-5, 1e-6, 0).
        weight_decays: Vec<f64>,
        /// Optimizers (the homework's grid: Adam only).
        optimizers: Vec<OptimizerKind>,
    },
    /// `samples` configurations drawn with `seed`: latent size and optimizer uniformly from the
    /// lists, learning rate log-uniformly from `[lr_min, lr_max]`, weight decay log-uniformly from
    /// `[wd_min, wd_max]` or exactly 0 with probability `wd_zero_probability`.
    Random {
        /// Number of configurations.
        samples: usize,
        /// Seed of the draw.
        seed: u64,
        /// Latent sizes to choose from.
        latent_dims: Vec<i64>,
        /// Smallest learning rate.
        lr_min: f64,
        /// Largest learning rate.
        lr_max: f64,
        /// Smallest non-zero weight decay.
        wd_min: f64,
        /// Largest weight decay.
        wd_max: f64,
        /// Chance of no weight decay at all.
        wd_zero_probability: f64,
        /// Optimizers to choose from.
        optimizers: Vec<OptimizerKind>,
    },
}

/// A search: the base training config (data, architecture, epochs per fold…), the space and k.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchConfig {
    /// Everything not searched over; `epochs` is the number of epochs per fold.
    pub base: AutoencoderConfig,
    /// What is searched.
    pub space: SearchSpace,
    /// Number of folds (k ≥ 2).
    pub folds: usize,
    /// Seed of the fold split.
    pub split_seed: u64,
}

/// One point of the space.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Candidate {
    /// Stable short id, e.g. `z10-adam-lr1e-3-wd0`.
    pub id: String,
    /// Latent size.
    pub latent_dim: i64,
    /// Optimizer, learning rate and weight decay.
    pub optimizer: OptimizerConfig,
}

/// The result of one (candidate, fold).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldResult {
    /// Candidate id.
    pub candidate: String,
    /// 0-based fold.
    pub fold: usize,
    /// Validation loss after each epoch (eval mode).
    pub valid_curve: Vec<f64>,
    /// Training loss after each epoch.
    pub train_curve: Vec<f64>,
    /// Final validation loss.
    pub valid_loss: f64,
    /// Seconds spent.
    pub seconds: f64,
    /// Sum of the initial weights (shows that every fold starts afresh).
    pub initial_weight_checksum: f64,
}

/// One row of the results table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchRow {
    /// The candidate.
    pub candidate: Candidate,
    /// Mean validation loss over folds.
    pub mean: f64,
    /// Standard deviation over folds (population).
    pub std: f64,
    /// Per-fold validation losses.
    pub per_fold: Vec<f64>,
}

/// The whole search's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResults {
    /// Rows sorted by mean validation loss, best first.
    pub rows: Vec<SearchRow>,
    /// Every fold result, in candidate then fold order.
    pub folds: Vec<FoldResult>,
}

impl SearchResults {
    /// The best row.
    pub fn best(&self) -> Option<&SearchRow> {
        self.rows.first()
    }

    /// The results as CSV (one row per candidate).
    pub fn to_csv(&self) -> String {
        let k = self.rows.first().map(|r| r.per_fold.len()).unwrap_or(0);
        let mut s = String::from(
            "rank,id,latent_dim,optimizer,lr,weight_decay,mean_valid_loss,std_valid_loss",
        );
        for f in 0..k {
            s.push_str(&format!(",fold{}", f + 1));
        }
        s.push('\n');
        for (i, r) in self.rows.iter().enumerate() {
            let c = &r.candidate;
            s.push_str(&format!(
                "{},{},{},{:?},{},{},{:.6},{:.6}",
                i + 1,
                c.id,
                c.latent_dim,
                c.optimizer.kind,
                c.optimizer.lr,
                c.optimizer.weight_decay,
                r.mean,
                r.std
            ));
            for v in &r.per_fold {
                s.push_str(&format!(",{v:.6}"));
            }
            s.push('\n');
        }
        s
    }
}

fn short(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else {
        format!("{x:.0e}")
    }
}

impl SearchConfig {
    /// The homework's grid (latent {10, 30} × lr {5e-3, 1e-3, 5e-4} × wd {1e-5, 1e-6, 0}, Adam),
    /// 5 folds. `full`: 5 epochs per fold on all 60,000 images (90 trainings, 450 epochs of 48,000
    /// images: about 75 minutes with one thread on a quiet 2-core machine); `quick`: a 2×1×2 grid,
    /// k = 2, one epoch on 1,000 images.
    pub fn homework(profile: Profile) -> Self {
        let mut base = AutoencoderConfig::homework(profile);
        base.name = "search".into();
        match profile {
            Profile::Full => {
                base.epochs = 5;
                SearchConfig {
                    base,
                    space: SearchSpace::Grid {
                        latent_dims: vec![10, 30],
                        learning_rates: vec![5e-3, 1e-3, 5e-4],
                        weight_decays: vec![1e-5, 1e-6, 0.0],
                        optimizers: vec![OptimizerKind::Adam],
                    },
                    folds: 5,
                    split_seed: 7,
                }
            }
            Profile::Quick => {
                base.epochs = 1;
                base.train_limit = Some(1000);
                SearchConfig {
                    base,
                    space: SearchSpace::Grid {
                        latent_dims: vec![10, 30],
                        learning_rates: vec![1e-3],
                        weight_decays: vec![1e-5, 0.0],
                        optimizers: vec![OptimizerKind::Adam],
                    },
                    folds: 2,
                    split_seed: 7,
                }
            }
        }
    }

    /// Random search on the same budget as [`SearchConfig::homework`]'s grid: as many
    /// configurations, the same folds, epochs and data, drawn from the ranges the grid spans
    /// (latent 10 or 30, learning rate log-uniform in [5e-4, 5e-3], weight decay log-uniform in
    /// [1e-6, 1e-5] or, one time in three, 0; Adam).
    pub fn random(profile: Profile) -> Self {
        let grid = Self::homework(profile);
        let samples = grid.candidates().map(|c| c.len()).unwrap_or(1);
        let mut base = grid.base.clone();
        base.name = "search-random".into();
        SearchConfig {
            base,
            space: SearchSpace::Random {
                samples,
                seed: 2021,
                latent_dims: vec![10, 30],
                lr_min: 5e-4,
                lr_max: 5e-3,
                wd_min: 1e-6,
                wd_max: 1e-5,
                wd_zero_probability: 1.0 / 3.0,
                optimizers: vec![OptimizerKind::Adam],
            },
            ..grid
        }
    }

    /// Checks the config, with messages that say what to change.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.base.validate()?;
        anyhow::ensure!(
            self.folds >= 2,
            "k-fold cross-validation needs folds >= 2, got {}",
            self.folds
        );
        let cands = self.candidates()?;
        anyhow::ensure!(
            !cands.is_empty(),
            "the search space is empty: give at least one value for every axis"
        );
        for c in &cands {
            c.optimizer
                .validate()
                .with_context(|| format!("candidate {}", c.id))?;
            anyhow::ensure!(
                c.latent_dim >= 1,
                "latent_dim must be >= 1, got {}",
                c.latent_dim
            );
        }
        Ok(())
    }

    /// The candidates, in a fixed order.
    pub fn candidates(&self) -> anyhow::Result<Vec<Candidate>> {
        let SearchSpace::Grid {
            latent_dims,
            learning_rates,
            weight_decays,
            optimizers,
        } = &self.space
        else {
            return self.random_candidates();
        };
        let mut out = Vec::new();
        for &z in latent_dims {
            for &o in optimizers {
                for &lr in learning_rates {
                    for &wd in weight_decays {
                        out.push(self.candidate(z, o, lr, wd));
                    }
                }
            }
        }
        Ok(out)
    }

    /// One candidate: the base optimizer's momentum and beta1 with these settings.
    fn candidate(&self, z: i64, kind: OptimizerKind, lr: f64, wd: f64) -> Candidate {
        Candidate {
            id: format!(
                "z{z}-{}-lr{}-wd{}",
                format!("{kind:?}").to_lowercase(),
                short(lr),
                short(wd)
            ),
            latent_dim: z,
            optimizer: OptimizerConfig {
                kind,
                lr,
                weight_decay: wd,
                momentum: self.base.optimizer.momentum,
                beta1: self.base.optimizer.beta1,
            },
        }
    }

    /// The candidates of a random search: `samples` draws, seeded, learning rate and weight
    /// decay log-uniform (weight decay 0 with `wd_zero_probability`).
    fn random_candidates(&self) -> anyhow::Result<Vec<Candidate>> {
        let SearchSpace::Random {
            samples,
            seed,
            latent_dims,
            lr_min,
            lr_max,
            wd_min,
            wd_max,
            wd_zero_probability,
            optimizers,
        } = &self.space
        else {
            anyhow::bail!("not a random search space");
        };
        anyhow::ensure!(
            !latent_dims.is_empty() && !optimizers.is_empty(),
            "the search space is empty: random search needs at least one latent size and one optimizer"
        );
        anyhow::ensure!(
            *lr_min > 0.0 && lr_min <= lr_max,
            "learning rates must satisfy 0 < lr_min <= lr_max, got [{lr_min}, {lr_max}]"
        );
        anyhow::ensure!(
            *wd_min > 0.0 && wd_min <= wd_max,
            "weight decays must satisfy 0 < wd_min <= wd_max, got [{wd_min}, {wd_max}]"
        );
        let mut rng = ChaCha8Rng::seed_from_u64(*seed);
        let log_uniform = |rng: &mut ChaCha8Rng, a: f64, b: f64| {
            (a.ln() + rng.gen::<f64>() * (b.ln() - a.ln())).exp()
        };
        // Keep 3 significant digits so ids and files stay readable.
        let round = |x: f64| format!("{x:.2e}").parse::<f64>().unwrap_or(x);
        let mut out = Vec::new();
        for _ in 0..*samples {
            let z = latent_dims[rng.gen_range(0..latent_dims.len())];
            let o = optimizers[rng.gen_range(0..optimizers.len())];
            let lr = log_uniform(&mut rng, *lr_min, *lr_max);
            let wd = if rng.gen::<f64>() < *wd_zero_probability {
                0.0
            } else {
                log_uniform(&mut rng, *wd_min, *wd_max)
            };
            let mut c = self.candidate(z, o, round(lr), round(wd));
            c.id = format!(
                "z{z}-{}-lr{:.2e}-wd{:.2e}",
                format!("{o:?}").to_lowercase(),
                c.optimizer.lr,
                c.optimizer.weight_decay
            );
            out.push(c);
        }
        Ok(out)
    }

    /// Reads and validates a search config file.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let cfg: Self = fsutil::read_config(path)?;
        cfg.validate()
            .with_context(|| format!("invalid search config in {}", path.display()))?;
        Ok(cfg)
    }
}

/// The training config of one candidate in one fold: fresh weights from a seed that depends on
/// the candidate and the fold.
pub fn fold_config(base: &AutoencoderConfig, c: &Candidate, fold: usize) -> AutoencoderConfig {
    let mut cfg = base.clone();
    cfg.name = format!("{} fold {}", c.id, fold + 1);
    cfg.arch.latent_dim = c.latent_dim;
    cfg.optimizer = c.optimizer.clone();
    let h = c.id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    });
    // splitmix64 finaliser, kept to 31 bits: libtorch's generator ignores high seed bits.
    let mut x = base.seed ^ h ^ (fold as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    cfg.seed = (x ^ (x >> 31)) & 0x7FFF_FFFF;
    cfg
}

/// Runs (or resumes) a search in `dir`. Each (candidate, fold) is written to `dir/folds/` as soon
/// as it ends, and skipped when the search is run again; a folder started with another config is
/// refused.
pub fn run_search(
    config: &SearchConfig,
    train: &Dataset,
    dir: &Path,
    progress: &mut Progress,
) -> anyhow::Result<SearchResults> {
    config.validate()?;
    let n = train.len();
    let folds = kfold_splits(n, config.folds, config.split_seed)?;
    let cfg_path = dir.join("search_config.json");
    if !super::guard::check_same_run(
        dir,
        super::guard::RunKind::Search,
        "search_config.json",
        config,
    )? {
        fsutil::write_json(&cfg_path, config)?;
    }
    clear_temp_files(&dir.join("folds"));
    let device = crate::runtime::device();
    let train = train.to_device(device);
    let candidates = config.candidates()?;
    let total = candidates.len() * folds.len();
    let mut all = Vec::with_capacity(total);
    let mut done = 0;
    for c in &candidates {
        for (k, fold) in folds.iter().enumerate() {
            done += 1;
            let path = dir
                .join("folds")
                .join(format!("{}-fold{}.json", c.id, k + 1));
            if path.exists() {
                let r: FoldResult = fsutil::read_json(&path)?;
                all.push(r);
                continue;
            }
            let header = format!(
                "[search {done}/{total}] {} fold {}/{}",
                c.id,
                k + 1,
                folds.len()
            );
            let r = train_fold(&config.base, c, (k, fold), &train, &header, progress)?;
            fsutil::write_json(&path, &r)?;
            all.push(r);
        }
    }
    let results = summarise(&candidates, all);
    fsutil::write_json(dir.join("results.json"), &results)?;
    fsutil::write_atomic(dir.join("results.csv"), results.to_csv().as_bytes())?;
    Ok(results)
}

/// Removes the temp files a search killed while writing left in `folds` (there is at most one).
fn clear_temp_files(folds: &Path) {
    if let Ok(entries) = std::fs::read_dir(folds) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().contains(".tmp-") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// Trains candidate `c` on fold `k` (train on the other folds, validate on this one) and returns
/// its curves and final validation loss.
fn train_fold(
    base: &AutoencoderConfig,
    c: &Candidate,
    (k, fold): (usize, &Fold),
    train: &Dataset,
    header: &str,
    progress: &mut Progress,
) -> anyhow::Result<FoldResult> {
    let t0 = Instant::now();
    let cfg = fold_config(base, c, k);
    let mut run = AutoencoderRun::new(&cfg, train.device())?;
    let checksum = weight_checksum(&run.vs);
    let tr = train.subset(&fold.train);
    let va = train.subset(&fold.valid);
    progress.line(&format!(
        "{header}: {} train / {} validation images",
        tr.len(),
        va.len()
    ));
    let mut opt = run.config.optimizer.build(&run.vs)?;
    fit_epochs(&mut run, &mut opt, (&tr, &va), progress, |_, _, _| Ok(()))?;
    let epochs = &run.history.epochs;
    Ok(FoldResult {
        candidate: c.id.clone(),
        fold: k,
        valid_curve: epochs
            .iter()
            .map(|e| e.test_loss.unwrap_or(f64::NAN))
            .collect(),
        train_curve: epochs.iter().map(|e| e.train_loss).collect(),
        valid_loss: run
            .history
            .last()
            .and_then(|e| e.test_loss)
            .unwrap_or(f64::NAN),
        seconds: t0.elapsed().as_secs_f64(),
        initial_weight_checksum: checksum,
    })
}

/// In the full profile, the shipped results `data/checkpoints/search` when they were made with
/// `config` (unless `LATENTLAB_RETRAIN=1`); otherwise [`run_search`] in `dir` (resumed if begun).
pub fn search_or_load(
    config: &SearchConfig,
    train: &Dataset,
    dir: &Path,
    progress: &mut Progress,
) -> anyhow::Result<SearchResults> {
    search_or_load_as("search", config, train, dir, progress)
}

/// As [`search_or_load`], with the shipped results looked for in `data/checkpoints/<name>`.
pub fn search_or_load_as(
    name: &str,
    config: &SearchConfig,
    train: &Dataset,
    dir: &Path,
    progress: &mut Progress,
) -> anyhow::Result<SearchResults> {
    if let Some(shipped) = crate::runtime::shipped(config.base.profile, name) {
        let old: SearchConfig = fsutil::read_json(shipped.join("search_config.json"))?;
        if &old == config && shipped.join("results.json").exists() {
            progress.line(&format!(
                "loading the shipped search results {} (set LATENTLAB_RETRAIN=1 to search again)",
                shipped.display()
            ));
            return fsutil::read_json(shipped.join("results.json"));
        }
    }
    if !dir.join("results.json").exists() {
        if let Some(line) = super::fit::expected_total(name) {
            progress.line(&line);
        }
    }
    run_search(config, train, dir, progress)
}

/// Sum of all trainable weights (a cheap fingerprint of an initialisation).
pub fn weight_checksum(vs: &tch::nn::VarStore) -> f64 {
    tch::no_grad(|| {
        vs.trainable_variables()
            .iter()
            .map(|t| t.abs().sum(tch::Kind::Double).double_value(&[]))
            .sum()
    })
}

fn summarise(candidates: &[Candidate], folds: Vec<FoldResult>) -> SearchResults {
    let mut rows: Vec<SearchRow> = candidates
        .iter()
        .map(|c| {
            let per_fold: Vec<f64> = folds
                .iter()
                .filter(|f| f.candidate == c.id)
                .map(|f| f.valid_loss)
                .collect();
            let k = per_fold.len().max(1) as f64;
            let mean = per_fold.iter().sum::<f64>() / k;
            let std = (per_fold.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / k).sqrt();
            SearchRow {
                candidate: c.clone(),
                mean,
                std,
                per_fold,
            }
        })
        .collect();
    rows.sort_by(|a, b| a.mean.total_cmp(&b.mean));
    SearchResults { rows, folds }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn homework_grid_has_18_candidates() {
        let c = SearchConfig::homework(Profile::Full);
        c.validate().unwrap();
        let cands = c.candidates().unwrap();
        assert_eq!(cands.len(), 18);
        assert_eq!(cands[0].id, "z10-adam-lr5e-3-wd1e-5");
        let ids: std::collections::HashSet<_> = cands.iter().map(|c| &c.id).collect();
        assert_eq!(ids.len(), 18);
    }

    #[test]
    fn invalid_search_configs_are_refused() {
        let mut c = SearchConfig::homework(Profile::Quick);
        c.folds = 1;
        assert!(c.validate().unwrap_err().to_string().contains("folds >= 2"));
        let mut c = SearchConfig::homework(Profile::Quick);
        c.space = SearchSpace::Grid {
            latent_dims: vec![10],
            learning_rates: vec![],
            weight_decays: vec![0.0],
            optimizers: vec![OptimizerKind::Adam],
        };
        assert!(c.validate().unwrap_err().to_string().contains("empty"));
        let mut c = SearchConfig::homework(Profile::Quick);
        c.space = SearchSpace::Grid {
            latent_dims: vec![10],
            learning_rates: vec![-1e-3],
            weight_decays: vec![0.0],
            optimizers: vec![OptimizerKind::Adam],
        };
        assert!(format!("{:#}", c.validate().unwrap_err())
            .contains("learning rate) must be in (0, 10]"));
    }

    #[test]
    fn random_search_is_seeded() {
        let mut c = SearchConfig::homework(Profile::Quick);
        c.space = SearchSpace::Random {
            samples: 5,
            seed: 3,
            latent_dims: vec![10, 30],
            lr_min: 1e-4,
            lr_max: 1e-2,
            wd_min: 1e-6,
            wd_max: 1e-4,
            wd_zero_probability: 0.3,
            optimizers: vec![OptimizerKind::Adam, OptimizerKind::RmsProp],
        };
        let a = c.candidates().unwrap();
        assert_eq!(a, c.candidates().unwrap());
        assert_eq!(a.len(), 5);
        assert!(a.iter().all(|x| (1e-4..=1e-2).contains(&x.optimizer.lr)));
    }
}
