//! OTLP/HTTP bodies in and out, as binary protobuf or OTLP/JSON.
//!
//! Protobuf goes straight through prost. JSON is parsed to a
//! `serde_json::Value` first and normalized (see [`normalize`]) because
//! opentelemetry-proto's serde derive alone rejects valid OTLP/JSON that real
//! exporters send, and its errors do not say which field was wrong.

mod normalize;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// The two OTLP/HTTP encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/x-protobuf`, the binary protobuf encoding (also gRPC's).
    Protobuf,
    /// `application/json`, OTLP/JSON.
    Json,
}

impl Format {
    /// The format an HTTP `Content-Type` names, ignoring parameters such as
    /// `charset`; `None` for anything else. `application/protobuf` is
    /// accepted next to the spec's `application/x-protobuf`, as the Collector does.
    pub fn from_content_type(content_type: &str) -> Option<Format> {
        let essence = content_type.split(';').next().unwrap_or_default().trim();
        if essence.eq_ignore_ascii_case("application/x-protobuf")
            || essence.eq_ignore_ascii_case("application/protobuf")
        {
            Some(Format::Protobuf)
        } else if essence.eq_ignore_ascii_case("application/json") {
            Some(Format::Json)
        } else {
            None
        }
    }

    /// The `Content-Type` a response in this format is sent with.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Protobuf => "application/x-protobuf",
            Format::Json => "application/json",
        }
    }
}

/// Why a body could not be decoded; the message is meant for the sender, so it
/// names the field and what was wrong with it.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("invalid OTLP protobuf: {0}")]
    Protobuf(#[from] prost::DecodeError),
    #[error("invalid JSON: {0}")]
    Json(#[source] serde_json::Error),
    #[error("invalid OTLP/JSON: the body must be a JSON object, found {found}")]
    NotAnObject { found: &'static str },
    #[error("invalid OTLP/JSON at {path}: {reason}")]
    InvalidField { path: String, reason: String },
}

/// Decodes an OTLP message. An empty body is a valid empty request in both
/// formats (protobuf encodes an empty message as zero bytes).
pub fn decode<T>(body: &[u8], format: Format) -> Result<T, DecodeError>
where
    T: prost::Message + Default + DeserializeOwned,
{
    match format {
        Format::Protobuf => Ok(T::decode(body)?),
        Format::Json => decode_json(body),
    }
}

/// Encodes an OTLP message (a response or a `google.rpc.Status`). JSON
/// leaves out `null` fields, which some clients reject, instead of writing
/// `"partialSuccess": null`.
pub fn encode<T>(msg: &T, format: Format) -> Vec<u8>
where
    T: prost::Message + Serialize,
{
    match format {
        Format::Protobuf => msg.encode_to_vec(),
        Format::Json => encode_json(msg),
    }
}

fn decode_json<T: Default + DeserializeOwned>(body: &[u8]) -> Result<T, DecodeError> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    let mut value: Value = serde_json::from_slice(body).map_err(DecodeError::Json)?;
    if !value.is_object() {
        return Err(DecodeError::NotAnObject { found: json_kind(&value) });
    }
    normalize::normalize(&mut value)
        .map_err(|e| DecodeError::InvalidField { path: e.path(), reason: e.reason })?;
    serde_path_to_error::deserialize(value)
        .map_err(|e| DecodeError::InvalidField { path: e.path().to_string(), reason: e.inner().to_string() })
}

fn encode_json<T: Serialize>(msg: &T) -> Vec<u8> {
    let Ok(mut value) = serde_json::to_value(msg) else {
        return b"{}".to_vec();
    };
    strip_nulls(&mut value);
    serde_json::to_vec(&value).unwrap_or_else(|_| b"{}".to_vec())
}

/// Removes `null` object fields at every depth; in OTLP/JSON an absent field
/// and a null one mean the same.
fn strip_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// A JSON value's kind, for error messages.
pub(crate) fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests;
