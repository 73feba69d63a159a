//! Reading a stopped data directory out, record by record, for another
//! engine to import (`faultline migrate`): groups, fingerprints, events,
//! health buckets, endpoints, checks and their runs, alerting state and
//! deliveries, tokens and retention's arrival marks, each kind in key
//! order, a page at a time from any key on (so a copy cut short resumes
//! after the last key it wrote).
//!
//! The directory is opened as `backup --data-dir` and `compact` open it:
//! sled's lock proves no server runs on it (and keeps one from starting
//! while it is read), and a directory of a newer format is refused. Nothing
//! is written to it; format-1 directories are read as they are. What the
//! embedded engine derives (the search index, group summaries, stored
//! stack traces and dictionaries, which event bodies are completed from)
//! is not exported as such. Health increments still in the health log are
//! folded into their buckets, as the engine's readers fold them.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use faultline_model::{AccessToken, CheckResult, ErrorEvent, Group, HealthBucket, HealthKey, UnixNanos};

use crate::backend::{Backend, Entries, Op};
use crate::event_codec::EventCodec;
use crate::health_buffer::{HealthBuffer, Increments};
use crate::{checks, health, keys, records, tokens, Error, Result};

/// The kinds of record exported, in the order they are best imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Groups,
    Fingerprints,
    Events,
    HealthMinutes,
    HealthHours,
    Endpoints,
    CheckDefinitions,
    CheckRuns,
    AlertState,
    Deliveries,
    Tokens,
    ArrivalMarks,
}

impl Kind {
    pub const ALL: [Kind; 12] = [
        Kind::Groups,
        Kind::Fingerprints,
        Kind::Events,
        Kind::HealthMinutes,
        Kind::HealthHours,
        Kind::Endpoints,
        Kind::CheckDefinitions,
        Kind::CheckRuns,
        Kind::AlertState,
        Kind::Deliveries,
        Kind::Tokens,
        Kind::ArrivalMarks,
    ];

    /// A stable name (progress records and reports use it).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Groups => "groups",
            Kind::Fingerprints => "fingerprints",
            Kind::Events => "events",
            Kind::HealthMinutes => "health_minutes",
            Kind::HealthHours => "health_hours",
            Kind::Endpoints => "endpoints",
            Kind::CheckDefinitions => "check_definitions",
            Kind::CheckRuns => "check_runs",
            Kind::AlertState => "alert_state",
            Kind::Deliveries => "alert_deliveries",
            Kind::Tokens => "tokens",
            Kind::ArrivalMarks => "arrival_marks",
        }
    }

    fn prefix(self) -> u8 {
        match self {
            Kind::Groups => keys::GROUP,
            Kind::Fingerprints => keys::FINGERPRINT,
            Kind::Events => keys::EVENT,
            Kind::HealthMinutes => keys::HEALTH_MINUTE,
            Kind::HealthHours => keys::HEALTH_HOUR,
            Kind::Endpoints => keys::ENDPOINT,
            Kind::CheckDefinitions => keys::CHECK_DEFINITION,
            Kind::CheckRuns => keys::CHECK_RESULT,
            Kind::AlertState => keys::STATE,
            Kind::Deliveries => keys::DELIVERY,
            Kind::Tokens => keys::TOKEN,
            Kind::ArrivalMarks => keys::ARRIVAL,
        }
    }
}

/// What a fingerprint names: its group and how it was grouped.
#[derive(Debug, Clone, PartialEq)]
pub struct FingerprintEntry {
    pub fingerprint: String,
    pub group_id: u64,
    pub grouping_version: u32,
    pub title: String,
    pub culprit: String,
    pub method: String,
}

/// One exported record.
#[derive(Debug, Clone)]
pub enum Record {
    Group(Box<Group>),
    Fingerprint(FingerprintEntry),
    /// An event as the API serves it (sequence number and group id set),
    /// with the fingerprint it was grouped by.
    Event {
        event: Box<ErrorEvent>,
        fingerprint: String,
    },
    /// A health bucket: `slot` is the minute (or hour) since the epoch.
    Health {
        slot: u64,
        key: HealthKey,
        bucket: HealthBucket,
    },
    Endpoint {
        service: String,
        route: String,
        method: String,
    },
    CheckDefinition {
        id: String,
        json: String,
    },
    CheckRun(CheckResult),
    /// A component's saved state (the alert engine's), opaque bytes.
    AlertState {
        name: String,
        body: Vec<u8>,
    },
    /// One alert delivery attempt (JSON bytes) and when it was made.
    Delivery {
        at: UnixNanos,
        body: Vec<u8>,
    },
    Token(AccessToken),
    /// A retention pass's mark: at `at`, the next event number was `next_seq`.
    ArrivalMark {
        at: UnixNanos,
        next_seq: u64,
    },
}

