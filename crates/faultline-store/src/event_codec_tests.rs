//! Event records of version 2, and version-1 records still read.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use super::*;
use crate::backend::Op;
use crate::memory_backend::MemoryBackend;
use crate::records::{proto, FORMAT_VERSION};
use crate::test_support::{event, grouping, seeded};
use prost::Message;

fn traced(ts: i64, trace: &str) -> ErrorEvent {
    let mut e = event("api", ts);
    e.stacktrace = Some(trace.into());
    e.attributes.insert("user.id".into(), serde_json::json!(format!("u-{ts}")));
    // As extraction leaves them: the exception's attributes repeat its fields.
    e.attributes.insert("exception.stacktrace".into(), serde_json::json!(trace));
    e.attributes.insert("exception.message".into(), serde_json::json!(e.message.clone()));
    e.attributes.insert("exception.type".into(), serde_json::json!("OtherType"));
    e
}

/// What the committer would write for a prepared event (trace and
/// dictionary included), applied at once.
fn commit(backend: &MemoryBackend, prepared: PreparedEvent, seq: u64, group_id: u64) -> Vec<u8> {
    let EncodedEvent { body, dictionary_id, new_stacktrace, new_dictionary, .. } = prepared.encoded;
    let mut ops = Vec::new();
    if let Some((key, text)) = new_stacktrace {
        ops.push(Op::Put(key, text.into_bytes()));
    }
    if let Some((id, raw)) = new_dictionary {
        if backend.get(&keys::dictionary(id)).unwrap().is_none() {
            ops.push(Op::Put(keys::dictionary(id), raw));
        }
    }
    let record = records::encode_event_envelope(Envelope { seq, group_id, dictionary_id, body });
    ops.push(Op::Put(keys::event(seq), record.clone()));
    backend.write(ops).unwrap();
    record
}

#[test]
fn events_round_trip_with_shared_trace_and_dictionary() {
    let backend = Arc::new(MemoryBackend::default());
    let codec = EventCodec::new(backend.clone());
    let trace = "Traceback (most recent call last):\n  File \"/app/x.py\", line 1, in f\n".repeat(20);

    let first = codec.prepare(traced(1, &trace), grouping("fp")).unwrap();
    assert!(first.encoded.new_stacktrace.is_some(), "a new trace travels with its first event");
    assert!(first.encoded.dictionary_id.is_none() && first.encoded.new_dictionary.is_some());
    let first_record = commit(&backend, first, 1, 5);

    let second = codec.prepare(traced(2, &trace), grouping("fp")).unwrap();
    assert!(second.encoded.new_stacktrace.is_none(), "a stored trace is not sent again");
    assert!(second.encoded.dictionary_id.is_some() && second.encoded.new_dictionary.is_none());
    let second_record = commit(&backend, second, 2, 5);
    assert!(
        second_record.len() < first_record.len() / 2 && second_record.len() < trace.len() / 4,
        "a repeated event is small: {} then {} bytes",
        first_record.len(),
        second_record.len()
    );

    // A fresh codec (cold caches) reads both back whole.
    let reader = EventCodec::new(backend.clone());
    for (seq, record) in [(1, &first_record), (2, &second_record)] {
        let (decoded, fingerprint) = reader.decode(record).unwrap();
        let mut expected = traced(seq as i64, &trace);
        expected.seq = seq;
        expected.group_id = 5;
        assert_eq!((decoded, fingerprint.as_str()), (expected, "fp"));
    }
}

#[test]
fn attributes_repeating_a_field_are_stored_once_and_read_back_whole() {
    let backend = Arc::new(MemoryBackend::default());
    let codec = EventCodec::new(backend.clone());
    let trace = "Traceback: frames\n".repeat(50);
    let e = traced(1, &trace);
    let body = records::encode_event_body(&e, "fp", Some(&stacktrace_hash(&trace)));
    assert!(body.len() < trace.len(), "the trace is not in the body: {} bytes", body.len());
    let record = commit(&backend, codec.prepare(e.clone(), grouping("fp")).unwrap(), 1, 1);
    let (read, _) = codec.decode(&record).unwrap();
    // `exception.type` differs from the field, so it was kept as sent.
    assert_eq!(read.attributes, e.attributes);
    assert_eq!(read.attributes["exception.type"], serde_json::json!("OtherType"));
}

#[test]
fn an_event_without_a_trace_stores_none() {
    let backend = Arc::new(MemoryBackend::default());
    let codec = EventCodec::new(backend.clone());
    let prepared = codec.prepare(event("api", 3), grouping("fp")).unwrap();
    assert!(prepared.encoded.new_stacktrace.is_none());
    let record = commit(&backend, prepared, 1, 1);
    assert_eq!(codec.decode(&record).unwrap().0.stacktrace, None);
}

#[test]
fn a_record_naming_a_missing_trace_or_dictionary_is_damaged() {
    let backend = Arc::new(MemoryBackend::default());
    let codec = EventCodec::new(backend.clone());
    let trace = "a trace";
    let prepared = codec.prepare(traced(1, trace), grouping("fp")).unwrap();
    let EncodedEvent { body, .. } = prepared.encoded;
    let record = records::encode_event_envelope(Envelope { seq: 1, group_id: 1, dictionary_id: None, body });
    assert!(matches!(codec.decode(&record), Err(Error::Corrupt(m)) if m.contains("stack trace")));

    let record = records::encode_event_envelope(Envelope {
        seq: 1,
        group_id: 1,
        dictionary_id: Some(9),
        body: b"not zstd".to_vec(),
    });
    assert!(matches!(codec.decode(&record), Err(Error::Corrupt(m)) if m.contains("dictionary 9")));
    let record = records::encode_event_envelope(Envelope {
        seq: 1,
        group_id: 1,
        dictionary_id: None,
        body: vec![1, 2],
    });
    assert!(matches!(codec.decode(&record), Err(Error::Corrupt(_))));
}

