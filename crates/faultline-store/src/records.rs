//! Conversion between domain types and the stored protobuf records of
//! `proto/faultline/store/v1/records.proto`.

use faultline_model::{Attributes, ErrorEvent, EventSource, Group, GroupStatus};
use prost::Message;

use crate::{Error, Result};

/// The generated record types.
#[allow(clippy::enum_variant_names)]
pub mod proto {
    include!(concat!(env!("OUT_DIR"), "/faultline.store.v1.rs"));
}

/// The record format this build writes. Readers accept this and older ones.
///
/// Version 2 changed only event records (an envelope around a compressed
/// body, the stack trace stored apart: `event_codec.rs`); other records are
/// laid out as in version 1 and carry 2 so an older build refuses them all
/// alike rather than half-reading a data directory.
pub const FORMAT_VERSION: u32 = 2;

/// The event record layout of version 1: every field inline, uncompressed.
pub const EVENT_FORMAT_V1: u32 = 1;

pub(crate) fn check_version(found: u32) -> Result<()> {
    if found == 0 || found > FORMAT_VERSION {
        return Err(Error::UnsupportedFormat { found, supported: FORMAT_VERSION });
    }
    Ok(())
}

/// Encodes an event as a version-1 record, as builds before version 2 did.
/// Kept to test that such records still read, and for the hot-path bench.
pub fn encode_event(e: &ErrorEvent, fingerprint: &str) -> Vec<u8> {
    proto::EventRecord { format_version: EVENT_FORMAT_V1, ..event_fields(e, fingerprint) }.encode_to_vec()
}

/// Decodes a version-1 event record and its fingerprint (empty for records
/// written before fingerprints were stored). Version-2 records need their
/// stack trace and dictionary: read them through `EventCodec::decode`.
pub fn decode_event(bytes: &[u8]) -> Result<(ErrorEvent, String)> {
    match read_event(bytes)? {
        StoredEvent::V1(event, fingerprint) => Ok((*event, fingerprint)),
        StoredEvent::V2(_) => Err(Error::Invalid("a version-2 event record needs EventCodec::decode".into())),
    }
}

/// An event record as read from its key, before anything else is looked up.
pub enum StoredEvent {
    /// Version 1: the whole event inline.
    V1(Box<ErrorEvent>, String),
    /// Version 2: the envelope the committer wrote.
    V2(Envelope),
}

/// The parts of a version-2 record outside its compressed body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub seq: u64,
    pub group_id: u64,
    pub dictionary_id: Option<u32>,
    /// A zstd frame of `encode_event_body`'s output.
    pub body: Vec<u8>,
}

/// Reads the version of an event record and what can be decoded without
/// other records.
pub fn read_event(bytes: &[u8]) -> Result<StoredEvent> {
    let r = proto::EventRecord::decode(bytes)?;
    check_version(r.format_version)?;
    if r.format_version == EVENT_FORMAT_V1 {
        let fingerprint = r.fingerprint.clone();
        return Ok(StoredEvent::V1(Box::new(event_from_record(r)?), fingerprint));
    }
    Ok(StoredEvent::V2(Envelope {
        seq: r.seq,
        group_id: r.group_id,
        dictionary_id: r.dictionary_id,
        body: r.body,
    }))
}

/// The version-2 envelope: the committer's numbering around a body the
/// ingest worker already compressed (the body is moved, not copied twice).
pub fn encode_event_envelope(envelope: Envelope) -> Vec<u8> {
    proto::EventRecord {
        format_version: FORMAT_VERSION,
        seq: envelope.seq,
        group_id: envelope.group_id,
        dictionary_id: envelope.dictionary_id,
        body: envelope.body,
        ..Default::default()
    }
    .encode_to_vec()
}

