//! Faultline's storage: the durable event log, groups and counters (in a
//! sorted key-value backend, sled by default) and the derived tantivy
//! search index.
//!
//! Writes go through one committer thread that batches concurrent exports
//! into one atomic write and one flush (group commit): when
//! [`Storage::submit`]'s receiver answers, the events are on disk.
//! The index tails the event log and can always be rebuilt from it.

mod backend;
mod checks;
mod committer;
mod error;
mod group_ops;
mod groups;
pub mod health;
pub mod index;
mod keys;
mod records;
mod storage;
mod txn;
mod watermark;

pub use backend::{Backend, Op, SledBackend};
pub use committer::{Committed, EventBatch};
pub use error::Error;
pub use groups::{GroupCursor, GroupFilter, GroupSort};
pub use health::{HealthBatch, HealthFilter, HealthOptions, OVERFLOW_ROUTE};
pub use index::{SearchHit, SearchPage, SearchRequest};
pub use storage::{Storage, StorageOptions, StorageStats};

pub type Result<T, E = Error> = std::result::Result<T, E>;
