//! Endpoint rules: `error_rate` and `latency` against fixed levels with
//! hysteresis, `anomaly` against the endpoint's own history.
//!
//! A window with fewer requests than the rule's `min_requests` says
//! nothing: it neither raises nor resolves, so one failure out of two
//! requests at night does not page, and a quiet spell does not declare an
//! incident over. An alert nobody confirms any more resolves as stale
//! (see `super::stale_after`).

use faultline_model::UnixNanos;

use super::anomaly::{self, RESOLVE_FACTOR};
use super::facts::{Endpoint, EndpointWindow, HourlyFigures};
use super::glob::Globs;
use super::lifecycle::{Content, Outbox};
use super::rules::{AnomalyMetric, Percentile, Rule, RuleKind, Thresholds};
use super::state::EngineState;
use super::subject::Subject;
use super::text;
use super::threshold::{decide, Level};
use crate::alert::Severity;

/// Whether `rule` looks at `endpoint`: service and environment globs, and
/// routes only when the rule names one (whole services otherwise).
/// Rules of other kinds look at no endpoint.
pub(crate) fn endpoint_matches(globs: &Globs, rule: &Rule, endpoint: &Endpoint) -> bool {
    let Some(selector) = rule.endpoints() else {
        return false;
    };
    selector.service.as_ref().is_none_or(|p| globs.matches(p, &endpoint.service))
        && selector
            .environment
            .as_ref()
            .is_none_or(|p| endpoint.environment.as_deref().is_some_and(|e| globs.matches(p, e)))
        && match (&selector.route, &endpoint.route) {
            (None, None) => true,
            (Some(pattern), Some(route)) => globs.matches(pattern, route),
            _ => false,
        }
}

pub(crate) fn on_window(
    rules: &[Rule],
    globs: &Globs,
    state: &mut EngineState,
    w: &EndpointWindow,
    now: UnixNanos,
    out: &mut Outbox,
) {
    for rule in rules {
        if !rule.kind().is_endpoint_kind()
            || rule.window() != w.window
            || !endpoint_matches(globs, rule, &w.endpoint)
        {
            continue;
        }
        if w.requests < rule.min_requests() || w.requests == 0 {
            continue;
        }
        match rule.kind() {
            RuleKind::ErrorRate | RuleKind::Latency => threshold_rule(rule, state, w, now, out),
            RuleKind::Anomaly => anomaly_rule(rule, state, w, now, out),
            _ => {}
        }
    }
}

pub(crate) fn on_hourly(
    rules: &[Rule],
    globs: &Globs,
    state: &mut EngineState,
    h: &HourlyFigures,
    now: UnixNanos,
) {
    // Only endpoints an anomaly rule looks at are worth remembering.
    if rules.iter().any(|r| r.kind() == RuleKind::Anomaly && endpoint_matches(globs, r, &h.endpoint)) {
        let key = Subject::endpoint(&h.endpoint).key;
        state.baselines.record(&key, h, now);
    }
}

struct Measure {
    value: f64,
    name: String,
    show: fn(f64) -> String,
}

fn measure(rule: &Rule, w: &EndpointWindow) -> Option<Measure> {
    let (value, name, show): (f64, String, fn(f64) -> String) = match rule.kind() {
        RuleKind::ErrorRate => (w.errors as f64 / w.requests as f64, "error rate".into(), text::percent),
        RuleKind::Latency => {
            let p = rule.percentile();
            let value = match p {
                Percentile::P95 => w.p95_ms?,
                Percentile::P99 => w.p99_ms?,
            };
            (value, format!("{} latency", p.as_str()), text::millis)
        }
        RuleKind::Anomaly => match rule.metric() {
            AnomalyMetric::ErrorRate => {
                (w.errors as f64 / w.requests as f64, "error rate".into(), text::percent)
            }
            AnomalyMetric::P95 => (w.p95_ms?, "p95 latency".into(), text::millis),
        },
        _ => return None,
    };
    value.is_finite().then_some(Measure { value, name, show })
}

