//! Uptime, incidents and the state tracker: pure functions over results.

use faultline_probe::{
    incidents, uptime, uptime_summary, CheckResult, CheckState, Incident, StateTracker, Transition,
};

const SEC: i64 = 1_000_000_000;
const DAY: i64 = 86_400 * SEC;

fn result(at: i64, ok: bool) -> CheckResult {
    CheckResult {
        check_id: "api".to_owned(),
        at,
        ok,
        latency_ms: 1.0,
        status_code: None,
        error: (!ok).then(|| format!("failure at {at}")),
        tls_days_left: None,
        tls_not_after: None,
    }
}

/// Results one second apart starting at `t0`, `+` for success, `-` for failure.
fn series(t0: i64, pattern: &str) -> Vec<CheckResult> {
    pattern.chars().enumerate().map(|(i, c)| result(t0 + i as i64 * SEC, c == '+')).collect()
}

#[test]
fn uptime_is_the_share_of_successes_in_the_window() {
    let results = series(0, "++-+");
    assert_eq!(uptime(&results, 0, 4 * SEC), Some(0.75));
    // from is inclusive, to exclusive.
    assert_eq!(uptime(&results, SEC, 3 * SEC), Some(0.5));
    assert_eq!(uptime(&results, 2 * SEC, 3 * SEC), Some(0.0));
    assert_eq!(uptime(&results, 3 * SEC, 100 * SEC), Some(1.0));
}

#[test]
fn uptime_without_results_is_none() {
    assert_eq!(uptime(&[], 0, DAY), None);
    let results = series(10 * SEC, "++");
    assert_eq!(uptime(&results, 0, 10 * SEC), None, "window before the results");
    assert_eq!(uptime(&results, 20 * SEC, 30 * SEC), None, "window after the results");
    assert_eq!(uptime(&results, 30 * SEC, 20 * SEC), None, "backwards window");
}

#[test]
fn uptime_when_all_down_is_zero() {
    assert_eq!(uptime(&series(0, "----"), 0, DAY), Some(0.0));
}

#[test]
fn summary_windows_end_at_now() {
    let now = 40 * DAY;
    let mut results = vec![result(now - 20 * DAY, false), result(now - 3 * DAY, false)];
    results.extend(series(now - 10 * SEC, "+++++++++++"));
    let summary = uptime_summary(&results, now);
    assert_eq!(summary.last_24h, Some(1.0), "the result stamped exactly now counts");
    assert_eq!(summary.last_7d, Some(11.0 / 12.0));
    assert_eq!(summary.last_30d, Some(11.0 / 13.0));
    assert_eq!(uptime_summary(&[], now).last_30d, None);
}

#[test]
fn no_results_no_incidents() {
    assert!(incidents(&[]).is_empty());
    assert!(incidents(&series(0, "+++")).is_empty());
}

#[test]
fn all_down_is_one_open_incident_from_the_beginning() {
    let found = incidents(&series(0, "---"));
    assert_eq!(
        found,
        [Incident {
            started_at: 0,
            ended_at: None,
            first_error: "failure at 0".to_owned(),
            failed_checks: 3
        }]
    );
}

#[test]
fn an_incident_runs_from_the_first_failure_to_the_next_success() {
    let found = incidents(&series(0, "++---++"));
    assert_eq!(
        found,
        [Incident {
            started_at: 2 * SEC,
            ended_at: Some(5 * SEC),
            first_error: format!("failure at {}", 2 * SEC),
            failed_checks: 3,
        }]
    );
}

#[test]
fn flapping_makes_one_incident_per_failure_run() {
    let found = incidents(&series(0, "-+-+--+-"));
    let spans: Vec<(i64, Option<i64>, u32)> =
        found.iter().map(|i| (i.started_at / SEC, i.ended_at.map(|e| e / SEC), i.failed_checks)).collect();
    assert_eq!(spans, [(0, Some(1), 1), (2, Some(3), 1), (4, Some(6), 2), (7, None, 1)]);
}

#[test]
fn a_failure_without_text_still_has_a_first_error() {
    let mut failed = result(0, false);
    failed.error = None;
    assert_eq!(incidents(&[failed])[0].first_error, "check failed");
}

#[test]
fn the_tracker_reports_transitions_and_counts_failures_in_a_row() {
    let mut tracker = StateTracker::new();
    assert_eq!(tracker.state(), CheckState::Unknown);
    let results = series(0, "+--+-");

    assert_eq!(tracker.observe(&results[0]), None, "up from unknown is not a transition");
    assert_eq!(tracker.state(), CheckState::Up);

    assert_eq!(
        tracker.observe(&results[1]),
        Some(Transition::Down { at: SEC, error: format!("failure at {SEC}") })
    );
    assert_eq!(tracker.consecutive_failures(), 1);
    assert_eq!(tracker.observe(&results[2]), None, "still down");
    assert_eq!(tracker.consecutive_failures(), 2);
    assert_eq!(tracker.open_incident().map(|i| i.failed_checks), Some(2));
    assert_eq!(tracker.state(), CheckState::Down);

    assert_eq!(tracker.observe(&results[3]), Some(Transition::Up { at: 3 * SEC, down_since: SEC }));
    assert_eq!(tracker.consecutive_failures(), 0);
    assert_eq!(tracker.open_incident(), None);

    assert!(matches!(tracker.observe(&results[4]), Some(Transition::Down { at, .. }) if at == 4 * SEC));
}

#[test]
fn a_failed_first_result_is_a_down_transition() {
    let mut tracker = StateTracker::new();
    assert!(matches!(tracker.observe(&result(0, false)), Some(Transition::Down { at: 0, .. })));
}

#[test]
fn replay_restores_the_state_and_agrees_with_incidents() {
    let results = series(0, "+--+---");
    let tracker = StateTracker::replay(&results);
    assert_eq!(tracker.state(), CheckState::Down);
    assert_eq!(tracker.consecutive_failures(), 3);
    assert_eq!(tracker.open_incident(), incidents(&results).last());
}
