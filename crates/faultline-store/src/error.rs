/// Everything that can go wrong in storage.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("storage backend: {0}")]
    Backend(#[from] sled::Error),
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("could not open the search index directory: {0}")]
    IndexDirectory(#[from] tantivy::directory::error::OpenDirectoryError),
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
    Io(#[from] std::io::Error),
}

impl From<prost::DecodeError> for Error {
    fn from(e: prost::DecodeError) -> Self {
        Error::Corrupt(e.to_string())
    }
}
