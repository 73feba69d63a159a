//! Histogram points as subtractable bucket counts, and those counts as a
//! latency sketch.
//!
//! A histogram only says how many requests fell between two bounds, so each
//! bucket's count goes into the sketch at one representative value, and
//! percentiles are only as exact as the histogram's buckets:
//!
//! - explicit buckets: the midpoint of the bucket, after narrowing it to the
//!   point's min and max when those are sent. The first bucket starts at 0
//!   (durations are not negative); the overflow bucket above the last bound
//!   has no upper end, so without a max its count sits at the last bound, as
//!   Prometheus' `histogram_quantile` answers. A p99 may be off by up to half
//!   the width of its bucket: with the semconv bounds (…, 0.5 s, 0.75 s, 1 s,
//!   2.5 s, …) that is ±0.75 s between 1 s and 2.5 s.
//! - exponential buckets `(b^i, b^(i+1)]`: the value `2·b^i·b^(i+1) / (b^i + b^(i+1))`,
//!   within `(b − 1) / (b + 1)` relative error of anything in the bucket
//!   (4.3% at scale 3, 0.14% at scale 8), on top of the sketch's own 1%.

use std::hash::{BuildHasher, Hasher};

use faultline_model::Sketch;
use opentelemetry_proto::tonic::metrics::v1::{ExponentialHistogramDataPoint, HistogramDataPoint};

/// Scales OTLP allows for exponential histograms; buckets of other scales
/// are not read (the point still counts its requests).
const SCALES: std::ops::RangeInclusive<i32> = -10..=20;

/// How a point's buckets are laid out: two points can only be subtracted
/// bucket by bucket when the layout is the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Layout {
    /// A hash of the bounds: storing them for every series would cost more.
    Explicit {
        bounds: u64,
    },
    Exponential {
        scale: i32,
    },
}

/// The counts of one histogram point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Counts {
    /// The point's `count`: the requests, whatever the buckets say.
    pub total: u64,
    pub layout: Layout,
    /// Exponential only: the zero bucket and the negative buckets, which a
    /// duration can only land in by rounding.
    pub zero: u64,
    /// Index of `buckets[0]`: 0 for explicit buckets.
    pub offset: i64,
    /// Empty when the point carried no usable buckets.
    pub buckets: Vec<u64>,
}

impl Counts {
    /// The counts of an explicit-bucket point. Buckets that do not match the
    /// bounds (OTLP requires `bounds + 1` of them, bounds finite and
    /// increasing) are dropped rather than guessed at.
    pub(super) fn explicit(point: &HistogramDataPoint, hasher: &impl BuildHasher) -> Counts {
        let mut state = hasher.build_hasher();
        point.explicit_bounds.iter().for_each(|bound| state.write_u64(bound.to_bits()));
        let buckets = if valid_explicit(point) { point.bucket_counts.clone() } else { Vec::new() };
        Counts {
            total: point.count,
            layout: Layout::Explicit { bounds: state.finish() },
            zero: 0,
            offset: 0,
            buckets,
        }
    }

    /// The counts of an exponential point.
    pub(super) fn exponential(point: &ExponentialHistogramDataPoint) -> Counts {
        let negative = point
            .negative
            .as_ref()
            .map_or(0, |b| b.bucket_counts.iter().fold(0u64, |a, n| a.saturating_add(*n)));
        let (offset, buckets) = match &point.positive {
            Some(positive) if SCALES.contains(&point.scale) => {
                (i64::from(positive.offset), positive.bucket_counts.clone())
            }
            _ => (0, Vec::new()),
        };
        Counts {
            total: point.count,
            layout: Layout::Exponential { scale: point.scale },
            zero: point.zero_count.saturating_add(negative),
            offset,
            buckets,
        }
    }

    /// What was added between `earlier` and `self`, two cumulative points of
    /// one series; `None` when something went down or the layout changed
    /// incompatibly, i.e. the series was reset in between.
    pub(super) fn since(&self, earlier: &Counts) -> Option<Counts> {
        let earlier = match (earlier.layout, self.layout) {
            (a, b) if a == b => earlier.clone(),
            // Cumulative exponential histograms lower their scale as their
            // range grows; the earlier counts are merged to match.
            (Layout::Exponential { scale: old }, Layout::Exponential { scale: new }) if new < old => {
                earlier.downscaled(new)
            }
            _ => return None,
        };
        Some(Counts {
            total: self.total.checked_sub(earlier.total)?,
            layout: self.layout,
            zero: self.zero.checked_sub(earlier.zero)?,
            offset: self.offset,
            buckets: subtract(self.offset, &self.buckets, earlier.offset, &earlier.buckets)?,
        })
    }

