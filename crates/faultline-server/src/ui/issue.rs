//! `/issues/{id}`: one issue. Its exception as frames (in-app frames
//! expanded, library frames folded, chained causes in order), the raw
//! trace, a frequency chart with release boundaries, tag breakdowns, a
//! pager over its events with every attribute, the trace link, why it was
//! grouped, its endpoint's health around it, and the triage actions.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, RawForm, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use faultline_grouping::stacktrace::{parse_trace, Frame};
use faultline_model::{now_nanos, ErrorEvent, Group, GroupStatus};
use faultline_store::{EventNeighbors, GroupFilter, GroupSort, HealthFilter};
use serde::Deserialize;

use super::format::{self, query_string};
use super::period::{Period, CHOICES};
use super::stream::local_path;
use super::{blocking, charts, csrf, failed, message, render, Chrome, CsrfToken, Section};
use crate::http::Api;

/// Bars of the frequency chart.
const CHART_BUCKETS: i64 = 48;
/// Events read for the tag breakdowns.
const TAG_SAMPLE: usize = 500;
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

pub struct TagBreakdown {
    pub name: String,
    pub total: u64,
    pub bars: Vec<TagBar>,
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
    event: Option<EventView>,
    pager: Pager,
    grouped: Option<Grouped>,
    health: Option<HealthView>,
    merge_candidates: Vec<Group>,
    done: String,
    back: String,
}

impl IssuePage {
    fn period_link(&self, key: &str) -> String {
        format!("/issues/{}{}", self.group.id, query_string(&[("period", key), ("tag", &self.tag)]))
    }
}

