//! Issue rules: new issues, regressions, frequency and distinct users.

use faultline_alert::engine::{Fact, Input};
use faultline_alert::{AlertState, NotificationKind, Severity};

use crate::support::*;

const NEW: &str = r#"
[[alerts.rules]]
id = "new-issues"
name = "New issue"
kind = "new_group"
filter = { service = "checkout", exception_type = "*Error", level = "ERROR" }
channels = ["slack-oncall"]
"#;

#[test]
fn a_new_issue_fires_once_with_labels_and_a_stable_id() {
    let mut engine = engine(NEW);
    let sent = engine.observe(new_group(42, T0), T0);
    assert_eq!(summary(&sent), [(NotificationKind::Firing, "new-issues".to_string(), 1)]);
    let n = &sent[0];
    assert_eq!(n.rule_name, "New issue");
    assert_eq!(n.severity, Severity::Warning);
    assert_eq!(n.created_at, T0);
    assert!(n.id.starts_with("new-issues-firing-"), "{}", n.id);
    let alert = &n.alerts[0];
    assert_eq!(alert.state, AlertState::Firing);
    assert_eq!(alert.key, "group_id=42");
    assert_eq!(alert.title, "New issue in checkout: KeyError: 'email' #42");
    assert!(alert.summary.contains("culprit: app.orders in parse"), "{}", alert.summary);
    assert_eq!(alert.group_id, Some(42));
    assert_eq!(alert.service.as_deref(), Some("checkout"));
    assert_eq!(alert.url, None);
    assert_eq!(alert.started_at, T0);
    for (label, value) in
        [("group_id", "42"), ("service", "checkout"), ("environment", "prod"), ("rule", "new-issues")]
    {
        assert_eq!(alert.labels.get(label).map(String::as_str), Some(value), "{label}");
    }

    // The same fact again (a replay) and more events: nothing new to say.
    assert!(engine.observe(new_group(42, T0), T0 + S).is_empty());
    assert!(engine.observe(group_event(42, None, T0 + 2 * S), T0 + 2 * S).is_empty());
    assert!(engine.tick(T0 + 10 * S).is_empty());
    assert_eq!(engine.alerts().len(), 1);

    // Another engine fed the same facts names the notification the same.
    let mut again = engine_with_same_rules();
    assert_eq!(again.observe(new_group(42, T0), T0 + 5 * S)[0].id, n.id);
}

fn engine_with_same_rules() -> faultline_alert::engine::Engine {
    engine(NEW)
}

#[test]
fn filters_select_issues() {
    let mut engine = engine(NEW);
    let mut other_service = issue(1, "search");
    other_service.title = "x".into();
    let mut not_an_error_type = issue(2, "checkout");
    not_an_error_type.exception_type = Some("Timeout".into());
    let mut no_type = issue(3, "checkout");
    no_type.exception_type = None;
    let mut warning_level = issue(4, "checkout");
    warning_level.level = "WARN".into();
    for issue in [other_service, not_an_error_type, no_type, warning_level] {
        assert!(engine.observe(Fact::NewGroup(occurrence(issue, None, T0)), T0).is_empty());
    }
    // `level = "ERROR"` matches the spans' lowercase `error` too.
    assert_eq!(engine.observe(new_group(5, T0), T0).len(), 1);
}

#[test]
fn reminders_wait_for_the_repeat_interval() {
    let mut engine = engine(NEW);
    engine.observe(new_group(42, T0), T0);
    // The issue keeps happening (so the alert stays firing) and the server
    // ticks every 10 seconds for nine hours.
    let mut sent = Vec::new();
    let mut t = T0 + 10 * S;
    while t <= T0 + 9 * H {
        if (t - T0) % (10 * M) == 0 {
            assert!(engine.observe(group_event(42, None, t), t).is_empty());
        }
        sent.extend(engine.tick(t).into_iter().map(|n| (t, n)));
        t += 10 * S;
    }
    let times: Vec<i64> = sent.iter().map(|(t, _)| (t - T0) / M).collect();
    assert_eq!(times, [4 * 60, 8 * 60], "reminders exactly every 4h");
    assert!(sent.iter().all(|(_, n)| n.kind == NotificationKind::Reminder && n.alerts.len() == 1));
    assert_ne!(sent[0].1.id, sent[1].1.id, "each reminder has its own id");
}

#[test]
fn no_reminders_when_the_interval_is_zero() {
    let mut engine = engine(&format!("{NEW}repeat_interval = \"0s\"\n"));
    engine.observe(new_group(42, T0), T0);
    for minute in (10..=300).step_by(10) {
        let t = T0 + minute * M;
        engine.observe(group_event(42, None, t), t);
        assert!(engine.tick(t).is_empty());
    }
}

#[test]
fn new_issue_alerts_resolve_when_resolved_or_quiet() {
    let mut engine = engine(NEW);
    engine.observe_all([new_group(1, T0).into(), new_group(2, T0).into()], T0);

    // Resolved by a person.
    let sent = engine.observe(Fact::GroupResolved { group_id: 1, at: T0 + M }, T0 + M);
    assert_eq!(summary(&sent), [(NotificationKind::Resolved, "new-issues".to_string(), 1)]);
    let resolved = &sent[0].alerts[0];
    assert_eq!(resolved.state, AlertState::Resolved);
    assert_eq!(resolved.resolved_at, Some(T0 + M));
    assert!(resolved.summary.ends_with("The issue was resolved."), "{}", resolved.summary);

    // Group 2 keeps happening for a while, then goes quiet for an hour.
    engine.observe(group_event(2, None, T0 + 30 * M), T0 + 30 * M);
    assert!(engine.tick(T0 + 90 * M - S).is_empty());
    let sent = engine.tick(T0 + 90 * M);
    assert_eq!(summary(&sent), [(NotificationKind::Resolved, "new-issues".to_string(), 1)]);
    assert!(sent[0].alerts[0].summary.ends_with("No events for 1h."), "{}", sent[0].alerts[0].summary);
    assert!(engine.alerts().is_empty());
    assert_eq!(engine.history().len(), 2);
}

