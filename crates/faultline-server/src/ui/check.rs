//! `/checks/{id}`: one active check. Its definition, state, uptime bars
//! over 24 hours, 7 and 30 days, response times over the period, its
//! incidents and latest runs. The uptime bars are shared with `/health`.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use faultline_model::{now_nanos, CheckResult, UnixNanos};
use faultline_probe::{incidents, uptime, Check, Incident, Probe};
use serde::Deserialize;

use super::format::{self, query_string};
use super::period::{Period, CHOICES};
use super::{blocking, charts, failed, message, render, Chrome, CsrfToken, Section};
use crate::checks::LiveStatus;
use crate::http::Api;

const HOUR: i64 = 3_600 * 1_000_000_000;
const DAY: i64 = 24 * HOUR;
/// Runs read for a check: the longest uptime window, which also covers
/// every period a page offers.
pub const HISTORY: i64 = 30 * DAY;
/// The uptime bars: (label, segments, segment length). Hours for a day,
/// quarter days for a week, days for a month.
const WINDOWS: [(&str, usize, i64); 3] = [("24h", 24, HOUR), ("7d", 28, 6 * HOUR), ("30d", 30, DAY)];
/// Points of the response-time chart.
const CHART_BUCKETS: i64 = 60;
/// Latest runs listed on the page.
const RECENT_RUNS: usize = 20;

#[derive(Debug, Default, Deserialize)]
pub struct Params {
    period: Option<String>,
}

/// One segment of an uptime bar: a CSS class (`""` all runs passed,
/// `part`, `down`, `none` without runs) and what it stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub class: &'static str,
    pub title: String,
}

/// An uptime bar with its percentage over the whole window.
pub struct UptimeBar {
    pub label: &'static str,
    pub percent: String,
    pub segments: Vec<Segment>,
}

/// Runs per segment: `count` segments of `step` ending with the one that
/// holds `now`. `results` must be in time order (as the store gives them).
pub fn segments(results: &[CheckResult], now: UnixNanos, step: i64, count: usize) -> Vec<Segment> {
    let step = step.max(1);
    let end = (now.div_euclid(step) + 1) * step;
    let start = end - step * count as i64;
    (0..count)
        .map(|i| {
            let from = start + step * i as i64;
            let lo = results.partition_point(|r| r.at < from);
            let hi = results.partition_point(|r| r.at < from + step).max(lo);
            let runs = &results[lo..hi];
            let ok = runs.iter().filter(|r| r.ok).count();
            let class = match (ok, runs.len()) {
                (_, 0) => "none",
                (ok, n) if ok == n => "",
                (0, _) => "down",
                _ => "part",
            };
            let when = format!("{} – {}", short_time(from), short_time(from + step));
            let title = if runs.is_empty() {
                format!("{when}: no runs")
            } else {
                format!(
                    "{when}: {} up ({ok} of {} runs passed)",
                    format::percent(ok as f64 / runs.len() as f64),
                    runs.len()
                )
            };
            Segment { class, title }
        })
        .collect()
}

/// The three uptime bars of a check, each window ending now.
pub fn uptime_bars(results: &[CheckResult], now: UnixNanos) -> Vec<UptimeBar> {
    WINDOWS
        .iter()
        .map(|&(label, count, step)| UptimeBar {
            label,
            percent: uptime(results, now - step * count as i64, now + 1)
                .map(uptime_percent)
                .unwrap_or_else(|| "no runs".into()),
            segments: segments(results, now, step, count),
        })
        .collect()
}

/// Uptime with the precision it needs: `100%`, `99.95%`, `97.2%`.
pub fn uptime_percent(ratio: f64) -> String {
    let p = ratio * 100.0;
    if p >= 100.0 {
        "100%".into()
    } else if p >= 99.0 {
        // Two decimals, but never rounded up to a 100% that hides a failure.
        format!("{:.2}%", (p * 100.0).floor() / 100.0)
    } else {
        format!("{p:.1}%")
    }
}

/// `12-02 14:05` in UTC, as the charts label time.
fn short_time(at: UnixNanos) -> String {
    let text = faultline_model::format_rfc3339(at);
    text.get(5..16).map(|s| s.replace('T', " ")).unwrap_or(text)
}

/// `45s`, `12m 5s`, `3h 20m`, `2d 4h`.
pub fn duration(nanos: i64) -> String {
    let s = (nanos / 1_000_000_000).max(0);
    match s {
        s if s < 60 => format!("{s}s"),
        s if s < 3_600 => format!("{}m {}s", s / 60, s % 60),
        s if s < 86_400 => format!("{}h {}m", s / 3_600, s % 3_600 / 60),
        s => format!("{}d {}h", s / 86_400, s % 86_400 / 3_600),
    }
}

/// What a check probes, in one line.
pub fn target(check: &Check) -> String {
    match &check.probe {
        Probe::Http(h) => format!("{} {}", h.method, without_credentials(&h.url)),
        Probe::Tcp(t) => t.address.clone(),
        Probe::Tls(t) => match &t.server_name {
            Some(name) => format!("{} (server name {name})", t.address),
            None => t.address.clone(),
        },
    }
}

