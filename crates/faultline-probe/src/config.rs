//! Check configuration: the `[[checks]]` tables of the config file and the
//! body of `POST /api/v1/checks` share this one shape.
//!
//! The wire shape is flat (`kind` plus the fields of that kind, see
//! [`RawCheck`]) because that is what people write; in memory a [`Check`]
//! holds a typed [`Probe`] so that running it never meets a missing field.
//! Deserializing refuses unknown fields, fields of another kind and invalid
//! values, so a deserialized `Check` is always valid; [`Check::validate`]
//! is there for checks built in code.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::address::split_host_port;
use crate::duration;
use crate::error::ConfigError;
use crate::status::StatusSpec;

/// How long a check may take when `timeout` is not given.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a check runs when `interval` is not given.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);
/// The shortest interval accepted: faster would be load testing, not monitoring.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// A TLS check fails when its certificate expires in fewer days than this.
pub const DEFAULT_MIN_DAYS_LEFT: u32 = 7;

const MAX_ID_LEN: usize = 64;

/// One active check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawCheck", into = "RawCheck")]
pub struct Check {
    /// Unique, `[a-z0-9_-]{1,64}`; results and incidents are keyed by it.
    pub id: String,
    /// Time from the start of one run to the start of the next.
    pub interval: Duration,
    /// The whole run (DNS, connect, TLS, request, body) must finish within it.
    pub timeout: Duration,
    pub probe: Probe,
}

/// What a check does.
#[derive(Debug, Clone, PartialEq)]
pub enum Probe {
    Http(HttpProbe),
    Tcp(TcpProbe),
    Tls(TlsProbe),
}

/// An HTTP(S) request whose status (and optionally body) is checked.
/// Redirects are not followed, so a 3xx is judged as it is (success by the
/// default `expected_status`).
#[derive(Debug, Clone, PartialEq)]
pub struct HttpProbe {
    pub url: String,
    /// Upper-case HTTP method, `GET` by default.
    pub method: String,
    pub expected_status: StatusSpec,
    /// The check fails unless the body (its first MiB) contains this text.
    pub body_contains: Option<String>,
    pub headers: BTreeMap<String, String>,
    /// Accept any server certificate: for self-signed internal targets.
    /// Off by default, so HTTPS targets are verified against the webpki roots.
    pub tls_insecure: bool,
}

/// A TCP connect to `host:port`; success means the connection was accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct TcpProbe {
    pub address: String,
}

/// A TLS handshake with `host:port`, judged by the days left before the
/// leaf certificate's notAfter.
///
/// By default the certificate is *not* verified: this check measures
/// expiry, and internal or self-signed certificates expire too. Trust is
/// what HTTPS checks (and `verify = true` here) are for.
#[derive(Debug, Clone, PartialEq)]
pub struct TlsProbe {
    pub address: String,
    /// SNI and, with `verify`, the name the certificate must match; the host
    /// part of `address` when not given.
    pub server_name: Option<String>,
    pub min_days_left: u32,
    /// Verify the chain and name against the webpki roots as a client would.
    pub verify: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckKind {
    Http,
    Tcp,
    Tls,
}

impl fmt::Display for CheckKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CheckKind::Http => "http",
            CheckKind::Tcp => "tcp",
            CheckKind::Tls => "tls",
        })
    }
}

impl Check {
    /// An HTTP check with every default: GET, 200-399, 10s timeout, 60s interval.
    pub fn http(id: impl Into<String>, url: impl Into<String>) -> Self {
        Self::with_probe(
            id,
            Probe::Http(HttpProbe {
                url: url.into(),
                method: "GET".to_owned(),
                expected_status: StatusSpec::default(),
                body_contains: None,
                headers: BTreeMap::new(),
                tls_insecure: false,
            }),
        )
    }

    /// A TCP connect check with default timeout and interval.
    pub fn tcp(id: impl Into<String>, address: impl Into<String>) -> Self {
        Self::with_probe(id, Probe::Tcp(TcpProbe { address: address.into() }))
    }

    /// A TLS expiry check with default timeout, interval and `min_days_left`.
    pub fn tls(id: impl Into<String>, address: impl Into<String>) -> Self {
        Self::with_probe(
            id,
            Probe::Tls(TlsProbe {
                address: address.into(),
                server_name: None,
                min_days_left: DEFAULT_MIN_DAYS_LEFT,
                verify: false,
            }),
        )
    }

