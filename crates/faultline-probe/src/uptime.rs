//! Uptime: the share of successful runs in a time window.

use faultline_model::UnixNanos;
use serde::{Deserialize, Serialize};

use crate::result::CheckResult;

const HOUR: UnixNanos = 3_600 * 1_000_000_000;
const DAY: UnixNanos = 24 * HOUR;

/// The share (0.0 to 1.0) of successful results with `from <= at < to`,
/// or `None` when there is none. `results` must be in time order.
///
/// Counting runs rather than time is exact for a fixed interval and stays
/// meaningful when the interval changed within the window.
pub fn uptime(results: &[CheckResult], from: UnixNanos, to: UnixNanos) -> Option<f64> {
    let start = results.partition_point(|r| r.at < from);
    let end = results.partition_point(|r| r.at < to).max(start);
    let window = &results[start..end];
    if window.is_empty() {
        return None;
    }
    let ok = window.iter().filter(|r| r.ok).count();
    Some(ok as f64 / window.len() as f64)
}

/// Uptime over the windows the API shows, each ending at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct UptimeSummary {
    pub last_24h: Option<f64>,
    pub last_7d: Option<f64>,
    pub last_30d: Option<f64>,
}

pub fn uptime_summary(results: &[CheckResult], now: UnixNanos) -> UptimeSummary {
    // `now` is inclusive: a result stamped this very nanosecond counts.
    let to = now.saturating_add(1);
    let window = |length: UnixNanos| uptime(results, now.saturating_sub(length), to);
    UptimeSummary { last_24h: window(DAY), last_7d: window(7 * DAY), last_30d: window(30 * DAY) }
}
