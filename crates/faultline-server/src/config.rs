//! Configuration: command-line flags, then `FAULTLINE_*` environment
//! variables (clap reads both), then an optional TOML file, then the
//! embedded defaults. `faultline serve` with nothing set works.

use crate::ingest::rate_limit::{Rate, RateLimits};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use serde::Deserialize;

/// Flags of `faultline serve`. Every field is optional so that an unset
/// flag falls through to the file and then the default.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServeArgs {
    /// TOML configuration file.
    #[arg(long, env = "FAULTLINE_CONFIG")]
    pub config: Option<PathBuf>,
    /// OTLP/gRPC listen address, HOST:PORT (a host name is resolved)
    /// [default: 127.0.0.1:4317].
    #[arg(long, env = "FAULTLINE_OTLP_GRPC_ADDR", value_name = "HOST:PORT")]
    pub otlp_grpc_addr: Option<String>,
    /// OTLP/HTTP listen address, HOST:PORT [default: 127.0.0.1:4318].
    #[arg(long, env = "FAULTLINE_OTLP_HTTP_ADDR", value_name = "HOST:PORT")]
    pub otlp_http_addr: Option<String>,
    /// Query API and web page listen address, HOST:PORT [default: 127.0.0.1:8080].
    #[arg(long, env = "FAULTLINE_API_ADDR", value_name = "HOST:PORT")]
    pub api_addr: Option<String>,
    /// Where events, groups and the index are stored [default: ./faultline-data].
    #[arg(long, env = "FAULTLINE_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Store in PostgreSQL instead of the data directory:
    /// postgres://USER:PASSWORD@HOST:PORT/DB?sslmode=verify-full (several nodes may share one).
    #[arg(long = "store", env = "FAULTLINE_STORE", value_name = "URL")]
    pub store_url: Option<String>,
    /// Largest export accepted, in bytes, after decompression [default: 20971520].
    #[arg(long, env = "FAULTLINE_MAX_REQUEST_BYTES", value_name = "BYTES")]
    pub max_request_bytes: Option<usize>,
    /// Most attributes on one span or log record; more rejects the item [default: 128].
    #[arg(long, env = "FAULTLINE_MAX_ATTRIBUTES", value_name = "N")]
    pub max_attributes: Option<usize>,
    /// Longest string value kept, in bytes; longer ones are truncated [default: 32768].
    #[arg(long, env = "FAULTLINE_MAX_STRING_LEN", value_name = "BYTES")]
    pub max_string_len: Option<usize>,
    /// Exports waiting to be committed before new ones get "busy, retry" [default: 1024].
    #[arg(long, env = "FAULTLINE_QUEUE_DEPTH", value_name = "N")]
    pub queue_depth: Option<usize>,
    /// Request bytes of exports being received, decoded or committed at
    /// once; a new export past it gets "busy, retry" before it is decoded [default: 67108864].
    #[arg(long, env = "FAULTLINE_MAX_INFLIGHT_BYTES", value_name = "BYTES")]
    pub max_inflight_bytes: Option<u64>,
    /// Longest an export may wait for the committer; while the oldest
    /// waiting one is older, new exports get "busy, retry" [default: 2s].
    #[arg(long, env = "FAULTLINE_MAX_QUEUE_WAIT", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub max_queue_wait: Option<Duration>,
    /// Longest SIGTERM waits for open requests to finish before cutting
    /// them off (unacknowledged) and flushing what was acknowledged [default: 10s].
    #[arg(long, env = "FAULTLINE_SHUTDOWN_TIMEOUT", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub shutdown_timeout: Option<Duration>,
    /// Serve a listener on a non-loopback address with no token configured,
    /// so anyone who can reach it may send, read and change everything.
    #[arg(long)]
    pub allow_unauthenticated: bool,
    /// Serve TLS with this PEM certificate chain (with --tls-key); reloaded on SIGHUP.
    #[arg(long, env = "FAULTLINE_TLS_CERT", value_name = "PEM")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, env = "FAULTLINE_TLS_KEY", value_name = "PEM")]
    pub tls_key: Option<PathBuf>,
    /// Require OTLP clients to present a certificate signed by this PEM CA.
    #[arg(long, env = "FAULTLINE_TLS_CLIENT_CA", value_name = "PEM")]
    pub tls_client_ca: Option<PathBuf>,
}

/// The variable holding an admin token chosen by the operator (no flag:
/// a flag's value shows in `ps`).
pub const ADMIN_TOKEN_ENV: &str = "FAULTLINE_ADMIN_TOKEN";

