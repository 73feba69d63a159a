//! `/services/{name}`: one service's request rate, error rate and
//! p50/p95/p99 latency over the period as charts, and its endpoints most
//! failing (or slowest, or busiest) first. `?route=&method=` narrows the
//! charts and figures to one endpoint (`method` left out: every method of
//! the route). Two reads: the endpoints merged over the period, and one
//! series for the charts.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use faultline_model::{now_nanos, HealthBucket, HealthKey};
use faultline_store::{GroupFilter, HealthFilter};
use serde::Deserialize;

use super::format::{self, query_string, url_encode};
use super::health::{self, chart_buckets, order, Sort, Stats};
use super::period::{Period, CHOICES};
use super::{blocking, charts, failed, message, render, Chrome, CsrfToken, Section};
use crate::http::Api;

/// How far back a service with no requests in the period is looked for
/// before it is called unknown.
const KNOWN_FOR: i64 = 30 * 24 * 3_600 * 1_000_000_000;

#[derive(Debug, Default, Deserialize)]
pub struct Params {
    period: Option<String>,
    route: Option<String>,
    method: Option<String>,
    #[serde(default)]
    sort: String,
}

/// The endpoint a page is narrowed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub route: String,
    /// `None`: every method of the route.
    pub method: Option<String>,
}

impl Endpoint {
    fn matches(&self, key: &HealthKey) -> bool {
        key.route == self.route && self.method.as_ref().is_none_or(|m| &key.method == m)
    }

    /// `GET /orders/{id}`, `/orders/{id} (every method)`.
    pub fn label(&self) -> String {
        match &self.method {
            Some(m) if !m.is_empty() => format!("{m} {}", route_label(&self.route)),
            Some(_) => route_label(&self.route),
            None => format!("{} (every method)", route_label(&self.route)),
        }
    }
}

fn route_label(route: &str) -> String {
    if route.is_empty() {
        "(no route)".into()
    } else {
        route.to_string()
    }
}

/// What the page shows, as its URL says it.
#[derive(Debug, Clone)]
pub struct View {
    pub name: String,
    pub period: Period,
    pub endpoint: Option<Endpoint>,
    pub sort: Sort,
}

impl View {
    fn from_params(name: String, p: &Params) -> View {
        View {
            name,
            period: Period::parse(p.period.as_deref()),
            endpoint: p.route.clone().map(|route| Endpoint { route, method: p.method.clone() }),
            sort: Sort::parse(&p.sort),
        }
    }

    /// The URL of this view. An endpoint's route and method are kept even
    /// when empty (metrics without a route), so the link still narrows.
    pub fn url(&self) -> String {
        let mut parts = Vec::new();
        if let Some(e) = &self.endpoint {
            parts.push(format!("route={}", url_encode(&e.route)));
            if let Some(m) = &e.method {
                parts.push(format!("method={}", url_encode(m)));
            }
        }
        if self.period.key != "24h" {
            parts.push(format!("period={}", self.period.key));
        }
        if self.sort != Sort::Failing {
            parts.push(format!("sort={}", self.sort.key()));
        }
        let query = if parts.is_empty() { String::new() } else { format!("?{}", parts.join("&")) };
        format!("/services/{}{query}", url_encode(&self.name))
    }

    fn with_period(&self, key: &str) -> String {
        View { period: Period::parse(Some(key)), ..self.clone() }.url()
    }

    fn with_sort(&self, key: &str) -> String {
        View { sort: Sort::parse(key), ..self.clone() }.url()
    }

    fn with_endpoint(&self, endpoint: Option<Endpoint>) -> String {
        View { endpoint, ..self.clone() }.url()
    }
}

pub struct EndpointRow {
    pub route: String,
    pub method: String,
    pub url: String,
    pub selected: bool,
    pub stats: Stats,
}

pub struct Charts {
    pub rate: String,
    pub rate_unit: &'static str,
    pub errors: String,
    pub latency: String,
}

#[derive(Template)]
#[template(path = "service.html")]
struct ServicePage {
    chrome: Chrome,
    view: View,
    periods: &'static [(&'static str, &'static str, i64)],
    stats: Stats,
    charts: Charts,
    endpoints: Vec<EndpointRow>,
    service_url: String,
    issues_url: String,
}

impl ServicePage {
    fn period_link(&self, key: &str) -> String {
        self.view.with_period(key)
    }

    fn sort_link(&self, key: &str) -> String {
        self.view.with_sort(key)
    }

    fn is_sort(&self, key: &str) -> bool {
        self.view.sort.key() == key
    }
}

struct Loaded {
    endpoints: BTreeMap<HealthKey, HealthBucket>,
    series: Vec<(i64, HealthBucket)>,
    known: bool,
}

