//! sled 0.34 as the embedded engine's key-value store. sled's errors stop
//! here: they become [`Error::Backend`] (or the data-directory variants a
//! user can act on) so nothing outside this file names a sled type.
//!
//! # What sled 0.34.7 makes durable, and what this file adds
//!
//! sled keeps everything under `store/`:
//!
//! - `db`: the log, in 512 KiB segments. `Db::flush` (→
//!   `pagecache::iobuf::flush` → `make_stable`) waits until every
//!   reserved log buffer has been written; each buffer is written by
//!   `IoBufs::write_to_log` with `pwrite` followed by
//!   `sync_file_range(fd, offset, len, SYNC_FILE_RANGE_WAIT_BEFORE |
//!   SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER)` (on Linux; `fsync`
//!   only where that call is missing). That starts and waits for writeback
//!   of those pages to the device, but issues no cache flush to the device
//!   (its volatile write cache may still hold them) and writes no metadata
//!   (the file size, when the log grew by a segment). So sled's flush
//!   survives the process dying, not necessarily the power going.
//! - `blobs/<lsn>`: any log message (a value, or a whole consolidated leaf
//!   of up to 17 entries) longer than a quarter segment less its header
//!   (131,052 bytes) goes to a file of its own, created with `create_new`
//!   and written with `write_all`, never synced; the log keeps a pointer to
//!   it. Faultline's values can get there: an event keeps up to 128
//!   attributes of up to 32 KiB each plus its message and stack trace, and
//!   leaves of 17 events of ~8 KiB are already over.
//! - `conf`: the storage parameters, written once at creation, not synced.
//! - `snap.<lsn>`: written only when a database is opened (recovery):
//!   `snap.<lsn>.generating`, `sync_all`, renamed; the directory is not
//!   synced. `sync_all` is also called on the log when segments are
//!   zeroed or the file truncated (recovery, segment reclamation).
//! - the directories' entries themselves (`store/` in the data directory,
//!   `db`, `conf`, `blobs/` and its files) are never synced.
//!
//! With [`SyncMode::Fsync`] (the default), every [`Backend::flush`] — one
//! per group commit, shared by all the exports in it — follows sled's flush
//! with: `fsync` of each blob file that appeared since the last flush and
//! of `blobs/` when its entries changed, then `fdatasync` of `db` (through a
//! handle kept open: `fdatasync` on any descriptor of an inode writes that
//! inode's dirty data and the metadata needed to read it, and sends the
//! device a cache flush). Opening syncs `conf`, `store/`, `blobs/`, the data
//! directory and its parent once, so the files exist after a power loss.
//!
//! What stays sled's: between two commits, sled may reclaim a log segment
//! once its live pages were rewritten elsewhere and its own
//! `sync_file_range` returned. A drive that reorders writes in a volatile
//! cache could then, if power fails during that later commit, keep the
//! overwrite and lose the copy. Drives with power-loss protection, or a
//! disabled write cache, close that window; sled 0.34 has no hook for it.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};

use crate::backend::{Backend, Entries, Op};
use crate::{Error, Result, SyncMode};

pub(crate) struct SledBackend {
    /// Swapped for a fresh instance by [`Backend::recover`]; `None` only
    /// while that reopens it.
    db: RwLock<Option<sled::Db>>,
    /// `None` with [`SyncMode::Flush`]: sled's flush only.
    syncer: Option<Syncer>,
    /// Set when a write or flush failed. sled 0.34 then keeps a global
    /// error and refuses every later write, so it must be reopened.
    poisoned: AtomicBool,
    dir: PathBuf,
    cache_bytes: u64,
    /// Held shared by every write and exclusively by a backup's copy, so
    /// the copy sees whole commits only (each commit is one write).
    gate: RwLock<()>,
    /// A file of [`RESERVE_BYTES`] kept in the data directory, deleted when
    /// a write fails so sled can be reopened (its recovery writes) and
    /// read while the disk is otherwise full; written again before writes
    /// are let through, which is also the test that there is room again.
    reserve: PathBuf,
}