/// The file's shape. Unknown keys are an error, so a typo is not ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    #[serde(default)]
    store: FileStore,
    #[serde(default)]
    listen: FileListen,
    #[serde(default)]
    limits: FileLimits,
    #[serde(default)]
    index: FileIndex,
    #[serde(default)]
    storage: FileStorage,
    #[serde(default)]
    grouping: faultline_grouping::GroupingConfig,
    #[serde(default)]
    health: FileHealth,
    #[serde(default)]
    checks: Vec<faultline_probe::Check>,
    #[serde(default)]
    alerts: crate::alerting::AlertsConfig,
    #[serde(default)]
    ui: crate::ui::UiConfig,
    #[serde(default)]
    auth: FileAuth,
    #[serde(default)]
    tls: FileTls,
    #[serde(default)]
    retention: FileRetention,
    #[serde(default)]
    sentry: crate::ingest::sentry_projects::SentryConfig,
}

/// `[tls]` in the file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTls {
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    client_ca: Option<PathBuf>,
    /// Per listener: false serves it in plain text although `cert` is set.
    otlp_grpc: Option<bool>,
    otlp_http: Option<bool>,
    api: Option<bool>,
}

/// `[retention]` in the file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRetention {
    #[serde(default, with = "faultline_model::duration::option")]
    events: Option<Duration>,
    #[serde(default, with = "faultline_model::duration::option")]
    groups: Option<Duration>,
    max_disk_bytes: Option<u64>,
}

/// `[auth]` in the file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileAuth {
    admin_token: Option<String>,
    #[serde(default)]
    allow_unauthenticated: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileHealth {
    #[serde(default, with = "faultline_model::duration::option")]
    rollup_after: Option<Duration>,
    #[serde(default, with = "faultline_model::duration::option")]
    retention: Option<Duration>,
    max_endpoints_per_service: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileListen {
    otlp_grpc: Option<String>,
    otlp_http: Option<String>,
    api: Option<String>,
    #[serde(default, with = "faultline_model::duration::option")]
    shutdown_timeout: Option<Duration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLimits {
    max_request_bytes: Option<usize>,
    max_attributes: Option<usize>,
    max_string_len: Option<usize>,
    max_span_events: Option<usize>,
    queue_depth: Option<usize>,
    max_inflight_bytes: Option<u64>,
    #[serde(default, with = "faultline_model::duration::option")]
    max_queue_wait: Option<Duration>,
    events_per_second_per_service: Option<f64>,
    events_burst_per_service: Option<f64>,
    events_per_second_per_token: Option<f64>,
    events_burst_per_token: Option<f64>,
    max_new_groups_per_service_per_hour: Option<u64>,
}

impl FileLimits {
    /// The fair-use rates; a burst defaults to ten seconds of its rate.
    fn rate_limits(&self) -> RateLimits {
        let rate = |per_second: Option<f64>, burst: Option<f64>| {
            per_second.map(|per_second| Rate {
                per_second,
                burst: burst.unwrap_or(per_second * DEFAULT_BURST_SECONDS),
            })
        };
        RateLimits {
            per_service: rate(self.events_per_second_per_service, self.events_burst_per_service),
            per_token: rate(self.events_per_second_per_token, self.events_burst_per_token),
        }
    }
}

/// A burst not configured holds this many seconds of its rate.
const DEFAULT_BURST_SECONDS: f64 = 10.0;
/// New groups per service per hour before new fingerprints join the
/// service's overflow group: far above what a real release brings, far
/// below what a fingerprint storm makes.
pub const DEFAULT_MAX_NEW_GROUPS_PER_SERVICE_PER_HOUR: u64 = 1000;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileIndex {
    #[serde(default, with = "faultline_model::duration::option")]
    commit_interval: Option<Duration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileStorage {
    sync: Option<FileSync>,
    /// sled's page cache in MiB.
    cache_mib: Option<u64>,
}

/// `[store]` in the file: which engine stores.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileStore {
    /// A `postgres://` URL: store in PostgreSQL. Absent: the data directory.
    url: Option<String>,
}

/// `storage.sync`: what a group commit waits for before acknowledging.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum FileSync {
    /// `fdatasync` after sled's flush: survives power loss (default).
    Fsync,
    /// sled's flush only: survives the process being killed.
    Flush,
}

/// The resolved configuration the server runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub otlp_grpc_addr: SocketAddr,
    pub otlp_http_addr: SocketAddr,
    pub api_addr: SocketAddr,
    pub data_dir: PathBuf,
    /// PostgreSQL store URL (`--store`, `FAULTLINE_STORE`, `store.url`);
    /// `None`: the embedded store in `data_dir`.
    pub store_url: Option<String>,
    pub max_request_bytes: usize,
    pub limits: faultline_otlp::Limits,
    pub queue_depth: usize,
    /// Request bytes of exports in flight before new ones are refused
    /// undecoded (`limits.max_inflight_bytes`).
    pub max_inflight_bytes: u64,
    /// Longest wait for the committer before new exports are refused
    /// undecoded (`limits.max_queue_wait`).
    pub max_queue_wait: Duration,
    /// How long SIGTERM waits for open requests before cutting them off
    /// (`listen.shutdown_timeout`).
    pub shutdown_timeout: Duration,
    /// Error events per second per service and per token (`limits.events_*`); unlimited by default.
    pub rate_limits: RateLimits,
    /// `limits.max_new_groups_per_service_per_hour`; 0 in the file is no cap.
    pub max_new_groups_per_service_per_hour: Option<u64>,
    pub index_commit_interval: Duration,
    /// What a group commit waits for before its exports are acknowledged (`storage.sync`).
    pub sync: faultline_store::SyncMode,
    /// sled's page cache in bytes (`storage.cache_mib`).
    pub cache_bytes: u64,
    /// Fingerprint rules (`[[grouping.rules]]`).
    pub grouping: faultline_grouping::GroupingConfig,
    /// Health figures: rollup, retention, cardinality (`[health]`).
    pub health: faultline_store::HealthOptions,
    /// How long events and groups are kept, and the disk quota (`[retention]`).
    pub retention: faultline_store::RetentionOptions,
    /// Active checks (`[[checks]]`).
    pub checks: Vec<faultline_probe::Check>,
    /// Alert rules and channels (`[alerts]`).
    pub alerts: crate::alerting::AlertsConfig,
    /// The web explorer (`[ui]`).
    pub ui: crate::ui::UiConfig,
    /// An admin token chosen by the operator (`FAULTLINE_ADMIN_TOKEN`,
    /// `auth.admin_token`): the way in before any token is stored.
    pub admin_token: Option<AdminToken>,
    /// `--allow-unauthenticated` / `auth.allow_unauthenticated`.
    pub allow_unauthenticated: bool,
    /// TLS on the listeners (`[tls]`, `--tls-cert`/`--tls-key`); None: plain text.
    pub tls: Option<crate::tls::TlsSettings>,
    /// Projects whose Sentry SDKs may send (`[[sentry.projects]]`).
    pub sentry: crate::ingest::sentry_projects::SentryConfig,
}

