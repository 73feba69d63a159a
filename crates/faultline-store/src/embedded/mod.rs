//! The embedded engine: a sorted key-value store (sled on disk, a
//! `BTreeMap` in memory) written by one committer thread, and a tantivy
//! index (on disk or in RAM) filled by an indexer thread that tails the
//! event log. It implements every domain trait: events, groups, search and
//! admin in `events.rs`; health, checks and alerting in `side_data.rs`.
//!
//! The in-memory variant is this same engine over `MemoryBackend` and
//! `Index::create_in_ram`, rather than a separate fake: tests then run the
//! real committer, transaction and key layout, and only durability differs.

mod events;
pub(crate) mod retention_task;
mod side_data;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tantivy::IndexWriter;
use tokio::sync::oneshot;

use crate::backend::{Backend, Op};
use crate::committer::{Committer, Request};
use crate::event_codec::EventCodec;
use crate::health_buffer::HealthBuffer;
use crate::index::{Indexer, SearchIndex};
use crate::memory_backend::MemoryBackend;
use crate::queue::QueueGauge;
use crate::sled_backend::SledBackend;
use crate::watermark::Watermark;
use crate::{Error, Result, StorageOptions};

/// How often old health buckets are rolled up and expired ones dropped.
const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(60);

pub(crate) struct Embedded {
    backend: Arc<dyn Backend>,
    /// Event records: encoded by `submit`'s caller, decoded by readers.
    codec: Arc<EventCodec>,
    requests: Mutex<Option<SyncSender<Request>>>,
    /// Requests in `requests` not yet taken by the committer.
    queue: Arc<QueueGauge>,
    committer: Mutex<Option<JoinHandle<()>>>,
    indexer: Mutex<Option<JoinHandle<()>>>,
    index: Arc<SearchIndex>,
    committed: Arc<Watermark>,
    indexed: Arc<AtomicU64>,
    stop_indexer: Arc<AtomicBool>,
    stop_maintenance: Arc<AtomicBool>,
    maintenance: Mutex<Option<JoinHandle<()>>>,
    overflowed: Arc<AtomicU64>,
    /// Health figures committed but not yet in their stored buckets.
    health_buffer: Arc<HealthBuffer>,
    /// Distinguishes delivery records written in the same nanosecond.
    deliveries_written: AtomicU64,
    /// Held by `swap_states` from its comparison to its commit.
    state_swaps: Mutex<()>,
    /// Retention deleted every event below this sequence number.
    deleted_below: Arc<Watermark>,
    /// Why the last commit failed, until one succeeds.
    write_failure: Arc<Mutex<Option<String>>>,
    retention: Mutex<Option<JoinHandle<()>>>,
    /// Events retention deleted since start, by age and by quota.
    deleted_counts: Arc<crate::retention::DeletedCounts>,
    /// The data directory (`None` in memory): for `stats`, and a backup
    /// may not go inside it.
    data_dir: Option<std::path::PathBuf>,
    /// The disk quota, for `stats`.
    max_disk_bytes: Option<u64>,
}

/// Names the two start-up failures a user can fix themselves: a directory
/// another process holds, and one this user may not write.
pub(crate) fn data_dir_error(dir: &Path, e: std::io::Error) -> Error {
    // sled 0.34 reports a held lock as an `Other` error with this text.
    let lock_held =
        e.kind() == std::io::ErrorKind::WouldBlock || e.to_string().starts_with("could not acquire lock");
    if lock_held {
        return Error::Locked(dir.to_path_buf());
    }
    match e.kind() {
        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
            Error::DataDirAccess { dir: dir.to_path_buf(), reason: e }
        }
        _ => Error::Io(e),
    }
}

impl Embedded {
    /// Opens (or creates) the engine under `dir`: the event store in
    /// `dir/store`, the index in `dir/index`.
    pub fn open(dir: &Path, options: StorageOptions) -> Result<Embedded> {
        std::fs::create_dir_all(dir).map_err(|e| data_dir_error(dir, e))?;
        // Before sled opens anything: a newer format is refused untouched.
        let marker = crate::data_format::check(dir)?;
        let store_existed = dir.join("store").exists();
        let backend: Arc<dyn Backend> =
            Arc::new(SledBackend::open(&dir.join("store"), dir, options.sync, options.cache_bytes)?);
        crate::data_format::settle(dir, marker, store_existed, &*backend)?;
        let index = SearchIndex::open(&dir.join("index"))?;
        let engine = Embedded::start(backend, index, options, Some(dir.to_path_buf()))?;
        tracing::info!(
            last_seq = engine.committed.get(),
            indexed_seq = engine.indexed.load(Ordering::SeqCst),
            dir = %dir.display(),
            "storage open"
        );
        Ok(engine)
    }

    /// The engine over an empty in-memory key space and RAM index.
    pub fn in_memory(options: StorageOptions) -> Result<Embedded> {
        Embedded::over(Arc::new(MemoryBackend::default()), options)
    }

    /// The engine over a given key-value store and a RAM index (tests pass
    /// a `MemoryBackend` they keep a handle on, to make writes fail).
    pub(crate) fn over(backend: Arc<dyn Backend>, options: StorageOptions) -> Result<Embedded> {
        Embedded::start(backend, SearchIndex::open_in_ram()?, options, None)
    }

