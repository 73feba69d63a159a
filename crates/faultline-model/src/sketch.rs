//! A DDSketch: a quantile sketch with a relative-error guarantee that merges
//! exactly, so per-minute latency sketches can be rolled up into hours and
//! across instances without losing accuracy.
//!
//! Values (milliseconds) are mapped to buckets by a logarithm: bucket `i`
//! holds the values in `(γ^(i-1), γ^i]` with `γ = (1 + α) / (1 - α)`, and a
//! quantile is answered with the bucket's value `2γ^i / (γ + 1)`, which is
//! within `α` relative error of anything in the bucket. Values at or below
//! [`MIN_INDEXABLE`] (zero, negatives) go to a separate zero bucket and read
//! back as 0. See Masson, Rim and Lee, "DDSketch", VLDB 2019.
//!
//! Memory is bounded by [`MAX_BUCKETS`]: when the buckets would span a wider
//! range, the lowest ones are collapsed into one. Accuracy then still holds
//! for every quantile whose rank falls above the collapsed buckets, i.e. the
//! upper quantiles users watch; it takes a spread of more than 17 orders of
//! magnitude (1 µs to 20 years) to collapse anything at 1%.

use serde::{Deserialize, Serialize};

/// The relative accuracy α every quantile is answered with.
pub const RELATIVE_ACCURACY: f64 = 0.01;

/// Most buckets one sketch keeps (8 bytes each) besides the zero bucket.
pub const MAX_BUCKETS: usize = 2048;

/// Values at or below this (in milliseconds: one picosecond) count in the
/// zero bucket: no duration is measured that finely, and the bound keeps the
/// bucket indexes of hostile tiny values in range.
pub const MIN_INDEXABLE: f64 = 1e-9;

/// `(1 + α) / (1 - α)`, the ratio between consecutive bucket bounds.
fn gamma() -> f64 {
    (1.0 + RELATIVE_ACCURACY) / (1.0 - RELATIVE_ACCURACY)
}

/// The bucket of a value above [`MIN_INDEXABLE`]: `ceil(log_γ(value))`.
fn index_of(value: f64) -> i32 {
    // The float-to-int cast saturates; finite values give |index| < 36 000.
    (value.ln() / gamma().ln()).ceil() as i32
}

/// The value a bucket answers with: the point of `(γ^(i-1), γ^i]` whose
/// relative distance to both ends is `α`. Capped at `f64::MAX`: the top
/// bucket's bound overflows.
fn value_of(index: i32) -> f64 {
    let g = gamma();
    ((f64::from(index) * g.ln()).exp() * 2.0 / (g + 1.0)).min(f64::MAX)
}

/// Lowest and highest bucket a finite value above [`MIN_INDEXABLE`] maps to;
/// stored parts are clamped to them.
fn index_range() -> (i32, i32) {
    (index_of(MIN_INDEXABLE), index_of(f64::MAX))
}

/// A mergeable latency distribution with ≤ [`RELATIVE_ACCURACY`] relative
/// error on quantiles (see the module docs for the bounds).
///
/// Invariant: `counts` is empty or starts and ends with a non-zero count, so
/// equal distributions have equal representations and `PartialEq` means
/// "same buckets".
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(from = "SketchParts", into = "SketchParts")]
pub struct Sketch {
    zero_count: u64,
    /// Bucket index of `counts[0]`.
    offset: i32,
    counts: Vec<u64>,
    count: u64,
    sum: f64,
    /// 0 while empty, like `max`.
    min: f64,
    max: f64,
}

/// A sketch in a form fit for storage: dense counts from bucket `offset`.
/// All floats are finite; an empty sketch has no counts and zero min and max.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SketchParts {
    pub zero_count: u64,
    pub offset: i32,
    pub counts: Vec<u64>,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
}

impl Sketch {
    /// An empty sketch with α = [`RELATIVE_ACCURACY`].
    pub fn new() -> Sketch {
        Sketch::default()
    }

    /// Adds one value in milliseconds. NaN and infinities are ignored;
    /// zero and negative values (a clock step) count as 0.
    pub fn add(&mut self, value: f64) {
        self.add_n(value, 1);
    }

    /// Adds `n` occurrences of `value`, as [`Sketch::add`] does.
    pub fn add_n(&mut self, value: f64, n: u64) {
        if n == 0 || !value.is_finite() {
            return;
        }
        let value = value.max(0.0);
        self.add_stats(n, value * n as f64, value, value);
        if value <= MIN_INDEXABLE {
            self.zero_count = self.zero_count.saturating_add(n);
        } else {
            self.add_to_bucket(index_of(value), n);
        }
    }

