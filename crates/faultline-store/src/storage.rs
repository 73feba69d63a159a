//! `Storage`: the one handle the server holds, whatever engine is behind
//! it, and the configuration that chooses the engine.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::api::Store;
use crate::health::HealthOptions;
use crate::Result;

#[derive(Debug, Clone)]
pub struct StorageOptions {
    /// Exports waiting for the committer before new ones are refused.
    pub queue_depth: usize,
    /// Longest time between an event's commit and it being searchable.
    pub index_commit_interval: Duration,
    pub health: HealthOptions,
    /// What a group commit waits for before its exports are acknowledged.
    pub sync: SyncMode,
    /// Memory for sled's page cache (embedded engine): the largest part of
    /// the server's resident memory on a big data directory.
    pub cache_bytes: u64,
    /// New groups a service may make per hour; past it, new fingerprints
    /// join the service's overflow group (`new_group_cap.rs`). `None`: no cap.
    pub max_new_groups_per_service_per_hour: Option<u64>,
    /// How long events and groups are kept, and the disk quota.
    pub retention: crate::RetentionOptions,
}

/// sled's own default is 1 GiB; a quarter of it keeps a default server
/// small, and `storage.cache_mib` raises it for large data sets.
pub const DEFAULT_CACHE_BYTES: u64 = 256 * 1024 * 1024;

/// How far a group commit is pushed before it is acknowledged (embedded
/// engine; `sled_backend.rs` has the details).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SyncMode {
    /// sled's flush, then `fdatasync` of its log (and `fsync` of new blob
    /// files): an acknowledged export survives a power loss, given a disk
    /// that honours cache flushes. One sync per group commit.
    #[default]
    Fsync,
    /// sled's flush only (`sync_file_range`): an acknowledged export
    /// survives the process being killed, not necessarily a power loss.
    Flush,
}

impl Default for StorageOptions {
    fn default() -> Self {
        StorageOptions {
            queue_depth: 1024,
            index_commit_interval: Duration::from_millis(500),
            health: HealthOptions::default(),
            sync: SyncMode::default(),
            cache_bytes: DEFAULT_CACHE_BYTES,
            // No cap for a store opened directly (tests, benchmarks that
            // make many groups); the server's configuration sets one.
            max_new_groups_per_service_per_hour: None,
            retention: crate::RetentionOptions::default(),
        }
    }
}

/// Figures for `/metrics`.
#[derive(Debug, Clone, Copy)]
pub struct StorageStats {
    pub last_seq: u64,
    pub indexed_seq: u64,
    pub groups: u64,
    /// Health samples counted under route `other` (cardinality limit) since start.
    pub endpoints_overflowed: u64,
    /// Retention deleted every event below this sequence number.
    pub deleted_below: u64,
    /// Events retention deleted since start for their age (`retention.events`).
    pub events_deleted_by_age: u64,
    /// Events retention deleted since start for the disk quota.
    pub events_deleted_by_quota: u64,
    /// Bytes the data directory takes on disk; `None` in memory.
    pub disk_bytes: Option<u64>,
    /// The configured quota (`retention.max_disk_bytes`).
    pub max_disk_bytes: Option<u64>,
    /// When the oldest event kept arrived; `None` with no event.
    pub oldest_event_received_at: Option<faultline_model::UnixNanos>,
}

/// Which engine to open. A PostgreSQL engine will be another variant.
#[derive(Debug, Clone)]
pub enum StoreConfig {
    /// sled (event store, in `dir/store`) and tantivy (index, in `dir/index`).
    Embedded { dir: PathBuf, options: StorageOptions },
    /// The embedded engine over an in-memory key space and a RAM index:
    /// the same committer and code paths, nothing durable. For tests.
    InMemory { options: StorageOptions },
}

/// Opens the engine a configuration names.
pub fn open(config: StoreConfig) -> Result<Storage> {
    let engine: Box<dyn Store> = match config {
        StoreConfig::Embedded { dir, options } => Box::new(crate::embedded::Embedded::open(&dir, options)?),
        StoreConfig::InMemory { options } => Box::new(crate::embedded::Embedded::in_memory(options)?),
    };
    Ok(Storage { engine })
}

/// A storage engine behind the domain traits of [`crate::api`]. It
/// dereferences to `dyn Store`, so every trait method is called on it
/// directly (`storage.group(id)`), without importing the traits.
///
/// Dropping it shuts the engine down (queued commits finish first).
pub struct Storage {
    engine: Box<dyn Store>,
}

impl Storage {
    /// Opens (or creates) the embedded engine under `dir`: the event store
    /// in `dir/store`, the index in `dir/index`.
    pub fn open(dir: &Path, options: StorageOptions) -> Result<Storage> {
        open(StoreConfig::Embedded { dir: dir.to_path_buf(), options })
    }

    /// The embedded engine in memory (see [`StoreConfig::InMemory`]).
    pub fn in_memory(options: StorageOptions) -> Result<Storage> {
        open(StoreConfig::InMemory { options })
    }

    /// Wraps any engine, for engines that live outside this crate.
    pub fn from_engine(engine: Box<dyn Store>) -> Storage {
        Storage { engine }
    }
}

impl std::ops::Deref for Storage {
    type Target = dyn Store;

    fn deref(&self) -> &Self::Target {
        &*self.engine
    }
}