pub async fn page(
    State(api): State<Api>,
    Path(name): Path<String>,
    Query(params): Query<Params>,
    token: CsrfToken,
) -> Response {
    let view = View::from_params(name, &params);
    let now = now_nanos();
    let (from, to, seconds) = health::window(view.period, now);
    let step = view.period.step(chart_buckets(view.period));
    let storage = api.storage.clone();
    let v = view.clone();
    let loaded = blocking(move || {
        let service = HealthFilter { service: Some(v.name.clone()), ..HealthFilter::default() };
        let endpoints = storage.health(from, to, &service)?;
        if endpoints.is_empty() {
            // Nothing to chart; only whether the name is known at all.
            let known = !storage
                .groups(&GroupFilter { service: Some(v.name.clone()), limit: 1, ..GroupFilter::default() })?
                .0
                .is_empty()
                || !storage.health(now - KNOWN_FOR, now + 1, &service)?.is_empty();
            return Ok(Loaded { endpoints, series: Vec::new(), known });
        }
        let narrowed = HealthFilter {
            route: v.endpoint.as_ref().map(|e| e.route.clone()),
            method: v.endpoint.as_ref().and_then(|e| e.method.clone()),
            ..service
        };
        let series = storage.health_series(from, to, step, &narrowed)?;
        Ok(Loaded { endpoints, series, known: true })
    })
    .await;
    let loaded = match loaded {
        Ok(l) => l,
        Err(e) => return failed(&e, &token),
    };
    if !loaded.known {
        let text = format!("No service {:?} has sent requests or errors in the last 30 days.", view.name);
        return message(StatusCode::NOT_FOUND, Section::Health, "Service not found", &text, &token);
    }
    let page = build(view, &loaded, seconds, &token);
    render(StatusCode::OK, &page, &token)
}

fn build(view: View, loaded: &Loaded, seconds: f64, token: &CsrfToken) -> ServicePage {
    let mut total = HealthBucket::default();
    for (key, bucket) in &loaded.endpoints {
        if view.endpoint.as_ref().is_none_or(|e| e.matches(key)) {
            total.merge(bucket);
        }
    }
    let stats = Stats::of(&total, seconds);
    let step = view.period.step_nanos(chart_buckets(view.period));
    let mut endpoints = endpoint_rows(&view, &loaded.endpoints, seconds);
    order(&mut endpoints, view.sort, |r| &r.stats);
    let title = match &view.endpoint {
        Some(e) => format!("{} · {}", e.label(), view.name),
        None => format!("Service {}", view.name),
    };
    ServicePage {
        chrome: Chrome::new(title, Section::Health, token),
        charts: draw_charts(&loaded.series, step, stats.per_second),
        stats,
        endpoints,
        periods: CHOICES,
        service_url: view.with_endpoint(None),
        issues_url: issues_url(&view),
        view,
    }
}

/// The issues of the service, or of the endpoint's route when one is
/// chosen (the search query `route:"..."`, as README's query table has it).
fn issues_url(view: &View) -> String {
    match &view.endpoint {
        Some(e) if !e.route.is_empty() => {
            let q = format!("route:\"{}\"", e.route.replace('"', "\\\""));
            format!("/{}", query_string(&[("q", &q), ("service", &view.name), ("period", view.period.key)]))
        }
        _ => health::issues_url(&view.name, view.period),
    }
}

/// One row per route and method, environments merged.
fn endpoint_rows(
    view: &View,
    endpoints: &BTreeMap<HealthKey, HealthBucket>,
    seconds: f64,
) -> Vec<EndpointRow> {
    let mut merged: BTreeMap<(&str, &str), HealthBucket> = BTreeMap::new();
    for (key, bucket) in endpoints {
        merged.entry((key.route.as_str(), key.method.as_str())).or_default().merge(bucket);
    }
    merged
        .into_iter()
        .map(|((route, method), bucket)| {
            let endpoint = Endpoint { route: route.to_string(), method: Some(method.to_string()) };
            EndpointRow {
                selected: view
                    .endpoint
                    .as_ref()
                    .is_some_and(|e| e.route == route && e.method.as_deref() == Some(method)),
                url: view.with_endpoint(Some(endpoint)),
                route: route_label(route),
                method: if method.is_empty() { "–".into() } else { method.to_string() },
                stats: Stats::of(&bucket, seconds),
            }
        })
        .collect()
}

/// Request rate, error rate and latency percentiles per step. Steps
/// without requests are gaps in the rate-derived lines, zero in the rate.
fn draw_charts(series: &[(i64, HealthBucket)], step: i64, per_second: f64) -> Charts {
    let times: Vec<i64> = series.iter().map(|p| p.0).collect();
    let step_seconds = step as f64 / 1e9;
    // The chart's unit follows the period's overall rate, as the figure does.
    let (scale, rate_unit, unit): (f64, &'static str, fn(f64) -> String) = if per_second >= 1.0 {
        (1.0, "per second", |v| format!("{}/s", trim(v)))
    } else {
        (60.0, "per minute", |v| format!("{}/min", trim(v)))
    };
    let rates = series.iter().map(|(_, b)| Some(b.requests as f64 / step_seconds * scale)).collect();
    let errors = series.iter().map(|(_, b)| b.error_rate().map(|r| r * 100.0)).collect();
    let quantile = |q: f64| series.iter().map(|(_, b)| b.latency.quantile(q)).collect::<Vec<_>>();
    let rate_series = [charts::Series { name: "requests".into(), class: "", values: rates }];
    let error_series = [charts::Series { name: "error rate".into(), class: "b", values: errors }];
    let latency_series = [
        charts::Series { name: "p99".into(), class: "b", values: quantile(0.99) },
        charts::Series { name: "p95".into(), class: "c", values: quantile(0.95) },
        charts::Series { name: "p50".into(), class: "", values: quantile(0.5) },
    ];
    Charts {
        rate: charts::line_chart_with_dots(380.0, &times, step, &rate_series, unit),
        rate_unit,
        errors: charts::line_chart_with_dots(380.0, &times, step, &error_series, |v| format!("{}%", trim(v))),
        latency: charts::line_chart_with_dots(760.0, &times, step, &latency_series, format::millis),
    }
}

