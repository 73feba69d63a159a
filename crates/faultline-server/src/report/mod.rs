//! Reports: what happened over a period (`now - since` to `now`) compared
//! with the period of the same length before it: new issues, the issues
//! with most events, per-service requests, error rate and p95 latency, and
//! uptime per active check. `GET /api/v1/report`, `faultline report` and
//! the scheduled digests all build the same [`Report`] and show it with the
//! same [`render_text`].

mod render;

pub(crate) use render::count;

use std::collections::BTreeMap;
use std::time::Duration;

use faultline_model::{Group, HealthBucket, UnixNanos};
use faultline_store::{GroupFilter, GroupSort, HealthFilter, Storage};
use serde::{Deserialize, Serialize};

use crate::checks::Checks;
pub use render::render_text;

/// Bumped when a field is removed or retyped.
pub const REPORT_VERSION: u32 = 1;
/// Shortest and longest period a report covers.
pub const MIN_SINCE: Duration = Duration::from_secs(60);
pub const MAX_SINCE: Duration = Duration::from_secs(366 * 24 * 3600);
/// Issues listed under "new" and "top"; the totals count them all.
const MAX_NEW_GROUPS: usize = 20;
const MAX_TOP_GROUPS: usize = 10;
/// Distinct fingerprints counted per period: counts are exact below this.
const MAX_FINGERPRINTS: usize = 10_000;
const MINUTE_NANOS: i64 = 60_000_000_000;

/// `[from, to)`, in RFC 3339 in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    #[serde(with = "faultline_model::rfc3339")]
    pub from: UnixNanos,
    #[serde(with = "faultline_model::rfc3339")]
    pub to: UnixNanos,
}

impl Period {
    /// The `since` long period that ends at `now`.
    pub fn ending(now: UnixNanos, since: Duration) -> Period {
        let length = i64::try_from(since.as_nanos()).unwrap_or(i64::MAX);
        Period { from: now.saturating_sub(length), to: now }
    }

    /// The period of the same length just before this one.
    pub fn previous(&self) -> Period {
        Period { from: self.from.saturating_sub(self.to - self.from), to: self.from }
    }

    pub fn contains(&self, at: UnixNanos) -> bool {
        self.from <= at && at < self.to
    }

    pub fn seconds(&self) -> u64 {
        u64::try_from((self.to - self.from) / 1_000_000_000).unwrap_or(0)
    }

