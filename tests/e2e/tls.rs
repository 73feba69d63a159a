//! TLS on the real binary's three listeners, from PEM files made by a CA
//! of the test's own: the Rust SDK exports over gRPC with TLS, OTLP/HTTP
//! and the API answer over HTTPS, plain text is refused, SIGHUP swaps the
//! certificate (and keeps the old one when the new file is bad), and a
//! client CA makes the OTLP listeners, not the API, require a client
//! certificate.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use faultline_tests::otlp::{exception_span, traces_request};
use faultline_tests::tls::{handshake, Issued, TestCa};
use faultline_tests::{wait_until, Server, TempDir};
use opentelemetry::trace::{Span as _, Status, Tracer as _, TracerProvider as _};
use opentelemetry::KeyValue;
use opentelemetry_otlp::{WithExportConfig, WithTonicConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;
use prost::Message;

/// Exports one ERROR span named `message` with the Rust SDK over gRPC
/// with TLS, trusting `ca_pem`, presenting `identity` if given.
fn export_with_sdk(server: &Server, ca_pem: &str, identity: Option<&Issued>, message: &str) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _guard = runtime.enter();
    let mut tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(ca_pem))
        .domain_name("localhost");
    if let Some(identity) = identity {
        tls = tls.identity(tonic::transport::Identity::from_pem(&identity.cert_pem, &identity.key_pem));
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(server.grpc_endpoint())
        .with_tls_config(tls)
        .build()
        .unwrap();
    let resource = opentelemetry_sdk::Resource::builder().with_service_name("tls-sdk").build();
    let provider =
        SdkTracerProvider::builder().with_simple_exporter(exporter).with_resource(resource).build();
    let tracer = provider.tracer("faultline-tests");
    let mut span = tracer.start("GET /tls");
    span.add_event(
        "exception",
        vec![
            KeyValue::new("exception.type", "TlsError"),
            KeyValue::new("exception.message", message.to_string()),
        ],
    );
    span.set_status(Status::error(message.to_string()));
    span.end();
    provider.shutdown().unwrap();
}

/// Events whose text matches `word`, as the API counts them.
fn count(server: &Server, word: &str) -> u64 {
    server.get(&format!("/api/v1/search?q={word}"))["total"].as_u64().unwrap()
}

/// POSTs one error span over OTLP/HTTP with `client`; the status, or the
/// transport error's text.
fn post_export(client: &reqwest::blocking::Client, url: &str, message: &str) -> Result<u16, String> {
    let body = traces_request("tls-http", vec![exception_span("POST /tls", "TlsError", message, vec![])]);
    client
        .post(url)
        .header("content-type", "application/x-protobuf")
        .body(body.encode_to_vec())
        .send()
        .map(|r| r.status().as_u16())
        .map_err(|e| format!("{e:?}"))
}

fn client_trusting(ca_pem: &str, identity: Option<&Issued>) -> reqwest::blocking::Client {
    let mut builder = reqwest::blocking::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap())
        .timeout(Duration::from_secs(10));
    if let Some(identity) = identity {
        builder = builder.identity(reqwest::Identity::from_pem(identity.identity_pem().as_bytes()).unwrap());
    }
    builder.build().unwrap()
}

fn hangup(server: &Server) {
    let pid = server.pid().unwrap().to_string();
    assert!(std::process::Command::new("kill").args(["-HUP", &pid]).status().unwrap().success());
}

