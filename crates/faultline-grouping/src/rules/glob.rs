//! Glob patterns of fingerprint rules: `*` is any run of characters
//! (including none and newlines), `?` exactly one character, `\*`, `\?` and
//! `\\` are the literal characters; everything else is itself. Matching is
//! case-sensitive and covers the whole text.
//!
//! A pattern is translated once, when the configuration is loaded, into an
//! anchored regular expression. The `regex` crate matches in time linear in
//! the text (no backtracking), so a hostile message cannot make a rule slow,
//! and the crate is already a dependency.

use regex::Regex;

/// Longest pattern accepted: far above any real rule, and it keeps the
/// compiled automaton small.
const MAX_PATTERN_BYTES: usize = 1024;

/// Why a pattern was refused; carried inside [`super::RuleError::BadGlob`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GlobError {
    #[error("the pattern is empty; use \"*\" to match any value")]
    Empty,
    #[error("the pattern is longer than {MAX_PATTERN_BYTES} bytes")]
    TooLong,
    #[error("the pattern ends with a lone backslash; write \\\\ for a literal backslash")]
    TrailingBackslash,
    #[error(
        "unsupported escape `\\{0}`: patterns are globs, not regular expressions; \
         only \\*, \\? and \\\\ are escapes"
    )]
    UnsupportedEscape(char),
    #[error("{0}")]
    Compile(String),
}

/// A compiled glob pattern.
#[derive(Debug, Clone)]
pub(crate) struct Glob {
    regex: Regex,
}

impl Glob {
    /// Compiles `pattern`, refusing what is probably a mistake (empty
    /// patterns, regex-style escapes) rather than silently never matching.
    pub(crate) fn new(pattern: &str) -> Result<Glob, GlobError> {
        if pattern.is_empty() {
            return Err(GlobError::Empty);
        }
        if pattern.len() > MAX_PATTERN_BYTES {
            return Err(GlobError::TooLong);
        }
        let source = to_regex(pattern)?;
        let regex = Regex::new(&source).map_err(|e| GlobError::Compile(e.to_string()))?;
        Ok(Glob { regex })
    }

    /// Whether the whole of `text` matches the pattern.
    pub(crate) fn is_match(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }
}

/// The anchored regular expression equivalent to a glob; `(?s)` lets `*`
/// and `?` cross newlines, since messages may span lines.
fn to_regex(pattern: &str) -> Result<String, GlobError> {
    let mut out = String::with_capacity(pattern.len() + 12);
    out.push_str("(?s)^(?:");
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            '\\' => match chars.next() {
                Some(escaped @ ('*' | '?' | '\\')) => push_literal(&mut out, escaped),
                Some(other) => return Err(GlobError::UnsupportedEscape(other)),
                None => return Err(GlobError::TrailingBackslash),
            },
            literal => push_literal(&mut out, literal),
        }
    }
    out.push_str(")$");
    Ok(out)
}

fn push_literal(out: &mut String, c: char) {
    let mut buffer = [0u8; 4];
    out.push_str(&regex::escape(c.encode_utf8(&mut buffer)));
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn matches(pattern: &str, text: &str) -> bool {
        Glob::new(pattern).unwrap().is_match(text)
    }

    #[test]
    fn star_matches_any_run_including_none_and_newlines() {
        assert!(matches("ConnectionError*", "ConnectionError"));
        assert!(matches("ConnectionError*", "ConnectionErrorTimeout"));
        assert!(matches("*timed out*", "read timed out after 30s"));
        assert!(matches("*timed out*", "line one\nconnection timed out\nline three"));
        assert!(!matches("ConnectionError*", "MyConnectionError"));
    }

    #[test]
    fn question_mark_is_exactly_one_character() {
        assert!(matches("HTTP 50?", "HTTP 503"));
        assert!(!matches("HTTP 50?", "HTTP 50"));
        assert!(!matches("HTTP 50?", "HTTP 5031"));
        assert!(matches("caf?", "café"));
    }

    #[test]
    fn matching_is_whole_text_and_case_sensitive() {
        assert!(matches("checkout", "checkout"));
        assert!(!matches("checkout", "checkout-v2"));
        assert!(!matches("checkout", "Checkout"));
    }

    #[test]
    fn regex_metacharacters_are_literal() {
        assert!(matches("app.db.*", "app.db.pool"));
        assert!(!matches("app.db.*", "appXdbXpool"));
        assert!(matches("List[int] (x)+", "List[int] (x)+"));
        assert!(matches("$^|{}", "$^|{}"));
    }

    #[test]
    fn escapes_make_wildcards_literal() {
        assert!(matches(r"what\?", "what?"));
        assert!(!matches(r"what\?", "whats"));
        assert!(matches(r"\*star\*", "*star*"));
        assert!(matches(r"a\\b", r"a\b"));
    }

    #[test]
    fn mistakes_are_refused() {
        assert_eq!(Glob::new("").unwrap_err(), GlobError::Empty);
        assert_eq!(Glob::new("abc\\").unwrap_err(), GlobError::TrailingBackslash);
        assert_eq!(Glob::new(r"\d+").unwrap_err(), GlobError::UnsupportedEscape('d'));
        assert_eq!(Glob::new(&"a".repeat(MAX_PATTERN_BYTES + 1)).unwrap_err(), GlobError::TooLong);
    }

    #[test]
    fn hostile_text_stays_fast() {
        let glob = Glob::new("*a*a*a*a*a*a*a*a*a*a*b").unwrap();
        let text = "a".repeat(100_000);
        let started = std::time::Instant::now();
        assert!(!glob.is_match(&text));
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }
}
