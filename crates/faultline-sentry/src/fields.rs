//! Lenient readers of a Sentry event's JSON: SDKs differ in which fields
//! they send and in their shapes (`message` as a string or an object,
//! `tags` as an object or a list of pairs), so nothing here fails; a field
//! of an unexpected shape reads as absent.

use serde_json::{Map, Value};

/// A string field, trimmed, `None` when absent, empty or not a string.
pub(crate) fn text<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    object.get(name).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

/// A field as an object.
pub(crate) fn object<'a>(parent: &'a Map<String, Value>, name: &str) -> Option<&'a Map<String, Value>> {
    parent.get(name).and_then(Value::as_object)
}

/// A list that Sentry sends either bare or as `{"values": [...]}`
/// (`exception`, `breadcrumbs`, `threads`).
pub(crate) fn values<'a>(parent: &'a Map<String, Value>, name: &str) -> &'a [Value] {
    match parent.get(name) {
        Some(Value::Array(items)) => items,
        Some(Value::Object(o)) => o.get("values").and_then(Value::as_array).map_or(&[], Vec::as_slice),
        _ => &[],
    }
}

/// A scalar as text: strings as they are, numbers and booleans printed.
pub(crate) fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `{"k": "v"}` or `[["k", "v"], ...]` as pairs (tags, headers).
pub(crate) fn pairs(value: Option<&Value>) -> Vec<(String, String)> {
    match value {
        Some(Value::Object(map)) => map.iter().filter_map(|(k, v)| Some((k.clone(), scalar(v)?))).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|pair| match pair.as_array()?.as_slice() {
                [k, v] => Some((k.as_str()?.to_string(), scalar(v)?)),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}