impl Config {
    /// The listeners on addresses other hosts can reach.
    pub fn exposed_listeners(&self) -> Vec<(&'static str, SocketAddr)> {
        [("OTLP/gRPC", self.otlp_grpc_addr), ("OTLP/HTTP", self.otlp_http_addr), ("API", self.api_addr)]
            .into_iter()
            .filter(|(_, addr)| !addr.ip().is_loopback())
            .collect()
    }
}

/// The configured admin token; its `Debug` does not show it, so it stays
/// out of any log of the configuration.
#[derive(Clone, PartialEq, Eq)]
pub struct AdminToken(String);

impl AdminToken {
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(<redacted>)")
    }
}

pub const DEFAULT_OTLP_GRPC: &str = "127.0.0.1:4317";
pub const DEFAULT_OTLP_HTTP: &str = "127.0.0.1:4318";
pub const DEFAULT_API: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "./faultline-data";
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 20 * 1024 * 1024;
pub const DEFAULT_QUEUE_DEPTH: usize = 1024;
/// A few dozen large exports: enough to keep both cores busy, small next
/// to the memory budget of a small server.
pub const DEFAULT_MAX_INFLIGHT_BYTES: u64 = 64 * 1024 * 1024;
/// Well under the 10 s an OTLP SDK waits by default, so a refused client
/// retries rather than times out.
pub const DEFAULT_MAX_QUEUE_WAIT: Duration = Duration::from_secs(2);
/// Long enough for every export already admitted (each waits at most
/// `max_queue_wait` for the committer) to be answered; short enough for a
/// service manager's stop timeout (systemd's default is 90 s).
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