    /// Health figures are kept per minute (older ones per hour): the period
    /// shifted to whole minutes, both ends rounded up, so it includes the
    /// minute going on at `now` and the two periods of a report never count
    /// the minute between them twice.
    fn health_range(&self) -> (UnixNanos, UnixNanos) {
        let ceil = |t: UnixNanos| {
            let into = t.rem_euclid(MINUTE_NANOS);
            if into == 0 {
                t
            } else {
                t - into + MINUTE_NANOS
            }
        };
        (ceil(self.from), ceil(self.to))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub version: u32,
    #[serde(with = "faultline_model::rfc3339")]
    pub generated_at: UnixNanos,
    /// The period reported on, and the one it is compared with.
    pub period: Period,
    pub previous_period: Period,
    /// Length of each period, in seconds.
    pub period_seconds: u64,
    pub summary: Summary,
    /// Issues first seen in the period, newest first (at most 20).
    pub new_groups: Vec<GroupLine>,
    /// Issues with most events in the period (at most 10).
    pub top_groups: Vec<GroupLine>,
    /// Every service with requests in either period, busiest first.
    pub services: Vec<ServiceLine>,
    /// Every active check, by id.
    pub checks: Vec<CheckLine>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Error events in the period and in the previous one.
    pub events: u64,
    pub previous_events: u64,
    /// Relative change, 0.25 for +25%; null when there was nothing before.
    pub events_change: Option<f64>,
    /// Issues first seen in the period (all of them, not only those listed).
    pub new_groups: usize,
    pub previous_new_groups: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupLine {
    pub id: u64,
    pub title: String,
    pub service: String,
    pub culprit: String,
    pub status: faultline_model::GroupStatus,
    #[serde(with = "faultline_model::rfc3339")]
    pub first_seen: UnixNanos,
    /// Events in the period and in the previous one.
    pub events: u64,
    pub previous_events: u64,
    /// Every event of the issue, ever.
    pub total_events: u64,
    /// Whether the issue was first seen in the period.
    pub new: bool,
    /// `/issues/{id}`, absolute when a public URL is configured.
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceLine {
    pub service: String,
    pub requests: u64,
    pub previous_requests: u64,
    /// Relative change; null when there were no requests before.
    pub requests_change: Option<f64>,
    pub errors: u64,
    /// Failed requests over requests (0.02 for 2%); null without requests.
    pub error_rate: Option<f64>,
    pub previous_error_rate: Option<f64>,
    /// Difference in the rate (0.012 for +1.2 percentage points).
    pub error_rate_change: Option<f64>,
    pub p95_ms: Option<f64>,
    pub previous_p95_ms: Option<f64>,
    /// Relative change.
    pub p95_change: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckLine {
    pub id: String,
    pub kind: String,
    /// Share of successful runs (0.999); null when the check did not run.
    pub uptime: Option<f64>,
    pub previous_uptime: Option<f64>,
    /// Difference in the share (-0.001 for -0.1 percentage points).
    pub uptime_change: Option<f64>,
    pub runs: usize,
    pub failures: usize,
}

/// `(current - previous) / previous`, when that means something.
pub fn relative_change(current: f64, previous: f64) -> Option<f64> {
    (previous > 0.0 && current.is_finite() && previous.is_finite()).then(|| (current - previous) / previous)
}

/// `current - previous`, when both exist.
pub fn difference(current: Option<f64>, previous: Option<f64>) -> Option<f64> {
    Some(current? - previous?)
}

/// Builds the report for the `since` long period ending at `now`. Reads
/// sled and the index: call it off the async threads.
pub fn build(
    storage: &Storage,
    checks: &Checks,
    now: UnixNanos,
    since: Duration,
) -> faultline_store::Result<Report> {
    let period = Period::ending(now, since);
    let previous = period.previous();
    let (events, counts) = storage.group_event_counts(period.from, period.to, MAX_FINGERPRINTS)?;
    let (previous_events, previous_counts) =
        storage.group_event_counts(previous.from, previous.to, MAX_FINGERPRINTS)?;

    // Every group since the previous period began, newest first: the new
    // ones of both periods, and the rest looked up by id below.
    let filter = GroupFilter { sort: GroupSort::FirstSeen, limit: usize::MAX, ..Default::default() };
    let (groups, _) = storage.groups(&filter)?;
    let line = |g: &Group| GroupLine {
        id: g.id,
        title: g.title.clone(),
        service: g.service.clone(),
        culprit: g.culprit.clone(),
        status: g.status,
        first_seen: g.first_seen,
        events: counts.get(&g.id).copied().unwrap_or(0),
        previous_events: previous_counts.get(&g.id).copied().unwrap_or(0),
        total_events: g.count,
        new: period.contains(g.first_seen),
        url: format!("/issues/{}", g.id),
    };
    let new: Vec<&Group> = groups.iter().filter(|g| period.contains(g.first_seen)).collect();
    let previous_new = groups.iter().filter(|g| previous.contains(g.first_seen)).count();

    let mut busiest: Vec<(u64, u64)> = counts.iter().map(|(id, n)| (*id, *n)).collect();
    busiest.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let by_id: BTreeMap<u64, &Group> = groups.iter().map(|g| (g.id, g)).collect();
    let top_groups =
        busiest.iter().filter_map(|(id, _)| by_id.get(id).map(|g| line(g))).take(MAX_TOP_GROUPS).collect();

    Ok(Report {
        version: REPORT_VERSION,
        generated_at: now,
        period,
        previous_period: previous,
        period_seconds: period.seconds(),
        summary: Summary {
            events,
            previous_events,
            events_change: relative_change(events as f64, previous_events as f64),
            new_groups: new.len(),
            previous_new_groups: previous_new,
        },
        new_groups: new.iter().take(MAX_NEW_GROUPS).map(|g| line(g)).collect(),
        top_groups,
        services: services(storage, &period, &previous)?,
        checks: check_lines(storage, checks, &period, &previous)?,
    })
}

impl Report {
    /// Makes the issue links absolute (`public_url` of `[alerts]`).
    pub fn link_to(&mut self, base: Option<&str>) {
        let Some(base) = base.map(|b| b.trim_end_matches('/')) else { return };
        for line in self.new_groups.iter_mut().chain(self.top_groups.iter_mut()) {
            if line.url.starts_with('/') {
                line.url = format!("{base}{}", line.url);
            }
        }
    }
}

/// Health per service (all environments and endpoints together).
fn per_service(
    storage: &Storage,
    period: &Period,
) -> faultline_store::Result<BTreeMap<String, HealthBucket>> {
    let (from, to) = period.health_range();
    let mut merged: BTreeMap<String, HealthBucket> = BTreeMap::new();
    for (key, bucket) in storage.health(from, to, &HealthFilter::default())? {
        merged.entry(key.service).or_default().merge(&bucket);
    }
    Ok(merged)
}

fn services(
    storage: &Storage,
    period: &Period,
    previous: &Period,
) -> faultline_store::Result<Vec<ServiceLine>> {
    let now = per_service(storage, period)?;
    let before = per_service(storage, previous)?;
    let empty = HealthBucket::default();
    let names: std::collections::BTreeSet<&String> = now.keys().chain(before.keys()).collect();
    let mut lines: Vec<ServiceLine> = names
        .into_iter()
        .map(|name| {
            let (cur, prev) = (now.get(name).unwrap_or(&empty), before.get(name).unwrap_or(&empty));
            let (p95, previous_p95) = (cur.latency.quantile(0.95), prev.latency.quantile(0.95));
            ServiceLine {
                service: name.clone(),
                requests: cur.requests,
                previous_requests: prev.requests,
                requests_change: relative_change(cur.requests as f64, prev.requests as f64),
                errors: cur.errors,
                error_rate: cur.error_rate(),
                previous_error_rate: prev.error_rate(),
                error_rate_change: difference(cur.error_rate(), prev.error_rate()),
                p95_ms: p95,
                previous_p95_ms: previous_p95,
                p95_change: p95.zip(previous_p95).and_then(|(c, p)| relative_change(c, p)),
            }
        })
        .collect();
    lines.sort_by(|a, b| b.requests.cmp(&a.requests).then_with(|| a.service.cmp(&b.service)));
    Ok(lines)
}

fn check_lines(
    storage: &Storage,
    checks: &Checks,
    period: &Period,
    previous: &Period,
) -> faultline_store::Result<Vec<CheckLine>> {
    let mut lines = Vec::new();
    for check in checks.list() {
        let results = storage.check_results(&check.id, previous.from, period.to)?;
        let uptime = faultline_probe::uptime(&results, period.from, period.to);
        let previous_uptime = faultline_probe::uptime(&results, previous.from, previous.to);
        let in_period: Vec<_> = results.iter().filter(|r| period.contains(r.at)).collect();
        lines.push(CheckLine {
            id: check.id.clone(),
            kind: check.kind().to_string(),
            uptime,
            previous_uptime,
            uptime_change: difference(uptime, previous_uptime),
            runs: in_period.len(),
            failures: in_period.iter().filter(|r| !r.ok).count(),
        });
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: i64 = 1_000_000_000;

    #[test]
    fn periods_end_now_and_the_previous_one_touches_it() {
        let now = 1_735_722_000 * SEC;
        let period = Period::ending(now, Duration::from_secs(24 * 3600));
        assert_eq!(period.to, now);
        assert_eq!(period.from, now - 86_400 * SEC);
        assert_eq!(period.seconds(), 86_400);
        let previous = period.previous();
        assert_eq!(previous.to, period.from);
        assert_eq!(previous.from, now - 2 * 86_400 * SEC);
        assert!(period.contains(period.from) && !period.contains(period.to));
        assert!(previous.contains(period.from - 1) && !previous.contains(period.from));
    }

    #[test]
    fn health_ranges_are_whole_minutes_that_do_not_overlap() {
        let now = 1_735_722_000 * SEC + 25 * SEC; // 25 s into a minute
        let period = Period::ending(now, Duration::from_secs(3600));
        let (from, to) = period.health_range();
        assert_eq!((from % (60 * SEC), to % (60 * SEC)), (0, 0));
        assert_eq!(to, now + 35 * SEC, "the minute going on now is in");
        assert_eq!(to - from, 3600 * SEC);
        let (previous_from, previous_to) = period.previous().health_range();
        assert_eq!(previous_to, from, "no minute is in both");
        assert_eq!(previous_to - previous_from, 3600 * SEC);
        let aligned = Period::ending(1_735_722_000 * SEC, Duration::from_secs(3600));
        assert_eq!(aligned.health_range(), (aligned.from, aligned.to));
    }

    #[test]
    fn changes() {
        assert_eq!(relative_change(125.0, 100.0), Some(0.25));
        assert_eq!(relative_change(5.0, 0.0), None);
        assert_eq!(difference(Some(0.05), Some(0.02)).map(|d| (d * 1000.0).round()), Some(30.0));
        assert_eq!(difference(Some(0.05), None), None);
    }
}
