//! Durations in rules are humantime strings ("4h", "10m", "1h 30m"), the
//! notation the rest of Faultline's configuration uses. Inside the engine
//! they become nanoseconds, the unit every timestamp is in.

use std::time::Duration;

use faultline_model::UnixNanos;
use serde::{Deserialize, Deserializer, Serializer};

/// `duration` in nanoseconds; durations beyond ~292 years saturate, which
/// only ever means "never" for the comparisons the engine makes.
pub(crate) fn nanos(duration: Duration) -> UnixNanos {
    i64::try_from(duration.as_nanos()).unwrap_or(i64::MAX)
}

pub(crate) fn format(duration: Duration) -> String {
    humantime::format_duration(duration).to_string()
}

fn parse<'de, D: Deserializer<'de>>(text: &str) -> Result<Duration, D::Error> {
    humantime::parse_duration(text)
        .map_err(|e| serde::de::Error::custom(format_args!("invalid duration {text:?}: {e}")))
}

/// For `Option<Duration>` fields.
pub(crate) mod option {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(value: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(d) => s.serialize_str(&super::format(*d)),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        match Option::<String>::deserialize(d)? {
            Some(text) => super::parse::<D>(&text).map(Some),
            None => Ok(None),
        }
    }
}