/// A URL with any `user:password@` left out: pages are not for secrets.
fn without_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// A check's state in words and as a badge class, from its live status
/// (the same tracker the API and alert rules read).
pub fn state(status: Option<&LiveStatus>) -> (&'static str, &'static str) {
    match status {
        None => ("unknown", ""),
        Some(s) if s.consecutive_failures > 0 => ("down", "failing"),
        Some(_) => ("up", "passing"),
    }
}

pub struct IncidentView {
    pub started: String,
    pub started_exact: String,
    pub ended: Option<String>,
    pub ended_exact: String,
    pub duration: String,
    pub error: String,
    pub failed_runs: u32,
}

impl IncidentView {
    pub fn of(i: &Incident, now: UnixNanos) -> IncidentView {
        IncidentView {
            started: format::relative(i.started_at, now),
            started_exact: format::exact(i.started_at),
            ended: i.ended_at.map(|e| format::relative(e, now)),
            ended_exact: i.ended_at.map(format::exact).unwrap_or_default(),
            duration: duration(i.ended_at.unwrap_or(now) - i.started_at),
            error: i.first_error.clone(),
            failed_runs: i.failed_checks,
        }
    }
}

pub struct RunView {
    pub when: String,
    pub when_exact: String,
    pub ok: bool,
    pub latency: String,
    pub status_code: String,
    pub error: String,
}

pub struct Field {
    pub name: &'static str,
    pub value: String,
}

#[derive(Template)]
#[template(path = "check.html")]
struct CheckPage {
    chrome: Chrome,
    id: String,
    kind: String,
    target: String,
    definition: Vec<Field>,
    state: &'static str,
    state_class: &'static str,
    consecutive_failures: u32,
    last_run: Option<RunView>,
    bars: Vec<UptimeBar>,
    chart: String,
    period: Period,
    periods: &'static [(&'static str, &'static str, i64)],
    incidents: Vec<IncidentView>,
    open_incident: Option<IncidentView>,
    runs: Vec<RunView>,
}

impl CheckPage {
    fn period_link(&self, key: &str) -> String {
        format!(
            "/checks/{}{}",
            format::url_encode(&self.id),
            query_string(&[("period", if key == "24h" { "" } else { key })])
        )
    }
}

pub async fn page(
    State(api): State<Api>,
    Path(id): Path<String>,
    Query(params): Query<Params>,
    token: CsrfToken,
) -> Response {
    let Some(check) = api.checks.get(&id) else {
        return message(
            StatusCode::NOT_FOUND,
            Section::Health,
            "Check not found",
            &format!("There is no check {id:?}."),
            &token,
        );
    };
    let period = Period::parse(params.period.as_deref());
    let now = now_nanos();
    let storage = api.storage.clone();
    let check_id = check.id.clone();
    let results = match blocking(move || storage.check_results(&check_id, now - HISTORY, now + 1)).await {
        Ok(r) => r,
        Err(e) => return failed(&e, &token),
    };
    let status = api.checks.statuses().into_iter().find(|s| s.check_id == check.id);
    let page = build(check, &results, status.as_ref(), period, now, &token);
    render(StatusCode::OK, &page, &token)
}

fn build(
    check: Check,
    results: &[CheckResult],
    status: Option<&LiveStatus>,
    period: Period,
    now: UnixNanos,
    token: &CsrfToken,
) -> CheckPage {
    let (state, state_class) = state(status);
    let found = incidents(results);
    let open_incident = found.last().filter(|i| i.ended_at.is_none()).map(|i| IncidentView::of(i, now));
    CheckPage {
        chrome: Chrome::new(format!("Check {}", check.id), Section::Health, token),
        kind: check.kind().to_string(),
        target: target(&check),
        definition: definition(&check),
        state,
        state_class,
        consecutive_failures: status.map_or(0, |s| s.consecutive_failures),
        last_run: results.last().map(|r| run_view(r, now)),
        bars: uptime_bars(results, now),
        chart: latency_chart(results, period, now),
        period,
        periods: CHOICES,
        incidents: found.iter().rev().map(|i| IncidentView::of(i, now)).collect(),
        open_incident,
        runs: results.iter().rev().take(RECENT_RUNS).map(|r| run_view(r, now)).collect(),
        id: check.id,
    }
}

/// The definition's fields as the page lists them; request headers are
/// left out (they often carry tokens).
fn definition(check: &Check) -> Vec<Field> {
    let mut fields = vec![
        Field { name: "Kind", value: check.kind().to_string() },
        Field { name: "Target", value: target(check) },
        Field { name: "Interval", value: seconds(check.interval) },
        Field { name: "Timeout", value: seconds(check.timeout) },
    ];
    match &check.probe {
        Probe::Http(h) => {
            fields.push(Field { name: "Expected status", value: h.expected_status.to_string() });
            if let Some(text) = &h.body_contains {
                fields.push(Field { name: "Body contains", value: text.clone() });
            }
            if h.tls_insecure {
                fields.push(Field { name: "TLS", value: "any certificate accepted".into() });
            }
        }
        Probe::Tls(t) => {
            fields.push(Field { name: "Minimum days left", value: t.min_days_left.to_string() });
            fields.push(Field { name: "Verify chain", value: (if t.verify { "yes" } else { "no" }).into() });
        }
        Probe::Tcp(_) => {}
    }
    fields
}

