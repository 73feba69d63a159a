//! Fingerprint rules, one behavior per test.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use faultline_model::{ErrorEvent, EventSource, Grouping};
use serde_json::json;

use super::*;
use crate::{Grouper, GROUPING_VERSION};

// ---- helpers -----------------------------------------------------------------

fn event() -> ErrorEvent {
    ErrorEvent {
        span_name: Some("POST /orders".into()),
        ..ErrorEvent::blank("checkout", EventSource::SpanException, 1_700_000_000_000_000_000)
    }
}

fn typed(exception_type: &str, message: &str) -> ErrorEvent {
    ErrorEvent { exception_type: Some(exception_type.into()), message: Some(message.into()), ..event() }
}

/// A Java event whose root cause (a Hikari timeout raised through
/// `com.acme.shop.db.OrderRepository.save`) is wrapped in `wrapper`.
fn java_event(wrapper: &str) -> ErrorEvent {
    let trace = format!(
        "{wrapper}: order 42 failed
\tat com.acme.shop.OrderController.create(OrderController.java:55)
\tat org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:885)
Caused by: java.sql.SQLTransientConnectionException: Connection is not available, request timed out after 30000ms
\tat com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:181)
\tat com.acme.shop.db.OrderRepository.saveWithRetry(OrderRepository.java:31)
\tat com.acme.shop.OrderController.create(OrderController.java:52)
\t... 1 more
"
    );
    ErrorEvent {
        sdk_language: Some("java".into()),
        stacktrace: Some(trace),
        ..typed(wrapper, "order 42 failed")
    }
}

fn rule(fingerprint: &[&str]) -> FingerprintRule {
    FingerprintRule {
        fingerprint: fingerprint.iter().map(|s| s.to_string()).collect(),
        ..FingerprintRule::default()
    }
}

fn grouper(rules: Vec<FingerprintRule>) -> Grouper {
    Grouper::with_config(GroupingConfig { rules }).unwrap()
}

fn group(rules: Vec<FingerprintRule>, event: &ErrorEvent) -> Grouping {
    grouper(rules).group(event)
}

/// Whether a single rule with the given matcher applies to `event`.
fn applies(matcher: FingerprintRule, event: &ErrorEvent) -> bool {
    group(vec![matcher], event).method == "custom"
}

fn error_text(rules: Vec<FingerprintRule>) -> String {
    GroupingConfig { rules }.validate().unwrap_err().to_string()
}

// ---- matchers ----------------------------------------------------------------

#[test]
fn type_matches_the_event_type_or_any_type_in_the_chain() {
    let by_type = |pattern: &str| FingerprintRule { exception_type: Some(pattern.into()), ..rule(&["x"]) };
    assert!(applies(by_type("ConnectionError*"), &typed("ConnectionErrorTimeout", "boom")));
    assert!(!applies(by_type("ConnectionError*"), &typed("ValueError", "boom")));
    assert!(!applies(by_type("connectionerror*"), &typed("ConnectionError", "boom")), "case-sensitive");
    let wrapped = java_event("java.lang.RuntimeException");
    assert!(applies(by_type("java.sql.SQLTransient*"), &wrapped), "the root cause's type counts");
    assert!(applies(by_type("java.lang.RuntimeException"), &wrapped));
    assert!(!applies(by_type("*"), &event()), "an event without a type never matches a type matcher");
}

#[test]
fn message_matches_the_raw_message() {
    let by_message = |pattern: &str| FingerprintRule { message: Some(pattern.into()), ..rule(&["x"]) };
    assert!(applies(by_message("*timed out*"), &typed("Error", "read timed out after 30s")));
    assert!(applies(by_message("User 42 *"), &typed("NotFound", "User 42 not found")), "not parameterized");
    assert!(!applies(by_message("User <num> *"), &typed("NotFound", "User 42 not found")));
    assert!(applies(by_message("*request timed out*"), &java_event("java.lang.RuntimeException")));
    assert!(!applies(by_message("*"), &ErrorEvent { message: None, ..event() }));
}

