//! Spans a Sentry SDK streams instead of sending transactions: `span`
//! items (`application/vnd.sentry.items.span.v2+json`, `{"version": 2,
//! "items": [...]}`), what `@sentry/node` 11 sends by default
//! (`traceLifecycle: 'stream'`). A segment span (`is_segment: true`) is
//! the root of the work done for one request, what a transaction is: it
//! counts as one request for API health, keyed and classified as
//! [`crate::transaction_sample`] does a transaction. Child spans are not
//! requests and are not counted.
//!
//! A span's attributes are `{"value": ..., "type": ...}` objects:
//! `http.request.method`, `http.response.status_code`,
//! `sentry.environment`; `status` is `ok` or `error`, with the reason in
//! `sentry.status.message` (`internal_error`, `not_found`, ...).

use faultline_model::{HealthKey, HealthSample, Outcome};
use serde_json::{Map, Value};

use crate::convert::{timestamp, Project};
use crate::fields::{object, scalar, text, values};
use crate::transaction::{cut, split_method, MAX_DURATION_NANOS};

/// Span statuses that say the caller erred, so an `error` span with one
/// of them is not the service failing (its HTTP status, if any, decides).
const CLIENT_STATUSES: [&str; 9] = [
    "cancelled",
    "invalid_argument",
    "not_found",
    "already_exists",
    "permission_denied",
    "resource_exhausted",
    "failed_precondition",
    "out_of_range",
    "unauthenticated",
];

/// A `span` item whose payload is not a span container.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the span item is not a JSON object with \"items\": {0}")]
pub struct SpanItemError(String);

/// The requests of one `span` item: one per segment span with sane times.
pub fn streamed_span_samples(payload: &[u8], project: &Project) -> Result<Vec<HealthSample>, SpanItemError> {
    let container: Value = serde_json::from_slice(payload).map_err(|e| SpanItemError(e.to_string()))?;
    let Some(container) = container.as_object().filter(|c| c.get("items").is_some_and(Value::is_array))
    else {
        return Err(SpanItemError("no items list".into()));
    };
    Ok(values(container, "items")
        .iter()
        .filter_map(Value::as_object)
        .filter_map(|s| sample(s, project))
        .collect())
}

fn sample(span: &Map<String, Value>, project: &Project) -> Option<HealthSample> {
    if span.get("is_segment").and_then(Value::as_bool) != Some(true) {
        return None;
    }
    let end = span.get("end_timestamp").and_then(timestamp)?;
    let start = span.get("start_timestamp").and_then(timestamp)?;
    let duration = end.checked_sub(start).filter(|d| (0..=MAX_DURATION_NANOS).contains(d))?;
    let attributes = object(span, "attributes");
    let attribute = |name: &str| attributes.and_then(|a| a.get(name)).map(unwrap_value).and_then(scalar);
    let name = text(span, "name").unwrap_or("");
    let (method, route) = match split_method(name) {
        Some((method, route)) => (method.to_string(), route),
        None => (
            attribute("http.request.method").map(|m| m.trim().to_ascii_uppercase()).unwrap_or_default(),
            name,
        ),
    };
    let environment =
        attribute("sentry.environment").or_else(|| project.environment.clone()).unwrap_or_default();
    let key = HealthKey {
        service: project.service.clone(),
        environment: cut(&environment),
        route: cut(route),
        method: cut(&method),
    };
    let reason = attribute("sentry.status.message");
    let failed = text(span, "status") == Some("error")
        && !reason.as_deref().is_some_and(|r| CLIENT_STATUSES.contains(&r));
    let http_status = attribute("http.response.status_code")
        .and_then(|s| s.trim().parse::<u16>().ok())
        .filter(|s| (100..600).contains(s));
    Some(HealthSample {
        key,
        at: end,
        duration_ms: duration as f64 / 1e6,
        outcome: Outcome::classify(failed, http_status),
    })
}

/// `{"value": 200, "type": "integer"}` → `200`; a bare value as it is.
fn unwrap_value(value: &Value) -> &Value {
    value.as_object().and_then(|v| v.get("value")).unwrap_or(value)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{parse_envelope, ItemKind};

    /// Three `GET /orders/:id` requests (200, 404, 500), each with a
    /// `db.query` child, as @sentry/node 11.12.0 streamed them.
    const NODE_SPANS: &[u8] = include_bytes!("../tests/fixtures/node_spans.envelope");

    fn project() -> Project {
        Project { service: "shop-node".into(), environment: Some("prod".into()) }
    }

    #[test]
    fn segments_from_sentry_node_are_requests() {
        let envelope = parse_envelope(NODE_SPANS).unwrap();
        let item = envelope.items.iter().find(|i| i.kind == ItemKind::Other("span".into())).unwrap();
        let samples = streamed_span_samples(&item.payload, &project()).unwrap();
        assert_eq!(samples.len(), 3, "the children are not requests");
        for sample in &samples {
            assert_eq!(sample.key.service, "shop-node");
            assert_eq!(sample.key.environment, "staging", "the span's environment wins");
            assert_eq!((sample.key.method.as_str(), sample.key.route.as_str()), ("GET", "/orders/:id"));
            assert!(sample.duration_ms > 0.0 && sample.duration_ms < 10_000.0, "{sample:?}");
        }
        let outcomes: Vec<Outcome> = samples.iter().map(|s| s.outcome).collect();
        assert_eq!(outcomes, [Outcome::Ok, Outcome::ClientError, Outcome::ServerError]);
    }

    #[test]
    fn statuses_names_and_bad_payloads() {
        let span = |status: &str, reason: Option<&str>, name: &str| {
            let mut attributes = json!({"http.request.method": {"value": "post", "type": "string"}});
            if let Some(reason) = reason {
                attributes["sentry.status.message"] = json!({"value": reason, "type": "string"});
            }
            let payload = json!({"version": 2, "items": [{"name": name, "is_segment": true, "status": status,
                "start_timestamp": 100.0, "end_timestamp": 100.25, "attributes": attributes}]});
            streamed_span_samples(payload.to_string().as_bytes(), &project()).unwrap()
        };
        let one = span("error", Some("deadline_exceeded"), "/checkout");
        assert_eq!(one[0].outcome, Outcome::ServerError);
        assert_eq!((one[0].key.method.as_str(), one[0].key.route.as_str()), ("POST", "/checkout"));
        assert_eq!(one[0].key.environment, "prod", "the project's when the span names none");
        assert!((one[0].duration_ms - 250.0).abs() < 1e-6);
        assert_eq!(span("error", Some("not_found"), "/checkout")[0].outcome, Outcome::Ok);
        assert_eq!(span("error", None, "nightly-report")[0].outcome, Outcome::ServerError);
        assert_eq!(span("ok", None, "/checkout")[0].outcome, Outcome::Ok);
        for bad in [&b"[]"[..], b"{}", b"{\"items\": 3}", b"not json"] {
            assert!(streamed_span_samples(bad, &project()).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        let backwards = json!({"items": [{"is_segment": true, "start_timestamp": 5, "end_timestamp": 4}, {"is_segment": false}]});
        assert_eq!(streamed_span_samples(backwards.to_string().as_bytes(), &project()).unwrap(), []);
    }
}