/// `1s`, `1m 30s`, `500ms`, as the config file writes durations.
fn seconds(d: std::time::Duration) -> String {
    humantime::format_duration(d).to_string()
}

fn run_view(r: &CheckResult, now: UnixNanos) -> RunView {
    RunView {
        when: format::relative(r.at, now),
        when_exact: format::exact(r.at),
        ok: r.ok,
        latency: format::millis(r.latency_ms),
        status_code: r.status_code.map(|c| c.to_string()).unwrap_or_default(),
        error: r.error.clone().unwrap_or_default(),
    }
}

/// Mean and slowest response time per step of the period; failed runs
/// count too (their time is up to the failure or the timeout).
fn latency_chart(results: &[CheckResult], period: Period, now: UnixNanos) -> String {
    let (from, _) = period.range(now, CHART_BUCKETS);
    let step = period.step_nanos(CHART_BUCKETS);
    let mut times = Vec::new();
    let (mut mean, mut max) = (Vec::new(), Vec::new());
    for i in 0..CHART_BUCKETS {
        let at = from + step * i;
        let lo = results.partition_point(|r| r.at < at);
        let hi = results.partition_point(|r| r.at < at + step).max(lo);
        let runs = &results[lo..hi];
        times.push(at);
        if runs.is_empty() {
            mean.push(None);
            max.push(None);
        } else {
            let sum: f64 = runs.iter().map(|r| r.latency_ms).sum();
            mean.push(Some(sum / runs.len() as f64));
            max.push(Some(runs.iter().map(|r| r.latency_ms).fold(0.0, f64::max)));
        }
    }
    let series = [
        charts::Series { name: "slowest".into(), class: "c", values: max },
        charts::Series { name: "mean".into(), class: "", values: mean },
    ];
    charts::line_chart_with_dots(760.0, &times, step, &series, format::millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(at: i64, ok: bool) -> CheckResult {
        CheckResult {
            check_id: "web".into(),
            at,
            ok,
            latency_ms: 12.0,
            status_code: Some(if ok { 200 } else { 503 }),
            error: (!ok).then(|| "status 503".into()),
            tls_days_left: None,
            tls_not_after: None,
        }
    }

    #[test]
    fn segments_say_whether_every_run_passed() {
        let now = 1_000 * HOUR + 10;
        // Hour -3: two passes; hour -2: one of two failed; hour -1: none; now: one failure.
        let results = [
            run(997 * HOUR + 1, true),
            run(997 * HOUR + 2, true),
            run(998 * HOUR, true),
            run(998 * HOUR + 5, false),
            run(1_000 * HOUR + 5, false),
        ];
        let s = segments(&results, now, HOUR, 4);
        let classes: Vec<&str> = s.iter().map(|s| s.class).collect();
        assert_eq!(classes, ["", "part", "none", "down"]);
        assert!(s[1].title.contains("1 of 2 runs passed"), "{}", s[1].title);
        assert!(s[2].title.ends_with("no runs"));
    }

    #[test]
    fn runs_outside_the_bar_are_left_out() {
        let now = 10 * HOUR;
        let results = [run(HOUR, false), run(10 * HOUR + 1, true), run(12 * HOUR, false)];
        let s = segments(&results, now, HOUR, 3);
        assert_eq!(s.iter().map(|s| s.class).collect::<Vec<_>>(), ["none", "none", ""]);
    }

    #[test]
    fn uptime_bars_cover_their_windows() {
        let now = 40 * DAY;
        let results = [run(now - 20 * DAY, false), run(now - 2 * DAY, true), run(now - HOUR, true)];
        let bars = uptime_bars(&results, now);
        assert_eq!(bars.iter().map(|b| b.segments.len()).collect::<Vec<_>>(), [24, 28, 30]);
        assert_eq!(bars[0].percent, "100%");
        assert_eq!(bars[2].percent, "66.7%");
        assert_eq!(uptime_bars(&[], now)[0].percent, "no runs");
    }

    #[test]
    fn uptime_never_rounds_a_failure_away() {
        assert_eq!(uptime_percent(1.0), "100%");
        assert_eq!(uptime_percent(0.99999), "99.99%");
        assert_eq!(uptime_percent(0.9512), "95.1%");
    }

    #[test]
    fn durations_and_targets_read_short() {
        assert_eq!(duration(45 * 1_000_000_000), "45s");
        assert_eq!(duration(3 * HOUR + 20 * 60 * 1_000_000_000), "3h 20m");
        assert_eq!(duration(2 * DAY + 4 * HOUR), "2d 4h");
        assert_eq!(without_credentials("https://u:p@host:8/x?a@b"), "https://host:8/x?a@b");
        assert_eq!(without_credentials("http://host/a@b"), "http://host/a@b");
    }
}
