//! The command line, and the checked configuration it becomes.

use std::time::Duration;

use clap::Parser;

use crate::client::Protocol;
use crate::payload::PayloadSpec;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ArgsError(String);

impl Config {
    /// What `run` relies on of a `Config` built by hand rather than by
    /// [`Args::into_config`]: something to send to, and templates to send.
    pub fn check(&self) -> Result<(), ArgsError> {
        if self.endpoints.is_empty() || self.clients == 0 || self.templates == 0 {
            return Err(ArgsError("a run needs an endpoint, a client and a template".into()));
        }
        Ok(())
    }
}

/// Sends OTLP traces to Faultline (or any OTLP receiver) at a chosen rate,
/// with a share of failing spans in a long tail of failure kinds, and
/// reports what was acknowledged, refused and how fast.
#[derive(Debug, Clone, Parser)]
#[command(name = "faultline-loadgen", version)]
pub struct Args {
    /// OTLP endpoint; repeat to spread clients over several. Default
    /// http://127.0.0.1:4317 for grpc, http://127.0.0.1:4318 for http.
    #[arg(long = "endpoint")]
    pub endpoints: Vec<String>,
    #[arg(long, value_enum, default_value = "grpc")]
    pub protocol: Protocol,
    /// Compress exports with gzip (costs the generator CPU on every export).
    #[arg(long)]
    pub gzip: bool,
    /// Concurrent clients, each with its own connection and one export in flight.
    #[arg(long, default_value_t = 4)]
    pub clients: usize,
    #[arg(long, default_value_t = 512)]
    pub spans_per_export: usize,
    /// Target spans per second over all clients; without it, as fast as acks allow.
    #[arg(long)]
    pub rate: Option<f64>,
    /// How long to send (e.g. 30s, 2m). Default 10s unless --exports is given.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    /// Stop after this many exports in total (with --duration, whichever comes first).
    #[arg(long)]
    pub exports: Option<u64>,
    /// Share of spans that fail: exception event with a Python stack trace, status ERROR, HTTP 500.
    #[arg(long, default_value_t = 0.01)]
    pub error_ratio: f64,
    #[arg(long, default_value_t = 5)]
    pub services: usize,
    /// Routes (endpoints) per service.
    #[arg(long, default_value_t = 20)]
    pub routes: usize,
    /// Distinct failure kinds (fingerprints), drawn with a Zipf-like long tail.
    #[arg(long, default_value_t = 200)]
    pub kinds: usize,
    /// Zipf exponent of the kinds: 0 is uniform, higher is a shorter head.
    #[arg(long, default_value_t = 1.1)]
    pub zipf_exponent: f64,
    /// Frames per stack trace.
    #[arg(long, default_value_t = 12)]
    pub stack_depth: usize,
    #[arg(long, default_value_t = 8)]
    pub span_attributes: usize,
    /// Resource attributes (at least 2: service.name and loadgen.run).
    #[arg(long, default_value_t = 5)]
    pub resource_attributes: usize,
    /// Pre-built export templates per client (variety of kinds and services).
    #[arg(long, default_value_t = 4)]
    pub templates: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Tag for this run's events (resource attribute loadgen.run); default from the seed and the clock.
    #[arg(long)]
    pub run_id: Option<String>,
    /// Retries of one export after a retryable refusal.
    #[arg(long, default_value_t = 5)]
    pub max_retries: u32,
    #[arg(long, value_parser = humantime::parse_duration, default_value = "200ms")]
    pub initial_backoff: Duration,
    #[arg(long, value_parser = humantime::parse_duration, default_value = "5s")]
    pub max_backoff: Duration,
    /// Timeout of one attempt.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10s")]
    pub timeout: Duration,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// At the end, check through the API that acked error events equal stored ones.
    #[arg(long)]
    pub verify: bool,
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub api: String,
    /// How long --verify waits for the index to catch up.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "60s")]
    pub verify_timeout: Duration,
    /// Also report this process's CPU time (the server's pid).
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Access token for a server that requires one: sent with every export
    /// (`authorization: Bearer`, gRPC metadata or HTTP header; an ingest
    /// token) and with --verify's API calls (a read token). One token for
    /// both, so an admin token, or an ingest token without --verify.
    #[arg(long, env = "FAULTLINE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

/// A run's settings, checked.
#[derive(Debug, Clone)]
pub struct Config {
    pub endpoints: Vec<String>,
    pub protocol: Protocol,
    pub gzip: bool,
    pub clients: usize,
    pub rate: Option<f64>,
    pub duration: Option<Duration>,
    pub exports: Option<u64>,
    pub templates: usize,
    pub seed: u64,
    pub payload: PayloadSpec,
    pub retry: RetryPolicy,
    pub timeout: Duration,
    pub server_pid: Option<u32>,
    /// The access token exports carry (`--token`).
    pub token: Option<String>,
}

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_retries: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl Args {
    pub fn into_config(self) -> Result<Config, ArgsError> {
        let fail = |m: &str| Err(ArgsError(m.to_string()));
        if self.clients == 0 {
            return fail("--clients must be at least 1");
        }
        if self.spans_per_export == 0 {
            return fail("--spans-per-export must be at least 1");
        }
        if !(0.0..=1.0).contains(&self.error_ratio) {
            return fail("--error-ratio must be between 0 and 1");
        }
        if self.rate.is_some_and(|r| !r.is_finite() || r <= 0.0) {
            return fail("--rate must be a positive number of spans per second");
        }
        if !self.zipf_exponent.is_finite() || self.zipf_exponent < 0.0 {
            return fail("--zipf-exponent must be 0 or more");
        }
        if self.services == 0 || self.routes == 0 || self.kinds == 0 || self.templates == 0 {
            return fail("--services, --routes, --kinds and --templates must be at least 1");
        }
        if self.token.as_deref().is_some_and(|t| crate::client::bearer(t).is_none()) {
            return fail("--token must be printable ASCII (it is sent as a header)");
        }
        if self.exports == Some(0) || self.duration == Some(Duration::ZERO) {
            return fail("--exports and --duration must be more than 0");
        }
        let run_id = match self.run_id {
            Some(id) if !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric()) => id,
            Some(_) => {
                return fail("--run-id must be letters and digits (it is searched as loadgen.run:<id>)")
            }
            None => default_run_id(self.seed),
        };
        let endpoints = if self.endpoints.is_empty() {
            vec![match self.protocol {
                Protocol::Grpc => "http://127.0.0.1:4317".to_string(),
                Protocol::Http => "http://127.0.0.1:4318".to_string(),
            }]
        } else {
            self.endpoints
        };
        // Neither limit given: a short run rather than one that never ends.
        let duration = match (self.duration, self.exports) {
            (None, None) => Some(Duration::from_secs(10)),
            (d, _) => d,
        };
        Ok(Config {
            endpoints,
            protocol: self.protocol,
            gzip: self.gzip,
            clients: self.clients,
            rate: self.rate,
            duration,
            exports: self.exports,
            templates: self.templates,
            seed: self.seed,
            payload: PayloadSpec {
                spans_per_export: self.spans_per_export,
                error_ratio: self.error_ratio,
                services: self.services,
                routes: self.routes,
                kinds: self.kinds,
                zipf_exponent: self.zipf_exponent,
                stack_depth: self.stack_depth,
                span_attributes: self.span_attributes,
                resource_attributes: self.resource_attributes,
                run_id,
            },
            retry: RetryPolicy {
                max_retries: self.max_retries,
                initial_backoff: self.initial_backoff,
                max_backoff: self.max_backoff.max(self.initial_backoff),
            },
            timeout: self.timeout,
            server_pid: self.server_pid,
            token: self.token.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()),
        })
    }
}

