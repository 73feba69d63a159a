//! The CLI against a running server, graceful shutdown, restart, health
//! endpoints, metrics and configuration errors.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use faultline_tests::otlp::{exception_span, post_protobuf, traces_request};
use faultline_tests::{binary, Server, TempDir};

fn export(server: &Server, kind: &str, message: &str) {
    let req = traces_request("cli-svc", vec![exception_span("GET /cli", kind, message, vec![])]);
    assert_eq!(post_protobuf(&server.http_url("/v1/traces"), &req).unwrap().0, 200);
}

fn cli(server: &Server, args: &[&str]) -> String {
    let out = Command::new(binary()).args(args).args(["--server", &server.api_url("")]).output().unwrap();
    assert!(out.status.success(), "faultline {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn cli_searches_and_lists_groups() {
    let server = Server::start();
    export(&server, "KeyError", "'sku'");
    export(&server, "KeyError", "'sku'");
    export(&server, "ZeroDivisionError", "division by zero");
    server.wait_for("/api/v1/search?q=", |b| b["total"] == 3);

    let out = cli(&server, &["search", "type:KeyError"]);
    assert!(out.starts_with("2 events match"), "{out}");
    assert!(out.contains("KeyError: 'sku'"), "{out}");
    assert!(!out.contains("ZeroDivisionError"), "{out}");

    let out = cli(&server, &["groups", "--sort", "count"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[1].contains("KeyError") && lines[1].contains("unresolved"), "{out}");
    assert!(lines[2].contains("ZeroDivisionError"), "{out}");

    let json: serde_json::Value = serde_json::from_str(&cli(&server, &["groups", "--json"])).unwrap();
    assert_eq!(json["groups"].as_array().unwrap().len(), 2);

    // A bad query is reported, with a failing exit code.
    let out =
        Command::new(binary()).args(["search", "type:(", "--server", &server.api_url("")]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid query"));
}

#[test]
fn sigterm_drains_and_restart_keeps_everything() {
    let mut server = Server::start();
    for i in 0..20 {
        export(&server, "ShutdownError", &format!("attempt {i}"));
    }
    let status = server.terminate();
    assert!(status.success(), "clean exit on SIGTERM: {status}");
    server.restart();
    let groups = server.groups();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0]["count"], 20);
    // Indexed before exit, so searchable at once after restart.
    assert_eq!(server.get("/api/v1/search?q=attempt")["total"], 20);
}

#[test]
fn health_and_metrics_endpoints() {
    let server = Server::start();
    export(&server, "MetricError", "m");
    assert_eq!(reqwest::blocking::get(server.api_url("/healthz")).unwrap().status(), 200);
    assert_eq!(reqwest::blocking::get(server.api_url("/readyz")).unwrap().status(), 200);
    let bad =
        faultline_tests::otlp::post(&server.http_url("/v1/traces"), "text/plain", vec![1], None).unwrap();
    assert_eq!(bad.0, 415);
    let text = reqwest::blocking::get(server.api_url("/metrics")).unwrap().text().unwrap();
    assert!(text.contains("faultline_exports_total{signal=\"traces\"} 1"), "{text}");
    assert!(text.contains("faultline_items_received_total{signal=\"traces\"} 1"), "{text}");
    assert!(text.contains("faultline_events_stored_total 1"), "{text}");
    assert!(text.contains("faultline_exports_refused_total{reason=\"unsupported_media_type\"} 1"), "{text}");
    assert!(text.contains("faultline_index_lag_events"), "{text}");
    assert!(text.contains("faultline_groups 1"), "{text}");
}

#[test]
fn bad_configuration_is_a_clear_error() {
    let tmp = TempDir::new("faultline-config");
    let config = tmp.path().join("faultline.toml");
    std::fs::write(&config, "[listen]\napi = \"127.0.0.1:1\"\nunknown_key = 1\n").unwrap();
    let out = Command::new(binary()).arg("serve").arg("--config").arg(&config).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown field `unknown_key`"), "{stderr}");

    let out = Command::new(binary()).args(["serve", "--api-addr", "not-an-address"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid value 'not-an-address'"));

    let out = Command::new(binary())
        .arg("serve")
        .arg("--config")
        .arg(tmp.path().join("missing.toml"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read config file"));
}

#[test]
fn configuration_file_and_environment_are_used() {
    let tmp = TempDir::new("faultline-config-env");
    let config = tmp.path().join("faultline.toml");
    let (g, h, a) =
        (faultline_tests::free_port(), faultline_tests::free_port(), faultline_tests::free_port());
    std::fs::write(
        &config,
        format!("data_dir = \"{}\"\n[listen]\notlp_grpc = \"127.0.0.1:{g}\"\notlp_http = \"127.0.0.1:{h}\"\napi = \"127.0.0.1:1\"\n", tmp.path().join("d").display()),
    )
    .unwrap();
    // The environment beats the file for the API address.
    let mut child = Command::new(binary())
        .arg("serve")
        .env("FAULTLINE_CONFIG", &config)
        .env("FAULTLINE_API_ADDR", format!("127.0.0.1:{a}"))
        .env("FAULTLINE_LOG", "warn")
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let ready = loop {
        if let Ok(r) = reqwest::blocking::get(format!("http://127.0.0.1:{a}/readyz")) {
            break r.status().is_success();
        }
        if std::time::Instant::now() > deadline {
            break false;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let http_up = std::net::TcpStream::connect(("127.0.0.1", h)).is_ok();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(ready && http_up);
    assert!(tmp.path().join("d").join("store").exists(), "data_dir from the file is used");
}

#[test]
fn fingerprint_rules_from_the_config_file_group_events() {
    let tmp = TempDir::new("faultline-rules");
    let config = tmp.path().join("rules.toml");
    let rules = "[[grouping.rules]]\ntype = \"*Timeout\"\nfingerprint = [\"upstream-timeouts\"]\ntitle = \"Upstream timeouts\"\n";
    std::fs::write(&config, rules).unwrap();
    let server = Server::start_with(&["--config", config.to_str().unwrap()]);
    export(&server, "ReadTimeout", "read timed out after 30s");
    export(&server, "ConnectTimeout", "connect to 10.0.0.7 failed");
    export(&server, "KeyError", "'sku'");
    let groups = server.groups();
    assert_eq!(groups.len(), 2, "{groups:?}");
    let timeouts = groups.iter().find(|g| g["title"] == "Upstream timeouts").unwrap();
    assert_eq!(timeouts["count"], 2);
    assert!(groups.iter().any(|g| g["title"] == "KeyError: <str>"));

    // A rule with a mistake stops start-up, naming the rule.
    std::fs::write(&config, "[[grouping.rules]]\nfingerprint = [\"x\"]\n").unwrap();
    let out = Command::new(binary()).arg("serve").arg("--config").arg(&config).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("grouping rule 1"), "{stderr}");
}

/// The README's configuration examples, together, start the server: the
/// docs stay true. Example hosts are pointed at localhost so the checks they
/// define probe nothing off this machine.
#[test]
fn readme_configuration_examples_are_accepted() {
    use std::io::BufRead;
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .unwrap();
    let blocks: Vec<&str> = readme.split("```toml\n").skip(1).filter_map(|b| b.split("```").next()).collect();
    assert!(blocks.len() >= 5, "README has its TOML examples");
    // The block with top-level keys goes first, so they stay top-level.
    let (top, rest): (Vec<&str>, Vec<&str>) = blocks.iter().partition(|b| b.starts_with("data_dir"));
    let config = [top, rest]
        .concat()
        .join("\n")
        .replace("api.example.com", "localhost")
        .replace("db.internal", "localhost");
    let tmp = TempDir::new("faultline-readme-config");
    let path = tmp.path().join("readme.toml");
    std::fs::write(&path, config).unwrap();
    let mut child = Command::new(binary())
        .arg("serve")
        .arg("--config")
        .arg(&path)
        .arg("--data-dir")
        .arg(tmp.path().join("data"))
        .args([
            "--otlp-grpc-addr",
            "127.0.0.1:0",
            "--otlp-http-addr",
            "127.0.0.1:0",
            "--api-addr",
            "127.0.0.1:0",
        ])
        .env("FAULTLINE_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut seen = Vec::new();
    let mut ready = false;
    for line in stderr.lines().map_while(Result::ok) {
        ready = line.contains("faultline is ready");
        seen.push(line);
        if ready {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(ready, "the README's configuration was refused:\n{}", seen.join("\n"));
}
