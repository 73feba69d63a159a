//! Durations in the config are humantime strings ("5s", "1m 30s"), the
//! same notation the rest of Faultline's config uses.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serializer};

pub(crate) fn format(duration: Duration) -> String {
    humantime::format_duration(duration).to_string()
}

fn parse<'de, D: Deserializer<'de>>(text: &str) -> Result<Duration, D::Error> {
    humantime::parse_duration(text)
        .map_err(|e| serde::de::Error::custom(format_args!("invalid duration {text:?}: {e}")))
}

/// For `Option<Duration>` fields written as humantime strings.
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
