//! Range and memory checks run before any work: a config or flag that asks for more than the
//! machine has is refused with the size it would need, instead of crashing inside libtorch.

/// The most epochs any training accepts.
pub const MAX_EPOCHS: usize = 100_000;
/// The largest mini-batch any training accepts.
pub const MAX_BATCH: usize = 65_536;
/// The widest layer (latent size, hidden units) a config may ask for.
pub const MAX_WIDTH: i64 = 65_536;
/// The most channels a convolution may have.
pub const MAX_CHANNELS: i64 = 4_096;

/// `name` must lie in `lo..=hi`.
pub fn check_range<T: PartialOrd + std::fmt::Display + Copy>(
    name: &str,
    value: T,
    lo: T,
    hi: T,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        value >= lo && value <= hi,
        "{name} must be between {lo} and {hi}, got {value}"
    );
    Ok(())
}

/// Bytes of memory this machine can still give (Linux `MemAvailable`; 8 GiB where unknown).
pub fn available_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemAvailable:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(8 << 30, |kb| kb * 1024)
}

/// "1.5 GiB", "312 MiB".
pub fn human_bytes(bytes: f64) -> String {
    const UNITS: [&str; 6] = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = bytes;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{v:.0} {}", UNITS[0])
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Refuses `what` when it would need more than the memory available now.
pub fn check_memory(what: &str, bytes: f64) -> anyhow::Result<()> {
    let avail = available_memory() as f64;
    anyhow::ensure!(
        bytes <= avail,
        "{what} would need about {} of memory, and this machine has {} available: choose a smaller value",
        human_bytes(bytes),
        human_bytes(avail)
    );
    Ok(())
}

/// Memory of training `params` parameters: weights, gradients and two optimizer moments, plus a
/// copy for the checkpoint, in `f32`.
pub fn training_bytes(params: f64) -> f64 {
    params * 4.0 * 5.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_beyond_the_machine_are_refused_with_the_size() {
        let err = check_memory("this model", 1e18).unwrap_err().to_string();
        assert!(err.contains("PiB") && err.contains("available"), "{err}");
        assert!(check_memory("a small model", 1e3).is_ok());
        assert!(check_range("epochs", 0usize, 1, 10).is_err());
        assert_eq!(human_bytes(1536.0), "1.5 KiB");
    }
}
