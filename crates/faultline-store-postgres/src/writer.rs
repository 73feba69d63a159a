//! Group commit: exports wait in a bounded queue; a few writer tasks
//! each take whatever is waiting, commit it in one transaction and answer
//! every export only after COMMIT returned (an acknowledged export is in
//! the database). A deadlock or serialization failure with another node
//! reruns the whole transaction.

use std::sync::Arc;

use faultline_store::{Committed, EventBatch, HealthBatch, Result};
use tokio::sync::{mpsc, oneshot, Mutex};

use crate::error::{is_retryable, PgError};
use crate::shared::Shared;

/// Writer tasks per node: one commits while the next batch gathers.
pub(crate) const WRITERS: usize = 2;
/// The most exports one transaction holds.
const MAX_EXPORTS_PER_COMMIT: usize = 128;
/// Retries of a transaction that lost a deadlock or serialization race.
const RETRIES: usize = 8;

pub(crate) struct Export {
    pub events: EventBatch,
    pub health: HealthBatch,
    pub reply: oneshot::Sender<Result<Vec<Committed>>>,
    pub ticket: u64,
}

/// Runs one writer until the queue is closed and drained; its commits
/// fold health figures into rows of `shard` (see health.rs).
pub(crate) async fn run(shared: Arc<Shared>, queue: Arc<Mutex<mpsc::Receiver<Export>>>, shard: i32) {
    crate::health::SHARD.scope(shard, take_and_commit(shared, queue)).await
}

async fn take_and_commit(shared: Arc<Shared>, queue: Arc<Mutex<mpsc::Receiver<Export>>>) {
    loop {
        let batch = {
            let mut receiver = queue.lock().await;
            let Some(first) = receiver.recv().await else { return };
            let mut batch = vec![first];
            while batch.len() < MAX_EXPORTS_PER_COMMIT {
                match receiver.try_recv() {
                    Ok(export) => batch.push(export),
                    Err(_) => break,
                }
            }
            batch
        };
        batch.iter().for_each(|e| shared.taken(e.ticket));
        commit(&shared, batch).await;
    }
}

async fn commit(shared: &Shared, batch: Vec<Export>) {
    let work: Vec<(&EventBatch, &HealthBatch)> = batch.iter().map(|e| (&e.events, &e.health)).collect();
    let mut attempt = 0;
    let result = loop {
        attempt += 1;
        let result = crate::ingest::commit(shared, &work).await;
        match result {
            Err(e) if is_retryable(&e) && attempt < RETRIES => {
                tracing::debug!(error = %e, attempt, "commit lost a race with another writer; retrying");
                tokio::time::sleep(std::time::Duration::from_millis(5 * attempt as u64)).await;
            }
            other => break other,
        }
    };
    shared.note_write(&result);
    match result {
        Ok(answers) => {
            for (export, committed) in batch.into_iter().zip(answers) {
                let _ = export.reply.send(Ok(committed));
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "commit failed; nothing in this batch was acknowledged");
            let text = faultline_store::Error::from(e).to_string();
            for export in batch {
                let _ = export.reply.send(Err(faultline_store::Error::CommitFailed(text.clone())));
            }
        }
    }
}

impl From<mpsc::error::TrySendError<Export>> for PgError {
    fn from(e: mpsc::error::TrySendError<Export>) -> Self {
        match e {
            mpsc::error::TrySendError::Full(_) => PgError::Store(faultline_store::Error::QueueFull),
            mpsc::error::TrySendError::Closed(_) => PgError::Store(faultline_store::Error::ShuttingDown),
        }
    }
}
