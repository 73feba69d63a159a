//! `/issues/{id}`: one issue. Its exception as frames (in-app frames
//! expanded, library frames folded, chained causes in order), the raw
//! trace, a frequency chart with release boundaries, tag breakdowns, a
//! pager over its events with every attribute, the trace link, why it was
//! grouped, its endpoint's health around it, and the triage actions.
//! The event's tags, breadcrumbs, request, user and contexts are panels of
//! their own (`event_panels.rs`).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use faultline_grouping::stacktrace::{event_trace, Frame};
use faultline_model::{now_nanos, ErrorEvent, Group, GroupStatus, HealthBucket, StatusChange};
use faultline_store::{EventNeighbors, Facet, GroupFilter, GroupSort, HealthFilter};
use serde::Deserialize;

use super::event_panels::Panels;
use super::format::{self, query_string};
use super::period::{Period, CHOICES};
use super::stream::local_path;
use super::{blocking, charts, failed, message, redirect, render, CheckedForm, Chrome, CsrfToken, Section};
use crate::http::Api;

/// Bars of the frequency chart.
const CHART_BUCKETS: i64 = 48;
/// Releases looked at for chart markers.
const MAX_RELEASE_MARKERS: usize = 8;
/// Values shown per tag.
const TAG_VALUES: usize = 5;

#[derive(Debug, Default, Deserialize)]
pub struct Params {
    period: Option<String>,
    /// The event shown: its sequence number; the newest when unset.
    event: Option<u64>,
    /// A tag the user picked to break down besides the standard ones.
    #[serde(default)]
    tag: String,
    /// Narrows every count to the issue's events matching this query.
    #[serde(default)]
    q: String,
    #[serde(default)]
    done: String,
}

/// One frame as the page shows it.
pub struct FrameView {
    pub function: String,
    pub location: String,
}

/// A run of frames: in-app frames one by one, library frames folded.
pub enum FrameRun {
    App(FrameView),
    Library(Vec<FrameView>),
}

pub struct ExceptionView {
    pub exception_type: String,
    pub message: String,
    pub runs: Vec<FrameRun>,
    pub frame_count: usize,
    pub has_app_frames: bool,
}

pub struct TagBar {
    pub value: String,
    pub count: u64,
    pub percent: String,
    pub width: String,
}

pub struct Onset {
    pub started: String,
    pub before_errors: String,
    pub after_errors: String,
    pub before_p95: String,
    pub after_p95: String,
}

pub struct TagBreakdown {
    pub name: String,
    pub total: u64,
    pub bars: Vec<TagBar>,
    /// Events with a value beyond those shown, and without the tag.
    pub other: u64,
    pub missing: u64,
}

pub struct Kv {
    pub key: String,
    pub value: String,
}

pub struct EventView {
    pub event: ErrorEvent,
    pub when: String,
    pub when_exact: String,
    pub fields: Vec<Kv>,
    pub attributes: Vec<Kv>,
    pub resource: Vec<Kv>,
    pub trace_link: Option<String>,
    pub exceptions: Vec<ExceptionView>,
    /// Tags, breadcrumbs, request, user, contexts, extra data, SDK.
    pub panels: Panels,
}

pub struct Pager {
    pub newest: Option<String>,
    pub newer: Option<String>,
    pub older: Option<String>,
    pub oldest: Option<String>,
    pub position: String,
}

pub struct Grouped {
    pub method: String,
    pub reason: String,
    pub detail: String,
}

pub struct HealthView {
    pub route: String,
    /// `/services/{service}?route=...`: the endpoint's own health page.
    pub link: String,
    /// The endpoint in the hour before the issue's first event and the
    /// hour after: did it start when the endpoint degraded?
    pub onset: Option<Onset>,
    pub error_chart: String,
    pub latency_chart: String,
    pub requests: u64,
    pub error_rate: String,
    pub p95: String,
    pub failing_checks: Vec<String>,
}

