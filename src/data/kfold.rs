//! k-fold cross-validation splits.

use super::batch::permutation;

/// One fold: indices to train on and indices to validate on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fold {
    /// Training indices (all the other folds).
    pub train: Vec<i64>,
    /// Validation indices (this fold).
    pub valid: Vec<i64>,
}

/// Splits `0..n` into `k` folds after a seeded shuffle. Fold sizes differ by at most one; the
/// validation parts partition `0..n`. Errors if `k < 2` or `k > n`.
pub fn kfold_splits(n: usize, k: usize, seed: u64) -> anyhow::Result<Vec<Fold>> {
    anyhow::ensure!(
        k >= 2,
        "k-fold cross-validation needs k >= 2 folds, got k = {k}: set `folds` to 2 or more"
    );
    anyhow::ensure!(
        k <= n,
        "cannot split {n} samples into k = {k} folds: use k <= {n} or more training samples"
    );
    let perm = permutation(n, seed);
    let (base, extra) = (n / k, n % k);
    let mut folds = Vec::with_capacity(k);
    let mut start = 0;
    for f in 0..k {
        let len = base + usize::from(f < extra);
        let valid = perm[start..start + len].to_vec();
        let train = perm[..start]
            .iter()
            .chain(&perm[start + len..])
            .copied()
            .collect();
        folds.push(Fold { train, valid });
        start += len;
    }
    Ok(folds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn folds_partition_the_data() {
        let folds = kfold_splits(103, 5, 42).unwrap();
        assert_eq!(folds.len(), 5);
        let mut seen = HashSet::new();
        for f in &folds {
            assert!(f.valid.len() == 20 || f.valid.len() == 21);
            assert_eq!(f.train.len() + f.valid.len(), 103);
            let v: HashSet<_> = f.valid.iter().collect();
            assert!(
                f.train.iter().all(|i| !v.contains(i)),
                "train and valid overlap"
            );
            for &i in &f.valid {
                assert!(seen.insert(i), "index {i} in two validation folds");
            }
        }
        assert_eq!(seen.len(), 103);
        assert_eq!(folds, kfold_splits(103, 5, 42).unwrap());
        assert_ne!(folds, kfold_splits(103, 5, 43).unwrap());
    }

    #[test]
    fn bad_k_is_a_clear_error() {
        assert!(kfold_splits(10, 1, 0)
            .unwrap_err()
            .to_string()
            .contains("k >= 2"));
        assert!(kfold_splits(3, 4, 0)
            .unwrap_err()
            .to_string()
            .contains("k = 4"));
    }
}