#[test]
fn service_matches_service_name() {
    let by_service = |pattern: &str| FingerprintRule { service: Some(pattern.into()), ..rule(&["x"]) };
    assert!(applies(by_service("checkout"), &event()));
    assert!(applies(by_service("check*"), &event()));
    assert!(!applies(by_service("billing"), &event()));
    assert!(!applies(by_service("check"), &event()), "the whole name must match");
}

#[test]
fn function_matches_any_frame() {
    let by_function = |pattern: &str| FingerprintRule { function: Some(pattern.into()), ..rule(&["x"]) };
    let event = java_event("java.lang.RuntimeException");
    assert!(applies(by_function("*Retry*"), &event), "a frame below the top");
    assert!(applies(by_function("getConnection"), &event), "library frames count too");
    assert!(applies(by_function("service"), &event), "frames of the outer exception count too");
    assert!(!applies(by_function("*retry*"), &event), "case-sensitive");
    assert!(!applies(by_function("*"), &typed("Error", "no trace")));
}

#[test]
fn module_matches_any_frame() {
    let by_module = |pattern: &str| FingerprintRule { module: Some(pattern.into()), ..rule(&["x"]) };
    let event = java_event("java.lang.RuntimeException");
    assert!(applies(by_module("com.acme.shop.db.*"), &event));
    assert!(applies(by_module("com.zaxxer.*"), &event));
    assert!(!applies(by_module("com.acme.billing.*"), &event));
}

#[test]
fn attributes_match_own_then_resource_values() {
    let by_attributes = |pairs: &[(&str, &str)]| FingerprintRule {
        attributes: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        ..rule(&["x"])
    };
    let mut event = typed("Error", "boom");
    event.attributes.insert("db.system".into(), json!("postgresql"));
    event.attributes.insert("http.response.status_code".into(), json!(503));
    event.attributes.insert("retry.last".into(), json!(true));
    event.attributes.insert("tags".into(), json!(["a", "b"]));
    event.resource.insert("deployment.environment".into(), json!("production"));
    event.resource.insert("db.system".into(), json!("mysql"));
    assert!(applies(by_attributes(&[("db.system", "postgresql")]), &event));
    assert!(!applies(by_attributes(&[("db.system", "mysql")]), &event), "the event's own value comes first");
    assert!(applies(by_attributes(&[("deployment.environment", "prod*")]), &event), "resource fallback");
    assert!(applies(by_attributes(&[("http.response.status_code", "50?")]), &event), "numbers as text");
    assert!(applies(by_attributes(&[("retry.last", "true")]), &event), "booleans as text");
    assert!(!applies(by_attributes(&[("tags", "*")]), &event), "arrays never match");
    assert!(!applies(by_attributes(&[("missing", "*")]), &event), "a missing attribute never matches");
    assert!(applies(by_attributes(&[("db.system", "postgresql"), ("retry.last", "true")]), &event));
    assert!(!applies(by_attributes(&[("db.system", "postgresql"), ("retry.last", "false")]), &event));
}

#[test]
fn every_given_matcher_must_match() {
    let both = FingerprintRule {
        exception_type: Some("ConnectionError".into()),
        message: Some("*timed out*".into()),
        service: Some("checkout".into()),
        ..rule(&["x"])
    };
    assert!(applies(both.clone(), &typed("ConnectionError", "read timed out")));
    assert!(!applies(both.clone(), &typed("ConnectionError", "connection refused")), "message fails");
    assert!(!applies(both.clone(), &typed("ValueError", "read timed out")), "type fails");
    let other_service =
        ErrorEvent { service: "billing".into(), ..typed("ConnectionError", "read timed out") };
    assert!(!applies(both, &other_service), "service fails");
}

// ---- order and precedence ----------------------------------------------------

