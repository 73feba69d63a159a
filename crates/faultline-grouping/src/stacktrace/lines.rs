//! Splitting a trace into the lines the parsers look at, within the caps.

use crate::limits::{truncate, MAX_LINES, MAX_LINE_BYTES, MAX_TRACE_BYTES};

/// The first `MAX_LINES` lines of the first `MAX_TRACE_BYTES` of `text`,
/// each cut to `MAX_LINE_BYTES`, without line terminators (`\n`, `\r\n`).
pub(crate) fn split(text: &str) -> Vec<&str> {
    truncate(text, MAX_TRACE_BYTES)
        .lines()
        .take(MAX_LINES)
        .map(|line| truncate(line, MAX_LINE_BYTES))
        .collect()
}

/// Counts the leading whitespace characters of a line.
pub(crate) fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_caps_lines_and_strips_terminators() {
        assert_eq!(split("a\r\nb\n"), vec!["a", "b"]);
        let long = "x".repeat(MAX_LINE_BYTES * 2);
        assert_eq!(split(&long)[0].len(), MAX_LINE_BYTES);
        let many = "l\n".repeat(MAX_LINES + 10);
        assert_eq!(split(&many).len(), MAX_LINES);
    }
}
