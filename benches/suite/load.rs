//! One load phase: the load generator's run against the server, then its
//! acked == stored check, which must hold (the suite stops loudly if not).

use std::time::Duration;

use clap::Parser;
use faultline_loadgen::{decode::DecodeRate, Args, Config, Report};
use faultline_tests::Server;

/// What a phase offers.
#[derive(Debug, Clone)]
pub struct Load {
    pub error_ratio: f64,
    pub clients: usize,
    /// Spans per second over all clients; `None`: as fast as acks allow.
    pub rate: Option<f64>,
    pub duration: Duration,
    /// Stop after this many exports (with the duration, whichever first).
    pub exports: Option<u64>,
    pub spans_per_export: usize,
    /// Pre-built exports per client (fewer for many clients: less memory).
    pub templates: usize,
}

impl Load {
    pub fn new(error_ratio: f64, duration: Duration) -> Load {
        Load {
            error_ratio,
            clients: 16,
            rate: None,
            duration,
            exports: None,
            spans_per_export: 512,
            templates: 4,
        }
    }
}

/// The load generator's configuration for `load` against `server`. Each
/// phase has its own seed: the same seed would send the same span ids again.
pub fn config(server: &Server, load: &Load, seed: u64) -> Config {
    let mut args = vec![
        "faultline-loadgen".to_string(),
        "--endpoint".into(),
        server.grpc_endpoint(),
        "--api".into(),
        server.api_url(""),
        "--clients".into(),
        load.clients.to_string(),
        "--error-ratio".into(),
        load.error_ratio.to_string(),
        "--spans-per-export".into(),
        load.spans_per_export.to_string(),
        "--duration".into(),
        format!("{}ms", load.duration.as_millis()),
        "--templates".into(),
        load.templates.to_string(),
        "--seed".into(),
        seed.to_string(),
    ];
    if let Some(rate) = load.rate {
        args.extend(["--rate".into(), format!("{rate:.0}")]);
    }
    if let Some(exports) = load.exports {
        args.extend(["--exports".into(), exports.to_string()]);
    }
    if let Some(pid) = server.pid() {
        args.extend(["--server-pid".into(), pid.to_string()]);
    }
    Args::try_parse_from(args).unwrap().into_config().unwrap()
}

/// Runs `config`, prints its report, and checks through the search API
/// that every acknowledged error event is stored; panics when not.
pub fn run(rt: &tokio::runtime::Runtime, server: &Server, name: &str, config: &Config) -> Report {
    let mut report = rt.block_on(faultline_loadgen::run(config)).unwrap();
    let verification = rt
        .block_on(faultline_loadgen::verify(
            &server.api_url(""),
            &report.run_id,
            report.error_events_acked,
            Duration::from_secs(180),
            config.token.as_deref(),
        ))
        .unwrap();
    report.verify = Some(verification.clone());
    println!("--- {name}");
    for line in report.table().lines() {
        println!("    {line}");
    }
    assert!(
        verification.matched,
        "{name}: acked {} error events but {} are stored",
        verification.acked, verification.stored
    );
    report
}

/// prost decode alone of the payloads `config` sends (the templates of its
/// first clients), on one thread of this process.
pub fn decode_rate(config: &Config) -> DecodeRate {
    let mut templates = Vec::new();
    for client in 0..config.clients.min(4) {
        templates.extend(faultline_loadgen::templates_for(config, client).unwrap());
    }
    faultline_loadgen::decode::decode_rate(&templates, Duration::from_secs(2)).unwrap()
}

/// Server CPU seconds of a report (0 when /proc could not be read).
pub fn server_cpu(report: &Report) -> f64 {
    report.server_cpu_s.unwrap_or(0.0)
}