/// The reserve's size: room for sled's recovery snapshot and a few commits.
const RESERVE_BYTES: usize = 8 << 20;

/// Room beyond the reserve a disk must have before writes resume.
const PROBE_BYTES: usize = 1 << 20;

/// Free space kept on the file system: a commit that would leave less is
/// refused before sled writes it. sled 0.34 meeting ENOSPC itself poisons
/// the instance and its flush has been seen to wait forever then.
const MIN_FREE_BYTES: u64 = 4 << 20;

impl SledBackend {
    /// Opens the database in `dir`; `data_dir` is the directory the user
    /// chose, named in the errors they can fix (lock held, no access).
    pub fn open(dir: &Path, data_dir: &Path, sync: SyncMode, cache_bytes: u64) -> Result<SledBackend> {
        let db = open_db(dir, cache_bytes).map_err(|e| open_error(data_dir, e))?;
        let syncer = Syncer::open(dir, data_dir).map_err(|e| crate::embedded::data_dir_error(data_dir, e))?;
        let reserve = data_dir.join("reserve");
        if let Err(e) = write_file(&reserve, RESERVE_BYTES) {
            // Not fatal: the store works without it, it only recovers less well from a full disk.
            tracing::warn!(error = %e, "cannot write the data directory's reserve file");
        }
        Ok(SledBackend {
            db: RwLock::new(Some(db)),
            syncer: (sync == SyncMode::Fsync).then_some(syncer),
            poisoned: AtomicBool::new(false),
            gate: RwLock::new(()),
            dir: dir.to_path_buf(),
            cache_bytes,
            reserve,
        })
    }

    /// The current instance (a cheap handle).
    fn db(&self) -> Result<sled::Db> {
        let guard = self.db.read().unwrap_or_else(|p| p.into_inner());
        guard.clone().ok_or_else(|| Error::Backend("the store is being reopened".into()))
    }

    /// Marks the instance unusable for writes when `result` is a failure.
    fn note<T>(&self, result: sled::Result<T>) -> Result<T> {
        result.map_err(|e| {
            self.poisoned.store(true, Ordering::SeqCst);
            Error::backend(e)
        })
    }

    /// Durable flushes done since opening (tests).
    #[cfg(test)]
    pub fn syncs(&self) -> u64 {
        self.syncer.as_ref().map_or(0, |s| s.syncs.load(Ordering::Relaxed))
    }

    /// Blob files synced since opening, those found at opening included (tests).
    #[cfg(test)]
    pub fn blobs_synced(&self) -> u64 {
        self.syncer.as_ref().map_or(0, |s| s.blobs_synced.load(Ordering::Relaxed))
    }

    /// Whether the disk takes writes again: the reserve is written back
    /// in full, and a probe of [`PROBE_BYTES`] beyond it fits.
    fn has_room(&self) -> std::io::Result<()> {
        write_file(&self.reserve, RESERVE_BYTES)?;
        let free = fs2::available_space(&self.dir)?;
        if free < MIN_FREE_BYTES + PROBE_BYTES as u64 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                format!("No space left on device: {free} bytes free"),
            ));
        }
        let probe = self.dir.with_file_name("write-probe");
        let written = write_file(&probe, PROBE_BYTES);
        let _ = std::fs::remove_file(&probe);
        written
    }

    /// Replaces a poisoned instance by a fresh one (recovery reads back
    /// what reached the log: whole batches only). The reserve is deleted
    /// first so that recovery has room on a full disk.
    fn reopen(&self) -> Result<()> {
        let _ = std::fs::remove_file(&self.reserve);
        let mut guard = self.db.write().unwrap_or_else(|p| p.into_inner());
        // The old instance holds the directory's lock until its last handle
        // (a reader's scan, say) is dropped: wait a little for those.
        drop(guard.take());
        let mut attempt = 0;
        loop {
            match open_db(&self.dir, self.cache_bytes) {
                Ok(db) => {
                    *guard = Some(db);
                    self.poisoned.store(false, Ordering::SeqCst);
                    tracing::info!("store reopened after a failed write");
                    return Ok(());
                }
                Err(e) if attempt < 50 => {
                    tracing::debug!(error = %e, "reopening the store");
                    attempt += 1;
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(e) => return Err(Error::Backend(format!("reopening the store: {e}"))),
            }
        }
    }
}

