//! A Sentry transaction as one request for API health, counted the way an
//! OTLP SERVER or root span is (`faultline_otlp::span_samples`): a
//! transaction is the root of the work a service did for one request or
//! job, its child spans are not requests.
//!
//! - service: the project's; environment: the transaction's, else the
//!   project's, else "";
//! - route and method: a name such as `GET /items/{id}` (what most
//!   integrations and `start_transaction(name=...)` send) is split into
//!   method `GET` and route `/items/{id}`, as OTLP keys an endpoint by
//!   `http.route` and method; a name without a method (`/items/<id>`,
//!   `nightly-report`) is the route, and the method comes from the
//!   request (`request.method`, the trace context's `http.request.method`
//!   / `http.method`, the `http.method` tag), else "";
//! - outcome: the HTTP status (`contexts.response.status_code`, the trace
//!   context's `http.response.status_code`, the `http.status_code` tag)
//!   classified as for spans, a server-side trace status
//!   (`internal_error`, `unavailable`, ...) counting as failed; client-side
//!   statuses (`not_found`, `permission_denied`, ...) alone do not;
//! - at: `timestamp` (the end); duration: `timestamp - start_timestamp`.
//!
//! Transactions without both times, ending before they start or longer
//! than a day are not counted, as for spans.

use faultline_model::{HealthKey, HealthSample, Outcome, UnixNanos};
use serde_json::{Map, Value};

use crate::convert::{timestamp, Project};
use crate::fields::{object, pairs, scalar, text};

/// Longest route or method kept, as for OTLP endpoints.
const MAX_KEY_PART_LEN: usize = 256;

/// Longest transaction counted as a request (one day), as for spans.
pub(crate) const MAX_DURATION_NANOS: i64 = 24 * 60 * 60 * 1_000_000_000;

const HTTP_METHODS: [&str; 9] =
    ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "CONNECT", "TRACE"];

/// Trace statuses that say the service itself failed (Sentry's span
/// statuses, after gRPC's codes); the others are `ok` or the caller's doing.
pub(crate) const SERVER_STATUSES: [&str; 8] = [
    "internal_error",
    "unknown",
    "unknown_error",
    "unavailable",
    "data_loss",
    "deadline_exceeded",
    "unimplemented",
    "aborted",
];

/// The request one transaction describes, `None` when its times are
/// missing or absurd.
pub fn transaction_sample(transaction: &Map<String, Value>, project: &Project) -> Option<HealthSample> {
    let (at, duration_ms) = timing(transaction)?;
    let trace = object(transaction, "contexts").and_then(|c| object(c, "trace"));
    let name = text(transaction, "transaction").unwrap_or("");
    let (method, route) = match split_method(name) {
        Some((method, route)) => (method.to_string(), route),
        None => (request_method(transaction, trace).unwrap_or_default(), name),
    };
    let environment = text(transaction, "environment")
        .map(str::to_string)
        .or_else(|| project.environment.clone())
        .unwrap_or_default();
    let key = HealthKey {
        service: project.service.clone(),
        environment: cut(&environment),
        route: cut(route),
        method: cut(&method),
    };
    Some(HealthSample { key, at, duration_ms, outcome: outcome(transaction, trace) })
}

/// End time and duration in milliseconds.
fn timing(transaction: &Map<String, Value>) -> Option<(UnixNanos, f64)> {
    let end = transaction.get("timestamp").and_then(timestamp)?;
    let start = transaction.get("start_timestamp").and_then(timestamp)?;
    let duration = end.checked_sub(start).filter(|d| (0..=MAX_DURATION_NANOS).contains(d))?;
    Some((end, duration as f64 / 1e6))
}

/// `GET /items/{id}` as (`GET`, `/items/{id}`); `None` unless the name
/// starts with an upper-case HTTP method and a space.
pub(crate) fn split_method(name: &str) -> Option<(&str, &str)> {
    let (method, route) = name.split_once(' ')?;
    let route = route.trim();
    (HTTP_METHODS.contains(&method) && !route.is_empty()).then_some((method, route))
}

fn request_method(transaction: &Map<String, Value>, trace: Option<&Map<String, Value>>) -> Option<String> {
    let from_request = object(transaction, "request").and_then(|r| text(r, "method")).map(str::to_string);
    let from_trace = || {
        let data = trace.and_then(|t| object(t, "data"))?;
        ["http.request.method", "http.method"].iter().find_map(|k| data.get(*k).and_then(scalar))
    };
    let from_tags = || tag(transaction, &["http.request.method", "http.method"]);
    from_request.or_else(from_trace).or_else(from_tags).map(|m| m.trim().to_ascii_uppercase())
}

fn outcome(transaction: &Map<String, Value>, trace: Option<&Map<String, Value>>) -> Outcome {
    let failed = trace.and_then(|t| text(t, "status")).is_some_and(|s| SERVER_STATUSES.contains(&s));
    Outcome::classify(failed, http_status(transaction, trace))
}

fn http_status(transaction: &Map<String, Value>, trace: Option<&Map<String, Value>>) -> Option<u16> {
    let response = object(transaction, "contexts")
        .and_then(|c| object(c, "response"))
        .and_then(|r| r.get("status_code"))
        .and_then(scalar);
    let from_trace = || {
        let data = trace.and_then(|t| object(t, "data"))?;
        data.get("http.response.status_code").and_then(scalar)
    };
    let from_tags = || tag(transaction, &["http.response.status_code", "http.status_code"]);
    response
        .or_else(from_trace)
        .or_else(from_tags)
        .and_then(|s| s.trim().parse::<u16>().ok())
        .filter(|s| (100..600).contains(s))
}

/// The first of `names` among the tags (an object or a list of pairs).
fn tag(transaction: &Map<String, Value>, names: &[&str]) -> Option<String> {
    let tags = pairs(transaction.get("tags"));
    names.iter().find_map(|name| tags.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
}

/// At most [`MAX_KEY_PART_LEN`] bytes, cut on a character boundary.
pub(crate) fn cut(text: &str) -> String {
    let mut end = text.len().min(MAX_KEY_PART_LEN);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

#[cfg(test)]
mod tests;
