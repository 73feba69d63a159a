//! Rule config: the documented TOML parses, mistakes are refused with a
//! message naming the rule and the key.

use std::time::Duration;

use faultline_alert::engine::{AlertsConfig, Engine, Percentile, Rule, RuleError, RuleKind};
use faultline_alert::Severity;

use crate::support::*;

const EVERY_KIND: &str = r#"
[listen]
api = "127.0.0.1:8080"   # other sections of the config file are ignored

[[alerts.rules]]
id = "new-issues"
name = "New issue"
kind = "new_group"
filter = { service = "checkout", environment = "prod", exception_type = "*Error", level = "error" }
channels = ["slack-oncall"]
repeat_interval = "4h"

[[alerts.rules]]
id = "regressions"
kind = "regression"
resolve_after = "2h"

[[alerts.rules]]
id = "hot-issue"
kind = "group_frequency"
count = 100
window = "10m"
for = "1m"

[[alerts.rules]]
id = "many-users"
kind = "group_frequency"
distinct_users = 20

[[alerts.rules]]
id = "api-errors"
kind = "error_rate"
service = "checkout"
route = "/pay"
window = "5m"
min_requests = 20
warning = 0.02
critical = 0.05
resolve = 0.01

[[alerts.rules]]
id = "slow"
kind = "latency"
percentile = "p99"
threshold_ms = { warning = 300, critical = 800, resolve = 250 }
window = "10m"
min_requests = 50

[[alerts.rules]]
id = "site-down"
kind = "check_down"
check = "api-health"
consecutive = 3

[[alerts.rules]]
id = "cert"
kind = "cert_expiry"
days = 14
critical_days = 3

[[alerts.rules]]
id = "anomaly"
kind = "anomaly"
metric = "p95"
service = "checkout"
sensitivity = 3.0
min_requests = 100
"#;

#[test]
fn every_kind_parses_with_its_defaults() {
    let rules = AlertsConfig::from_toml(EVERY_KIND).unwrap().rules;
    let kinds: Vec<RuleKind> = rules.iter().map(|r| r.kind()).collect();
    assert_eq!(
        kinds,
        [
            RuleKind::NewGroup,
            RuleKind::Regression,
            RuleKind::GroupFrequency,
            RuleKind::GroupFrequency,
            RuleKind::ErrorRate,
            RuleKind::Latency,
            RuleKind::CheckDown,
            RuleKind::CertExpiry,
            RuleKind::Anomaly,
        ]
    );
    let by_id = |id: &str| rules.iter().find(|r| r.id() == id).unwrap();
    assert_eq!(by_id("new-issues").display_name(), "New issue");
    assert_eq!(by_id("regressions").display_name(), "regressions");
    assert_eq!(by_id("new-issues").repeat_interval(), Duration::from_secs(4 * 3600));
    assert_eq!(by_id("cert").repeat_interval(), Duration::from_secs(24 * 3600));
    assert_eq!(by_id("regressions").resolve_after(), Duration::from_secs(7200));
    assert_eq!(by_id("new-issues").resolve_after(), Duration::from_secs(3600));
    assert_eq!(by_id("hot-issue").pending_for(), Duration::from_secs(60));
    assert_eq!(by_id("many-users").window(), Duration::from_secs(3600));
    assert_eq!(by_id("slow").percentile(), Percentile::P99);
    assert_eq!(by_id("slow").thresholds().resolve_level(), Some(250.0));
    assert_eq!(by_id("api-errors").thresholds().critical, Some(0.05));
    assert_eq!(by_id("site-down").single_severity(), Severity::Critical);
    assert_eq!(by_id("new-issues").single_severity(), Severity::Warning);

    let engine = Engine::new(rules.clone()).unwrap();
    assert_eq!(engine.channels("new-issues"), ["slack-oncall".to_string()]);
    assert!(engine.channels("nope").is_empty());
    assert_eq!(
        engine.endpoint_windows(),
        [Duration::from_secs(300), Duration::from_secs(600), Duration::from_secs(3600)]
    );
    assert!(engine.wants_hourly());

    // Rules serialize back to the same rules (the API can show them).
    let json = serde_json::to_string(&rules).unwrap();
    let back: Vec<Rule> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, rules);
}