#[test]
fn rules_are_tried_in_order_and_the_first_match_wins() {
    let timeouts = FingerprintRule { message: Some("*timed out*".into()), ..rule(&["timeouts"]) };
    let connections =
        FingerprintRule { exception_type: Some("Connection*".into()), ..rule(&["connections"]) };
    let event = typed("ConnectionError", "read timed out");
    let first = group(vec![timeouts.clone(), connections.clone()], &event);
    let second = group(vec![connections.clone(), timeouts.clone()], &event);
    assert_eq!(first.fingerprint, group(vec![timeouts.clone()], &event).fingerprint);
    assert_eq!(second.fingerprint, group(vec![connections.clone()], &event).fingerprint);
    assert_ne!(first.fingerprint, second.fingerprint);
    let refused = typed("ConnectionError", "refused");
    assert_eq!(
        group(vec![timeouts, connections.clone()], &refused).fingerprint,
        group(vec![connections], &refused).fingerprint,
        "a rule that does not match is skipped"
    );
}

#[test]
fn the_sdk_fingerprint_attribute_still_wins() {
    let mut event = typed("ConnectionError", "read timed out");
    event.attributes.insert("error.fingerprint".into(), json!(["from-the-code"]));
    let catch_all =
        FingerprintRule { service: Some("*".into()), title: Some("Rule title".into()), ..rule(&["rule"]) };
    let with_rule = group(vec![catch_all], &event);
    assert_eq!(with_rule, Grouper::new().group(&event), "the rule changes nothing, not even the title");
    assert_eq!(with_rule.method, "custom");
}

#[test]
fn events_no_rule_matches_group_as_without_rules() {
    let rules = vec![FingerprintRule { exception_type: Some("Nope".into()), ..rule(&["x"]) }];
    let event = java_event("java.lang.RuntimeException");
    assert_eq!(group(rules, &event), Grouper::new().group(&event));
    assert_eq!(
        Grouper::with_config(GroupingConfig::default()).unwrap().group(&event),
        Grouper::new().group(&event)
    );
}

// ---- fingerprints ------------------------------------------------------------

#[test]
fn without_default_the_rule_replaces_the_fingerprint_and_merges() {
    let merge = FingerprintRule { message: Some("*timed out*".into()), ..rule(&["database-timeouts"]) };
    let a = group(vec![merge.clone()], &typed("ConnectionError", "connect timed out"));
    let b = group(vec![merge.clone()], &typed("ReadTimeout", "read timed out after 30s"));
    let c = group(vec![merge], &java_event("java.lang.RuntimeException"));
    assert_eq!(a.fingerprint, b.fingerprint);
    assert_eq!(a.fingerprint, c.fingerprint);
    assert_eq!((a.method.as_str(), a.version), ("custom", GROUPING_VERSION));
}

#[test]
fn with_default_the_rule_splits_the_default_groups() {
    let split =
        FingerprintRule { exception_type: Some("*".into()), ..rule(&["{{ default }}", "{{ route }}"]) };
    let on = |route: &str, message: &str| ErrorEvent {
        http_route: Some(route.into()),
        ..typed("KeyError", message)
    };
    let orders = group(vec![split.clone()], &on("/orders", "'sku'"));
    let orders_again = group(vec![split.clone()], &on("/orders", "'id'"));
    let carts = group(vec![split.clone()], &on("/carts", "'sku'"));
    let other_error = group(vec![split], &on("/orders", "something else"));
    assert_eq!(orders.fingerprint, orders_again.fingerprint, "one default group, one route: one issue");
    assert_ne!(orders.fingerprint, carts.fingerprint, "split by route");
    assert_ne!(orders.fingerprint, other_error.fingerprint, "different default groups stay apart");
    assert_ne!(orders.fingerprint, Grouper::new().group(&on("/orders", "'sku'")).fingerprint);
    assert_eq!(orders.method, "custom");
}

#[test]
fn default_placeholder_is_the_fingerprint_without_rules() {
    let event = java_event("java.lang.RuntimeException");
    let only_default = FingerprintRule { service: Some("*".into()), ..rule(&["{{ default }}"]) };
    let expected =
        Variant { method: Method::Custom, components: vec![Grouper::new().group(&event).fingerprint] };
    assert_eq!(group(vec![only_default], &event).fingerprint, expected.fingerprint("checkout"));
}

#[test]
fn rule_fingerprints_are_scoped_by_service() {
    let merge = FingerprintRule { message: Some("*timed out*".into()), ..rule(&["database-timeouts"]) };
    let checkout = group(vec![merge.clone()], &typed("Timeout", "timed out"));
    let billing =
        group(vec![merge], &ErrorEvent { service: "billing".into(), ..typed("Timeout", "timed out") });
    assert_ne!(checkout.fingerprint, billing.fingerprint);
}

