//! The alert-rule form: which fields each rule kind takes, the form's
//! values to the same flat table the config file and the API accept, and
//! back. The engine's own conversion and validation decide what is valid;
//! this module only turns text boxes into typed values and says which box
//! a refusal is about.

use std::collections::BTreeMap;

use faultline_alert::engine::{Rule, RuleError, RuleKind};
use serde_json::{Map, Value};

/// Every kind, in the order the kind selector lists them.
pub const KINDS: [RuleKind; 8] = [
    RuleKind::NewGroup,
    RuleKind::Regression,
    RuleKind::GroupFrequency,
    RuleKind::ErrorRate,
    RuleKind::Latency,
    RuleKind::CheckDown,
    RuleKind::CertExpiry,
    RuleKind::Anomaly,
];

/// What a kind watches, in a few words for the selector.
pub fn kind_label(kind: RuleKind) -> &'static str {
    match kind {
        RuleKind::NewGroup => "New issue",
        RuleKind::Regression => "Regression (a resolved issue again)",
        RuleKind::GroupFrequency => "Frequent issue (events or users in a window)",
        RuleKind::ErrorRate => "Error rate of an endpoint or service",
        RuleKind::Latency => "Latency (p95 / p99) of an endpoint or service",
        RuleKind::CheckDown => "Active check down",
        RuleKind::CertExpiry => "TLS certificate close to expiry",
        RuleKind::Anomaly => "Anomaly against its own baseline",
    }
}

pub fn parse_kind(text: &str) -> Option<RuleKind> {
    KINDS.into_iter().find(|k| k.as_str() == text)
}

/// How a field's text becomes a value of the rule's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// A glob or a name, kept as written.
    Text,
    /// A humantime duration: `30s`, `5m`, `1h 30m`.
    Duration,
    /// A whole number.
    Whole,
    /// A decimal number.
    Number,
    /// A share of requests: `0.05` or `5%`.
    Fraction,
    /// One of a few words; the empty choice means the default.
    Choice(&'static [&'static str]),
}

/// One field of the form: its name is the key of the rule's table, dotted
/// for nested tables (`filter.service`, `threshold_ms.warning`).
#[derive(Debug)]
pub struct FieldDef {
    pub name: &'static str,
    pub label: &'static str,
    pub help: &'static str,
    pub placeholder: &'static str,
    pub input: Input,
    kinds: &'static [RuleKind],
}

use RuleKind::*;

const ISSUE_KINDS: &[RuleKind] = &[NewGroup, Regression, GroupFrequency];
const ENDPOINT_KINDS: &[RuleKind] = &[ErrorRate, Latency, Anomaly];
const ALL_KINDS: &[RuleKind] = &KINDS;
const SEVERITIES: &[&str] = &["", "warning", "critical"];

const fn field(
    name: &'static str,
    label: &'static str,
    input: Input,
    kinds: &'static [RuleKind],
    placeholder: &'static str,
    help: &'static str,
) -> FieldDef {
    FieldDef { name, label, help, placeholder, input, kinds }
}

