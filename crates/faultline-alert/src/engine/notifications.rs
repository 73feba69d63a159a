//! Announcements grouped into notifications: the alerts of one rule that
//! changed the same way in one evaluation become one message, so a rule
//! over every route pages once when a shared database falls over, not once
//! per route.

use std::collections::BTreeMap;

use faultline_model::UnixNanos;

use super::hash::fnv128;
use super::lifecycle::Change;
use crate::alert::{Notification, NotificationKind, Severity};

fn kind_order(kind: NotificationKind) -> u8 {
    match kind {
        NotificationKind::Firing => 0,
        NotificationKind::Reminder => 1,
        NotificationKind::Resolved => 2,
    }
}

pub(crate) fn kind_name(kind: NotificationKind) -> &'static str {
    match kind {
        NotificationKind::Firing => "firing",
        NotificationKind::Reminder => "reminder",
        NotificationKind::Resolved => "resolved",
    }
}

/// Groups `changes` per rule and kind, in rule order (`rule_index`; rules
/// that are gone come last) then firing, reminder, resolved. Alerts inside
/// are sorted by key.
///
/// The id is `rule-kind-hash`, the hash over what makes each announcement
/// unique (alert key, start, severity or reminder number), so an
/// evaluation repeated after a crash yields the same id and receivers can
/// drop the duplicate.
pub(crate) fn group(
    changes: Vec<Change>,
    rule_index: impl Fn(&str) -> usize,
    now: UnixNanos,
) -> Vec<Notification> {
    let mut groups: BTreeMap<(usize, String, u8), Vec<Change>> = BTreeMap::new();
    for change in changes {
        let slot = (rule_index(&change.alert.rule_id), change.alert.rule_id.clone(), kind_order(change.kind));
        groups.entry(slot).or_default().push(change);
    }
    groups
        .into_values()
        .filter_map(|mut changes| {
            changes.sort_by(|a, b| a.alert.key.cmp(&b.alert.key).then_with(|| a.token.cmp(&b.token)));
            let first = changes.first()?;
            let (kind, rule_id, rule_name) =
                (first.kind, first.alert.rule_id.clone(), first.alert.rule_name.clone());
            let mut identity = String::new();
            for change in &changes {
                identity.push_str(&change.token);
                identity.push('\u{1e}');
            }
            let id = format!("{rule_id}-{}-{:032x}", kind_name(kind), fnv128(identity.as_bytes()));
            let alerts: Vec<_> = changes.into_iter().map(|c| c.alert).collect();
            let severity = alerts.iter().map(|a| a.severity).max().unwrap_or(Severity::Warning);
            Some(Notification { id, kind, rule_id, rule_name, severity, alerts, created_at: now })
        })
        .collect()
}