/// One page of a kind: its records and the key of the last one, to ask
/// for the next page after (`None`: nothing was left).
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub records: Vec<Record>,
    pub last_key: Option<Vec<u8>>,
}

/// Counters of the store as a whole, which the importing engine must not
/// go below so new ids never reuse old ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// The sequence number the next event would have been given.
    pub next_event_seq: u64,
    /// The id the next group would have been given.
    pub next_group_id: u64,
    /// Retention deleted every event below this sequence number.
    pub deleted_below: u64,
}

/// A stopped data directory, open for reading out.
pub struct Export {
    backend: Arc<ReadOnly>,
    codec: EventCodec,
    /// Health increments logged but not yet folded into their buckets.
    pending_health: Increments,
}

/// The state record retention keeps under `m` (not alerting state).
const RETENTION_STATE: &str = "retention";

impl Export {
    /// Opens `data_dir`, which no server may be running on.
    pub fn open(data_dir: &Path) -> Result<Export> {
        let db = crate::compaction::open_stopped(data_dir)?;
        let backend = Arc::new(ReadOnly(db));
        let (buffer, _) = HealthBuffer::replay(&*backend)?;
        let pending_health = buffer.snapshot();
        let codec = EventCodec::new(backend.clone());
        Ok(Export { backend, codec, pending_health })
    }

