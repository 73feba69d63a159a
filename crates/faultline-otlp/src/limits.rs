//! Per-item limits that keep one export from flooding the store.

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
    fn limits_deserialize_with_defaults_for_missing_fields() {
        let limits: Limits = serde_json::from_str(r#"{"max_attributes": 10}"#).unwrap_or_default();
        assert_eq!(limits.max_attributes, 10);
        assert_eq!(limits.max_string_len, 32 * 1024);
    }
}
