//! Anomaly detection with robust statistics, so people get useful alerts
//! without picking thresholds.
//!
//! # Method
//!
//! The engine keeps, per endpoint (service, environment, route), the hourly
//! figures the server feeds it ([`super::HourlyFigures`]), for the last
//! eight days. The value judged is the endpoint's figure over the last hour
//! (an [`super::EndpointWindow`] with a one-hour window): its error rate
//! (errors / requests) or its p95 latency.
//!
//! It is compared with two references, each summarised by its median and
//! its median absolute deviation (MAD), which a few outliers in the
//! history (last Tuesday's incident) cannot drag the way they drag a mean
//! and a standard deviation:
//!
//! - **seasonal**: the same hour of the day on each of the previous 7 days
//!   (at least 3 of them with enough traffic), which knows that 09:00 is
//!   always busier and slower than 04:00;
//! - **recent**: the last 6 completed hours (at least 4), which knows what
//!   today looks like.
//!
//! For each reference, `z = (value − median) / scale`, where `scale` is
//! the robust standard deviation `1.4826 × MAD` (1.4826 makes the MAD of
//! normally distributed data equal its standard deviation), but never
//! below a floor: 10% of the median; 0.5 percentage points (error rate) or
//! 5 ms (p95); and, for error rates, the binomial noise of the current
//! hour's request count, `sqrt(p(1 − p) / n)` with `p` the median (at least
//! `1 / n`). The floor keeps a perfectly flat history (MAD = 0) from
//! turning one stray error into an alert.
//!
//! The score is the smaller of the two z: an hour is anomalous only when
//! it is unusual **both** for this time of day **and** for the last few
//! hours. The seasonal test alone would page all day after a deliberate
//! change; the recent test alone would page every morning when traffic
//! ramps up. Only increases count: an error rate or latency that drops is
//! not a problem.
//!
//! The alert fires when the score exceeds the rule's `sensitivity`
//! (default 3, so a rise of more than three robust standard deviations)
//! and resolves when it falls below three quarters of it, so a value
//! hovering at the edge does not flap. Hours with fewer requests than the
//! rule's `min_requests` (default 100) are left out of the references,
//! and a current hour with fewer is not judged. Until there are enough
//! reference hours the rule stays quiet; the server can backfill hourly
//! history from its rollups at start so that it is useful at once.
//!
//! Limitation: a lasting change (a release that makes an endpoint slower
//! for good) alerts for the few hours it takes the recent median to
//! follow, then resolves, and the seasonal test accepts it a week later.

use std::collections::BTreeMap;

use faultline_model::UnixNanos;
use serde::{Deserialize, Serialize};

use super::facts::{Endpoint, HourlyFigures};
use super::rules::AnomalyMetric;

pub const HOUR: UnixNanos = 3_600_000_000_000;
pub const DAY: UnixNanos = 24 * HOUR;
/// History kept per endpoint: the seasonal reference reaches 7 days back,
/// plus one day of margin for the reference hour's rounding.
pub const HISTORY: UnixNanos = 8 * DAY;
/// Endpoints with history at once; the one updated longest ago goes first.
pub const MAX_SERIES: usize = 2000;
pub const SEASONAL_DAYS: i64 = 7;
pub const RECENT_HOURS: i64 = 6;
pub const MIN_SEASONAL_POINTS: usize = 3;
pub const MIN_RECENT_POINTS: usize = 4;
/// Makes the MAD of normal data equal its standard deviation.
pub const MAD_TO_SIGMA: f64 = 1.4826;
pub const RELATIVE_FLOOR: f64 = 0.1;
pub const ERROR_RATE_FLOOR: f64 = 0.005;
pub const LATENCY_FLOOR_MS: f64 = 5.0;
/// A firing anomaly resolves when its score falls below this share of the sensitivity.
pub const RESOLVE_FACTOR: f64 = 0.75;

/// One completed hour of one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct HourPoint {
    pub requests: u64,
    pub errors: u64,
    pub p95_ms: Option<f64>,
}

