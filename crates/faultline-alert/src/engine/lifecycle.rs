//! The alert lifecycle, after Prometheus: a condition that starts holding
//! makes a *pending* alert; once it has held for the rule's `for` it is
//! *firing*; when the condition stops holding a pending alert is dropped
//! silently and a firing one is *resolved*.
//!
//! Notifications, per alert:
//! - one firing notice when it starts firing (or when a silence that muted
//!   it ends while it still fires);
//! - another firing notice when its severity rises above the highest one
//!   already announced (warning → critical), never when it falls;
//! - a reminder once `repeat_interval` has passed since the last notice;
//! - a resolved notice if, and only if, a firing notice went out.
//!
//! The evaluators decide whether a condition holds ([`AlertTable::raise`],
//! [`AlertTable::clear`]); [`AlertTable::advance`] moves alerts along and
//! records what to announce in an [`Outbox`].

use std::collections::{BTreeMap, BTreeSet};

use faultline_model::UnixNanos;
use serde::{Deserialize, Serialize};

use super::duration::nanos;
use super::glob::Globs;
use super::rules::{Rule, RuleKind};
use super::silence::Mutes;
use super::subject::{clip, Subject};
use crate::alert::{Alert, AlertState, NotificationKind, Severity};

/// Bounds on what one alert carries into messages and persisted state.
const MAX_TITLE_CHARS: usize = 300;
const MAX_SUMMARY_CHARS: usize = 2000;
/// Most alerts one rule tracks at once. A rule over `route = "*"` or a
/// flood of new issues stays bounded; alerts beyond are not tracked.
pub const MAX_ALERTS_PER_RULE: usize = 1000;
/// Resolved alerts kept for [`super::Engine::history`].
pub const HISTORY_LIMIT: usize = 1000;

/// What a person reads about an alert; the evaluators fill it in.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Content {
    pub title: String,
    pub summary: String,
    pub value: Option<f64>,
    pub threshold: Option<f64>,
}

/// One alert as the engine tracks it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Tracked {
    /// The public view; `state` is Pending or Firing here.
    pub alert: Alert,
    /// The kind of rule that raised it: if the rule's kind changes across a
    /// restart, the old alert is resolved rather than reinterpreted.
    pub kind: RuleKind,
    /// When an input last confirmed the alert (an observation above the
    /// threshold, an event of the issue). Alerts nobody confirms any more
    /// resolve after a staleness period (see `super::stale_after`).
    pub last_seen: UnixNanos,
    /// The highest severity a firing notice announced in this episode;
    /// `None` while nothing went out (pending, or muted all along).
    pub notified: Option<Severity>,
    /// When the last firing notice or reminder went out.
    pub last_sent: Option<UnixNanos>,
    /// Reminders sent in this episode, which numbers them for their ids.
    pub reminders: u32,
}

/// Something to announce, before grouping into notifications.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Change {
    pub kind: NotificationKind,
    pub alert: Alert,
    /// What makes this announcement unique, for the notification id: the
    /// alert key and start, plus the severity (firing) or reminder number.
    pub token: String,
}

/// What one evaluation produced and which alerts it touched.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    pub changes: Vec<Change>,
    pub touched: BTreeSet<(String, String)>,
}

/// Every tracked alert, by rule id then key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct AlertTable {
    pub by_rule: BTreeMap<String, BTreeMap<String, Tracked>>,
    /// Resolved alerts, oldest first, at most [`HISTORY_LIMIT`].
    pub history: Vec<Alert>,
}

fn apply(alert: &mut Alert, content: Content) {
    alert.title = clip(&content.title, MAX_TITLE_CHARS);
    alert.summary = clip(&content.summary, MAX_SUMMARY_CHARS);
    alert.value = content.value;
    alert.threshold = content.threshold;
}

impl AlertTable {
    pub fn get(&self, rule_id: &str, key: &str) -> Option<&Tracked> {
        self.by_rule.get(rule_id)?.get(key)
    }

    pub fn get_mut(&mut self, rule_id: &str, key: &str) -> Option<&mut Tracked> {
        self.by_rule.get_mut(rule_id)?.get_mut(key)
    }

    pub fn is_firing(&self, rule_id: &str, key: &str) -> bool {
        self.get(rule_id, key).is_some_and(|t| t.alert.state == AlertState::Firing)
    }

    /// The condition holds at `severity`: start a pending alert (which
    /// started at `started_at`) or update the one there is.
    // Every argument is a distinct fact about the raise; bundling them in a
    // struct only to please the lint would hide that at every call site.
    #[allow(clippy::too_many_arguments)]
    pub fn raise(
        &mut self,
        rule: &Rule,
        subject: &Subject,
        severity: Severity,
        content: Content,
        started_at: UnixNanos,
        now: UnixNanos,
        out: &mut Outbox,
    ) {
        // An alert left by a rule of another kind under the same id (the
        // config changed across a restart) ends rather than being reinterpreted.
        if self.get(rule.id(), &subject.key).is_some_and(|t| t.kind != rule.kind()) {
            self.annotate(rule.id(), &subject.key, "The rule changed.");
            self.clear(rule.id(), &subject.key, None, now, out);
        }
        let alerts = self.by_rule.entry(rule.id().to_string()).or_default();
        if let Some(tracked) = alerts.get_mut(&subject.key) {
            tracked.alert.severity = severity;
            tracked.alert.rule_name = rule.display_name().to_string();
            apply(&mut tracked.alert, content);
            tracked.last_seen = tracked.last_seen.max(now);
        } else {
            if alerts.len() >= MAX_ALERTS_PER_RULE {
                return;
            }
            let mut labels = subject.labels.clone();
            labels.insert("rule".to_string(), rule.id().to_string());
            let mut alert = Alert {
                rule_id: rule.id().to_string(),
                rule_name: rule.display_name().to_string(),
                key: subject.key.clone(),
                labels,
                severity,
                state: AlertState::Pending,
                title: String::new(),
                summary: String::new(),
                value: None,
                threshold: None,
                url: None,
                service: subject.service.clone(),
                group_id: subject.group_id,
                check_id: subject.check_id.clone(),
                started_at: started_at.min(now),
                resolved_at: None,
            };
            apply(&mut alert, content);
            alerts.insert(
                subject.key.clone(),
                Tracked {
                    alert,
                    kind: rule.kind(),
                    last_seen: now,
                    notified: None,
                    last_sent: None,
                    reminders: 0,
                },
            );
        }
        out.touched.insert((rule.id().to_string(), subject.key.clone()));
    }

