//! A Zipf-like distribution over failure kinds: kind `k` (0-based) has
//! weight `1 / (k + 1)^s`, so with s ≈ 1 a few kinds make most events and
//! a long tail appears rarely, as in a real incident.

use crate::rng::Rng;

#[derive(Debug, Clone)]
pub struct Zipf {
    /// Running sums of the weights; the last one is the total.
    cumulative: Vec<f64>,
}

impl Zipf {
    /// `n` kinds (at least one) with exponent `s` (0 makes it uniform).
    pub fn new(n: usize, s: f64) -> Zipf {
        let mut total = 0.0;
        let cumulative = (0..n.max(1))
            .map(|k| {
                total += 1.0 / ((k + 1) as f64).powf(s);
                total
            })
            .collect();
        Zipf { cumulative }
    }

    pub fn len(&self) -> usize {
        self.cumulative.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cumulative.is_empty()
    }

    /// Draws a kind: binary search of a uniform point in the running sums.
    pub fn sample(&self, rng: &mut Rng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let point = rng.unit() * total;
        self.cumulative.partition_point(|c| *c <= point).min(self.len() - 1)
    }

    /// The probability of kind `k`.
    pub fn probability(&self, k: usize) -> f64 {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let below = if k == 0 { 0.0 } else { self.cumulative.get(k - 1).copied().unwrap_or(total) };
        let upto = self.cumulative.get(k).copied().unwrap_or(total);
        if total > 0.0 {
            (upto - below) / total
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram(zipf: &Zipf, draws: usize, seed: u64) -> Vec<usize> {
        let mut rng = Rng::new(seed);
        let mut counts = vec![0; zipf.len()];
        for _ in 0..draws {
            counts[zipf.sample(&mut rng)] += 1;
        }
        counts
    }

    #[test]
    fn a_few_kinds_make_most_events_and_the_tail_still_appears() {
        let zipf = Zipf::new(200, 1.1);
        let counts = histogram(&zipf, 200_000, 3);
        let head: usize = counts[..10].iter().sum();
        // With s = 1.1 the first 10 of 200 kinds carry about 62 % of the mass.
        assert!(head as f64 / 200_000.0 > 0.55, "head share {head}");
        // Counts fall with rank: the first kind is the most frequent by far.
        assert!(counts[0] > 2 * counts[4] && counts[4] > counts[50]);
        let seen = counts.iter().filter(|c| **c > 0).count();
        assert!(seen > 190, "only {seen} of 200 kinds drawn");
    }

    #[test]
    fn sampled_shares_match_the_probabilities() {
        let zipf = Zipf::new(20, 1.0);
        let counts = histogram(&zipf, 100_000, 9);
        for (k, count) in counts.iter().enumerate() {
            let expected = zipf.probability(k) * 100_000.0;
            assert!(
                (*count as f64 - expected).abs() < 5.0 * expected.sqrt() + 5.0,
                "kind {k}: {count} vs {expected}"
            );
        }
        let total: f64 = (0..20).map(|k| zipf.probability(k)).sum();
        assert!((total - 1.0).abs() < 1e-9);
    }

    #[test]
    fn one_kind_and_uniform_edge_cases() {
        let one = Zipf::new(0, 1.0);
        assert_eq!(one.len(), 1);
        assert_eq!(one.sample(&mut Rng::new(1)), 0);
        let uniform = Zipf::new(4, 0.0);
        assert!((uniform.probability(3) - 0.25).abs() < 1e-12);
    }
}
