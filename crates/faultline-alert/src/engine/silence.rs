//! Silences and snoozes: people saying "I know, stop telling me".
//!
//! Both only mute notifications. The engine keeps tracking the alerts they
//! match, so when a silence ends (or is removed) while an alert is still
//! firing, the alert notifies then: a firing notice if none went out yet
//! (or the severity rose), else a reminder if one is due. A resolved notice
//! is never muted for an alert whose firing notice went out, so incident
//! tools (PagerDuty, Opsgenie) close what they opened.

use std::collections::BTreeMap;

use faultline_model::UnixNanos;
use serde::{Deserialize, Serialize};

use super::glob::{self, GlobError, Globs};
use super::lifecycle::severity_name;
use crate::alert::Alert;

/// Most silences kept at once; a bound so a script cannot grow state forever.
pub const MAX_SILENCES: usize = 1000;

/// Mutes the alerts whose labels match every matcher, from `starts_at`
/// until `ends_at`.
///
/// Matchers are globs over alert labels: `rule` (the rule id), `severity`
/// (`warning`, `critical`; the alert's current one), and per subject
/// `service`, `environment`, `route`, `group_id`, `exception_type`,
/// `level`, `check`. A matcher on a label the alert does not have does not
/// match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Silence {
    pub id: String,
    pub matchers: BTreeMap<String, String>,
    pub starts_at: UnixNanos,
    pub ends_at: UnixNanos,
    #[serde(default)]
    pub comment: String,
    #[serde(default)]
    pub created_by: String,
}

/// Mutes every alert about one issue until `until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snooze {
    pub group_id: u64,
    pub until: UnixNanos,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SilenceError {
    #[error("a silence needs an id")]
    EmptyId,
    #[error("silence {0:?} has no matchers; to mute everything, match `rule = \"*\"`")]
    NoMatchers(String),
    #[error("silence {0:?} ends before it starts")]
    EndsBeforeStart(String),
    #[error("silence {id:?}: matcher `{label}` is not a usable pattern: {source}")]
    BadMatcher {
        id: String,
        label: String,
        #[source]
        source: GlobError,
    },
    #[error("too many silences (at most {MAX_SILENCES}); remove expired or unneeded ones")]
    TooMany,
}

impl Silence {
    pub fn validate(&self) -> Result<(), SilenceError> {
        if self.id.is_empty() {
            return Err(SilenceError::EmptyId);
        }
        if self.matchers.is_empty() {
            return Err(SilenceError::NoMatchers(self.id.clone()));
        }
        if self.ends_at <= self.starts_at {
            return Err(SilenceError::EndsBeforeStart(self.id.clone()));
        }
        for (label, pattern) in &self.matchers {
            glob::check(pattern).map_err(|source| SilenceError::BadMatcher {
                id: self.id.clone(),
                label: label.clone(),
                source,
            })?;
        }
        Ok(())
    }

    pub fn is_active(&self, now: UnixNanos) -> bool {
        self.starts_at <= now && now < self.ends_at
    }

    /// Whether every matcher matches one of the alert's labels.
    pub fn matches(&self, alert: &Alert) -> bool {
        self.matches_with(&Globs::default(), alert)
    }

    /// As [`Silence::matches`], with the engine's compiled patterns.
    pub(crate) fn matches_with(&self, globs: &Globs, alert: &Alert) -> bool {
        self.matchers.iter().all(|(label, pattern)| match label.as_str() {
            "severity" => globs.matches(pattern, severity_name(alert.severity)),
            "rule" => globs.matches(pattern, &alert.rule_id),
            _ => alert.labels.get(label).is_some_and(|value| globs.matches(pattern, value)),
        })
    }
}

/// What mutes an alert right now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MutedBy {
    Silence(String),
    Snooze(u64),
}

/// The silences and snoozes in force, part of the persisted state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Mutes {
    pub silences: BTreeMap<String, Silence>,
    pub snoozes: BTreeMap<u64, Snooze>,
}

impl Mutes {
    pub fn muted_by(&self, globs: &Globs, alert: &Alert, now: UnixNanos) -> Option<MutedBy> {
        if let Some(snooze) = alert.group_id.and_then(|id| self.snoozes.get(&id)) {
            if now < snooze.until {
                return Some(MutedBy::Snooze(snooze.group_id));
            }
        }
        self.silences
            .values()
            .find(|s| s.is_active(now) && s.matches_with(globs, alert))
            .map(|s| MutedBy::Silence(s.id.clone()))
    }

    /// Forgets silences and snoozes that are over; whether a silence went.
    pub fn expire(&mut self, now: UnixNanos) -> bool {
        let silences = self.silences.len();
        self.silences.retain(|_, s| s.ends_at > now);
        self.snoozes.retain(|_, s| s.until > now);
        self.silences.len() != silences
    }
}