/// The uncompressed body of a version-2 record: every field but seq and
/// group id (the committer's, in the envelope), the stack trace replaced
/// by the hash of its stored text, and attributes that only repeat a field
/// left out (the stack trace would otherwise be stored in the body again).
pub fn encode_event_body(e: &ErrorEvent, fingerprint: &str, stacktrace_hash: Option<&[u8]>) -> Vec<u8> {
    let (attributes, attributes_from_fields) = attributes_without_field_copies(e);
    let mut record = proto::EventRecord {
        format_version: FORMAT_VERSION,
        seq: 0,
        group_id: 0,
        stacktrace: None,
        stacktrace_hash: stacktrace_hash.map(<[u8]>::to_vec).unwrap_or_default(),
        attributes,
        attributes_from_fields,
        ..event_fields(e, fingerprint)
    };
    if let Some(bytes) = lowercase_hex_bytes(&record.trace_id) {
        record.trace_id_bytes = bytes;
        record.trace_id.clear();
    }
    if let Some(bytes) = lowercase_hex_bytes(&record.span_id) {
        record.span_id_bytes = bytes;
        record.span_id.clear();
    }
    record.encode_to_vec()
}

/// A decoded version-2 body.
pub struct EventBody {
    /// Seq and group id still zero, the stack trace still missing, and
    /// attributes that repeat a field still left out: see [`EventBody::complete`].
    pub event: ErrorEvent,
    pub fingerprint: String,
    pub stacktrace_hash: Option<Vec<u8>>,
    attributes_from_fields: u32,
}

impl EventBody {
    /// The whole event, once the envelope's numbering and the stored stack
    /// trace are known.
    pub fn complete(self, seq: u64, group_id: u64, stacktrace: Option<String>) -> ErrorEvent {
        let mut event = self.event;
        event.seq = seq;
        event.group_id = group_id;
        if stacktrace.is_some() {
            event.stacktrace = stacktrace;
        }
        let restored: Vec<(&str, serde_json::Value)> = field_copies(&event)
            .into_iter()
            .enumerate()
            .filter(|(bit, _)| self.attributes_from_fields & (1 << bit) != 0)
            .filter_map(|(_, (name, value))| Some((name, serde_json::Value::String(value?.to_string()))))
            .collect();
        for (name, value) in restored {
            event.attributes.insert(name.to_string(), value);
        }
        event
    }
}

pub fn decode_event_body(bytes: &[u8]) -> Result<EventBody> {
    let mut r = proto::EventRecord::decode(bytes)?;
    check_version(r.format_version)?;
    let hash = std::mem::take(&mut r.stacktrace_hash);
    let fingerprint = std::mem::take(&mut r.fingerprint);
    let attributes_from_fields = r.attributes_from_fields;
    if !r.trace_id_bytes.is_empty() {
        r.trace_id = lowercase_hex(&r.trace_id_bytes);
    }
    if !r.span_id_bytes.is_empty() {
        r.span_id = lowercase_hex(&r.span_id_bytes);
    }
    Ok(EventBody {
        event: event_from_record(r)?,
        fingerprint,
        stacktrace_hash: (!hash.is_empty()).then_some(hash),
        attributes_from_fields,
    })
}

/// The bytes of a non-empty id written as lowercase hex, or `None` for any
/// other text (kept as a string, so every id reads back exactly as sent).
fn lowercase_hex_bytes(id: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    if id.is_empty() || !id.len().is_multiple_of(2) {
        return None;
    }
    id.as_bytes().chunks(2).map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?)).collect()
}

