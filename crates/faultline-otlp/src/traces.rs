//! Error events from spans: exception events, ERROR status, HTTP 5xx answers.

use faultline_model::{Attributes, EventSource, Level, UnixNanos};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{
    span::{Event, SpanKind},
    status::StatusCode,
    Span,
};

use crate::attributes::{find_raw, first_text, http_status, to_attributes};
use crate::event::{first_time, hex_id, non_empty, Draft};
use crate::limits::Limits;
use crate::rejection::{quoted, Rejections};
use crate::resource::ResourceInfo;
use crate::semconv::{self, Exception, Http};
use crate::Extraction;

/// Level of every span-derived event. Spans have no severity of their own;
/// each rule that makes an event of a span (an exception, status ERROR, a
/// 5xx answer) means the operation failed, which is an error.
const SPAN_LEVEL: Level = Level::Error;

/// Extracts the error events of every span in an export. Spans over the
/// limits are rejected whole and reported, never half-stored.
pub fn extract_traces(
    req: &ExportTraceServiceRequest,
    limits: &Limits,
    received_at: UnixNanos,
) -> Extraction {
    let mut extraction = Extraction::default();
    let mut rejections = Rejections::new("span", "spans");
    for resource_spans in &req.resource_spans {
        // Read lazily: most exports hold no error at all.
        let mut resource: Option<ResourceInfo> = None;
        for span in resource_spans.scope_spans.iter().flat_map(|scope| &scope.spans) {
            extraction.items += 1;
            if let Err(reason) = check_limits(span, limits) {
                rejections.reject(reason.to_string());
                continue;
            }
            let drafts = span_errors(span, limits, received_at);
            if drafts.is_empty() {
                continue;
            }
            let resource =
                resource.get_or_insert_with(|| ResourceInfo::new(resource_spans.resource.as_ref(), limits));
            extraction.events.extend(drafts.into_iter().map(|draft| draft.into_event(resource, received_at)));
        }
    }
    extraction.rejected = rejections.count();
    extraction.error_message = rejections.message();
    extraction
}

/// Why a span is rejected whole. The text is the reason listed in the
/// export's `partial_success` message, which clients show and tests pin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum OverLimit {
    /// `name` is already shortened and quoted (see [`quoted`]).
    #[error("span {name} has {count} events, the limit is {limit}")]
    Events { name: String, count: usize, limit: usize },
    #[error("span {name} has {count} attributes, the limit is {limit}")]
    Attributes { name: String, count: usize, limit: usize },
}

/// Why a span must be rejected, if it must: too many events, or too many
/// attributes counting its own and all its events'.
fn check_limits(span: &Span, limits: &Limits) -> Result<(), OverLimit> {
    if span.events.len() > limits.max_span_events {
        return Err(OverLimit::Events {
            name: quoted(&span.name),
            count: span.events.len(),
            limit: limits.max_span_events,
        });
    }
    let attributes = span
        .events
        .iter()
        .fold(span.attributes.len(), |sum, event| sum.saturating_add(event.attributes.len()));
    if attributes > limits.max_attributes {
        return Err(OverLimit::Attributes {
            name: quoted(&span.name),
            count: attributes,
            limit: limits.max_attributes,
        });
    }
    Ok(())
}

/// The drafts one span yields, by the first rule that applies: one per
/// exception event, else one for an ERROR status, else one for a SERVER span
/// that answered 5xx, else none.
fn span_errors(span: &Span, limits: &Limits, received_at: UnixNanos) -> Vec<Draft> {
    let exceptions: Vec<&Event> = span.events.iter().filter(|e| e.name == semconv::EXCEPTION_EVENT).collect();
    let status_error = span.status.as_ref().is_some_and(|s| s.code == StatusCode::Error as i32);
    let server_error = server_error_status(span, limits);
    if exceptions.is_empty() && !status_error && server_error.is_none() {
        return Vec::new();
    }
    let span_attrs = to_attributes(&span.attributes, limits.max_string_len);
    if !exceptions.is_empty() {
        return exceptions
            .into_iter()
            .map(|event| exception_draft(span, event, &span_attrs, limits, received_at))
            .collect();
    }
    let mut draft = span_draft(span, EventSource::SpanStatus, span_attrs, limits, received_at);
    match server_error {
        Some(status) if !status_error => mark_http_error(&mut draft, span, status, limits),
        _ => mark_status_error(&mut draft, span, limits),
    }
    vec![draft]
}