/// The kind-specific fields (id, name and channels are common and drawn
/// apart), in the order the form shows them.
pub const FIELDS: &[FieldDef] = &[
    field(
        "filter.service",
        "Service",
        Input::Text,
        ISSUE_KINDS,
        "any service",
        "Glob over service.name, e.g. checkout or api-*",
    ),
    field("filter.environment", "Environment", Input::Text, ISSUE_KINDS, "any", "Glob, e.g. prod"),
    field("filter.exception_type", "Exception type", Input::Text, ISSUE_KINDS, "any", "Glob, e.g. *Error"),
    field(
        "filter.level",
        "Level",
        Input::Text,
        ISSUE_KINDS,
        "any",
        "Glob, compared case-insensitively, e.g. error",
    ),
    field(
        "count",
        "Events",
        Input::Whole,
        &[GroupFrequency],
        "",
        "Fire when one issue is seen more than this many times in the window",
    ),
    field(
        "distinct_users",
        "Distinct users",
        Input::Whole,
        &[GroupFrequency],
        "",
        "Or: more than this many users (enduser.id / user.id) in the window; not both",
    ),
    field(
        "service",
        "Service",
        Input::Text,
        ENDPOINT_KINDS,
        "every service",
        "Glob over service.name; one alert per service",
    ),
    field("environment", "Environment", Input::Text, ENDPOINT_KINDS, "any", "Glob"),
    field(
        "route",
        "Route",
        Input::Text,
        ENDPOINT_KINDS,
        "whole service",
        "Glob, e.g. /pay; /* makes one alert per route",
    ),
    field(
        "window",
        "Window",
        Input::Duration,
        &[GroupFrequency, ErrorRate, Latency],
        "5m (frequency rules: 1h)",
        "e.g. 5m, 1h",
    ),
    field(
        "min_requests",
        "Minimum requests",
        Input::Whole,
        ENDPOINT_KINDS,
        "20 (anomaly: 100 per hour)",
        "Fewer requests in the window say nothing",
    ),
    field(
        "metric",
        "Metric",
        Input::Choice(&["", "error_rate", "p95"]),
        &[Anomaly],
        "",
        "Default error_rate",
    ),
    field("percentile", "Percentile", Input::Choice(&["", "p95", "p99"]), &[Latency], "", "Default p95"),
    field(
        "warning",
        "Warning level",
        Input::Fraction,
        &[ErrorRate],
        "0.02",
        "Share of failed requests: 0.02 or 2%",
    ),
    field("critical", "Critical level", Input::Fraction, &[ErrorRate], "0.05", "Above the warning level"),
    field(
        "resolve",
        "Resolve below",
        Input::Fraction,
        &[ErrorRate],
        "warning level",
        "Hysteresis: at most the lowest alerting level",
    ),
    field("threshold_ms.warning", "Warning (ms)", Input::Number, &[Latency], "300", "Milliseconds"),
    field(
        "threshold_ms.critical",
        "Critical (ms)",
        Input::Number,
        &[Latency],
        "800",
        "Above the warning level",
    ),
    field(
        "threshold_ms.resolve",
        "Resolve below (ms)",
        Input::Number,
        &[Latency],
        "warning level",
        "Hysteresis",
    ),
    field("sensitivity", "Sensitivity", Input::Number, &[Anomaly], "3", "Robust z-score an hour must exceed"),
    field(
        "check",
        "Check",
        Input::Text,
        &[CheckDown, CertExpiry],
        "every check",
        "Glob over check ids, e.g. api-*",
    ),
    field("consecutive", "Failed runs in a row", Input::Whole, &[CheckDown], "3", ""),
    field("days", "Warning at days left", Input::Number, &[CertExpiry], "14", ""),
    field(
        "critical_days",
        "Critical at days left",
        Input::Number,
        &[CertExpiry],
        "3",
        "Fewer than the warning days",
    ),
    field(
        "severity",
        "Severity",
        Input::Choice(SEVERITIES),
        &[NewGroup, Regression, GroupFrequency, CheckDown, Anomaly],
        "",
        "Default warning (check_down: critical)",
    ),
    field(
        "resolve_after",
        "Resolve after quiet",
        Input::Duration,
        &[NewGroup, Regression],
        "1h",
        "Also resolves when the issue is resolved",
    ),
    field(
        "for",
        "Pending for",
        Input::Duration,
        &[GroupFrequency, ErrorRate, Latency, CheckDown, CertExpiry, Anomaly],
        "0s",
        "How long the condition must hold before firing",
    ),
    field(
        "repeat_interval",
        "Remind every",
        Input::Duration,
        ALL_KINDS,
        "4h (certificates: 24h)",
        "0s sends no reminders",
    ),
];

/// The fields a kind takes.
pub fn fields_for(kind: RuleKind) -> impl Iterator<Item = &'static FieldDef> {
    FIELDS.iter().filter(move |f| f.kinds.contains(&kind))
}

/// What the user typed, kept as text so a refused form shows it again.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleForm {
    pub kind: RuleKind,
    pub id: String,
    pub name: String,
    pub channels: Vec<String>,
    /// Kind-specific values by field name.
    pub values: BTreeMap<String, String>,
}

impl RuleForm {
    pub fn blank(kind: RuleKind) -> RuleForm {
        RuleForm {
            kind,
            id: String::new(),
            name: String::new(),
            channels: Vec::new(),
            values: BTreeMap::new(),
        }
    }

    pub fn value(&self, name: &str) -> &str {
        self.values.get(name).map_or("", String::as_str)
    }

