//! A small random number generator for the demo's traffic (SplitMix64):
//! statistical quality is plenty for made-up requests, and it keeps the
//! server free of another dependency.

pub struct Rng(u64);

impl Rng {
    /// Seeded from the system's randomness, else from the clock.
    pub fn from_entropy() -> Rng {
        let seed = getrandom::u64().unwrap_or_else(|_| faultline_model::now_nanos() as u64);
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Uniform in [0, n); 0 when n is 0.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }

    /// A count with mean `mean`: its integer part plus one more with the
    /// fractional part's chance, so 0.3 per tick averages 0.3.
    pub fn count(&mut self, mean: f64) -> usize {
        let whole = mean.floor();
        whole as usize + usize::from(self.chance(mean - whole))
    }

    /// Log-normal with the given median: request latencies have a long
    /// right tail. `sigma` 0.5 puts p95 at about 2.3 times the median.
    pub fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        // Box-Muller; 1 - unit() is in (0, 1], so ln is finite.
        let (u1, u2) = (1.0 - self.unit(), self.unit());
        let normal = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        median * (sigma * normal).exp()
    }

    pub fn fill(&mut self, bytes: &mut [u8]) {
        for chunk in bytes.chunks_mut(8) {
            let word = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }

    /// An index drawn with the given weights (not all zero).
    pub fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut pick = self.unit() * total;
        for (i, w) in weights.iter().enumerate() {
            if pick < *w {
                return i;
            }
            pick -= w;
        }
        weights.len().saturating_sub(1)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn lognormal_median_is_the_median() {
        let mut rng = Rng(42);
        let mut samples: Vec<f64> = (0..20_000).map(|_| rng.lognormal(100.0, 0.5)).collect();
        samples.sort_by(f64::total_cmp);
        let median = samples[samples.len() / 2];
        let p95 = samples[samples.len() * 95 / 100];
        assert!((95.0..105.0).contains(&median), "median {median}");
        assert!((200.0..260.0).contains(&p95), "p95 {p95}");
    }

    #[test]
    fn counts_average_their_mean() {
        let mut rng = Rng(7);
        let total: usize = (0..10_000).map(|_| rng.count(0.3)).sum();
        assert!((2_700..3_300).contains(&total), "{total}");
    }
}