impl Config {
    pub fn load(args: &ServeArgs) -> anyhow::Result<Config> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        Config::build(args, file, resolve_listen_addr)
    }

    /// A config file's text to a validated configuration, as `load` reads
    /// it with no flags set, except that host names in listen addresses are
    /// not looked up (see `offline_listen_addr`). For the fuzzer and its
    /// corpus replay, which must not wait on DNS for every input.
    #[doc(hidden)]
    pub fn from_toml_offline(text: &str) -> anyhow::Result<Config> {
        let file: FileConfig = toml::from_str(text).context("invalid config file")?;
        Config::build(&ServeArgs::default(), file, offline_listen_addr)
    }

    /// Flags over the file over the defaults, then validation; `resolve`
    /// turns a listen address setting into the address to bind.
    fn build(args: &ServeArgs, file: FileConfig, resolve: ResolveListen) -> anyhow::Result<Config> {
        let default_limits = faultline_otlp::Limits::default();
        let default_health = faultline_store::HealthOptions::default();
        let default_retention = faultline_store::RetentionOptions::default();
        let file_path = args.config.as_deref();
        let config = Config {
            otlp_grpc_addr: ListenSetting {
                flag: "--otlp-grpc-addr",
                env: "FAULTLINE_OTLP_GRPC_ADDR",
                file_key: "listen.otlp_grpc",
                default: DEFAULT_OTLP_GRPC,
            }
            .resolve(
                args.otlp_grpc_addr.as_deref(),
                file.listen.otlp_grpc.as_deref(),
                file_path,
                resolve,
            )?,
            otlp_http_addr: ListenSetting {
                flag: "--otlp-http-addr",
                env: "FAULTLINE_OTLP_HTTP_ADDR",
                file_key: "listen.otlp_http",
                default: DEFAULT_OTLP_HTTP,
            }
            .resolve(
                args.otlp_http_addr.as_deref(),
                file.listen.otlp_http.as_deref(),
                file_path,
                resolve,
            )?,
            api_addr: ListenSetting {
                flag: "--api-addr",
                env: "FAULTLINE_API_ADDR",
                file_key: "listen.api",
                default: DEFAULT_API,
            }
            .resolve(args.api_addr.as_deref(), file.listen.api.as_deref(), file_path, resolve)?,
            data_dir: pick(args.data_dir.clone(), file.data_dir, PathBuf::from(DEFAULT_DATA_DIR)),
            store_url: args.store_url.clone().or(file.store.url).filter(|u| !u.trim().is_empty()),
            max_request_bytes: pick(
                args.max_request_bytes,
                file.limits.max_request_bytes,
                DEFAULT_MAX_REQUEST_BYTES,
            ),
            limits: faultline_otlp::Limits {
                max_attributes: pick(
                    args.max_attributes,
                    file.limits.max_attributes,
                    default_limits.max_attributes,
                ),
                max_string_len: pick(
                    args.max_string_len,
                    file.limits.max_string_len,
                    default_limits.max_string_len,
                ),
                max_span_events: pick(None, file.limits.max_span_events, default_limits.max_span_events),
            },
            queue_depth: pick(args.queue_depth, file.limits.queue_depth, DEFAULT_QUEUE_DEPTH),
            max_inflight_bytes: pick(
                args.max_inflight_bytes,
                file.limits.max_inflight_bytes,
                DEFAULT_MAX_INFLIGHT_BYTES,
            ),
            max_queue_wait: pick(args.max_queue_wait, file.limits.max_queue_wait, DEFAULT_MAX_QUEUE_WAIT),
            shutdown_timeout: pick(
                args.shutdown_timeout,
                file.listen.shutdown_timeout,
                DEFAULT_SHUTDOWN_TIMEOUT,
            ),
            rate_limits: file.limits.rate_limits(),
            max_new_groups_per_service_per_hour: match file.limits.max_new_groups_per_service_per_hour {
                Some(0) => None,
                other => Some(other.unwrap_or(DEFAULT_MAX_NEW_GROUPS_PER_SERVICE_PER_HOUR)),
            },
            index_commit_interval: file.index.commit_interval.unwrap_or(Duration::from_millis(500)),
            sync: match file.storage.sync {
                None | Some(FileSync::Fsync) => faultline_store::SyncMode::Fsync,
                Some(FileSync::Flush) => faultline_store::SyncMode::Flush,
            },
            cache_bytes: file
                .storage
                .cache_mib
                .map_or(faultline_store::DEFAULT_CACHE_BYTES, |mib| mib.saturating_mul(1024 * 1024)),
            grouping: file.grouping,
            checks: file.checks,
            alerts: file.alerts,
            ui: file.ui.validated()?,
            admin_token: std::env::var(ADMIN_TOKEN_ENV)
                .ok()
                .filter(|t| !t.trim().is_empty())
                .or(file.auth.admin_token)
                .map(|t| AdminToken(t.trim().to_string())),
            allow_unauthenticated: args.allow_unauthenticated || file.auth.allow_unauthenticated,
            tls: tls_settings(args, file.tls, file_path)?,
            sentry: file.sentry,
            health: faultline_store::HealthOptions {
                rollup_after: file.health.rollup_after.unwrap_or(default_health.rollup_after),
                retention: file.health.retention.unwrap_or(default_health.retention),
                max_endpoints_per_service: file
                    .health
                    .max_endpoints_per_service
                    .unwrap_or(default_health.max_endpoints_per_service),
            },
            retention: faultline_store::RetentionOptions {
                events: file.retention.events.unwrap_or(default_retention.events),
                groups: file.retention.groups.unwrap_or(default_retention.groups),
                max_disk_bytes: file.retention.max_disk_bytes,
            },
        };
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if let Some(url) = &self.store_url {
            // Parsed, not connected: `config check` works without the database.
            faultline_store_postgres::tls::parse(url)
                .map_err(|e| anyhow::anyhow!("store.url (--store, FAULTLINE_STORE): {e}"))?;
        }
        if self.max_request_bytes < 1024 {
            bail!("max_request_bytes must be at least 1024, got {}", self.max_request_bytes);
        }
        if self.cache_bytes < 8 * 1024 * 1024 {
            bail!("storage.cache_mib must be at least 8, got {}", self.cache_bytes / (1024 * 1024));
        }
        if self.queue_depth == 0 {
            bail!("queue_depth must be at least 1");
        }
        if self.max_inflight_bytes == 0 {
            bail!("max_inflight_bytes must be at least 1");
        }
        for (name, rate) in [("service", self.rate_limits.per_service), ("token", self.rate_limits.per_token)]
        {
            if let Some(rate) = rate {
                if !(rate.per_second.is_finite() && rate.per_second > 0.0) {
                    bail!("limits.events_per_second_per_{name} must be above 0, got {}", rate.per_second);
                }
                if !(rate.burst.is_finite() && rate.burst >= 1.0) {
                    bail!("limits.events_burst_per_{name} must be at least 1, got {}", rate.burst);
                }
            }
        }
        if self.max_queue_wait < Duration::from_millis(10) {
            bail!("max_queue_wait must be at least 10ms");
        }
        if self.limits.max_string_len < 64 {
            bail!("max_string_len must be at least 64, got {}", self.limits.max_string_len);
        }
        if self.health.rollup_after < Duration::from_secs(3600) {
            bail!("health.rollup_after must be at least 1h");
        }
        if self.health.retention < self.health.rollup_after {
            bail!("health.retention must be at least health.rollup_after");
        }
        if self.health.max_endpoints_per_service == 0 {
            bail!("health.max_endpoints_per_service must be at least 1");
        }
        self.validate_retention()?;
        self.alerts.validate().context("invalid [alerts] in the config file")?;
        faultline_probe::validate_all(&self.checks).context("invalid [[checks]] in the config file")?;
        self.grouping.validate().context("invalid [grouping] rules in the config file")?;
        self.sentry.validate().context("invalid [[sentry.projects]] in the config file")?;
        if let Some(AdminToken(token)) = &self.admin_token {
            let min = crate::auth::tokens::MIN_CONFIGURED_LEN;
            if token.chars().count() < min {
                bail!(
                    "the admin token ({ADMIN_TOKEN_ENV} or auth.admin_token) must be at least {min} characters, \
                     got {}; for example: openssl rand -hex 32",
                    token.chars().count()
                );
            }
        }
        if self.index_commit_interval < Duration::from_millis(10)
            || self.index_commit_interval > Duration::from_secs(60)
        {
            bail!("index.commit_interval must be between 10ms and 60s");
        }
        Ok(())
    }
}

