//! `expected_status`: which HTTP status codes count as success, written as
//! a code (`200`), a range (`200-299`) or a list of both (`200,204,300-399`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A set of HTTP status codes, kept as inclusive ranges in the order written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusSpec {
    ranges: Vec<(u16, u16)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid expected_status {text:?}: {reason}")]
pub struct StatusSpecError {
    text: String,
    reason: SpecProblem,
}

/// What is wrong with one item of an `expected_status`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum SpecProblem {
    #[error("empty item; write e.g. 200, 200-299 or 200,204,300-399")]
    EmptyItem,
    #[error("{0:?} is not an HTTP status code (100-599)")]
    NotACode(String),
    #[error("range {0}-{1} is backwards")]
    Backwards(u16, u16),
}

impl StatusSpec {
    /// Any status below 400: success and redirects, which are not followed.
    pub fn default_success() -> Self {
        Self { ranges: vec![(200, 399)] }
    }

    /// One inclusive range, e.g. `StatusSpec::range(200, 299)`.
    pub fn range(low: u16, high: u16) -> Result<Self, StatusSpecError> {
        format!("{low}-{high}").parse()
    }

    pub fn contains(&self, code: u16) -> bool {
        self.ranges.iter().any(|&(low, high)| (low..=high).contains(&code))
    }
}

impl Default for StatusSpec {
    fn default() -> Self {
        Self::default_success()
    }
}

impl FromStr for StatusSpec {
    type Err = StatusSpecError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let fail = |reason: SpecProblem| StatusSpecError { text: text.to_owned(), reason };
        let mut ranges = Vec::new();
        for part in text.split(',') {
            let part = part.trim();
            if part.is_empty() {
                return Err(fail(SpecProblem::EmptyItem));
            }
            let (low, high) = match part.split_once('-') {
                Some((low, high)) => (code(low.trim()).map_err(&fail)?, code(high.trim()).map_err(&fail)?),
                None => {
                    let c = code(part).map_err(&fail)?;
                    (c, c)
                }
            };
            if low > high {
                return Err(fail(SpecProblem::Backwards(low, high)));
            }
            ranges.push((low, high));
        }
        Ok(Self { ranges })
    }
}

fn code(text: &str) -> Result<u16, SpecProblem> {
    match text.parse::<u16>() {
        Ok(c) if (100..=599).contains(&c) => Ok(c),
        _ => Err(SpecProblem::NotACode(text.to_owned())),
    }
}

impl fmt::Display for StatusSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, &(low, high)) in self.ranges.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if low == high {
                write!(f, "{low}")?;
            } else {
                write!(f, "{low}-{high}")?;
            }
        }
        Ok(())
    }
}

impl Serialize for StatusSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Accepts a string or, because `expected_status = 200` is the natural thing
/// to write in TOML and JSON, a bare integer.
impl<'de> Deserialize<'de> for StatusSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl serde::de::Visitor<'_> for Visitor {
            type Value = StatusSpec;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a status code, a range or a list, e.g. \"200-299\" or \"200,204,300-399\"")
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<StatusSpec, E> {
                text.parse().map_err(E::custom)
            }

            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<StatusSpec, E> {
                n.to_string().parse().map_err(E::custom)
            }

            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<StatusSpec, E> {
                n.to_string().parse().map_err(E::custom)
            }
        }

        d.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::StatusSpec;

    #[test]
    fn parses_codes_ranges_and_lists() {
        let spec: StatusSpec = "200,204, 300-399".parse().expect("valid");
        assert!(spec.contains(200) && spec.contains(204) && spec.contains(302) && spec.contains(399));
        assert!(!spec.contains(201) && !spec.contains(400));
        assert_eq!(spec.to_string(), "200,204,300-399");
        assert!(StatusSpec::default().contains(301));
        assert!(!StatusSpec::default().contains(404));
    }

    #[test]
    fn refuses_nonsense_with_the_reason() {
        for (bad, reason) in [
            ("", "empty item"),
            ("200,", "empty item"),
            ("abc", "not an HTTP status code"),
            ("99", "not an HTTP status code"),
            ("600", "not an HTTP status code"),
            ("299-200", "backwards"),
        ] {
            let err = bad.parse::<StatusSpec>().expect_err(bad).to_string();
            assert!(err.contains(reason), "{bad:?}: {err}");
        }
    }
}
