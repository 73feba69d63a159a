#![allow(clippy::unwrap_used)]

use faultline_model::{parse_rfc3339, GroupStatus};

use super::*;
use crate::report::{Period, Summary, REPORT_VERSION};

fn t(text: &str) -> UnixNanos {
    parse_rfc3339(text).unwrap()
}

fn group(id: u64, title: &str, events: u64, previous: u64, new: bool) -> GroupLine {
    GroupLine {
        id,
        title: title.into(),
        service: "checkout".into(),
        culprit: "app.cart in lock".into(),
        status: GroupStatus::Unresolved,
        first_seen: t("2025-01-02T08:14:00Z"),
        events,
        previous_events: previous,
        total_events: events + previous,
        new,
        url: format!("/issues/{id}"),
    }
}

fn sample() -> Report {
    let period = Period { from: t("2025-01-01T09:00:00Z"), to: t("2025-01-02T09:00:00Z") };
    Report {
        version: REPORT_VERSION,
        generated_at: period.to,
        period,
        previous_period: period.previous(),
        period_seconds: period.seconds(),
        summary: Summary {
            events: 1234,
            previous_events: 1000,
            events_change: Some(0.234),
            new_groups: 1,
            previous_new_groups: 0,
        },
        new_groups: vec![group(42, "CartError: cart <num> is locked", 17, 0, true)],
        top_groups: vec![
            group(7, "TimeoutError: upstream\ntimed out", 1130, 1000, false),
            group(42, "CartError: cart <num> is locked", 17, 0, true),
        ],
        services: vec![
            ServiceLine {
                service: "checkout".into(),
                requests: 120_000,
                previous_requests: 100_000,
                requests_change: Some(0.2),
                errors: 2520,
                error_rate: Some(0.021),
                previous_error_rate: Some(0.009),
                error_rate_change: Some(0.012),
                p95_ms: Some(183.2),
                previous_p95_ms: Some(208.0),
                p95_change: Some(-0.119),
            },
            ServiceLine {
                service: "search".into(),
                requests: 40,
                previous_requests: 0,
                requests_change: None,
                errors: 0,
                error_rate: Some(0.0),
                previous_error_rate: None,
                error_rate_change: None,
                p95_ms: Some(4.25),
                previous_p95_ms: None,
                p95_change: None,
            },
        ],
        checks: vec![CheckLine {
            id: "api-health".into(),
            kind: "http".into(),
            uptime: Some(0.9986),
            previous_uptime: Some(1.0),
            uptime_change: Some(-0.0014),
            runs: 1440,
            failures: 2,
        }],
    }
}

#[test]
fn renders_aligned_tables_with_changes() {
    let text = render_text(&sample());
    let expected = "\
Faultline report: last 24h
2025-01-01 09:00 to 2025-01-02 09:00 UTC, compared with the 24h before

  Error events  1,234  ▲ +23%  (1,000 before)
  New issues        1          (0 before)

NEW ISSUES
  ID   SERVICE   EVENTS  FIRST SEEN        TITLE
  #42  checkout      17  2025-01-02 08:14  CartError: cart <num> is locked

TOP ISSUES BY EVENTS
  ID   SERVICE   EVENTS  BEFORE  CHANGE  TITLE
  #7   checkout   1,130   1,000  ▲ +13%  TimeoutError: upstream timed out
  #42  checkout      17       0  new     CartError: cart <num> is locked

SERVICES
  SERVICE   REQUESTS  CHANGE  ERROR RATE  CHANGE         P95  CHANGE
  checkout   120,000  ▲ +20%       2.10%  ▲ +1.20 pp  183 ms  ▼ -12%
  search          40  new          0.00%  –           4.2 ms  new

CHECKS
  CHECK       KIND  UPTIME   BEFORE  CHANGE       RUNS  FAILED
  api-health  http  99.86%  100.00%  ▼ -0.14 pp  1,440       2
";
    assert_eq!(text, expected);
}

#[test]
fn empty_report_says_so() {
    let mut report = sample();
    report.new_groups.clear();
    report.top_groups.clear();
    report.services.clear();
    report.checks.clear();
    report.summary =
        Summary { events: 0, previous_events: 0, events_change: None, new_groups: 0, previous_new_groups: 0 };
    let text = render_text(&report);
    assert!(text.contains("NEW ISSUES\n  none\n"), "{text}");
    assert!(text.contains("TOP ISSUES BY EVENTS\n  no error events\n"), "{text}");
    assert!(text.contains("SERVICES\n  no requests\n"), "{text}");
    assert!(!text.contains("CHECKS"), "{text}");
    assert!(text.contains("Error events  0  –  (0 before)"), "{text}");
}

#[test]
fn absolute_links_are_listed_and_hidden_new_issues_counted() {
    let mut report = sample();
    report.summary.new_groups = 25;
    report.link_to(Some("https://faultline.example.com/"));
    let text = render_text(&report);
    assert!(text.contains("  and 24 more\n"), "{text}");
    assert!(text.contains("  #42  https://faultline.example.com/issues/42\n"), "{text}");
}

#[test]
fn long_titles_are_cut() {
    let mut report = sample();
    report.top_groups[0].title = "E".repeat(200);
    let text = render_text(&report);
    let line = text.lines().find(|l| l.contains("EEEE")).unwrap();
    assert!(line.ends_with('…') && line.chars().count() < 140, "{line}");
}

#[test]
fn numbers_and_changes() {
    assert_eq!(count(0), "0");
    assert_eq!(count(999), "999");
    assert_eq!(count(1000), "1,000");
    assert_eq!(count(1_234_567), "1,234,567");
    assert_eq!(arrow_percent(Some(0.25)), "▲ +25%");
    assert_eq!(arrow_percent(Some(-0.035)), "▼ -3.5%");
    assert_eq!(arrow_percent(Some(0.0)), "= 0%");
    assert_eq!(arrow_percent(None), "–");
    assert_eq!(points(Some(0.012)), "▲ +1.20 pp");
    assert_eq!(points(Some(-0.0014)), "▼ -0.14 pp");
    assert_eq!(points(Some(0.0)), "= 0 pp");
    assert_eq!(period_name(86_400), "24h");
    assert_eq!(period_name(7 * 86_400), "7d");
    assert_eq!(period_name(3600), "1h");
    assert_eq!(period_name(90 * 60), "90m");
    assert_eq!(period_name(10), "10s");
}