/// `lg` and 12 hex digits from the seed and the clock: a run id that does
/// not collide with an earlier run against the same server.
fn default_run_id(seed: u64) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut rng = crate::rng::Rng::stream(seed, nanos);
    format!("lg{:012x}", rng.next_u64() >> 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, ArgsError> {
        Args::try_parse_from(std::iter::once("faultline-loadgen").chain(args.iter().copied()))
            .map_err(|e| ArgsError(e.to_string()))?
            .into_config()
    }

    #[test]
    fn defaults_are_the_issue_s_payload_shape() {
        let c = parse(&[]).expect("defaults");
        assert_eq!(c.payload.spans_per_export, 512);
        assert_eq!(c.payload.span_attributes, 8);
        assert_eq!(c.payload.resource_attributes, 5);
        assert_eq!(c.endpoints, vec!["http://127.0.0.1:4317"]);
        assert_eq!(c.duration, Some(Duration::from_secs(10)));
        assert!(c.payload.run_id.starts_with("lg"));
    }

    #[test]
    fn http_default_endpoint_and_exports_without_duration() {
        let c = parse(&["--protocol", "http", "--exports", "20", "--duration", "3s"]).expect("http");
        assert_eq!(c.endpoints, vec!["http://127.0.0.1:4318"]);
        assert_eq!(c.exports, Some(20));
        let c = parse(&["--exports", "20"]).expect("exports only");
        assert_eq!(c.duration, None);
    }

    #[test]
    fn rejects_nonsense() {
        assert!(parse(&["--error-ratio", "1.5"]).is_err());
        assert!(parse(&["--clients", "0"]).is_err());
        assert!(parse(&["--rate", "-3"]).is_err());
        assert!(parse(&["--run-id", "a b"]).is_err());
        assert!(parse(&["--exports", "0"]).is_err());
        assert!(parse(&["--token", "a\u{7}b"]).is_err());
    }

    #[test]
    fn the_token_is_kept_trimmed() {
        assert_eq!(parse(&["--token", " fl_abc "]).expect("token").token.as_deref(), Some("fl_abc"));
        assert_eq!(parse(&["--token", ""]).expect("empty").token, None);
    }
}