#[test]
fn rule_and_sdk_attribute_with_the_same_elements_share_a_group() {
    let rule = FingerprintRule { message: Some("*timed out*".into()), ..rule(&["database-timeouts"]) };
    let by_rule = group(vec![rule], &typed("Timeout", "timed out"));
    let mut tagged = typed("Other", "x");
    tagged.attributes.insert("faultline.fingerprint".into(), json!("database-timeouts"));
    assert_eq!(by_rule.fingerprint, Grouper::new().group(&tagged).fingerprint);
}

/// The fingerprint a catch-all rule with `elements` gives `event`.
fn fingerprint_of(elements: &[&str], event: &ErrorEvent) -> String {
    group(vec![FingerprintRule { service: Some("*".into()), ..rule(elements) }], event).fingerprint
}

/// The fingerprint of literal `elements` (what a placeholder should expand to).
fn literal(elements: &[&str], service: &str) -> String {
    let components = elements.iter().map(|s| s.to_string()).collect();
    Variant { method: Method::Custom, components }.fingerprint(service)
}

#[test]
fn type_placeholder_is_the_title_type() {
    let java = java_event("java.lang.RuntimeException");
    assert_eq!(
        fingerprint_of(&["t-{{ type }}"], &java),
        literal(&["t-java.lang.RuntimeException"], "checkout")
    );
    let untyped = ErrorEvent { message: Some("x".into()), ..event() };
    assert_eq!(
        fingerprint_of(&["t-{{ type }}"], &untyped),
        literal(&["t-"], "checkout"),
        "empty when absent"
    );
}

#[test]
fn message_placeholder_is_parameterized() {
    let a = typed("NotFound", "User 42 not found");
    let b = typed("NotFound", "User 97 not found");
    assert_eq!(fingerprint_of(&["{{ message }}"], &a), literal(&["User <num> not found"], "checkout"));
    assert_eq!(fingerprint_of(&["{{ message }}"], &a), fingerprint_of(&["{{ message }}"], &b));
}

#[test]
fn service_and_route_placeholders() {
    let event = ErrorEvent { http_route: Some("/orders/{id}".into()), ..typed("E", "m") };
    assert_eq!(fingerprint_of(&["{{ service }}"], &event), literal(&["checkout"], "checkout"));
    assert_eq!(fingerprint_of(&["{{ route }}"], &event), literal(&["/orders/{id}"], "checkout"));
    let span_only = typed("E", "m");
    assert_eq!(
        fingerprint_of(&["{{ route }}"], &span_only),
        literal(&["POST /orders"], "checkout"),
        "span name"
    );
}

#[test]
fn function_and_module_placeholders_are_the_top_in_app_frame() {
    let event = java_event("java.lang.RuntimeException");
    assert_eq!(fingerprint_of(&["{{ function }}"], &event), literal(&["saveWithRetry"], "checkout"));
    assert_eq!(
        fingerprint_of(&["{{ module }}.{{ function }}"], &event),
        literal(&["com.acme.shop.db.OrderRepository.saveWithRetry"], "checkout")
    );
    let no_trace = typed("E", "m");
    assert_eq!(fingerprint_of(&["f{{ function }}m{{ module }}"], &no_trace), literal(&["fm"], "checkout"));
}

// ---- titles ------------------------------------------------------------------

#[test]
fn title_is_overridden_only_when_given() {
    let event = typed("ConnectionError", "read timed out");
    let titled = FingerprintRule { title: Some("Database timeouts".into()), ..rule(&["x"]) };
    let with_title = FingerprintRule { message: Some("*timed out*".into()), ..titled };
    let without = FingerprintRule { message: Some("*timed out*".into()), ..rule(&["x"]) };
    assert_eq!(group(vec![with_title], &event).title, "Database timeouts");
    let plain = group(vec![without], &event);
    assert_eq!(plain.title, "ConnectionError: read timed out");
    assert_eq!(plain.culprit, Grouper::new().group(&event).culprit);
}

