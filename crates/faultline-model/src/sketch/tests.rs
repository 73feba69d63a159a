#![allow(clippy::unwrap_used)]

use super::*;
use proptest::prelude::*;

const QUANTILES: &[f64] = &[0.0, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0];

/// Float rounding in `ln` can put a value sitting exactly on a bucket bound
/// into its neighbour, which costs a few ulps beyond α.
const TOLERANCE: f64 = RELATIVE_ACCURACY + 1e-12;

/// A small deterministic generator (xorshift64*), so the tests need no `rand`.
struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
        // In (0, 1]: never 0, so logs below stay finite.
        (bits as f64 + 1.0) / (1u64 << 53) as f64
    }
}

fn sketch_of(values: &[f64]) -> Sketch {
    let mut sketch = Sketch::new();
    values.iter().for_each(|v| sketch.add(*v));
    sketch
}

/// The value the sketch must approximate: rank `floor(q · (n − 1))`.
fn exact(sorted: &[f64], q: f64) -> f64 {
    sorted[(q * (sorted.len() - 1) as f64).floor() as usize]
}

fn relative_error(estimate: f64, truth: f64) -> f64 {
    if truth == 0.0 {
        estimate.abs()
    } else {
        (estimate - truth).abs() / truth
    }
}

/// The largest relative error over [`QUANTILES`], checked against α.
fn worst_error(name: &str, mut values: Vec<f64>) -> f64 {
    let sketch = sketch_of(&values);
    values.sort_by(f64::total_cmp);
    let mut worst: f64 = 0.0;
    for &q in QUANTILES {
        let estimate = sketch.quantile(q).unwrap();
        let error = relative_error(estimate, exact(&values, q));
        assert!(error <= TOLERANCE, "{name} p{q}: {estimate} vs {} ({error})", exact(&values, q));
        worst = worst.max(error);
    }
    eprintln!("{name}: worst relative error {worst:.6}");
    worst
}

fn uniform(n: usize) -> Vec<f64> {
    let mut rng = Rng(42);
    (0..n).map(|_| rng.next_f64() * 1000.0).collect()
}

fn exponential(n: usize) -> Vec<f64> {
    let mut rng = Rng(7);
    // Mean 120 ms, the classic shape of request latencies.
    (0..n).map(|_| -rng.next_f64().ln() * 120.0).collect()
}

fn bimodal(n: usize) -> Vec<f64> {
    let mut rng = Rng(99);
    // Cache hits around 2 ms, misses around 300 ms.
    (0..n).map(|k| if k % 10 < 7 { 1.5 + rng.next_f64() } else { 250.0 + 100.0 * rng.next_f64() }).collect()
}

#[test]
fn quantiles_of_known_distributions_are_within_one_percent() {
    let worst = [
        worst_error("uniform", uniform(100_000)),
        worst_error("exponential", exponential(100_000)),
        worst_error("constant", vec![42.5; 10_000]),
        worst_error("bimodal", bimodal(100_000)),
        worst_error("1..=100000", (1..=100_000).map(f64::from).collect()),
    ]
    .into_iter()
    .fold(0.0, f64::max);
    assert!(worst <= TOLERANCE);
}

#[test]
fn constant_and_extreme_quantiles_are_exact() {
    let sketch = sketch_of(&[42.5; 100]);
    assert_eq!(sketch.quantile(0.5), Some(42.5));
    let sketch = sketch_of(&(1..=1000).map(f64::from).collect::<Vec<_>>());
    assert_eq!(sketch.quantile(0.0), Some(1.0));
    assert_eq!(sketch.quantile(1.0), Some(1000.0));
}

#[test]
fn empty_sketch_has_no_figures() {
    let sketch = Sketch::new();
    assert_eq!(sketch, Sketch::default());
    assert_eq!(sketch.count(), 0);
    assert_eq!(sketch.sum(), 0.0);
    assert_eq!((sketch.min(), sketch.max()), (None, None));
    assert_eq!(sketch.quantile(0.5), None);
    assert_eq!(sketch.to_parts(), SketchParts::default());
}

#[test]
fn count_sum_min_max_are_exact() {
    let sketch = sketch_of(&[3.0, 1.5, 10.0, 0.0]);
    assert_eq!(sketch.count(), 4);
    assert_eq!(sketch.sum(), 14.5);
    assert_eq!(sketch.min(), Some(0.0));
    assert_eq!(sketch.max(), Some(10.0));
}

#[test]
fn add_n_equals_adding_n_times() {
    let mut once = Sketch::new();
    once.add_n(12.0, 5);
    once.add_n(7.0, 0);
    let five = sketch_of(&[12.0; 5]);
    assert_eq!(once, five);
}

#[test]
fn merge_equals_the_sketch_of_the_union() {
    let (a, b) = (exponential(20_000), bimodal(30_000));
    let mut merged = sketch_of(&a);
    merged.merge(&sketch_of(&b));
    let union = sketch_of(&[a, b].concat());
    assert_eq!(merged.count(), union.count());
    assert_eq!(merged.to_parts().counts, union.to_parts().counts);
    for q in QUANTILES {
        assert_eq!(merged.quantile(*q), union.quantile(*q));
    }
    assert!((merged.sum() - union.sum()).abs() <= 1e-9 * union.sum());
}

#[test]
fn merge_with_empty_is_identity_both_ways() {
    let sketch = sketch_of(&[1.0, 2.0, 0.0]);
    let mut into_empty = Sketch::new();
    into_empty.merge(&sketch);
    assert_eq!(into_empty, sketch);
    let mut unchanged = sketch.clone();
    unchanged.merge(&Sketch::new());
    assert_eq!(unchanged, sketch);
}

