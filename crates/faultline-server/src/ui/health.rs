//! `/health`: every service's request rate, error rate and p95 over the
//! period, most failing first, and every active check with its state,
//! uptime bars, latest response time and open incident. Also the figures
//! and orderings the service page (`service.rs`) shares.

use std::collections::{BTreeMap, BTreeSet};

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use faultline_model::{now_nanos, CheckResult, HealthBucket, HealthKey};
use faultline_probe::{incidents, Check};
use faultline_store::HealthFilter;
use serde::Deserialize;

use super::check::{self, IncidentView, UptimeBar};
use super::format::{self, query_string, url_encode};
use super::period::{Period, CHOICES};
use super::{blocking, failed, render, Chrome, CsrfToken, Section};
use crate::http::Api;

/// Steps of the health charts for a period; the period's range is rounded
/// to them too, so the overview and a service page count the same
/// requests. Each period is covered exactly, and from 7 days on a step is
/// whole hours: the store rolls minutes older than a day into hours, and a
/// step holding two hours next to one holding three would draw a sawtooth.
pub fn chart_buckets(period: Period) -> i64 {
    match period.key {
        "1h" => 60,
        "24h" => 48,
        "7d" | "14d" => 56,
        _ => 60,
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct Params {
    period: Option<String>,
}

/// Request figures of a service or endpoint over a period.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    pub requests: u64,
    pub errors: u64,
    pub per_second: f64,
    pub error_rate: Option<f64>,
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
}

impl Stats {
    /// The figures of `bucket`, its requests spread over `seconds`.
    pub fn of(bucket: &HealthBucket, seconds: f64) -> Stats {
        Stats {
            requests: bucket.requests,
            errors: bucket.errors,
            per_second: bucket.requests as f64 / seconds.max(1.0),
            error_rate: bucket.error_rate(),
            p50: bucket.latency.quantile(0.5),
            p95: bucket.latency.quantile(0.95),
            p99: bucket.latency.quantile(0.99),
        }
    }

    pub fn requests_label(&self) -> String {
        format::count(self.requests)
    }

    pub fn rate_label(&self) -> String {
        rate(self.per_second)
    }

    pub fn error_rate_label(&self) -> String {
        self.error_rate.map(format::percent).unwrap_or_else(|| "–".into())
    }

    /// A badge class for the error rate: red from 5%, amber from 1%.
    pub fn error_class(&self) -> &'static str {
        match self.error_rate {
            Some(r) if r >= 0.05 => "error",
            Some(r) if r >= 0.01 => "warning",
            Some(_) => "ok",
            None => "",
        }
    }

    pub fn p50_label(&self) -> String {
        millis(self.p50)
    }

    pub fn p95_label(&self) -> String {
        millis(self.p95)
    }

    pub fn p99_label(&self) -> String {
        millis(self.p99)
    }
}

fn millis(ms: Option<f64>) -> String {
    ms.map(format::millis).unwrap_or_else(|| "–".into())
}

/// A request rate in the unit that keeps it readable: `12/s`, `4.5/min`,
/// `2/h`.
pub fn rate(per_second: f64) -> String {
    let short = |v: f64, unit: &str| {
        let text = if v >= 10.0 { format!("{v:.0}") } else { format!("{v:.1}") };
        format!("{}/{unit}", text.trim_end_matches(".0"))
    };
    if per_second >= 1.0 {
        short(per_second, "s")
    } else if per_second * 60.0 >= 1.0 {
        short(per_second * 60.0, "min")
    } else if per_second > 0.0 {
        short(per_second * 3_600.0, "h")
    } else {
        "0/s".into()
    }
}

/// How endpoint (and service) lists are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    /// Highest error rate first, then slowest: what needs a look first.
    Failing,
    /// Highest p95 first, then highest error rate.
    Slowest,
    /// Most requests first.
    Busiest,
}

impl Sort {
    /// The order a URL names; the default (most failing) for anything else.
    pub fn parse(text: &str) -> Sort {
        match text {
            "slowest" => Sort::Slowest,
            "busiest" => Sort::Busiest,
            _ => Sort::Failing,
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Sort::Failing => "failing",
            Sort::Slowest => "slowest",
            Sort::Busiest => "busiest",
        }
    }
}

/// Sorts `rows` by their figures, keeping the existing order (by name)
/// among equals.
pub fn order<T>(rows: &mut [T], sort: Sort, stats: impl Fn(&T) -> &Stats) {
    // Missing figures (no requests) sort after every real one.
    let value = |v: Option<f64>| v.unwrap_or(-1.0);
    let errors = |s: &Stats| value(s.error_rate);
    let p95 = |s: &Stats| value(s.p95);
    rows.sort_by(|a, b| {
        let (a, b) = (stats(a), stats(b));
        let by = |f: &dyn Fn(&Stats) -> f64| f(b).total_cmp(&f(a));
        let busier = b.requests.cmp(&a.requests);
        match sort {
            Sort::Failing => by(&errors).then_with(|| by(&p95)).then(busier),
            Sort::Slowest => by(&p95).then_with(|| by(&errors)).then(busier),
            Sort::Busiest => busier.then_with(|| by(&errors)).then_with(|| by(&p95)),
        }
    });
}