// ---- validation ----------------------------------------------------------------

#[test]
fn a_rule_without_matchers_is_refused() {
    let valid = FingerprintRule { service: Some("*".into()), ..rule(&["x"]) };
    let text = error_text(vec![valid, rule(&["x"])]);
    assert!(text.starts_with("grouping rule 2: the rule has no matcher"), "{text}");
    let empty_attributes = FingerprintRule { attributes: BTreeMap::new(), ..rule(&["x"]) };
    assert_eq!(
        GroupingConfig { rules: vec![empty_attributes] }.validate(),
        Err(RuleError::NoMatcher { rule: 1 })
    );
}

#[test]
fn empty_fingerprints_and_elements_are_refused() {
    let no_elements = FingerprintRule { service: Some("*".into()), ..rule(&[]) };
    let text = error_text(vec![no_elements]);
    assert!(text.starts_with("grouping rule 1: `fingerprint` is empty"), "{text}");
    let blank = FingerprintRule { service: Some("*".into()), ..rule(&["ok", " "]) };
    assert_eq!(error_text(vec![blank]), "grouping rule 1: fingerprint element 2 is an empty string");
}

#[test]
fn unknown_placeholders_are_refused_with_the_known_ones() {
    let typo = FingerprintRule { service: Some("*".into()), ..rule(&["{{ fuction }}"]) };
    assert_eq!(
        error_text(vec![typo]),
        "grouping rule 1: unknown placeholder `{{ fuction }}` in fingerprint element \"{{ fuction }}\"; \
         known placeholders: {{ default }}, {{ type }}, {{ message }}, {{ service }}, {{ route }}, \
         {{ function }}, {{ module }}"
    );
    let unclosed = FingerprintRule { service: Some("*".into()), ..rule(&["x-{{ type"]) };
    assert_eq!(
        error_text(vec![unclosed]),
        "grouping rule 1: fingerprint element \"x-{{ type\" opens `{{` without a closing `}}`"
    );
}

#[test]
fn bad_globs_are_refused_naming_the_field() {
    let regex_like = FingerprintRule { message: Some(r"timeout \d+".into()), ..rule(&["x"]) };
    let text = error_text(vec![regex_like]);
    assert!(
        text.starts_with(
            r#"grouping rule 1: bad pattern for `message` ("timeout \\d+"): unsupported escape `\d`"#
        ),
        "{text}"
    );
    let empty = FingerprintRule { exception_type: Some(String::new()), ..rule(&["x"]) };
    assert_eq!(
        error_text(vec![empty]),
        "grouping rule 1: bad pattern for `type` (\"\"): the pattern is empty; use \"*\" to match any value"
    );
    let attribute = FingerprintRule {
        attributes: [("db.system".to_string(), "post\\".to_string())].into_iter().collect(),
        ..rule(&["x"])
    };
    let text = error_text(vec![attribute]);
    assert!(text.starts_with("grouping rule 1: bad pattern for `attributes.\"db.system\"`"), "{text}");
}

#[test]
fn empty_titles_are_refused() {
    let blank = FingerprintRule { service: Some("*".into()), title: Some("  ".into()), ..rule(&["x"]) };
    assert_eq!(
        GroupingConfig { rules: vec![blank.clone()] }.validate(),
        Err(RuleError::EmptyTitle { rule: 1 })
    );
    assert!(Grouper::with_config(GroupingConfig { rules: vec![blank] }).is_err());
}

// ---- configuration file ----------------------------------------------------------

/// The server embeds the config under `[grouping]`; this stands in for it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerConfig {
    #[serde(default)]
    grouping: GroupingConfig,
}

const README_EXAMPLE: &str = r#"
[[grouping.rules]]
# every given matcher must match (AND); glob patterns with * and ?, case-sensitive
type = "ConnectionError*"          # exception type
message = "*timed out*"            # message (raw, unparameterized)
service = "checkout"               # service.name
function = "*retry*"               # any frame's function (in the parsed stack)
module = "app.db.*"                # any frame's module
attributes = { "db.system" = "postgresql" }   # attribute (event's own, then resource) equals glob
fingerprint = ["database-timeouts", "{{ default }}"]   # what to set
title = "Database timeouts"        # optional: override the group title
"#;

