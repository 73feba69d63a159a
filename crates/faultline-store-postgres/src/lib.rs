//! Faultline's PostgreSQL storage engine: the domain traits of
//! `faultline-store` over a PostgreSQL (15 or newer) database that any
//! number of Faultline nodes share.
//!
//! - `schema.rs` and `migrations/`: numbered migrations run at start; a
//!   newer schema is refused.
//! - `tls.rs`: the store URL and its `sslmode`, TLS by rustls.
//! - `pool.rs`: the engine's own runtime, the connection pool, and the
//!   bridge from the synchronous traits to it.
//! - `writer.rs` and `ingest.rs`: group commit of exports (events, groups,
//!   fingerprints, health) acknowledged after COMMIT; `group_counts.rs`:
//!   the commit's groups counted last, open ones by adding to columns.
//! - `events.rs` (EventStore, GroupStore), `groups.rs` (listing, status,
//!   merge, unmerge), `health.rs`, `side_data.rs` (health reads, checks,
//!   alerting, tokens), `admin.rs` (stats, retention, maintenance),
//!   `partitions.rs` (day partitions of events).
//! - `tail.rs` (this node's search index, fed from the events table in
//!   commit order) and `search.rs` (SearchStore over it).
//! - `cluster.rs`: the alert leader's lease, the facts every node's ingest
//!   queues for it, and notifications claimed once across nodes.
//! - `import.rs`: `faultline migrate`'s bulk copy of an embedded store,
//!   resumable page by page.
//!
//! Ids come from sequences, fingerprints are unique keys, and every change
//! to a group happens under its row lock, so nodes need no single writer.

mod admin;
mod cluster;
mod error;
mod events;
mod group_counts;
mod groups;
mod health;
pub mod import;
mod ingest;
mod partitions;
mod pool;
pub mod schema;
mod search;
mod shared;
mod side_data;
mod tail;
pub mod tls;
mod writer;

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use deadpool_postgres::{Object, Transaction};
use faultline_store::api::Ack;
use faultline_store::{Storage, StorageOptions};
use tokio::sync::mpsc;

pub use error::PgError;
use error::{is_retryable, PgResult};
use shared::Shared;

/// How the engine connects, besides the storage options every engine takes.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// Connections in this node's pool.
    pub max_connections: usize,
    /// Run retention and health maintenance in the background (tests turn
    /// it off to drive them by hand).
    pub background: bool,
    /// Where this node keeps its search index (the server's
    /// `DATA_DIR/pg-index`); `None` keeps it in memory, rebuilt from the
    /// database at every start.
    pub index_dir: Option<PathBuf>,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions { max_connections: 16, background: true, index_dir: None }
    }
}

/// Opens the engine behind a [`Storage`] handle.
pub fn open_storage(url: &str, options: StorageOptions, pg: PgOptions) -> Result<Storage, PgError> {
    Ok(Storage::from_engine(Box::new(PgStore::open(url, options, pg)?)))
}

type TxnFuture<'a, T> = Pin<Box<dyn Future<Output = PgResult<T>> + Send + 'a>>;

/// The engine.
pub struct PgStore {
    db: pool::Db,
    shared: Arc<Shared>,
    sender: Mutex<Option<mpsc::Sender<writer::Export>>>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    /// This node's search index (read side) and its tailer's progress.
    index: faultline_store::NodeIndex,
    progress: Arc<tail::Progress>,
    tailer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl PgStore {
    /// Connects to `url`, brings the schema up to date and starts the
    /// engine's writers and maintenance.
    pub fn open(url: &str, options: StorageOptions, pg: PgOptions) -> Result<PgStore, PgError> {
        let target = tls::parse(url)?;
        let db = pool::Db::connect(target, pg.max_connections.max(writer::WRITERS + 2))?;
        let shared = Arc::new(Shared::new(db.pool.clone(), options));
        let (pool, setup) = (db.pool.clone(), shared.clone());
        let (found, shards) = db.block(async move {
            let mut client = pool.get().await?;
            let found = schema::migrate(&mut client).await?;
            partitions::create_ahead(&setup, &client).await?;
            tail::name_database(&client).await?;
            tail::repair_future_xids(&client).await?;
            let shards = health::take_shards(&client, writer::WRITERS).await?;
            Ok((found, shards))
        })?;
        let (sender, receiver) = mpsc::channel(shared.options.queue_depth.max(1));
        let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
        let handle = db.handle().ok_or_else(|| PgError::Pool("the engine's runtime stopped".into()))?;
        let mut tasks: Vec<_> = shards
            .into_iter()
            .map(|shard| handle.spawn(writer::run(shared.clone(), receiver.clone(), shard)))
            .collect();
        if pg.background {
            tasks.push(handle.spawn(admin::background(shared.clone())));
        }
        let (index, tailer, progress) = start_tailer(&shared, handle, pg.index_dir.as_deref())?;
        tracing::info!(url = %tls::redact(url), schema_before = found, schema = schema::LATEST, "PostgreSQL store open");
        Ok(PgStore {
            db,
            shared,
            sender: Mutex::new(Some(sender)),
            tasks: Mutex::new(tasks),
            index,
            progress,
            tailer: Mutex::new(Some(tailer)),
        })
    }

    fn with_sender<T>(
        &self,
        f: impl FnOnce(&mpsc::Sender<writer::Export>) -> PgResult<T>,
    ) -> faultline_store::Result<T> {
        let guard = self.sender.lock().unwrap_or_else(|p| p.into_inner());
        let sender = guard.as_ref().ok_or(faultline_store::Error::ShuttingDown)?;
        f(sender).map_err(Into::into)
    }

    /// A read on a pooled connection, waited for on this thread.
    fn read<T, F, Fut>(&self, work: F) -> faultline_store::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(Object) -> Fut + Send + 'static,
        Fut: Future<Output = PgResult<T>> + Send,
    {
        let pool = self.shared.pool.clone();
        self.db.block(async move { work(pool.get().await?).await }).map_err(Into::into)
    }

    /// A single-statement write, answered after it committed.
    fn write<T, F, Fut>(&self, work: F) -> faultline_store::Result<Ack<T>>
    where
        T: Send + 'static,
        F: FnOnce(Object) -> Fut + Send + 'static,
        Fut: Future<Output = PgResult<T>> + Send,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let (pool, shared) = (self.shared.pool.clone(), self.shared.clone());
        self.db.spawn(async move {
            let result = async { work(pool.get().await?).await }.await;
            shared.note_write(&result);
            let _ = reply.send(result.map_err(Into::into));
        })?;
        Ok(answer)
    }

