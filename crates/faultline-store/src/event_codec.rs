//! Event records of format version 2: how an event becomes the bytes under
//! its key, and back.
//!
//! Events of one group mostly repeat each other, so a repeated event is
//! stored as little more than what differs:
//! - its stack trace is stored once per distinct text, under `t` + the
//!   first 16 bytes of the text's SHA-256, and the record keeps the hash;
//! - its body (every field but seq and group id) is one zstd frame,
//!   compressed with a raw-content dictionary: the uncompressed body of an
//!   early event of the same fingerprint, stored once under `z` + an id
//!   derived from the fingerprint. The service, type, route, attributes
//!   and trace hash are then all matches, and what is left is mostly ids
//!   and times;
//! - the work is done by the ingest worker that submits the event
//!   ([`EventCodec::prepare`]), not by the one committer thread, which
//!   only puts seq and group id around the body and writes the trace or
//!   dictionary an event brought if it is not stored yet.
//!
//! A stored dictionary is never rewritten, and the worker compresses only
//! with a dictionary it read back from storage, so a body always decodes
//! with the bytes it was compressed with, even if two fingerprints' ids
//! collided. The first events of a fingerprint (until its dictionary is
//! committed) are compressed without one.
//!
//! Traces and dictionaries are shared by many events. Retention
//! (`retention.rs`) deletes a trace once no remaining event names it: the
//! committer keeps, per trace, the highest sequence number naming it
//! (`u` + hash), and a trace whose highest user is below the deletion
//! point goes with the events. Dictionaries are kept (see `retention.rs`).

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use faultline_model::{ErrorEvent, Grouping};
use sha2::{Digest, Sha256};
use zstd::dict::{DecoderDictionary, EncoderDictionary};
use zstd::zstd_safe::{self, CCtx, DCtx};

use crate::backend::Backend;
use crate::keys::{self, STACKTRACE_HASH_LEN};
use crate::records::{self, Envelope, StoredEvent};
use crate::{Error, Result};

/// zstd's default level: higher levels gained little on bodies of a few
/// hundred bytes that are mostly dictionary matches.
const LEVEL: i32 = 3;

/// The largest body a record may decompress to; a damaged frame claiming
/// more is refused rather than allocated.
const MAX_BODY_BYTES: usize = 16 << 20;

/// Entries each in-memory cache holds before it starts over.
const CACHE_ENTRIES: usize = 4096;

/// A stack trace's content hash, its key in the `t` key space.
pub(crate) type TraceHash = [u8; STACKTRACE_HASH_LEN];

/// An event encoded by the worker, for the committer to number and write.
pub(crate) struct EncodedEvent {
    /// A zstd frame of the record body (`records::encode_event_body`).
    pub body: Vec<u8>,
    /// The dictionary `body` was compressed with, if any.
    pub dictionary_id: Option<u32>,
    /// The hash of the event's stack trace, which the body names.
    pub stacktrace_hash: Option<TraceHash>,
    /// The event's stack trace (key and text) when it was not found stored.
    pub new_stacktrace: Option<(Vec<u8>, String)>,
    /// When the fingerprint has no stored dictionary yet: its id and this
    /// event's uncompressed body, to become the dictionary.
    pub new_dictionary: Option<(u32, Vec<u8>)>,
}

/// An event with its grouping and its encoded record.
pub(crate) struct PreparedEvent {
    pub event: ErrorEvent,
    pub grouping: Grouping,
    pub encoded: EncodedEvent,
}

/// Encodes events for the committer and decodes stored ones of either
/// format version, with prepared dictionaries cached. Shared by the
/// ingest workers, the committer, the indexer and readers.
pub(crate) struct EventCodec {
    backend: Arc<dyn Backend>,
    encoders: Mutex<Bounded<u32, Arc<EncoderDictionary<'static>>>>,
    decoders: Mutex<Bounded<u32, Arc<DecoderDictionary<'static>>>>,
    /// Traces seen stored, so their text is not sent again.
    stored_traces: Mutex<Bounded<TraceHash, ()>>,
}

impl EventCodec {
    pub fn new(backend: Arc<dyn Backend>) -> EventCodec {
        EventCodec {
            backend,
            encoders: Mutex::new(Bounded::default()),
            decoders: Mutex::new(Bounded::default()),
            stored_traces: Mutex::new(Bounded::default()),
        }
    }

    /// Encodes an export's events (on the caller's thread).
    pub fn prepare_batch(&self, events: crate::EventBatch) -> Result<Vec<PreparedEvent>> {
        events.into_iter().map(|(event, grouping)| self.prepare(event, grouping)).collect()
    }