/// The period's range and its length in seconds up to now, for rates.
pub fn window(period: Period, now: i64) -> (i64, i64, f64) {
    let (from, to) = period.range(now, chart_buckets(period));
    (from, to, (now - from) as f64 / 1e9)
}

/// A service page's URL.
pub fn service_url(name: &str, period: Period) -> String {
    format!(
        "/services/{}{}",
        url_encode(name),
        query_string(&[("period", if period.key == "24h" { "" } else { period.key })])
    )
}

/// The issues stream of one service over the same period.
pub fn issues_url(name: &str, period: Period) -> String {
    format!("/{}", query_string(&[("service", name), ("period", period.key)]))
}

pub struct ServiceRow {
    pub name: String,
    pub url: String,
    pub issues_url: String,
    pub endpoints: usize,
    pub stats: Stats,
}

pub struct CheckRow {
    pub id: String,
    pub url: String,
    pub kind: String,
    pub target: String,
    pub state: &'static str,
    pub state_class: &'static str,
    pub bars: Vec<UptimeBar>,
    pub latency: String,
    pub incident: Option<IncidentView>,
}

#[derive(Template)]
#[template(path = "health.html")]
struct HealthPage {
    chrome: Chrome,
    period: Period,
    periods: &'static [(&'static str, &'static str, i64)],
    services: Vec<ServiceRow>,
    checks: Vec<CheckRow>,
}

impl HealthPage {
    fn period_link(&self, key: &str) -> String {
        format!("/health{}", query_string(&[("period", if key == "24h" { "" } else { key })]))
    }
}

pub async fn page(State(api): State<Api>, Query(params): Query<Params>, token: CsrfToken) -> Response {
    let period = Period::parse(params.period.as_deref());
    let now = now_nanos();
    let (from, to, seconds) = window(period, now);
    let storage = api.storage.clone();
    let checks = api.checks.list();
    let loaded = blocking(move || {
        // One read for every endpoint of every service, merged over the period.
        let endpoints = storage.health(from, to, &HealthFilter::default())?;
        let mut runs = Vec::with_capacity(checks.len());
        for c in checks {
            let results = storage.check_results(&c.id, now - check::HISTORY, now + 1)?;
            runs.push((c, results));
        }
        Ok((endpoints, runs))
    })
    .await;
    let (endpoints, runs) = match loaded {
        Ok(l) => l,
        Err(e) => return failed(&e, &token),
    };
    let statuses = api.checks.statuses();
    let mut services = service_rows(&endpoints, period, seconds);
    order(&mut services, Sort::Failing, |r| &r.stats);
    let checks = runs
        .into_iter()
        .map(|(c, results)| {
            let status = statuses.iter().find(|s| s.check_id == c.id);
            check_row(c, &results, status, now)
        })
        .collect();
    let page = HealthPage {
        chrome: Chrome::new("Health", Section::Health, &token),
        period,
        periods: CHOICES,
        services,
        checks,
    };
    render(StatusCode::OK, &page, &token)
}

/// A service's endpoints merged: their figures, and which they are.
#[derive(Default)]
struct Merged<'a> {
    bucket: HealthBucket,
    endpoints: BTreeSet<(&'a str, &'a str)>,
}

/// One row per service, its endpoints and environments merged.
fn service_rows(
    endpoints: &BTreeMap<HealthKey, HealthBucket>,
    period: Period,
    seconds: f64,
) -> Vec<ServiceRow> {
    let mut by_service: BTreeMap<&str, Merged> = BTreeMap::new();
    for (key, bucket) in endpoints {
        let entry = by_service.entry(&key.service).or_default();
        entry.bucket.merge(bucket);
        entry.endpoints.insert((&key.route, &key.method));
    }
    by_service
        .into_iter()
        .map(|(name, merged)| ServiceRow {
            url: service_url(name, period),
            issues_url: issues_url(name, period),
            endpoints: merged.endpoints.len(),
            stats: Stats::of(&merged.bucket, seconds),
            name: name.to_string(),
        })
        .collect()
}