    /// Up to `limit` records of `kind` whose keys come after `after`.
    pub fn page(&self, kind: Kind, after: Option<&[u8]>, limit: usize) -> Result<Page> {
        let limit = limit.max(1);
        let entries = self.entries(kind, after, limit)?;
        let last_key = entries.last().map(|(key, _)| key.clone());
        let mut records = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            if let Some(record) = self.decode(kind, &key, value)? {
                records.push(record);
            }
        }
        Ok(Page { records, last_key })
    }

    /// How many records of `kind` there are (what [`Export::page`] yields in all).
    pub fn count(&self, kind: Kind) -> Result<u64> {
        let mut n = 0u64;
        let mut after: Option<Vec<u8>> = None;
        loop {
            let entries = self.entries(kind, after.as_deref(), 10_000)?;
            let Some((last, _)) = entries.last() else { return Ok(n) };
            let last = last.clone();
            n += entries.iter().filter(|(key, _)| !skipped(kind, key)).count() as u64;
            after = Some(last);
        }
    }

    /// The store's id counters and retention's progress.
    pub fn counters(&self) -> Result<Counters> {
        let state = crate::retention::load_state(&*self.backend)?;
        let last = |prefix: u8| -> Result<u64> {
            let newest = self.backend.scan(&[prefix], &[prefix + 1], true).next().transpose()?;
            Ok(newest.and_then(|(key, _)| keys::u64_at(&key, 1)).map_or(0, |n| n.saturating_add(1)))
        };
        Ok(Counters {
            next_event_seq: state.next_seq.max(last(keys::EVENT)?),
            next_group_id: state.next_group_id.max(last(keys::GROUP)?),
            deleted_below: state.deleted_below,
        })
    }

    /// Raw entries of a kind after `after`, at most `limit`; health kinds
    /// with the logged increments merged in (and their keys included).
    fn entries(&self, kind: Kind, after: Option<&[u8]>, limit: usize) -> Result<Vec<(Vec<u8>, Value)>> {
        let prefix = kind.prefix();
        let from = match after {
            // The first key after `after`: `after` followed by a zero byte.
            Some(key) => [key, &[0]].concat(),
            None => vec![prefix],
        };
        let end = [prefix + 1];
        let mut out: Vec<(Vec<u8>, Value)> = Vec::with_capacity(limit.min(10_000));
        for entry in self.backend.scan(&from, &end, false) {
            if out.len() >= limit {
                break;
            }
            let (key, value) = entry?;
            out.push((key, Value::Stored(value)));
        }
        if !matches!(kind, Kind::HealthMinutes | Kind::HealthHours) {
            return Ok(out);
        }
        // Logged increments up to the last stored key of this page (or to
        // the end of the kind when the page is not full) belong to it.
        let bound = if out.len() >= limit { out.last().map(|(k, _)| k.clone()) } else { None };
        let mut merged: BTreeMap<Vec<u8>, Value> = out.into_iter().collect();
        let range = self.pending_health.range(from.clone()..end.to_vec());
        for (key, increment) in range {
            if bound.as_ref().is_some_and(|b| key > b) {
                break;
            }
            match merged.get_mut(key) {
                Some(Value::Stored(bytes)) => {
                    let mut bucket = health::decode(bytes)?;
                    bucket.merge(increment);
                    merged.insert(key.clone(), Value::Health(bucket));
                }
                Some(Value::Health(bucket)) => bucket.merge(increment),
                None => {
                    merged.insert(key.clone(), Value::Health(increment.clone()));
                }
            }
        }
        // Increments can lengthen a page past `limit`; it stays whole.
        Ok(merged.into_iter().collect())
    }

    fn decode(&self, kind: Kind, key: &[u8], value: Value) -> Result<Option<Record>> {
        if skipped(kind, key) {
            return Ok(None);
        }
        let damaged = || Error::Corrupt(format!("unreadable {} key {key:02x?}", kind.name()));
        let bytes = match value {
            Value::Health(bucket) => {
                let (slot, key) = keys::parse_health(key).ok_or_else(damaged)?;
                return Ok(Some(Record::Health { slot, key, bucket }));
            }
            Value::Stored(bytes) => bytes,
        };
        let record = match kind {
            Kind::Groups => Record::Group(Box::new(records::decode_group(&bytes)?)),
            Kind::Fingerprints => {
                let fingerprint = std::str::from_utf8(&key[1..]).map_err(|_| damaged())?.to_string();
                let r = records::decode_fingerprint(&bytes)?;
                Record::Fingerprint(FingerprintEntry {
                    fingerprint,
                    group_id: r.group_id,
                    grouping_version: r.grouping_version,
                    title: r.title,
                    culprit: r.culprit,
                    method: r.method,
                })
            }
            Kind::Events => {
                let (event, fingerprint) = self.codec.decode(&bytes)?;
                Record::Event { event: Box::new(event), fingerprint }
            }
            Kind::HealthMinutes | Kind::HealthHours => {
                let (slot, key) = keys::parse_health(key).ok_or_else(damaged)?;
                Record::Health { slot, key, bucket: health::decode(&bytes)? }
            }
            Kind::Endpoints => {
                let (service, route, method) = keys::parse_endpoint(key).ok_or_else(damaged)?;
                Record::Endpoint { service, route, method }
            }
            Kind::CheckDefinitions => {
                let (id, json) = checks::decode_definition(&bytes)?;
                Record::CheckDefinition { id, json }
            }
            Kind::CheckRuns => {
                let (id, at) = keys::parse_check_result(key).ok_or_else(damaged)?;
                Record::CheckRun(checks::decode_result(&id, at, &bytes)?)
            }
            Kind::AlertState => {
                let name = std::str::from_utf8(&key[1..]).map_err(|_| damaged())?.to_string();
                Record::AlertState { name, body: bytes }
            }
            Kind::Deliveries => {
                let at = keys::u64_at(key, 1).ok_or_else(damaged)?;
                Record::Delivery { at: i64::try_from(at).map_err(|_| damaged())?, body: bytes }
            }
            Kind::Tokens => Record::Token(tokens::decode(&bytes)?),
            Kind::ArrivalMarks => {
                let at = keys::u64_at(key, 1).ok_or_else(damaged)?;
                let next_seq = keys::u64_at(&bytes, 0).ok_or_else(damaged)?;
                Record::ArrivalMark { at: i64::try_from(at).map_err(|_| damaged())?, next_seq }
            }
        };
        Ok(Some(record))
    }
}

/// Keys of a kind's range that are not records of it: retention's own
/// state lives beside alerting's under `m`.
fn skipped(kind: Kind, key: &[u8]) -> bool {
    kind == Kind::AlertState && key.get(1..) == Some(RETENTION_STATE.as_bytes())
}

/// A stored value, or a health bucket with logged increments merged in.
enum Value {
    Stored(Vec<u8>),
    Health(HealthBucket),
}

/// The stopped store, read only: the event codec reads stack traces and
/// dictionaries through it, and nothing may write.
struct ReadOnly(sled::Db);

impl Backend for ReadOnly {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.0.get(key).map_err(Error::backend)?.map(|v| v.to_vec()))
    }

    fn scan(&self, from: &[u8], to: &[u8], reverse: bool) -> Entries<'_> {
        let range = self.0.range(from.to_vec()..to.to_vec());
        let convert = |r: sled::Result<(sled::IVec, sled::IVec)>| {
            r.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(Error::backend)
        };
        if reverse {
            Box::new(range.rev().map(convert))
        } else {
            Box::new(range.map(convert))
        }
    }

    fn write(&self, _ops: Vec<Op>) -> Result<()> {
        Err(Error::Invalid("the data directory is open for export only".into()))
    }

    fn flush(&self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
#[path = "export_tests.rs"]
mod tests;