fn refused(toml: &str) -> String {
    match AlertsConfig::from_toml(toml) {
        Ok(config) => panic!("accepted {config:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn unknown_keys_are_refused_by_name() {
    let message = refused("[[alerts.rules]]\nid = \"a\"\nkind = \"new_group\"\nchanels = [\"x\"]\n");
    assert!(message.contains("chanels"), "{message}");
    let message =
        refused("[[alerts.rules]]\nid = \"a\"\nkind = \"new_group\"\nfilter = { servce = \"x\" }\n");
    assert!(message.contains("servce"), "{message}");
    let message = refused("[[alerts.rules]]\nid = \"a\"\nkind = \"new_issue\"\n");
    assert!(message.contains("new_issue"), "{message}");
    let message =
        refused("[[alerts.rules]]\nid = \"a\"\nkind = \"new_group\"\nrepeat_interval = \"4 hourz\"\n");
    assert!(message.contains("invalid duration"), "{message}");
}

#[test]
fn mistakes_are_named() {
    let cases: &[(&str, &str)] = &[
        ("id = \"\"\nkind = \"new_group\"", "empty id"),
        ("id = \"a b\"\nkind = \"new_group\"", "ids may only hold"),
        (
            "id = \"a\"\nkind = \"latency\"\ncount = 3\nthreshold_ms = { warning = 1 }",
            "`count` does not apply to latency rules",
        ),
        ("id = \"a\"\nkind = \"new_group\"\nfor = \"5m\"", "new issues and regressions fire at once"),
        ("id = \"a\"\nkind = \"new_group\"\nservice = \"x\"", "filter = { service"),
        ("id = \"a\"\nkind = \"latency\"\nwarning = 300", "threshold_ms = { warning"),
        ("id = \"a\"\nkind = \"latency\"", "latency rules need `threshold_ms`"),
        ("id = \"a\"\nkind = \"error_rate\"", "error_rate rules need `warning`"),
        ("id = \"a\"\nkind = \"error_rate\"\nwarning = 0.05\ncritical = 0.02", "must be below `critical`"),
        ("id = \"a\"\nkind = \"error_rate\"\nwarning = 0.02\nresolve = 0.03", "fire again in turn"),
        ("id = \"a\"\nkind = \"error_rate\"\nwarning = 5", "fraction between 0 and 1"),
        (
            "id = \"a\"\nkind = \"latency\"\nthreshold_ms = { warning = -1 }",
            "`threshold_ms.warning` must be a positive",
        ),
        ("id = \"a\"\nkind = \"group_frequency\"", "`count` (events in the window) or `distinct_users`"),
        ("id = \"a\"\nkind = \"group_frequency\"\ncount = 1\ndistinct_users = 2", "cannot be combined"),
        ("id = \"a\"\nkind = \"group_frequency\"\ncount = 0", "`count` must be at least 1"),
        ("id = \"a\"\nkind = \"group_frequency\"\ncount = 5\nwindow = \"30d\"", "`window` must be at most"),
        ("id = \"a\"\nkind = \"cert_expiry\"\ndays = 3\ncritical_days = 7", "fewer days than `days`"),
        ("id = \"a\"\nkind = \"anomaly\"\nsensitivity = 0", "`sensitivity` must be a positive"),
        ("id = \"a\"\nkind = \"check_down\"\nconsecutive = 0", "`consecutive` must be at least 1"),
        (
            "id = \"a\"\nkind = \"check_down\"\ncheck = 'api-\\d'",
            "`check` is not a usable pattern: unsupported escape",
        ),
        (
            "id = \"a\"\nkind = \"new_group\"\nfilter = { service = \"\" }",
            "`filter.service` is not a usable pattern",
        ),
        (
            "id = \"a\"\nkind = \"error_rate\"\nwarning = 0.1\nseverity = \"critical\"",
            "follows the warning and critical levels",
        ),
    ];
    for (rule, expected) in cases {
        let message = refused(&format!("[[alerts.rules]]\n{rule}\n"));
        assert!(message.contains(expected), "{rule:?}: {message:?} lacks {expected:?}");
        if !rule.starts_with("id = \"\"") {
            assert!(message.contains("alert rule"), "{message}");
        }
    }
}

#[test]
fn ids_are_unique_and_engine_refuses_invalid_rules() {
    let message = refused("[[alerts.rules]]\nid = \"a\"\nkind = \"new_group\"\n[[alerts.rules]]\nid = \"a\"\nkind = \"regression\"\n");
    assert!(message.contains("used by two rules"), "{message}");

    let mut rule = Rule::new("slow", RuleKind::Latency);
    assert!(matches!(Engine::new(vec![rule.clone()]), Err(RuleError::Missing { field: "threshold_ms", .. })));
    let Rule::Latency(latency) = &mut rule else { panic!("Rule::new(.., Latency) makes a latency rule") };
    latency.threshold_ms =
        Some(faultline_alert::engine::Thresholds { warning: Some(100.0), critical: None, resolve: None });
    assert!(Engine::new(vec![rule]).is_ok());
}

#[test]
fn an_empty_config_has_no_rules() {
    assert!(AlertsConfig::from_toml("").unwrap().rules.is_empty());
    let engine = engine("");
    assert!(engine.endpoint_windows().is_empty());
    assert!(!engine.wants_hourly());
}
