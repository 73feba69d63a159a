//! Rewrites an OTLP/JSON document into the shape opentelemetry-proto's serde
//! derive accepts, checking on the way what that derive does not check.
//!
//! What the derive gets wrong on its own (each case has a test):
//! - `null` fields are errors, though proto3 JSON reads them as absent;
//! - `{"arrayValue": {}}`, `{"kvlistValue": {}}` and a `KeyValue` without
//!   `key` are errors ("missing field"), though omitted fields are defaults;
//! - `"doubleValue": "NaN"` / `"Infinity"` and numeric strings are rejected;
//! - unpadded or URL-safe base64 in `bytesValue` is rejected;
//! - 32-bit integers and enums sent as strings (`"kind": "2"`,
//!   `"kind": "SPAN_KIND_SERVER"`) are rejected;
//! - `1.7e18` or `42.0` for a 64-bit integer is rejected, with a confusing
//!   message for `intValue` ("did not match any variant of untagged enum");
//! - trace and span ids of the wrong length and with a `0x` prefix are
//!   accepted, so a broken id would be stored;
//! - no error says which field was wrong.
//!
//! Fields are recognized by name: OTLP/JSON never uses user data as an object
//! key (attributes are `[{key, value}]` lists), so a key such as `traceId`
//! always is the field of that name.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use opentelemetry_proto::tonic::logs::v1::SeverityNumber;
use opentelemetry_proto::tonic::metrics::v1::AggregationTemporality;
use opentelemetry_proto::tonic::trace::v1::{span::SpanKind, status::StatusCode};
use serde_json::{Map, Value};

use crate::limits::truncate;

/// A field that failed a check, with its path built while unwinding so that
/// valid documents pay nothing for path tracking.
#[derive(Debug)]
pub(crate) struct FieldError {
    /// Innermost first.
    segments: Vec<Segment>,
    pub reason: String,
}

#[derive(Debug)]
enum Segment {
    Key(String),
    Index(usize),
}

impl FieldError {
    fn new(reason: String) -> FieldError {
        FieldError { segments: Vec::new(), reason }
    }

    fn in_key(mut self, key: &str) -> FieldError {
        self.segments.push(Segment::Key(key.to_owned()));
        self
    }

    fn in_index(mut self, index: usize) -> FieldError {
        self.segments.push(Segment::Index(index));
        self
    }

    /// E.g. `resourceSpans[0].scopeSpans[1].spans[2].traceId`.
    pub(crate) fn path(&self) -> String {
        let mut path = String::new();
        for segment in self.segments.iter().rev() {
            match segment {
                Segment::Key(key) if path.is_empty() => path.push_str(key),
                Segment::Key(key) => {
                    path.push('.');
                    path.push_str(key);
                }
                Segment::Index(index) => path.push_str(&format!("[{index}]")),
            }
        }
        path
    }
}

type Checked = Result<(), FieldError>;

/// Normalizes a whole OTLP/JSON document in place.
pub(crate) fn normalize(value: &mut Value) -> Checked {
    walk(value)
}

fn walk(value: &mut Value) -> Checked {
    match value {
        Value::Object(map) => normalize_object(map),
        Value::Array(items) => {
            items.iter_mut().enumerate().try_for_each(|(i, item)| walk(item).map_err(|e| e.in_index(i)))
        }
        _ => Ok(()),
    }
}

fn normalize_object(map: &mut Map<String, Value>) -> Checked {
    map.retain(|_, v| !v.is_null());
    special_double(map).map_err(|e| e.in_key("doubleValue"))?;
    map.iter_mut().try_for_each(|(key, value)| normalize_field(key, value).map_err(|e| e.in_key(key)))
}

fn normalize_field(key: &str, value: &mut Value) -> Checked {
    match key {
        "traceId" => check_id(value, 16),
        "spanId" | "parentSpanId" => check_id(value, 8),
        "intValue" => {
            to_integer(value, "a signed 64-bit integer", |n| i64::try_from(n).ok().map(Value::from))
        }
        "bytesValue" => canonical_base64(value),
        "kind" => to_enum(value, |name| SpanKind::from_str_name(name).map(|v| v as i32)),
        "code" => to_enum(value, |name| StatusCode::from_str_name(name).map(|v| v as i32)),
        "severityNumber" => to_enum(value, |name| SeverityNumber::from_str_name(name).map(|v| v as i32)),
        "aggregationTemporality" => {
            to_enum(value, |name| AggregationTemporality::from_str_name(name).map(|v| v as i32))
        }
        "droppedAttributesCount" | "droppedEventsCount" | "droppedLinksCount" | "flags" => {
            to_integer(value, "an unsigned 32-bit integer", |n| u32::try_from(n).ok().map(Value::from))
        }
        "arrayValue" => {
            walk(value)?;
            default_field(value, "values", Value::Array(Vec::new()));
            Ok(())
        }
        "kvlistValue" => {
            walk(value)?;
            default_field(value, "values", Value::Array(Vec::new()));
            if let Some(values) = value.get_mut("values") {
                default_keys(values);
            }
            Ok(())
        }
        "attributes" | "filteredAttributes" | "metadata" => {
            walk(value)?;
            default_keys(value);
            Ok(())
        }
        _ if key.ends_with("UnixNano") => {
            to_integer(value, "an unsigned 64-bit integer", |n| u64::try_from(n).ok().map(Value::from))
        }
        _ => walk(value),
    }
}

