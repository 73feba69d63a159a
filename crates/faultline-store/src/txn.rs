//! The changes of one group commit, with the groups and fingerprints it
//! touched cached, so many events of one group cost one read and one write.

use std::collections::HashMap;

use faultline_model::{Group, Grouping, HealthBucket, HealthKey};

use crate::backend::{Backend, Op};
use crate::event_codec::TraceHash;
use crate::health_buffer::Increments;
use crate::records::{self, FingerprintRecord};
use crate::{keys, Error, Result};

/// A copy of a transaction's state, taken before an admin request (merge,
/// unmerge, status) so a refused request leaves no trace in the batch.
pub(crate) struct Savepoint {
    groups: HashMap<u64, Group>,
    fingerprints: HashMap<String, FingerprintRecord>,
    dirty_fingerprints: usize,
    ops: usize,
}

pub(crate) struct Txn<'a> {
    backend: &'a dyn Backend,
    groups: HashMap<u64, Group>,
    fingerprints: HashMap<String, FingerprintRecord>,
    dirty_fingerprints: Vec<String>,
    /// Fingerprints retention deleted in this batch.
    deleted_fingerprints: std::collections::HashSet<String>,
    /// Health buckets rewritten in this batch (by maintenance), by key,
    /// merged with what was stored.
    health: HashMap<Vec<u8>, HealthBucket>,
    /// The exports' health increments, logged rather than merged.
    health_increments: Increments,
    /// Set when this batch folds the health buffer into the stored buckets.
    pub health_folded: bool,
    /// Per stack trace named in this batch, the highest sequence number
    /// naming it (written as `u` keys, read by retention).
    pub trace_uses: HashMap<TraceHash, u64>,
    pub ops: Vec<Op>,
}

impl<'a> Txn<'a> {
    pub fn new(backend: &'a dyn Backend) -> Txn<'a> {
        Txn {
            backend,
            groups: HashMap::new(),
            fingerprints: HashMap::new(),
            dirty_fingerprints: Vec::new(),
            deleted_fingerprints: Default::default(),
            health: HashMap::new(),
            health_increments: Increments::new(),
            health_folded: false,
            trace_uses: HashMap::new(),
            ops: Vec::new(),
        }
    }

    /// Adds `bucket` into the stored bucket of `kind`/`slot`/`key`.
    pub fn merge_health(
        &mut self,
        kind: u8,
        slot: u64,
        key: &HealthKey,
        bucket: &HealthBucket,
    ) -> Result<()> {
        let k = keys::health(kind, slot, key);
        if !self.health.contains_key(&k) {
            let stored = match self.backend.get(&k)? {
                Some(bytes) => crate::health::decode(&bytes)?,
                None => HealthBucket::default(),
            };
            self.health.insert(k.clone(), stored);
        }
        if let Some(current) = self.health.get_mut(&k) {
            current.merge(bucket);
        }
        Ok(())
    }

    /// Adds an export's increment to the bucket under `key`.
    pub fn add_health_increment(&mut self, key: Vec<u8>, bucket: HealthBucket) {
        crate::health_buffer::add_all(&mut self.health_increments, [(key, bucket)]);
    }

    /// The exports' increments, for the committer to log and buffer.
    pub fn take_health_increments(&mut self) -> Increments {
        std::mem::take(&mut self.health_increments)
    }

    pub fn backend(&self) -> &'a dyn Backend {
        self.backend
    }

    /// The group a fingerprint maps to now, if any.
    pub fn group_id_for(&mut self, fingerprint: &str) -> Result<Option<u64>> {
        Ok(self.fingerprint(fingerprint)?.map(|r| r.group_id))
    }

    pub fn fingerprint(&mut self, fingerprint: &str) -> Result<Option<FingerprintRecord>> {
        if let Some(r) = self.fingerprints.get(fingerprint) {
            return Ok(Some(r.clone()));
        }
        if self.deleted_fingerprints.contains(fingerprint) {
            return Ok(None);
        }
        let Some(bytes) = self.backend.get(&keys::fingerprint(fingerprint))? else { return Ok(None) };
        let record = records::decode_fingerprint(&bytes)?;
        self.fingerprints.insert(fingerprint.to_string(), record.clone());
        Ok(Some(record))
    }