    /// Adds every value of `other`, as if they had been added here.
    ///
    /// Reads fold many minute sketches into one, so this works on whole
    /// slices: into an empty sketch it is a copy, otherwise one pass of
    /// additions over the overlapping buckets.
    pub fn merge(&mut self, other: &Sketch) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            // `clone_from` keeps an accumulator's allocation across reuses.
            self.counts.clone_from(&other.counts);
            self.offset = other.offset;
        } else if let Some(other_hi) = other.highest_index() {
            let hi = self.highest_index().map_or(other_hi, |hi| hi.max(other_hi));
            let lo = if self.counts.is_empty() { other.offset } else { self.offset.min(other.offset) };
            self.cover(lo, hi);
            add_counts(&mut self.counts, self.offset, &other.counts, other.offset);
        }
        self.add_stats(other.count, other.sum, other.min, other.max);
        self.zero_count = self.zero_count.saturating_add(other.zero_count);
    }

    /// Number of values added.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Sum of the values added (negatives counted as 0), saturating at `f64::MAX`.
    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// Smallest value added, exact; `None` when empty.
    pub fn min(&self) -> Option<f64> {
        (self.count > 0).then_some(self.min)
    }

    /// Largest value added, exact; `None` when empty.
    pub fn max(&self) -> Option<f64> {
        (self.count > 0).then_some(self.max)
    }

    /// The value of rank `floor(q · (count − 1))` among the sorted values,
    /// within [`RELATIVE_ACCURACY`] relative error (values in the zero bucket
    /// read as 0). `q` is clamped to `[0, 1]`; `None` when empty or `q` is NaN.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 || q.is_nan() {
            return None;
        }
        let rank = (q.clamp(0.0, 1.0) * (self.count - 1) as f64).floor() as u64;
        let estimate = self.value_at_rank(rank);
        // The true value lies in [min, max], so clamping can only get closer;
        // it makes p0 and p100 exact.
        Some(estimate.max(self.min).min(self.max))
    }

    /// The sketch as dense parts, for storage.
    pub fn to_parts(&self) -> SketchParts {
        SketchParts {
            zero_count: self.zero_count,
            offset: self.offset,
            counts: self.counts.clone(),
            sum: self.sum,
            min: self.min,
            max: self.max,
        }
    }

    /// Rebuilds a sketch from stored parts. Parts that no sketch could have
    /// produced (buckets out of range or too many, non-finite or inconsistent
    /// sums and bounds) are repaired rather than trusted, so a damaged record
    /// yields a usable sketch and never a panic.
    pub fn from_parts(parts: SketchParts) -> Sketch {
        let mut sketch = Sketch { zero_count: parts.zero_count, ..Sketch::default() };
        let (lowest, highest) = index_range();
        for (k, &n) in parts.counts.iter().enumerate() {
            if n == 0 {
                continue;
            }
            let index = i64::from(parts.offset).saturating_add(k as i64);
            let index = index.clamp(i64::from(lowest), i64::from(highest)) as i32;
            sketch.add_to_bucket(index, n);
        }
        sketch.count = sketch.buckets().fold(sketch.zero_count, |total, (_, n)| total.saturating_add(n));
        if sketch.count == 0 {
            return Sketch::new();
        }
        sketch.restore_stats(&parts);
        sketch
    }

    /// Updates count, sum, min and max for `n` values.
    fn add_stats(&mut self, n: u64, sum: f64, min: f64, max: f64) {
        if self.count == 0 {
            (self.min, self.max) = (min, max);
        } else {
            (self.min, self.max) = (self.min.min(min), self.max.max(max));
        }
        self.count = self.count.saturating_add(n);
        self.sum = (self.sum + sum).min(f64::MAX);
    }

    /// Takes sum, min and max from stored parts when they are plausible,
    /// else estimates them from the buckets.
    fn restore_stats(&mut self, parts: &SketchParts) {
        let lowest =
            if self.zero_count > 0 { 0.0 } else { self.buckets().next().map_or(0.0, |(i, _)| value_of(i)) };
        let highest = self.highest_index().map_or(0.0, value_of);
        let plausible =
            parts.min.is_finite() && parts.max.is_finite() && 0.0 <= parts.min && parts.min <= parts.max;
        (self.min, self.max) = if plausible { (parts.min, parts.max) } else { (lowest, highest) };
        self.sum = if parts.sum.is_finite() && parts.sum >= 0.0 {
            parts.sum
        } else {
            self.buckets().map(|(i, n)| value_of(i) * n as f64).sum::<f64>().min(f64::MAX)
        };
    }

    /// Walks the zero bucket and then the buckets in order to the one that
    /// holds the value of 0-based rank `rank`.
    fn value_at_rank(&self, rank: u64) -> f64 {
        if rank < self.zero_count {
            return 0.0;
        }
        let mut seen = self.zero_count;
        for (index, n) in self.buckets() {
            seen = seen.saturating_add(n);
            if seen > rank {
                return value_of(index);
            }
        }
        // Only reachable when counts saturated u64.
        self.max
    }

    /// Non-empty buckets as (index, count), lowest first.
    fn buckets(&self) -> impl Iterator<Item = (i32, u64)> + '_ {
        (self.offset..).zip(self.counts.iter().copied()).filter(|(_, n)| *n > 0)
    }

    fn highest_index(&self) -> Option<i32> {
        let len = i32::try_from(self.counts.len()).ok()?;
        (len > 0).then(|| self.offset + len - 1)
    }

    /// Adds `n` to bucket `index`, growing the range to include it.
    fn add_to_bucket(&mut self, index: i32, n: u64) {
        // Nearly every value lands inside the current range: no resizing.
        let slot = usize::try_from(i64::from(index) - i64::from(self.offset)).ok();
        if let Some(count) = slot.and_then(|slot| self.counts.get_mut(slot)) {
            *count = count.saturating_add(n);
            return;
        }
        let (lo, hi) = match self.highest_index() {
            Some(hi) => (self.offset.min(index), hi.max(index)),
            None => (index, index),
        };
        self.cover(lo, hi);
        self.add_in_range(index, n);
    }

    /// Adds `n` to bucket `index`, or to the lowest bucket when `index` is
    /// below the range (it was collapsed).
    fn add_in_range(&mut self, index: i32, n: u64) {
        let slot = (index.max(self.offset) - self.offset) as usize;
        if let Some(count) = self.counts.get_mut(slot) {
            *count = count.saturating_add(n);
        }
    }

    /// Makes `counts` span the buckets `lo..=hi` (a superset of the current
    /// range), but at most [`MAX_BUCKETS`] of them: the buckets below
    /// `hi - MAX_BUCKETS + 1` are collapsed into that one. Collapsing depends
    /// only on the highest index, so the result does not depend on the order
    /// values were added or sketches merged.
    fn cover(&mut self, lo: i32, hi: i32) {
        let lo = lo.max(hi - (MAX_BUCKETS as i32 - 1));
        let len = (hi - lo + 1) as usize;
        if self.counts.is_empty() {
            self.offset = lo;
            self.counts = vec![0; len];
            return;
        }
        if lo == self.offset {
            self.counts.resize(len, 0);
            return;
        }
        let mut counts = vec![0; len];
        add_counts(&mut counts, lo, &self.counts, self.offset);
        self.offset = lo;
        self.counts = counts;
    }
}