#[test]
fn the_documented_example_deserializes_and_validates() {
    let config: ServerConfig = toml::from_str(README_EXAMPLE).unwrap();
    let rule = &config.grouping.rules[0];
    assert_eq!(rule.exception_type.as_deref(), Some("ConnectionError*"));
    assert_eq!(rule.message.as_deref(), Some("*timed out*"));
    assert_eq!(rule.service.as_deref(), Some("checkout"));
    assert_eq!(rule.function.as_deref(), Some("*retry*"));
    assert_eq!(rule.module.as_deref(), Some("app.db.*"));
    assert_eq!(rule.attributes.get("db.system").map(String::as_str), Some("postgresql"));
    assert_eq!(rule.fingerprint, ["database-timeouts", "{{ default }}"]);
    assert_eq!(rule.title.as_deref(), Some("Database timeouts"));
    config.grouping.validate().unwrap();
}

#[test]
fn the_documented_example_groups_a_matching_event() {
    let config: ServerConfig = toml::from_str(README_EXAMPLE).unwrap();
    let grouper = Grouper::with_config(config.grouping).unwrap();
    let trace = "ConnectionErrorTimeout: connect timed out
\tat app.db.ConnectionPool.connect(ConnectionPool.java:30)
\tat app.db.ConnectionPool.withretry(ConnectionPool.java:10)
\tat app.orders.OrderService.save(OrderService.java:5)
";
    let mut event = ErrorEvent {
        sdk_language: Some("java".into()),
        stacktrace: Some(trace.into()),
        ..typed("ConnectionErrorTimeout", "connect timed out")
    };
    event.resource.insert("db.system".into(), json!("postgresql"));
    let grouping = grouper.group(&event);
    assert_eq!((grouping.method.as_str(), grouping.title.as_str()), ("custom", "Database timeouts"));
    event.resource.insert("db.system".into(), json!("mysql"));
    assert_eq!(grouper.group(&event).method, "stacktrace");
}

#[test]
fn config_typos_and_omissions_are_errors() {
    assert!(toml::from_str::<ServerConfig>("").unwrap().grouping.rules.is_empty());
    assert!(toml::from_str::<ServerConfig>("[grouping]\n").unwrap().grouping.rules.is_empty());
    let typo = "[[grouping.rules]]\nmesage = \"*\"\nfingerprint = [\"x\"]\n";
    let text = toml::from_str::<ServerConfig>(typo).unwrap_err().to_string();
    assert!(text.contains("unknown field `mesage`"), "{text}");
    let section_typo = "[grouping]\nrule = []\n";
    assert!(toml::from_str::<ServerConfig>(section_typo)
        .unwrap_err()
        .to_string()
        .contains("unknown field `rule`"));
    let missing = "[[grouping.rules]]\nmessage = \"*\"\n";
    let text = toml::from_str::<ServerConfig>(missing).unwrap_err().to_string();
    assert!(text.contains("missing field `fingerprint`"), "{text}");
}

// ---- bounds --------------------------------------------------------------------

#[test]
fn hostile_events_stay_fast() {
    let frames: String =
        (0..20_000).map(|i| format!("\tat com.acme.Deep{i}.call{i}(Deep.java:{i})\n")).collect();
    let trace = format!("java.lang.StackOverflowError: {}\n{frames}", "a".repeat(100_000));
    let event = ErrorEvent {
        sdk_language: Some("java".into()),
        stacktrace: Some(trace),
        ..typed("java.lang.StackOverflowError", &"a".repeat(1_000_000))
    };
    let rules: Vec<FingerprintRule> = (0..50)
        .map(|i| FingerprintRule {
            message: Some("*a*a*a*a*a*b*".into()),
            function: Some(format!("*nomatch{i}*")),
            module: Some("*.Nope*".into()),
            ..rule(&["x"])
        })
        .collect();
    let grouper = grouper(rules);
    let started = Instant::now();
    assert_eq!(grouper.group(&event).method, "stacktrace");
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
}
