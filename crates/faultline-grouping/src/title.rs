//! Issue titles and culprits, named the way Sentry names them.
//!
//! The title says *what* failed (`ValueError: invalid literal for int()`),
//! the culprit *where* (`app.orders in parse_quantity`). Both are for
//! people and not part of the fingerprint. A group is named by its first
//! event, so the title shows the message parameterized (`cart <num> is
//! locked`): the issue then reads the same whichever of its events came
//! first, and the store keeps the latest raw message beside it.

use faultline_model::ErrorEvent;

use crate::code_location::code_frame;
use crate::limits::TITLE_CHARS;
use crate::locate::culprit_frame;
use crate::normalize::parameterize_message;
use crate::stacktrace::{Frame, Trace};
use crate::variant::{present, route_or_span};

/// Shown when an event carries nothing to name it by.
const UNKNOWN: &str = "Unknown error";

/// `Type: first line of message, parameterized`, cut to `TITLE_CHARS`
/// characters; the type alone without a message, the message alone without
/// a type, else the span name or route. The event's own type and message
/// come first (what the SDK reported, the outermost exception), then the
/// trace's header. Only the message is parameterized: the type names the
/// error (`HTTP 503` is one status, not a number that varies).
pub(crate) fn title(event: &ErrorEvent, trace: &Trace) -> String {
    let outermost = trace.outermost();
    let exception_type = present(event.exception_type.as_deref())
        .or_else(|| present(outermost.and_then(|e| e.exception_type.as_deref())));
    let message = present(event.message.as_deref())
        .or_else(|| present(outermost.and_then(|e| e.message.as_deref())))
        .and_then(|m| m.lines().map(str::trim).find(|l| !l.is_empty()))
        .map(parameterize_message);
    let message = message.as_deref();
    let text = match (exception_type, message) {
        // Node's `err.code` as the type (`ENOENT`) already heads its message.
        (Some(t), Some(m)) if repeats_type(t, m) => m.to_string(),
        (Some(t), Some(m)) => format!("{t}: {m}"),
        (Some(t), None) => t.to_string(),
        (None, Some(m)) => m.to_string(),
        (None, None) => present(event.span_name.as_deref())
            .map(str::to_string)
            .or_else(|| route_label(event))
            .unwrap_or_else(|| UNKNOWN.to_string()),
    };
    cut(&text, TITLE_CHARS)
}

/// The message already starts with the type: `ENOENT: no such file…`.
fn repeats_type(exception_type: &str, message: &str) -> bool {
    message.strip_prefix(exception_type).is_some_and(|rest| rest.starts_with(':'))
}

/// `module in function` of the frame locating the root cause (its top
/// in-app frame, see [`crate::locate`]); else of the place the `code.*`
/// attributes name (error logs without a traceback); else `METHOD /route`,
/// the route or the span name; else the logger's name (a log record's
/// instrumentation scope); else empty.
pub(crate) fn culprit(event: &ErrorEvent, trace: &Trace) -> String {
    let text = culprit_frame(trace)
        .map(describe)
        .or_else(|| code_frame(event).as_ref().map(describe).filter(|place| !place.is_empty()))
        .or_else(|| route_label(event))
        .or_else(|| present(event.span_name.as_deref()).map(str::to_string))
        .or_else(|| present(event.attribute_str(LOGGER_NAME)).map(str::to_string))
        .unwrap_or_default();
    cut(&text, TITLE_CHARS)
}

/// Where the log extractor keeps a record's instrumentation scope name,
/// which logging bridges set to the logger's name (`shop.payments`).
const LOGGER_NAME: &str = "otel.scope.name";

/// `app.orders in parse_quantity`; the module (or file) or the function
/// alone when the frame has only one.
fn describe(frame: &Frame) -> String {
    let place = frame.module.as_deref().or(frame.file.as_deref());
    match (place, frame.function.as_deref()) {
        (Some(place), Some(function)) => format!("{place} in {function}"),
        (Some(place), None) => place.to_string(),
        (None, Some(function)) => function.to_string(),
        (None, None) => String::new(),
    }
}

/// `GET /users/{id}`, or the route or span name alone without a method.
fn route_label(event: &ErrorEvent) -> Option<String> {
    let route = route_or_span(event)?;
    match present(event.http_method.as_deref()) {
        Some(method) => Some(format!("{} {route}", method.to_ascii_uppercase())),
        None => Some(route.to_string()),
    }
}

/// At most `max` characters, the last being `…` when the text was cut.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_counts_characters() {
        assert_eq!(cut("héllo", 10), "héllo");
        assert_eq!(cut("héllo", 3), "hé…");
        assert_eq!(cut(&"é".repeat(500), TITLE_CHARS).chars().count(), TITLE_CHARS);
    }
}
