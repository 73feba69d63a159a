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

/// A Python program using the pinned OpenTelemetry SDK's OTLP span
/// exporter, configured only by `OTEL_*` variables (headers included):
/// `SPANS` error spans, one export each (SimpleSpanProcessor), with the
/// exporter's timeout `EXPORT_TIMEOUT` seconds. Prints `sent` when every
/// export succeeded, otherwise `refused: ` and the results.
const PYTHON_ERROR_SPANS: &str = r#"
import os
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.trace import Status, StatusCode
if os.environ["OTEL_EXPORTER_OTLP_PROTOCOL"] == "grpc":
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
else:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
spans = int(os.environ["SPANS"])
results = []
class Recording(OTLPSpanExporter):
    def export(self, batch):
        result = super().export(batch)
        results.append(result)
        return result
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(Recording(timeout=int(os.environ["EXPORT_TIMEOUT"]))))
tracer = provider.get_tracer("faultline-tests")
for i in range(spans):
    with tracer.start_as_current_span("POST /pay") as span:
        try:
            raise KeyError("card")
        except KeyError as e:
            span.record_exception(e)
            span.set_status(Status(StatusCode.ERROR, "card"))
provider.shutdown()
print("sent" if results == [SpanExportResult.SUCCESS] * spans else f"refused: {results}")
"#;

/// Sends `spans` error spans (a `KeyError` on `POST /pay`) for service
/// `checkout` from the Python SDK in target/sdk-venv over `protocol`, with
/// `OTEL_EXPORTER_OTLP_HEADERS=headers`; returns what it printed (`sent`,
/// or `refused: …`).
pub fn python_error_spans(
    server: &Server,
    protocol: &str,
    headers: &str,
    spans: u32,
    timeout_secs: u32,
) -> String {
    let workspace = crate::workspace();
    let python = workspace.join("target/sdk-venv/bin/python");
    assert!(python.exists(), "{} missing: run scripts/test (it installs the SDK)", python.display());
    let (spans, timeout) = (spans.to_string(), timeout_secs.to_string());
    let extra = [
        ("OTEL_EXPORTER_OTLP_HEADERS", headers),
        ("PYTHONDONTWRITEBYTECODE", "1"),
        ("SPANS", spans.as_str()),
        ("EXPORT_TIMEOUT", timeout.as_str()),
    ];
    let app = App {
        label: "python exporter",
        program: python,
        args: &["-B", "-c", PYTHON_ERROR_SPANS],
        dir: workspace,
        clear_env: &["PYTHONPATH"],
        extra_env: &extra,
        missing_sdk: ("ModuleNotFoundError", "the SDK is not installed in target/sdk-venv: run scripts/test"),
    };
    let (out, _) = run_output(&app, server, protocol, "checkout", "deployment.environment.name=prod");
    out.trim().to_string()
}

/// The Python interpreter of target/sdk-venv; fails (never skips) when it
/// is not installed.
pub fn python() -> PathBuf {
    let python = crate::workspace().join("target/sdk-venv/bin/python");
    assert!(
        python.exists(),
        "{} does not exist: run scripts/test, which creates the venv and installs \
         tests/sdk/python/requirements.txt (the OpenTelemetry Python SDK these tests drive)",
        python.display()
    );
    python
}

/// tests/sdk/python/app.py, the shop on the OpenTelemetry Python SDK.
pub fn python_shop() -> App<'static> {
    App {
        label: "app.py",
        program: python(),
        args: &["-B", "app.py"],
        dir: crate::workspace().join("tests/sdk/python"),
        clear_env: &["PYTHONPATH"],
        extra_env: &[("PYTHONDONTWRITEBYTECODE", "1")],
        missing_sdk: ("ModuleNotFoundError", "the SDK is not installed in target/sdk-venv: run scripts/test"),
    }
}

/// tests/sdk/node/app.js, the shop on the OpenTelemetry JS SDK; fails
/// (never skips) when Node or the app's dependencies are missing.
pub fn node_shop() -> App<'static> {
    let version = Command::new("node").arg("--version").output();
    assert!(
        version.as_ref().is_ok_and(|o| o.status.success()),
        "`node --version` failed ({version:?}): these tests need Node.js on PATH; install it, \
         then run scripts/test, which also runs `npm ci` in tests/sdk/node"
    );
    let dir = crate::workspace().join("tests/sdk/node");
    let sdk = dir.join("node_modules/@opentelemetry/sdk-trace-node/package.json");
    assert!(
        sdk.exists(),
        "{} does not exist: run scripts/test, which runs `npm ci` in tests/sdk/node \
         (the OpenTelemetry JS SDK these tests drive)",
        sdk.display()
    );
    App {
        label: "app.js",
        program: "node".into(),
        args: &["app.js"],
        dir,
        clear_env: &["NODE_OPTIONS"],
        extra_env: &[],
        missing_sdk: (
            "Cannot find module",
            "the JS SDK is not installed in tests/sdk/node/node_modules: run scripts/test",
        ),
    }
}
