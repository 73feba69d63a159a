//! Health increments not yet folded into their stored buckets.
//!
//! Rewriting every touched bucket on every commit cost the one committer
//! thread a read, a decode, a merge and an encode of a growing sketch per
//! endpoint and commit. Instead each commit appends its increments as one
//! log record, in the same atomic batch as its events (so they are exactly
//! as durable as the acknowledgement), and adds them here. Once a minute
//! the maintenance pass folds everything here into the stored buckets and
//! deletes the log records, again in one batch. Readers merge what is here
//! with what is stored; on start the log is replayed here.

use std::collections::BTreeMap;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use faultline_model::HealthBucket;
use prost::Message;

use crate::backend::Backend;
use crate::records::{self, proto};
use crate::{health, keys, Error, Result};

/// Increments by full bucket key (`h`/`H` + slot + endpoint).
pub(crate) type Increments = BTreeMap<Vec<u8>, HealthBucket>;

#[derive(Debug, Default)]
pub(crate) struct HealthBuffer {
    pending: RwLock<Increments>,
}

impl HealthBuffer {
    /// The buffer as the log left it, and the number for the next log record.
    pub fn replay(backend: &dyn Backend) -> Result<(HealthBuffer, u64)> {
        let mut pending = Increments::new();
        let mut next = 1;
        for entry in backend.scan(&[keys::HEALTH_LOG], &[keys::HEALTH_LOG + 1], false) {
            let (key, value) = entry?;
            next = keys::u64_at(&key, 1).map_or(next, |n| n + 1);
            add_all(&mut pending, decode_log(&value)?);
        }
        Ok((HealthBuffer { pending: RwLock::new(pending) }, next))
    }

    /// What is buffered, for readers to merge with what is stored. Held for
    /// the whole read, so a fold cannot happen half-way through it.
    pub fn read(&self) -> RwLockReadGuard<'_, Increments> {
        self.pending.read().unwrap_or_else(|p| p.into_inner())
    }

    /// For the committer, which alone changes the buffer.
    pub fn write(&self) -> RwLockWriteGuard<'_, Increments> {
        self.pending.write().unwrap_or_else(|p| p.into_inner())
    }

    pub fn snapshot(&self) -> Increments {
        self.read().clone()
    }
}

/// Adds increments into `into`.
pub(crate) fn add_all(into: &mut Increments, from: impl IntoIterator<Item = (Vec<u8>, HealthBucket)>) {
    for (key, bucket) in from {
        match into.get_mut(&key) {
            Some(current) => current.merge(&bucket),
            None => {
                into.insert(key, bucket);
            }
        }
    }
}

pub(crate) fn encode_log(increments: &Increments) -> Vec<u8> {
    proto::HealthLogRecord {
        format_version: records::FORMAT_VERSION,
        entries: increments
            .iter()
            .map(|(key, bucket)| proto::HealthLogEntry {
                key: key.clone(),
                bucket: Some(health::to_record(bucket)),
            })
            .collect(),
    }
    .encode_to_vec()
}

fn decode_log(bytes: &[u8]) -> Result<Vec<(Vec<u8>, HealthBucket)>> {
    let r = proto::HealthLogRecord::decode(bytes)?;
    records::check_version(r.format_version)?;
    r.entries
        .into_iter()
        .map(|e| {
            let bucket = e.bucket.ok_or_else(|| Error::Corrupt("health log entry without figures".into()))?;
            Ok((e.key, health::from_record(bucket)?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use faultline_model::{HealthKey, HealthSample, Outcome};

    use super::*;
    use crate::backend::Op;
    use crate::memory_backend::MemoryBackend;

    fn endpoint(route: &str) -> HealthKey {
        HealthKey {
            service: "api".into(),
            environment: String::new(),
            route: route.into(),
            method: "GET".into(),
        }
    }

    fn bucket(n: u32) -> HealthBucket {
        let key = endpoint("/");
        let mut b = HealthBucket::default();
        for i in 0..n {
            b.add(&HealthSample { key: key.clone(), at: 0, duration_ms: f64::from(i), outcome: Outcome::Ok });
        }
        b
    }

    #[test]
    fn the_log_replays_into_the_buffer() {
        let backend = MemoryBackend::default();
        let key = |route: &str| keys::health(keys::HEALTH_MINUTE, 7, &endpoint(route));
        let first = Increments::from([(key("/a"), bucket(2)), (key("/b"), bucket(1))]);
        let second = Increments::from([(key("/a"), bucket(3))]);
        backend
            .write(vec![
                Op::Put(keys::health_log(4), encode_log(&first)),
                Op::Put(keys::health_log(5), encode_log(&second)),
            ])
            .unwrap();
        let (buffer, next) = HealthBuffer::replay(&backend).unwrap();
        assert_eq!(next, 6);
        let pending = buffer.snapshot();
        assert_eq!(pending[&key("/a")].requests, 5);
        assert_eq!(pending[&key("/b")].requests, 1);
    }

    #[test]
    fn a_damaged_log_record_is_reported_not_skipped() {
        let backend = MemoryBackend::default();
        backend.write(vec![Op::Put(keys::health_log(1), vec![0xff, 0xff, 0xff])]).unwrap();
        assert!(HealthBuffer::replay(&backend).is_err());
    }
}