/// `[tls]` and the `--tls-*` flags: both or neither of certificate and
/// key; a client CA only with them. The files are read when serving starts.
fn tls_settings(
    args: &ServeArgs,
    file: FileTls,
    file_path: Option<&Path>,
) -> anyhow::Result<Option<crate::tls::TlsSettings>> {
    let in_file = file_path.map(|p| format!(" in {}", p.display())).unwrap_or_default();
    let cert = args.tls_cert.clone().or(file.cert);
    let key = args.tls_key.clone().or(file.key);
    let client_ca = args.tls_client_ca.clone().or(file.client_ca);
    let (cert, key) = match (cert, key) {
        (Some(cert), Some(key)) => (cert, key),
        (None, None) => {
            if client_ca.is_some() {
                bail!(
                    "tls.client_ca{in_file} (or --tls-client-ca) needs a server certificate too: \
                     set tls.cert and tls.key (--tls-cert, --tls-key)"
                );
            }
            return Ok(None);
        }
        (Some(_), None) => bail!("tls.cert{in_file} (or --tls-cert) is set but tls.key (--tls-key) is not"),
        (None, Some(_)) => bail!("tls.key{in_file} (or --tls-key) is set but tls.cert (--tls-cert) is not"),
    };
    Ok(Some(crate::tls::TlsSettings {
        files: faultline_tls::server::ServerTlsFiles { cert, key, client_ca },
        otlp_grpc: file.otlp_grpc.unwrap_or(true),
        otlp_http: file.otlp_http.unwrap_or(true),
        api: file.api.unwrap_or(true),
    }))
}

impl Config {
    /// Short settings are allowed (tests use seconds); nonsense is not.
    fn validate_retention(&self) -> anyhow::Result<()> {
        let r = &self.retention;
        if r.events < Duration::from_secs(1) {
            bail!("retention.events must be at least 1s");
        }
        if r.groups < r.events {
            bail!(
                "retention.groups ({}) must be at least retention.events ({}): a group outlives its events",
                humantime::format_duration(r.groups),
                humantime::format_duration(r.events)
            );
        }
        if let Some(max) = r.max_disk_bytes {
            if max < MIN_DISK_QUOTA {
                bail!(
                    "retention.max_disk_bytes must be at least {MIN_DISK_QUOTA} (16 MiB), got {max}: \
                     the store and index need room for their own files"
                );
            }
        }
        Ok(())
    }
}

