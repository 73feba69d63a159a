//! The narrow interface the embedded engine needs from a key-value store:
//! a sorted key space with point reads, range scans, atomic batches and a
//! durable flush. sled implements it on disk (`sled_backend.rs`), a
//! `BTreeMap` in memory (`memory_backend.rs`). Private to the embedded
//! engine: other engines implement the domain traits in `api/` instead.

use crate::Result;

/// One write in an atomic batch.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    Put(Vec<u8>, Vec<u8>),
    Delete(Vec<u8>),
}

/// Key-value pairs from a scan.
pub(crate) type Entries<'a> = Box<dyn Iterator<Item = Result<(Vec<u8>, Vec<u8>)>> + 'a>;

pub(crate) trait Backend: Send + Sync + 'static {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;
    /// Keys in `[from, to)`, ascending or descending.
    fn scan(&self, from: &[u8], to: &[u8], reverse: bool) -> Entries<'_>;
    /// Applies all ops or none.
    fn write(&self, ops: Vec<Op>) -> Result<()>;
    /// Returns once everything written before is on stable storage (for
    /// sled: see `sled_backend.rs` for what that takes).
    fn flush(&self) -> Result<()>;

    /// Refuses a write of about `bytes` when the disk could not take it
    /// (a full disk is better refused before the engine meets it).
    fn check_room(&self, _bytes: u64) -> Result<()> {
        Ok(())
    }

    /// Makes the store writable again after a failed write, if it can be
    /// (the disk has room again). Called before each commit after a
    /// failure; an error means it still cannot write.
    fn recover(&self) -> Result<()> {
        Ok(())
    }

    /// Copies the whole store, as of a moment between two writes, into a
    /// new database in `dir` (which must not exist), made durable.
    fn copy_to(&self, _dir: &std::path::Path) -> Result<crate::sled_copy::Copied> {
        Err(crate::Error::Invalid("this store is held in memory; there is nothing on disk to copy".into()))
    }
}
