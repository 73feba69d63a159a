//! `google.rpc.Status`, the body OTLP/HTTP requires on every error response,
//! hand-written because opentelemetry-proto does not ship it.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// gRPC status codes (`google.rpc.Code`): tonic's, so both transports
/// name codes the same way.
pub use tonic::Code;

/// `google.rpc.Status`: code = 1, message = 2, details = 3.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Status {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
    #[prost(message, repeated, tag = "3")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<Any>,
}

impl Status {
    pub fn new(code: Code, message: impl Into<String>) -> Status {
        Status { code: code as i32, message: message.into(), details: Vec::new() }
    }

    /// Adds a `google.rpc.RetryInfo` detail: OTLP exporters wait at least
    /// `delay` before they resend a retryable refusal.
    pub fn with_retry_delay(mut self, delay: std::time::Duration) -> Status {
        let info = RetryInfo { retry_delay: Some(ProtoDuration::from(delay)) };
        self.details
            .push(Any { type_url: RETRY_INFO_TYPE.into(), value: prost::Message::encode_to_vec(&info) });
        self
    }
}

/// The type URL of a `google.rpc.RetryInfo` inside an `Any`.
pub const RETRY_INFO_TYPE: &str = "type.googleapis.com/google.rpc.RetryInfo";

/// `google.rpc.RetryInfo`: retry_delay = 1.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RetryInfo {
    #[prost(message, optional, tag = "1")]
    pub retry_delay: Option<ProtoDuration>,
}

/// `google.protobuf.Duration`: seconds = 1, nanos = 2.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct ProtoDuration {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

impl From<std::time::Duration> for ProtoDuration {
    fn from(d: std::time::Duration) -> ProtoDuration {
        ProtoDuration {
            seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
        }
    }
}

impl From<ProtoDuration> for std::time::Duration {
    fn from(d: ProtoDuration) -> std::time::Duration {
        let seconds = u64::try_from(d.seconds).unwrap_or(0);
        let nanos = u32::try_from(d.nanos).unwrap_or(0);
        std::time::Duration::new(seconds, 0) + std::time::Duration::from_nanos(u64::from(nanos))
    }
}

/// `google.protobuf.Any`. Its JSON form here is `{"@type": …, "value":
/// base64}`, as for types the reader does not know.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(default)]
pub struct Any {
    #[prost(string, tag = "1")]
    #[serde(rename = "@type")]
    pub type_url: String,
    #[prost(bytes = "vec", tag = "2")]
    #[serde(serialize_with = "to_base64", deserialize_with = "from_base64")]
    pub value: Vec<u8>,
}

fn to_base64<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&STANDARD.encode(bytes))
}

fn from_base64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    let text = String::deserialize(deserializer)?;
    STANDARD.decode(text).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{decode, encode, Format};
    use prost::Message as _;

    #[test]
    fn protobuf_uses_the_google_rpc_field_numbers() {
        let status = Status::new(Code::InvalidArgument, "bad");
        // field 1 varint 3, field 2 length-delimited "bad"
        assert_eq!(status.encode_to_vec(), vec![0x08, 3, 0x12, 3, b'b', b'a', b'd']);
        let back = decode::<Status>(&encode(&status, Format::Protobuf), Format::Protobuf);
        assert_eq!(back.ok(), Some(status));
    }

    #[test]
    fn json_is_camel_case_without_empty_details() {
        let status = Status::new(Code::Unavailable, "queue full");
        let json = encode(&status, Format::Json);
        assert_eq!(String::from_utf8_lossy(&json), r#"{"code":14,"message":"queue full"}"#);
    }

    #[test]
    fn details_round_trip_in_both_formats() {
        let status = Status {
            code: Code::ResourceExhausted as i32,
            message: "slow down".into(),
            details: vec![Any {
                type_url: "type.googleapis.com/google.rpc.RetryInfo".into(),
                value: vec![1, 2],
            }],
        };
        for format in [Format::Protobuf, Format::Json] {
            let back = decode::<Status>(&encode(&status, format), format);
            assert_eq!(back.ok().as_ref(), Some(&status), "{format:?}");
        }
        let json = String::from_utf8_lossy(&encode(&status, Format::Json)).into_owned();
        assert!(
            json.contains(r#""@type":"type.googleapis.com/google.rpc.RetryInfo","value":"AQI=""#),
            "{json}"
        );
    }

    #[test]
    fn retry_delay_is_a_retry_info_detail() {
        let status = Status::new(Code::Unavailable, "slow down")
            .with_retry_delay(std::time::Duration::from_millis(1500));
        let [detail] = status.details.as_slice() else { panic!("one detail: {status:?}") };
        assert_eq!(detail.type_url, RETRY_INFO_TYPE);
        let info = RetryInfo::decode(detail.value.as_slice()).ok();
        let delay = info.and_then(|i| i.retry_delay).map(std::time::Duration::from);
        assert_eq!(delay, Some(std::time::Duration::from_millis(1500)));
    }
}
