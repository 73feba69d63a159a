//! Request figures from spans: one [`HealthSample`] per request span
//! ([`span_samples`]), or the same requests folded straight into
//! per-endpoint, per-slot buckets ([`span_buckets`]) as the ingest path does.

use std::borrow::Cow;
use std::collections::HashMap;

use faultline_model::{HealthBucket, HealthKey, HealthSample, Outcome, UnixNanos};
use foldhash::fast::RandomState;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{span::SpanKind, status::StatusCode, Span, SpanFlags};

use super::{outcome, resource_names_ref, text_ref, MAX_KEY_PART_LEN};
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
    for_each_request(req, |request| {
        samples.push(HealthSample {
            key: request.key.to_owned_key(),
            at: request.at,
            duration_ms: request.duration_ms,
            outcome: request.outcome,
        });
    });
    samples
}

/// The requests of [`span_samples`] folded into one bucket per endpoint and
/// `slot` (the store's minute of the end time), in the order each
/// (endpoint, slot) was first seen. Keys borrow the request's strings while
/// folding, so a request of an endpoint already seen allocates nothing; only
/// each distinct key is copied, once, at the end.
pub fn span_buckets(
    req: &ExportTraceServiceRequest,
    slot: impl Fn(UnixNanos) -> u64,
) -> Vec<(HealthKey, u64, HealthBucket)> {
    let mut index: HashMap<(KeyRef<'_>, u64), usize, RandomState> = HashMap::default();
    let mut buckets: Vec<HealthBucket> = Vec::new();
    for_each_request(req, |request| {
        let at = slot(request.at);
        let position = *index.entry((request.key, at)).or_insert_with(|| {
            buckets.push(HealthBucket::default());
            buckets.len() - 1
        });
        if let Some(bucket) = buckets.get_mut(position) {
            // What `HealthBucket::add` does with a sample, without building one.
            bucket.record(request.outcome, 1);
            bucket.latency.add(request.duration_ms);
        }
    });
    let mut keys: Vec<Option<(HealthKey, u64)>> = vec![None; buckets.len()];
    for ((key, at), position) in index {
        if let Some(entry) = keys.get_mut(position) {
            *entry = Some((key.to_owned_key(), at));
        }
    }
    keys.into_iter().zip(buckets).filter_map(|(key, bucket)| key.map(|(key, at)| (key, at, bucket))).collect()
}

/// A [`HealthKey`] borrowing from the request: strings are copied only when
/// cut to [`MAX_KEY_PART_LEN`] or converted from a number or boolean.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct KeyRef<'a> {
    service: Cow<'a, str>,
    environment: Cow<'a, str>,
    route: Cow<'a, str>,
    method: Cow<'a, str>,
}

impl KeyRef<'_> {
    fn to_owned_key(&self) -> HealthKey {
        HealthKey {
            service: self.service.clone().into_owned(),
            environment: self.environment.clone().into_owned(),
            route: self.route.clone().into_owned(),
            method: self.method.clone().into_owned(),
        }
    }
}

/// One request span, read but not copied.
struct Request<'a> {
    key: KeyRef<'a>,
    at: UnixNanos,
    duration_ms: f64,
    outcome: Outcome,
}

/// Calls `each` with every request span of `req` (see [`span_samples`]).
fn for_each_request<'a>(req: &'a ExportTraceServiceRequest, mut each: impl FnMut(Request<'a>)) {
    for resource_spans in &req.resource_spans {
        // Read once per resource, and only if one of its spans is a request.
        let mut names: Option<(Cow<'a, str>, Cow<'a, str>)> = None;
        for span in resource_spans.scope_spans.iter().flat_map(|scope| &scope.spans) {
            if !is_request(span) {
                continue;
            }
            let Some((at, duration_ms)) = timing(span) else { continue };
            let (service, environment) =
                names.get_or_insert_with(|| resource_names_ref(resource_spans.resource.as_ref())).clone();
            let key = KeyRef { service, environment, route: route(span), method: method(span) };
            each(Request { key, at, duration_ms, outcome: span_outcome(span) });
        }
    }
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
fn route(span: &Span) -> Cow<'_, str> {
    text_ref(&span.attributes, semconv::HTTP_ROUTE).unwrap_or_else(|| {
        if span.name.len() <= MAX_KEY_PART_LEN {
            Cow::Borrowed(span.name.as_str())
        } else {
            Cow::Owned(truncate(&span.name, MAX_KEY_PART_LEN))
        }
    })
}

fn method(span: &Span) -> Cow<'_, str> {
    text_ref(&span.attributes, semconv::HTTP_METHOD).unwrap_or_default()
}

fn span_outcome(span: &Span) -> Outcome {
    let failed = span.status.as_ref().is_some_and(|status| status.code == StatusCode::Error as i32);
    outcome(&span.attributes, failed)
}

#[cfg(test)]
mod tests;