#[derive(Template)]
#[template(path = "issue.html")]
struct IssuePage {
    chrome: Chrome,
    group: Group,
    period: Period,
    periods: &'static [(&'static str, &'static str, i64)],
    first_seen: String,
    first_seen_exact: String,
    last_seen: String,
    last_seen_exact: String,
    chart: String,
    tags: Vec<TagBreakdown>,
    tag: String,
    q: String,
    /// The issue's events in the period (matching `q` when set).
    matching: u64,
    event: Option<EventView>,
    pager: Pager,
    grouped: Option<Grouped>,
    health: Option<HealthView>,
    merge_candidates: Vec<Group>,
    done: String,
    back: String,
}

impl IssuePage {
    fn status_hint(&self) -> String {
        status_note(&self.group)
    }

    fn period_link(&self, key: &str) -> String {
        format!(
            "/issues/{}{}",
            self.group.id,
            query_string(&[("period", key), ("q", &self.q), ("tag", &self.tag)])
        )
    }
}

struct Loaded {
    group: Group,
    event: Option<ErrorEvent>,
    neighbors: EventNeighbors,
    histogram: Vec<(i64, u64)>,
    markers: Vec<charts::Marker>,
    facets: Vec<Facet>,
    health: Option<EndpointHealth>,
    candidates: Vec<Group>,
}

