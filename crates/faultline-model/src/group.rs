use serde::{Deserialize, Serialize};

use crate::UnixNanos;

/// What grouping decided for one event: which issue it belongs to and how
/// that issue should be named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grouping {
    /// Stable hex digest; events with equal fingerprints share a group.
    pub fingerprint: String,
    /// Issue title, e.g. `ValueError: invalid literal for int() with base 10`.
    pub title: String,
    /// Where it happened, e.g. `app.orders in parse_quantity`.
    pub culprit: String,
    /// Which variant of the algorithm produced the fingerprint:
    /// `stacktrace`, `message`, `route`, `custom`.
    pub method: String,
    /// Grouping algorithm version, stored on the group so a later algorithm
    /// does not silently split existing issues.
    pub version: u32,
    /// Fingerprints earlier algorithm versions give the same event. When
    /// `fingerprint` is new but one of these has a group, the event joins
    /// that group and `fingerprint` becomes one of its fingerprints, so an
    /// upgrade does not split existing issues.
    #[serde(default)]
    pub previous_fingerprints: Vec<String>,
}

/// Triage state of an issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum GroupStatus {
    #[default]
    Unresolved,
    Resolved,
    Ignored,
}

impl GroupStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupStatus::Unresolved => "unresolved",
            GroupStatus::Resolved => "resolved",
            GroupStatus::Ignored => "ignored",
        }
    }

    pub fn parse(text: &str) -> Option<GroupStatus> {
        Some(match text {
            "unresolved" => GroupStatus::Unresolved,
            "resolved" => GroupStatus::Resolved,
            "ignored" => GroupStatus::Ignored,
            _ => return None,
        })
    }
}

/// Longest [`Group::last_message`] kept, in characters: it is shown beside
/// the title, and the group record is rewritten on every event.
pub const LAST_MESSAGE_CHARS: usize = 200;

/// An issue: every event sharing one fingerprint within one service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub id: u64,
    pub fingerprint: String,
    pub grouping_version: u32,
    pub service: String,
    /// Names the issue with its message parameterized (`cart <num> is locked`).
    pub title: String,
    pub culprit: String,
    /// The latest event's own message as sent (`cart 17 is locked`): its
    /// first line, at most [`LAST_MESSAGE_CHARS`] characters.
    #[serde(default)]
    pub last_message: Option<String>,
    pub exception_type: Option<String>,
    #[serde(with = "crate::rfc3339")]
    pub first_seen: UnixNanos,
    #[serde(with = "crate::rfc3339")]
    pub last_seen: UnixNanos,
    pub count: u64,
    pub status: GroupStatus,
    /// Set when an event arrived while the group was resolved.
    pub regressed: bool,
    #[serde(with = "crate::rfc3339::option", default)]
    pub regressed_at: Option<UnixNanos>,
    #[serde(with = "crate::rfc3339::option", default)]
    pub resolved_at: Option<UnixNanos>,
    /// Environments the group was seen in, sorted, deduplicated.
    pub environments: Vec<String>,
    /// First and latest `service.version` seen.
    pub first_release: Option<String>,
    pub last_release: Option<String>,
    /// Sequence number of the latest event, to find it without a search.
    pub last_event_seq: u64,
    /// Fingerprints whose events land here: one, or several after a merge.
    #[serde(default)]
    pub fingerprints: Vec<String>,
    /// Set when the group was merged into another one.
    #[serde(default)]
    pub merged_into: Option<u64>,
    /// Resolved "in the next release": the release that was the latest
    /// then. Only an event from a later release reopens the issue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_in_release: Option<String>,
    /// Ignored until then: the first event after it brings the issue back.
    #[serde(with = "crate::rfc3339::option", default, skip_serializing_if = "Option::is_none")]
    pub ignored_until: Option<UnixNanos>,
    /// Ignored until the event count reaches this: the event that reaches
    /// it brings the issue back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignored_until_count: Option<u64>,
    /// For a service's overflow group: distinct fingerprints that would
    /// have been new groups past the hourly cap and joined it instead.
    #[serde(default)]
    pub collapsed_fingerprints: u64,
}

/// A user's triage action on an issue, with the conditions Sentry users
/// know: resolve in the next release, ignore for a while or for a number
/// of events. A plain status converts into one without conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatusChange {
    pub status: GroupStatus,
    /// With `Resolved`: only an event from a release later than the
    /// issue's latest one reopens it.
    pub in_next_release: bool,
    /// With `Ignored`: the issue comes back with its first event after
    /// this long.
    pub ignore_for: Option<std::time::Duration>,
    /// With `Ignored`: the issue comes back once this many more events
    /// have arrived.
    pub ignore_count: Option<u64>,
}

impl From<GroupStatus> for StatusChange {
    fn from(status: GroupStatus) -> StatusChange {
        StatusChange { status, ..StatusChange::default() }
    }
}

impl StatusChange {
    /// Conditions only make sense with their status.
    pub fn validate(&self) -> Result<(), StatusChangeError> {
        if self.in_next_release && self.status != GroupStatus::Resolved {
            return Err(StatusChangeError::NextReleaseNeedsResolved);
        }
        if (self.ignore_for.is_some() || self.ignore_count.is_some()) && self.status != GroupStatus::Ignored {
            return Err(StatusChangeError::ConditionNeedsIgnored);
        }
        if self.ignore_count == Some(0) {
            return Err(StatusChangeError::ZeroCount);
        }
        Ok(())
    }
}

/// A status change whose conditions do not fit it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusChangeError {
    #[error("in_next_release goes with the status resolved")]
    NextReleaseNeedsResolved,
    #[error("ignore_duration and ignore_count go with the status ignored")]
    ConditionNeedsIgnored,
    #[error("ignore_count must be at least 1")]
    ZeroCount,
}