    /// The same counts at a lower exponential scale: bucket `i` at scale `s`
    /// lies in bucket `i >> (s − scale)` at `scale` (OTLP's definition).
    fn downscaled(&self, scale: i32) -> Counts {
        let Layout::Exponential { scale: from } = self.layout else { return self.clone() };
        let shift = u32::try_from(from - scale).unwrap_or(0).min(63);
        let mut buckets: Vec<u64> = Vec::new();
        let offset = self.offset >> shift;
        for (k, n) in self.buckets.iter().enumerate() {
            let slot = usize::try_from(((self.offset + k as i64) >> shift) - offset).unwrap_or(0);
            if buckets.len() <= slot {
                buckets.resize(slot + 1, 0);
            }
            buckets[slot] = buckets[slot].saturating_add(*n);
        }
        Counts { layout: Layout::Exponential { scale }, offset, buckets, ..self.clone() }
    }
}

/// `later - earlier` bucket by bucket (later's range), or `None` when a
/// bucket of `earlier` is missing from `later` or holds more.
fn subtract(later_offset: i64, later: &[u64], earlier_offset: i64, earlier: &[u64]) -> Option<Vec<u64>> {
    let mut out = later.to_vec();
    for (k, n) in earlier.iter().enumerate().filter(|(_, n)| **n > 0) {
        let slot = usize::try_from(earlier_offset + k as i64 - later_offset).ok()?;
        let count = out.get_mut(slot)?;
        *count = count.checked_sub(*n)?;
    }
    Some(out)
}

fn valid_explicit(point: &HistogramDataPoint) -> bool {
    let bounds = &point.explicit_bounds;
    point.bucket_counts.len() == bounds.len() + 1
        && bounds.iter().all(|b| b.is_finite())
        && bounds.windows(2).all(|pair| pair[0] < pair[1])
}

/// What besides the counts is needed to place them: the explicit bounds
/// and the point's min and max, in the metric's unit.
#[derive(Debug, Clone, Copy)]
pub(super) struct Shape<'a> {
    pub bounds: &'a [f64],
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Milliseconds per unit of the metric.
    pub to_ms: f64,
}

/// The counts as a latency sketch in milliseconds.
pub(super) fn latency(counts: &Counts, shape: &Shape<'_>) -> Sketch {
    let mut sketch = Sketch::new();
    sketch.add_n(0.0, counts.zero);
    for (k, n) in counts.buckets.iter().enumerate().filter(|(_, n)| **n > 0) {
        let value = match counts.layout {
            Layout::Explicit { .. } => explicit_value(shape, k),
            Layout::Exponential { scale } => exponential_value(scale, counts.offset + k as i64),
        };
        // Saturate: an infinite value would be dropped by the sketch.
        sketch.add_n((value * shape.to_ms).min(f64::MAX), *n);
    }
    sketch
}

/// The midpoint of explicit bucket `k`, narrowed to the point's min and max.
fn explicit_value(shape: &Shape<'_>, k: usize) -> f64 {
    let bounds = shape.bounds;
    let lower = match k.checked_sub(1) {
        Some(below) => bounds.get(below).copied().unwrap_or(0.0),
        None => bounds.first().map_or(0.0, |first| first.min(0.0)),
    };
    // The overflow bucket has no upper bound: without a max, its lower one.
    let upper = bounds.get(k).copied().or(shape.max).unwrap_or(lower);
    let narrowed_lower = shape.min.filter(|m| m.is_finite()).map_or(lower, |min| lower.max(min));
    let narrowed_upper = shape.max.filter(|m| m.is_finite()).map_or(upper, |max| upper.min(max));
    if narrowed_lower <= narrowed_upper {
        (narrowed_lower + narrowed_upper) / 2.0
    } else {
        // min and max disagree with the buckets: trust the buckets.
        (lower + upper.max(lower)) / 2.0
    }
}