    /// Records a new fingerprint pointing at `group_id`.
    pub fn add_fingerprint(&mut self, group_id: u64, grouping: &Grouping) -> Result<()> {
        let bytes = records::encode_fingerprint(group_id, grouping);
        let record = records::decode_fingerprint(&bytes)?;
        self.fingerprints.insert(grouping.fingerprint.clone(), record);
        self.dirty_fingerprints.push(grouping.fingerprint.clone());
        Ok(())
    }

    /// Points an existing fingerprint at another group.
    pub fn repoint_fingerprint(&mut self, fingerprint: &str, group_id: u64) -> Result<()> {
        let mut record = self
            .fingerprint(fingerprint)?
            .ok_or_else(|| Error::Invalid(format!("unknown fingerprint {fingerprint}")))?;
        record.group_id = group_id;
        self.fingerprints.insert(fingerprint.to_string(), record);
        self.dirty_fingerprints.push(fingerprint.to_string());
        Ok(())
    }

    /// Deletes a fingerprint record: later requests of the batch see it
    /// gone, so an event of that fingerprint starts a new group.
    pub fn delete_fingerprint(&mut self, fingerprint: &str) {
        self.fingerprints.remove(fingerprint);
        self.dirty_fingerprints.retain(|fp| fp != fingerprint);
        self.deleted_fingerprints.insert(fingerprint.to_string());
        self.ops.push(Op::Delete(keys::fingerprint(fingerprint)));
    }

    /// Drops a deleted group from the batch's cache, so it is not written back.
    pub fn forget_group(&mut self, id: u64) {
        self.groups.remove(&id);
    }

    pub fn insert_group(&mut self, group: Group) {
        self.groups.insert(group.id, group);
    }

    pub fn group_mut(&mut self, id: u64) -> Result<&mut Group> {
        if !self.groups.contains_key(&id) {
            let bytes = self.backend.get(&keys::group(id))?.ok_or(Error::GroupNotFound(id))?;
            self.groups.insert(id, records::decode_group(&bytes)?);
        }
        self.groups.get_mut(&id).ok_or(Error::GroupNotFound(id))
    }

    /// The state to return to if the next request fails.
    pub fn savepoint(&self) -> Savepoint {
        Savepoint {
            groups: self.groups.clone(),
            fingerprints: self.fingerprints.clone(),
            dirty_fingerprints: self.dirty_fingerprints.len(),
            ops: self.ops.len(),
        }
    }

    pub fn rollback(&mut self, to: Savepoint) {
        self.groups = to.groups;
        self.fingerprints = to.fingerprints;
        self.dirty_fingerprints.truncate(to.dirty_fingerprints);
        self.ops.truncate(to.ops);
    }

    /// All writes of the commit: the queued ops plus every touched group (with
    /// its listing summary) and fingerprint.
    pub fn finish(mut self) -> Vec<Op> {
        for fp in &self.dirty_fingerprints {
            if let Some(r) = self.fingerprints.get(fp) {
                self.ops.push(Op::Put(keys::fingerprint(fp), prost::Message::encode_to_vec(r)));
            }
        }
        for group in self.groups.values() {
            self.ops.push(Op::Put(keys::group(group.id), records::encode_group(group)));
            // In the same batch, so a listing never sees a summary that
            // disagrees with its group.
            self.ops.push(crate::group_summary::put(group));
        }
        for (hash, seq) in &self.trace_uses {
            self.ops.push(Op::Put(keys::trace_use(hash), seq.to_be_bytes().to_vec()));
        }
        for (key, bucket) in &self.health {
            self.ops.push(Op::Put(key.clone(), crate::health::encode(bucket)));
        }
        self.ops
    }
}

#[cfg(test)]
#[path = "txn_tests.rs"]
mod tests;
