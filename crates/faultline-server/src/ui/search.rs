//! `/search`: events matching a query. The query box with the syntax
//! explained by examples and field names offered as you type, a histogram
//! of matching events over the period, the matches grouped by issue, and
//! the newest matching events one page at a time, each openable.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use faultline_model::{now_nanos, ErrorEvent, Group};
use faultline_store::SearchRequest;
use serde::Deserialize;

use super::format::{self, query_string};
use super::period::{Period, CHOICES};
use super::{blocking, charts, failed, render, Chrome, CsrfToken, Section};
use crate::http::Api;

const PAGE: usize = 50;
const HISTOGRAM_BUCKETS: i64 = 48;
/// The busiest matching issues counted, and shown.
const ISSUES_CONSIDERED: usize = 200;
const ISSUES_SHOWN: usize = 10;

/// Field names offered in the query box, with what they match.
pub const FIELDS: &[(&str, &str)] = &[
    ("type", "exception type, e.g. type:KeyError"),
    ("message", "words of the message"),
    ("service", "service.name"),
    ("environment", "deployment environment"),
    ("release", "service.version"),
    ("route", "HTTP route, e.g. route:\"/checkout\""),
    ("method", "HTTP method"),
    ("status", "HTTP status, e.g. status:503"),
    ("level", "fatal, error, warning, info, debug"),
    ("source", "span_exception, span_status, http_server_error, log, sentry"),
    ("host", "host.name"),
    ("trace_id", "the trace of the event"),
    ("span", "span name"),
    ("stacktrace", "words of the stack trace"),
    ("user.id", "any attribute by its name"),
];

/// Queries shown as examples; clicking one fills the box.
pub const EXAMPLES: &[(&str, &str)] = &[
    ("type:KeyError service:checkout", "both must match"),
    ("type:TimeoutError OR type:ConnectionError", "either"),
    ("level:error -source:log", "minus excludes"),
    ("route:\"/checkout\" AND status:503", "quote values with / or spaces"),
    ("\"connection refused\"", "a phrase anywhere in message or trace"),
    ("(environment:production OR environment:staging) AND -release:1.4.0", "groups and negation"),
];

#[derive(Debug, Default, Deserialize)]
pub struct Params {
    #[serde(default)]
    q: String,
    period: Option<String>,
    cursor: Option<u64>,
}

pub struct Hit {
    pub event: ErrorEvent,
    pub when: String,
    pub when_exact: String,
    pub link: String,
}

pub struct IssueCount {
    pub group: Group,
    pub count: u64,
    pub users: u64,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    chrome: Chrome,
    q: String,
    period: Period,
    periods: &'static [(&'static str, &'static str, i64)],
    fields: &'static [(&'static str, &'static str)],
    examples: &'static [(&'static str, &'static str)],
    total: usize,
    histogram: String,
    issues: Vec<IssueCount>,
    hits: Vec<Hit>,
    next_url: Option<String>,
    error: Option<String>,
}

struct Found {
    total: usize,
    events: Vec<ErrorEvent>,
    next: Option<u64>,
    issues: Vec<IssueCount>,
    histogram: Vec<(i64, u64)>,
}

pub async fn page(State(api): State<Api>, Query(params): Query<Params>, token: CsrfToken) -> Response {
    let period = Period::parse(params.period.as_deref());
    let q = params.q.trim().to_string();
    let now = now_nanos();
    let (from, to) = period.range(now, HISTOGRAM_BUCKETS);
    let request = SearchRequest {
        query: q.clone(),
        from: Some(from),
        to: Some(to),
        limit: PAGE,
        before_seq: params.cursor,
    };
    let storage = api.storage.clone();
    let step = period.step(HISTOGRAM_BUCKETS);
    let found = blocking(move || {
        storage.validate_query(&request.query)?;
        let (page, events) = storage.search(&request)?;
        // The busiest issues among the matches, counted over all of them.
        let ids: Vec<u64> = storage.groups_matching(&request.query, ISSUES_CONSIDERED)?.into_iter().collect();
        let activity = storage.group_activity(&ids, &request.query, from, to, step, &[])?;
        let mut issues = Vec::new();
        for (id, a) in activity {
            if let Some(g) = storage.group(id)? {
                issues.push(IssueCount { group: g, count: a.count, users: a.users });
            }
        }
        issues.sort_by(|a, b| b.count.cmp(&a.count).then(b.group.last_seen.cmp(&a.group.last_seen)));
        issues.truncate(ISSUES_SHOWN);
        let histogram = storage.event_histogram(&request.query, from, to, step)?;
        Ok(Found { total: page.total, events, next: page.next_cursor, issues, histogram })
    })
    .await;
    let (found, error) = match found {
        Ok(f) => (f, None),
        Err(e) => match e.invalid_query() {
            Some(message) => (Found::empty(), Some(message)),
            None => return failed(&e, &token),
        },
    };
    let page = build(found, q, period, error, now, &token);
    render(if page.error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK }, &page, &token)
}

impl Found {
    fn empty() -> Found {
        Found { total: 0, events: Vec::new(), next: None, issues: Vec::new(), histogram: Vec::new() }
    }
}

fn build(
    found: Found,
    q: String,
    period: Period,
    error: Option<String>,
    now: i64,
    token: &CsrfToken,
) -> SearchPage {
    let issues = found.issues;
    let hits = found
        .events
        .into_iter()
        .map(|e| Hit {
            when: format::relative(e.timestamp, now),
            when_exact: format::exact(e.timestamp),
            link: format!("/issues/{}?event={}", e.group_id, e.seq),
            event: e,
        })
        .collect();
    let next_url = found.next.map(|c| {
        format!("/search{}", query_string(&[("q", &q), ("period", period.key), ("cursor", &c.to_string())]))
    });
    let histogram = charts::bar_chart(&found.histogram, period.step_nanos(HISTOGRAM_BUCKETS), &[]);
    SearchPage {
        chrome: Chrome::new(
            if q.is_empty() { "Search".to_string() } else { format!("Search: {q}") },
            Section::Search,
            token,
        ),
        q,
        period,
        periods: CHOICES,
        fields: FIELDS,
        examples: EXAMPLES,
        total: found.total,
        histogram,
        issues,
        hits,
        next_url,
        error,
    }
}
