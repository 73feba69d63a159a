//! A channel: a named destination and its configuration, as written in the
//! config file or created over the API, and the checks that catch a
//! configuration that could never deliver.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use lettre::message::Mailbox;
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::Url;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use serde::{Deserialize, Serialize};

use super::error::{CaFileError, ChannelError};
use super::webhook::{SIGNATURE_HEADER, TIMESTAMP_HEADER};

pub const DEFAULT_PAGERDUTY_EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Channel {
    pub id: String,
    pub name: String,
    pub config: ChannelConfig,
}

impl Channel {
    pub fn validate(&self) -> Result<(), ChannelError> {
        if self.id.trim().is_empty() {
            return Err(ChannelError::Empty { field: "id" });
        }
        if self.name.trim().is_empty() {
            return Err(ChannelError::Empty { field: "name" });
        }
        self.config.validate()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ChannelConfig {
    /// POST of the versioned JSON of `render_webhook`.
    Webhook {
        url: String,
        /// Signs each request (see the module documentation).
        #[serde(default)]
        secret: Option<String>,
        /// Extra headers, e.g. an `Authorization` the receiver wants.
        #[serde(default)]
        headers: BTreeMap<String, String>,
    },
    /// A Slack incoming webhook, posting the Block Kit message of `render_slack`.
    Slack { webhook_url: String },
    Email {
        smtp_host: String,
        #[serde(default = "default_smtp_port")]
        smtp_port: u16,
        #[serde(default)]
        tls: EmailTls,
        /// Authenticate (PLAIN or LOGIN) when both are set.
        #[serde(default)]
        username: Option<String>,
        #[serde(default)]
        password: Option<String>,
        /// `alerts@example.com` or `Faultline <alerts@example.com>`.
        from: String,
        to: Vec<String>,
        /// A PEM file of CA certificates to trust besides the webpki roots,
        /// for a relay whose certificate an internal CA issued.
        #[serde(default)]
        ca_file: Option<PathBuf>,
    },
    /// PagerDuty Events API v2, one event per alert (`render_pagerduty`).
    /// Written `pagerduty`, the product's own spelling, rather than the
    /// `pager_duty` snake case would give (accepted too).
    #[serde(rename = "pagerduty", alias = "pager_duty")]
    PagerDuty {
        routing_key: String,
        /// [`DEFAULT_PAGERDUTY_EVENTS_URL`] when unset; set for a proxy or a test receiver.
        #[serde(default)]
        events_url: Option<String>,
    },
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailTls {
    /// Plain SMTP, credentials included: only for a relay on the same host
    /// or a trusted network.
    None,
    /// Connect in plain text, then upgrade with STARTTLS (port 587). The
    /// upgrade is required: a server that does not offer it is an error,
    /// not a reason to send in clear.
    #[default]
    Starttls,
    /// TLS from the first byte ("SMTPS", port 465).
    Tls,
}

fn default_smtp_port() -> u16 {
    587
}

/// Headers `deliver` sets itself; configuring them would either be
/// overwritten or break the request.
const RESERVED_HEADERS: &[&str] = &["content-type", "content-length", "host", "transfer-encoding"];

impl ChannelConfig {
    pub fn validate(&self) -> Result<(), ChannelError> {
        match self {
            ChannelConfig::Webhook { url, secret, headers } => {
                check_http_url("url", url)?;
                if secret.as_deref().is_some_and(str::is_empty) {
                    return Err(ChannelError::Empty { field: "secret" });
                }
                headers.iter().try_for_each(|(name, value)| check_header(name, value))
            }
            ChannelConfig::Slack { webhook_url } => check_http_url("webhook_url", webhook_url).map(drop),
            ChannelConfig::Email { smtp_host, smtp_port, tls: _, username, password, from, to, ca_file } => {
                if smtp_host.trim().is_empty() {
                    return Err(ChannelError::Empty { field: "smtp_host" });
                }
                let one_colon = smtp_host.matches(':').count() == 1;
                if one_colon || smtp_host.chars().any(|c| c.is_whitespace() || "/@".contains(c)) {
                    // A URL or host:port where only the host (a name, an
                    // IPv4 or an IPv6 address) belongs.
                    return Err(ChannelError::InvalidHost(smtp_host.clone()));
                }
                if *smtp_port == 0 {
                    return Err(ChannelError::ZeroPort);
                }
                if username.is_some() != password.is_some() {
                    return Err(ChannelError::IncompleteCredentials);
                }
                parse_mailbox("from", from)?;
                if to.is_empty() {
                    return Err(ChannelError::Empty { field: "to" });
                }
                to.iter().try_for_each(|address| parse_mailbox("to", address).map(drop))?;
                match ca_file {
                    // Read now so a bad file stops start-up, not the first alert.
                    Some(path) => load_ca_file(path)
                        .map(drop)
                        .map_err(|reason| ChannelError::CaFile { path: path.display().to_string(), reason }),
                    None => Ok(()),
                }
            }
            ChannelConfig::PagerDuty { routing_key, events_url } => {
                if routing_key.trim().is_empty() {
                    return Err(ChannelError::Empty { field: "routing_key" });
                }
                if routing_key.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    return Err(ChannelError::InvalidRoutingKey("must not contain spaces"));
                }
                match events_url {
                    Some(url) => check_http_url("events_url", url).map(drop),
                    None => Ok(()),
                }
            }
        }
    }

    /// The name of the kind, as in the config file.
    pub fn kind(&self) -> &'static str {
        match self {
            ChannelConfig::Webhook { .. } => "webhook",
            ChannelConfig::Slack { .. } => "slack",
            ChannelConfig::Email { .. } => "email",
            ChannelConfig::PagerDuty { .. } => "pagerduty",
        }
    }
}

pub(crate) fn check_http_url(field: &'static str, url: &str) -> Result<Url, ChannelError> {
    if url.trim().is_empty() {
        return Err(ChannelError::Empty { field });
    }
    let parsed = Url::parse(url).map_err(|e| ChannelError::InvalidUrl { field, reason: e.to_string() })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(ChannelError::InvalidUrl {
            field,
            reason: format!("the scheme must be http or https, not {:?}", parsed.scheme()),
        });
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(ChannelError::InvalidUrl { field, reason: "it has no host".into() });
    }
    Ok(parsed)
}

