//! Glob patterns in rule filters and silence matchers: the syntax and the
//! matcher are [`faultline_model::Glob`], shared with the grouping rules.
//!
//! Patterns stay strings in rules and silences, which are plain
//! serializable data; the engine compiles them once into [`Globs`] when its
//! rules or silences change, and matches with that.

use std::collections::HashMap;

use faultline_model::Glob;
pub use faultline_model::GlobError;

use super::rules::Rule;
use super::silence::Silence;

/// The compiled globs of a rule set and its silences, by pattern.
#[derive(Debug, Clone, Default)]
pub(crate) struct Globs {
    exact: HashMap<String, Glob>,
    /// Level filters compare case-insensitively: by pattern as written,
    /// the glob of its lowercase form.
    lowercase: HashMap<String, Glob>,
}

impl Globs {
    /// Compiles every pattern of `rules` and `silences`. Refused patterns
    /// are left out: validation keeps them out of rules and silences.
    pub fn of<'a>(rules: &[Rule], silences: impl IntoIterator<Item = &'a Silence>) -> Globs {
        let mut globs = Globs::default();
        for rule in rules {
            if let Some(f) = rule.filter() {
                [&f.service, &f.environment, &f.exception_type]
                    .into_iter()
                    .flatten()
                    .for_each(|p| globs.add(p));
                if let Some(level) = &f.level {
                    if let Ok(glob) = Glob::new(&level.to_lowercase()) {
                        globs.lowercase.insert(level.clone(), glob);
                    }
                }
            }
            if let Some(e) = rule.endpoints() {
                [&e.service, &e.environment, &e.route].into_iter().flatten().for_each(|p| globs.add(p));
            }
            if let Some(check) = rule.check_pattern() {
                globs.add(check);
            }
        }
        for silence in silences {
            silence.matchers.values().for_each(|p| globs.add(p));
        }
        globs
    }

    fn add(&mut self, pattern: &str) {
        if !self.exact.contains_key(pattern) {
            if let Ok(glob) = Glob::new(pattern) {
                self.exact.insert(pattern.to_string(), glob);
            }
        }
    }

    /// As [`matches`], without compiling the patterns given to [`Globs::of`].
    pub fn matches(&self, pattern: &str, text: &str) -> bool {
        match self.exact.get(pattern) {
            Some(glob) => glob.is_match(text),
            None => matches(pattern, text),
        }
    }

    /// Whether the lowercase `text` matches the lowercase form of `pattern`.
    pub fn matches_lowercase(&self, pattern: &str, text: &str) -> bool {
        match self.lowercase.get(pattern) {
            Some(glob) => glob.is_match(&text.to_lowercase()),
            None => matches(&pattern.to_lowercase(), &text.to_lowercase()),
        }
    }
}

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

    #[test]
    fn compiled_and_uncompiled_patterns_match_alike() {
        let globs = Globs::default();
        assert!(globs.matches("check*", "checkout"));
        assert!(!globs.matches(r"\d", "d"));
        assert!(globs.matches_lowercase("ERR*", "Error"));
    }
}