    /// Reads an `application/x-www-form-urlencoded` body (or query): the
    /// kind, id, name, every ticked channel and every known field. Unknown
    /// names (the CSRF token among them) are left to the caller.
    pub fn from_pairs(pairs: impl Iterator<Item = (String, String)>, default_kind: RuleKind) -> RuleForm {
        let mut form = RuleForm::blank(default_kind);
        for (key, value) in pairs {
            match key.as_str() {
                "kind" => form.kind = parse_kind(&value).unwrap_or(form.kind),
                "id" => form.id = value,
                "name" => form.name = value,
                "channels" if !value.is_empty() => form.channels.push(value),
                other if FIELDS.iter().any(|f| f.name == other) => {
                    form.values.insert(key, value);
                }
                _ => {}
            }
        }
        form
    }

    /// A stored rule as the form shows it, for editing.
    pub fn from_rule(rule: &Rule) -> RuleForm {
        let table = serde_json::to_value(rule).unwrap_or(Value::Null);
        let mut form = RuleForm::blank(rule.kind());
        form.id = rule.id().to_string();
        form.name = rule.common().name.clone().unwrap_or_default();
        form.channels = rule.channels().to_vec();
        for f in fields_for(rule.kind()) {
            if let Some(v) = lookup(&table, f.name) {
                form.values.insert(f.name.to_string(), text_of(v));
            }
        }
        form
    }
}

/// Why the form could not become a rule, and the field it is about.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct FormError {
    /// A field name of [`FIELDS`], or `id`, `name`, `channels`.
    pub field: Option<String>,
    pub message: String,
}

impl FormError {
    pub fn new(field: Option<&str>, message: impl Into<String>) -> FormError {
        FormError { field: field.map(str::to_string), message: message.into() }
    }
}

/// The form as a rule, checked by the engine's own conversion and validation.
pub fn to_rule(form: &RuleForm) -> Result<Rule, FormError> {
    let table = to_table(form)?;
    let rule: Rule = serde_json::from_value(table).map_err(|e| FormError::new(None, e.to_string()))?;
    rule.validate().map_err(|e| FormError::new(error_field(&e).as_deref(), e.to_string()))?;
    Ok(rule)
}

/// The flat table the config file and the API take, from the form's text.
pub fn to_table(form: &RuleForm) -> Result<Value, FormError> {
    let mut table = Map::new();
    table.insert("id".into(), Value::String(form.id.trim().to_string()));
    table.insert("kind".into(), Value::String(form.kind.as_str().to_string()));
    if !form.name.trim().is_empty() {
        table.insert("name".into(), Value::String(form.name.trim().to_string()));
    }
    if !form.channels.is_empty() {
        table.insert("channels".into(), form.channels.iter().map(|c| Value::String(c.clone())).collect());
    }
    for f in fields_for(form.kind) {
        let text = form.value(f.name).trim();
        if text.is_empty() {
            continue;
        }
        let value = parse(f.input, text)
            .map_err(|problem| FormError::new(Some(f.name), format!("{}: {problem}", f.label)))?;
        insert_path(&mut table, f.name, value);
    }
    Ok(Value::Object(table))
}

/// One field's text as a JSON value, or what is wrong with it.
fn parse(input: Input, text: &str) -> Result<Value, String> {
    match input {
        Input::Text => Ok(Value::String(text.to_string())),
        Input::Duration => humantime::parse_duration(text)
            .map(|_| Value::String(text.to_string()))
            .map_err(|_| format!("{text:?} is not a duration; write it like 30s, 5m, 1h or 2d")),
        Input::Whole => {
            text.parse::<u64>().map(Value::from).map_err(|_| format!("{text:?} is not a whole number"))
        }
        Input::Number => number(text).map(Value::from).ok_or_else(|| format!("{text:?} is not a number")),
        Input::Fraction => {
            let value = match text.strip_suffix('%') {
                Some(percent) => number(percent.trim()).map(|p| p / 100.0),
                None => number(text),
            };
            value.map(Value::from).ok_or_else(|| format!("{text:?} is not a number like 0.05 or 5%"))
        }
        Input::Choice(choices) => match choices.iter().find(|c| **c == text) {
            Some(choice) => Ok(Value::String((*choice).to_string())),
            None => Err(format!("{text:?} is not one of {}", choices[1..].join(", "))),
        },
    }
}