/// Writes `len` bytes (allocated, not sparse) to `path` and syncs them.
fn write_file(path: &Path, len: usize) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = File::create(path)?;
    let written = f.write_all(&vec![0; len]).and_then(|()| f.sync_all());
    if written.is_err() {
        let _ = std::fs::remove_file(path);
    }
    written
}

/// An error opening sled in `data_dir`, in the words a user can act on
/// (another process holds it, no access).
pub(crate) fn open_error(data_dir: &Path, e: sled::Error) -> Error {
    match e {
        sled::Error::Io(io) => crate::embedded::data_dir_error(data_dir, io),
        other => Error::backend(other),
    }
}

/// No background flusher: durability comes from the committer's explicit
/// flush after every batch, which is what acks wait for.
pub(crate) fn open_db(dir: &Path, cache_bytes: u64) -> sled::Result<sled::Db> {
    sled::Config::new()
        .path(dir)
        .flush_every_ms(None)
        .cache_capacity(cache_bytes)
        .mode(sled::Mode::HighThroughput)
        .open()
}

impl Backend for SledBackend {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.db()?.get(key).map_err(Error::backend)?.map(|v| v.to_vec()))
    }

    fn scan(&self, from: &[u8], to: &[u8], reverse: bool) -> Entries<'_> {
        let db = match self.db() {
            Ok(db) => db,
            Err(e) => return Box::new(std::iter::once(Err(e))),
        };
        let range = db.range(from.to_vec()..to.to_vec());
        let convert = |r: sled::Result<(sled::IVec, sled::IVec)>| {
            r.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(Error::backend)
        };
        if reverse {
            Box::new(range.rev().map(convert))
        } else {
            Box::new(range.map(convert))
        }
    }

    fn write(&self, ops: Vec<Op>) -> Result<()> {
        let mut batch = sled::Batch::default();
        for op in ops {
            match op {
                Op::Put(k, v) => batch.insert(k, v),
                Op::Delete(k) => batch.remove(k),
            }
        }
        let _open = self.gate.read().unwrap_or_else(|p| p.into_inner());
        let db = self.db()?;
        self.note(db.apply_batch(batch))
    }

    /// Writes wait while the copy runs: it is taken between two commits.
    fn copy_to(&self, dir: &Path) -> Result<crate::sled_copy::Copied> {
        let _paused = self.gate.write().unwrap_or_else(|p| p.into_inner());
        crate::sled_copy::copy_db(&self.db()?, dir)
    }

    fn flush(&self) -> Result<()> {
        // sled 0.34's flush can wait forever on an instance whose write failed.
        if self.poisoned.load(Ordering::SeqCst) {
            return Err(Error::Backend("an earlier write failed; the store must be reopened".into()));
        }
        let db = self.db()?;
        self.note(db.flush())?;
        if let Some(syncer) = &self.syncer {
            syncer.sync()?;
        }
        Ok(())
    }

    /// After a failed write: sled 0.34 keeps a global error and refuses
    /// every later write (and reads of pages not cached), so the instance
    /// is replaced at once, which keeps reads working; writes are let
    /// through again once the disk has room (`has_room`). A failed
    /// `fdatasync` is not recovered from here (see `Syncer::failed`).
    fn check_room(&self, bytes: u64) -> Result<()> {
        // sled writes a batch to its log, then may rewrite pages: twice its size.
        let needed = bytes.saturating_mul(2).saturating_add(MIN_FREE_BYTES);
        match fs2::available_space(&self.dir) {
            Ok(free) if free < needed => Err(Error::Backend(format!(
                "No space left on device: {free} bytes free, a commit needs {needed} with the margin kept"
            ))),
            _ => Ok(()),
        }
    }

    fn recover(&self) -> Result<()> {
        if self.poisoned.load(Ordering::SeqCst) {
            self.reopen()?;
        }
        self.has_room().map_err(|e| Error::Backend(format!("cannot write to the data directory: {e}")))
    }
}