/// Checks a hex trace id (16 bytes) or span id (8 bytes) and lowercases it.
/// The empty string means "no id" and is kept.
fn check_id(value: &mut Value, bytes: usize) -> Checked {
    let Value::String(text) = value else {
        return Err(FieldError::new(format!("expected a hex string, found {}", describe(value))));
    };
    if let Some((position, c)) = text.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
        return Err(FieldError::new(format!(
            "invalid hex character {c:?} at position {position} (ids are plain hex, without 0x)"
        )));
    }
    if !text.is_empty() && text.len() != bytes * 2 {
        return Err(FieldError::new(format!(
            "expected {} hex digits ({bytes} bytes), found {}",
            bytes * 2,
            text.len()
        )));
    }
    text.make_ascii_lowercase();
    Ok(())
}

/// Replaces an integer sent as a number, an integral float or a decimal
/// string with a plain JSON integer, if `fit` accepts its range.
fn to_integer(value: &mut Value, expected: &str, fit: impl Fn(i128) -> Option<Value>) -> Checked {
    match integer(value).and_then(fit) {
        Some(normalized) => {
            *value = normalized;
            Ok(())
        }
        None => Err(FieldError::new(format!(
            "expected {expected} (a number or a decimal string), found {}",
            describe(value)
        ))),
    }
}

/// An enum as its number, a numeric string or its protobuf name.
fn to_enum(value: &mut Value, by_name: impl Fn(&str) -> Option<i32>) -> Checked {
    if let Some(number) = value.as_str().and_then(|name| by_name(name.trim())) {
        *value = Value::from(number);
        return Ok(());
    }
    to_integer(value, "an enum number", |n| i32::try_from(n).ok().map(Value::from))
}

fn integer(value: &Value) -> Option<i128> {
    match value {
        Value::Number(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i128)),
        Value::String(s) => s.trim().parse::<i128>().ok(),
        _ => None,
    }
}

/// `doubleValue` as a string: a numeric string becomes a number; `NaN` and
/// the infinities, which a JSON number cannot hold, become a string value
/// (what extraction would turn them into anyway).
fn special_double(map: &mut Map<String, Value>) -> Checked {
    let Some(Value::String(text)) = map.get("doubleValue") else {
        return Ok(());
    };
    let text = text.trim().to_owned();
    if matches!(text.as_str(), "NaN" | "Infinity" | "-Infinity") {
        map.remove("doubleValue");
        map.insert("stringValue".to_owned(), Value::String(text));
        return Ok(());
    }
    match text.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
        Some(number) => {
            map.insert("doubleValue".to_owned(), Value::Number(number));
            Ok(())
        }
        None => Err(FieldError::new(format!(
            "expected a number, \"NaN\", \"Infinity\" or \"-Infinity\", found \"{}\"",
            truncate(&text, 40)
        ))),
    }
}

/// Both base64 alphabets, padded or not, as proto3 JSON parsers accept.
const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// Re-encodes `bytesValue` as padded standard base64, the only form the
/// derive reads.
fn canonical_base64(value: &mut Value) -> Checked {
    let Value::String(text) = value else {
        return Err(FieldError::new(format!("expected a base64 string, found {}", describe(value))));
    };
    let bytes = STANDARD_LENIENT
        .decode(text.as_bytes())
        .or_else(|_| URL_SAFE_LENIENT.decode(text.as_bytes()))
        .map_err(|e| FieldError::new(format!("invalid base64: {e}")))?;
    *value = Value::String(STANDARD.encode(bytes));
    Ok(())
}

/// Adds `field` to an object that omits it.
fn default_field(value: &mut Value, field: &str, default: Value) {
    if let Value::Object(map) = value {
        map.entry(field).or_insert(default);
    }
}

/// Gives every `KeyValue` in a list the empty key proto3 implies when `key`
/// is omitted.
fn default_keys(list: &mut Value) {
    if let Value::Array(items) = list {
        for item in items {
            default_field(item, "key", Value::String(String::new()));
        }
    }
}