#[test]
fn regressions_fire_on_their_own_rule() {
    let mut engine = engine(
        r#"
[[alerts.rules]]
id = "new"
kind = "new_group"
[[alerts.rules]]
id = "regressed"
kind = "regression"
severity = "critical"
"#,
    );
    let sent = engine.observe(Fact::Regression(occurrence(issue(7, "checkout"), None, T0)), T0);
    assert_eq!(summary(&sent), [(NotificationKind::Firing, "regressed".to_string(), 1)]);
    assert_eq!(sent[0].severity, Severity::Critical);
    assert!(sent[0].alerts[0].title.starts_with("Regression in checkout"));
    assert!(sent[0].alerts[0].summary.starts_with("A resolved issue is happening again."));
    // Once: the same fact again and further events add nothing.
    assert!(engine.observe(Fact::Regression(occurrence(issue(7, "checkout"), None, T0)), T0 + S).is_empty());
    assert!(engine.observe(group_event(7, None, T0 + 2 * S), T0 + 2 * S).is_empty());
    assert!(engine.tick(T0 + 10 * S).is_empty());
}

#[test]
fn alerts_of_one_rule_changing_together_are_one_notification() {
    let mut engine = engine(NEW);
    let facts: Vec<Input> = (1..=3).map(|id| new_group(id, T0).into()).collect();
    let sent = engine.observe_all(facts, T0);
    assert_eq!(summary(&sent), [(NotificationKind::Firing, "new-issues".to_string(), 3)]);
    let keys: Vec<&str> = sent[0].alerts.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(keys, ["group_id=1", "group_id=2", "group_id=3"]);
    // And they resolve together, in one notice.
    let sent = engine.tick(T0 + H);
    assert_eq!(summary(&sent), [(NotificationKind::Resolved, "new-issues".to_string(), 3)]);
}

const HOT: &str = r#"
[[alerts.rules]]
id = "hot"
kind = "group_frequency"
count = 100
window = "10m"
"#;

#[test]
fn frequency_fires_at_the_count_and_resolves_as_the_window_slides() {
    let mut engine = engine(HOT);
    // 99 events over five minutes: under the count.
    for i in 0..99 {
        let at = T0 + i * 3 * S;
        assert!(engine.observe(group_event(9, None, at), at).is_empty());
    }
    let at = T0 + 300 * S;
    let sent = engine.observe(group_event(9, None, at), at);
    assert_eq!(summary(&sent), [(NotificationKind::Firing, "hot".to_string(), 1)]);
    let alert = &sent[0].alerts[0];
    assert_eq!((alert.value, alert.threshold), (Some(100.0), Some(100.0)));
    assert!(alert.summary.starts_with("100 events in the last 10m"), "{}", alert.summary);

    // More events: still one alert, no new notice.
    for i in 0..20 {
        let at = T0 + 301 * S + i * S;
        assert!(engine.observe(group_event(9, None, at), at).is_empty());
    }
    assert!(engine.tick(T0 + 400 * S).is_empty());
    // The first events slide out of the 10-minute window.
    let sent = engine.tick(T0 + 12 * M);
    assert_eq!(summary(&sent), [(NotificationKind::Resolved, "hot".to_string(), 1)]);
    assert!(engine.alerts().is_empty());
}

#[test]
fn old_events_do_not_make_a_burst() {
    let mut engine = engine(HOT);
    // An SDK resends a batch from an hour ago.
    for i in 0..200 {
        assert!(engine.observe(group_event(9, None, T0 + i * S), T0 + H).is_empty());
    }
}

#[test]
fn frequency_respects_for() {
    let mut engine = engine(&format!("{HOT}for = \"2m\"\n"));
    for i in 0..100 {
        engine.observe(group_event(9, None, T0 + i * S), T0 + i * S);
    }
    let alerts = engine.alerts();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].state, AlertState::Pending);
    assert!(engine.tick(T0 + 99 * S + 2 * M - S).is_empty());
    // Still over the count two minutes after it first was: fires on the tick.
    let sent = engine.tick(T0 + 99 * S + 2 * M);
    assert_eq!(summary(&sent), [(NotificationKind::Firing, "hot".to_string(), 1)]);
}

#[test]
fn distinct_users_count_people_not_events() {
    let mut engine = engine(
        r#"
[[alerts.rules]]
id = "users"
kind = "group_frequency"
distinct_users = 20
window = "10m"
"#,
    );
    for i in 0..500 {
        assert!(engine.observe(group_event(3, Some("same-user"), T0 + i * S), T0 + i * S).is_empty());
    }
    for i in 0..18 {
        let user = format!("user-{i}");
        assert!(engine.observe(group_event(3, Some(&user), T0 + 500 * S), T0 + 500 * S).is_empty());
    }
    // Events without a user do not count.
    assert!(engine.observe(group_event(3, None, T0 + 501 * S), T0 + 501 * S).is_empty());
    let sent = engine.observe(group_event(3, Some("user-19"), T0 + 502 * S), T0 + 502 * S);
    assert_eq!(summary(&sent), [(NotificationKind::Firing, "users".to_string(), 1)]);
    assert!(sent[0].alerts[0].summary.starts_with("20 users affected in the last 10m"));
}