    /// Encodes one event: trace split off, body compressed with its
    /// fingerprint's dictionary when one is stored.
    pub fn prepare(&self, event: ErrorEvent, grouping: Grouping) -> Result<PreparedEvent> {
        let hash = event.stacktrace.as_deref().map(stacktrace_hash);
        let new_stacktrace = match (&hash, &event.stacktrace) {
            (Some(hash), Some(text)) if !self.trace_stored(hash)? => {
                Some((keys::stacktrace(hash), text.clone()))
            }
            _ => None,
        };
        let raw = records::encode_event_body(&event, &grouping.fingerprint, hash.as_ref().map(|h| &h[..]));
        let id = dictionary_id(&grouping.fingerprint);
        let encoded = match self.encoder(id)? {
            Some(dictionary) => EncodedEvent {
                body: compress_with(&raw, &dictionary)?,
                dictionary_id: Some(id),
                stacktrace_hash: hash,
                new_stacktrace,
                new_dictionary: None,
            },
            None => EncodedEvent {
                body: compress(&raw)?,
                dictionary_id: None,
                stacktrace_hash: hash,
                new_stacktrace,
                new_dictionary: Some((id, raw)),
            },
        };
        Ok(PreparedEvent { event, grouping, encoded })
    }

    /// A stored event record of any version, with its fingerprint.
    pub fn decode(&self, bytes: &[u8]) -> Result<(ErrorEvent, String)> {
        match records::read_event(bytes)? {
            StoredEvent::V1(event, fingerprint) => Ok((*event, fingerprint)),
            StoredEvent::V2(envelope) => self.decode_v2(envelope),
        }
    }

    /// What a stored record names in other records (its fingerprint and
    /// stack trace), without reading the trace: for retention.
    pub fn references(&self, bytes: &[u8]) -> Result<EventReferences> {
        match records::read_event(bytes)? {
            StoredEvent::V1(event, fingerprint) => {
                Ok(EventReferences { group_id: event.group_id, fingerprint, stacktrace_hash: None })
            }
            StoredEvent::V2(envelope) => {
                let raw = match envelope.dictionary_id {
                    Some(id) => decompress(&envelope.body, Some(&*self.decoder(id)?))?,
                    None => decompress(&envelope.body, None)?,
                };
                let body = records::decode_event_body(&raw)?;
                let stacktrace_hash = body.stacktrace_hash.as_deref().and_then(|h| h.try_into().ok());
                Ok(EventReferences {
                    group_id: envelope.group_id,
                    fingerprint: body.fingerprint,
                    stacktrace_hash,
                })
            }
        }
    }

    /// Forgets that a trace is stored (retention deleted it), so the next
    /// event naming it brings its text again.
    pub fn forget_trace(&self, hash: &TraceHash) {
        lock(&self.stored_traces).remove(hash);
    }

    fn decode_v2(&self, envelope: Envelope) -> Result<(ErrorEvent, String)> {
        let raw = match envelope.dictionary_id {
            Some(id) => decompress(&envelope.body, Some(&*self.decoder(id)?))?,
            None => decompress(&envelope.body, None)?,
        };
        let body = records::decode_event_body(&raw)?;
        let stacktrace = body.stacktrace_hash.as_deref().map(|hash| self.stacktrace(hash)).transpose()?;
        let fingerprint = body.fingerprint.clone();
        Ok((body.complete(envelope.seq, envelope.group_id, stacktrace), fingerprint))
    }

    /// The text of a stored stack trace.
    fn stacktrace(&self, hash: &[u8]) -> Result<String> {
        let hash: TraceHash = hash
            .try_into()
            .map_err(|_| Error::Corrupt(format!("stack trace hash of {} bytes", hash.len())))?;
        let bytes = self.backend.get(&keys::stacktrace(&hash))?.ok_or_else(|| {
            Error::Corrupt(format!("stack trace {} is missing", records::lowercase_hex(&hash)))
        })?;
        String::from_utf8(bytes).map_err(|_| {
            Error::Corrupt(format!("stack trace {} is not UTF-8", records::lowercase_hex(&hash)))
        })
    }

    /// Whether a trace is stored: cached once seen, so a known trace costs
    /// no read.
    fn trace_stored(&self, hash: &TraceHash) -> Result<bool> {
        if lock(&self.stored_traces).get(hash).is_some() {
            return Ok(true);
        }
        let stored = self.backend.get(&keys::stacktrace(hash))?.is_some();
        if stored {
            lock(&self.stored_traces).insert(*hash, ());
        }
        Ok(stored)
    }

    /// The prepared compression dictionary `id`, if it is stored. Absence
    /// is not cached: the dictionary appears once the committer writes it.
    fn encoder(&self, id: u32) -> Result<Option<Arc<EncoderDictionary<'static>>>> {
        if let Some(found) = lock(&self.encoders).get(&id) {
            return Ok(Some(found.clone()));
        }
        let Some(bytes) = self.backend.get(&keys::dictionary(id))? else { return Ok(None) };
        let prepared = Arc::new(
            EncoderDictionary::try_copy(&bytes, LEVEL)
                .map_err(|e| Error::Corrupt(format!("dictionary {id}: {e}")))?,
        );
        lock(&self.encoders).insert(id, prepared.clone());
        Ok(Some(prepared))
    }

    /// The prepared decompression dictionary `id`; a record naming one
    /// that is not stored is damaged.
    fn decoder(&self, id: u32) -> Result<Arc<DecoderDictionary<'static>>> {
        if let Some(found) = lock(&self.decoders).get(&id) {
            return Ok(found.clone());
        }
        let bytes = self
            .backend
            .get(&keys::dictionary(id))?
            .ok_or_else(|| Error::Corrupt(format!("dictionary {id} is missing")))?;
        let prepared = Arc::new(
            DecoderDictionary::try_copy(&bytes)
                .map_err(|e| Error::Corrupt(format!("dictionary {id}: {e}")))?,
        );
        lock(&self.decoders).insert(id, prepared.clone());
        Ok(prepared)
    }
}