pub(crate) fn lowercase_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The attributes an exception carries that an event also has as fields,
/// in the bit order of `attributes_from_fields`.
fn field_copies(e: &ErrorEvent) -> [(&'static str, Option<&str>); 3] {
    [
        ("exception.stacktrace", e.stacktrace.as_deref()),
        ("exception.message", e.message.as_deref()),
        ("exception.type", e.exception_type.as_deref()),
    ]
}

/// The attributes as stored in a body: without those equal to their field,
/// and the bits saying which were left out.
fn attributes_without_field_copies(e: &ErrorEvent) -> (Vec<proto::Attribute>, u32) {
    let copies = field_copies(e);
    let mut left_out = 0;
    let mut kept = Vec::with_capacity(e.attributes.len());
    for (key, value) in &e.attributes {
        let copy = copies
            .iter()
            .position(|(name, field)| name == key && field.is_some() && value.as_str() == *field);
        match copy {
            Some(bit) => left_out |= 1 << bit,
            None => kept.push(proto::Attribute { key: key.clone(), value: Some(value_to_proto(value)) }),
        }
    }
    (kept, left_out)
}

/// Every field of an event as a record, without a format version.
fn event_fields(e: &ErrorEvent, fingerprint: &str) -> proto::EventRecord {
    proto::EventRecord {
        format_version: 0,
        seq: e.seq,
        group_id: e.group_id,
        timestamp_unix_nano: e.timestamp,
        received_unix_nano: e.received_at,
        source: e.source.as_str().to_string(),
        service: e.service.clone(),
        service_version: e.service_version.clone(),
        environment: e.environment.clone(),
        host: e.host.clone(),
        sdk_language: e.sdk_language.clone(),
        trace_id: e.trace_id.clone(),
        span_id: e.span_id.clone(),
        span_name: e.span_name.clone(),
        level: e.level.clone(),
        exception_type: e.exception_type.clone(),
        message: e.message.clone(),
        stacktrace: e.stacktrace.clone(),
        escaped: e.escaped,
        http_route: e.http_route.clone(),
        http_method: e.http_method.clone(),
        http_status: e.http_status.map(u32::from),
        attributes: attributes_to_proto(&e.attributes),
        resource: attributes_to_proto(&e.resource),
        fingerprint: fingerprint.to_string(),
        body: Vec::new(),
        dictionary_id: None,
        stacktrace_hash: Vec::new(),
        attributes_from_fields: 0,
        trace_id_bytes: Vec::new(),
        span_id_bytes: Vec::new(),
    }
}

fn event_from_record(r: proto::EventRecord) -> Result<ErrorEvent> {
    let source = EventSource::parse(&r.source)
        .ok_or_else(|| Error::Corrupt(format!("unknown event source {:?}", r.source)))?;
    Ok(ErrorEvent {
        seq: r.seq,
        group_id: r.group_id,
        timestamp: r.timestamp_unix_nano,
        received_at: r.received_unix_nano,
        source,
        service: r.service,
        service_version: r.service_version,
        environment: r.environment,
        host: r.host,
        sdk_language: r.sdk_language,
        trace_id: r.trace_id,
        span_id: r.span_id,
        span_name: r.span_name,
        level: r.level,
        exception_type: r.exception_type,
        message: r.message,
        stacktrace: r.stacktrace,
        escaped: r.escaped,
        http_route: r.http_route,
        http_method: r.http_method,
        http_status: r.http_status.and_then(|s| u16::try_from(s).ok()),
        attributes: attributes_from_proto(r.attributes),
        resource: attributes_from_proto(r.resource),
    })
}

pub fn encode_group(g: &Group) -> Vec<u8> {
    proto::GroupRecord {
        format_version: FORMAT_VERSION,
        id: g.id,
        fingerprint: g.fingerprint.clone(),
        grouping_version: g.grouping_version,
        service: g.service.clone(),
        title: g.title.clone(),
        culprit: g.culprit.clone(),
        last_message: g.last_message.clone(),
        exception_type: g.exception_type.clone(),
        first_seen_unix_nano: g.first_seen,
        last_seen_unix_nano: g.last_seen,
        count: g.count,
        status: g.status.as_str().to_string(),
        regressed: g.regressed,
        regressed_at_unix_nano: g.regressed_at,
        resolved_at_unix_nano: g.resolved_at,
        environments: g.environments.clone(),
        first_release: g.first_release.clone(),
        last_release: g.last_release.clone(),
        last_event_seq: g.last_event_seq,
        fingerprints: g.fingerprints.clone(),
        merged_into: g.merged_into,
        resolved_in_release: g.resolved_in_release.clone(),
        ignored_until_unix_nano: g.ignored_until,
        ignored_until_count: g.ignored_until_count,
        collapsed_fingerprints: g.collapsed_fingerprints,
    }
    .encode_to_vec()
}

pub fn decode_group(bytes: &[u8]) -> Result<Group> {
    let r = proto::GroupRecord::decode(bytes)?;
    check_version(r.format_version)?;
    let status = GroupStatus::parse(&r.status)
        .ok_or_else(|| Error::Corrupt(format!("unknown group status {:?}", r.status)))?;
    Ok(Group {
        id: r.id,
        grouping_version: r.grouping_version,
        service: r.service,
        title: r.title,
        culprit: r.culprit,
        last_message: r.last_message,
        exception_type: r.exception_type,
        first_seen: r.first_seen_unix_nano,
        last_seen: r.last_seen_unix_nano,
        count: r.count,
        status,
        regressed: r.regressed,
        regressed_at: r.regressed_at_unix_nano,
        resolved_at: r.resolved_at_unix_nano,
        environments: r.environments,
        first_release: r.first_release,
        last_release: r.last_release,
        last_event_seq: r.last_event_seq,
        // Groups written before the list existed have just their own.
        fingerprints: if r.fingerprints.is_empty() { vec![r.fingerprint.clone()] } else { r.fingerprints },
        fingerprint: r.fingerprint,
        merged_into: r.merged_into,
        resolved_in_release: r.resolved_in_release,
        ignored_until: r.ignored_until_unix_nano,
        ignored_until_count: r.ignored_until_count,
        collapsed_fingerprints: r.collapsed_fingerprints,
    })
}

/// What a fingerprint maps to.
pub type FingerprintRecord = proto::FingerprintRecord;

pub fn encode_fingerprint(group_id: u64, grouping: &faultline_model::Grouping) -> Vec<u8> {
    proto::FingerprintRecord {
        format_version: FORMAT_VERSION,
        group_id,
        title: grouping.title.clone(),
        culprit: grouping.culprit.clone(),
        grouping_version: grouping.version,
        method: grouping.method.clone(),
    }
    .encode_to_vec()
}

pub fn decode_fingerprint(bytes: &[u8]) -> Result<FingerprintRecord> {
    let r = proto::FingerprintRecord::decode(bytes)?;
    check_version(r.format_version)?;
    Ok(r)
}

fn attributes_to_proto(attrs: &Attributes) -> Vec<proto::Attribute> {
    attrs.iter().map(|(k, v)| proto::Attribute { key: k.clone(), value: Some(value_to_proto(v)) }).collect()
}

fn attributes_from_proto(attrs: Vec<proto::Attribute>) -> Attributes {
    attrs
        .into_iter()
        .map(|a| (a.key, a.value.map(value_from_proto).unwrap_or(serde_json::Value::Null)))
        .collect()
}

fn value_to_proto(v: &serde_json::Value) -> proto::Value {
    use proto::value::Kind;
    use serde_json::Value as J;
    let kind = match v {
        J::Null => None,
        J::Bool(b) => Some(Kind::BoolValue(*b)),
        J::Number(n) => match n.as_i64() {
            Some(i) => Some(Kind::IntValue(i)),
            None => Some(Kind::DoubleValue(n.as_f64().unwrap_or(f64::NAN))),
        },
        J::String(s) => Some(Kind::StringValue(s.clone())),
        J::Array(items) => {
            Some(Kind::ArrayValue(proto::ValueList { values: items.iter().map(value_to_proto).collect() }))
        }
        J::Object(map) => Some(Kind::KvlistValue(proto::AttributeList {
            attributes: map
                .iter()
                .map(|(k, v)| proto::Attribute { key: k.clone(), value: Some(value_to_proto(v)) })
                .collect(),
        })),
    };
    proto::Value { kind }
}

fn value_from_proto(v: proto::Value) -> serde_json::Value {
    use proto::value::Kind;
    use serde_json::Value as J;
    match v.kind {
        None => J::Null,
        Some(Kind::StringValue(s)) => J::String(s),
        Some(Kind::BoolValue(b)) => J::Bool(b),
        Some(Kind::IntValue(i)) => J::from(i),
        Some(Kind::DoubleValue(d)) => serde_json::Number::from_f64(d).map(J::Number).unwrap_or(J::Null),
        Some(Kind::ArrayValue(list)) => J::Array(list.values.into_iter().map(value_from_proto).collect()),
        Some(Kind::KvlistValue(list)) => J::Object(
            list.attributes
                .into_iter()
                .map(|a| (a.key, a.value.map(value_from_proto).unwrap_or(J::Null)))
                .collect(),
        ),
        Some(Kind::BytesValue(b)) => J::String(String::from_utf8_lossy(&b).into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample_event() -> ErrorEvent {
        let mut attributes = Attributes::new();
        attributes.insert("user.id".into(), serde_json::json!("u-1"));
        attributes.insert("retries".into(), serde_json::json!(3));
        attributes.insert("ratio".into(), serde_json::json!(0.5));
        attributes.insert("tags".into(), serde_json::json!(["a", true]));
        attributes.insert("nested".into(), serde_json::json!({"k": "v"}));
        ErrorEvent {
            seq: 7,
            group_id: 3,
            timestamp: 1_700_000_000_000_000_000,
            received_at: 1_700_000_000_100_000_000,
            source: EventSource::SpanException,
            service: "checkout".into(),
            service_version: Some("1.2.3".into()),
            environment: Some("prod".into()),
            host: None,
            sdk_language: Some("python".into()),
            trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
            span_id: "b7ad6b7169203331".into(),
            span_name: Some("GET /orders".into()),
            level: "error".into(),
            exception_type: Some("ValueError".into()),
            message: Some("bad".into()),
            stacktrace: Some("Traceback...".into()),
            escaped: Some(true),
            http_route: Some("/orders".into()),
            http_method: Some("GET".into()),
            http_status: Some(500),
            attributes,
            resource: Attributes::new(),
        }
    }

    #[test]
    fn event_round_trips() {
        let e = sample_event();
        let decoded = decode_event(&encode_event(&e, "fp")).expect("decodes");
        assert_eq!(decoded, (e, "fp".to_string()));
    }

    #[test]
    fn ids_are_stored_as_bytes_only_when_they_read_back_exactly() {
        for (trace_id, span_id) in [
            ("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"),
            ("0AF7651916CD43DD8448EB211C80319C", "b7a"),
            ("", "not hex!"),
        ] {
            let mut e = sample_event();
            e.trace_id = trace_id.into();
            e.span_id = span_id.into();
            let body = decode_event_body(&encode_event_body(&e, "fp", None)).expect("decodes");
            assert_eq!((body.event.trace_id.as_str(), body.event.span_id.as_str()), (trace_id, span_id));
        }
        let stored =
            proto::EventRecord::decode(&encode_event_body(&sample_event(), "fp", None)[..]).expect("decodes");
        assert_eq!((stored.trace_id_bytes.len(), stored.trace_id.as_str()), (16, ""));
    }

    #[test]
    fn newer_format_is_refused_not_misread() {
        let mut bytes = Vec::new();
        proto::EventRecord { format_version: FORMAT_VERSION + 1, ..Default::default() }
            .encode(&mut bytes)
            .expect("encodes");
        assert!(matches!(decode_event(&bytes), Err(Error::UnsupportedFormat { .. })));
        assert!(matches!(decode_event(b"\xff\xff\xff"), Err(Error::Corrupt(_))));
    }
}
