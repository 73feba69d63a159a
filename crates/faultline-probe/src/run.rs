//! Running one check: the timeout, the clock and the result, shared by
//! every kind so that each probe only says what it found.

use std::time::Instant;

use faultline_model::{now_nanos, UnixNanos};

use crate::config::{Check, Probe};
use crate::result::CheckResult;
use crate::{duration, http, tcp, tls};

/// What a probe found, before timing is added.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub(crate) error: Option<String>,
    pub(crate) status_code: Option<u16>,
    pub(crate) tls_days_left: Option<f64>,
    pub(crate) tls_not_after: Option<UnixNanos>,
}

impl Outcome {
    pub(crate) fn failed(error: impl Into<String>) -> Self {
        Self { error: Some(error.into()), ..Self::default() }
    }
}

/// Runs `check` once. Never fails and never takes much longer than the
/// check's timeout, which bounds the whole run, DNS included.
pub async fn run(check: &Check) -> CheckResult {
    let at = now_nanos();
    let started = Instant::now();
    let probe = async {
        match &check.probe {
            Probe::Http(p) => http::probe(p).await,
            Probe::Tcp(p) => tcp::probe(p).await,
            Probe::Tls(p) => tls::probe(p).await,
        }
    };
    let outcome = match tokio::time::timeout(check.timeout, probe).await {
        Ok(outcome) => outcome,
        Err(_) => Outcome::failed(format!("timed out after {}", duration::format(check.timeout))),
    };
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    if let Some(error) = &outcome.error {
        tracing::debug!(check = %check.id, %error, latency_ms, "check failed");
    }
    CheckResult {
        check_id: check.id.clone(),
        at,
        ok: outcome.error.is_none(),
        latency_ms,
        status_code: outcome.status_code,
        error: outcome.error,
        tls_days_left: outcome.tls_days_left,
        tls_not_after: outcome.tls_not_after,
    }
}
