//! The engine's own errors, turned into `faultline_store::Error` at the
//! trait boundary so callers never see a PostgreSQL type.

use faultline_store::Error as StoreError;

#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error("{}", describe(.0))]
    Db(#[from] tokio_postgres::Error),
    #[error("PostgreSQL connection pool: {0}")]
    Pool(String),
    #[error("invalid store URL: {0}")]
    Url(String),
    #[error("TLS to PostgreSQL: {0}")]
    Tls(String),
    #[error(
        "the database has Faultline schema version {found}; this faultline knows versions up to {supported}: \
         upgrade faultline (every node sharing a database must run a version that knows its schema)"
    )]
    NewerSchema { found: i32, supported: i32 },
    #[error("stored row is damaged: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Store(#[from] StoreError),
    /// Another transaction changed what this one read: run it again.
    #[error("retry: {0}")]
    Retry(&'static str),
}

impl From<deadpool_postgres::PoolError> for PgError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        match e {
            deadpool_postgres::PoolError::Backend(e) => PgError::Db(e),
            other => PgError::Pool(other.to_string()),
        }
    }
}

impl From<serde_json::Error> for PgError {
    fn from(e: serde_json::Error) -> Self {
        PgError::Corrupt(e.to_string())
    }
}

impl From<PgError> for StoreError {
    fn from(e: PgError) -> Self {
        match e {
            PgError::Store(e) => e,
            PgError::Corrupt(text) => StoreError::Corrupt(text),
            other => StoreError::Backend(other.to_string()),
        }
    }
}

/// The error with PostgreSQL's own detail (the server's code, message and
/// detail) or its cause (a refused connection, a certificate that did not
/// verify), which `tokio_postgres::Error`'s Display leaves out.
fn describe(db: &tokio_postgres::Error) -> String {
    if let Some(inner) = db.as_db_error() {
        let mut text = format!("PostgreSQL: {}: {}", inner.code().code(), inner.message());
        if let Some(detail) = inner.detail() {
            text.push_str(&format!(" ({detail})"));
        }
        return text;
    }
    let mut text = format!("PostgreSQL: {db}");
    let mut cause = std::error::Error::source(db);
    while let Some(e) = cause {
        text.push_str(&format!(": {e}"));
        cause = e.source();
    }
    text
}

/// Whether retrying the whole transaction may succeed: a deadlock or a
/// serialization failure between nodes (or writer threads).
pub(crate) fn is_retryable(e: &PgError) -> bool {
    use tokio_postgres::error::SqlState;
    match e {
        PgError::Db(db) => db.code().is_some_and(|c| {
            *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE
        }),
        PgError::Retry(_) => true,
        _ => false,
    }
}

pub(crate) type PgResult<T> = Result<T, PgError>;
