//! State survives serde: an engine restored from JSON carries on exactly
//! as the original would have.

use faultline_alert::engine::{Engine, EngineState, Fact, Silence, Snooze};
use faultline_alert::{AlertState, NotificationKind};

use crate::support::*;

const RULES: &str = r#"
[[alerts.rules]]
id = "new-issues"
kind = "new_group"

[[alerts.rules]]
id = "hot"
kind = "group_frequency"
count = 5
window = "10m"

[[alerts.rules]]
id = "api-errors"
kind = "error_rate"
warning = 0.02
critical = 0.05
for = "2m"

[[alerts.rules]]
id = "anomaly"
kind = "anomaly"
"#;

/// An engine with something of everything: firing, pending, resolved
/// alerts, windows, a silence, a snooze, hourly history.
fn busy_engine() -> Engine {
    let mut engine = engine(RULES);
    engine.observe(new_group(1, T0), T0);
    engine.observe(new_group(2, T0), T0);
    engine.observe(Fact::GroupResolved { group_id: 2, at: T0 + S }, T0 + S);
    for i in 0..3 {
        engine.observe(group_event(1, Some("u"), T0 + i * S), T0 + i * S);
    }
    engine.observe(rate("checkout", 1000, 30, T0 + 10 * S), T0 + 10 * S);
    engine
        .add_silence(Silence {
            id: "quiet-search".into(),
            matchers: [("service".to_string(), "search".to_string())].into(),
            starts_at: T0,
            ends_at: T0 + H,
            comment: String::new(),
            created_by: "ana".into(),
        })
        .unwrap();
    engine.snooze(Snooze { group_id: 9, until: T0 + D });
    let e = endpoint("checkout", None);
    for hour in 0..30 {
        engine.observe(hourly(&e, T0 - 30 * H + hour * H, 1000, 5, 100.0), T0);
    }
    engine
}

/// What happens next, as the server would drive it.
fn next_hours(engine: &mut Engine) -> Vec<faultline_alert::Notification> {
    let mut sent = Vec::new();
    for i in 0..6 * 60 {
        let t = T0 + 20 * S + i * M;
        if i % 10 == 0 {
            // Issue 1 keeps happening, so its new-issue alert stays firing.
            sent.extend(engine.observe(group_event(1, Some("v"), t), t));
        }
        if i < 10 {
            sent.extend(engine.observe(group_event(1, Some("w"), t), t));
            sent.extend(engine.observe(rate("checkout", 1000, 60, t), t));
        }
        sent.extend(engine.tick(t));
    }
    sent
}

#[test]
fn state_round_trips_through_json_and_carries_on_identically() {
    let mut original = busy_engine();
    let state = original.state();
    let json = serde_json::to_string(&state).unwrap();
    let back: EngineState = serde_json::from_str(&json).unwrap();
    assert_eq!(back, state);

    let mut restored = Engine::restore(original.rules().to_vec(), back).unwrap();
    assert_eq!(restored.alerts(), original.alerts());
    assert_eq!(restored.history(), original.history());
    assert_eq!(restored.silences(), original.silences());
    assert_eq!(restored.snoozes(), original.snoozes());
    let states: Vec<AlertState> = restored.alerts().iter().map(|a| a.state).collect();
    assert_eq!(states, [AlertState::Firing, AlertState::Pending]);

    let expected = next_hours(&mut original);
    assert!(expected.iter().any(|n| n.kind == NotificationKind::Reminder));
    assert!(expected.iter().any(|n| n.rule_id == "hot"));
    assert!(expected.iter().any(|n| n.rule_id == "api-errors"));
    assert_eq!(next_hours(&mut restored), expected);
    assert_eq!(restored.state(), original.state());
}

#[test]
fn alerts_of_removed_rules_resolve_on_the_next_tick() {
    let engine = busy_engine();
    let fewer: Vec<_> = engine.rules().iter().filter(|r| r.id() != "new-issues").cloned().collect();
    let mut restored = Engine::restore(fewer, engine.state()).unwrap();
    let sent = restored.tick(T0 + M);
    assert_eq!(summary(&sent), [(NotificationKind::Resolved, "new-issues".to_string(), 1)]);
    assert!(sent[0].alerts[0].summary.ends_with("The rule was removed or changed."));
}

#[test]
fn a_rule_whose_window_changed_starts_its_counts_over() {
    let engine = busy_engine();
    let changed = rules(&RULES.replace("window = \"10m\"", "window = \"15m\""));
    let mut restored = Engine::restore(changed, engine.state()).unwrap();
    // Three events were counted before; under the new window they are gone.
    for i in 0..4 {
        let t = T0 + 20 * S + i * S;
        assert!(restored.observe(group_event(1, None, t), t).is_empty());
    }
    assert_eq!(summary(&restored.observe(group_event(1, None, T0 + 30 * S), T0 + 30 * S)).len(), 1);
}
