//! Durations in configuration are humantime strings ("5s", "4h",
//! "1h 30m"): one notation across the config file and the API. Inside,
//! durations compared with timestamps become nanoseconds.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serializer};

use crate::UnixNanos;

/// `duration` in nanoseconds; beyond ~292 years it saturates, which only
/// ever means "never" for comparisons with timestamps.
pub fn nanos(duration: Duration) -> UnixNanos {
    i64::try_from(duration.as_nanos()).unwrap_or(i64::MAX)
}

/// `1h 30m`, as people write it.
pub fn format(duration: Duration) -> String {
    humantime::format_duration(duration).to_string()
}

fn parse<'de, D: Deserializer<'de>>(text: &str) -> Result<Duration, D::Error> {
    humantime::parse_duration(text)
        .map_err(|e| serde::de::Error::custom(format_args!("invalid duration {text:?}: {e}")))
}

/// For `Option<Duration>` fields written as humantime strings:
/// `#[serde(default, with = "faultline_model::duration::option")]`.
pub mod option {
    use super::*;

    pub fn serialize<S: Serializer>(value: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(d) => s.serialize_str(&super::format(*d)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        match Option::<String>::deserialize(d)? {
            Some(text) => super::parse::<D>(&text).map(Some),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[derive(Debug, serde::Serialize, serde::Deserialize, PartialEq)]
    struct Config {
        #[serde(default, with = "option")]
        every: Option<Duration>,
    }

    #[test]
    fn reads_and_writes_humantime() {
        let c: Config = serde_json::from_str(r#"{"every": "1h 30m"}"#).unwrap();
        assert_eq!(c.every, Some(Duration::from_secs(5400)));
        assert_eq!(serde_json::to_string(&c).unwrap(), r#"{"every":"1h 30m"}"#);
        assert_eq!(serde_json::from_str::<Config>("{}").unwrap().every, None);
        let err = serde_json::from_str::<Config>(r#"{"every": "soon"}"#).unwrap_err().to_string();
        assert!(err.contains("invalid duration \"soon\""), "{err}");
        assert_eq!(nanos(Duration::from_secs(2)), 2_000_000_000);
        assert_eq!(nanos(Duration::MAX), i64::MAX);
    }
}