/// What one stored event names elsewhere.
pub(crate) struct EventReferences {
    /// The group the committer gave it (merge and unmerge may have moved it since).
    pub group_id: u64,
    pub fingerprint: String,
    pub stacktrace_hash: Option<TraceHash>,
}

/// The first 16 bytes of the SHA-256 of a stack trace: collisions are out
/// of reach at any realistic number of distinct traces.
pub(crate) fn stacktrace_hash(text: &str) -> TraceHash {
    let digest = Sha256::digest(text.as_bytes());
    let mut hash = [0; STACKTRACE_HASH_LEN];
    hash.copy_from_slice(&digest[..STACKTRACE_HASH_LEN]);
    hash
}

/// The dictionary id of a fingerprint: 4 bytes of its SHA-256. A collision
/// only means two fingerprints share one dictionary, which still decodes
/// both (see the module comment) and compresses the second less well.
fn dictionary_id(fingerprint: &str) -> u32 {
    let digest = Sha256::digest(fingerprint.as_bytes());
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

thread_local! {
    // One compression and one decompression context per thread, reused:
    // creating a context per record allocated and zeroed its tables (a few
    // hundred KB) for a body of a few hundred bytes.
    static COMPRESSOR: RefCell<CCtx<'static>> = RefCell::new(CCtx::create());
    static DECOMPRESSOR: RefCell<DCtx<'static>> = RefCell::new(DCtx::create());
}

fn compress(raw: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(zstd_safe::compress_bound(raw.len()));
    COMPRESSOR.with(|c| c.borrow_mut().compress(&mut out, raw, LEVEL)).map_err(compression_failed)?;
    Ok(out)
}

fn compress_with(raw: &[u8], dictionary: &EncoderDictionary<'_>) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(zstd_safe::compress_bound(raw.len()));
    COMPRESSOR
        .with(|c| c.borrow_mut().compress_using_cdict(&mut out, raw, dictionary.as_cdict()))
        .map_err(compression_failed)?;
    Ok(out)
}

fn decompress(body: &[u8], dictionary: Option<&DecoderDictionary<'_>>) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(content_size(body)?);
    DECOMPRESSOR
        .with(|d| {
            let mut d = d.borrow_mut();
            match dictionary {
                Some(dictionary) => d.decompress_using_ddict(&mut out, body, dictionary.as_ddict()),
                None => d.decompress(&mut out, body),
            }
        })
        .map_err(|code| damaged_body(zstd_safe::get_error_name(code)))?;
    Ok(out)
}

/// The size a frame says it decompresses to (every frame written here says
/// so), refused when missing or over the bound rather than allocated.
fn content_size(body: &[u8]) -> Result<usize> {
    match zstd_safe::get_frame_content_size(body) {
        Ok(Some(size)) if size <= MAX_BODY_BYTES as u64 => Ok(size as usize),
        Ok(Some(size)) => Err(damaged_body(&format!("it claims {size} bytes"))),
        Ok(None) => Err(damaged_body("its frame has no content size")),
        Err(_) => Err(damaged_body("its frame header is damaged")),
    }
}

/// zstd fails to compress only when it cannot allocate: not damage.
fn compression_failed(code: usize) -> Error {
    Error::Backend(format!("zstd compression: {}", zstd_safe::get_error_name(code)))
}

fn damaged_body(reason: &str) -> Error {
    Error::Corrupt(format!("event body does not decompress: {reason}"))
}

/// A cache lock; a panic elsewhere leaves a cache that is still valid.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A map that starts over when full: bounded memory with no bookkeeping,
/// enough for caches whose working set (the fingerprints and traces being
/// seen now) is far smaller than the bound.
pub(crate) struct Bounded<K, V> {
    map: HashMap<K, V>,
}

impl<K, V> Default for Bounded<K, V> {
    fn default() -> Self {
        Bounded { map: HashMap::new() }
    }
}

impl<K: Hash + Eq, V> Bounded<K, V> {
    pub fn get(&self, key: &K) -> Option<&V> {
        self.map.get(key)
    }

    pub fn insert(&mut self, key: K, value: V) {
        if self.map.len() >= CACHE_ENTRIES {
            self.map.clear();
        }
        self.map.insert(key, value);
    }

    pub fn remove(&mut self, key: &K) {
        self.map.remove(key);
    }

    pub fn clear(&mut self) {
        self.map.clear();
    }
}

#[cfg(test)]
#[path = "event_codec_tests.rs"]
mod tests;