fn check_header(name: &str, value: &str) -> Result<(), ChannelError> {
    let invalid = |reason: String| ChannelError::InvalidHeader { name: name.to_string(), reason };
    let parsed = HeaderName::from_str(name).map_err(|_| invalid("not a valid header name".into()))?;
    HeaderValue::from_str(value)
        .map_err(|_| invalid("the value has characters a header cannot carry".into()))?;
    let lower = parsed.as_str();
    let ours = [SIGNATURE_HEADER, TIMESTAMP_HEADER].iter().any(|h| h.eq_ignore_ascii_case(lower));
    if ours || lower.starts_with("x-faultline-") || RESERVED_HEADERS.contains(&lower) {
        return Err(ChannelError::ReservedHeader { name: name.to_string() });
    }
    Ok(())
}

pub(crate) fn parse_mailbox(field: &'static str, address: &str) -> Result<Mailbox, ChannelError> {
    address.trim().parse::<Mailbox>().map_err(|e| ChannelError::InvalidAddress {
        field,
        address: address.to_string(),
        reason: e.to_string(),
    })
}

/// The certificates of a PEM file; an error if it has none.
pub(crate) fn load_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, CaFileError> {
    let pem = std::fs::read(path).map_err(|e| CaFileError::Read(e.to_string()))?;
    let certificates = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CaFileError::NotPem(e.to_string()))?;
    if certificates.is_empty() {
        return Err(CaFileError::NoCertificate);
    }
    Ok(certificates)
}