    /// Adds a line to an alert's summary, saying why it is about to resolve.
    pub fn annotate(&mut self, rule_id: &str, key: &str, note: &str) {
        if let Some(tracked) = self.get_mut(rule_id, key) {
            let summary = format!("{}\n{note}", tracked.alert.summary);
            tracked.alert.summary = clip(summary.trim_start(), MAX_SUMMARY_CHARS);
        }
    }

    /// The condition no longer holds: drop a pending alert, resolve a
    /// firing one (with `content` describing why, when given).
    pub fn clear(
        &mut self,
        rule_id: &str,
        key: &str,
        content: Option<Content>,
        now: UnixNanos,
        out: &mut Outbox,
    ) {
        let Some(alerts) = self.by_rule.get_mut(rule_id) else {
            return;
        };
        let Some(mut tracked) = alerts.remove(key) else {
            return;
        };
        if alerts.is_empty() {
            self.by_rule.remove(rule_id);
        }
        if tracked.alert.state != AlertState::Firing {
            return;
        }
        if let Some(content) = content {
            apply(&mut tracked.alert, content);
        }
        tracked.alert.state = AlertState::Resolved;
        tracked.alert.resolved_at = Some(now);
        if tracked.notified.is_some() {
            out.changes.push(Change {
                kind: NotificationKind::Resolved,
                token: format!("{}\u{1f}{}\u{1f}resolved", key, tracked.alert.started_at),
                alert: tracked.alert.clone(),
            });
        }
        self.history.push(tracked.alert);
        if self.history.len() > HISTORY_LIMIT {
            let excess = self.history.len() - HISTORY_LIMIT;
            self.history.drain(..excess);
        }
    }

    /// Moves the alerts in `only` (or all, when `None`) along their
    /// lifecycle at `now`. `rule_of` finds an alert's rule; alerts whose
    /// rule is gone are left to the caller to clear.
    pub fn advance<'r>(
        &mut self,
        rule_of: impl Fn(&str) -> Option<&'r Rule>,
        only: Option<&BTreeSet<(String, String)>>,
        (mutes, globs): (&Mutes, &Globs),
        now: UnixNanos,
        out: &mut Outbox,
    ) {
        match only {
            Some(keys) => {
                for (rule_id, key) in keys {
                    let (Some(rule), Some(tracked)) = (rule_of(rule_id), self.get_mut(rule_id, key)) else {
                        continue;
                    };
                    step(rule, tracked, (mutes, globs), now, out);
                }
            }
            None => {
                for (rule_id, alerts) in &mut self.by_rule {
                    let Some(rule) = rule_of(rule_id) else {
                        continue;
                    };
                    for tracked in alerts.values_mut() {
                        step(rule, tracked, (mutes, globs), now, out);
                    }
                }
            }
        }
    }

    /// Every pending and firing alert, by rule id then key.
    pub fn current(&self) -> impl Iterator<Item = &Tracked> {
        self.by_rule.values().flat_map(|alerts| alerts.values())
    }
}

/// The label value silences match a severity with.
pub(crate) fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Warning => "warning",
        Severity::Critical => "critical",
    }
}

fn step(
    rule: &Rule,
    tracked: &mut Tracked,
    (mutes, globs): (&Mutes, &Globs),
    now: UnixNanos,
    out: &mut Outbox,
) {
    let alert = &mut tracked.alert;
    if alert.state == AlertState::Pending {
        if now.saturating_sub(alert.started_at) < nanos(rule.pending_for()) {
            return;
        }
        alert.state = AlertState::Firing;
    }
    if alert.state != AlertState::Firing || mutes.muted_by(globs, alert, now).is_some() {
        return;
    }
    let key_start = || format!("{}\u{1f}{}", alert.key, alert.started_at);
    match tracked.notified {
        Some(announced) if alert.severity <= announced => {
            let repeat = nanos(rule.repeat_interval());
            let due = tracked.last_sent.is_none_or(|sent| now.saturating_sub(sent) >= repeat);
            if repeat > 0 && due {
                tracked.reminders = tracked.reminders.saturating_add(1);
                tracked.last_sent = Some(now);
                out.changes.push(Change {
                    kind: NotificationKind::Reminder,
                    token: format!("{}\u{1f}reminder {}", key_start(), tracked.reminders),
                    alert: alert.clone(),
                });
            }
        }
        // First notice, or the severity rose above what was announced.
        _ => {
            tracked.notified = Some(alert.severity);
            tracked.last_sent = Some(now);
            out.changes.push(Change {
                kind: NotificationKind::Firing,
                token: format!("{}\u{1f}{}", key_start(), severity_name(alert.severity)),
                alert: alert.clone(),
            });
        }
    }
}