    /// A transaction, rerun when it loses a deadlock or serialization race
    /// with another node, answered after COMMIT.
    fn transact<T, F>(&self, work: F) -> faultline_store::Result<Ack<T>>
    where
        T: Send + 'static,
        F: for<'a, 'b> Fn(&'a Transaction<'b>) -> TxnFuture<'a, T> + Send + Sync + 'static,
    {
        self.transact_then(work, |_| {})
    }

    /// [`PgStore::transact`], calling `after` with a committed result.
    fn transact_then<T, F>(
        &self,
        work: F,
        after: impl FnOnce(&T) + Send + 'static,
    ) -> faultline_store::Result<Ack<T>>
    where
        T: Send + 'static,
        F: for<'a, 'b> Fn(&'a Transaction<'b>) -> TxnFuture<'a, T> + Send + Sync + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let (pool, shared) = (self.shared.pool.clone(), self.shared.clone());
        self.db.spawn(async move {
            let mut attempt = 0;
            let result = loop {
                attempt += 1;
                let result = async {
                    let mut client = pool.get().await?;
                    let txn = client.transaction().await?;
                    let value = work(&txn).await?;
                    txn.commit().await?;
                    Ok(value)
                }
                .await;
                match result {
                    Err(e) if is_retryable(&e) && attempt < 8 => continue,
                    other => break other,
                }
            };
            // A refused request (bad merge) is no storage failure.
            if !matches!(result, Err(PgError::Store(_))) {
                shared.note_write(&result);
            }
            if let Ok(value) = &result {
                after(value);
            }
            let _ = reply.send(result.map_err(Into::into));
        })?;
        Ok(answer)
    }

    /// Stops taking exports, lets the writers finish what is queued, and
    /// stops background work. Safe to call more than once.
    fn stop(&self) {
        self.shared.stopping.store(true, std::sync::atomic::Ordering::SeqCst);
        self.progress.stop();
        if let Some(tailer) = self.tailer.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = tailer.join();
        }
        drop(self.sender.lock().unwrap_or_else(|p| p.into_inner()).take());
        let tasks: Vec<_> = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        if tasks.is_empty() {
            return;
        }
        let joined = self.db.block(async move {
            for task in tasks {
                let _ = task.await;
            }
            Ok(())
        });
        if let Err(e) = joined {
            tracing::warn!(error = %e, "PostgreSQL writers did not stop cleanly");
        }
    }
}

type Tailing = (faultline_store::NodeIndex, std::thread::JoinHandle<()>, Arc<tail::Progress>);

/// Opens this node's index (rebuilt when missing or of another schema)
/// and starts the thread that feeds it from the events table.
fn start_tailer(
    shared: &Arc<Shared>,
    handle: tokio::runtime::Handle,
    dir: Option<&std::path::Path>,
) -> Result<Tailing, PgError> {
    let (index, feed, payload) = faultline_store::open_node_index(dir)?;
    let committed = payload.as_deref().and_then(tail::Payload::decode);
    if payload.is_some() && committed.is_none() {
        tracing::warn!("the search index holds no PostgreSQL position; rebuilding it from the database");
    }
    let progress = Arc::new(tail::Progress::new());
    let tailer = tail::Tailer {
        pool: shared.pool.clone(),
        handle,
        feed,
        progress: progress.clone(),
        interval: shared.options.index_commit_interval,
        committed,
    };
    let thread = std::thread::Builder::new()
        .name("faultline-pg-index".into())
        .spawn(move || tailer.run())
        .map_err(|e| PgError::Pool(format!("cannot start the index tailer: {e}")))?;
    Ok((index, thread, progress))
}

impl Drop for PgStore {
    fn drop(&mut self) {
        self.stop();
    }
}
