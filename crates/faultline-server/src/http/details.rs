//! What an event carries besides its exception, as structured data for the
//! API and the explorer: breadcrumbs, the request, the user, contexts,
//! tags, extra data and the SDK.
//!
//! Nothing new is stored: the fields are read back from the attributes
//! that ingest wrote, so events stored before this existed show them too.
//! A Sentry event's come from what `faultline-sentry`'s `convert.rs` keeps
//! (`sentry.breadcrumbs`, `sentry.contexts`, `sentry.user`,
//! `sentry.request.data`, `sentry.extra`, `tags.<name>`, `user.*`,
//! `url.full`, `http.request.header.<name>`); an OTel event's from the
//! semantic-convention attributes that mean the same (`user.id`,
//! `enduser.id`, `http.request.method`, `url.full` or `http.url`,
//! `http.request.header.<name>`) and from its resource, grouped into
//! contexts (`os.*` → `os`, `process.runtime.*` → `runtime`, ...).
//!
//! Attributes are attacker-controlled and may have been cut to the string
//! limit at ingest (a long breadcrumb list is then stored as cut JSON
//! text): whatever does not read as the expected shape is left out, never
//! an error.

use std::collections::BTreeMap;

use faultline_model::{format_rfc3339, parse_rfc3339, Attributes, ErrorEvent};
use serde::Serialize;
use serde_json::{Map, Value};

/// Request headers never shown, even if an older version stored them or
/// an OTel SDK captured them.
const SECRET_HEADERS: [&str; 6] =
    ["cookie", "set-cookie", "authorization", "proxy-authorization", "x-api-key", "x-sentry-auth"];

/// Resource attribute prefixes that are event fields already (service,
/// release, environment, SDK) rather than contexts.
const NOT_CONTEXTS: [&str; 3] = ["service.", "deployment.", "telemetry."];

/// The structured parts of one event; every field is present in the API,
/// empty when the event carries nothing of the kind.
#[derive(Debug, Default, Serialize, PartialEq)]
pub struct Details {
    /// Oldest first, as the SDK recorded them.
    pub breadcrumbs: Vec<Breadcrumb>,
    pub request: Option<Request>,
    pub user: Option<User>,
    /// Context name (`runtime`, `os`, `browser`, `device`, `trace`, ...) →
    /// its fields.
    pub contexts: BTreeMap<String, Map<String, Value>>,
    pub tags: BTreeMap<String, String>,
    /// Sentry's `extra` (`scope.set_extra`).
    pub extra: Map<String, Value>,
    pub sdk: Option<Sdk>,
}

#[derive(Debug, Default, Serialize, PartialEq)]
pub struct Breadcrumb {
    /// RFC 3339 when the SDK's time could be read, else as it was sent.
    pub timestamp: Option<String>,
    pub category: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub level: Option<String>,
    pub message: Option<String>,
    pub data: Option<Map<String, Value>>,
}

#[derive(Debug, Default, Serialize, PartialEq)]
pub struct Request {
    pub method: Option<String>,
    /// The full URL, query included.
    pub url: Option<String>,
    /// The query's parameters, decoded, in order (a name may repeat).
    pub query: Vec<(String, String)>,
    /// Lowercase names; never cookies or credentials.
    pub headers: BTreeMap<String, String>,
    /// The body, when the SDK sent one small enough to keep.
    pub data: Option<Value>,
}

#[derive(Debug, Default, Serialize, PartialEq)]
pub struct User {
    pub id: Option<String>,
    pub email: Option<String>,
    pub username: Option<String>,
    pub ip_address: Option<String>,
    /// Any other field the SDK sent (`segment`, `geo`, `full_name`, ...).
    pub others: Map<String, Value>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Sdk {
    pub name: String,
    pub version: Option<String>,
}

impl Details {
    pub fn of(e: &ErrorEvent) -> Details {
        let a = &e.attributes;
        Details {
            breadcrumbs: breadcrumbs(a),
            request: request(e),
            user: user(a),
            contexts: contexts(e),
            tags: a
                .iter()
                .filter_map(|(k, v)| Some((k.strip_prefix("tags.")?.to_string(), text(v)?)))
                .collect(),
            extra: object(a.get("sentry.extra")).unwrap_or_default(),
            sdk: sdk(&e.resource),
        }
    }
}

/// A scalar as text; lists (OTel header values) joined; objects absent.
fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(items) => {
            let parts: Option<Vec<String>> = items.iter().map(text).collect();
            parts.map(|p| p.join(", "))
        }
        _ => None,
    }
}

