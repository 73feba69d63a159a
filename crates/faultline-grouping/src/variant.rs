//! The fallback chain of grouping variants and the components each hashes.
//!
//! A variant is a list of strings that identify the error; the fingerprint
//! is a digest of the method name, the service and those strings. Which
//! variant applies is decided once per event, first match wins:
//! HTTP 5xx server span → stack trace → message → route.

use faultline_model::{ErrorEvent, EventSource};

use crate::fingerprint::digest;
use crate::locate::{culprit_frame, grouping_key};
use crate::normalize::parameterize_message;
use crate::stacktrace::{Exception, Trace};

mod v1;

/// How a fingerprint was made; stored as `Grouping::method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// From an `error.fingerprint` / `faultline.fingerprint` attribute.
    Custom,
    /// Exception type and the frame locating the root cause.
    Stacktrace,
    /// Exception type and the parameterized message.
    Message,
    /// HTTP status, method and route (or span name).
    Route,
}

impl Method {
    /// The name stored with the group.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Custom => "custom",
            Method::Stacktrace => "stacktrace",
            Method::Message => "message",
            Method::Route => "route",
        }
    }
}

/// What one variant hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Variant {
    pub(crate) method: Method,
    pub(crate) components: Vec<String>,
}

impl Variant {
    /// The digest of method, service and components: the same error in two
    /// services gives two fingerprints, and two variants never collide.
    pub(crate) fn fingerprint(&self, service: &str) -> String {
        let mut parts: Vec<&str> = vec![self.method.as_str(), service];
        parts.extend(self.components.iter().map(String::as_str));
        digest(&parts)
    }
}

/// The first variant of the fallback chain that applies to the event.
pub(crate) fn default_variant(event: &ErrorEvent, trace: &Trace) -> Variant {
    chain(event, trace, stacktrace)
}

/// What [`default_variant`] was in grouping version 1, which differs only
/// in the stack-trace variant (see [`v1`]); kept so an upgraded server can
/// still find the groups version 1 made.
pub(crate) fn default_variant_v1(event: &ErrorEvent, trace: &Trace) -> Variant {
    chain(event, trace, v1::stacktrace)
}

type StacktraceVariant = fn(&ErrorEvent, &Trace) -> Option<Variant>;

fn chain(event: &ErrorEvent, trace: &Trace, stacktrace: StacktraceVariant) -> Variant {
    http_server_error(event)
        .or_else(|| stacktrace(event, trace))
        .or_else(|| message(event, trace))
        .unwrap_or_else(|| route(event))
}

/// `Some(text)` when the option holds something other than whitespace.
pub(crate) fn present(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// A 5xx SERVER span without an exception: the extractor already set a type
/// such as `HTTP 503`; group by that, the HTTP method and the route.
fn http_server_error(event: &ErrorEvent) -> Option<Variant> {
    (event.source == EventSource::HttpServerError).then(|| route(event))
}

/// Exception type plus the frame that locates the failure (see
/// [`crate::locate`]): the application's function nearest the raise site
/// of the root cause. Python prints the root cause first and Java last,
/// but the parsed chain is normalized to root cause last, so both group by
/// the exception that actually failed (what Sentry calls the main exception
/// of a chain): wrapping it in another exception type somewhere up the
/// stack does not split the issue. Only the one frame counts, so neither
/// the entry point that reached the failure nor recursion depth splits it.
/// The type is the root cause's as printed, else the event's
/// `exception.type` (Go and Rust print none).
fn stacktrace(event: &ErrorEvent, trace: &Trace) -> Option<Variant> {
    let root = trace.root_cause()?;
    let key = culprit_frame(trace).map(|frame| grouping_key(trace, frame))?;
    if key == "|" {
        return None;
    }
    Some(Variant {
        method: Method::Stacktrace,
        components: vec![exception_type(event, root).to_string(), key],
    })
}

/// The root cause's type as printed, else the event's `exception.type`.
fn exception_type<'a>(event: &'a ErrorEvent, root: &'a Exception) -> &'a str {
    present(root.exception_type.as_deref())
        .or_else(|| present(event.exception_type.as_deref()))
        .unwrap_or_default()
}

/// Exception type plus the parameterized message, when no frames could be
/// read. Either may come from the event or from the trace's header; a trace
/// that is neither (unparseable text) contributes its first line.
fn message(event: &ErrorEvent, trace: &Trace) -> Option<Variant> {
    let outermost = trace.outermost();
    let exception_type = present(event.exception_type.as_deref())
        .or_else(|| present(outermost.and_then(|e| e.exception_type.as_deref())));
    let text = present(event.message.as_deref())
        .or_else(|| present(outermost.and_then(|e| e.message.as_deref())))
        .or_else(|| first_line(event.stacktrace.as_deref()));
    if exception_type.is_none() && text.is_none() {
        return None;
    }
    Some(Variant {
        method: Method::Message,
        components: vec![
            exception_type.unwrap_or_default().to_string(),
            parameterize_message(text.unwrap_or_default()),
        ],
    })
}

fn first_line(text: Option<&str>) -> Option<&str> {
    text?.lines().map(str::trim).find(|line| !line.is_empty())
}

/// Status, HTTP method and route (or span name): for events that carry
/// nothing more specific.
fn route(event: &ErrorEvent) -> Variant {
    let status = present(event.exception_type.as_deref())
        .map(str::to_string)
        .or_else(|| event.http_status.map(|s| format!("HTTP {s}")))
        .unwrap_or_default();
    Variant {
        method: Method::Route,
        components: vec![
            status,
            present(event.http_method.as_deref()).unwrap_or_default().to_ascii_uppercase(),
            route_or_span(event).unwrap_or_default().to_string(),
        ],
    }
}

/// The route template when the span has one, else the span name.
pub(crate) fn route_or_span(event: &ErrorEvent) -> Option<&str> {
    present(event.http_route.as_deref()).or_else(|| present(event.span_name.as_deref()))
}
