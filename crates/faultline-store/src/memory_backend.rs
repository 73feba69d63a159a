//! A `BTreeMap` as the embedded engine's key-value store, for tests: the
//! same committer, transaction and key layout as on disk, nothing durable.
//!
//! Writes can be made to fail on demand, so tests can check what a failed
//! group commit answers and that numbering recovers afterwards.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::RwLock;

use crate::backend::{Backend, Entries, Op};
use crate::{Error, Result};

#[derive(Default)]
pub(crate) struct MemoryBackend {
    map: RwLock<BTreeMap<Vec<u8>, Vec<u8>>>,
    fail_writes: AtomicBool,
    writes: AtomicUsize,
}

impl MemoryBackend {
    /// Makes every following `write` fail (and store nothing) until reset.
    #[cfg_attr(not(test), allow(dead_code))] // used by unit tests only
    pub fn fail_writes(&self, fail: bool) {
        self.fail_writes.store(fail, Ordering::SeqCst);
    }

    /// Atomic batches applied so far (successful ones only).
    #[cfg_attr(not(test), allow(dead_code))] // used by unit tests only
    pub fn writes(&self) -> usize {
        self.writes.load(Ordering::SeqCst)
    }
}

impl Backend for MemoryBackend {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let map = self.map.read().unwrap_or_else(|p| p.into_inner());
        Ok(map.get(key).cloned())
    }

    fn scan(&self, from: &[u8], to: &[u8], reverse: bool) -> Entries<'_> {
        if from >= to {
            return Box::new(std::iter::empty());
        }
        // A snapshot of the range: a scan sees the map as it was when it
        // started, like a sled iterator over a batch-consistent tree.
        let map = self.map.read().unwrap_or_else(|p| p.into_inner());
        let mut entries: Vec<(Vec<u8>, Vec<u8>)> =
            map.range(from.to_vec()..to.to_vec()).map(|(k, v)| (k.clone(), v.clone())).collect();
        if reverse {
            entries.reverse();
        }
        Box::new(entries.into_iter().map(Ok))
    }

    fn write(&self, ops: Vec<Op>) -> Result<()> {
        if self.fail_writes.load(Ordering::SeqCst) {
            return Err(Error::Backend("memory backend told to fail this write".into()));
        }
        // One lock for the whole batch: readers see all of it or none.
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        for op in ops {
            match op {
                Op::Put(k, v) => map.insert(k, v),
                Op::Delete(k) => map.remove(&k),
            };
        }
        self.writes.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        Ok(())
    }
}
