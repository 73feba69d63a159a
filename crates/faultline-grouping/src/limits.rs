//! Caps that keep grouping bounded in time and memory whatever the input.
//!
//! Stack traces and messages arrive from the network and may be megabytes of
//! garbage; everything past these limits is ignored. The caps are generous
//! for real traces (a Java trace rarely exceeds a few hundred lines) and the
//! same text always yields the same result, so truncation never makes
//! grouping nondeterministic.

/// Bytes of a stack trace that are looked at.
pub(crate) const MAX_TRACE_BYTES: usize = 512 * 1024;
/// Lines of a stack trace that are looked at.
pub(crate) const MAX_LINES: usize = 20_000;
/// Bytes of one line that are looked at; longer lines are cut.
pub(crate) const MAX_LINE_BYTES: usize = 2048;
/// Frames kept per exception, nearest the raise site first.
pub(crate) const MAX_FRAMES: usize = 256;
/// Exceptions kept per chain (outermost first).
pub(crate) const MAX_CHAIN: usize = 32;
/// Lines looked at when guessing the language of a trace.
pub(crate) const SNIFF_LINES: usize = 200;
/// Bytes of a message that are parameterized and hashed.
pub(crate) const MAX_MESSAGE_BYTES: usize = 4096;
/// Characters of a title (the message part is cut with an ellipsis).
pub(crate) const TITLE_CHARS: usize = 200;
/// Parts of a custom fingerprint that are used.
pub(crate) const MAX_CUSTOM_PARTS: usize = 32;
/// Bytes of one custom fingerprint part that are used.
pub(crate) const MAX_CUSTOM_PART_BYTES: usize = 1024;

/// The longest prefix of `text` that is at most `max` bytes and ends on a
/// character boundary, so slicing never panics on multi-byte characters.
pub(crate) fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("héllo", 3), "hé");
        assert_eq!(truncate("abc", 10), "abc");
        assert_eq!(truncate("", 0), "");
    }
}
