//! Glob patterns in rule filters and silence matchers, with the syntax of
//! the grouping rules: `*` is any run of characters (including none), `?`
//! exactly one character, `\*`, `\?` and `\\` the literal characters;
//! everything else is itself. Matching is case-sensitive and covers the
//! whole value.
//!
//! Patterns stay strings (rules and silences are plain serializable data)
//! and are matched directly, without compiling: the values matched are
//! short (service names, routes, exception types) and the classic
//! greedy-star algorithm is linear in practice and polynomial at worst, so
//! no pattern can make evaluation explode.

/// Longest pattern accepted; far above any real one.
pub const MAX_PATTERN_BYTES: usize = 1024;

/// Why a pattern was refused.
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Literal(char),
    One,
    Star,
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

/// Checks a pattern, refusing what is probably a mistake (empty patterns,
/// regex-style escapes) rather than letting it silently never match.
pub fn check(pattern: &str) -> Result<(), GlobError> {
    if pattern.is_empty() {
        return Err(GlobError::Empty);
    }
    if pattern.len() > MAX_PATTERN_BYTES {
        return Err(GlobError::TooLong);
    }
    tokenize(pattern).map(|_| ())
}

/// Whether the whole of `text` matches `pattern`. A pattern that [`check`]
/// refuses matches nothing.
pub fn matches(pattern: &str, text: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    if !pattern.contains(['*', '?', '\\']) {
        return pattern == text;
    }
    let Ok(tokens) = tokenize(pattern) else {
        return false;
    };
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0usize, 0usize);
    // Where the last star was and how much text it has swallowed so far:
    // on a mismatch the star takes one more character and matching resumes.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match tokens.get(p) {
            Some(Token::Star) => {
                star = Some((p, t));
                p += 1;
                continue;
            }
            Some(Token::One) => {
                p += 1;
                t += 1;
                continue;
            }
            Some(Token::Literal(c)) if text.get(t) == Some(c) => {
                p += 1;
                t += 1;
                continue;
            }
            _ => {}
        }
        match star {
            Some((star_p, star_t)) => {
                p = star_p + 1;
                t = star_t + 1;
                star = Some((star_p, star_t + 1));
            }
            None => return false,
        }
    }
    tokens[p.min(tokens.len())..].iter().all(|token| *token == Token::Star)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_question_mark_and_escapes() {
        assert!(matches("*Error", "KeyError"));
        assert!(matches("*Error", "Error"));
        assert!(!matches("*Error", "KeyErrors"));
        assert!(matches("/users/*", "/users/{id}"));
        assert!(matches("a*b*c", "axxbyyc"));
        assert!(!matches("a*b*c", "axxbyy"));
        assert!(matches("HTTP 50?", "HTTP 503"));
        assert!(!matches("HTTP 50?", "HTTP 50"));
        assert!(matches("caf?", "café"));
        assert!(matches(r"what\?", "what?"));
        assert!(!matches(r"what\?", "whats"));
        assert!(matches(r"\*", "*"));
        assert!(matches(r"a\\b", r"a\b"));
        assert!(matches("**", ""));
        assert!(!matches("?", ""));
        assert!(!matches("checkout", "Checkout"));
    }

    #[test]
    fn mistakes_are_refused() {
        assert_eq!(check(""), Err(GlobError::Empty));
        assert_eq!(check("abc\\"), Err(GlobError::TrailingBackslash));
        assert_eq!(check(r"\d+"), Err(GlobError::UnsupportedEscape('d')));
        assert_eq!(check(&"a".repeat(MAX_PATTERN_BYTES + 1)), Err(GlobError::TooLong));
        assert!(!matches(r"\d", "d"));
    }

    #[test]
    fn hostile_patterns_stay_fast() {
        let text = "a".repeat(20_000);
        let started = std::time::Instant::now();
        assert!(!matches("*a*a*a*a*a*a*a*a*b", &text));
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }
}