/// The smallest disk quota: below it the store's and index's own files
/// would leave no room for events.
const MIN_DISK_QUOTA: u64 = 16 * 1024 * 1024;

fn pick<T>(flag_or_env: Option<T>, file: Option<T>, default: T) -> T {
    flag_or_env.or(file).unwrap_or(default)
}

/// One listen address: where it can be set, so that a bad value is
/// reported with the place it came from.
struct ListenSetting {
    flag: &'static str,
    env: &'static str,
    file_key: &'static str,
    default: &'static str,
}

impl ListenSetting {
    fn resolve(
        &self,
        flag_or_env: Option<&str>,
        file: Option<&str>,
        file_path: Option<&Path>,
        resolve: ResolveListen,
    ) -> anyhow::Result<SocketAddr> {
        let (value, origin) = match (flag_or_env, file) {
            (Some(v), _) => (v, self.flag_or_env_origin(v)),
            (None, Some(v)) => {
                let path = file_path.map(|p| p.display().to_string()).unwrap_or_default();
                (v, format!("{} in {path}", self.file_key))
            }
            (None, None) => (self.default, "the default".to_string()),
        };
        resolve(value).with_context(|| format!("invalid value '{value}' for {origin}"))
    }

    /// clap takes the flag before the variable; when the variable holds
    /// this very value, it is the likelier place the user will look.
    fn flag_or_env_origin(&self, value: &str) -> String {
        match std::env::var(self.env) {
            Ok(env) if env == value => self.env.to_string(),
            _ => self.flag.to_string(),
        }
    }
}

/// How a listen address setting becomes the address to bind.
type ResolveListen = fn(&str) -> anyhow::Result<SocketAddr>;

/// A listen address setting of the right shape: an address, or a host
/// name still to be resolved and its port.
enum ListenAddr<'a> {
    Literal(SocketAddr),
    Host { host: &'a str, port: u16 },
}

/// Checks the shape of `HOST:PORT` without resolving anything.
fn parse_listen_addr(value: &str) -> anyhow::Result<ListenAddr<'_>> {
    if let Ok(addr) = value.parse::<SocketAddr>() {
        return Ok(ListenAddr::Literal(addr));
    }
    let Some((host, port)) = value.rsplit_once(':') else {
        bail!("expected HOST:PORT, for example 127.0.0.1:8080 or localhost:8080");
    };
    match port.parse::<u16>() {
        Ok(port) if !host.is_empty() => Ok(ListenAddr::Host { host, port }),
        _ => bail!("expected HOST:PORT with a port from 0 to 65535, for example 127.0.0.1:8080"),
    }
}

/// `HOST:PORT` to one address to bind. A host name is resolved; of its
/// addresses IPv4 comes first, so `localhost:8080` answers on 127.0.0.1
/// as most clients expect.
fn resolve_listen_addr(value: &str) -> anyhow::Result<SocketAddr> {
    let host = match parse_listen_addr(value)? {
        ListenAddr::Literal(addr) => return Ok(addr),
        ListenAddr::Host { host, .. } => host,
    };
    let addrs: Vec<SocketAddr> =
        value.to_socket_addrs().with_context(|| format!("cannot resolve the host name {host:?}"))?.collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
        .with_context(|| format!("the host name {host:?} has no address"))
}

