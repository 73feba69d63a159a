//! Faultline's PostgreSQL storage engine: the domain traits of
//! `faultline-store` over a PostgreSQL (15 or newer) database that any
//! number of Faultline nodes share.
//!
//! - `schema.rs`: numbered migrations run at start; a newer schema is refused.
//! - `tls.rs`: the store URL and its `sslmode`, TLS by rustls.
//! - `pool.rs`: the engine's own runtime, the connection pool, and the
//!   bridge from the synchronous traits to it.
//!
//! Ids come from sequences, fingerprints are unique keys, and every change
//! to a group happens under its row lock, so nodes need no single writer.

mod error;
mod pool;
pub mod schema;
pub mod tls;

use std::sync::Arc;

use faultline_store::StorageOptions;

pub use error::PgError;

/// How the engine connects, besides the storage options every engine takes.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// Connections in this node's pool.
    pub max_connections: usize,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions { max_connections: 16 }
    }
}

/// The engine: a handle shared by the trait implementations.
pub struct PgStore {
    db: Arc<pool::Db>,
    #[allow(dead_code)]
    options: StorageOptions,
}

impl PgStore {
    /// Connects to `url`, brings the schema up to date and starts the
    /// engine's writers and maintenance.
    pub fn open(url: &str, options: StorageOptions, pg: PgOptions) -> Result<PgStore, PgError> {
        let target = tls::parse(url)?;
        let db = Arc::new(pool::Db::connect(target, pg.max_connections.max(2))?);
        let pool = db.pool.clone();
        let found = db.block(async move {
            let mut client = pool.get().await?;
            schema::migrate(&mut client).await
        })?;
        tracing::info!(url = %tls::redact(url), schema_before = found, schema = schema::LATEST, "PostgreSQL store open");
        Ok(PgStore { db, options })
    }
}
