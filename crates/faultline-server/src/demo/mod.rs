//! `faultline demo`: the real server (the same `server::serve` as
//! `faultline serve`) on a throw-away data directory, with a few alert
//! rules, driven over real OTLP/HTTP by a made-up shop of four services in
//! four languages, so a newcomer sees a populated product in one command.
//!
//! - `scenario`: the shop (services, routes, failures, the story);
//! - `stacks`: stack traces as Python, Java, Node.js and Go print them;
//! - `traffic`: history and live requests, deploys, the resolved issue;
//! - `otlp`: building exports and posting them to the OTLP/HTTP receiver;
//! - `api`: what the demo does through the JSON API;
//! - `rng`: the random numbers behind it.

mod api;
mod otlp;
mod rng;
mod scenario;
mod stacks;
mod traffic;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::{oneshot, watch};

use crate::alerting::AlertsConfig;
use crate::config::{Config, ServeArgs};
use crate::server::Listening;

/// Flags of `faultline demo`. No environment variables: a
/// `FAULTLINE_DATA_DIR` meant for the real server must not receive the
/// demo's made-up data.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Keep the demo's data here (created if missing, kept on exit)
    /// [default: a temporary directory, removed on exit].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Stop after this long (e.g. `10m`) [default: until Ctrl-C or SIGTERM].
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    /// Time between two simulated deploys (a new release of every service).
    #[arg(long, value_name = "DURATION", value_parser = parse_deploy_every, default_value = "2m")]
    pub deploy_every: Duration,
    /// OTLP/gRPC listen address, HOST:PORT [default: 127.0.0.1:4317].
    #[arg(long, value_name = "HOST:PORT")]
    pub otlp_grpc_addr: Option<String>,
    /// OTLP/HTTP listen address, HOST:PORT; the demo's traffic goes there [default: 127.0.0.1:4318].
    #[arg(long, value_name = "HOST:PORT")]
    pub otlp_http_addr: Option<String>,
    /// Query API and web page listen address, HOST:PORT [default: 127.0.0.1:8080].
    #[arg(long, value_name = "HOST:PORT")]
    pub api_addr: Option<String>,
    /// Serve a listener on a non-loopback address with no token configured.
    #[arg(long)]
    pub allow_unauthenticated: bool,
}

fn parse_deploy_every(text: &str) -> Result<Duration, String> {
    let every = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if every < Duration::from_secs(1) {
        return Err("must be at least 1s".into());
    }
    Ok(every)
}

/// The demo's alert rules: every kind the story triggers, and no channel,
/// so nothing leaves the machine; alerts show on the Alerts page and at
/// `GET /api/v1/alerts`.
const DEMO_ALERTS: &str = r#"
[[rules]]
id = "demo-new-issues"
name = "New issue"
kind = "new_group"

[[rules]]
id = "demo-regressions"
name = "Regression"
kind = "regression"

[[rules]]
id = "demo-error-rate"
name = "Error rate"
kind = "error_rate"
route = "/*"
window = "1m"
min_requests = 20
warning = 0.08
critical = 0.25

[[rules]]
id = "demo-slow-search"
name = "Slow search"
kind = "latency"
service = "frontend"
route = "/search"
percentile = "p95"
window = "2m"
threshold_ms = { warning = 400, critical = 900 }
"#;

fn demo_alerts() -> anyhow::Result<AlertsConfig> {
    let alerts: AlertsConfig = toml::from_str(DEMO_ALERTS).context("the demo's alert rules")?;
    alerts.validate().context("the demo's alert rules")?;
    Ok(alerts)
}

pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    crate::server::init_logging()?;
    let (data_dir, temporary) = match &args.data_dir {
        Some(dir) => (dir.clone(), None),
        None => {
            let temporary = TempDataDir::create()?;
            (temporary.0.clone(), Some(temporary))
        }
    };
    let serve_args = ServeArgs {
        data_dir: Some(data_dir.clone()),
        otlp_grpc_addr: args.otlp_grpc_addr.clone(),
        otlp_http_addr: args.otlp_http_addr.clone(),
        api_addr: args.api_addr.clone(),
        allow_unauthenticated: args.allow_unauthenticated,
        ..ServeArgs::default()
    };
    let mut config = Config::load(&serve_args)?;
    config.alerts = demo_alerts()?;
    let token = config.admin_token.as_ref().map(|t| t.secret().to_string());
    match &temporary {
        Some(_) => println!("Demo data in {} (removed on exit)", data_dir.display()),
        None => println!("Demo data in {} (kept on exit)", data_dir.display()),
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let result = runtime.block_on(demo(config, token, &args));
    drop(runtime);
    drop(temporary);
    result
}

