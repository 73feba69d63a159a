//! Per-item limits that keep one export from flooding the store.

use faultline_model::ErrorEvent;
use serde::{Deserialize, Serialize};

/// Appended to every string that was cut short, so readers know text is missing.
pub const TRUNCATION_MARKER: &str = "…[truncated]";

/// Bounds applied to every span and log record during extraction.
///
/// Items over `max_attributes` or `max_span_events` are rejected (reported as
/// OTLP partial success); strings over `max_string_len` are only shortened,
/// because a long stack trace is still worth keeping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Attributes per item: a span's own plus those of all its events, or a
    /// log record's.
    pub max_attributes: usize,
    /// Bytes kept of any string value, message or stack trace.
    pub max_string_len: usize,
    /// Events per span.
    pub max_span_events: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_attributes: 128, max_string_len: 32 * 1024, max_span_events: 128 }
    }
}

impl Limits {
    /// Copies `text`, cut to `max_string_len` bytes as [`truncate`] does.
    pub fn truncate(&self, text: &str) -> String {
        truncate(text, self.max_string_len)
    }
}

/// Keeps at most `max_bytes` bytes of `text`, cut on a char boundary so no
/// UTF-8 character is split, and appends [`TRUNCATION_MARKER`] when anything
/// was dropped.
pub fn truncate(text: &str, max_bytes: usize) -> String {
    if text.len() <= max_bytes {
        return text.to_owned();
    }
    let cut = floor_char_boundary(text, max_bytes);
    let kept = text.get(..cut).unwrap_or_default();
    let mut out = String::with_capacity(cut + TRUNCATION_MARKER.len());
    out.push_str(kept);
    out.push_str(TRUNCATION_MARKER);
    out
}

/// The event attribute listing the fields of an event that were cut short
/// (`message`, `stacktrace`, `exception_type`, `span_name`,
/// `attributes.<key>`, `resource.<key>`), so a reader of the event knows
/// without looking for the marker.
pub const TRUNCATED_ATTRIBUTE: &str = "faultline.truncated";

/// Records on each event which of its fields [`truncate`] cut, as the
/// attribute [`TRUNCATED_ATTRIBUTE`]. Done once after extraction rather
/// than at every place that truncates: a cut string ends with the marker.
pub fn mark_truncated(events: &mut [ErrorEvent]) {
    for event in events {
        let fields = truncated_fields(event);
        if !fields.is_empty() {
            let list = fields.into_iter().map(serde_json::Value::String).collect();
            event.attributes.insert(TRUNCATED_ATTRIBUTE.to_string(), serde_json::Value::Array(list));
        }
    }
}

fn truncated_fields(event: &ErrorEvent) -> Vec<String> {
    let cut = |text: &Option<String>| text.as_deref().is_some_and(|t| t.ends_with(TRUNCATION_MARKER));
    let mut fields = Vec::new();
    for (name, value) in [
        ("message", &event.message),
        ("stacktrace", &event.stacktrace),
        ("exception_type", &event.exception_type),
        ("span_name", &event.span_name),
    ] {
        if cut(value) {
            fields.push(name.to_string());
        }
    }
    for (prefix, attributes) in [("attributes", &event.attributes), ("resource", &event.resource)] {
        for (key, value) in attributes {
            if value.as_str().is_some_and(|t| t.ends_with(TRUNCATION_MARKER)) {
                fields.push(format!("{prefix}.{key}"));
            }
        }
    }
    fields
}

/// The largest index `<= at` that starts a char (`str::floor_char_boundary`
/// is not stable on the project's minimum Rust).
fn floor_char_boundary(text: &str, at: usize) -> usize {
    let mut cut = at.min(text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_documented_values() {
        let limits = Limits::default();
        assert_eq!(limits.max_attributes, 128);
        assert_eq!(limits.max_string_len, 32 * 1024);
        assert_eq!(limits.max_span_events, 128);
    }

    #[test]
    fn short_strings_are_untouched() {
        assert_eq!(truncate("hello", 5), "hello");
        assert_eq!(truncate("", 0), "");
    }

    #[test]
    fn long_strings_get_the_marker() {
        assert_eq!(truncate("hello world", 5), format!("hello{TRUNCATION_MARKER}"));
        assert_eq!(truncate("abc", 0), TRUNCATION_MARKER);
    }

    #[test]
    fn never_splits_a_multibyte_char() {
        // "é" is 2 bytes, "€" 3, "🦀" 4: every cut inside one must back off.
        let text = "aé€🦀z";
        for max in 0..text.len() {
            let out = truncate(text, max);
            let kept = out.strip_suffix(TRUNCATION_MARKER).unwrap_or(&out);
            assert!(kept.len() <= max, "max {max}: kept {kept:?}");
            assert!(text.starts_with(kept));
        }
        assert_eq!(truncate(text, 2), format!("a{TRUNCATION_MARKER}"));
        assert_eq!(truncate(text, 3), format!("aé{TRUNCATION_MARKER}"));
        assert_eq!(truncate(text, 9), format!("aé€{TRUNCATION_MARKER}"));
    }

    #[test]
    fn truncated_fields_are_recorded_on_the_event() {
        let mut cut = ErrorEvent::blank("api", faultline_model::EventSource::Log, 0);
        cut.message = Some(truncate("a long message", 4));
        cut.stacktrace = Some(truncate("Traceback ...", 4));
        cut.attributes.insert("sql".into(), serde_json::Value::String(truncate("SELECT 1", 3)));
        let mut whole = ErrorEvent::blank("api", faultline_model::EventSource::Log, 0);
        whole.message = Some("short".into());
        let mut events = vec![cut, whole];
        mark_truncated(&mut events);
        let recorded = events[0].attributes.get(TRUNCATED_ATTRIBUTE).cloned();
        assert_eq!(recorded, Some(serde_json::json!(["message", "stacktrace", "attributes.sql"])));
        assert!(!events[1].attributes.contains_key(TRUNCATED_ATTRIBUTE));
    }

    #[test]
    fn limits_deserialize_with_defaults_for_missing_fields() {
        let limits: Limits = serde_json::from_str(r#"{"max_attributes": 10}"#).unwrap_or_default();
        assert_eq!(limits.max_attributes, 10);
        assert_eq!(limits.max_string_len, 32 * 1024);
    }
}