/// The value of exponential bucket `index` at `scale`, see the module docs.
/// Computed from `log2` so that extreme indexes saturate instead of failing.
fn exponential_value(scale: i32, index: i64) -> f64 {
    let width = (-f64::from(scale)).exp2();
    let lower = (index as f64 * width).exp2();
    // 2b / (1 + b), written so that an infinite base (scale -10) gives 2.
    let factor = 2.0 / (1.0 + width.exp2().recip());
    (lower * factor).min(f64::MAX)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use opentelemetry_proto::tonic::metrics::v1::exponential_histogram_data_point::Buckets;
    use std::collections::hash_map::RandomState;

    fn explicit(counts: &[u64], bounds: &[f64]) -> HistogramDataPoint {
        HistogramDataPoint {
            count: counts.iter().sum(),
            bucket_counts: counts.to_vec(),
            explicit_bounds: bounds.to_vec(),
            ..Default::default()
        }
    }

    fn exponential(scale: i32, offset: i32, counts: &[u64], zero: u64) -> ExponentialHistogramDataPoint {
        ExponentialHistogramDataPoint {
            count: counts.iter().sum::<u64>() + zero,
            scale,
            zero_count: zero,
            positive: Some(Buckets { offset, bucket_counts: counts.to_vec() }),
            ..Default::default()
        }
    }

    fn shape(bounds: &[f64]) -> Shape<'_> {
        Shape { bounds, min: None, max: None, to_ms: 1.0 }
    }

    #[test]
    fn explicit_buckets_sit_at_their_midpoints() {
        let bounds = [10.0, 20.0, 40.0];
        assert_eq!(explicit_value(&shape(&bounds), 0), 5.0);
        assert_eq!(explicit_value(&shape(&bounds), 1), 15.0);
        assert_eq!(explicit_value(&shape(&bounds), 2), 30.0);
        assert_eq!(explicit_value(&shape(&bounds), 3), 40.0, "overflow without max: the last bound");
        let known = Shape { min: Some(12.0), max: Some(100.0), ..shape(&bounds) };
        assert_eq!(explicit_value(&known, 1), 16.0, "narrowed to min");
        assert_eq!(explicit_value(&known, 3), 70.0, "overflow up to max");
        let wrong = Shape { min: Some(500.0), max: Some(600.0), ..shape(&bounds) };
        assert_eq!(explicit_value(&wrong, 1), 15.0, "min and max contradicting the buckets are ignored");
        let from_zero = [0.0, 5.0];
        assert_eq!(explicit_value(&shape(&from_zero), 0), 0.0);
    }

    #[test]
    fn exponential_values_are_within_the_bucket() {
        // Scale 0: bucket 3 is (8, 16].
        let v = exponential_value(0, 3);
        assert!(v > 8.0 && v <= 16.0, "{v}");
        assert!((v - 2.0 * 8.0 * 16.0 / 24.0).abs() < 1e-9);
        // Scale 3, negative index: (2^-1, 2^-0.875].
        let v = exponential_value(3, -8);
        assert!(v > 0.5 && v <= 0.5f64 * 2f64.powf(0.125), "{v}");
        assert!(exponential_value(-10, i64::from(i32::MAX)).is_finite());
    }

    #[test]
    fn invalid_explicit_buckets_are_dropped() {
        let hasher = RandomState::new();
        assert!(Counts::explicit(&explicit(&[1, 2], &[1.0, 2.0]), &hasher).buckets.is_empty());
        assert!(Counts::explicit(&explicit(&[1, 2, 3], &[2.0, 1.0]), &hasher).buckets.is_empty());
        assert!(Counts::explicit(&explicit(&[1, 2, 3], &[1.0, f64::NAN]), &hasher).buckets.is_empty());
        assert_eq!(Counts::explicit(&explicit(&[1, 2, 3], &[1.0, 2.0]), &hasher).buckets, vec![1, 2, 3]);
    }

    #[test]
    fn since_subtracts_and_detects_resets() {
        let hasher = RandomState::new();
        let bounds = [1.0, 2.0];
        let first = Counts::explicit(&explicit(&[1, 2, 3], &bounds), &hasher);
        let second = Counts::explicit(&explicit(&[4, 2, 5], &bounds), &hasher);
        let delta = second.since(&first).unwrap();
        assert_eq!((delta.total, delta.buckets.clone()), (5, vec![3, 0, 2]));
        assert_eq!(first.since(&second), None, "counts went down");
        let rebucketed = Counts::explicit(&explicit(&[9, 9, 9], &[1.0, 3.0]), &hasher);
        assert_eq!(rebucketed.since(&first), None, "other bounds");
    }

    #[test]
    fn since_downscales_exponential_counts() {
        // Scale 1 buckets 2 and 3 are bucket 1 at scale 0.
        let first = Counts::exponential(&exponential(1, 2, &[1, 1], 0));
        let second = Counts::exponential(&exponential(0, 1, &[3, 4], 1));
        let delta = second.since(&first).unwrap();
        assert_eq!((delta.total, delta.zero, delta.offset, delta.buckets), (6, 1, 1, vec![1, 4]));
        assert_eq!(first.since(&second), None, "the scale never goes up in one series");
    }

    #[test]
    fn downscaling_negative_indexes_floors() {
        let counts = Counts::exponential(&exponential(2, -3, &[1, 1, 1, 1], 0));
        let down = counts.downscaled(0);
        // Indexes -3..=0 at scale 2 are -1, -1, -1, 0 at scale 0.
        assert_eq!((down.offset, down.buckets), (-1, vec![3, 1]));
    }

    #[test]
    fn latency_places_every_count() {
        let hasher = RandomState::new();
        let point = explicit(&[2, 0, 1, 1], &[0.1, 0.2, 0.4]);
        let counts = Counts::explicit(&point, &hasher);
        let sketch = latency(&counts, &Shape { to_ms: 1000.0, ..shape(&point.explicit_bounds) });
        assert_eq!(sketch.count(), 4);
        assert!((sketch.quantile(0.0).unwrap() - 50.0).abs() <= 0.5);
        assert!((sketch.quantile(1.0).unwrap() - 400.0).abs() <= 4.0);
    }
}
