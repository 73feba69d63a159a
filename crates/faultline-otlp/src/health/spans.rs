//! One health sample per request span.

use faultline_model::{HealthKey, HealthSample, Outcome, UnixNanos};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{span::SpanKind, status::StatusCode, Span, SpanFlags};

use super::{outcome, resource_names, text};
use crate::limits::truncate;
use crate::semconv;

/// Longest span counted as a request (one day). Longer ones are clock jumps
/// or spans an SDK closed at shutdown, and one of them would own the p99 of
/// its endpoint for a whole rollup.
pub const MAX_REQUEST_DURATION_NANOS: u64 = 24 * 60 * 60 * 1_000_000_000;

/// One sample per request an export describes:
///
/// - every SERVER span;
/// - every root span (no parent, or an all-zero parent id) that is not a
///   SERVER span: a job, a consumer, a script;
/// - every CONSUMER span whose parent is flagged remote (OTLP 1.4 span flags):
///   a message handler continuing the producer's trace is also where work
///   enters the service, it just is not a root;
///
/// and nothing for INTERNAL, CLIENT or PRODUCER spans below those.
///
/// The key is `service.name` (default `unknown_service`) and the environment
/// (`deployment.environment.name` / `deployment.environment`, else "") of the
/// resource, `http.route` (else the span name) and `http.request.method` /
/// `http.method` (else ""). The outcome is [`Outcome::ServerError`] for
/// status ERROR or HTTP ≥ 500, [`Outcome::ClientError`] for HTTP 4xx, else
/// [`Outcome::Ok`]. `at` is the end time. Spans without both times, ending
/// before they start or longer than [`MAX_REQUEST_DURATION_NANOS`] are skipped.
pub fn span_samples(req: &ExportTraceServiceRequest) -> Vec<HealthSample> {
    let mut samples = Vec::new();
    for resource_spans in &req.resource_spans {
        // Read once per resource, and only if one of its spans is a request.
        let mut names: Option<(String, String)> = None;
        for span in resource_spans.scope_spans.iter().flat_map(|scope| &scope.spans) {
            if !is_request(span) {
                continue;
            }
            let Some((at, duration_ms)) = timing(span) else { continue };
            let (service, environment) =
                names.get_or_insert_with(|| resource_names(resource_spans.resource.as_ref())).clone();
            let key = HealthKey { service, environment, route: route(span), method: method(span) };
            samples.push(HealthSample { key, at, duration_ms, outcome: span_outcome(span) });
        }
    }
    samples
}

fn is_request(span: &Span) -> bool {
    span.kind == SpanKind::Server as i32
        || !has_parent(span)
        || (span.kind == SpanKind::Consumer as i32 && parent_is_remote(span))
}

/// OTLP says an empty parent id means a root span; some SDKs send eight zero
/// bytes instead, which is no valid span id either.
fn has_parent(span: &Span) -> bool {
    span.parent_span_id.iter().any(|byte| *byte != 0)
}

/// Only true when the SDK says it knows (`HAS_IS_REMOTE`) and the answer is yes.
fn parent_is_remote(span: &Span) -> bool {
    let known = SpanFlags::ContextHasIsRemoteMask as u32;
    let remote = SpanFlags::ContextIsRemoteMask as u32;
    span.flags & known != 0 && span.flags & remote != 0
}

/// End time and duration in milliseconds, or `None` when the times are
/// missing (OTLP's 0), reversed or absurd.
fn timing(span: &Span) -> Option<(UnixNanos, f64)> {
    let (start, end) = (span.start_time_unix_nano, span.end_time_unix_nano);
    if start == 0 || end == 0 {
        return None;
    }
    let duration = end.checked_sub(start).filter(|d| *d <= MAX_REQUEST_DURATION_NANOS)?;
    let at = UnixNanos::try_from(end).ok()?;
    Some((at, duration as f64 / 1e6))
}

/// `http.route`, else the span name, which instrumentations without a
/// route template set to something like `GET` or `process orders`.
fn route(span: &Span) -> String {
    text(&span.attributes, semconv::HTTP_ROUTE)
        .unwrap_or_else(|| truncate(&span.name, super::MAX_KEY_PART_LEN))
}

fn method(span: &Span) -> String {
    text(&span.attributes, semconv::HTTP_METHOD).unwrap_or_default()
}

fn span_outcome(span: &Span) -> Outcome {
    let failed = span.status.as_ref().is_some_and(|status| status.code == StatusCode::Error as i32);
    outcome(&span.attributes, failed)
}

#[cfg(test)]
mod tests;
