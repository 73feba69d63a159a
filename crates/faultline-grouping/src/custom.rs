//! Fingerprints the application chose itself.
//!
//! An `error.fingerprint` or `faultline.fingerprint` attribute (a string or
//! an array of strings) replaces the computed fingerprint, as Sentry's
//! `fingerprint` does; it is still scoped by service. An element
//! `{{ default }}` stands for the computed fingerprint, so an application
//! can split a group further (`["{{ default }}", tenant]`) instead of
//! replacing it.

use faultline_model::ErrorEvent;
use serde_json::Value;

use crate::limits::{truncate, MAX_CUSTOM_PARTS, MAX_CUSTOM_PART_BYTES};
use crate::variant::{Method, Variant};

/// Attribute names read, in order of preference.
pub(crate) const ATTRIBUTES: [&str; 2] = ["error.fingerprint", "faultline.fingerprint"];

/// The custom variant when the event carries a usable fingerprint
/// attribute; `default` is what it would otherwise be grouped by.
pub(crate) fn variant(event: &ErrorEvent, default: &Variant) -> Option<Variant> {
    let value = find_attribute(event)?;
    let parts = parts(value);
    if parts.is_empty() {
        return None;
    }
    let components = parts
        .into_iter()
        .map(|part| if is_default_placeholder(&part) { default.fingerprint(&event.service) } else { part })
        .collect();
    Some(Variant { method: Method::Custom, components })
}

/// The event's own attributes win over its resource's.
fn find_attribute(event: &ErrorEvent) -> Option<&Value> {
    ATTRIBUTES
        .iter()
        .find_map(|name| event.attributes.get(*name))
        .or_else(|| ATTRIBUTES.iter().find_map(|name| event.resource.get(*name)))
}

/// The non-empty parts of a string or an array of scalars; anything else
/// (objects, nested arrays, null) is ignored.
fn parts(value: &Value) -> Vec<String> {
    let items: Vec<&Value> = match value {
        Value::Array(items) => items.iter().take(MAX_CUSTOM_PARTS).collect(),
        other => vec![other],
    };
    items
        .into_iter()
        .filter_map(scalar_text)
        .map(|text| truncate(text.trim(), MAX_CUSTOM_PART_BYTES).to_string())
        .filter(|text| !text.is_empty())
        .collect()
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

fn is_default_placeholder(part: &str) -> bool {
    let compact: String = part.chars().filter(|c| !c.is_whitespace()).collect();
    compact == "{{default}}"
}