/// Adds the buckets `src` (from index `src_offset`) to `dest` (from
/// `dest_offset`), which must reach at least as high. Buckets below
/// `dest`'s range go to its lowest one, as collapsing does.
fn add_counts(dest: &mut [u64], dest_offset: i32, src: &[u64], src_offset: i32) {
    let below = usize::try_from(i64::from(dest_offset) - i64::from(src_offset)).unwrap_or(0);
    let (collapsed, rest) = src.split_at(below.min(src.len()));
    if let Some(lowest) = dest.first_mut() {
        *lowest = collapsed.iter().fold(*lowest, |sum, &n| sum.saturating_add(n));
    }
    let start = usize::try_from(i64::from(src_offset) - i64::from(dest_offset)).unwrap_or(0);
    if let Some(slots) = dest.get_mut(start..) {
        for (slot, &n) in slots.iter_mut().zip(rest) {
            *slot = slot.saturating_add(n);
        }
    }
}

impl From<SketchParts> for Sketch {
    fn from(parts: SketchParts) -> Sketch {
        Sketch::from_parts(parts)
    }
}

impl From<Sketch> for SketchParts {
    fn from(sketch: Sketch) -> SketchParts {
        SketchParts {
            zero_count: sketch.zero_count,
            offset: sketch.offset,
            counts: sketch.counts,
            sum: sketch.sum,
            min: sketch.min,
            max: sketch.max,
        }
    }
}

#[cfg(test)]
mod tests;