/// A finite decimal number; `inf` and `NaN` are not thresholds.
fn number(text: &str) -> Option<f64> {
    text.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Sets `a.b` in nested tables.
fn insert_path(table: &mut Map<String, Value>, path: &str, value: Value) {
    match path.split_once('.') {
        None => {
            table.insert(path.to_string(), value);
        }
        Some((head, rest)) => {
            let inner = table.entry(head.to_string()).or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(inner) = inner {
                insert_path(inner, rest, value);
            }
        }
    }
}

fn lookup<'a>(table: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(table, |v, key| v.get(key)).filter(|v| !v.is_null())
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The form field an engine refusal is about, so the form can mark it.
fn error_field(e: &RuleError) -> Option<String> {
    let key = match e {
        RuleError::EmptyId | RuleError::BadId(_) | RuleError::DuplicateId(_) => "id",
        RuleError::NotForKind { field, .. }
        | RuleError::Missing { field, .. }
        | RuleError::BadValue { field, .. }
        | RuleError::BadGlob { field, .. } => field,
    };
    if key == "id" || key == "name" || key == "channels" || FIELDS.iter().any(|f| f.name == key) {
        return Some(key.to_string());
    }
    // `threshold_ms` missing as a whole: mark its first box.
    FIELDS
        .iter()
        .find(|f| f.name.strip_prefix(key).is_some_and(|rest| rest.starts_with('.')))
        .map(|f| f.name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(kind: RuleKind, id: &str, values: &[(&str, &str)]) -> RuleForm {
        let mut f = RuleForm::blank(kind);
        f.id = id.into();
        f.values = values.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        f
    }

    #[test]
    fn an_error_rate_form_becomes_the_rule_the_config_file_would_give() {
        let mut f = form(
            ErrorRate,
            "checkout-errors",
            &[
                ("service", "checkout"),
                ("window", "5m"),
                ("warning", "2%"),
                ("critical", "0.05"),
                ("for", ""),
            ],
        );
        f.channels = vec!["hook".into()];
        let rule = to_rule(&f).expect("valid");
        let from_toml: Rule = toml_rule(
            r#"id = "checkout-errors"
kind = "error_rate"
service = "checkout"
window = "5m"
warning = 0.02
critical = 0.05
channels = ["hook"]"#,
        );
        assert_eq!(rule, from_toml);
    }

    fn toml_rule(text: &str) -> Rule {
        toml::from_str(text).expect("rule from TOML")
    }

    #[test]
    fn nested_fields_fill_nested_tables() {
        let f = form(
            NewGroup,
            "new",
            &[("filter.service", "api-*"), ("filter.exception_type", "*Error"), ("severity", "critical")],
        );
        let table = to_table(&f).expect("table");
        assert_eq!(table["filter"]["service"], "api-*");
        assert_eq!(table["filter"]["exception_type"], "*Error");
        assert_eq!(table["severity"], "critical");
        let latency =
            form(Latency, "slow", &[("threshold_ms.warning", "300"), ("threshold_ms.critical", "800")]);
        let rule = to_rule(&latency).expect("valid latency rule");
        assert_eq!(rule.thresholds().critical, Some(800.0));
    }

    #[test]
    fn fields_of_other_kinds_are_ignored_not_refused() {
        // A kind switch keeps what was typed for the old kind in the form;
        // only the chosen kind's fields are sent to the engine.
        let f = form(NewGroup, "new", &[("count", "10"), ("warning", "0.1")]);
        assert!(to_rule(&f).is_ok());
    }

    #[test]
    fn text_that_is_not_a_number_names_its_field() {
        let f = form(ErrorRate, "rate", &[("warning", "lots")]);
        let e = to_rule(&f).expect_err("not a number");
        assert_eq!(e.field.as_deref(), Some("warning"));
        assert!(e.message.contains("\"lots\" is not a number"), "{}", e.message);
        let f = form(GroupFrequency, "hot", &[("count", "-3")]);
        assert_eq!(to_rule(&f).expect_err("negative").field.as_deref(), Some("count"));
        let f = form(GroupFrequency, "hot", &[("count", "3"), ("window", "ten minutes")]);
        let e = to_rule(&f).expect_err("bad duration");
        assert_eq!(e.field.as_deref(), Some("window"));
        assert!(e.message.contains("duration"), "{}", e.message);
        let f = form(Latency, "slow", &[("percentile", "p50"), ("threshold_ms.warning", "1")]);
        assert_eq!(to_rule(&f).expect_err("bad choice").field.as_deref(), Some("percentile"));
        let f = form(Latency, "slow", &[("threshold_ms.warning", "NaN")]);
        assert_eq!(to_rule(&f).expect_err("NaN").field.as_deref(), Some("threshold_ms.warning"));
    }

    #[test]
    fn the_engines_refusals_name_their_field() {
        let f = form(ErrorRate, "rate", &[("warning", "0.5"), ("critical", "0.2")]);
        let e = to_rule(&f).expect_err("warning above critical");
        assert_eq!(e.field.as_deref(), Some("warning"));
        assert!(e.message.contains("must be below `critical`"), "{}", e.message);

        let e = to_rule(&form(ErrorRate, "rate", &[])).expect_err("no levels");
        assert_eq!(e.field.as_deref(), Some("warning"));

        let e = to_rule(&form(Latency, "slow", &[])).expect_err("no threshold_ms");
        assert_eq!(e.field.as_deref(), Some("threshold_ms.warning"), "{}", e.message);

        let e = to_rule(&form(GroupFrequency, "hot", &[])).expect_err("no count");
        assert_eq!(e.field.as_deref(), Some("count"));

        let e = to_rule(&form(NewGroup, "has space", &[])).expect_err("bad id");
        assert_eq!(e.field.as_deref(), Some("id"));
        let e = to_rule(&form(NewGroup, "  ", &[])).expect_err("empty id");
        assert_eq!(e.field.as_deref(), Some("id"));

        let e = to_rule(&form(NewGroup, "g", &[("filter.service", r"\d+")])).expect_err("bad glob");
        assert_eq!(e.field.as_deref(), Some("filter.service"));

        let e =
            to_rule(&form(CertExpiry, "certs", &[("days", "3"), ("critical_days", "7")])).expect_err("days");
        assert_eq!(e.field.as_deref(), Some("critical_days"));
    }

    #[test]
    fn every_kind_round_trips_through_the_form() {
        let rules = [
            "id = \"a\"\nkind = \"new_group\"\nname = \"New\"\nfilter = { service = \"x\", level = \"error\" }\nresolve_after = \"2h\"",
            "id = \"b\"\nkind = \"regression\"\nseverity = \"critical\"",
            "id = \"c\"\nkind = \"group_frequency\"\ndistinct_users = 20\nwindow = \"10m\"\nfor = \"1m\"",
            "id = \"d\"\nkind = \"error_rate\"\nroute = \"/*\"\nmin_requests = 5\nwarning = 0.1\ncritical = 0.3\nresolve = 0.05",
            "id = \"e\"\nkind = \"latency\"\npercentile = \"p99\"\nthreshold_ms = { warning = 250.5, critical = 900 }",
            "id = \"f\"\nkind = \"check_down\"\ncheck = \"api-*\"\nconsecutive = 2\nrepeat_interval = \"0s\"",
            "id = \"g\"\nkind = \"cert_expiry\"\ndays = 20\ncritical_days = 2.5",
            "id = \"h\"\nkind = \"anomaly\"\nmetric = \"p95\"\nsensitivity = 4.5\nservice = \"checkout\"",
        ];
        for text in rules {
            let rule = toml_rule(text);
            let again = to_rule(&RuleForm::from_rule(&rule)).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(again, rule, "{text}");
        }
    }

    #[test]
    fn posted_pairs_fill_the_form() {
        let pairs = [
            ("kind", "latency"),
            ("id", "slow"),
            ("channels", "hook"),
            ("channels", "mail"),
            ("threshold_ms.warning", "300"),
            ("csrf", "x"),
            ("bogus", "y"),
        ];
        let f = RuleForm::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())), NewGroup);
        assert_eq!(f.kind, Latency);
        assert_eq!(f.channels, ["hook", "mail"]);
        assert_eq!(f.value("threshold_ms.warning"), "300");
        assert_eq!(f.values.len(), 1);
        let unknown = RuleForm::from_pairs([("kind".to_string(), "nope".to_string())].into_iter(), Anomaly);
        assert_eq!(unknown.kind, Anomaly);
    }

    #[test]
    fn every_field_belongs_to_a_kind_and_names_a_key_the_engine_knows() {
        for f in FIELDS {
            assert!(!f.kinds.is_empty(), "{}", f.name);
            for kind in f.kinds {
                // A value the engine would refuse for another kind is fine
                // here; what must not happen is an unknown key.
                let mut table = serde_json::json!({ "id": "x", "kind": kind.as_str() });
                if let Value::Object(map) = &mut table {
                    let sample = match f.input {
                        Input::Text => Value::from("x"),
                        Input::Duration => Value::from("1m"),
                        Input::Choice(c) => Value::from(c[1]),
                        _ => Value::from(1),
                    };
                    insert_path(map, f.name, sample);
                }
                let parsed: Result<Rule, _> = serde_json::from_value(table);
                assert!(parsed.is_ok(), "{} on {kind}: {parsed:?}", f.name);
            }
        }
    }
}
