//! The one error type of storage, whatever engine is behind it.
//!
//! Engine errors (sled, tantivy, later PostgreSQL) are turned into text at
//! the boundary, so callers never depend on an engine's types and a second
//! engine can report the same variants.

/// Everything that can go wrong in storage.
///
/// The wrapped library errors are part of the message and deliberately not
/// `source`s: `{:#}` would otherwise print each of them twice.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The storage engine failed to read or write (I/O, a full disk, an
    /// engine bug); the message names the engine's own error.
    #[error("storage backend: {0}")]
    Backend(String),
    /// The search index could not be opened, read or written.
    #[error("search index: {0}")]
    Index(String),
    /// Another process (most likely another Faultline) holds the data directory.
    #[error(
        "the data directory {} is in use by another running Faultline (its lock is held); \
         stop that process or start this one with another --data-dir",
        .0.display()
    )]
    Locked(std::path::PathBuf),
    /// The data directory cannot be created, read or written.
    #[error(
        "cannot use the data directory {}: {reason}; \
         give this user read and write access to it or choose another --data-dir",
        dir.display()
    )]
    DataDirAccess { dir: std::path::PathBuf, reason: std::io::Error },
    /// The data directory was written by a newer storage format than this
    /// build reads (its `FORMAT` marker, `data_format.rs`).
    #[error(
        "the data directory {} was written by storage format {found}; this faultline reads formats \
         {oldest} to {newest}: upgrade faultline",
        dir.display(),
        oldest = crate::data_format::OLDEST_STORAGE_FORMAT,
        newest = crate::data_format::STORAGE_FORMAT
    )]
    NewerDataDir { dir: std::path::PathBuf, found: u32 },
    /// A group commit was not written: nothing of the batch it belonged to
    /// is stored, and it may be retried. Not a sign of damaged data.
    #[error("commit failed; nothing of this batch was stored: {0}")]
    CommitFailed(String),
    /// A stored record cannot be decoded.
    #[error("stored record is damaged: {0}")]
    Corrupt(String),
    #[error("stored record has format version {found}; this build reads up to {supported}")]
    UnsupportedFormat { found: u32, supported: u32 },
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    /// A tag breakdown asked for a name that is no tag.
    #[error("unknown tag {0:?}: use release, environment, host, route, method, status, sdk, user, level, source, service or an attribute name")]
    UnknownField(String),
    #[error("the ingest queue is full")]
    QueueFull,
    #[error("storage is shutting down")]
    ShuttingDown,
    /// A request that cannot be carried out as asked (bad merge, unknown fingerprint).
    #[error("{0}")]
    Invalid(String),
    #[error("group {0} not found")]
    GroupNotFound(u64),
    #[error("I/O: {0}")]
    Io(std::io::Error),
    /// What this engine cannot do (yet); the message says what to do instead.
    #[error("{0}")]
    Unsupported(String),
}

impl Error {
    /// An engine failure, kept as text so no engine type leaks out.
    pub(crate) fn backend(e: impl std::fmt::Display) -> Error {
        Error::Backend(e.to_string())
    }

    /// A search-index failure, kept as text so no tantivy type leaks out.
    pub(crate) fn index(e: impl std::fmt::Display) -> Error {
        Error::Index(e.to_string())
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}

impl From<prost::DecodeError> for Error {
    fn from(e: prost::DecodeError) -> Self {
        Error::Corrupt(e.to_string())
    }
}
