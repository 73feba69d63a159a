//! OTLP `AnyValue`s and attribute lists as JSON values, and lenient lookups
//! that accept what real SDKs send rather than only what the spec says.

use base64::Engine as _;
use faultline_model::Attributes;
use opentelemetry_proto::tonic::common::v1::{any_value::Value as Otlp, AnyValue, KeyValue};
use serde_json::Value;

use crate::limits::truncate;

/// Converts an attribute list to the model's map, cutting long string values.
/// Keys are kept whole: they are names looked up by semantic conventions.
/// A key sent twice keeps its last value, as most OTel backends do.
pub(crate) fn to_attributes(list: &[KeyValue], max_string_len: usize) -> Attributes {
    list.iter().map(|kv| (kv.key.clone(), any_to_json(kv.value.as_ref(), max_string_len))).collect()
}

/// Converts one `AnyValue`: int as i64, kvlist as an object, bytes as base64.
/// An absent or empty value becomes `null`.
pub(crate) fn any_to_json(value: Option<&AnyValue>, max_string_len: usize) -> Value {
    match value.and_then(|v| v.value.as_ref()) {
        Some(inner) => otlp_to_json(inner, max_string_len),
        None => Value::Null,
    }
}

fn otlp_to_json(value: &Otlp, max: usize) -> Value {
    match value {
        Otlp::StringValue(s) => Value::String(truncate(s, max)),
        Otlp::BoolValue(b) => Value::Bool(*b),
        Otlp::IntValue(i) => Value::from(*i),
        Otlp::DoubleValue(d) => double_to_json(*d),
        Otlp::ArrayValue(array) => {
            Value::Array(array.values.iter().map(|v| any_to_json(Some(v), max)).collect())
        }
        Otlp::KvlistValue(list) => Value::Object(to_attributes(&list.values, max).into_iter().collect()),
        Otlp::BytesValue(bytes) => {
            let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
            Value::String(truncate(&encoded, max))
        }
        // Only meaningful with a profiles string table, which traces and logs lack.
        Otlp::StringValueStrindex(_) => Value::Null,
    }
}

/// JSON has no NaN or infinities; they become the strings protobuf's JSON
/// mapping uses for them, so the value is not silently lost.
fn double_to_json(d: f64) -> Value {
    match serde_json::Number::from_f64(d) {
        Some(n) => Value::Number(n),
        None if d.is_nan() => Value::from("NaN"),
        None if d > 0.0 => Value::from("Infinity"),
        None => Value::from("-Infinity"),
    }
}

/// Finds a key in a raw attribute list without converting the whole list:
/// used to decide whether a span or record is an error at all, which most are not.
pub(crate) fn find_raw(list: &[KeyValue], key: &str, max_string_len: usize) -> Option<Value> {
    list.iter().rev().find(|kv| kv.key == key).map(|kv| any_to_json(kv.value.as_ref(), max_string_len))
}

/// The first of `keys` that holds a non-empty scalar, as text. Numbers and
/// booleans are accepted too: SDKs disagree on types more than on names.
pub(crate) fn first_text(attrs: &Attributes, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|key| attrs.get(*key).and_then(value_text))
}

