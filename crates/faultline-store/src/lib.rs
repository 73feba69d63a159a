//! Faultline's storage: the durable event log, groups, health figures,
//! check runs and alerting state, and search over events.
//!
//! Callers use the domain traits of [`api`] (one per concern) through a
//! [`Storage`] handle; which engine is behind it is chosen by
//! [`StoreConfig`]. Today's engine is embedded: a sorted key-value store
//! (sled on disk, or a `BTreeMap` in memory for tests) written by one
//! committer thread that batches concurrent exports into one atomic write
//! and one flush (group commit) — when [`api::EventStore::submit`]'s
//! receiver answers, the events are on disk (`fdatasync`ed, see
//! [`SyncMode`]) — plus a tantivy index that
//! tails the event log and can always be rebuilt from it.

pub mod api;
mod backend;
mod backup;
#[doc(hidden)]
pub mod bench_support;
mod checks;
pub mod cluster;
mod committer;
mod compaction;
mod data_format;
mod embedded;
mod error;
mod event_codec;
pub mod export;
mod group_ops;
mod group_summary;
mod groups;
pub mod health;
mod health_buffer;
mod index;
mod keys;
mod memory_backend;
mod new_group_cap;
mod queue;
mod records;
mod retention;
pub mod rules;
mod sled_backend;
mod sled_copy;
mod storage;
#[cfg(test)]
mod test_support;
mod tokens;
mod txn;
mod watermark;

pub use api::{
    AlertStore, CheckStore, EventNeighbors, EventStore, GroupStore, HealthStore, SearchStore, StateSwap,
    Store, StoreAdmin, TokenStore,
};
pub use backup::{backup_offline, BackupReport};
pub use cluster::{
    AlertFact, AlertFactKind, AlertRound, ClusterStore, NotificationState, OutgoingNotification,
};
pub use committer::{Committed, EventBatch};
pub use compaction::{compact, CompactReport};
pub use data_format::{MARKER_FILE, OLDEST_STORAGE_FORMAT, STORAGE_FORMAT};
pub use error::Error;
pub use groups::{GroupCursor, GroupFilter, GroupSort};
pub use health::{HealthBatch, HealthFilter, HealthOptions, OVERFLOW_ROUTE};
pub use index::{
    open_node_index, Facet, GroupActivity, GroupLookup, IndexFeed, NodeIndex, SearchHit, SearchPage,
    SearchRequest,
};
pub use new_group_cap::{overflow_fingerprint, OVERFLOW_TITLE};
pub use retention::{RetentionOptions, RetentionPass};
pub use storage::{open, Storage, StorageOptions, StorageStats, StoreConfig, SyncMode, DEFAULT_CACHE_BYTES};

pub type Result<T, E = Error> = std::result::Result<T, E>;
