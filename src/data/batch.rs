//! Seeded mini-batch orders: the same seed and epoch give the same batches on every machine.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tch::Tensor;

/// Whether batches are shuffled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchOrder {
    /// In dataset order (evaluation).
    Sequential,
    /// A permutation drawn from `(seed, epoch)`.
    Shuffled {
        /// Base seed of the run.
        seed: u64,
        /// Epoch number, so that each epoch gets its own order.
        epoch: u64,
    },
}

/// A permutation of `0..n` drawn from `seed` (ChaCha8, platform independent).
pub fn permutation(n: usize, seed: u64) -> Vec<i64> {
    let mut idx: Vec<i64> = (0..n as i64).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    idx.shuffle(&mut rng);
    idx
}

/// Mixes a run seed and an epoch into one seed.
pub fn epoch_seed(seed: u64, epoch: u64) -> u64 {
    seed ^ epoch
        .wrapping_add(1)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .rotate_left(17)
}

/// Index batches over `0..n`: every index exactly once per epoch; the last batch may be short.
#[derive(Debug)]
pub struct Batches {
    order: Tensor,
    batch_size: i64,
    pos: i64,
    n: i64,
}

impl Batches {
    /// The shuffled batches of one training epoch: `Batches::new` with
    /// [`BatchOrder::Shuffled`] `{ seed, epoch }`.
    pub fn shuffled(n: usize, batch_size: usize, seed: u64, epoch: usize) -> Batches {
        let epoch = epoch as u64;
        Batches::new(n, batch_size, BatchOrder::Shuffled { seed, epoch })
    }

    /// Batches of `batch_size` over `n` items (`batch_size` ≥ 1).
    pub fn new(n: usize, batch_size: usize, order: BatchOrder) -> Batches {
        let idx = match order {
            BatchOrder::Sequential => (0..n as i64).collect(),
            BatchOrder::Shuffled { seed, epoch } => permutation(n, epoch_seed(seed, epoch)),
        };
        Batches {
            order: Tensor::from_slice(&idx),
            batch_size: batch_size.max(1) as i64,
            pos: 0,
            n: n as i64,
        }
    }

    /// Number of batches per epoch.
    pub fn num_batches(&self) -> usize {
        ((self.n + self.batch_size - 1) / self.batch_size) as usize
    }
}

impl Iterator for Batches {
    type Item = Tensor;
    fn next(&mut self) -> Option<Tensor> {
        if self.pos >= self.n {
            return None;
        }
        let len = self.batch_size.min(self.n - self.pos);
        let b = self.order.narrow(0, self.pos, len);
        self.pos += len;
        Some(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_index_once_per_epoch() {
        let b = Batches::new(10, 3, BatchOrder::Shuffled { seed: 1, epoch: 0 });
        assert_eq!(b.num_batches(), 4);
        let mut all: Vec<i64> = b.flat_map(|t| Vec::<i64>::try_from(&t).unwrap()).collect();
        all.sort();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn seed_and_epoch_fix_the_order() {
        let a = permutation(100, epoch_seed(7, 3));
        assert_eq!(a, permutation(100, epoch_seed(7, 3)));
        assert_ne!(a, permutation(100, epoch_seed(7, 4)));
    }
}