fn check_row(
    c: Check,
    results: &[CheckResult],
    status: Option<&crate::checks::LiveStatus>,
    now: i64,
) -> CheckRow {
    let (state, state_class) = check::state(status);
    let open = incidents(results).pop().filter(|i| i.ended_at.is_none());
    CheckRow {
        url: format!("/checks/{}", url_encode(&c.id)),
        kind: c.kind().to_string(),
        target: check::target(&c),
        state,
        state_class,
        bars: check::uptime_bars(results, now),
        latency: results.last().map(|r| format::millis(r.latency_ms)).unwrap_or_else(|| "–".into()),
        incident: open.map(|i| IncidentView::of(&i, now)),
        id: c.id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(name: &str, requests: u64, error_rate: Option<f64>, p95: Option<f64>) -> (String, Stats) {
        (name.to_string(), Stats { requests, error_rate, p95, ..Stats::default() })
    }

    fn names(rows: &[(String, Stats)]) -> Vec<&str> {
        rows.iter().map(|r| r.0.as_str()).collect()
    }

    #[test]
    fn most_failing_first_then_slowest() {
        let mut rows = vec![
            stats("fast-ok", 100, Some(0.0), Some(10.0)),
            stats("slow-ok", 100, Some(0.0), Some(900.0)),
            stats("failing", 5, Some(0.2), Some(50.0)),
            stats("silent", 0, None, None),
            stats("bit-failing", 1000, Some(0.01), Some(20.0)),
        ];
        order(&mut rows, Sort::Failing, |r| &r.1);
        assert_eq!(names(&rows), ["failing", "bit-failing", "slow-ok", "fast-ok", "silent"]);
        order(&mut rows, Sort::Slowest, |r| &r.1);
        assert_eq!(names(&rows), ["slow-ok", "failing", "bit-failing", "fast-ok", "silent"]);
        order(&mut rows, Sort::Busiest, |r| &r.1);
        assert_eq!(names(&rows), ["bit-failing", "slow-ok", "fast-ok", "failing", "silent"]);
    }

    #[test]
    fn equal_rows_keep_their_order() {
        let mut rows = vec![stats("a", 1, Some(0.0), Some(5.0)), stats("b", 1, Some(0.0), Some(5.0))];
        order(&mut rows, Sort::Slowest, |r| &r.1);
        assert_eq!(names(&rows), ["a", "b"]);
    }

    #[test]
    fn chart_steps_cover_periods_in_whole_store_buckets() {
        let hour = 3_600 * 1_000_000_000i64;
        for (key, _, minutes) in CHOICES {
            let period = Period::parse(Some(key));
            let (buckets, step) = (chart_buckets(period), period.step_nanos(chart_buckets(period)));
            assert_eq!(step * buckets, minutes * 60 * 1_000_000_000, "{key} is covered exactly");
            if *minutes > 24 * 60 {
                assert_eq!(step % hour, 0, "{key} steps are whole hours");
            }
        }
    }

    #[test]
    fn sorts_parse_with_a_default() {
        assert_eq!(Sort::parse("slowest"), Sort::Slowest);
        assert_eq!(Sort::parse("busiest").key(), "busiest");
        assert_eq!(Sort::parse("<bogus>"), Sort::Failing);
    }

    #[test]
    fn rates_pick_a_readable_unit() {
        assert_eq!(rate(12.34), "12/s");
        assert_eq!(rate(1.0), "1/s");
        assert_eq!(rate(0.5), "30/min");
        assert_eq!(rate(0.075), "4.5/min");
        assert_eq!(rate(1.0 / 1_800.0), "2/h");
        assert_eq!(rate(0.0), "0/s");
    }

    #[test]
    fn services_merge_their_endpoints_and_environments() {
        let key = |service: &str, env: &str, route: &str| HealthKey {
            service: service.into(),
            environment: env.into(),
            route: route.into(),
            method: "GET".into(),
        };
        let bucket =
            |requests: u64, errors: u64| HealthBucket { requests, errors, ..HealthBucket::default() };
        let endpoints = BTreeMap::from([
            (key("web", "prod", "/a"), bucket(10, 1)),
            (key("web", "staging", "/a"), bucket(10, 1)),
            (key("web", "prod", "/b"), bucket(20, 0)),
            (key("api", "", "/x"), bucket(60, 0)),
        ]);
        let rows = service_rows(&endpoints, Period::parse(None), 60.0);
        assert_eq!(rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["api", "web"]);
        let web = &rows[1];
        assert_eq!((web.stats.requests, web.stats.errors, web.endpoints), (40, 2, 2));
        assert_eq!(web.stats.error_rate, Some(0.05));
        assert_eq!(rows[0].stats.per_second, 1.0);
        assert_eq!(web.url, "/services/web");
        assert_eq!(web.issues_url, "/?service=web&period=24h");
    }

    #[test]
    fn service_urls_are_encoded() {
        assert_eq!(service_url("a b/<c>", Period::parse(Some("7d"))), "/services/a%20b%2F%3Cc%3E?period=7d");
    }
}