/// A short rendering of a JSON value for error messages.
fn describe(value: &Value) -> String {
    let text = match value {
        Value::Array(_) | Value::Object(_) => return crate::decode::json_kind(value).to_owned(),
        other => other.to_string(),
    };
    truncate(&text, 40)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn normalized(mut value: Value) -> Value {
        match normalize(&mut value) {
            Ok(()) => value,
            Err(e) => panic!("{}: {}", e.path(), e.reason),
        }
    }

    fn error(mut value: Value) -> String {
        match normalize(&mut value) {
            Ok(()) => panic!("expected an error for {value}"),
            Err(e) => format!("{}: {}", e.path(), e.reason),
        }
    }

    #[test]
    fn nulls_are_dropped() {
        assert_eq!(normalized(json!({"a": null, "b": {"c": null}})), json!({"b": {}}));
    }

    #[test]
    fn ids_are_checked_and_lowercased() {
        assert_eq!(
            normalized(json!({"traceId": "5B8EFFF798038103D269B633813FC60C", "spanId": ""})),
            json!({"traceId": "5b8efff798038103d269b633813fc60c", "spanId": ""})
        );
        assert_eq!(
            error(json!({"spans": [{"spanId": "abc"}]})),
            "spans[0].spanId: expected 16 hex digits (8 bytes), found 3"
        );
        assert_eq!(
            error(json!({"traceId": "0x5b8efff798038103d269b633813fc6"})),
            "traceId: invalid hex character 'x' at position 1 (ids are plain hex, without 0x)"
        );
        assert_eq!(error(json!({"parentSpanId": 7})), "parentSpanId: expected a hex string, found 7");
    }

    #[test]
    fn integers_accept_numbers_strings_and_integral_floats() {
        assert_eq!(
            normalized(json!({"intValue": "42", "timeUnixNano": 1.5e18, "flags": "1"})),
            json!({"intValue": 42, "timeUnixNano": 1_500_000_000_000_000_000u64, "flags": 1})
        );
        assert_eq!(normalized(json!({"intValue": 42.0})), json!({"intValue": 42}));
        assert_eq!(normalized(json!({"intValue": "-7"})), json!({"intValue": -7}));
    }

    #[test]
    fn integers_out_of_range_or_malformed_are_errors() {
        assert_eq!(
            error(json!({"intValue": "abc"})),
            "intValue: expected a signed 64-bit integer (a number or a decimal string), found \"abc\""
        );
        assert_eq!(
            error(json!({"startTimeUnixNano": -1})),
            "startTimeUnixNano: expected an unsigned 64-bit integer (a number or a decimal string), found -1"
        );
        assert!(error(json!({"intValue": "9223372036854775808"})).starts_with("intValue: expected"));
        assert!(error(json!({"droppedAttributesCount": 1.5})).starts_with("droppedAttributesCount"));
    }

    #[test]
    fn enums_accept_numbers_numeric_strings_and_names() {
        assert_eq!(
            normalized(json!({"kind": "SPAN_KIND_SERVER", "status": {"code": "STATUS_CODE_ERROR"}})),
            json!({"kind": 2, "status": {"code": 2}})
        );
        assert_eq!(normalized(json!({"kind": "3"})), json!({"kind": 3}));
        assert_eq!(
            normalized(json!({"severityNumber": "SEVERITY_NUMBER_FATAL"})),
            json!({"severityNumber": 21})
        );
        assert!(error(json!({"kind": "SERVER"})).starts_with("kind: expected an enum number"));
    }

    #[test]
    fn special_doubles_become_strings_and_numeric_strings_numbers() {
        assert_eq!(normalized(json!({"doubleValue": "NaN"})), json!({"stringValue": "NaN"}));
        assert_eq!(normalized(json!({"doubleValue": "-Infinity"})), json!({"stringValue": "-Infinity"}));
        assert_eq!(normalized(json!({"doubleValue": "2.5"})), json!({"doubleValue": 2.5}));
        assert!(error(json!({"value": {"doubleValue": "lots"}}))
            .starts_with("value.doubleValue: expected a number"));
    }

    #[test]
    fn base64_accepts_unpadded_and_url_safe() {
        assert_eq!(normalized(json!({"bytesValue": "aGk"})), json!({"bytesValue": "aGk="}));
        assert_eq!(normalized(json!({"bytesValue": "-_8"})), json!({"bytesValue": "+/8="}));
        assert!(error(json!({"bytesValue": "!!"})).starts_with("bytesValue: invalid base64"));
    }

    #[test]
    fn empty_lists_and_missing_keys_get_defaults() {
        assert_eq!(
            normalized(json!({"attributes": [
                {"value": {"arrayValue": {}}},
                {"key": "k", "value": {"kvlistValue": {"values": [{"value": {"intValue": 1}}]}}},
                {"key": "n", "value": {"kvlistValue": {"values": null}}}
            ]})),
            json!({"attributes": [
                {"key": "", "value": {"arrayValue": {"values": []}}},
                {"key": "k", "value": {"kvlistValue": {"values": [{"key": "", "value": {"intValue": 1}}]}}},
                {"key": "n", "value": {"kvlistValue": {"values": []}}}
            ]})
        );
    }

    #[test]
    fn error_paths_name_nested_fields() {
        let doc = json!({"resourceSpans": [{"scopeSpans": [{"spans": [{}, {"attributes": [
            {"key": "a", "value": {"intValue": "x"}}
        ]}]}]}]});
        assert!(
            error(doc).starts_with("resourceSpans[0].scopeSpans[0].spans[1].attributes[0].value.intValue: ")
        );
    }
}