/// `HOST:PORT` checked like [`resolve_listen_addr`] but with any host name
/// standing for loopback: a fuzzer would otherwise ask DNS for every name
/// it makes up, and measure the resolver rather than the parser.
fn offline_listen_addr(value: &str) -> anyhow::Result<SocketAddr> {
    match parse_listen_addr(value)? {
        ListenAddr::Literal(addr) => Ok(addr),
        ListenAddr::Host { port, .. } => Ok(SocketAddr::from(([127, 0, 0, 1], port))),
    }
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn offline_parsing_checks_listen_addresses_without_resolving_them() {
        let c = Config::from_toml_offline("[listen]\napi = \"no-such-host.invalid:9000\"\n").unwrap();
        assert_eq!(c.api_addr.to_string(), "127.0.0.1:9000");
        assert!(Config::from_toml_offline("[listen]\napi = \"no-port\"\n").is_err());
        assert!(Config::from_toml_offline("[listen]\napi = \":80\"\n").is_err());
        assert!(Config::from_toml_offline("nonsense = 1\n").is_err(), "unknown keys still refused");
    }

    #[test]
    fn defaults_need_nothing() {
        let c = Config::load(&ServeArgs::default()).unwrap();
        assert_eq!(c.otlp_grpc_addr.to_string(), DEFAULT_OTLP_GRPC);
        assert_eq!(c.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
        assert_eq!(c.max_request_bytes, 20 * 1024 * 1024);
    }

    #[test]
    fn fair_use_is_unlimited_by_default_with_a_new_group_cap() {
        let c = Config::load(&ServeArgs::default()).unwrap();
        assert_eq!(c.rate_limits, RateLimits::default());
        assert_eq!(c.max_new_groups_per_service_per_hour, Some(DEFAULT_MAX_NEW_GROUPS_PER_SERVICE_PER_HOUR));
    }

    #[test]
    fn fair_use_limits_from_the_file() {
        let dir = std::env::temp_dir().join(format!("faultline-config-fair-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f.toml");
        let args = ServeArgs { config: Some(path.clone()), ..Default::default() };
        std::fs::write(
            &path,
            "[limits]\nevents_per_second_per_service = 50\nevents_per_second_per_token = 20\n\
             events_burst_per_token = 30\nmax_new_groups_per_service_per_hour = 0\n",
        )
        .unwrap();
        let c = Config::load(&args).unwrap();
        assert_eq!(c.rate_limits.per_service, Some(Rate { per_second: 50.0, burst: 500.0 }));
        assert_eq!(c.rate_limits.per_token, Some(Rate { per_second: 20.0, burst: 30.0 }));
        assert_eq!(c.max_new_groups_per_service_per_hour, None, "0 is no cap");
        std::fs::write(&path, "[limits]\nevents_per_second_per_service = 0\n").unwrap();
        let err = format!("{:#}", Config::load(&args).unwrap_err());
        assert!(err.contains("events_per_second_per_service"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn shutdown_timeout_from_flag_file_or_default() {
        assert_eq!(Config::from_toml_offline("").unwrap().shutdown_timeout, DEFAULT_SHUTDOWN_TIMEOUT);
        let file = Config::from_toml_offline("[listen]\nshutdown_timeout = \"30s\"\n").unwrap();
        assert_eq!(file.shutdown_timeout, Duration::from_secs(30));
        let args = ServeArgs { shutdown_timeout: Some(Duration::from_secs(2)), ..Default::default() };
        let toml = toml::from_str("[listen]\nshutdown_timeout = \"30s\"\n").unwrap();
        let flag = Config::build(&args, toml, offline_listen_addr).unwrap();
        assert_eq!(flag.shutdown_timeout, Duration::from_secs(2), "the flag wins");
        let err = format!("{:#}", Config::from_toml_offline("[listen]\nshutdown_timeout = 5\n").unwrap_err());
        assert!(err.contains("shutdown_timeout"), "{err}");
    }

    #[test]
    fn flags_beat_file_beats_default() {
        let dir = std::env::temp_dir().join(format!("faultline-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f.toml");
        std::fs::write(
            &path,
            "data_dir = \"/from/file\"\n[listen]\napi = \"127.0.0.1:9999\"\n[limits]\nqueue_depth = 7\n",
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(path.clone()),
            data_dir: Some("/from/flag".into()),
            ..Default::default()
        };
        let c = Config::load(&args).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/from/flag"));
        assert_eq!(c.api_addr.to_string(), "127.0.0.1:9999");
        assert_eq!(c.queue_depth, 7);
        std::fs::write(&path, "[limits]\nqueue_dept = 7\n").unwrap();
        let err = format!("{:#}", Config::load(&args).unwrap_err());
        assert!(err.contains("unknown field `queue_dept`"), "{err}");
        std::fs::write(&path, "[limits]\nqueue_depth = 0\n").unwrap();
        assert!(format!("{:#}", Config::load(&args).unwrap_err()).contains("queue_depth"));
        std::fs::write(&path, "[listen]\napi = \"nowhere\"\n").unwrap();
        let err = format!("{:#}", Config::load(&args).unwrap_err());
        assert!(err.contains("listen.api in ") && err.contains("HOST:PORT"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn storage_sync_defaults_to_fsync() {
        use faultline_store::SyncMode;
        assert_eq!(Config::load(&ServeArgs::default()).unwrap().sync, SyncMode::Fsync);
        let dir = std::env::temp_dir().join(format!("faultline-config-sync-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f.toml");
        let args = ServeArgs { config: Some(path.clone()), ..Default::default() };
        std::fs::write(&path, "[storage]\nsync = \"flush\"\n").unwrap();
        assert_eq!(Config::load(&args).unwrap().sync, SyncMode::Flush);
        std::fs::write(&path, "[storage]\nsync = \"fsync\"\n").unwrap();
        assert_eq!(Config::load(&args).unwrap().sync, SyncMode::Fsync);
        std::fs::write(&path, "[storage]\nsync = \"never\"\n").unwrap();
        let err = format!("{:#}", Config::load(&args).unwrap_err());
        assert!(err.contains("fsync") && err.contains("flush"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn storage_cache_is_sized_in_mib_with_a_floor() {
        let defaults = Config::load(&ServeArgs::default()).unwrap();
        assert_eq!(defaults.cache_bytes, faultline_store::DEFAULT_CACHE_BYTES);
        let dir = std::env::temp_dir().join(format!("faultline-config-cache-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f.toml");
        let args = ServeArgs { config: Some(path.clone()), ..Default::default() };
        std::fs::write(&path, "[storage]\ncache_mib = 64\n").unwrap();
        assert_eq!(Config::load(&args).unwrap().cache_bytes, 64 * 1024 * 1024);
        std::fs::write(&path, "[storage]\ncache_mib = 2\n").unwrap();
        let err = format!("{:#}", Config::load(&args).unwrap_err());
        assert!(err.contains("storage.cache_mib") && err.contains("at least 8"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn tls_needs_certificate_and_key_together() {
        let dir = std::env::temp_dir().join(format!("faultline-config-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f.toml");
        let args = ServeArgs { config: Some(path.clone()), ..Default::default() };
        std::fs::write(&path, "").unwrap();
        assert_eq!(Config::load(&args).unwrap().tls, None);
        std::fs::write(&path, "[tls]\ncert = \"c.pem\"\nkey = \"k.pem\"\napi = false\n").unwrap();
        let tls = Config::load(&args).unwrap().tls.unwrap();
        assert_eq!(tls.files.cert, PathBuf::from("c.pem"));
        assert!(tls.otlp_grpc && tls.otlp_http && !tls.api);
        assert_eq!(tls.files.client_ca, None);
        let flag = ServeArgs { tls_cert: Some("flag.pem".into()), ..args.clone() };
        assert_eq!(Config::load(&flag).unwrap().tls.unwrap().files.cert, PathBuf::from("flag.pem"));
        std::fs::write(&path, "[tls]\ncert = \"c.pem\"\n").unwrap();
        let err = format!("{:#}", Config::load(&args).unwrap_err());
        assert!(err.contains("tls.cert in ") && err.contains("tls.key"), "{err}");
        std::fs::write(&path, "[tls]\nclient_ca = \"ca.pem\"\n").unwrap();
        let err = format!("{:#}", Config::load(&args).unwrap_err());
        assert!(err.contains("tls.client_ca in ") && err.contains("tls.cert"), "{err}");
        std::fs::write(&path, "[tls]\ncertificate = \"c.pem\"\n").unwrap();
        let err = format!("{:#}", Config::load(&args).unwrap_err());
        assert!(err.contains("unknown field `certificate`"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn retention_has_defaults_and_refuses_nonsense() {
        let dir = std::env::temp_dir().join(format!("faultline-config-retention-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f.toml");
        let load = |text: &str| {
            std::fs::write(&path, text).unwrap();
            Config::load(&ServeArgs { config: Some(path.clone()), ..Default::default() })
        };
        let defaults = load("").unwrap().retention;
        assert_eq!(defaults.events, Duration::from_secs(30 * 24 * 3600));
        assert_eq!(defaults.groups, Duration::from_secs(90 * 24 * 3600));
        assert_eq!(defaults.max_disk_bytes, None);
        let set =
            load("[retention]\nevents = \"2s\"\ngroups = \"1h\"\nmax_disk_bytes = 1073741824\n").unwrap();
        assert_eq!(set.retention.events, Duration::from_secs(2));
        assert_eq!(set.retention.max_disk_bytes, Some(1 << 30));
        let err = format!("{:#}", load("[retention]\nevents = \"7d\"\ngroups = \"1d\"\n").unwrap_err());
        assert!(err.contains("retention.groups") && err.contains("at least retention.events"), "{err}");
        let err = format!("{:#}", load("[retention]\nmax_disk_bytes = 1000\n").unwrap_err());
        assert!(err.contains("retention.max_disk_bytes"), "{err}");
        assert!(load("[retention]\nevent = \"1d\"\n").is_err(), "a typo is an error");
    }

    #[test]
    fn listen_addresses_take_host_names() {
        assert_eq!(resolve_listen_addr("localhost:8081").unwrap().to_string(), "127.0.0.1:8081");
        assert_eq!(resolve_listen_addr("[::1]:9").unwrap().to_string(), "[::1]:9");
        assert_eq!(resolve_listen_addr("0.0.0.0:4317").unwrap().to_string(), "0.0.0.0:4317");
        for bad in ["localhost", "localhost:http", ":80", "localhost:70000"] {
            assert!(resolve_listen_addr(bad).is_err(), "{bad}");
        }
        let args = ServeArgs { api_addr: Some("no-such-host.invalid:80".into()), ..Default::default() };
        let err = format!("{:#}", Config::load(&args).unwrap_err());
        assert!(err.contains("for --api-addr") && err.contains("cannot resolve"), "{err}");
    }
}
