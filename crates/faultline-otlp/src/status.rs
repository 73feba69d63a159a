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
}
