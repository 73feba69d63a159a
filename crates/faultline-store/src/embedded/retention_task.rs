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

/// Deleting for the quota stops under this share of it, so the directory
/// does not hover at the limit deleting a little on every pass.
const QUOTA_LOW_WATER: f64 = 0.9;

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
        let mut shrinking = false;
        let mut next = Instant::now();
        while !self.stop.load(Ordering::SeqCst) {
            if Instant::now() < next {
                std::thread::sleep(Duration::from_millis(100).min(interval));
                continue;
            }
            next = Instant::now() + interval;
            for _ in 0..BURST {
                shrinking = self.over_quota(shrinking);
                match self.pass(shrinking) {
                    Some(pass) if pass.more || (shrinking && pass.events_deleted > 0) => continue,
                    _ => break,
                }
            }
        }
    }

    /// Whether to delete for the quota: over it starts, under the low
    /// water mark stops.
    fn over_quota(&self, shrinking: bool) -> bool {
        let (Some(max), Some(dir)) = (self.options.max_disk_bytes, &self.data_dir) else { return false };
        let used = disk_usage(dir);
        if used > max {
            if !shrinking {
                tracing::warn!(used, max, "data directory over its quota; deleting the oldest events");
            }
            return true;
        }
        shrinking && (used as f64) > (max as f64) * QUOTA_LOW_WATER
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