struct Loaded {
    group: Group,
    event: Option<ErrorEvent>,
    neighbors: EventNeighbors,
    sample: Vec<ErrorEvent>,
    health: Option<(String, Vec<(i64, faultline_model::HealthBucket)>)>,
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
    let loaded = blocking(move || {
        let Some(group) = storage.group(id)? else { return Ok(None) };
        let seq = wanted.unwrap_or(group.last_event_seq);
        let event = storage.event(seq)?.filter(|e| e.group_id == group.id);
        let neighbors = match &event {
            Some(e) => storage.group_event_neighbors(id, e.seq)?,
            None => EventNeighbors::default(),
        };
        let (sample, _) = storage.group_events(id, None, TAG_SAMPLE)?;
        let route = event.as_ref().and_then(|e| e.http_route.clone());
        let health = match route {
            Some(route) => {
                let (from, to) = period.range(now, CHART_BUCKETS);
                let filter = HealthFilter {
                    service: Some(group.service.clone()),
                    route: Some(route.clone()),
                    ..HealthFilter::default()
                };
                Some((route, storage.health_series(from, to, period.step(CHART_BUCKETS), &filter)?))
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
        Ok(Some(Loaded { group, event, neighbors, sample, health, candidates }))
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
    let (from, _) = period.range(now, CHART_BUCKETS);
    let step = period.step_nanos(CHART_BUCKETS);
    let chart = frequency_chart(&l.sample, from, step);
    let tags = breakdowns(&l.sample, &params.tag);
    let grouped = l.event.as_ref().map(|e| explain(api, e));
    let failing_checks: Vec<String> = api
        .checks
        .statuses()
        .into_iter()
        .filter(|s| s.consecutive_failures > 0)
        .map(|s| s.check_id)
        .collect();
    let health = l.health.map(|(route, series)| health_view(route, &series, step, failing_checks));
    let base = format!("/issues/{}", group.id);
    let keep = |event: &str| {
        format!("{base}{}", query_string(&[("period", period.key), ("tag", &params.tag), ("event", event)]))
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

/// Events per step over the period, with the first appearance of each
/// release as a marker.
fn frequency_chart(events: &[ErrorEvent], from: i64, step: i64) -> String {
    let buckets = CHART_BUCKETS as usize;
    let mut counts = vec![0u64; buckets];
    let mut releases: BTreeMap<String, i64> = BTreeMap::new();
    for e in events {
        if let Some(r) = &e.service_version {
            let first = releases.entry(r.clone()).or_insert(e.timestamp);
            *first = (*first).min(e.timestamp);
        }
        if e.timestamp < from {
            continue;
        }
        let i = usize::try_from((e.timestamp - from) / step).unwrap_or(usize::MAX);
        if let Some(c) = counts.get_mut(i) {
            *c += 1;
        }
    }
    let points: Vec<(i64, u64)> =
        counts.iter().enumerate().map(|(i, c)| (from + step * i as i64, *c)).collect();
    let mut markers: Vec<charts::Marker> =
        releases.into_iter().map(|(label, at)| charts::Marker { at, label }).collect();
    markers.sort_by_key(|m| m.at);
    // The oldest release is where the issue began, not a boundary.
    if !markers.is_empty() {
        markers.remove(0);
    }
    charts::bar_chart(&points, step, &markers)
}

/// The value of a tag on an event, by the names the search language uses.
fn tag_value(e: &ErrorEvent, name: &str) -> Option<String> {
    let attr = |key: &str| e.attributes.get(key).or_else(|| e.resource.get(key)).map(json_text);
    match name {
        "release" => e.service_version.clone(),
        "environment" => e.environment.clone(),
        "host" => e.host.clone(),
        "route" => e.http_route.clone(),
        "method" => e.http_method.clone(),
        "status" => e.http_status.map(|s| s.to_string()),
        "sdk" => e.sdk_language.clone(),
        "user" => attr("enduser.id").or_else(|| attr("user.id")),
        other => attr(other.strip_prefix("attr.").unwrap_or(other)),
    }
}

const STANDARD_TAGS: &[&str] =
    &["release", "environment", "host", "route", "method", "status", "sdk", "user"];

fn breakdowns(events: &[ErrorEvent], extra: &str) -> Vec<TagBreakdown> {
    let extra = extra.trim();
    let mut names: Vec<&str> = STANDARD_TAGS.to_vec();
    if !extra.is_empty() && !names.contains(&extra) {
        names.push(extra);
    }
    names.into_iter().filter_map(|name| breakdown(events, name)).collect()
}

fn breakdown(events: &[ErrorEvent], name: &str) -> Option<TagBreakdown> {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for e in events {
        if let Some(v) = tag_value(e, name) {
            *counts.entry(v).or_default() += 1;
        }
    }
    if counts.is_empty() {
        return None;
    }
    let total = events.len() as u64;
    let mut values: Vec<(String, u64)> = counts.into_iter().collect();
    values.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let bars = values
        .into_iter()
        .take(TAG_VALUES)
        .map(|(value, count)| {
            let ratio = count as f64 / total.max(1) as f64;
            TagBar { value, count, percent: format::percent(ratio), width: format!("{:.1}", ratio * 100.0) }
        })
        .collect();
    Some(TagBreakdown { name: name.to_string(), total, bars })
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
        event: e,
    }
}

/// The event's exception chain as the page shows it, outermost first.
fn exceptions(e: &ErrorEvent) -> Vec<ExceptionView> {
    let Some(text) = e.stacktrace.as_deref().filter(|t| !t.trim().is_empty()) else {
        return Vec::new();
    };
    let trace = parse_trace(text, e.sdk_language.as_deref());
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

fn health_view(
    route: String,
    series: &[(i64, faultline_model::HealthBucket)],
    step: i64,
    failing_checks: Vec<String>,
) -> HealthView {
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
    csrf: String,
    back: String,
    ids: Vec<u64>,
    fingerprint: String,
}

fn read_form(body: &[u8]) -> Action {
    let mut a = Action {
        action: String::new(),
        csrf: String::new(),
        back: String::new(),
        ids: Vec::new(),
        fingerprint: String::new(),
    };
    for (key, value) in form_urlencoded::parse(body) {
        match key.as_ref() {
            "action" => a.action = value.into_owned(),
            "csrf" => a.csrf = value.into_owned(),
            "back" => a.back = value.into_owned(),
            "ids" => a.ids.extend(value.parse::<u64>().ok()),
            "fingerprint" => a.fingerprint = value.into_owned(),
            _ => {}
        }
    }
    a
}

/// `POST /issues/{id}/action`: status changes, merge and unmerge from the
/// issue page, then back to it.
pub async fn act(
    State(api): State<Api>,
    Path(id): Path<u64>,
    headers: HeaderMap,
    token: CsrfToken,
    RawForm(body): RawForm,
) -> Response {
    let form = read_form(&body);
    if let Err(e) = csrf::verify(&headers, &form.csrf) {
        return message(StatusCode::FORBIDDEN, Section::Issues, "Refused", &e.to_string(), &token);
    }
    let back = local_path(if form.back.is_empty() { "/" } else { &form.back });
    let outcome = match form.action.as_str() {
        "merge" => merge(&api, id, form.ids).await,
        "unmerge" => unmerge(&api, id, form.fingerprint).await,
        status => match GroupStatus::parse(status) {
            Some(s) => set_status(&api, id, s).await,
            None => Err(format!("unknown action {status:?}")),
        },
    };
    match outcome {
        Ok((target, done)) => {
            let path = if target == id { back } else { format!("/issues/{target}") };
            let sep = if path.contains('?') { '&' } else { '?' };
            Redirect::to(&format!("{path}{sep}done={}", format::url_encode(&done))).into_response()
        }
        Err(e) => message(StatusCode::BAD_REQUEST, Section::Issues, "Not done", &e, &token),
    }
}

async fn set_status(api: &Api, id: u64, status: GroupStatus) -> Result<(u64, String), String> {
    let answer = api.storage.set_group_status(id, status, now_nanos()).map_err(|e| e.to_string())?;
    let group = answer.await.map_err(|e| e.to_string())?.map_err(|e| e.to_string())?;
    api.alerting.on_group_status(group.id, group.status);
    Ok((id, format!("Marked {}", group.status.as_str())))
}

async fn merge(api: &Api, id: u64, sources: Vec<u64>) -> Result<(u64, String), String> {
    if sources.is_empty() {
        return Err("pick at least one issue to merge into this one".into());
    }
    let n = sources.len() as u64;
    let answer = api.storage.merge(id, sources.clone()).map_err(|e| e.to_string())?;
    answer.await.map_err(|e| e.to_string())?.map_err(|e| e.to_string())?;
    for source in sources {
        api.alerting.on_group_status(source, GroupStatus::Resolved);
    }
    Ok((id, format!("Merged {} into this one", format::plural(n, "issue", "issues"))))
}

async fn unmerge(api: &Api, id: u64, fingerprint: String) -> Result<(u64, String), String> {
    let answer = api.storage.unmerge(id, vec![fingerprint]).map_err(|e| e.to_string())?;
    let (_, split) = answer.await.map_err(|e| e.to_string())?.map_err(|e| e.to_string())?;
    Ok((split.id, format!("Split off from issue {id}")))
}

#[cfg(test)]
mod tests {
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
    fn tags_count_values_and_percentages() {
        let mut events = Vec::new();
        for (i, release) in ["1.0", "1.0", "1.0", "2.0"].iter().enumerate() {
            let mut e = ErrorEvent::blank("api", EventSource::Log, i as i64);
            e.service_version = Some((*release).into());
            e.attributes.insert("tenant".into(), serde_json::json!(i % 2));
            events.push(e);
        }
        let tags = breakdowns(&events, "tenant");
        let release = tags.iter().find(|t| t.name == "release").expect("release");
        assert_eq!(release.bars[0].value, "1.0");
        assert_eq!((release.bars[0].count, release.bars[0].percent.as_str()), (3, "75%"));
        let tenant = tags.iter().find(|t| t.name == "tenant").expect("picked attribute");
        assert_eq!(tenant.bars.len(), 2);
        assert!(tags.iter().all(|t| t.name != "host"), "tags no event has are left out");
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
}
