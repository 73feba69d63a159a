//! Compaction of a stopped data directory: gives the space of deleted
//! records back to the file system. sled 0.34 only reuses it, so the store
//! is rewritten into a fresh database beside it (`store.compacting`) and
//! swapped in with one atomic exchange of the two directories; tantivy
//! keeps deleted documents until their segment is merged, so the index's
//! segments are merged into one.

use std::path::Path;
use std::time::Instant;

use crate::embedded::retention_task::disk_usage;
use crate::{Error, Result};

/// What compaction did.
#[derive(Debug, Clone)]
pub struct CompactReport {
    /// Keys in the store (all kept).
    pub keys: u64,
    /// Whether the rewritten store replaced the old one: only when smaller.
    pub store_replaced: bool,
    pub store_bytes_before: u64,
    pub store_bytes_after: u64,
    pub index_bytes_before: u64,
    pub index_bytes_after: u64,
    pub seconds: f64,
}

/// Where the new store is written; left over only by a compaction that was
/// cut short (then `store` is whole and this is removed).
const COMPACTING: &str = "store.compacting";

/// sled's page cache while copying: reads stream through it once.
const COPY_CACHE_BYTES: u64 = 64 << 20;

/// Opens the store of a data directory that no server runs on: sled's lock
/// on it is the proof (`Error::Locked` when one does).
pub(crate) fn open_stopped(data_dir: &Path) -> Result<sled::Db> {
    let store = data_dir.join("store");
    if !store.join("conf").is_file() {
        return Err(Error::Invalid(format!(
            "{} holds no Faultline store (no store/ in it)",
            data_dir.display()
        )));
    }
    // A directory of a newer format is left alone, as `serve` leaves it.
    crate::data_format::check(data_dir)?;
    crate::sled_backend::open_db(&store, COPY_CACHE_BYTES)
        .map_err(|e| crate::sled_backend::open_error(data_dir, e))
}

/// Rewrites the store of `data_dir` (no server may be running on it) and
/// merges its index. A crash at any point leaves a whole store: the old one
/// until the exchange, the new one after.
pub fn compact(data_dir: &Path) -> Result<CompactReport> {
    let started = Instant::now();
    let store = data_dir.join("store");
    let index = data_dir.join("index");
    let db = open_stopped(data_dir)?;
    let (store_bytes_before, index_bytes_before) = (disk_usage(&store), disk_usage(&index));
    let fresh = data_dir.join(COMPACTING);
    if fresh.exists() {
        tracing::info!(dir = %fresh.display(), "removing what an interrupted compaction left");
        std::fs::remove_dir_all(&fresh)?;
    }
    let copied = crate::sled_copy::copy_db(&db, &fresh)?;
    // sled's lock goes with the last handle; nothing was written to the old store.
    drop(db);
    // A fresh sled database is not always smaller: written in key order,
    // its log holds every version of the leaves it filled. Without much
    // deleted, the old store is kept.
    let rewritten_bytes = disk_usage(&fresh);
    let store_replaced = rewritten_bytes < store_bytes_before;
    if !store_replaced {
        tracing::info!(
            store_bytes_before,
            rewritten_bytes,
            "the rewritten store is not smaller; keeping the old one"
        );
        std::fs::remove_dir_all(&fresh)?;
    } else {
        swap_in(data_dir, &fresh, &store)?;
    }
    crate::index::compact(&index)?;
    Ok(CompactReport {
        keys: copied.keys,
        store_replaced,
        store_bytes_before,
        store_bytes_after: disk_usage(&store),
        index_bytes_before,
        index_bytes_after: disk_usage(&index),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Exchanges the new store and the old in one step, then removes the old.
fn swap_in(data_dir: &Path, fresh: &Path, store: &Path) -> Result<()> {
    crate::sled_copy::exchange(fresh, store)
        .map_err(|e| Error::Backend(format!("swapping in the compacted store: {e}")))?;
    sync_dir(data_dir)?;
    // `fresh` now names the old store.
    std::fs::remove_dir_all(fresh)?;
    sync_dir(data_dir)
}

fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

#[cfg(test)]
#[path = "compaction_tests.rs"]
mod tests;
