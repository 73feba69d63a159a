//! The time range a page looks at (`period=24h` in the URL) and the steps
//! its charts are drawn in.

use std::time::Duration;

use faultline_model::UnixNanos;

const MINUTE: i64 = 60 * 1_000_000_000;

/// The periods offered, as (URL value, label, length in minutes).
pub const CHOICES: &[(&str, &str, i64)] = &[
    ("1h", "Last hour", 60),
    ("24h", "Last 24 hours", 24 * 60),
    ("7d", "Last 7 days", 7 * 24 * 60),
    ("14d", "Last 14 days", 14 * 24 * 60),
    ("30d", "Last 30 days", 30 * 24 * 60),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub key: &'static str,
    pub label: &'static str,
    minutes: i64,
}

impl Period {
    /// The period a URL names; the default (24 hours) for anything else.
    pub fn parse(text: Option<&str>) -> Period {
        let (key, label, minutes) = CHOICES.iter().find(|c| Some(c.0) == text).copied().unwrap_or(CHOICES[1]);
        Period { key, label, minutes }
    }

    pub fn nanos(&self) -> i64 {
        self.minutes * MINUTE
    }

    /// `[from, to)` ending now; `to` is rounded up to the chart step so the
    /// last bar is the current one.
    pub fn range(&self, now: UnixNanos, buckets: i64) -> (UnixNanos, UnixNanos) {
        let step = self.step_nanos(buckets);
        let to = (now.div_euclid(step) + 1) * step;
        (to - step * buckets, to)
    }

    /// The step for `buckets` bars over the period, a whole minute at least.
    pub fn step_nanos(&self, buckets: i64) -> i64 {
        (self.nanos() / buckets.max(1)).max(MINUTE) / MINUTE * MINUTE
    }

    pub fn step(&self, buckets: i64) -> Duration {
        Duration::from_nanos(u64::try_from(self.step_nanos(buckets)).unwrap_or(60_000_000_000))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse_and_default() {
        assert_eq!(Period::parse(Some("7d")).key, "7d");
        assert_eq!(Period::parse(Some("bogus")).key, "24h");
        assert_eq!(Period::parse(None).key, "24h");
    }

    #[test]
    fn ranges_end_on_a_step() {
        let p = Period::parse(Some("24h"));
        let now = 1_000 * 60 * MINUTE + 7;
        let (from, to) = p.range(now, 24);
        assert!(to > now && to - now <= 60 * MINUTE);
        assert_eq!(to - from, 24 * 60 * MINUTE);
        assert_eq!(to % p.step_nanos(24), 0);
    }
}
