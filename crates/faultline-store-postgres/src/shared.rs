//! What the engine's tasks share: the pool, the options, and this node's
//! figures (queue, failures, counters).

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use deadpool_postgres::Pool;
use faultline_store::StorageOptions;

pub(crate) struct Shared {
    pub pool: Pool,
    pub options: StorageOptions,
    /// Why the last write failed, until one succeeds (`/readyz`).
    pub write_failure: Mutex<Option<String>>,
    /// Health requests this node counted under route `other`.
    pub overflowed: AtomicU64,
    /// Endpoints known to exist (admitted under the cap), per (service, route, method).
    pub endpoints: Mutex<HashSet<(String, String, String)>>,
    /// Day partitions of `events` known to exist (days since the epoch).
    pub partitions: Mutex<HashSet<i64>>,
    pub deleted_by_age: AtomicU64,
    pub deleted_by_quota: AtomicU64,
    /// Exports waiting for a writer: ticket -> when it was queued.
    pub waiting: Mutex<BTreeMap<u64, Instant>>,
    pub next_ticket: AtomicU64,
    /// Set by shutdown: background work stops.
    pub stopping: std::sync::atomic::AtomicBool,
}

impl Shared {
    pub fn new(pool: Pool, options: StorageOptions) -> Shared {
        Shared {
            pool,
            options,
            write_failure: Mutex::default(),
            overflowed: AtomicU64::new(0),
            endpoints: Mutex::default(),
            partitions: Mutex::default(),
            deleted_by_age: AtomicU64::new(0),
            deleted_by_quota: AtomicU64::new(0),
            waiting: Mutex::default(),
            next_ticket: AtomicU64::new(0),
            stopping: Default::default(),
        }
    }

    /// Remembers the outcome of a write for readiness.
    pub fn note_write<T, E: std::fmt::Display>(&self, result: &Result<T, E>) {
        let mut failure = self.write_failure.lock().unwrap_or_else(|p| p.into_inner());
        match result {
            Ok(_) if failure.is_some() => {
                tracing::info!("PostgreSQL writable again");
                *failure = None;
            }
            Ok(_) => {}
            Err(e) => *failure = Some(e.to_string()),
        }
    }

    pub fn queued(&self) -> u64 {
        let ticket = self.next_ticket.fetch_add(1, Ordering::Relaxed);
        self.waiting.lock().unwrap_or_else(|p| p.into_inner()).insert(ticket, Instant::now());
        ticket
    }

    pub fn taken(&self, ticket: u64) {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner()).remove(&ticket);
    }

    pub fn oldest_wait(&self) -> Duration {
        let waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        waiting.values().next().map_or(Duration::ZERO, Instant::elapsed)
    }
}

/// A u64 id or count as PostgreSQL's bigint (ids come from bigint sequences).
pub(crate) fn big(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A bigint from the database as the domain's u64 (never negative there).
pub(crate) fn unsigned(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}