pub async fn page(
    State(api): State<Api>,
    Path(id): Path<String>,
    Query(params): Query<Params>,
    token: CsrfToken,
) -> Response {
    let Ok(id) = id.parse::<u64>() else {
        return not_found(&id, &token);
    };
    let period = Period::parse(params.period.as_deref());
    let now = now_nanos();
    let storage = api.storage.clone();
    let wanted = params.event;
    let picked = params.tag.trim().to_string();
    let user_query = params.q.trim().to_string();
    let loaded = blocking(move || {
        let Some(group) = storage.group(id)? else { return Ok(None) };
        let seq = wanted.unwrap_or(group.last_event_seq);
        let event = storage.event(seq)?.filter(|e| e.group_id == group.id);
        let neighbors = match &event {
            Some(e) => storage.group_event_neighbors(id, e.seq)?,
            None => EventNeighbors::default(),
        };
        let query = issue_query(id, &user_query);
        let (from, to) = period.range(now, CHART_BUCKETS);
        let step = period.step(CHART_BUCKETS);
        let histogram = storage.event_histogram(&query, from, to, step)?;
        let markers = release_markers(&storage, &query, from, to, step)?;
        let mut facets = Vec::new();
        for name in tag_names(&picked) {
            match storage.facet(&query, from, to, &name, TAG_VALUES) {
                Ok(f) => facets.push(f),
                Err(faultline_store::Error::UnknownField(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let route = event.as_ref().and_then(|e| e.http_route.clone());
        let health = match route {
            Some(route) => {
                let filter = HealthFilter {
                    service: Some(group.service.clone()),
                    route: Some(route.clone()),
                    ..HealthFilter::default()
                };
                let series = storage.health_series(from, to, step, &filter)?;
                let merged = |from, to| -> Result<HealthBucket, faultline_store::Error> {
                    let mut total = HealthBucket::default();
                    storage.health(from, to, &filter)?.values().for_each(|b| total.merge(b));
                    Ok(total)
                };
                let started = group.first_seen;
                let onset =
                    (merged(started - ONSET_WINDOW, started)?, merged(started, started + ONSET_WINDOW)?);
                Some(EndpointHealth { route, series, onset })
            }
            None => None,
        };
        let (candidates, _) = storage.groups(&GroupFilter {
            service: Some(group.service.clone()),
            sort: GroupSort::LastSeen,
            limit: 21,
            ..GroupFilter::default()
        })?;
        let candidates = candidates.into_iter().filter(|g| g.id != group.id).take(20).collect();
        Ok(Some(Loaded { group, event, neighbors, histogram, markers, facets, health, candidates }))
    })
    .await;
    let loaded = match loaded {
        Ok(Some(l)) => l,
        Ok(None) => return not_found(&id.to_string(), &token),
        Err(e) => return failed(&e, &token),
    };
    let page = build(&api, loaded, period, &params, now, &token);
    render(StatusCode::OK, &page, &token)
}

fn build(api: &Api, l: Loaded, period: Period, params: &Params, now: i64, token: &CsrfToken) -> IssuePage {
    let group = l.group;
    let step = period.step_nanos(CHART_BUCKETS);
    let chart = charts::bar_chart(&l.histogram, step, &l.markers);
    let matching = l.facets.first().map_or(0, |f| f.total);
    let tags = l.facets.iter().filter_map(breakdown).collect();
    let grouped = l.event.as_ref().map(|e| explain(api, e));
    let failing_checks: Vec<String> = api
        .checks
        .statuses()
        .into_iter()
        .filter(|s| s.consecutive_failures > 0)
        .map(|s| s.check_id)
        .collect();
    let health = l.health.map(|h| health_view(&group, h, step, failing_checks));
    let base = format!("/issues/{}", group.id);
    let keep = |event: &str| {
        let pairs =
            [("period", period.key), ("q", params.q.trim()), ("tag", params.tag.trim()), ("event", event)];
        format!("{base}{}", query_string(&pairs))
    };
    let n = l.neighbors;
    let link = |seq: Option<u64>| seq.map(|s| keep(&s.to_string()));
    let pager = Pager {
        newest: n.newest.map(|_| keep("")),
        newer: link(n.newer),
        older: link(n.older),
        oldest: link(n.oldest),
        position: match &l.event {
            Some(_) if n.newest.is_none() => format!("Newest of {} events", group.count),
            Some(_) if n.oldest.is_none() => format!("Oldest of {} events", group.count),
            Some(e) => format!("Event #{} of {}", e.seq, group.count),
            None => "No stored event".into(),
        },
    };
    let event = l.event.map(|e| event_view(api, e, now));
    IssuePage {
        chrome: Chrome::new(group.title.clone(), Section::Issues, token),
        first_seen: format::relative(group.first_seen, now),
        first_seen_exact: format::exact(group.first_seen),
        last_seen: format::relative(group.last_seen, now),
        last_seen_exact: format::exact(group.last_seen),
        back: keep(&params.event.map(|s| s.to_string()).unwrap_or_default()),
        group,
        period,
        periods: CHOICES,
        chart,
        tags,
        tag: params.tag.clone(),
        q: params.q.trim().to_string(),
        matching,
        event,
        pager,
        grouped,
        health,
        merge_candidates: l.candidates,
        done: params.done.chars().take(200).collect(),
    }
}

fn not_found(id: &str, token: &CsrfToken) -> Response {
    message(StatusCode::NOT_FOUND, Section::Issues, "Not found", &format!("There is no issue {id}."), token)
}

/// The issue's events, narrowed by the user's query when there is one.
fn issue_query(id: u64, user_query: &str) -> String {
    if user_query.is_empty() {
        format!("group:{id}")
    } else {
        format!("group:{id} AND ({user_query})")
    }
}

/// Releases that first appear inside the period, at the step they do: the
/// boundaries on the frequency chart. A release already present at the
/// period's start is no boundary within it.
fn release_markers(
    storage: &faultline_store::Storage,
    query: &str,
    from: i64,
    to: i64,
    step: std::time::Duration,
) -> Result<Vec<charts::Marker>, faultline_store::Error> {
    let releases = storage.facet(query, from, to, "release", MAX_RELEASE_MARKERS)?;
    let mut markers = Vec::new();
    for (release, _) in releases.values {
        let quoted = release.replace('\\', "\\\\").replace('"', "\\\"");
        let points = storage.event_histogram(&format!("{query} AND release:\"{quoted}\""), from, to, step)?;
        let first = points.iter().position(|p| p.1 > 0);
        if let Some(i) = first.filter(|i| *i > 0) {
            markers.push(charts::Marker { at: points[i].0, label: release });
        }
    }
    markers.sort_by_key(|m| m.at);
    Ok(markers)
}

/// The standard tags, then the one the user picked.
const STANDARD_TAGS: &[&str] =
    &["release", "environment", "host", "route", "method", "status", "sdk", "user"];

fn tag_names(picked: &str) -> Vec<String> {
    let mut names: Vec<String> = STANDARD_TAGS.iter().map(|s| s.to_string()).collect();
    if !picked.is_empty() && !names.iter().any(|n| n == picked) {
        names.push(picked.to_string());
    }
    names
}

fn breakdown(facet: &Facet) -> Option<TagBreakdown> {
    if facet.values.is_empty() {
        return None;
    }
    let total = facet.total;
    let bars = facet
        .values
        .iter()
        .map(|(value, count)| {
            let ratio = *count as f64 / total.max(1) as f64;
            TagBar {
                value: value.clone(),
                count: *count,
                percent: format::percent(ratio),
                width: format!("{:.1}", ratio * 100.0),
            }
        })
        .collect();
    Some(TagBreakdown { name: facet.field.clone(), total, bars, other: facet.other, missing: facet.missing })
}

fn json_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn kvs(map: &faultline_model::Attributes) -> Vec<Kv> {
    map.iter().map(|(k, v)| Kv { key: k.clone(), value: json_text(v) }).collect()
}

fn event_view(api: &Api, e: ErrorEvent, now: i64) -> EventView {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let fields: Vec<Kv> = [
        ("level", e.level.clone()),
        ("source", e.source.as_str().to_string()),
        ("service", e.service.clone()),
        ("release", opt(&e.service_version)),
        ("environment", opt(&e.environment)),
        ("host", opt(&e.host)),
        ("sdk", opt(&e.sdk_language)),
        ("span", opt(&e.span_name)),
        ("route", opt(&e.http_route)),
        ("method", opt(&e.http_method)),
        ("status", e.http_status.map(|s| s.to_string()).unwrap_or_default()),
        ("escaped", e.escaped.map(|s| s.to_string()).unwrap_or_default()),
        ("received", format::exact(e.received_at)),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| Kv { key: k.to_string(), value: v })
    .collect();
    let exceptions = exceptions(&e);
    EventView {
        when: format::relative(e.timestamp, now),
        when_exact: format::exact(e.timestamp),
        fields,
        // The trace is shown as frames and raw text above.
        attributes: kvs(&e.attributes).into_iter().filter(|kv| kv.key != "exception.stacktrace").collect(),
        resource: kvs(&e.resource),
        trace_link: api.ui.trace_link(&e.trace_id),
        exceptions,
        panels: Panels::of(&e),
        event: e,
    }
}

/// The event's exception chain as the page shows it, outermost first.
fn exceptions(e: &ErrorEvent) -> Vec<ExceptionView> {
    // Parsed as grouping parses it, the SDK's in-app flags applied.
    let trace = event_trace(e);
    trace
        .chain
        .iter()
        .map(|x| ExceptionView {
            exception_type: x.exception_type.clone().or_else(|| e.exception_type.clone()).unwrap_or_default(),
            message: x.message.clone().unwrap_or_default(),
            frame_count: x.frames.len(),
            has_app_frames: x.frames.iter().any(|f| f.in_app),
            runs: runs(&x.frames),
        })
        .collect()
}

/// Frames innermost-last as stack traces are read, grouped into runs.
fn runs(frames: &[Frame]) -> Vec<FrameRun> {
    let mut out: Vec<FrameRun> = Vec::new();
    // Parsers list the raise site first; pages show it last, as Python
    // and Sentry do, so the reader ends at the line that failed.
    for f in frames.iter().rev() {
        let view =
            FrameView { function: f.function.clone().unwrap_or_else(|| "?".into()), location: location(f) };
        match out.last_mut() {
            _ if f.in_app => out.push(FrameRun::App(view)),
            Some(FrameRun::Library(run)) => run.push(view),
            _ => out.push(FrameRun::Library(vec![view])),
        }
    }
    out
}

fn location(f: &Frame) -> String {
    let place = f.file.clone().or_else(|| f.module.clone()).unwrap_or_default();
    match f.line {
        Some(line) => format!("{place}:{line}"),
        None => place,
    }
}

/// Why this event joined this issue: the grouping variant that won and
/// what it was made of.
fn explain(api: &Api, e: &ErrorEvent) -> Grouped {
    let grouping = api.grouper.group(e);
    let method = grouping.method.clone();
    let (reason, detail) = match method.as_str() {
        "stacktrace" => (
            "the exception type and the frame that locates the root cause (its top in-app frame); line numbers \
             and the message are left out, so the same bug groups across releases and inputs",
            format!("{} · {}", e.exception_type.clone().unwrap_or_default(), grouping.culprit),
        ),
        "message" => (
            "the exception type and the message with its numbers, ids and quoted values replaced, since the \
             event has no readable stack trace",
            grouping.title.clone(),
        ),
        "custom" => (
            "a fingerprint the event carried (error.fingerprint) or a fingerprint rule of the configuration",
            grouping.title.clone(),
        ),
        _ => (
            "the HTTP status class, method and route of the failed request, since the event carries no exception",
            grouping.culprit.clone(),
        ),
    };
    Grouped { method, reason: reason.to_string(), detail }
}

/// The health figures read for an issue's endpoint.
struct EndpointHealth {
    route: String,
    series: Vec<(i64, HealthBucket)>,
    /// The hour before the issue's first event, and the hour after.
    onset: (HealthBucket, HealthBucket),
}

/// How far before and after an issue's first event its endpoint is compared.
const ONSET_WINDOW: i64 = 3_600_000_000_000;

fn health_view(group: &Group, h: EndpointHealth, step: i64, failing_checks: Vec<String>) -> HealthView {
    let EndpointHealth { route, series, onset: (before, after) } = h;
    let series = series.as_slice();
    let errors = |b: &HealthBucket| b.error_rate().map(format::percent).unwrap_or_else(|| "–".into());
    let p95 = |b: &HealthBucket| b.latency.quantile(0.95).map(format::millis).unwrap_or_else(|| "–".into());
    let onset = (!before.is_empty() || !after.is_empty()).then(|| Onset {
        started: format::exact(group.first_seen),
        before_errors: errors(&before),
        after_errors: errors(&after),
        before_p95: p95(&before),
        after_p95: p95(&after),
    });
    let link = format!(
        "/services/{}{}",
        format::url_encode(&group.service),
        query_string(&[("route", route.as_str())])
    );
    let times: Vec<i64> = series.iter().map(|p| p.0).collect();
    let rates: Vec<Option<f64>> = series.iter().map(|p| p.1.error_rate().map(|r| r * 100.0)).collect();
    let p95: Vec<Option<f64>> = series.iter().map(|p| p.1.latency.quantile(0.95)).collect();
    let mut total = faultline_model::HealthBucket::default();
    for (_, b) in series {
        total.merge(b);
    }
    let error_series = [charts::Series { name: "error rate".into(), class: "b", values: rates }];
    let latency_series = [charts::Series { name: "p95 latency".into(), class: "", values: p95 }];
    HealthView {
        route,
        link,
        onset,
        error_chart: charts::line_chart(300.0, &times, step, &error_series, |v| format!("{v:.0}%")),
        latency_chart: charts::line_chart(300.0, &times, step, &latency_series, format::millis),
        requests: total.requests,
        error_rate: total.error_rate().map(format::percent).unwrap_or_else(|| "–".into()),
        p95: total.latency.quantile(0.95).map(format::millis).unwrap_or_else(|| "–".into()),
        failing_checks,
    }
}

/// The triage form's fields.
struct Action {
    action: String,
    back: String,
    ids: Vec<u64>,
    fingerprint: String,
    /// How long to ignore: empty (for good), a duration (`2h`) or a
    /// number of events (`n:100`).
    ignore: String,
}

fn read_form(pairs: &[(String, String)]) -> Action {
    let field =
        |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    Action {
        action: field("action"),
        back: field("back"),
        ids: pairs.iter().filter(|(k, _)| k == "ids").filter_map(|(_, v)| v.parse().ok()).collect(),
        fingerprint: field("fingerprint"),
        ignore: field("ignore"),
    }
}

/// `POST /issues/{id}/action`: status changes, merge and unmerge from the
/// issue page, then back to it.
pub async fn act(
    State(api): State<Api>,
    Path(id): Path<u64>,
    token: CsrfToken,
    CheckedForm(pairs): CheckedForm,
) -> Response {
    let form = read_form(&pairs);
    let back = local_path(if form.back.is_empty() { "/" } else { &form.back });
    let outcome = match form.action.as_str() {
        "merge" => merge(&api, id, form.ids).await,
        "unmerge" => unmerge(&api, id, form.fingerprint).await,
        other => match status_change(other, &form.ignore) {
            Ok(change) => set_status(&api, id, change).await,
            Err(e) => Err(e),
        },
    };
    match outcome {
        Ok((target, done)) => {
            let path = if target == id { back } else { format!("/issues/{target}") };
            redirect(&path, "done", &done)
        }
        Err(e) => message(StatusCode::BAD_REQUEST, Section::Issues, "Not done", &e.to_string(), &token),
    }
}

/// Why a triage action was not carried out.
#[derive(Debug, thiserror::Error)]
enum ActionError {
    /// The form asked for something that is no action.
    #[error("{0}")]
    Form(String),
    #[error(transparent)]
    Store(#[from] faultline_store::Error),
    #[error("the server is shutting down; try again in a moment")]
    ShuttingDown,
}

impl From<tokio::sync::oneshot::error::RecvError> for ActionError {
    fn from(_: tokio::sync::oneshot::error::RecvError) -> ActionError {
        ActionError::ShuttingDown
    }
}

/// The status change a triage button asks for: `resolved`,
/// `resolved_next_release`, `unresolved`, or `ignored` with the `ignore`
/// field's condition.
fn status_change(action: &str, ignore: &str) -> Result<StatusChange, ActionError> {
    if action == "resolved_next_release" {
        return Ok(StatusChange { in_next_release: true, ..GroupStatus::Resolved.into() });
    }
    let status =
        GroupStatus::parse(action).ok_or_else(|| ActionError::Form(format!("unknown action {action:?}")))?;
    let ignore = ignore.trim();
    if status != GroupStatus::Ignored || ignore.is_empty() {
        return Ok(status.into());
    }
    let mut change = StatusChange::from(status);
    match ignore.strip_prefix("n:") {
        Some(n) => {
            change.ignore_count =
                Some(n.parse().map_err(|_| ActionError::Form(format!("not a number of events: {n:?}")))?)
        }
        None => {
            change.ignore_for = Some(
                humantime::parse_duration(ignore)
                    .map_err(|e| ActionError::Form(format!("not a duration: {ignore:?}: {e}")))?,
            )
        }
    }
    Ok(change)
}

async fn set_status(api: &Api, id: u64, change: StatusChange) -> Result<(u64, String), ActionError> {
    let group = api.storage.change_group_status(id, change, now_nanos())?.await??;
    api.alerting.on_group_status(group.id, group.status);
    Ok((id, status_note(&group)))
}

/// What the issue's status means, in words: the notice after a change and
/// the badge's hover text.
pub fn status_note(group: &Group) -> String {
    match group.status {
        GroupStatus::Resolved => match &group.resolved_in_release {
            Some(release) => {
                format!("Resolved in the next release: an event from a release after {release} reopens it")
            }
            None => "Marked resolved: its next event reopens it".to_string(),
        },
        GroupStatus::Ignored => match (group.ignored_until, group.ignored_until_count) {
            (Some(until), _) => format!("Ignored until {}", format::exact(until)),
            (None, Some(count)) => {
                let more = count.saturating_sub(group.count);
                format!("Ignored until {}", format::plural(more, "more event", "more events"))
            }
            (None, None) => "Ignored for good".to_string(),
        },
        GroupStatus::Unresolved => "Marked unresolved".to_string(),
    }
}

async fn merge(api: &Api, id: u64, sources: Vec<u64>) -> Result<(u64, String), ActionError> {
    if sources.is_empty() {
        return Err(ActionError::Form("pick at least one issue to merge into this one".into()));
    }
    let n = sources.len() as u64;
    api.storage.merge(id, sources.clone())?.await??;
    for source in sources {
        api.alerting.on_group_status(source, GroupStatus::Resolved);
    }
    Ok((id, format!("Merged {} into this one", format::plural(n, "issue", "issues"))))
}

async fn unmerge(api: &Api, id: u64, fingerprint: String) -> Result<(u64, String), ActionError> {
    let (_, split) = api.storage.unmerge(id, vec![fingerprint])?.await??;
    Ok((split.id, format!("Split off from issue {id}")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use faultline_model::EventSource;

    fn frame(function: &str, in_app: bool) -> Frame {
        Frame {
            function: Some(function.into()),
            file: Some(format!("{function}.py")),
            line: Some(3),
            in_app,
            ..Frame::default()
        }
    }

    #[test]
    fn library_frames_fold_between_app_frames_raise_site_last() {
        // Parsers give the raise site first.
        let frames =
            [frame("raise_site", true), frame("lib_a", false), frame("lib_b", false), frame("main", true)];
        let runs = runs(&frames);
        let shape: Vec<String> = runs
            .iter()
            .map(|r| match r {
                FrameRun::App(f) => f.function.clone(),
                FrameRun::Library(fs) => format!("lib x{}", fs.len()),
            })
            .collect();
        assert_eq!(shape, ["main", "lib x2", "raise_site"]);
        match &runs[2] {
            FrameRun::App(f) => assert_eq!(f.location, "raise_site.py:3"),
            FrameRun::Library(_) => panic!("the raise site is in-app"),
        }
    }

    #[test]
    fn tag_bars_show_counts_and_percentages_of_matching_events() {
        let facet = Facet {
            field: "release".into(),
            total: 8,
            values: vec![("1.0".into(), 6), ("2.0".into(), 1)],
            missing: 1,
            other: 0,
        };
        let t = breakdown(&facet).expect("a breakdown");
        assert_eq!(
            (t.bars[0].value.as_str(), t.bars[0].count, t.bars[0].percent.as_str()),
            ("1.0", 6, "75%")
        );
        assert_eq!((t.total, t.missing), (8, 1));
        assert!(
            breakdown(&Facet { field: "host".into(), total: 8, missing: 8, ..Facet::default() }).is_none()
        );
        assert_eq!(tag_names("tenant").last().map(String::as_str), Some("tenant"));
        assert_eq!(tag_names("release").len(), STANDARD_TAGS.len());
        assert_eq!(issue_query(4, ""), "group:4");
        assert_eq!(issue_query(4, "release:2"), "group:4 AND (release:2)");
    }

    #[test]
    fn chained_exceptions_keep_their_order() {
        let mut e = ErrorEvent::blank("api", EventSource::SpanException, 0);
        e.sdk_language = Some("python".into());
        e.stacktrace = Some(
            "Traceback (most recent call last):\n  File \"/app/db.py\", line 3, in connect\n    raise OSError('down')\nOSError: down\n\n\
             The above exception was the direct cause of the following exception:\n\n\
             Traceback (most recent call last):\n  File \"/app/api.py\", line 9, in handler\n    raise RuntimeError('no db')\nRuntimeError: no db\n"
                .into(),
        );
        let chain = exceptions(&e);
        let types: Vec<&str> = chain.iter().map(|x| x.exception_type.as_str()).collect();
        assert_eq!(types.len(), 2, "{types:?}");
        assert!(types.contains(&"OSError") && types.contains(&"RuntimeError"), "{types:?}");
    }

    #[test]
    fn trace_links_need_a_template_and_a_hex_id() {
        let ui = crate::ui::UiConfig { trace_url: Some("https://jaeger.example/trace/{trace_id}".into()) };
        assert_eq!(ui.trace_link("abc123").as_deref(), Some("https://jaeger.example/trace/abc123"));
        assert_eq!(ui.trace_link("\"><script>"), None);
        assert_eq!(ui.trace_link(""), None);
        assert_eq!(crate::ui::UiConfig::default().trace_link("abc123"), None);
        assert!(crate::ui::UiConfig { trace_url: Some("https://x/no-placeholder".into()) }
            .validated()
            .is_err());
        assert!(crate::ui::UiConfig { trace_url: Some("javascript:{trace_id}".into()) }.validated().is_err());
    }

    #[test]
    fn triage_buttons_become_status_changes() {
        assert_eq!(
            status_change("resolved", "2h").unwrap(),
            GroupStatus::Resolved.into(),
            "ignore only goes with ignored"
        );
        let next = status_change("resolved_next_release", "").unwrap();
        assert!(next.in_next_release && next.status == GroupStatus::Resolved);
        assert_eq!(status_change("ignored", "").unwrap(), GroupStatus::Ignored.into());
        assert_eq!(
            status_change("ignored", "2h").unwrap().ignore_for,
            Some(std::time::Duration::from_secs(7200))
        );
        assert_eq!(status_change("ignored", "n:100").unwrap().ignore_count, Some(100));
        assert!(status_change("ignored", "n:lots").unwrap_err().to_string().contains("not a number"));
        assert!(status_change("ignored", "soon").unwrap_err().to_string().contains("not a duration"));
        assert!(status_change("deleted", "").unwrap_err().to_string().contains("unknown action"));
    }

    fn sample_group() -> Group {
        Group {
            id: 1,
            fingerprint: "f".into(),
            grouping_version: 2,
            service: "api".into(),
            title: "KeyError".into(),
            culprit: String::new(),
            last_message: None,
            exception_type: None,
            first_seen: 0,
            last_seen: 0,
            count: 0,
            status: GroupStatus::Unresolved,
            regressed: false,
            regressed_at: None,
            resolved_at: None,
            environments: Vec::new(),
            first_release: None,
            last_release: None,
            last_event_seq: 0,
            fingerprints: Vec::new(),
            merged_into: None,
            resolved_in_release: None,
            ignored_until: None,
            ignored_until_count: None,
            collapsed_fingerprints: 0,
        }
    }

    #[test]
    fn status_notes_say_what_brings_an_issue_back() {
        let mut g = Group {
            status: GroupStatus::Resolved,
            resolved_in_release: Some("1.4.0".into()),
            ..sample_group()
        };
        assert!(status_note(&g).contains("after 1.4.0"));
        g.status = GroupStatus::Ignored;
        g.resolved_in_release = None;
        g.count = 10;
        g.ignored_until_count = Some(110);
        assert_eq!(status_note(&g), "Ignored until 100 more events");
        g.ignored_until_count = None;
        assert_eq!(status_note(&g), "Ignored for good");
    }
}
