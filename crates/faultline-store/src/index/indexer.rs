//! The background indexer: tails the event log by sequence number, commits
//! at most once per interval, and records the last indexed sequence in each
//! commit so a restart resumes exactly where the index stopped.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::ops::Bound;

use tantivy::query::RangeQuery;
use tantivy::{IndexWriter, Term};

use super::{schema, SearchIndex};
use crate::backend::Backend;
use crate::event_codec::EventCodec;
use crate::watermark::Watermark;
use crate::{keys, Error, Result};

/// Events read from the log per step, to bound memory while catching up.
const CHUNK: usize = 10_000;

pub(crate) struct Indexer {
    pub backend: Arc<dyn Backend>,
    pub codec: Arc<EventCodec>,
    pub index: Arc<SearchIndex>,
    pub writer: IndexWriter,
    pub committed: Arc<Watermark>,
    pub indexed: Arc<AtomicU64>,
    pub stop: Arc<AtomicBool>,
    pub interval: Duration,
    /// Retention deleted every event below this sequence number.
    pub deleted_below: Arc<Watermark>,
    /// How far this indexer has deleted documents (0 at start, so a
    /// deletion the index missed before a restart is done again).
    pub applied_deletion: u64,
}

impl Indexer {
    pub fn run(mut self) {
        let mut last_commit = Instant::now();
        loop {
            let stopping = self.stop.load(Ordering::SeqCst);
            let indexed = self.indexed.load(Ordering::SeqCst);
            let committed = self.committed.wait_beyond(indexed, self.interval);
            if committed > indexed {
                // Let more events arrive so a busy stream costs one commit per interval.
                let since = last_commit.elapsed();
                if !stopping && since < self.interval {
                    std::thread::sleep(self.interval - since);
                }
                if let Err(e) = self.catch_up() {
                    self.failed(&e);
                    if stopping {
                        break; // the rest is indexed from the log at the next start
                    }
                    std::thread::sleep(self.interval);
                }
                last_commit = Instant::now();
            }
            if let Err(e) = self.apply_deletion() {
                self.failed(&e);
            }
            if stopping && self.indexed.load(Ordering::SeqCst) >= self.committed.get() {
                break;
            }
        }
        tracing::debug!("indexer stopped");
    }

    /// Indexes every committed event not yet in the index, then commits.
    fn catch_up(&mut self) -> Result<()> {
        let target = self.committed.get();
        let mut next = self.indexed.load(Ordering::SeqCst) + 1;
        while next <= target {
            let last = self.index_chunk(next, target)?;
            self.commit(last)?;
            next = last + 1;
        }
        Ok(())
    }

    /// Adds events `from..=to` (at most CHUNK); returns the last sequence read.
    fn index_chunk(&mut self, from: u64, to: u64) -> Result<u64> {
        let fields = self.index.fields().clone();
        let end = keys::event(to.saturating_add(1));
        let mut last = from.saturating_sub(1);
        let mut read = 0;
        for entry in self.backend.scan(&keys::event(from), &end, false).take(CHUNK) {
            read += 1;
            let (key, value) = entry?;
            last = keys::u64_at(&key, 1).unwrap_or(last);
            match self.codec.decode(&value) {
                Ok((event, fingerprint)) => {
                    self.writer
                        .add_document(schema::document(&fields, &event, &fingerprint))
                        .map_err(Error::index)?;
                }
                // One damaged record must not stop the index; it stays readable by id.
                Err(e) => tracing::error!(seq = last, error = %e, "skipping unreadable event"),
            }
        }
        // Sequence numbers can have gaps (after a failed commit); a range
        // read to its end covers everything up to `to`.
        if read < CHUNK {
            last = to;
        }
        Ok(last)
    }

    /// A failed write (a full disk, say) can leave the writer unusable:
    /// back to the last commit, with fresh workers, and the next pass
    /// indexes from there again.
    fn failed(&mut self, e: &Error) {
        tracing::error!(error = %e, "indexing failed; retrying from the last index commit");
        if let Err(e) = self.writer.rollback() {
            tracing::error!(error = %e, "rolling the index writer back failed");
        }
    }

    /// Deletes the documents of events retention deleted, by `seq` range,
    /// and commits (keeping the last indexed sequence as the payload).
    fn apply_deletion(&mut self) -> Result<()> {
        let below = self.deleted_below.get();
        if below <= self.applied_deletion {
            return Ok(());
        }
        let seq = self.index.fields().seq;
        let expired = RangeQuery::new(Bound::Unbounded, Bound::Excluded(Term::from_field_u64(seq, below)));
        self.writer.delete_query(Box::new(expired)).map_err(Error::index)?;
        self.commit(self.indexed.load(Ordering::SeqCst))?;
        self.applied_deletion = below;
        tracing::debug!(below, "expired events deleted from the index");
        Ok(())
    }

    fn commit(&mut self, last: u64) -> Result<()> {
        let mut prepared = self.writer.prepare_commit().map_err(Error::index)?;
        prepared.set_payload(&last.to_string());
        prepared.commit().map_err(Error::index)?;
        self.index.reload()?;
        self.indexed.store(last, Ordering::SeqCst);
        Ok(())
    }
}
