//! The store URL: `postgres://user:password@host:port/db?sslmode=...`,
//! with TLS by rustls (faultline-tls's client configurations).
//!
//! `sslmode` as libpq reads it: `disable` (plain), `prefer` (the default:
//! TLS when the server offers it, the certificate not checked), `require`
//! (TLS or nothing, the certificate not checked), `verify-full` (TLS, the
//! certificate checked against the webpki roots and `sslrootcert`, a PEM
//! file, and the host name). `verify-ca` is refused: rustls always checks
//! the name, so it would silently be `verify-full`.

use std::str::FromStr;
use std::sync::Arc;

use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::error::{PgError, PgResult};

/// A parsed store URL and the TLS connector it asks for.
pub struct Target {
    pub config: tokio_postgres::Config,
    pub tls: MakeRustlsConnect,
}

/// Parses a `postgres://` (or `postgresql://`) URL.
pub fn parse(url: &str) -> PgResult<Target> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(PgError::Url("it must start with postgres:// or postgresql://".into()));
    }
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut kept = Vec::new();
    let mut mode = "prefer".to_string();
    let mut root_cert = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("sslmode", value)) => mode = value.to_string(),
            Some(("sslrootcert", value)) => root_cert = Some(value.to_string()),
            _ => kept.push(pair),
        }
    }
    let rest = if kept.is_empty() { String::new() } else { format!("?{}", kept.join("&")) };
    let mut config = tokio_postgres::Config::from_str(&format!("{base}{rest}"))
        .map_err(|e| PgError::Url(format!("{}: {e}", redact(url))))?;
    if config.get_application_name().is_none() {
        config.application_name("faultline");
    }
    let (ssl_mode, client) = match mode.as_str() {
        "disable" => (SslMode::Disable, unchecked()?),
        "prefer" => (SslMode::Prefer, unchecked()?),
        "require" => (SslMode::Require, unchecked()?),
        "verify-full" => (SslMode::Require, verifying(root_cert.as_deref())?),
        other => {
            return Err(PgError::Url(format!(
                "sslmode={other} is not supported: use disable, prefer, require or verify-full"
            )))
        }
    };
    config.ssl_mode(ssl_mode);
    Ok(Target { config, tls: MakeRustlsConnect::new(client) })
}

/// The URL with its password replaced, for messages and logs.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let Some((userinfo, host)) = rest.split_once('@') else { return url.to_string() };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

fn unchecked() -> PgResult<rustls::ClientConfig> {
    let config = faultline_tls::client_config(faultline_tls::Trust::AnyCertificate)
        .map_err(|e| PgError::Tls(e.to_string()))?;
    Ok(Arc::unwrap_or_clone(config))
}

fn verifying(root_cert: Option<&str>) -> PgResult<rustls::ClientConfig> {
    match root_cert {
        Some(path) => {
            let pem = std::fs::read(path).map_err(|e| PgError::Tls(format!("sslrootcert {path}: {e}")))?;
            faultline_tls::client_config_trusting(&pem)
                .map_err(|e| PgError::Tls(format!("sslrootcert {path}: {e}")))
        }
        None => {
            let config = faultline_tls::client_config(faultline_tls::Trust::WebpkiRoots)
                .map_err(|e| PgError::Tls(e.to_string()))?;
            Ok(Arc::unwrap_or_clone(config))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn sslmode_is_read_and_bad_ones_refused() {
        let t = parse("postgres://u:secret@db.example:5433/faultline?sslmode=require").unwrap();
        assert_eq!(t.config.get_ssl_mode(), SslMode::Require);
        assert_eq!(t.config.get_dbname(), Some("faultline"));
        let t = parse("postgresql://u@h/d").unwrap();
        assert_eq!(t.config.get_ssl_mode(), SslMode::Prefer);
        assert!(parse("postgres://u@h/d?sslmode=verify-ca").is_err());
        assert!(parse("mysql://u@h/d").is_err());
        let err = parse("postgres://u@h/d?sslmode=verify-full&sslrootcert=/nonexistent.pem").err().unwrap();
        assert!(err.to_string().contains("/nonexistent.pem"), "{err}");
        assert_eq!(redact("postgres://u:secret@h/d"), "postgres://u:***@h/d");
    }
}
