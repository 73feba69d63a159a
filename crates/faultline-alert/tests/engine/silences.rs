//! Silences and snoozes mute notifications, not alerts.

use std::collections::BTreeMap;

use faultline_alert::engine::{Fact, MutedBy, Silence, SilenceError, Snooze};
use faultline_alert::{AlertState, NotificationKind};

use crate::support::*;

const RULES: &str = r#"
[[alerts.rules]]
id = "new-issues"
kind = "new_group"

[[alerts.rules]]
id = "api-errors"
kind = "error_rate"
critical = 0.05
"#;

fn silence(id: &str, matchers: &[(&str, &str)], starts_at: i64, ends_at: i64) -> Silence {
    Silence {
        id: id.into(),
        matchers: matchers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        starts_at,
        ends_at,
        comment: "deploying".into(),
        created_by: "ana".into(),
    }
}

#[test]
fn a_silence_mutes_then_releases_a_still_firing_alert() {
    let mut engine = engine(RULES);
    engine.add_silence(silence("deploy", &[("service", "checkout")], T0, T0 + H)).unwrap();
    assert!(engine.observe(rate("checkout", 100, 50, T0 + M), T0 + M).is_empty());
    // Tracked all the same.
    let alerts = engine.alerts();
    assert_eq!(alerts[0].state, AlertState::Firing);
    assert_eq!(engine.muted_by(&alerts[0], T0 + M), Some(MutedBy::Silence("deploy".into())));
    // Another service is not silenced.
    assert_eq!(engine.observe(rate("search", 100, 50, T0 + M), T0 + M).len(), 1);

    let mut t = T0 + M;
    while t < T0 + H {
        t += 10 * S;
        let mut sent = engine.observe(rate("checkout", 100, 50, t), t);
        sent.extend(engine.tick(t));
        if t < T0 + H {
            assert!(
                sent.iter().all(|n| n.alerts.iter().all(|a| a.labels["service"] != "checkout")),
                "{sent:?}"
            );
        } else {
            // The silence ends while the alert still fires: it notifies now.
            assert_eq!(summary(&sent), [(NotificationKind::Firing, "api-errors".to_string(), 1)]);
            assert_eq!(sent[0].alerts[0].labels["service"], "checkout");
        }
    }
    assert!(engine.silences().is_empty(), "over silences are forgotten");
}

#[test]
fn removing_a_silence_releases_at_the_next_tick() {
    let mut engine = engine(RULES);
    engine.add_silence(silence("s", &[("rule", "new-*")], T0, T0 + D)).unwrap();
    assert!(engine.observe(new_group(1, T0), T0).is_empty());
    assert!(engine.tick(T0 + M).is_empty());
    assert_eq!(engine.remove_silence("s").map(|s| s.id), Some("s".to_string()));
    let sent = engine.tick(T0 + 2 * M);
    assert_eq!(summary(&sent), [(NotificationKind::Firing, "new-issues".to_string(), 1)]);
}

#[test]
fn muted_alerts_resolve_quietly_unless_they_were_announced() {
    let mut engine = engine(RULES);
    // Announced, then silenced, then resolved: the notice still goes out so
    // incident tools close what they opened.
    assert_eq!(engine.observe(new_group(1, T0), T0).len(), 1);
    engine.add_silence(silence("s", &[("group_id", "*")], T0, T0 + D)).unwrap();
    assert!(engine.observe(new_group(2, T0 + S), T0 + S).is_empty());
    let sent = engine.observe_all(
        [
            Fact::GroupResolved { group_id: 1, at: T0 + M }.into(),
            Fact::GroupResolved { group_id: 2, at: T0 + M }.into(),
        ],
        T0 + M,
    );
    assert_eq!(summary(&sent), [(NotificationKind::Resolved, "new-issues".to_string(), 1)]);
    assert_eq!(sent[0].alerts[0].key, "group_id=1");
    assert_eq!(engine.history().len(), 2, "both are in the history");
}

#[test]
fn a_silence_matches_every_matcher_and_severity() {
    let mut engine = engine(RULES);
    engine
        .add_silence(silence("s", &[("service", "checkout"), ("severity", "warning")], T0, T0 + D))
        .unwrap();
    // The alert is critical, so the silence does not match.
    assert_eq!(engine.observe(rate("checkout", 100, 50, T0), T0).len(), 1);
}

#[test]
fn a_snooze_mutes_one_issue_until_it_ends() {
    let mut engine = engine(RULES);
    engine.snooze(Snooze { group_id: 5, until: T0 + H });
    assert!(engine.observe(new_group(5, T0), T0).is_empty());
    assert_eq!(engine.observe(new_group(6, T0), T0).len(), 1);
    assert_eq!(engine.muted_by(&engine.alerts()[0], T0), Some(MutedBy::Snooze(5)));
    engine.observe(group_event(5, None, T0 + 30 * M), T0 + 30 * M);
    assert!(engine.tick(T0 + H - S).is_empty());
    let sent = engine.tick(T0 + H);
    // (Issue 6, quiet for an hour, resolves at the same time.)
    let firing = of_kind(&sent, NotificationKind::Firing);
    assert_eq!(firing.len(), 1);
    assert_eq!(firing[0].alerts.iter().map(|a| a.group_id).collect::<Vec<_>>(), [Some(5)]);
    assert!(engine.snoozes().is_empty());

    engine.snooze(Snooze { group_id: 7, until: T0 + D });
    assert_eq!(engine.unsnooze(7), Some(Snooze { group_id: 7, until: T0 + D }));
}

#[test]
fn silences_are_validated() {
    let mut engine = engine(RULES);
    assert_eq!(engine.add_silence(silence("", &[("rule", "*")], T0, T0 + H)), Err(SilenceError::EmptyId));
    assert_eq!(engine.add_silence(silence("a", &[], T0, T0 + H)), Err(SilenceError::NoMatchers("a".into())));
    assert_eq!(
        engine.add_silence(silence("a", &[("rule", "*")], T0 + H, T0)),
        Err(SilenceError::EndsBeforeStart("a".into()))
    );
    let bad = engine.add_silence(silence("a", &[("route", r"/users/\d+")], T0, T0 + H)).unwrap_err();
    assert!(bad.to_string().contains("matcher `route` is not a usable pattern"), "{bad}");
    // Adding with the same id replaces.
    engine.add_silence(silence("a", &[("rule", "*")], T0, T0 + H)).unwrap();
    engine.add_silence(silence("a", &[("rule", "x")], T0, T0 + H)).unwrap();
    let silences = engine.silences();
    assert_eq!(silences.len(), 1);
    assert_eq!(silences[0].matchers, BTreeMap::from([("rule".to_string(), "x".to_string())]));
}
