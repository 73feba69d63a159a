//! TLS checks: a handshake, then the days left before the leaf
//! certificate's notAfter. See [`TlsProbe`] for why trust is not checked
//! unless `verify` is set.

use faultline_model::{now_nanos, UnixNanos};
use rustls::pki_types::ServerName;
use tokio::io::AsyncWriteExt;
use tokio_rustls::TlsConnector;

use crate::address::split_host_port;
use crate::config::TlsProbe;
use crate::error::RunError;
use crate::run::Outcome;
use crate::tcp;
use faultline_tls::{client_config, Trust};

const SECONDS_PER_DAY: f64 = 86_400.0;
const NANOS_PER_SECOND: i64 = 1_000_000_000;

pub(crate) async fn probe(probe: &TlsProbe) -> Outcome {
    match not_after(probe).await {
        Ok(not_after_secs) => judge(not_after_secs, now_nanos(), probe.min_days_left),
        Err(error) => Outcome::failed(error.to_string()),
    }
}

/// Connects, shakes hands and reads the leaf certificate's notAfter, in
/// seconds since the epoch.
async fn not_after(probe: &TlsProbe) -> Result<i64, RunError> {
    let name = match &probe.server_name {
        Some(name) => name.clone(),
        None => split_host_port(&probe.address)?.0.to_owned(),
    };
    let server_name = ServerName::try_from(name).map_err(|_| RunError::ServerName)?;
    let trust = if probe.verify { Trust::WebpkiRoots } else { Trust::AnyCertificate };
    let connector = TlsConnector::from(client_config(trust)?);

    let stream = tcp::connect(&probe.address).await?;
    let mut tls = connector.connect(server_name, stream).await.map_err(RunError::Io)?;
    let leaf = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .ok_or(RunError::NoCertificate)?
        .clone();
    // Say goodbye properly so the target does not log an aborted handshake;
    // a failure here says nothing about the certificate.
    let _ = tls.shutdown().await;

    let (_, cert) = x509_parser::parse_x509_certificate(&leaf).map_err(RunError::Certificate)?;
    Ok(cert.validity().not_after.timestamp())
}

fn judge(not_after_secs: i64, now: UnixNanos, min_days_left: u32) -> Outcome {
    // Computed in seconds as f64: notAfter may be far past 2262 (9999-12-31
    // is common), where nanoseconds no longer fit in an i64.
    let now_secs = now as f64 / NANOS_PER_SECOND as f64;
    let days_left = (not_after_secs as f64 - now_secs) / SECONDS_PER_DAY;
    let error = if days_left < 0.0 {
        Some(format!("certificate expired {} ago", days(-days_left)))
    } else if days_left < f64::from(min_days_left) {
        Some(format!("certificate expires in {} (< {min_days_left})", days(days_left)))
    } else {
        None
    };
    Outcome {
        error,
        status_code: None,
        tls_days_left: Some(days_left),
        tls_not_after: Some(not_after_secs.saturating_mul(NANOS_PER_SECOND)),
    }
}

/// Whole days, rounded down: "expires in 3 days" while 3.9 remain.
fn days(days: f64) -> String {
    match days.floor() as i64 {
        1 => "1 day".to_owned(),
        n => format!("{n} days"),
    }
}

#[cfg(test)]
mod tests {
    use super::judge;

    const DAY: i64 = 86_400;
    const NOW_SECS: i64 = 1_700_000_000;
    const NOW: i64 = NOW_SECS * 1_000_000_000;

    #[test]
    fn passes_with_enough_days_left() {
        let outcome = judge(NOW_SECS + 30 * DAY, NOW, 14);
        assert_eq!(outcome.error, None);
        assert_eq!(outcome.tls_days_left, Some(30.0));
        assert_eq!(outcome.tls_not_after, Some(NOW + 30 * DAY * 1_000_000_000));
    }

    #[test]
    fn fails_below_the_minimum_in_whole_days() {
        let outcome = judge(NOW_SECS + 3 * DAY + DAY / 2, NOW, 14);
        assert_eq!(outcome.error.as_deref(), Some("certificate expires in 3 days (< 14)"));
        let outcome = judge(NOW_SECS + DAY + 1, NOW, 7);
        assert_eq!(outcome.error.as_deref(), Some("certificate expires in 1 day (< 7)"));
    }

    #[test]
    fn expired_certificates_fail_even_with_a_zero_minimum() {
        let outcome = judge(NOW_SECS - 2 * DAY - 5, NOW, 0);
        assert_eq!(outcome.error.as_deref(), Some("certificate expired 2 days ago"));
        assert!(outcome.tls_days_left.is_some_and(|d| d < -2.0));
    }

    #[test]
    fn far_future_not_after_saturates_instead_of_overflowing() {
        let year_9999 = 253_402_300_799;
        let outcome = judge(year_9999, NOW, 7);
        assert_eq!(outcome.error, None);
        assert_eq!(outcome.tls_not_after, Some(i64::MAX));
    }
}