/// An axis label: whole numbers from 10, one decimal below.
fn trim(v: f64) -> String {
    let text = if v >= 10.0 { format!("{v:.0}") } else { format!("{v:.1}") };
    text.trim_end_matches(".0").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(route: Option<&str>, method: Option<&str>, period: Option<&str>, sort: &str) -> Params {
        Params {
            period: period.map(String::from),
            route: route.map(String::from),
            method: method.map(String::from),
            sort: sort.into(),
        }
    }

    #[test]
    fn views_round_trip_through_urls() {
        let v = View::from_params(
            "web shop".into(),
            &params(Some("/orders/{id}"), Some("GET"), Some("7d"), "slowest"),
        );
        assert_eq!(
            v.url(),
            "/services/web%20shop?route=%2Forders%2F%7Bid%7D&method=GET&period=7d&sort=slowest"
        );
        assert_eq!(v.with_endpoint(None), "/services/web%20shop?period=7d&sort=slowest");
        assert_eq!(
            v.with_sort("failing"),
            "/services/web%20shop?route=%2Forders%2F%7Bid%7D&method=GET&period=7d"
        );
        let plain = View::from_params("web".into(), &params(None, None, Some("bogus"), "bogus"));
        assert_eq!(plain.url(), "/services/web");
    }

    #[test]
    fn issue_links_narrow_to_the_route() {
        let v = View::from_params("web".into(), &params(Some("/a/\"{id}"), Some("GET"), None, ""));
        assert_eq!(issues_url(&v), "/?q=route%3A%22%2Fa%2F%5C%22%7Bid%7D%22&service=web&period=24h");
        assert_eq!(issues_url(&View { endpoint: None, ..v }), "/?service=web&period=24h");
    }

    #[test]
    fn empty_routes_still_narrow() {
        let v = View::from_params("m".into(), &params(Some(""), Some(""), None, ""));
        assert_eq!(v.url(), "/services/m?route=&method=");
        let e = v.endpoint.clone().unwrap_or(Endpoint { route: "x".into(), method: None });
        assert_eq!(e.label(), "(no route)");
    }

    #[test]
    fn an_endpoint_without_method_takes_every_method() {
        let e = Endpoint { route: "/a".into(), method: None };
        let key = |method: &str| HealthKey {
            service: "s".into(),
            environment: String::new(),
            route: "/a".into(),
            method: method.into(),
        };
        assert!(e.matches(&key("GET")) && e.matches(&key("POST")));
        let get = Endpoint { method: Some("GET".into()), ..e };
        assert!(get.matches(&key("GET")) && !get.matches(&key("POST")));
        assert_eq!(get.label(), "GET /a");
    }

    #[test]
    fn endpoints_merge_environments_and_link_to_themselves() {
        let key = |env: &str, route: &str| HealthKey {
            service: "s".into(),
            environment: env.into(),
            route: route.into(),
            method: "GET".into(),
        };
        let bucket =
            |requests: u64, errors: u64| HealthBucket { requests, errors, ..HealthBucket::default() };
        let all = BTreeMap::from([
            (key("prod", "/a"), bucket(10, 0)),
            (key("dev", "/a"), bucket(10, 2)),
            (key("prod", "/b"), bucket(5, 0)),
        ]);
        let view = View::from_params("s".into(), &params(Some("/a"), Some("GET"), None, ""));
        let rows = endpoint_rows(&view, &all, 10.0);
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].stats.requests, rows[0].stats.errors), (20, 2));
        assert!(rows[0].selected && !rows[1].selected);
        assert_eq!(rows[1].url, "/services/s?route=%2Fb&method=GET");
    }

    #[test]
    fn charts_leave_gaps_where_no_request_came() {
        let mut busy = HealthBucket { requests: 60, errors: 6, ..HealthBucket::default() };
        busy.latency.add(20.0);
        let series = vec![(0, busy), (60_000_000_000, HealthBucket::default())];
        let c = draw_charts(&series, 60_000_000_000, 0.5);
        assert_eq!(c.rate_unit, "per minute");
        // The rate has a point at every step; latency and errors only where requests came.
        assert_eq!(c.rate.matches('L').count(), 1, "{}", c.rate);
        assert_eq!(c.errors.matches('L').count(), 0, "{}", c.errors);
        assert_eq!(c.errors.matches("<circle").count(), 1, "a lone point is a dot: {}", c.errors);
        assert!(c.errors.contains(">10%<"), "{}", c.errors);
    }
}