/// Starts the server, sends the traffic, and stops both on Ctrl-C,
/// SIGTERM or the end of `--duration`.
async fn demo(config: Config, token: Option<String>, args: &DemoArgs) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let (ready_tx, ready_rx) = oneshot::channel();
    let mut server_stop = stop_rx.clone();
    let stopped = async move {
        let _ = server_stop.wait_for(|stop| *stop).await;
    };
    let mut server = tokio::spawn(crate::server::serve(config, stopped, Some(ready_tx)));
    let Ok(listening) = ready_rx.await else {
        // The server ended before it was ready: its error says why.
        server.await??;
        anyhow::bail!("the server stopped before it was ready");
    };
    let mut traffic = tokio::spawn(drive(listening, token, args.deploy_every, stop_rx));
    let until_stopped = async {
        match args.duration {
            Some(duration) => {
                tokio::select! {
                    _ = crate::server::shutdown_signal() => {}
                    _ = tokio::time::sleep(duration) => {}
                }
            }
            None => crate::server::shutdown_signal().await,
        }
    };
    tokio::select! {
        _ = until_stopped => {}
        result = &mut server => {
            // The server stopped on its own: an error, which ends the demo.
            traffic.abort();
            return result?.and(Err(anyhow::anyhow!("the server stopped unexpectedly")));
        }
        result = &mut traffic => {
            if let Ok(Err(e)) = result {
                tracing::error!("demo traffic failed: {e:#}");
            }
        }
    }
    let _ = stop_tx.send(true);
    // Live traffic stops at once; the history may be mid-way: cut it short.
    if tokio::time::timeout(Duration::from_secs(5), &mut traffic).await.is_err() {
        traffic.abort();
    }
    server.await??;
    println!("Faultline demo stopped");
    Ok(())
}

/// The traffic: the history first, then live until told to stop.
async fn drive(
    listening: Listening,
    token: Option<String>,
    deploy_every: Duration,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let exporter = otlp::Exporter::new(reachable(listening.otlp_http), token.clone())?;
    let api = api::Api::new(reachable(listening.api), token)?;
    let mut traffic = traffic::Traffic::new(exporter, api, deploy_every);
    let started = std::time::Instant::now();
    traffic.seed_history().await.context("cannot send the demo's history")?;
    tracing::info!(
        "demo: {} of history sent in {:.1}s",
        humantime::format_duration(traffic::HISTORY),
        started.elapsed().as_secs_f64()
    );
    println!("Faultline demo running: open http://{}/ (Ctrl-C to stop)", reachable(listening.api));
    traffic.run_live(stop).await;
    Ok(())
}

/// The address to connect to for a listener: a wildcard address (0.0.0.0,
/// ::) is reached on loopback.
fn reachable(addr: SocketAddr) -> SocketAddr {
    if !addr.ip().is_unspecified() {
        return addr;
    }
    let loopback: std::net::IpAddr = if addr.is_ipv4() {
        std::net::Ipv4Addr::LOCALHOST.into()
    } else {
        std::net::Ipv6Addr::LOCALHOST.into()
    };
    SocketAddr::new(loopback, addr.port())
}

/// A data directory of its own under the system's temporary directory,
/// removed when dropped.
struct TempDataDir(PathBuf);

impl TempDataDir {
    fn create() -> anyhow::Result<TempDataDir> {
        let mut bytes = [0u8; 6];
        getrandom::fill(&mut bytes)
            .map_err(|e| anyhow::anyhow!("no randomness for a directory name: {e}"))?;
        let name = format!("faultline-demo-{}-{}", std::process::id(), hex(&bytes));
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir(&path).with_context(|| format!("cannot create {}", path.display()))?;
        Ok(TempDataDir(path))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Drop for TempDataDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            eprintln!("cannot remove the demo's data in {}: {e}", self.0.display());
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_demo_alert_rules_are_valid() {
        let alerts = demo_alerts().expect("valid");
        assert_eq!(alerts.rules.len(), 4);
        assert!(alerts.channels.is_empty(), "nothing leaves the machine");
    }
}
