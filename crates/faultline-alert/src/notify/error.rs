//! What can be wrong with a channel's configuration, and how a delivery
//! can end without success.

/// A channel whose configuration cannot work. Messages name the field in
/// the words of the config file; they never repeat a URL, since webhook
/// URLs of Slack and the like carry their secret in the path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError {
    #[error("{field} must not be empty")]
    Empty { field: &'static str },
    #[error("{field} is not a usable URL: {reason}")]
    InvalidUrl { field: &'static str, reason: String },
    #[error("header {name:?} cannot be sent: {reason}")]
    InvalidHeader { name: String, reason: String },
    #[error("header {name:?} is set by Faultline itself and cannot be configured")]
    ReservedHeader { name: String },
    #[error("{field} {address:?} is not an email address: {reason}")]
    InvalidAddress { field: &'static str, address: String, reason: String },
    #[error("smtp_host {0:?} is not a host name")]
    InvalidHost(String),
    #[error("smtp_port must not be 0")]
    ZeroPort,
    #[error("username and password must be set together")]
    IncompleteCredentials,
    #[error("ca_file {path}: {reason}")]
    CaFile { path: String, reason: CaFileError },
    #[error("routing_key {0}")]
    InvalidRoutingKey(&'static str),
    /// Reports go to people and programs that read them; a pager is for incidents.
    #[error("{kind} channels cannot receive reports")]
    NotForReports { kind: &'static str },
}

/// Why [`deliver`](super::deliver) gave up. Every attempt before this was
/// already reported through the callback, with its own error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// Nothing was sent: the channel's configuration cannot work.
    #[error("invalid channel: {0}")]
    InvalidChannel(#[from] ChannelError),
    /// The receiver refused in a way retrying cannot change (a 4xx other
    /// than 429, a permanent SMTP reply, a TLS failure).
    #[error("rejected on attempt {attempts}: {error}")]
    Rejected { attempts: u32, error: String },
    /// Every attempt the policy allows failed; `error` is the last one's.
    #[error("failed after {attempts} attempts: {error}")]
    Exhausted { attempts: u32, error: String },
}

/// Why a `ca_file` cannot be used. Causes are kept as text because
/// [`ChannelError`], which carries this, is `Clone` and `Eq` and
/// `io::Error` is neither.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaFileError {
    #[error("{0}")]
    Read(String),
    #[error("not a PEM certificate file: {0}")]
    NotPem(String),
    #[error("no certificate in the file (expected PEM \"BEGIN CERTIFICATE\" blocks)")]
    NoCertificate,
}

/// Why a sender could not be prepared, so nothing was sent. The text is
/// what the delivery record shows as the attempt's error.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SenderError {
    #[error("ca_file {path}: {reason}")]
    CaFile { path: String, reason: CaFileError },
    /// A PEM block that is not a certificate lettre can use.
    #[error("ca_file {path}: {source}")]
    Certificate { path: String, source: lettre::transport::smtp::Error },
    #[error("TLS setup failed: {0}")]
    SmtpTls(#[source] lettre::transport::smtp::Error),
    /// A `from` or `to` address; checked when the channel is configured,
    /// so only a channel built around that check gets here.
    #[error(transparent)]
    Address(#[from] ChannelError),
    #[error("building the email failed: {0}")]
    Email(#[source] lettre::error::Error),
    #[error(transparent)]
    Tls(#[from] faultline_tls::TlsError),
    #[error("HTTP client setup failed: {0}")]
    HttpClient(#[source] reqwest::Error),
}