    fn start(
        backend: Arc<dyn Backend>,
        (index, writer, indexed_seq): (SearchIndex, IndexWriter, u64),
        options: StorageOptions,
        data_dir: Option<std::path::PathBuf>,
    ) -> Result<Embedded> {
        crate::group_summary::backfill(&*backend)?;
        let committed = Arc::new(Watermark::default());
        let overflowed = Arc::new(AtomicU64::new(0));
        let queue = Arc::new(QueueGauge::new(options.queue_depth));
        let committer =
            Committer::new(backend.clone(), committed.clone(), options.health.clone(), overflowed.clone())?
                .with_queue(queue.clone())
                .with_new_group_cap(options.max_new_groups_per_service_per_hour)
                .with_retention(options.retention.clone());
        let deleted_below = committer.deleted_below();
        let deleted_counts = committer.deleted_counts();
        let write_failure = committer.write_failure();
        let health_buffer = committer.health_buffer();
        let codec = committer.codec();
        let (tx, rx) = sync_channel(options.queue_depth.max(1));
        let stop_maintenance = Arc::new(AtomicBool::new(false));
        let maintenance = spawn_maintenance(tx.clone(), queue.clone(), stop_maintenance.clone())?;
        let retention = retention_task::RetentionTask {
            requests: tx.clone(),
            queue: queue.clone(),
            stop: stop_maintenance.clone(),
            options: options.retention.clone(),
            data_dir: data_dir.clone(),
        }
        .spawn()?;
        let committer_thread =
            std::thread::Builder::new().name("faultline-commit".into()).spawn(move || committer.run(rx))?;

        let index = Arc::new(index);
        // An index ahead of the log (log restored from a backup) is rebuilt.
        let indexed_seq = if indexed_seq > committed.get() { 0 } else { indexed_seq };
        let indexed = Arc::new(AtomicU64::new(indexed_seq));
        let stop_indexer = Arc::new(AtomicBool::new(false));
        let indexer = Indexer {
            backend: backend.clone(),
            codec: codec.clone(),
            index: index.clone(),
            writer,
            committed: committed.clone(),
            indexed: indexed.clone(),
            stop: stop_indexer.clone(),
            interval: options.index_commit_interval,
            deleted_below: deleted_below.clone(),
            applied_deletion: 0,
        };
        let indexer_thread =
            std::thread::Builder::new().name("faultline-index".into()).spawn(move || indexer.run())?;
        Ok(Embedded {
            backend,
            codec,
            requests: Mutex::new(Some(tx)),
            queue,
            committer: Mutex::new(Some(committer_thread)),
            indexer: Mutex::new(Some(indexer_thread)),
            index,
            committed,
            indexed,
            stop_indexer,
            stop_maintenance,
            maintenance: Mutex::new(Some(maintenance)),
            overflowed,
            health_buffer,
            deliveries_written: AtomicU64::new(0),
            state_swaps: Mutex::new(()),
            deleted_below,
            write_failure,
            retention: Mutex::new(Some(retention)),
            deleted_counts,
            data_dir,
            max_disk_bytes: options.retention.max_disk_bytes,
        })
    }

    /// Queues plain writes that read nothing first.
    fn write(&self, ops: Vec<Op>) -> Result<oneshot::Receiver<Result<()>>> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::Write { ops, reply })?;
        Ok(answer)
    }

    fn send(&self, request: Request) -> Result<()> {
        let guard = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        let sender = guard.as_ref().ok_or(Error::ShuttingDown)?;
        self.queue.send(|| {
            sender.try_send(request).map_err(|e| match e {
                TrySendError::Full(_) => Error::QueueFull,
                TrySendError::Disconnected(_) => Error::ShuttingDown,
            })
        })
    }

    pub(crate) fn queue(&self) -> &QueueGauge {
        &self.queue
    }

    /// Stops accepting writes, finishes queued commits, indexes everything
    /// committed and flushes. Safe to call more than once.
    fn stop(&self) -> Result<()> {
        self.stop_maintenance.store(true, Ordering::SeqCst);
        if let Some(handle) = self.maintenance.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = handle.join();
        }
        if let Some(handle) = self.retention.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = handle.join();
        }
        drop(self.requests.lock().unwrap_or_else(|p| p.into_inner()).take());
        if let Some(handle) = self.committer.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = handle.join();
        }
        self.stop_indexer.store(true, Ordering::SeqCst);
        self.committed.wake();
        if let Some(handle) = self.indexer.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = handle.join();
        }
        self.backend.flush()
    }
}

/// Asks the committer for health maintenance now and then, until stopped.
fn spawn_maintenance(
    requests: SyncSender<Request>,
    queue: Arc<QueueGauge>,
    stop: Arc<AtomicBool>,
) -> Result<JoinHandle<()>> {
    let maintain = move || {
        let request = Request::Maintain { now: faultline_model::now_nanos(), reply: None };
        queue.send(|| requests.try_send(request))
    };
    // The first pass is queued before the engine is handed out, so it comes
    // before any request of the caller's: a pass that a fast caller's
    // writes could overtake would expire them or not depending on timing.
    let _ = maintain();
    let thread = std::thread::Builder::new().name("faultline-maintain".into()).spawn(move || {
        let mut waited = Duration::ZERO;
        while !stop.load(Ordering::SeqCst) {
            if waited >= MAINTENANCE_INTERVAL {
                waited = Duration::ZERO;
                // A full queue just means a busy moment; try again next time.
                let _ = maintain();
            }
            std::thread::sleep(Duration::from_millis(200));
            waited += Duration::from_millis(200);
        }
    })?;
    Ok(thread)
}

impl Drop for Embedded {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            tracing::error!(error = %e, "storage shutdown failed");
        }
    }
}