#[test]
fn every_listener_serves_tls_and_sighup_swaps_the_certificate() {
    let ca = TestCa::new("Faultline test CA");
    let first = ca.server("faultline-first", 1);
    let files = TempDir::new("faultline-tls");
    let (cert, key) = first.write(files.path(), "server");
    let server = Server::start_tls(&["--tls-cert", &cert, "--tls-key", &key], &ca.pem);

    // gRPC: the Rust SDK, trusting the CA, negotiating h2.
    export_with_sdk(&server, &ca.pem, None, "grpcoverTLS");
    server.wait_for("/api/v1/search?q=grpcoverTLS", |b| b["total"] == 1);
    let (leaf, alpn) = handshake(server.grpc_port, &ca.pem, &[b"h2"]).unwrap();
    assert_eq!(leaf, first.der);
    assert_eq!(alpn.as_deref(), Some(&b"h2"[..]));

    // OTLP/HTTP over HTTPS; the API read over HTTPS (server.get does).
    let trusting = client_trusting(&ca.pem, None);
    assert_eq!(post_export(&trusting, &server.http_url("/v1/traces"), "httpsexport"), Ok(200));
    server.wait_for("/api/v1/search?q=httpsexport", |b| b["total"] == 1);
    assert_eq!(handshake(server.api_port, &ca.pem, &[]).unwrap().0, first.der);

    // The commands trust the CA named by FAULTLINE_CA_CERT; without it, not.
    let ca_file = ca.write(files.path(), "ca.pem");
    let groups = |ca: Option<&str>| {
        let mut command = std::process::Command::new(faultline_tests::binary());
        command
            .args(["groups", "--json"])
            .env("FAULTLINE_SERVER", server.api_url(""))
            .env_remove("FAULTLINE_CA_CERT");
        if let Some(ca) = ca {
            command.env("FAULTLINE_CA_CERT", ca);
        }
        command.output().unwrap()
    };
    let out = groups(Some(&ca_file));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("TlsError"));
    assert!(!groups(None).status.success());

    // Plain text is refused on every listener, and does the server no harm.
    let plain = reqwest::blocking::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let plain_http = format!("http://127.0.0.1:{}/v1/traces", server.http_port);
    assert!(post_export(&plain, &plain_http, "plaintext").is_err());
    assert!(plain.get(format!("http://127.0.0.1:{}/readyz", server.api_port)).send().is_err());
    let plain_grpc = std::net::TcpStream::connect(("127.0.0.1", server.grpc_port)).unwrap();
    drop(plain_grpc);

    // A bad new certificate: logged, the old one stays.
    std::fs::write(&cert, "not a certificate").unwrap();
    hangup(&server);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(handshake(server.api_port, &ca.pem, &[]).unwrap().0, first.der);

    // A good one: new connections on every listener get it.
    let second = ca.server("faultline-second", 2);
    second.write(files.path(), "server");
    hangup(&server);
    for port in [server.grpc_port, server.http_port, server.api_port] {
        wait_until(
            Duration::from_secs(10),
            || handshake(port, &ca.pem, &[]).map(|(leaf, _)| leaf == second.der).unwrap_or(false),
            || format!("port {port} still shows the first certificate after SIGHUP"),
        );
    }
    export_with_sdk(&server, &ca.pem, None, "afterreload");
    server.wait_for("/api/v1/search?q=afterreload", |b| b["total"] == 1);
    assert_eq!(count(&server, "plaintext"), 0);
}

#[test]
fn a_client_ca_makes_ingest_require_a_client_certificate() {
    let ca = TestCa::new("Faultline server CA");
    let clients = TestCa::new("Faultline clients CA");
    let stranger = TestCa::new("Someone else's CA");
    let files = TempDir::new("faultline-tls-clients");
    let (cert, key) = ca.server("faultline", 1).write(files.path(), "server");
    let client_ca = clients.write(files.path(), "clients-ca.pem");
    let server =
        Server::start_tls(&["--tls-cert", &cert, "--tls-key", &key, "--tls-client-ca", &client_ca], &ca.pem);
    let url = server.http_url("/v1/traces");

    let anonymous = client_trusting(&ca.pem, None);
    assert!(post_export(&anonymous, &url, "nocert").is_err());
    let foreign = client_trusting(&ca.pem, Some(&stranger.client("intruder")));
    assert!(post_export(&foreign, &url, "foreigncert").is_err());
    let agent = clients.client("collector-1");
    let trusted = client_trusting(&ca.pem, Some(&agent));
    assert_eq!(post_export(&trusted, &url, "clientcert"), Ok(200));

    export_with_sdk(&server, &ca.pem, None, "grpcnocert");
    export_with_sdk(&server, &ca.pem, Some(&agent), "grpcclientcert");
    // The API asks for no client certificate (server.get has none). The
    // index follows the log in order: with the last export found, any
    // refused one that got in would be found too.
    server.wait_for("/api/v1/search?q=grpcclientcert", |b| b["total"] == 1);
    assert_eq!(count(&server, "clientcert"), 1);
    assert_eq!(count(&server, "nocert"), 0);
    assert_eq!(count(&server, "foreigncert"), 0);
    assert_eq!(count(&server, "grpcnocert"), 0);
}

