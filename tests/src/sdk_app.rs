//! Running an instrumented app written for another language's OTel SDK
//! (tests/sdk/*) against a server, configured only through the standard
//! `OTEL_*` variables.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{Server, TempDir};

/// How to start one app.
pub struct App<'a> {
    /// `app.py`, for messages.
    pub label: &'a str,
    pub program: PathBuf,
    pub args: &'a [&'a str],
    pub dir: PathBuf,
    /// Variables of the caller's environment that could redirect it
    /// besides `OTEL_*` (`PYTHONPATH`, `NODE_OPTIONS`).
    pub clear_env: &'a [&'a str],
    pub extra_env: &'a [(&'a str, &'a str)],
    /// Text in stderr meaning the SDK is not installed, and what to say then.
    pub missing_sdk: (&'a str, &'a str),
}

const TIMEOUT: Duration = Duration::from_secs(120);

/// Runs the app against `server` over `protocol` (`grpc` or
/// `http/protobuf`); fails with its output unless it printed `sent` and
/// exited 0.
pub fn run(app: &App, server: &Server, protocol: &str, service: &str, resource: &str) {
    let (stdout, stderr) = run_output(app, server, protocol, service, resource);
    assert_eq!(stdout.trim(), "sent", "{} over {protocol}; stderr:\n{stderr}", app.label);
}

/// Runs the app like [`run`]; fails with its output unless it exited 0,
/// and returns its stdout and stderr.
pub fn run_output(
    app: &App,
    server: &Server,
    protocol: &str,
    service: &str,
    resource: &str,
) -> (String, String) {
    let endpoint = match protocol {
        "grpc" => server.grpc_endpoint(),
        _ => server.http_url(""),
    };
    let label = app.label;
    let out = TempDir::new("sdk-app-out");
    let (stdout_path, stderr_path) = (out.path().join("stdout"), out.path().join("stderr"));
    let mut command = Command::new(&app.program);
    command.args(app.args).current_dir(&app.dir);
    // Nothing from the caller's environment may redirect the exporters.
    for (name, _) in std::env::vars_os() {
        let text = name.to_string_lossy();
        if text.starts_with("OTEL_") || app.clear_env.contains(&text.as_ref()) {
            command.env_remove(name);
        }
    }
    for (name, value) in app.extra_env {
        command.env(name, value);
    }
    let mut child = command
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
        .env("OTEL_SERVICE_NAME", service)
        .env("OTEL_RESOURCE_ATTRIBUTES", resource)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {label}: {e}"));
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = std::fs::read_to_string(&stdout_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    let (marker, hint) = app.missing_sdk;
    let hint = if stderr.contains(marker) { format!("\n({hint})") } else { String::new() };
    match status {
        Some(status) if status.success() => {}
        Some(status) => {
            panic!("{label} over {protocol} exited {status}{hint}\nstdout:\n{stdout}\nstderr:\n{stderr}")
        }
        None => panic!(
            "{label} over {protocol} did not finish in {} s\nstdout:\n{stdout}\nstderr:\n{stderr}",
            TIMEOUT.as_secs()
        ),
    }
    (stdout, stderr)
}
