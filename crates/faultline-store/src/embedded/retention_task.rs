//! The background thread that asks the committer for retention passes:
//! one per interval, more at once while a pass says more is due, and
//! the oldest events too while the data directory is over its quota.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::committer::Request;
use crate::queue::QueueGauge;
use crate::{Result, RetentionOptions, RetentionPass};

/// Passes in a row before the thread lets others at the committer's queue
/// for a moment; each pass is one bounded commit either way.
const BURST: usize = 16;

pub(super) struct RetentionTask {
    pub requests: SyncSender<Request>,
    pub queue: Arc<QueueGauge>,
    pub stop: Arc<AtomicBool>,
    pub options: RetentionOptions,
    /// Measured against `max_disk_bytes`; `None` in memory.
    pub data_dir: Option<PathBuf>,
}

impl RetentionTask {
    pub fn spawn(self) -> Result<JoinHandle<()>> {
        Ok(std::thread::Builder::new().name("faultline-retain".into()).spawn(move || self.run())?)
    }

    fn run(self) {
        let interval = self.options.interval();
        let mut next = Instant::now();
        while !self.stop.load(Ordering::SeqCst) {
            if Instant::now() < next {
                std::thread::sleep(Duration::from_millis(100).min(interval));
                continue;
            }
            next = Instant::now() + interval;
            self.burst();
        }
    }

    /// Passes until none is due. Over the quota, one chunk of the oldest
    /// events per interval, more only while deleting visibly shrinks the
    /// directory: sled 0.34 keeps its files' size and reuses the freed
    /// space for new writes, so deleting more would not shrink it, only
    /// lose events (the quota then caps growth rather than shrinking).
    fn burst(&self) {
        for _ in 0..BURST {
            let used = self.disk_used();
            let over = matches!((used, self.options.max_disk_bytes), (Some(u), Some(max)) if u > max);
            if over {
                tracing::warn!(
                    used,
                    max = self.options.max_disk_bytes,
                    "data directory over its quota; deleting the oldest events"
                );
            }
            match self.pass(over) {
                Some(pass) if pass.more => continue,
                Some(pass) if over && pass.events_deleted > 0 && self.disk_used() < used => continue,
                _ => break,
            }
        }
    }

    /// The data directory's size when a quota applies to it.
    fn disk_used(&self) -> Option<u64> {
        self.options.max_disk_bytes?;
        self.data_dir.as_deref().map(disk_usage)
    }

    /// One pass through the committer, waited for; `None` when it could
    /// not be queued (busy: next interval) or failed (logged).
    fn pass(&self, over_quota: bool) -> Option<RetentionPass> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let request = Request::Retain { now: faultline_model::now_nanos(), over_quota, reply };
        self.queue.send(|| self.requests.try_send(request)).ok()?;
        match answer.blocking_recv() {
            Ok(Ok(pass)) => {
                if pass.events_deleted + pass.groups_deleted + pass.traces_deleted > 0 {
                    tracing::info!(
                        events = pass.events_deleted,
                        traces = pass.traces_deleted,
                        groups = pass.groups_deleted,
                        below = pass.deleted_below,
                        "retention pass"
                    );
                }
                Some(pass)
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "retention pass failed");
                None
            }
            Err(_) => None,
        }
    }
}

/// Bytes the files under `dir` take on disk (allocated blocks, as `du`
/// counts them); unreadable entries count as nothing.
pub(crate) fn disk_usage(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(m) if m.is_dir() => disk_usage(&entry.path()),
            Ok(m) => m.blocks() * 512,
            Err(_) => 0,
        })
        .sum()
}
