//! Why a check's configuration was refused. Every message names the check
//! and the offending field so that a config-file or API user can fix it
//! without reading code.

use crate::config::CheckKind;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("check id {id:?} is invalid: use 1 to 64 characters from a-z, 0-9, '_' and '-'")]
    InvalidId { id: String },

    #[error("duplicate check id {id:?}")]
    DuplicateId { id: String },

    #[error("check {id:?}: `kind` is required: http, tcp or tls")]
    MissingKind { id: String },

    #[error("check {id:?}: {kind} checks need `{field}`")]
    MissingField { id: String, kind: CheckKind, field: &'static str },

    #[error("check {id:?}: `{field}` does not apply to {kind} checks")]
    FieldNotAllowed { id: String, kind: CheckKind, field: &'static str },

    #[error("check {id:?}: interval {interval} is shorter than the minimum of {minimum}")]
    IntervalTooShort { id: String, interval: String, minimum: String },

    #[error("check {id:?}: timeout must be longer than zero")]
    ZeroTimeout { id: String },

    #[error("check {id:?}: invalid url {url:?}: {reason}")]
    InvalidUrl { id: String, url: String, reason: String },

    #[error("check {id:?}: invalid method {method:?}")]
    InvalidMethod { id: String, method: String },

    #[error("check {id:?}: invalid header {name:?}: {reason}")]
    InvalidHeader { id: String, name: String, reason: String },

    #[error("check {id:?}: body_contains must not be empty")]
    EmptyBodyContains { id: String },

    #[error("check {id:?}: invalid address {address:?}: {reason}")]
    InvalidAddress { id: String, address: String, reason: crate::AddressError },

    #[error("check {id:?}: invalid server_name {name:?}: not a DNS name or IP address")]
    InvalidServerName { id: String, name: String },
}

/// Why a run failed before its answer could be judged. The text is the
/// run's stored `error`, shown on status pages and in alerts, so causes
/// are put in the short words of [`crate::describe`].
#[derive(Debug, thiserror::Error)]
pub(crate) enum RunError {
    #[error("invalid address: {0}")]
    Address(#[from] crate::AddressError),
    #[error("invalid server name: not a DNS name or IP address")]
    ServerName,
    #[error(transparent)]
    Tls(#[from] faultline_tls::TlsError),
    #[error("HTTP client setup failed: {}", crate::describe::chain(.0))]
    HttpClient(reqwest::Error),
    /// Connecting or the TLS handshake failed.
    #[error("{}", crate::describe::io_error(.0))]
    Io(std::io::Error),
    #[error("the server sent no certificate")]
    NoCertificate,
    #[error("unreadable certificate: {0}")]
    Certificate(x509_parser::nom::Err<x509_parser::error::X509Error>),
}

#[cfg(test)]
mod tests {
    use super::RunError;
    use crate::AddressError;

    /// These texts are stored with each failed run and shown as they are.
    #[test]
    fn run_errors_read_as_before() {
        assert_eq!(
            RunError::from(AddressError::NoPort).to_string(),
            format!("invalid address: {}", AddressError::NoPort)
        );
        assert_eq!(RunError::ServerName.to_string(), "invalid server name: not a DNS name or IP address");
        assert_eq!(RunError::NoCertificate.to_string(), "the server sent no certificate");
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(RunError::Io(refused).to_string(), "connection refused");
    }
}