/// The first of `names` present as non-empty text.
fn first(a: &Attributes, names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| a.get(*n).and_then(text)).filter(|t| !t.trim().is_empty())
}

/// An attribute that holds JSON: the value itself, or JSON text (what a
/// long value became at ingest) that still parses.
fn json(value: Option<&Value>) -> Option<Value> {
    match value? {
        Value::String(s) => serde_json::from_str(s).ok(),
        other => Some(other.clone()),
    }
}

fn object(value: Option<&Value>) -> Option<Map<String, Value>> {
    match json(value)? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

fn breadcrumbs(a: &Attributes) -> Vec<Breadcrumb> {
    let list = match json(a.get("sentry.breadcrumbs")) {
        Some(Value::Array(items)) => items,
        // Some SDKs wrap the list: {"values": [...]}.
        Some(Value::Object(mut o)) => match o.remove("values") {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    list.into_iter().filter_map(|v| breadcrumb(v.as_object()?)).collect()
}

fn breadcrumb(b: &Map<String, Value>) -> Option<Breadcrumb> {
    let field = |name: &str| b.get(name).and_then(text).filter(|t| !t.is_empty());
    let crumb = Breadcrumb {
        timestamp: b.get("timestamp").and_then(breadcrumb_time),
        category: field("category"),
        kind: field("type"),
        level: field("level"),
        message: field("message"),
        data: b.get("data").and_then(Value::as_object).filter(|d| !d.is_empty()).cloned(),
    };
    (crumb != Breadcrumb::default()).then_some(crumb)
}

/// Sentry SDKs send RFC 3339 text (with or without a zone) or seconds
/// since the epoch.
fn breadcrumb_time(value: &Value) -> Option<String> {
    let nanos = match value {
        Value::String(t) => parse_rfc3339(t).or_else(|| parse_rfc3339(&format!("{t}Z"))),
        // Microseconds, the SDKs' precision: a float of seconds carries
        // no more, and rounding there keeps `.25` from printing as
        // `.249999872`.
        Value::Number(n) => n
            .as_f64()
            .map(|s| (s * 1e6).round())
            .filter(|us| us.is_finite() && us.abs() < 9.2e15)
            .map(|us| us as i64 * 1000),
        _ => None,
    };
    match nanos {
        Some(n) => Some(format_rfc3339(n)),
        None => text(value),
    }
}

fn request(e: &ErrorEvent) -> Option<Request> {
    let a = &e.attributes;
    let url = first(a, &["url.full", "http.url"]).or_else(|| {
        // OTel server spans may carry only the parts.
        let path = first(a, &["url.path", "http.target"])?;
        let query = first(a, &["url.query"]).map(|q| format!("?{q}")).unwrap_or_default();
        Some(format!("{path}{query}"))
    });
    let headers: BTreeMap<String, String> = a
        .iter()
        .filter_map(|(k, v)| {
            let name = k.strip_prefix("http.request.header.")?.to_ascii_lowercase();
            (!SECRET_HEADERS.contains(&name.as_str())).then_some((name, text(v)?))
        })
        .collect();
    let data = json(a.get("sentry.request.data")).filter(|d| !d.is_null());
    if url.is_none() && headers.is_empty() && data.is_none() {
        // A method alone (an OTel client span) is no request worth a panel.
        return None;
    }
    let query = url
        .as_deref()
        .and_then(|u| u.split_once('?'))
        .map(|(_, q)| q.split('#').next().unwrap_or_default())
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    Some(Request { method: e.http_method.clone(), url, query, headers, data })
}

fn user(a: &Attributes) -> Option<User> {
    let mut others = object(a.get("sentry.user")).unwrap_or_default();
    // OTel's other user attributes.
    for name in ["user.full_name", "user.hash", "user.roles", "enduser.role", "enduser.scope"] {
        if let Some(v) = a.get(name) {
            others.insert(name.rsplit('.').next().unwrap_or(name).to_string(), v.clone());
        }
    }
    let user = User {
        id: first(a, &["user.id", "enduser.id"]),
        email: first(a, &["user.email"]),
        username: first(a, &["user.name"]),
        ip_address: first(a, &["client.address"]),
        others,
    };
    (user != User::default()).then_some(user)
}

/// Sentry's contexts as sent; for other events the resource's attributes
/// grouped by their first name part, and the trace either way.
fn contexts(e: &ErrorEvent) -> BTreeMap<String, Map<String, Value>> {
    let mut contexts: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for (key, value) in &e.resource {
        if NOT_CONTEXTS.iter().any(|p| key.starts_with(p)) {
            continue;
        }
        let (context, field) = match key.strip_prefix("process.runtime.") {
            Some(field) => ("runtime", field),
            None => key.split_once('.').unwrap_or(("resource", key)),
        };
        contexts.entry(context.to_string()).or_default().insert(field.to_string(), value.clone());
    }
    if let Some(sent) = object(e.attributes.get("sentry.contexts")) {
        for (name, value) in sent {
            if let Value::Object(fields) = value {
                contexts.insert(name, fields);
            }
        }
    }
    if !e.trace_id.is_empty() && !contexts.contains_key("trace") {
        let mut trace = Map::new();
        trace.insert("trace_id".into(), e.trace_id.clone().into());
        if !e.span_id.is_empty() {
            trace.insert("span_id".into(), e.span_id.clone().into());
        }
        contexts.insert("trace".into(), trace);
    }
    contexts
}

fn sdk(resource: &Attributes) -> Option<Sdk> {
    Some(Sdk {
        name: first(resource, &["telemetry.sdk.name"])?,
        version: first(resource, &["telemetry.sdk.version"]),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use faultline_model::EventSource;
    use serde_json::json;

    use super::*;

    fn event(attributes: Value, resource: Value) -> ErrorEvent {
        let mut e = ErrorEvent::blank("shop", EventSource::Sentry, 0);
        e.attributes = serde_json::from_value(attributes).unwrap();
        e.resource = serde_json::from_value(resource).unwrap();
        e
    }

    #[test]
    fn a_sentry_events_attributes_read_back_as_panels() {
        let mut e = event(
            json!({
                "sentry.breadcrumbs": [
                    {"timestamp": 1_700_000_000.25, "category": "auth", "level": "info", "message": "<script>x</script>"},
                    {"timestamp": "2026-12-05T22:42:39.345312", "type": "http", "data": {"url": "/cart", "status_code": 500}},
                    7, {}
                ],
                "sentry.contexts": {"runtime": {"name": "CPython", "version": "3.12.3"}, "bad": 3,
                    "trace": {"trace_id": "ab", "op": "http.server"}},
                "sentry.user": {"segment": "beta"},
                "sentry.request.data": {"sku": "SKU-1"},
                "sentry.extra": {"cart_size": 3},
                "user.id": "42", "user.email": "ada@example.com", "client.address": "10.0.0.1",
                "url.full": "https://shop.example/cart?tab=orders&q=a%20b", "http.request.header.user-agent": "curl/8",
                "http.request.header.cookie": "session=s",
                "tags.tenant": "acme", "tags.shard": 3
            }),
            json!({"service.name": "shop", "telemetry.sdk.name": "sentry.python", "telemetry.sdk.version": "2.75.0",
                   "host.name": "py-1"}),
        );
        e.http_method = Some("POST".into());
        e.trace_id = "ab".into();
        let d = Details::of(&e);
        assert_eq!(d.breadcrumbs.len(), 2, "a non-object and an empty one are left out");
        assert_eq!(d.breadcrumbs[0].timestamp.as_deref(), Some("2023-11-14T22:13:20.25Z"));
        assert_eq!(d.breadcrumbs[0].message.as_deref(), Some("<script>x</script>"));
        assert_eq!(d.breadcrumbs[1].timestamp.as_deref(), Some("2026-12-05T22:42:39.345312Z"));
        assert_eq!(d.breadcrumbs[1].kind.as_deref(), Some("http"));
        assert_eq!(d.breadcrumbs[1].data.as_ref().unwrap()["status_code"], 500);
        let r = d.request.unwrap();
        assert_eq!(r.method.as_deref(), Some("POST"));
        assert_eq!(r.query, [("tab".to_string(), "orders".to_string()), ("q".into(), "a b".into())]);
        assert_eq!(r.headers.keys().collect::<Vec<_>>(), ["user-agent"], "never the cookie");
        assert_eq!(r.data, Some(json!({"sku": "SKU-1"})));
        let u = d.user.unwrap();
        assert_eq!(
            (u.id.as_deref(), u.email.as_deref(), u.ip_address.as_deref()),
            (Some("42"), Some("ada@example.com"), Some("10.0.0.1"))
        );
        assert_eq!(u.others["segment"], "beta");
        assert_eq!(d.contexts["runtime"]["version"], "3.12.3");
        assert_eq!(d.contexts["trace"]["op"], "http.server", "the SDK's trace context wins");
        assert_eq!(d.contexts["host"]["name"], "py-1");
        assert!(!d.contexts.contains_key("bad") && !d.contexts.contains_key("service"));
        assert_eq!(d.tags["tenant"], "acme");
        assert_eq!(d.tags["shard"], "3");
        assert_eq!(d.extra["cart_size"], 3);
        assert_eq!(d.sdk, Some(Sdk { name: "sentry.python".into(), version: Some("2.75.0".into()) }));
    }

    #[test]
    fn an_otel_events_attributes_and_resource_give_the_same_panels() {
        let mut e = event(
            json!({"enduser.id": "u-1", "http.request.method": "GET", "url.path": "/cart", "url.query": "x=1",
                   "http.request.header.accept": ["text/html", "*/*"], "http.request.header.authorization": ["Bearer t"]}),
            json!({"os.type": "linux", "process.runtime.name": "CPython", "process.pid": 12,
                   "telemetry.sdk.name": "opentelemetry", "deployment.environment.name": "prod"}),
        );
        e.http_method = Some("GET".into());
        e.trace_id = "0af7651916cd43dd8448eb211c80319c".into();
        e.span_id = "b7ad6b7169203331".into();
        let d = Details::of(&e);
        let r = d.request.unwrap();
        assert_eq!(r.url.as_deref(), Some("/cart?x=1"));
        assert_eq!(r.headers, BTreeMap::from([("accept".to_string(), "text/html, */*".to_string())]));
        assert_eq!(d.user.unwrap().id.as_deref(), Some("u-1"));
        assert_eq!(d.contexts["os"]["type"], "linux");
        assert_eq!(d.contexts["runtime"]["name"], "CPython");
        assert_eq!(d.contexts["process"]["pid"], 12);
        assert_eq!(d.contexts["trace"]["span_id"], "b7ad6b7169203331");
        assert!(!d.contexts.contains_key("deployment") && !d.contexts.contains_key("telemetry"));
        assert!(d.breadcrumbs.is_empty() && d.tags.is_empty());
        assert_eq!(d.sdk.unwrap().version, None);
    }

    #[test]
    fn cut_or_odd_json_reads_as_absent() {
        let e = event(
            json!({"sentry.breadcrumbs": "[{\"message\":\"yyy", "sentry.contexts": "{\"os\": {\"name\": \"Linux\"}}",
                   "sentry.extra": [1], "sentry.user": "x"}),
            json!({}),
        );
        let d = Details::of(&e);
        assert!(d.breadcrumbs.is_empty(), "cut JSON text is left out");
        assert_eq!(d.contexts["os"]["name"], "Linux", "JSON text that parses is read");
        assert!(d.extra.is_empty() && d.user.is_none() && d.request.is_none() && d.sdk.is_none());
        assert_eq!(Details::of(&event(json!({}), json!({}))), Details::default());
    }
}