#[test]
fn a_body_claiming_too_much_or_no_size_is_refused_not_allocated() {
    let codec = EventCodec::new(Arc::new(MemoryBackend::default()));
    let decode = |body: Vec<u8>| {
        codec.decode(&records::encode_event_envelope(Envelope {
            seq: 1,
            group_id: 1,
            dictionary_id: None,
            body,
        }))
    };
    // A raw-block frame header saying 1 GiB (single segment, 4-byte size).
    let mut huge = vec![0x28, 0xb5, 0x2f, 0xfd, 0b1010_0000];
    huge.extend_from_slice(&(1u32 << 30).to_le_bytes());
    assert!(matches!(decode(huge), Err(Error::Corrupt(m)) if m.contains("claims 1073741824 bytes")));
    // A frame without a content size (streamed), as no writer here makes.
    let mut streamed = Vec::new();
    let mut encoder = zstd::stream::Encoder::new(&mut streamed, 3).unwrap();
    encoder.include_contentsize(false).unwrap();
    std::io::Write::write_all(&mut encoder, b"body").unwrap();
    encoder.finish().unwrap();
    assert!(matches!(decode(streamed), Err(Error::Corrupt(m)) if m.contains("no content size")));
}

/// Data directories written before version 2 hold version-1 records: the
/// store reads them unchanged, beside version-2 ones.
#[test]
fn version_one_records_still_read_through_the_codec() {
    let backend = seeded(vec![vec![(traced(1, "new trace"), grouping("fp"))]]);
    let mut old = traced(7, "an old trace");
    old.seq = 2;
    old.group_id = 1;
    // What builds before version 2 wrote: the kept version-1 encoder …
    backend.write(vec![Op::Put(keys::event(2), records::encode_event(&old, "fp"))]).unwrap();
    // … and, independent of it, a raw version-1 protobuf.
    let raw = proto::EventRecord {
        format_version: 1,
        seq: 3,
        group_id: 1,
        timestamp_unix_nano: 9,
        source: "span_exception".into(),
        service: "api".into(),
        level: "error".into(),
        stacktrace: Some("raw trace".into()),
        fingerprint: "fp".into(),
        ..Default::default()
    };
    backend.write(vec![Op::Put(keys::event(3), raw.encode_to_vec())]).unwrap();

    let codec = EventCodec::new(backend.clone());
    let read = |seq| codec.decode(&backend.get(&keys::event(seq)).unwrap().unwrap()).unwrap();
    assert_eq!(read(2), (old, "fp".to_string()));
    let (raw, _) = read(3);
    assert_eq!((raw.seq, raw.service.as_str(), raw.stacktrace.as_deref()), (3, "api", Some("raw trace")));
    let (new, _) = read(1);
    assert_eq!(new.stacktrace.as_deref(), Some("new trace"));
    assert_eq!(FORMAT_VERSION, 2);
}

#[test]
fn older_builds_refuse_version_two_records_as_unsupported() {
    let backend = Arc::new(MemoryBackend::default());
    let codec = EventCodec::new(backend.clone());
    let record = commit(&backend, codec.prepare(traced(1, "t"), grouping("fp")).unwrap(), 1, 1);
    // A version-1 reader sees a valid EventRecord of a newer format.
    let as_v1 = proto::EventRecord::decode(&record[..]).unwrap();
    assert_eq!(as_v1.format_version, 2);
}

/// The same through the store's API: a data directory holding version-1
/// events (written here as raw records, as an older build did) gets
/// version-2 ones beside them, and the event API, the indexer (rebuilt
/// from the log) and search read both alike.
#[test]
fn the_store_reads_version_one_and_two_events_alike() {
    use crate::{EventStore, SearchRequest, SearchStore, StoreAdmin};
    let backend = Arc::new(MemoryBackend::default());
    let mut old = traced(7, "Traceback: old frames");
    old.seq = 1;
    old.group_id = 0;
    backend.write(vec![Op::Put(keys::event(1), records::encode_event(&old, "fp-old"))]).unwrap();

    let engine = crate::embedded::Embedded::over(backend.clone(), crate::StorageOptions::default()).unwrap();
    let new = traced(8, "Traceback: new frames");
    let committed = engine.submit(vec![(new.clone(), grouping("fp"))], Default::default()).unwrap();
    let committed = committed.blocking_recv().unwrap().unwrap();
    assert_eq!(committed[0].seq, 2, "numbering continues after the old events");

    assert_eq!(engine.event(1).unwrap(), Some(old));
    let read = engine.event(2).unwrap().unwrap();
    assert_eq!(read.stacktrace.as_deref(), Some("Traceback: new frames"));
    assert!(engine.wait_indexed(std::time::Duration::from_secs(10)));
    let request = SearchRequest { query: "frames".into(), from: None, to: None, limit: 10, before_seq: None };
    let (page, events) = engine.search(&request).unwrap();
    assert_eq!(page.total, 2);
    let traces: Vec<_> = events.iter().map(|e| e.stacktrace.clone().unwrap_or_default()).collect();
    assert_eq!(traces, ["Traceback: new frames", "Traceback: old frames"]);
    engine.shutdown().unwrap();
}