#[test]
fn parts_round_trip() {
    let sketch = sketch_of(&[0.0, 0.25, 3.0, 3.1, 250.0, 9_000.0]);
    let parts = sketch.to_parts();
    assert_eq!(parts.zero_count, 1);
    assert_eq!(parts.counts.iter().sum::<u64>(), 5);
    assert_eq!(Sketch::from_parts(parts), sketch);
    let json = serde_json::to_string(&sketch).unwrap();
    assert_eq!(serde_json::from_str::<Sketch>(&json).unwrap(), sketch);
}

#[test]
fn hostile_values_do_not_panic() {
    let mut sketch = Sketch::new();
    for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        sketch.add(v);
    }
    assert_eq!(sketch.count(), 0, "non-finite values are ignored");
    for v in [-5.0, -0.0, 0.0, f64::MIN_POSITIVE, 1e-300, 1e-9, f64::MAX, f64::MAX] {
        sketch.add(v);
    }
    sketch.add_n(1.0, u64::MAX);
    assert_eq!(sketch.count(), u64::MAX);
    assert_eq!(sketch.min(), Some(0.0), "negatives count as 0");
    assert_eq!(sketch.max(), Some(f64::MAX));
    assert_eq!(sketch.sum(), f64::MAX, "the sum saturates");
    assert_eq!(sketch.quantile(0.0), Some(0.0));
    assert_eq!(sketch.quantile(1.0), Some(f64::MAX));
    assert_eq!(sketch.quantile(f64::NAN), None);
    assert_eq!(sketch.quantile(-3.0), sketch.quantile(0.0));
    assert_eq!(sketch.quantile(7.0), sketch.quantile(1.0));
    assert!(sketch.quantile(0.5).unwrap().is_finite());
    assert!(sketch.to_parts().counts.len() <= MAX_BUCKETS);
}

#[test]
fn bucket_count_is_capped_and_upper_quantiles_stay_accurate() {
    // One value per decade from 1e-9 ms to 1e29 ms: far more than 2048 buckets.
    let mut values: Vec<f64> = (-9..30).map(|e| 10f64.powi(e)).collect();
    values.extend((1..=1000).map(|k| 1e29 * f64::from(k)));
    let sketch = sketch_of(&values);
    let parts = sketch.to_parts();
    assert_eq!(parts.counts.len(), MAX_BUCKETS);
    assert_eq!(sketch.count(), values.len() as u64);
    values.sort_by(f64::total_cmp);
    for q in [0.5, 0.9, 0.99, 1.0] {
        let error = relative_error(sketch.quantile(q).unwrap(), exact(&values, q));
        assert!(error <= TOLERANCE, "p{q}: {error}");
    }
    // The lowest values were collapsed: p0 reads the exact min, p1 does not.
    assert_eq!(sketch.quantile(0.0), Some(1e-9));
}

#[test]
fn collapsing_does_not_depend_on_order() {
    let values: Vec<f64> = (-9..40).map(|e| 10f64.powi(e)).collect();
    let forward = sketch_of(&values);
    let backward = sketch_of(&values.iter().rev().copied().collect::<Vec<_>>());
    assert_eq!(forward.to_parts().counts, backward.to_parts().counts);
    let (low, high) = values.split_at(20);
    let mut merged = sketch_of(high);
    merged.merge(&sketch_of(low));
    assert_eq!(merged.to_parts().counts, forward.to_parts().counts);
}

#[test]
fn damaged_parts_are_repaired() {
    let parts = SketchParts {
        zero_count: 1,
        offset: i32::MAX - 1,
        counts: vec![1, 0, 3, 4],
        sum: f64::NAN,
        min: 10.0,
        max: 1.0,
    };
    let sketch = Sketch::from_parts(parts);
    assert_eq!(sketch.count(), 9);
    assert!(sketch.sum().is_finite());
    assert_eq!(sketch.min(), Some(0.0));
    assert!(sketch.quantile(1.0).unwrap().is_finite());

    let long = SketchParts { offset: i32::MIN, counts: vec![1; 10_000], ..SketchParts::default() };
    let sketch = Sketch::from_parts(long);
    assert_eq!(sketch.count(), 10_000);
    assert!(sketch.to_parts().counts.len() <= MAX_BUCKETS);

    let empty = SketchParts { counts: vec![0, 0], offset: 7, sum: 3.0, min: 1.0, max: 2.0, zero_count: 0 };
    assert_eq!(Sketch::from_parts(empty), Sketch::new());
}

proptest! {
    #[test]
    fn any_quantile_is_within_alpha(
        exponents in prop::collection::vec(-3.0f64..7.0, 1..400),
        q in 0.0f64..=1.0,
    ) {
        let mut values: Vec<f64> = exponents.iter().map(|e| 10f64.powf(*e)).collect();
        let sketch = sketch_of(&values);
        values.sort_by(f64::total_cmp);
        let error = relative_error(sketch.quantile(q).unwrap(), exact(&values, q));
        prop_assert!(error <= TOLERANCE, "p{}: error {}", q, error);
    }

    #[test]
    fn merge_of_any_split_equals_the_whole(
        values in prop::collection::vec(0.0f64..1e6, 0..300),
        split in 0usize..300,
    ) {
        let (a, b) = values.split_at(split.min(values.len()));
        let mut merged = sketch_of(a);
        merged.merge(&sketch_of(b));
        let whole = sketch_of(&values);
        prop_assert_eq!(merged.count(), whole.count());
        prop_assert_eq!(merged.to_parts().counts, whole.to_parts().counts);
        prop_assert_eq!(merged.quantile(0.99), whole.quantile(0.99));
        prop_assert_eq!(Sketch::from_parts(whole.to_parts()), whole);
    }
}
