//! Glob patterns in rule filters and silence matchers: the syntax and the
//! matcher are [`faultline_model::Glob`], shared with the grouping rules.
//!
//! Patterns stay strings here, because rules and silences are plain
//! serializable data, and are compiled at each match. Compiling a glob is
//! only splitting it into tokens (no regex engine), the same work the
//! engine did per match before the matcher was shared.

use faultline_model::Glob;
pub use faultline_model::GlobError;

/// Checks a pattern, refusing what is probably a mistake (empty patterns,
/// regex-style escapes) rather than letting it silently never match.
pub fn check(pattern: &str) -> Result<(), GlobError> {
    Glob::new(pattern).map(|_| ())
}

/// Whether the whole of `text` matches `pattern`. A pattern that [`check`]
/// refuses matches nothing.
pub fn matches(pattern: &str, text: &str) -> bool {
    Glob::new(pattern).is_ok_and(|glob| glob.is_match(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_patterns_match_nothing() {
        assert_eq!(check(r"\d+"), Err(GlobError::UnsupportedEscape('d')));
        assert!(!matches(r"\d", "d"));
        assert!(!matches("", ""));
        assert!(matches("*Error", "KeyError"));
    }
}
