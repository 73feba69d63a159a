//! Access tokens against the real binary: the CLI creates the first token
//! on an open loopback server, after which the API, /metrics, OTLP/HTTP and
//! OTLP/gRPC want one (401 / UNAUTHENTICATED without, 403 /
//! PERMISSION_DENIED without the scope or for a service the token is not
//! pinned to); real SDKs send tokens set in `OTEL_EXPORTER_OTLP_HEADERS`
//! (Python, Node) or as tonic metadata (Rust), and a revoked token stops working
//! at once; a listener on a non-loopback address without any token refuses
//! to start unless `--allow-unauthenticated`.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use faultline_tests::sdk_app::{self, App};
use faultline_tests::{binary, free_port, workspace, Server, TempDir};
use serde_json::{json, Value};

/// Runs a client command against `server` with `FAULTLINE_TOKEN` set to `token` (or unset).
fn cli(server: &Server, token: Option<&str>, args: &[&str]) -> Output {
    let mut command = Command::new(binary());
    command.args(args).env("FAULTLINE_SERVER", server.api_url("")).env_remove("FAULTLINE_TOKEN");
    if let Some(token) = token {
        command.env("FAULTLINE_TOKEN", token);
    }
    command.output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `faultline token create`; the secret is stdout.
fn create_token(server: &Server, with: Option<&str>, name: &str, scope: &str, services: &[&str]) -> String {
    let mut args = vec!["token", "create", "--name", name, "--scope", scope];
    for s in services {
        args.extend(["--service", s]);
    }
    let out = cli(server, with, &args);
    assert!(out.status.success(), "token create: {}", stderr(&out));
    let secret = stdout(&out).trim().to_string();
    assert!(secret.starts_with("fl_") && secret.len() == 67, "{secret:?}");
    secret
}

/// GET with an optional bearer token: status, `WWW-Authenticate` and JSON body.
fn get(server: &Server, path: &str, token: Option<&str>) -> (u16, Option<String>, Value) {
    let mut request = reqwest::blocking::Client::new().get(server.api_url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().unwrap();
    let status = response.status().as_u16();
    let challenge =
        response.headers().get("www-authenticate").map(|v| v.to_str().unwrap_or_default().to_string());
    let text = response.text().unwrap();
    (status, challenge, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Events stored, read with `token`, once the index caught up.
fn stored_events(server: &Server, token: &str) -> u64 {
    std::thread::sleep(Duration::from_millis(700));
    let (status, _, body) = get(server, "/api/v1/search?q=&limit=1", Some(token));
    assert_eq!(status, 200, "{body}");
    body["total"].as_u64().unwrap()
}

fn wait_events(server: &Server, token: &str, want: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, _, body) = get(server, "/api/v1/search?q=&limit=1", Some(token));
        if body["total"].as_u64() == Some(want) {
            return;
        }
        assert!(Instant::now() < deadline, "waiting for {want} events; last answer {body}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// An OTLP/HTTP traces export (JSON, so the `google.rpc.Status` of a
/// refusal is readable here) of one exception for `service`, with `headers`.
fn post_traces(server: &Server, service: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut request = reqwest::blocking::Client::new()
        .post(server.http_url("/v1/traces"))
        .header("content-type", "application/json");
    let json_body = json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
        "scopeSpans": [{"spans": [{
            "traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331",
            "name": "POST /pay", "kind": 2,
            "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000000100000000",
            "status": {"code": 2, "message": "boom"},
            "events": [{"name": "exception", "timeUnixNano": "1700000000050000000", "attributes": [
                {"key": "exception.type", "value": {"stringValue": "KeyError"}},
                {"key": "exception.message", "value": {"stringValue": "'card'"}}
            ]}]
        }]}]
    }]});
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.body(json_body.to_string()).send().unwrap();
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

#[test]
fn auth_cli_creates_the_first_token_then_the_api_and_otlp_http_want_one() {
    let server = Server::start();
    // No token yet: loopback stays open, as before tokens existed.
    assert_eq!(get(&server, "/api/v1/groups", None).0, 200);
    assert_eq!(post_traces(&server, "checkout", &[]).0, 200);

    let admin = create_token(&server, None, "ops", "admin", &[]);
    let (status, challenge, body) = get(&server, "/api/v1/groups", None);
    assert_eq!((status, challenge.as_deref()), (401, Some("Bearer")), "{body}");
    assert!(body["error"].as_str().unwrap().contains("requires a token"), "{body}");
    assert_eq!(get(&server, "/api/v1/groups", Some("fl_wrong")).0, 401);
    assert_eq!(get(&server, "/api/v1/groups", Some(&admin)).0, 200);
    // Probes stay open; /metrics wants a read token.
    assert_eq!(reqwest::blocking::get(server.api_url("/healthz")).unwrap().status(), 200);
    assert_eq!(reqwest::blocking::get(server.api_url("/readyz")).unwrap().status(), 200);
    assert_eq!(get(&server, "/metrics", None).0, 401);

    let read = create_token(&server, Some(&admin), "dashboards", "read", &[]);
    let ingest = create_token(&server, Some(&admin), "checkout-prod", "ingest", &["checkout"]);
    assert_eq!(get(&server, "/metrics", Some(&read)).0, 200);
    // Ingest tokens cannot read; read tokens cannot change anything.
    let (status, _, body) = get(&server, "/api/v1/groups", Some(&ingest));
    assert_eq!(status, 403, "{body}");
    let out = cli(&server, Some(&read), &["token", "create", "--name", "x", "--scope", "admin"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("403"), "{}", stderr(&out));

    // The CLI sends FAULTLINE_TOKEN; without it, it says what to do.
    let out = cli(&server, Some(&read), &["groups", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = cli(&server, None, &["groups"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("FAULTLINE_TOKEN"), "{}", stderr(&out));
    let out = cli(&server, None, &["search", "KeyError", "--token", &read]);
    assert!(out.status.success(), "{}", stderr(&out));
    // --token is global: before the command too.
    let out = cli(&server, None, &["--token", &read, "groups", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));

    // The listing shows no secret and no hash.
    let (_, _, list) = get(&server, "/api/v1/tokens", Some(&admin));
    let names: Vec<&str> =
        list["tokens"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 3, "{list}");
    for secret in [&admin, &read, &ingest] {
        assert!(!list.to_string().contains(&secret[3..]), "{list}");
    }
    assert!(list.to_string().contains("\"services\":[\"checkout\"]"), "{list}");

    // OTLP/HTTP: 401 with a google.rpc.Status before the body is read,
    // 403 for another service of a pinned token; both headers work.
    let (status, body) = post_traces(&server, "checkout", &[]);
    assert_eq!((status, body["code"].as_i64()), (401, Some(16)), "{body}");
    let (status, body) = post_traces(&server, "checkout", &[("authorization", "Bearer fl_nope")]);
    assert_eq!((status, body["code"].as_i64()), (401, Some(16)), "{body}");
    let (status, body) = post_traces(&server, "checkout", &[("authorization", &format!("Bearer {read}"))]);
    assert_eq!((status, body["code"].as_i64()), (403, Some(7)), "{body}");
    let (status, body) = post_traces(&server, "cart", &[("authorization", &format!("Bearer {ingest}"))]);
    assert_eq!((status, body["code"].as_i64()), (403, Some(7)), "{body}");
    assert!(body["message"].as_str().unwrap().contains("\"cart\""), "{body}");
    assert_eq!(post_traces(&server, "checkout", &[("x-faultline-token", &ingest)]).0, 200);
    assert_eq!(post_traces(&server, "checkout", &[("authorization", &format!("Bearer {admin}"))]).0, 200);
    wait_events(&server, &read, 3);

    // Revoked: refused on the very next request.
    let id = list["tokens"].as_array().unwrap().iter().find(|t| t["name"] == "checkout-prod").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let out = cli(&server, Some(&admin), &["token", "revoke", &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(post_traces(&server, "checkout", &[("x-faultline-token", &ingest)]).0, 401);
    let out = cli(&server, Some(&admin), &["token", "list"]);
    assert!(
        stdout(&out).contains("dashboards") && !stdout(&out).contains("checkout-prod"),
        "{}",
        stdout(&out)
    );
    assert_eq!(stored_events(&server, &read), 3);
}

/// Runs the Python SDK's exporter with `OTEL_EXPORTER_OTLP_HEADERS=headers`; "sent" or "refused".
fn python_export(server: &Server, protocol: &str, headers: &str) -> String {
    let out = sdk_app::python_error_spans(server, protocol, headers, 1, 5);
    if out.starts_with("refused") {
        "refused".to_string()
    } else {
        out
    }
}

#[test]
fn auth_python_sdk_sends_the_token_from_otel_exporter_otlp_headers() {
    let server = Server::start();
    let admin = create_token(&server, None, "ops", "admin", &[]);
    let ingest = create_token(&server, Some(&admin), "checkout", "ingest", &["checkout"]);
    let other = create_token(&server, Some(&admin), "billing", "ingest", &["billing"]);
    let mut stored = 0;
    for protocol in ["grpc", "http/protobuf"] {
        // The SDKs URL-decode the value: %20 is the space after Bearer.
        assert_eq!(python_export(&server, protocol, &format!("authorization=Bearer%20{ingest}")), "sent");
        assert_eq!(python_export(&server, protocol, &format!("x-faultline-token={ingest}")), "sent");
        stored += 2;
        wait_events(&server, &admin, stored);
        assert_eq!(
            python_export(&server, protocol, "authorization=Bearer%20fl_wrong"),
            "refused",
            "{protocol}"
        );
        assert_eq!(python_export(&server, protocol, ""), "refused", "{protocol}");
        assert_eq!(python_export(&server, protocol, &format!("authorization=Bearer%20{other}")), "refused");
        assert_eq!(stored_events(&server, &admin), stored, "{protocol}: refused exports stored nothing");
    }
    let (_, _, list) = get(&server, "/api/v1/tokens", Some(&admin));
    let id = list["tokens"].as_array().unwrap().iter().find(|t| t["name"] == "checkout").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(cli(&server, Some(&admin), &["token", "revoke", &id]).status.code(), Some(0));
    for protocol in ["grpc", "http/protobuf"] {
        assert_eq!(python_export(&server, protocol, &format!("authorization=Bearer%20{ingest}")), "refused");
    }
    assert_eq!(stored_events(&server, &admin), stored);
}

/// A Node program using the pinned OpenTelemetry JS SDK's OTLP trace
/// exporter, configured only by `OTEL_*` variables (headers included);
/// prints the export result.
const NODE_EXPORT: &str = r#"
const { SpanStatusCode } = require('@opentelemetry/api');
const { defaultResource, detectResources, envDetector } = require('@opentelemetry/resources');
const { BasicTracerProvider, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const grpc = process.env.OTEL_EXPORTER_OTLP_PROTOCOL === 'grpc';
const { OTLPTraceExporter } = require(grpc ? '@opentelemetry/exporter-trace-otlp-grpc' : '@opentelemetry/exporter-trace-otlp-proto');
const inner = new OTLPTraceExporter();
const results = [];
const exporter = {
  export(spans, done) { inner.export(spans, (r) => { results.push(r.code); done(r); }); },
  shutdown: () => inner.shutdown(),
  forceFlush: () => inner.forceFlush(),
};
const resource = defaultResource().merge(detectResources({ detectors: [envDetector] }));
const provider = new BasicTracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor(exporter)] });
const span = provider.getTracer('auth-test').startSpan('POST /pay');
span.recordException(new TypeError('card'));
span.setStatus({ code: SpanStatusCode.ERROR, message: 'card' });
span.end();
// A refused export rejects the flush too; the result below says so.
provider.forceFlush().catch(() => {}).then(() => provider.shutdown()).then(() => {
  console.log(results.length === 1 && results[0] === 0 ? 'sent' : 'refused');
});
"#;

/// Runs the Node exporter with `OTEL_EXPORTER_OTLP_HEADERS=headers`; "sent" or "refused".
fn node_export(server: &Server, protocol: &str, headers: &str) -> String {
    let dir = workspace().join("tests/sdk/node");
    assert!(
        dir.join("node_modules/@opentelemetry/sdk-trace-base").exists(),
        "tests/sdk/node/node_modules is missing: run scripts/test (it runs npm ci there)"
    );
    let extra = [("OTEL_EXPORTER_OTLP_HEADERS", headers)];
    let app = App {
        label: "node exporter",
        program: "node".into(),
        args: &["-e", NODE_EXPORT],
        dir,
        clear_env: &["NODE_OPTIONS"],
        extra_env: &extra,
        missing_sdk: ("Cannot find module", "the JS SDK is not installed in tests/sdk/node/node_modules"),
    };
    let (out, _) =
        sdk_app::run_output(&app, server, protocol, "checkout", "deployment.environment.name=prod");
    out.trim().to_string()
}

#[test]
fn auth_node_sdk_sends_the_token_from_otel_exporter_otlp_headers() {
    let server = Server::start();
    let admin = create_token(&server, None, "ops", "admin", &[]);
    let ingest = create_token(&server, Some(&admin), "checkout", "ingest", &["checkout"]);
    let mut stored = 0;
    for protocol in ["grpc", "http/protobuf"] {
        assert_eq!(node_export(&server, protocol, &format!("authorization=Bearer%20{ingest}")), "sent");
        stored += 1;
        wait_events(&server, &admin, stored);
        assert_eq!(
            node_export(&server, protocol, "authorization=Bearer%20fl_wrong"),
            "refused",
            "{protocol}"
        );
        assert_eq!(stored_events(&server, &admin), stored, "{protocol}: the refused export stored nothing");
    }
}

/// The refusals of one reason on `/metrics`.
fn refused(server: &Server, token: &str, reason: &str) -> u64 {
    let response =
        reqwest::blocking::Client::new().get(server.api_url("/metrics")).bearer_auth(token).send().unwrap();
    let text = response.text().unwrap();
    let line = format!("faultline_exports_refused_total{{reason=\"{reason}\"}} ");
    text.lines().find_map(|l| l.strip_prefix(&line)).and_then(|n| n.trim().parse().ok()).unwrap_or(0)
}

/// Exports one error span with the Rust SDK over gRPC with `metadata`.
fn rust_export(server: &Server, token: Option<&str>) {
    use opentelemetry::trace::{Span as _, Status, Tracer as _, TracerProvider as _};
    use opentelemetry_otlp::{WithExportConfig, WithTonicConfig};
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _guard = runtime.enter();
    let mut metadata = tonic::metadata::MetadataMap::new();
    if let Some(token) = token {
        metadata.insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(server.grpc_endpoint())
        .with_metadata(metadata)
        .build()
        .unwrap();
    let resource = opentelemetry_sdk::Resource::builder().with_service_name("rust-svc").build();
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build();
    let tracer = provider.tracer("auth-test");
    let mut span = tracer.start("GET /x");
    span.add_event(
        "exception",
        vec![
            opentelemetry::KeyValue::new("exception.type", "IOError"),
            opentelemetry::KeyValue::new("exception.message", "disk"),
        ],
    );
    span.set_status(Status::error("disk"));
    span.end();
    let _ = provider.force_flush();
    let _ = provider.shutdown();
}

#[test]
fn auth_rust_sdk_sends_the_token_as_grpc_metadata() {
    let dir = TempDir::new("auth-config");
    let admin = "an-operator-chosen-admin-token-of-40-chars";
    let config = dir.path().join("faultline.toml");
    std::fs::write(&config, format!("[auth]\nadmin_token = \"{admin}\"\n")).unwrap();
    let server = Server::start_with(&["--config", config.to_str().unwrap()]);
    // The configured admin token works before any token is stored.
    assert_eq!(get(&server, "/api/v1/groups", None).0, 401);
    assert_eq!(get(&server, "/api/v1/groups", Some(admin)).0, 200);
    let ingest = create_token(&server, Some(admin), "rust", "ingest", &[]);

    rust_export(&server, Some(&ingest));
    wait_events(&server, admin, 1);
    rust_export(&server, Some("fl_wrong"));
    rust_export(&server, None);
    assert_eq!(refused(&server, admin, "unauthenticated"), 2);
    assert_eq!(stored_events(&server, admin), 1);
}

/// Starts `faultline serve` with the API on 0.0.0.0 and `extra` flags; the
/// exit status and stderr if it exits within a few seconds, else None
/// (it is serving; stopped here).
fn serve_on_all_addresses(
    extra: &[&str],
    env: &[(&str, &str)],
) -> (Option<std::process::ExitStatus>, String, u16) {
    let dir = TempDir::new("auth-bind");
    let api_port = free_port();
    let log = dir.path().join("stderr");
    let mut child = Command::new(binary())
        .arg("serve")
        .args(["--api-addr", &format!("0.0.0.0:{api_port}")])
        .args(["--otlp-grpc-addr", &format!("127.0.0.1:{}", free_port())])
        .args(["--otlp-http-addr", &format!("127.0.0.1:{}", free_port())])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(extra)
        .env_remove("FAULTLINE_ADMIN_TOKEN")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        let ready = reqwest::blocking::get(format!("http://127.0.0.1:{api_port}/readyz"))
            .is_ok_and(|r| r.status().is_success());
        if ready || Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (status, std::fs::read_to_string(&log).unwrap_or_default(), api_port)
}

#[test]
fn auth_refuses_to_serve_a_non_loopback_listener_without_tokens() {
    let (status, stderr, port) = serve_on_all_addresses(&[], &[]);
    let status = status.expect("faultline served 0.0.0.0 without any token");
    assert!(!status.success());
    assert!(
        stderr.contains(&format!("API on 0.0.0.0:{port}"))
            && stderr.contains("FAULTLINE_ADMIN_TOKEN")
            && stderr.contains("--allow-unauthenticated"),
        "{stderr}"
    );
    let (status, stderr, _) = serve_on_all_addresses(&["--allow-unauthenticated"], &[]);
    assert_eq!(status, None, "{stderr}");
    let token = ("FAULTLINE_ADMIN_TOKEN", "0123456789abcdef0123456789abcdef0123456789");
    let (status, stderr, _) = serve_on_all_addresses(&[], &[token]);
    assert_eq!(status, None, "{stderr}");
    let (status, stderr, _) = serve_on_all_addresses(&[], &[("FAULTLINE_ADMIN_TOKEN", "too-short")]);
    assert!(status.is_some_and(|s| !s.success()), "{stderr}");
    assert!(stderr.contains("at least 32 characters"), "{stderr}");
}