/// The HTTP status of a SERVER span when it is 500 or more. Looked up on the
/// raw attributes so that healthy spans are never converted.
fn server_error_status(span: &Span, limits: &Limits) -> Option<u16> {
    if span.kind != SpanKind::Server as i32 {
        return None;
    }
    semconv::HTTP_STATUS
        .iter()
        .find_map(|key| find_raw(&span.attributes, key, limits.max_string_len).as_ref().and_then(http_status))
        .filter(|status| *status >= 500)
}

/// The fields every span-derived event shares, read from `attributes`.
fn span_draft(
    span: &Span,
    source: EventSource,
    attributes: Attributes,
    limits: &Limits,
    received_at: UnixNanos,
) -> Draft {
    Draft {
        source,
        timestamp: first_time(&[span.end_time_unix_nano, span.start_time_unix_nano], received_at),
        level: SPAN_LEVEL,
        trace_id: hex_id(&span.trace_id),
        span_id: hex_id(&span.span_id),
        span_name: non_empty(limits.truncate(&span.name)),
        exception: Exception::from_attributes(&attributes),
        http: Http::from_attributes(&attributes),
        attributes,
    }
}

/// Rule 1: an `exception` span event. Its attributes are merged over the
/// span's, so the event keeps the span's context (route, user, …) too.
fn exception_draft(
    span: &Span,
    event: &Event,
    span_attrs: &Attributes,
    limits: &Limits,
    received_at: UnixNanos,
) -> Draft {
    let mut attributes = span_attrs.clone();
    attributes.extend(to_attributes(&event.attributes, limits.max_string_len));
    let mut draft = span_draft(span, EventSource::SpanException, attributes, limits, received_at);
    draft.timestamp =
        first_time(&[event.time_unix_nano, span.end_time_unix_nano, span.start_time_unix_nano], received_at);
    draft
}

/// Rule 2: status ERROR without an exception event. The status message is the
/// best description; `error.type` (newer instrumentations) stands in for a type.
fn mark_status_error(draft: &mut Draft, span: &Span, limits: &Limits) {
    draft.source = EventSource::SpanStatus;
    draft.exception.exception_type =
        first_text(&draft.attributes, &[semconv::EXCEPTION_TYPE, semconv::ERROR_TYPE]);
    let status_message = span.status.as_ref().map(|s| limits.truncate(&s.message)).and_then(non_empty);
    if status_message.is_some() {
        draft.exception.message = status_message;
    }
}

/// Rule 3: a SERVER span that answered 5xx with neither of the above.
fn mark_http_error(draft: &mut Draft, span: &Span, status: u16, limits: &Limits) {
    draft.source = EventSource::HttpServerError;
    draft.http.status = Some(status);
    draft.exception.exception_type = Some(format!("HTTP {status}"));
    draft.exception.message = Some(limits.truncate(&http_message(&draft.http, &span.name, status)));
}

/// `GET /users/{id} returned 503`; the span name stands in for a missing
/// route, without repeating the method it often starts with.
fn http_message(http: &Http, span_name: &str, status: u16) -> String {
    let target = http.route.as_deref().unwrap_or(span_name);
    let method = http.method.as_deref().filter(|m| !target.starts_with(&format!("{m} ")));
    match (method, target.is_empty()) {
        (Some(method), false) => format!("{method} {target} returned {status}"),
        (Some(method), true) => format!("{method} request returned {status}"),
        (None, false) => format!("{target} returned {status}"),
        (None, true) => format!("request returned {status}"),
    }
}

#[cfg(test)]
mod tests;