    fn with_probe(id: impl Into<String>, probe: Probe) -> Self {
        Self { id: id.into(), interval: DEFAULT_INTERVAL, timeout: DEFAULT_TIMEOUT, probe }
    }

    pub fn kind(&self) -> CheckKind {
        match self.probe {
            Probe::Http(_) => CheckKind::Http,
            Probe::Tcp(_) => CheckKind::Tcp,
            Probe::Tls(_) => CheckKind::Tls,
        }
    }

    /// Checks everything a run relies on: id, interval, timeout and the
    /// probe's own fields (URL, method, headers, address, server name).
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_with_min_interval(MIN_INTERVAL)
    }

    /// [`Check::validate`] with another floor for `interval`, for embedders
    /// and tests that need sub-second checks. A zero interval is always refused.
    pub fn validate_with_min_interval(&self, min_interval: Duration) -> Result<(), ConfigError> {
        let min_interval = min_interval.max(Duration::from_millis(1));
        let id = || self.id.clone();
        let id_ok = !self.id.is_empty()
            && self.id.len() <= MAX_ID_LEN
            && self
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !id_ok {
            return Err(ConfigError::InvalidId { id: id() });
        }
        if self.interval < min_interval {
            return Err(ConfigError::IntervalTooShort {
                id: id(),
                interval: duration::format(self.interval),
                minimum: duration::format(min_interval),
            });
        }
        if self.timeout.is_zero() {
            return Err(ConfigError::ZeroTimeout { id: id() });
        }
        match &self.probe {
            Probe::Http(http) => validate_http(&self.id, http),
            Probe::Tcp(tcp) => validate_address(&self.id, &tcp.address),
            Probe::Tls(tls) => validate_tls(&self.id, tls),
        }
    }
}

fn validate_http(id: &str, http: &HttpProbe) -> Result<(), ConfigError> {
    let bad_url =
        |reason: String| ConfigError::InvalidUrl { id: id.to_owned(), url: http.url.clone(), reason };
    let url = reqwest::Url::parse(&http.url).map_err(|e| bad_url(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad_url(format!("scheme {:?} is not http or https", url.scheme())));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad_url("no host".to_owned()));
    }
    // Methods are case-sensitive tokens; upper case is required so that
    // "get" is not silently sent as an unknown extension method.
    let method_ok = !http.method.is_empty()
        && http.method.bytes().all(|b| b.is_ascii_uppercase())
        && reqwest::Method::from_bytes(http.method.as_bytes()).is_ok();
    if !method_ok {
        return Err(ConfigError::InvalidMethod { id: id.to_owned(), method: http.method.clone() });
    }
    for (name, value) in &http.headers {
        let bad = |reason: &str| ConfigError::InvalidHeader {
            id: id.to_owned(),
            name: name.clone(),
            reason: reason.to_owned(),
        };
        reqwest::header::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| bad("not a valid header name"))?;
        reqwest::header::HeaderValue::from_str(value)
            .map_err(|_| bad("the value has characters a header cannot carry"))?;
    }
    if http.body_contains.as_deref() == Some("") {
        return Err(ConfigError::EmptyBodyContains { id: id.to_owned() });
    }
    Ok(())
}

fn validate_address(id: &str, address: &str) -> Result<(), ConfigError> {
    split_host_port(address).map(|_| ()).map_err(|reason| ConfigError::InvalidAddress {
        id: id.to_owned(),
        address: address.to_owned(),
        reason,
    })
}

fn validate_tls(id: &str, tls: &TlsProbe) -> Result<(), ConfigError> {
    validate_address(id, &tls.address)?;
    if let Some(name) = &tls.server_name {
        if rustls::pki_types::ServerName::try_from(name.as_str()).is_err() {
            return Err(ConfigError::InvalidServerName { id: id.to_owned(), name: name.clone() });
        }
    }
    Ok(())
}

/// Validates every check and that no two share an id: what a config file
/// or a bulk replacement must pass before any of it is scheduled.
pub fn validate_all(checks: &[Check]) -> Result<(), ConfigError> {
    validate_all_with_min_interval(checks, MIN_INTERVAL)
}

pub(crate) fn validate_all_with_min_interval(
    checks: &[Check],
    min_interval: Duration,
) -> Result<(), ConfigError> {
    let mut seen = HashSet::new();
    for check in checks {
        check.validate_with_min_interval(min_interval)?;
        if !seen.insert(check.id.as_str()) {
            return Err(ConfigError::DuplicateId { id: check.id.clone() });
        }
    }
    Ok(())
}