/// The `Set-Cookie` value of `name` in a response.
fn set_cookie(response: &reqwest::blocking::Response, name: &str) -> String {
    let prefix = format!("{name}=");
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&prefix))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no {name} cookie set: {:?}", response.headers()))
}

/// Opens the login page without cookies and logs in with its CSRF token:
/// the CSRF cookie the page set and the session cookie the login set.
fn login_cookies(server: &Server, client: &reqwest::blocking::Client, token: &str) -> (String, String) {
    let page = client.get(server.api_url("/login")).send().unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let csrf_cookie = set_cookie(&page, "faultline_csrf");
    let csrf = csrf_cookie.trim_start_matches("faultline_csrf=").split(';').next().unwrap().to_string();
    // The login form's CSRF check is double-submit: cookie and field agree.
    let response = client
        .post(server.api_url("/login"))
        .header("cookie", format!("faultline_csrf={csrf}"))
        .form(&[("csrf", csrf.as_str()), ("token", token), ("next", "/")])
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 303);
    (csrf_cookie, set_cookie(&response, "faultline_session"))
}

#[test]
fn the_session_and_csrf_cookies_are_secure_over_tls_only() {
    const ADMIN: &str = "tls-test-admin-token-0123456789abcdef";
    let ca = TestCa::new("Faultline test CA");
    let files = TempDir::new("faultline-tls-login");
    let (cert, key) = ca.server("faultline", 1).write(files.path(), "server");
    let config = files.path().join("faultline.toml");
    std::fs::write(&config, format!("[auth]\nadmin_token = \"{ADMIN}\"\n")).unwrap();
    let config = config.to_str().unwrap();

    let server = Server::start_tls(&["--tls-cert", &cert, "--tls-key", &key, "--config", config], &ca.pem);
    let client = reqwest::blocking::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca.pem.as_bytes()).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let (csrf, session) = login_cookies(&server, &client, ADMIN);
    assert!(csrf.contains("; Secure"), "{csrf}");
    assert!(session.contains("; Secure"), "{session}");

    let plain = Server::start_with(&["--config", config]);
    let client =
        reqwest::blocking::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let (csrf, session) = login_cookies(&plain, &client, ADMIN);
    assert!(!csrf.contains("Secure"), "{csrf}");
    assert!(!session.contains("Secure"), "{session}");
}

#[test]
fn a_listener_can_stay_plain_text() {
    let ca = TestCa::new("Faultline test CA");
    let files = TempDir::new("faultline-tls-optout");
    let issued = ca.server("faultline", 1);
    let (cert, key) = issued.write(files.path(), "server");
    let config = files.path().join("faultline.toml");
    std::fs::write(&config, format!("[tls]\ncert = \"{cert}\"\nkey = \"{key}\"\napi = false\n")).unwrap();
    // start_with: the harness reads the API in plain HTTP.
    let server = Server::start_with(&["--config", config.to_str().unwrap()]);
    assert!(server.groups().is_empty(), "the API answers in plain text");
    assert!(handshake(server.api_port, &ca.pem, &[]).is_err());
    assert_eq!(handshake(server.grpc_port, &ca.pem, &[b"h2"]).unwrap().0, issued.der);
    let https = format!("https://localhost:{}/v1/traces", server.http_port);
    assert_eq!(post_export(&client_trusting(&ca.pem, None), &https, "optout"), Ok(200));
    server.wait_for("/api/v1/search?q=optout", |b| b["total"] == 1);
}

#[test]
fn a_missing_certificate_stops_the_server_naming_the_file() {
    let dir = TempDir::new("faultline-tls-missing");
    let missing = dir.path().join("nowhere.crt");
    let out = std::process::Command::new(faultline_tests::binary())
        .args(["serve", "--otlp-grpc-addr", "127.0.0.1:0", "--otlp-http-addr", "127.0.0.1:0"])
        .args(["--api-addr", "127.0.0.1:0", "--tls-key", "/dev/null", "--tls-cert"])
        .arg(&missing)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("cannot set up TLS") && stderr.contains("nowhere.crt"), "{stderr}");
}
