/// Everything that can go wrong in storage.
///
/// The wrapped library errors are part of the message and deliberately not
/// `source`s: `{:#}` would otherwise print each of them twice.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("storage backend: {0}")]
    Backend(sled::Error),
    #[error("search index: {0}")]
    Index(tantivy::TantivyError),
    #[error("could not open the search index directory: {0}")]
    IndexDirectory(tantivy::directory::error::OpenDirectoryError),
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
    #[error("stored record is damaged: {0}")]
    Corrupt(String),
    #[error("stored record has format version {found}; this build reads up to {supported}")]
    UnsupportedFormat { found: u32, supported: u32 },
    #[error("invalid query: {0}")]
    InvalidQuery(String),
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
}

impl From<sled::Error> for Error {
    fn from(e: sled::Error) -> Self {
        Error::Backend(e)
    }
}

impl From<tantivy::TantivyError> for Error {
    fn from(e: tantivy::TantivyError) -> Self {
        Error::Index(e)
    }
}

impl From<tantivy::directory::error::OpenDirectoryError> for Error {
    fn from(e: tantivy::directory::error::OpenDirectoryError) -> Self {
        Error::IndexDirectory(e)
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
