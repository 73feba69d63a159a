//! Connections: a deadpool of tokio-postgres clients on the engine's own
//! tokio runtime, and the bridge that lets the synchronous traits wait on
//! it from any thread.
//!
//! The engine owns its runtime rather than borrowing the caller's: the
//! traits are called from blocking threads and from plain threads, and a
//! synchronous client (`postgres`) would start a runtime inside the
//! server's and panic. Work is spawned on the engine's runtime and the
//! calling thread waits on a plain channel, which is safe from anywhere.

use std::future::Future;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};

use crate::error::{PgError, PgResult};
use crate::tls::Target;

/// The engine's runtime and connection pool.
pub struct Db {
    runtime: Option<tokio::runtime::Runtime>,
    pub pool: Pool,
}

impl Db {
    pub fn connect(target: Target, max_connections: usize) -> PgResult<Db> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("faultline-pg")
            .enable_all()
            .build()
            .map_err(|e| PgError::Pool(format!("cannot start the engine's runtime: {e}")))?;
        let manager = Manager::from_config(
            target.config,
            target.tls,
            ManagerConfig { recycling_method: RecyclingMethod::Fast },
        );
        let pool = {
            let _entered = runtime.enter();
            Pool::builder(manager)
                .max_size(max_connections)
                .wait_timeout(Some(Duration::from_secs(30)))
                .create_timeout(Some(Duration::from_secs(15)))
                .runtime(deadpool_postgres::Runtime::Tokio1)
                .build()
                .map_err(|e| PgError::Pool(e.to_string()))?
        };
        Ok(Db { runtime: Some(runtime), pool })
    }

    /// Runs `work` on the engine's runtime and waits for it on this thread.
    pub fn block<T: Send + 'static>(
        &self,
        work: impl Future<Output = PgResult<T>> + Send + 'static,
    ) -> PgResult<T> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.spawn(async move {
            let _ = tx.send(work.await);
        })?;
        rx.recv().map_err(|_| PgError::Pool("the engine's runtime stopped".into()))?
    }

    /// Spawns `work` on the engine's runtime.
    pub fn spawn(&self, work: impl Future<Output = ()> + Send + 'static) -> PgResult<()> {
        let runtime = self.runtime.as_ref().ok_or_else(|| PgError::Pool("the engine is shut down".into()))?;
        runtime.spawn(work);
        Ok(())
    }

    /// A handle to spawn on from the engine's own threads.
    pub fn handle(&self) -> Option<tokio::runtime::Handle> {
        self.runtime.as_ref().map(|r| r.handle().clone())
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        // Dropping a runtime inside another one's context panics; this does not wait.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
