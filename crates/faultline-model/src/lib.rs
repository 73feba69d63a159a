//! Domain types shared by every step of Faultline's data flow.
//!
//! Nothing here does I/O: these are the values that flow from the OTLP
//! decoder through grouping into the store and out of the query API. (The
//! one impure helper is [`now_nanos`], which only reads the clock.)

mod check;
mod clock;
pub mod duration;
mod event;
mod glob;
mod group;
pub mod health;
mod html;
mod release;
pub mod sketch;
mod token;

pub use check::CheckResult;
pub use clock::now_nanos;
pub use event::{Attributes, ErrorEvent, EventSource, Level};
pub use glob::{Glob, GlobError, MAX_GLOB_BYTES};
pub use group::{Group, GroupStatus, Grouping, StatusChange, StatusChangeError, LAST_MESSAGE_CHARS};
pub use health::{HealthBucket, HealthKey, HealthSample, Outcome};
pub use html::escape_html;
pub use release::{compare_versions, is_later_release};
pub use sketch::{Sketch, SketchParts, RELATIVE_ACCURACY};
pub use token::{AccessToken, TokenScope};

/// Nanoseconds since the Unix epoch, the unit OTLP uses for every timestamp.
pub type UnixNanos = i64;

/// Formats nanoseconds since the epoch as RFC 3339 (UTC), the API's time format.
pub fn format_rfc3339(nanos: UnixNanos) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// Parses an RFC 3339 timestamp into nanoseconds since the epoch.
pub fn parse_rfc3339(text: &str) -> Option<UnixNanos> {
    let t = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos()).ok()
}

/// Serde helpers that write `UnixNanos` as RFC 3339 strings in JSON.
pub mod rfc3339 {
    use super::UnixNanos;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(nanos: &UnixNanos, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_rfc3339(*nanos))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<UnixNanos, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_rfc3339(&text).ok_or_else(|| serde::de::Error::custom("not an RFC 3339 timestamp"))
    }

    /// The same for optional timestamps.
    pub mod option {
        use super::UnixNanos;
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(nanos: &Option<UnixNanos>, s: S) -> Result<S::Ok, S::Error> {
            match nanos {
                Some(n) => s.serialize_str(&crate::format_rfc3339(*n)),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<UnixNanos>, D::Error> {
            match Option::<String>::deserialize(d)? {
                Some(text) => crate::parse_rfc3339(&text)
                    .map(Some)
                    .ok_or_else(|| serde::de::Error::custom("not an RFC 3339 timestamp")),
                None => Ok(None),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips() {
        let nanos = 1_700_000_000_123_456_789;
        let text = format_rfc3339(nanos);
        assert_eq!(text, "2023-11-14T22:13:20.123456789Z");
        assert_eq!(parse_rfc3339(&text), Some(nanos));
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