/// The handles and bookkeeping that turn sled's flush into one that
/// survives power loss (see the module comment).
struct Syncer {
    /// `store/db`, sled's log, opened once (read-only: `fdatasync` needs no write access).
    log: File,
    blobs_dir: File,
    blobs_path: PathBuf,
    /// Blob files known to be synced, by name.
    blobs: Mutex<BTreeSet<OsString>>,
    /// Set by a failed sync: Linux may have dropped the pages it could not
    /// write and a later `fdatasync` can then succeed without them, so no
    /// later commit may be acknowledged until the store is reopened.
    failed: AtomicBool,
    syncs: AtomicU64,
    blobs_synced: AtomicU64,
}

impl Syncer {
    /// Opens the handles, and syncs what sled created and never synced:
    /// `conf`, the blob files already there, and the directory entries of
    /// `store/` and everything in it.
    fn open(dir: &Path, data_dir: &Path) -> std::io::Result<Syncer> {
        let log = File::open(dir.join("db"))?;
        let blobs_path = dir.join("blobs");
        let blobs_dir = File::open(&blobs_path)?;
        File::open(dir.join("conf"))?.sync_all()?;
        let syncer = Syncer {
            log,
            blobs_dir,
            blobs_path,
            blobs: Mutex::new(BTreeSet::new()),
            failed: AtomicBool::new(false),
            syncs: AtomicU64::new(0),
            blobs_synced: AtomicU64::new(0),
        };
        syncer.sync_new_blobs()?;
        syncer.log.sync_data()?;
        sync_dir(dir)?;
        sync_dir(data_dir)?;
        // The data directory's own entry, in case it was just created. Its
        // parent may not be readable by this user; then it was not created
        // by us either, most likely.
        if let Some(parent) = data_dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            if let Err(e) = sync_dir(parent) {
                tracing::debug!(error = %e, dir = %parent.display(), "could not sync the data directory's parent");
            }
        }
        Ok(syncer)
    }

    fn sync(&self) -> Result<()> {
        if self.failed.load(Ordering::SeqCst) {
            return Err(Error::Backend(
                "an earlier sync to disk failed, so what was written since is not known to be \
                 on disk; restart to recover from the log"
                    .into(),
            ));
        }
        // Blobs first: the log points at them.
        let synced = self.sync_new_blobs().and_then(|()| self.log.sync_data());
        match synced {
            Ok(()) => {
                self.syncs.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(e) => {
                self.failed.store(true, Ordering::SeqCst);
                Err(Error::Backend(format!("syncing the store to disk: {e}")))
            }
        }
    }

    /// `fsync`s every blob file not synced yet, then the blob directory if
    /// its entries changed. A blob sled removes meanwhile is skipped.
    fn sync_new_blobs(&self) -> std::io::Result<()> {
        let mut known = self.blobs.lock().unwrap_or_else(|p| p.into_inner());
        let mut present = BTreeSet::new();
        let mut changed = false;
        for entry in std::fs::read_dir(&self.blobs_path)? {
            let name = entry?.file_name();
            if !known.contains(&name) {
                match File::open(self.blobs_path.join(&name)).and_then(|f| f.sync_all()) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e),
                }
                self.blobs_synced.fetch_add(1, Ordering::Relaxed);
                changed = true;
            }
            present.insert(name);
        }
        changed |= known.len() != present.len() || known.iter().any(|n| !present.contains(n));
        if changed {
            self.blobs_dir.sync_all()?;
        }
        *known = present;
        Ok(())
    }
}

/// `fsync` of a directory, which makes the entries in it durable.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
#[path = "sled_backend_tests.rs"]
mod tests;
