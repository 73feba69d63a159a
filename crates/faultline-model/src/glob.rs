//! Glob patterns, the one syntax of fingerprint rules, alert rule filters
//! and silence matchers: `*` is any run of characters (including none and
//! newlines), `?` exactly one character, `\*`, `\?` and `\\` are the
//! literal characters; everything else is itself. Matching is
//! case-sensitive and covers the whole text.
//!
//! A pattern is compiled once ([`Glob::new`]) into tokens and then matched
//! any number of times. Matching is the classic greedy-star algorithm over
//! the text's characters: no backtracking beyond the last star, so it takes
//! time linear in the text times the length of one literal run of the
//! pattern at worst; a hostile message cannot make a rule slow, and the
//! crate needs no regex engine.

use std::fmt;

/// Longest pattern accepted: far above any real rule or matcher.
pub const MAX_GLOB_BYTES: usize = 1024;

/// Why a pattern was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GlobError {
    #[error("the pattern is empty; use \"*\" to match any value")]
    Empty,
    #[error("the pattern is longer than {MAX_GLOB_BYTES} bytes")]
    TooLong,
    #[error("the pattern ends with a lone backslash; write \\\\ for a literal backslash")]
    TrailingBackslash,
    #[error(
        "unsupported escape `\\{0}`: patterns are globs, not regular expressions; \
         only \\*, \\? and \\\\ are escapes"
    )]
    UnsupportedEscape(char),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Literal(char),
    One,
    Star,
}

/// A compiled glob pattern. Two globs are equal when their patterns are.
#[derive(Debug, Clone)]
pub struct Glob {
    source: String,
    tokens: Vec<Token>,
}

impl PartialEq for Glob {
    fn eq(&self, other: &Glob) -> bool {
        self.source == other.source
    }
}

impl Eq for Glob {}

impl fmt::Display for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl Glob {
    /// Compiles `pattern`, refusing what is probably a mistake (empty
    /// patterns, regex-style escapes such as `\d`) rather than letting it
    /// silently never match.
    pub fn new(pattern: &str) -> Result<Glob, GlobError> {
        if pattern.is_empty() {
            return Err(GlobError::Empty);
        }
        if pattern.len() > MAX_GLOB_BYTES {
            return Err(GlobError::TooLong);
        }
        Ok(Glob { source: pattern.to_string(), tokens: tokenize(pattern)? })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the whole of `text` matches the pattern.
    pub fn is_match(&self, text: &str) -> bool {
        let tokens = &self.tokens;
        // `p` indexes tokens, `t` is a byte offset into `text` (always on a
        // character boundary). `star` is where the last star was and where
        // the text it has swallowed ends: on a mismatch the star takes one
        // more character and matching resumes after it.
        let (mut p, mut t) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        while let Some(c) = text.get(t..).and_then(|rest| rest.chars().next()) {
            match tokens.get(p) {
                Some(Token::Star) => {
                    star = Some((p, t));
                    p += 1;
                    continue;
                }
                Some(Token::One) => {
                    p += 1;
                    t += c.len_utf8();
                    continue;
                }
                Some(Token::Literal(l)) if *l == c => {
                    p += 1;
                    t += c.len_utf8();
                    continue;
                }
                _ => {}
            }
            let Some((star_p, star_t)) = star else {
                return false;
            };
            let swallowed = text.get(star_t..).and_then(|rest| rest.chars().next()).map_or(1, char::len_utf8);
            p = star_p + 1;
            t = star_t + swallowed;
            star = Some((star_p, t));
        }
        tokens.get(p..).unwrap_or_default().iter().all(|token| *token == Token::Star)
    }
}

fn tokenize(pattern: &str) -> Result<Vec<Token>, GlobError> {
    let mut tokens = Vec::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        tokens.push(match c {
            '*' => Token::Star,
            '?' => Token::One,
            '\\' => match chars.next() {
                Some(escaped @ ('*' | '?' | '\\')) => Token::Literal(escaped),
                Some(other) => return Err(GlobError::UnsupportedEscape(other)),
                None => return Err(GlobError::TrailingBackslash),
            },
            literal => Token::Literal(literal),
        });
    }
    Ok(tokens)
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
        assert!(matches("*Error", "KeyError"));
        assert!(matches("*Error", "Error"));
        assert!(!matches("*Error", "KeyErrors"));
        assert!(matches("/users/*", "/users/{id}"));
        assert!(matches("a*b*c", "axxbyyc"));
        assert!(!matches("a*b*c", "axxbyy"));
        assert!(matches("**", ""));
        assert!(matches("*", ""));
        assert!(matches("*é*", "café au lait"));
        assert!(matches("*ab", "aab"));
        assert!(matches("*aab", "aaab"));
    }

    #[test]
    fn question_mark_is_exactly_one_character() {
        assert!(matches("HTTP 50?", "HTTP 503"));
        assert!(!matches("HTTP 50?", "HTTP 50"));
        assert!(!matches("HTTP 50?", "HTTP 5031"));
        assert!(matches("caf?", "café"));
        assert!(matches("a?c", "a\nc"));
        assert!(!matches("?", ""));
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
        assert!(!matches(r"\*", "x"));
        assert!(matches(r"a\\b", r"a\b"));
    }

    #[test]
    fn mistakes_are_refused() {
        assert_eq!(Glob::new("").unwrap_err(), GlobError::Empty);
        assert_eq!(Glob::new("abc\\").unwrap_err(), GlobError::TrailingBackslash);
        assert_eq!(Glob::new(r"\d+").unwrap_err(), GlobError::UnsupportedEscape('d'));
        assert_eq!(Glob::new(&"a".repeat(MAX_GLOB_BYTES + 1)).unwrap_err(), GlobError::TooLong);
        assert!(Glob::new(&"a".repeat(MAX_GLOB_BYTES)).is_ok());
    }

    #[test]
    fn the_pattern_is_kept_as_written() {
        let glob = Glob::new(r"api-\*").unwrap();
        assert_eq!(glob.as_str(), r"api-\*");
        assert_eq!(glob.to_string(), r"api-\*");
        assert_eq!(glob, Glob::new(r"api-\*").unwrap());
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