impl HourPoint {
    fn value(&self, metric: AnomalyMetric) -> Option<f64> {
        let value = match metric {
            AnomalyMetric::ErrorRate => {
                (self.requests > 0).then(|| self.errors as f64 / self.requests as f64)?
            }
            AnomalyMetric::P95 => self.p95_ms?,
        };
        value.is_finite().then_some(value)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Series {
    pub endpoint: Endpoint,
    /// By hour start.
    pub hours: BTreeMap<UnixNanos, HourPoint>,
    pub updated_at: UnixNanos,
}

/// Hourly history of every endpoint an anomaly rule looks at.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Baselines {
    pub series: BTreeMap<String, Series>,
}

pub(crate) fn hour_start(at: UnixNanos) -> UnixNanos {
    at - at.rem_euclid(HOUR)
}

impl Baselines {
    /// Stores (or replaces) one completed hour under `key`.
    pub fn record(&mut self, key: &str, figures: &HourlyFigures, now: UnixNanos) {
        let hour = hour_start(figures.hour_start);
        let newest = now.max(hour);
        if hour < newest.saturating_sub(HISTORY) {
            return;
        }
        if !self.series.contains_key(key) && self.series.len() >= MAX_SERIES {
            let stalest = self.series.iter().min_by_key(|(_, s)| s.updated_at).map(|(k, _)| k.clone());
            if let Some(stalest) = stalest {
                self.series.remove(&stalest);
            }
        }
        let series = self.series.entry(key.to_string()).or_insert_with(|| Series {
            endpoint: figures.endpoint.clone(),
            hours: BTreeMap::new(),
            updated_at: now,
        });
        series.updated_at = series.updated_at.max(now);
        let p95_ms = figures.p95_ms.filter(|v| v.is_finite());
        series.hours.insert(hour, HourPoint { requests: figures.requests, errors: figures.errors, p95_ms });
        let cutoff = newest.saturating_sub(HISTORY);
        while series.hours.first_key_value().is_some_and(|(h, _)| *h < cutoff) {
            series.hours.pop_first();
        }
    }
}

impl Baselines {
    /// Forgets endpoints with no new hour for the whole history span
    /// (removed routes, renamed services), so they do not linger in state.
    pub fn prune(&mut self, now: UnixNanos) {
        let cutoff = now.saturating_sub(HISTORY);
        self.series.retain(|_, s| s.updated_at >= cutoff);
    }
}

/// The median of `values` (sorted in place); `None` when empty.
pub(crate) fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 { values[mid] } else { (values[mid - 1] + values[mid]) / 2.0 })
}

/// A reference summarised robustly.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reference {
    pub median: f64,
    /// Robust standard deviation, floored (see the module docs).
    pub scale: f64,
    pub points: usize,
}

impl Reference {
    fn of(mut values: Vec<f64>, metric: AnomalyMetric, current_requests: u64) -> Option<Reference> {
        let points = values.len();
        let median = median(&mut values)?;
        let mut deviations: Vec<f64> = values.iter().map(|v| (v - median).abs()).collect();
        let mad = self::median(&mut deviations)?;
        let floor = match metric {
            AnomalyMetric::ErrorRate => {
                let n = current_requests.max(1) as f64;
                let p = median.max(1.0 / n).min(1.0);
                ERROR_RATE_FLOOR.max((p * (1.0 - p) / n).sqrt())
            }
            AnomalyMetric::P95 => LATENCY_FLOOR_MS,
        };
        let scale = (MAD_TO_SIGMA * mad).max(RELATIVE_FLOOR * median.abs()).max(floor);
        Some(Reference { median, scale, points })
    }

    /// How many robust standard deviations `value` is above the median.
    pub fn z(&self, value: f64) -> f64 {
        (value - self.median) / self.scale
    }

    /// The value at which `z` reaches `sensitivity`.
    pub fn level(&self, sensitivity: f64) -> f64 {
        self.median + sensitivity * self.scale
    }
}

/// How unusual the current value is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    pub value: f64,
    pub seasonal: Reference,
    pub recent: Reference,
    /// The smaller of the two z scores.
    pub score: f64,
}

impl Verdict {
    /// The value above which both references call it anomalous.
    pub fn level(&self, sensitivity: f64) -> f64 {
        self.seasonal.level(sensitivity).max(self.recent.level(sensitivity))
    }
}

/// Judges `value` (measured over the hour ending at `at`, from `requests`
/// requests) against `series`. `None` when there is not enough history or
/// traffic to judge.
pub(crate) fn assess(
    series: &Series,
    metric: AnomalyMetric,
    value: f64,
    requests: u64,
    at: UnixNanos,
    min_requests: u64,
) -> Option<Verdict> {
    if requests < min_requests || !value.is_finite() {
        return None;
    }
    let usable = |hour: UnixNanos| {
        series.hours.get(&hour).filter(|p| p.requests >= min_requests).and_then(|p| p.value(metric))
    };
    // The trailing hour straddles two clock hours; the one it mostly
    // covers is the one to compare with on earlier days.
    let same_hour = hour_start(at.saturating_sub(HOUR / 2));
    let seasonal: Vec<f64> = (1..=SEASONAL_DAYS).filter_map(|d| usable(same_hour - d * DAY)).collect();
    let this_hour = hour_start(at);
    let recent: Vec<f64> = (1..=RECENT_HOURS).filter_map(|h| usable(this_hour - h * HOUR)).collect();
    if seasonal.len() < MIN_SEASONAL_POINTS || recent.len() < MIN_RECENT_POINTS {
        return None;
    }
    let seasonal = Reference::of(seasonal, metric, requests)?;
    let recent = Reference::of(recent, metric, requests)?;
    let score = seasonal.z(value).min(recent.z(value));
    Some(Verdict { value, seasonal, recent, score })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn flat_history_is_floored() {
        let r = Reference::of(vec![0.0; 7], AnomalyMetric::ErrorRate, 10_000);
        assert_eq!(r.map(|r| r.scale), Some(ERROR_RATE_FLOOR));
        // Few requests: one error in a hundred is noise, not a spike.
        let r = Reference::of(vec![0.0; 7], AnomalyMetric::ErrorRate, 100);
        assert!(r.is_some_and(|r| r.z(0.01) < 1.1));
        let r = Reference::of(vec![200.0; 7], AnomalyMetric::P95, 10_000);
        assert_eq!(r.map(|r| r.scale), Some(20.0));
    }
}