/// A scalar as text; `None` for null, empty strings, arrays and objects.
pub(crate) fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A boolean sent as a bool or as text: Python's SDK sends
/// `exception.escaped` as the string `"True"` / `"False"`.
pub(crate) fn lenient_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.trim().eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.trim().eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// An HTTP status code sent as an int, a double or a string (`"503"`);
/// `None` when it is not a valid status (100..=999).
pub(crate) fn http_status(value: &Value) -> Option<u16> {
    let number = match value {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as u64)),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    }?;
    u16::try_from(number).ok().filter(|code| (100..=999).contains(code))
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValueList};
    use serde_json::json;

    fn any(value: Otlp) -> AnyValue {
        AnyValue { value: Some(value) }
    }

    fn kv(key: &str, value: Otlp) -> KeyValue {
        KeyValue { key: key.into(), value: Some(any(value)), ..Default::default() }
    }

    #[test]
    fn converts_every_any_value_kind() {
        let list = vec![
            kv("s", Otlp::StringValue("text".into())),
            kv("i", Otlp::IntValue(-42)),
            kv("d", Otlp::DoubleValue(1.5)),
            kv("b", Otlp::BoolValue(true)),
            kv("bytes", Otlp::BytesValue(b"hi".to_vec())),
            kv(
                "arr",
                Otlp::ArrayValue(ArrayValue {
                    values: vec![any(Otlp::IntValue(1)), any(Otlp::StringValue("x".into()))],
                }),
            ),
            kv("kv", Otlp::KvlistValue(KeyValueList { values: vec![kv("inner", Otlp::BoolValue(false))] })),
            KeyValue { key: "none".into(), value: None, ..Default::default() },
            KeyValue { key: "empty".into(), value: Some(AnyValue { value: None }), ..Default::default() },
        ];
        let attrs = to_attributes(&list, 100);
        assert_eq!(
            Value::Object(attrs.into_iter().collect()),
            json!({
                "s": "text", "i": -42, "d": 1.5, "b": true, "bytes": "aGk=",
                "arr": [1, "x"], "kv": {"inner": false}, "none": null, "empty": null
            })
        );
    }

    #[test]
    fn non_finite_doubles_become_strings() {
        assert_eq!(double_to_json(f64::NAN), json!("NaN"));
        assert_eq!(double_to_json(f64::INFINITY), json!("Infinity"));
        assert_eq!(double_to_json(f64::NEG_INFINITY), json!("-Infinity"));
    }

    #[test]
    fn long_strings_are_truncated_even_when_nested() {
        let list = vec![kv(
            "arr",
            Otlp::ArrayValue(ArrayValue { values: vec![any(Otlp::StringValue("abcdef".into()))] }),
        )];
        let attrs = to_attributes(&list, 3);
        assert_eq!(attrs["arr"], json!([format!("abc{}", crate::TRUNCATION_MARKER)]));
    }

    #[test]
    fn lenient_bool_accepts_python_strings() {
        assert_eq!(lenient_bool(&json!(true)), Some(true));
        assert_eq!(lenient_bool(&json!("True")), Some(true));
        assert_eq!(lenient_bool(&json!("FALSE")), Some(false));
        assert_eq!(lenient_bool(&json!("yes")), None);
        assert_eq!(lenient_bool(&json!(1)), None);
    }

    #[test]
    fn http_status_accepts_int_string_and_double() {
        assert_eq!(http_status(&json!(503)), Some(503));
        assert_eq!(http_status(&json!("503")), Some(503));
        assert_eq!(http_status(&json!(" 404 ")), Some(404));
        assert_eq!(http_status(&json!(500.0)), Some(500));
        assert_eq!(http_status(&json!(-1)), None);
        assert_eq!(http_status(&json!(70000)), None);
        assert_eq!(http_status(&json!("oops")), None);
        assert_eq!(http_status(&json!(null)), None);
    }

    #[test]
    fn first_text_skips_empty_and_structured_values() {
        let attrs: Attributes =
            [("a".to_string(), json!("")), ("b".to_string(), json!([1])), ("c".to_string(), json!(7))]
                .into_iter()
                .collect();
        assert_eq!(first_text(&attrs, &["a", "b", "c"]), Some("7".into()));
        assert_eq!(first_text(&attrs, &["missing"]), None);
    }

    #[test]
    fn find_raw_takes_the_last_duplicate() {
        let list = vec![kv("k", Otlp::IntValue(1)), kv("k", Otlp::IntValue(2))];
        assert_eq!(find_raw(&list, "k", 10), Some(json!(2)));
        assert_eq!(find_raw(&list, "x", 10), None);
    }
}
