//! Active checks' results: the domain type shared by the prober, the store
//! and the API.

use serde::{Deserialize, Serialize};

use crate::UnixNanos;

/// The outcome of one run. Timestamps are plain nanoseconds (not RFC 3339)
/// so that the store can keep results compactly; the API formats them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    pub check_id: String,
    /// When the run started.
    pub at: UnixNanos,
    pub ok: bool,
    /// Wall time of the run, up to the failure or the timeout when it failed.
    pub latency_ms: f64,
    /// HTTP checks that got a response.
    pub status_code: Option<u16>,
    /// Why the run failed, in words meant for a person; `None` when `ok`.
    pub error: Option<String>,
    /// TLS checks that completed a handshake: days until the leaf
    /// certificate's notAfter, negative once expired.
    pub tls_days_left: Option<f64>,
    pub tls_not_after: Option<UnixNanos>,
}
