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
}