/// The flat wire shape. Every kind-specific field is optional here and
/// checked against `kind` when converting, so that a `url` on a TCP check
/// is reported instead of ignored.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    id: String,
    kind: Option<CheckKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expected_status: Option<StatusSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body_contains: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    headers: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tls_insecure: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    server_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    min_days_left: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    verify: Option<bool>,
    #[serde(default, with = "duration::option", skip_serializing_if = "Option::is_none")]
    timeout: Option<Duration>,
    #[serde(default, with = "duration::option", skip_serializing_if = "Option::is_none")]
    interval: Option<Duration>,
}

impl TryFrom<RawCheck> for Check {
    type Error = ConfigError;

    fn try_from(raw: RawCheck) -> Result<Self, ConfigError> {
        let id = raw.id.clone();
        // `kind` is optional in the struct only so that its absence gets this
        // message rather than serde's generic one.
        let Some(kind) = raw.kind else {
            return Err(ConfigError::MissingKind { id });
        };
        let not_for = |field: &'static str| ConfigError::FieldNotAllowed { id: id.clone(), kind, field };
        let missing = |field: &'static str| ConfigError::MissingField { id: id.clone(), kind, field };

        let http_only = [
            ("url", raw.url.is_some()),
            ("method", raw.method.is_some()),
            ("expected_status", raw.expected_status.is_some()),
            ("body_contains", raw.body_contains.is_some()),
            ("headers", raw.headers.is_some()),
            ("tls_insecure", raw.tls_insecure.is_some()),
        ];
        let tls_only = [
            ("server_name", raw.server_name.is_some()),
            ("min_days_left", raw.min_days_left.is_some()),
            ("verify", raw.verify.is_some()),
        ];
        let address = [("address", raw.address.is_some())];
        let foreign: Vec<(&'static str, bool)> = match kind {
            CheckKind::Http => tls_only.iter().chain(&address).copied().collect(),
            CheckKind::Tcp => http_only.iter().chain(&tls_only).copied().collect(),
            CheckKind::Tls => http_only.to_vec(),
        };
        if let Some((field, _)) = foreign.iter().find(|(_, present)| *present) {
            return Err(not_for(field));
        }

        let probe = match kind {
            CheckKind::Http => Probe::Http(HttpProbe {
                url: raw.url.ok_or_else(|| missing("url"))?,
                method: raw.method.unwrap_or_else(|| "GET".to_owned()),
                expected_status: raw.expected_status.unwrap_or_default(),
                body_contains: raw.body_contains,
                headers: raw.headers.unwrap_or_default(),
                tls_insecure: raw.tls_insecure.unwrap_or(false),
            }),
            CheckKind::Tcp => {
                Probe::Tcp(TcpProbe { address: raw.address.ok_or_else(|| missing("address"))? })
            }
            CheckKind::Tls => Probe::Tls(TlsProbe {
                address: raw.address.ok_or_else(|| missing("address"))?,
                server_name: raw.server_name,
                min_days_left: raw.min_days_left.unwrap_or(DEFAULT_MIN_DAYS_LEFT),
                verify: raw.verify.unwrap_or(false),
            }),
        };
        let check = Check {
            id: raw.id,
            interval: raw.interval.unwrap_or(DEFAULT_INTERVAL),
            timeout: raw.timeout.unwrap_or(DEFAULT_TIMEOUT),
            probe,
        };
        check.validate()?;
        Ok(check)
    }
}

impl From<Check> for RawCheck {
    fn from(check: Check) -> Self {
        let kind = check.kind();
        let mut raw = RawCheck {
            id: check.id,
            kind: Some(kind),
            timeout: Some(check.timeout),
            interval: Some(check.interval),
            ..RawCheck::default()
        };
        match check.probe {
            Probe::Http(http) => {
                raw.url = Some(http.url);
                raw.method = Some(http.method);
                raw.expected_status = Some(http.expected_status);
                raw.body_contains = http.body_contains;
                raw.headers = (!http.headers.is_empty()).then_some(http.headers);
                raw.tls_insecure = http.tls_insecure.then_some(true);
            }
            Probe::Tcp(tcp) => raw.address = Some(tcp.address),
            Probe::Tls(tls) => {
                raw.address = Some(tls.address);
                raw.server_name = tls.server_name;
                raw.min_days_left = Some(tls.min_days_left);
                raw.verify = tls.verify.then_some(true);
            }
        }
        raw
    }
}