fn levels_line(t: &Thresholds, show: fn(f64) -> String) -> String {
    let mut parts = Vec::new();
    if let Some(w) = t.warning {
        parts.push(format!("warning at {}", show(w)));
    }
    if let Some(c) = t.critical {
        parts.push(format!("critical at {}", show(c)));
    }
    if let Some(r) = t.resolve_level() {
        parts.push(format!("resolves below {}", show(r)));
    }
    let line = parts.join(", ");
    let mut chars = line.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

fn figures_line(rule: &Rule, w: &EndpointWindow) -> String {
    let over = text::duration(rule.window());
    match rule.kind() {
        RuleKind::ErrorRate => {
            format!("{} of {} requests failed over the last {over}.", w.errors, w.requests)
        }
        _ => format!("{} requests over the last {over}.", w.requests),
    }
}

fn threshold_rule(
    rule: &Rule,
    state: &mut EngineState,
    w: &EndpointWindow,
    now: UnixNanos,
    out: &mut Outbox,
) {
    let Some(m) = measure(rule, w) else {
        return;
    };
    let subject = Subject::endpoint(&w.endpoint);
    let t = rule.thresholds();
    let firing = state.alerts.is_firing(rule.id(), &subject.key);
    let what = text::endpoint(&w.endpoint);
    let summary = format!("{}\n{}.", figures_line(rule, w), levels_line(&t, m.show));
    match decide(m.value, &t, firing) {
        Level::Breach(severity, level) | Level::Hold(severity, level) => {
            let content = Content {
                title: format!("{what}: {} {}", m.name, (m.show)(m.value)),
                summary,
                value: Some(m.value),
                threshold: Some(level),
            };
            state.alerts.raise(rule, &subject, severity, content, now, now, out);
        }
        Level::Clear => {
            let content = Content {
                title: format!("{what}: {} back to {}", m.name, (m.show)(m.value)),
                summary,
                value: Some(m.value),
                threshold: t.resolve_level(),
            };
            state.alerts.clear(rule.id(), &subject.key, Some(content), now, out);
        }
    }
}

fn anomaly_rule(rule: &Rule, state: &mut EngineState, w: &EndpointWindow, now: UnixNanos, out: &mut Outbox) {
    let Some(m) = measure(rule, w) else {
        return;
    };
    let subject = Subject::endpoint(&w.endpoint);
    let Some(series) = state.baselines.series.get(&subject.key) else {
        return;
    };
    let at = w.at.min(now);
    let Some(verdict) = anomaly::assess(series, rule.metric(), m.value, w.requests, at, rule.min_requests())
    else {
        return;
    };
    let sensitivity = rule.sensitivity();
    let firing = state.alerts.is_firing(rule.id(), &subject.key);
    let level = verdict.level(sensitivity);
    let what = text::endpoint(&w.endpoint);
    let summary = format!(
        "Usually {} at this hour (last {} days) and {} over the last {} hours; unusual above {}.\n\
         Score {:.1} robust standard deviations (sensitivity {sensitivity}), {} requests in the last hour.",
        (m.show)(verdict.seasonal.median),
        verdict.seasonal.points,
        (m.show)(verdict.recent.median),
        verdict.recent.points,
        (m.show)(level),
        verdict.score,
        w.requests,
    );
    if verdict.score > sensitivity || (firing && verdict.score >= RESOLVE_FACTOR * sensitivity) {
        let content = Content {
            title: format!("Unusual {} on {what}: {}", m.name, (m.show)(m.value)),
            summary,
            value: Some(m.value),
            threshold: Some(level),
        };
        let severity: Severity = rule.single_severity();
        state.alerts.raise(rule, &subject, severity, content, now, now, out);
    } else {
        let content = Content {
            title: format!("{what}: {} back to usual, {}", m.name, (m.show)(m.value)),
            summary,
            value: Some(m.value),
            threshold: Some(level),
        };
        state.alerts.clear(rule.id(), &subject.key, Some(content), now, out);
    }
}
