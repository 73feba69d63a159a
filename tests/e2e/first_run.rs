//! What a newcomer does in the first minutes, through the real binary:
//! plain `faultline` with environment and file configuration, host names
//! as listen addresses, start-up errors that say what to do, logs, help,
//! the CLI's query and table forms, and the pages a browser gets.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use faultline_tests::otlp::{exception_span, post_protobuf, traces_request};
use faultline_tests::{binary, free_port, wait_until, Server, TempDir};

/// A server started as plain `faultline` (no subcommand) with its
/// settings only in the environment; killed when dropped.
struct Plain {
    child: std::process::Child,
    api_port: u16,
}

impl Plain {
    fn start(api_port: u16, envs: &[(&str, String)]) -> Plain {
        let mut cmd = Command::new(binary());
        cmd.env("FAULTLINE_LOG", "warn").stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        for (k, v) in envs {
            cmd.env(k, v.replace("{api}", &api_port.to_string()));
        }
        let mut plain = Plain { child: cmd.spawn().unwrap(), api_port };
        plain.wait_ready();
        plain
    }

    fn wait_ready(&mut self) {
        let url = format!("http://127.0.0.1:{}/readyz", self.api_port);
        wait_until(
            Duration::from_secs(30),
            || {
                assert!(self.child.try_wait().unwrap().is_none(), "faultline exited before it was ready");
                reqwest::blocking::get(&url).is_ok_and(|r| r.status().is_success())
            },
            || format!("plain faultline never answered on {url}"),
        );
    }
}

impl Drop for Plain {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the binary to completion with `args` and `envs`.
fn run(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(binary());
    cmd.args(args).stdin(Stdio::null());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Free-port flags for the two OTLP listeners, so a failing start never
/// collides with another test's server.
fn otlp_ports() -> Vec<String> {
    vec![
        "--otlp-grpc-addr".into(),
        format!("127.0.0.1:{}", free_port()),
        "--otlp-http-addr".into(),
        format!("127.0.0.1:{}", free_port()),
    ]
}

#[test]
fn plain_faultline_reads_environment_and_config_file() {
    let tmp = TempDir::new("faultline-plain");
    let data = tmp.path().join("from-env");
    let plain = Plain::start(
        free_port(),
        &[
            ("FAULTLINE_DATA_DIR", data.display().to_string()),
            ("FAULTLINE_API_ADDR", "127.0.0.1:{api}".into()),
            ("FAULTLINE_OTLP_GRPC_ADDR", format!("127.0.0.1:{}", free_port())),
            ("FAULTLINE_OTLP_HTTP_ADDR", format!("127.0.0.1:{}", free_port())),
        ],
    );
    assert!(data.join("store").is_dir(), "the data directory of FAULTLINE_DATA_DIR is used");
    drop(plain);

    let file_data = tmp.path().join("from-file");
    let config = tmp.path().join("c.toml");
    let api_port = free_port();
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\n[listen]\napi = \"127.0.0.1:{api_port}\"\notlp_grpc = \"127.0.0.1:{}\"\notlp_http = \"127.0.0.1:{}\"\n",
            file_data.display().to_string(),
            free_port(),
            free_port()
        ),
    )
    .unwrap();
    let _plain = Plain::start(api_port, &[("FAULTLINE_CONFIG", config.display().to_string())]);
    assert!(file_data.join("store").is_dir(), "the data directory of FAULTLINE_CONFIG's file is used");
}

#[test]
fn listen_addresses_take_host_names_and_bad_ones_name_their_source() {
    let tmp = TempDir::new("faultline-hostname");
    let port = free_port();
    let mut args = vec!["serve".to_string(), "--data-dir".into(), tmp.path().join("d").display().to_string()];
    args.extend(otlp_ports());
    args.extend(["--api-addr".into(), format!("localhost:{port}")]);
    let mut child =
        Command::new(binary()).args(&args).env("FAULTLINE_LOG", "warn").stdin(Stdio::null()).spawn().unwrap();
    let url = format!("http://127.0.0.1:{port}/readyz");
    wait_until(
        Duration::from_secs(30),
        || reqwest::blocking::get(&url).is_ok_and(|r| r.status().is_success()),
        || "--api-addr localhost:PORT never answered on 127.0.0.1".into(),
    );
    child.kill().unwrap();
    child.wait().unwrap();

    let out = run(&["serve", "--data-dir", "/nonexistent/never"], &[("FAULTLINE_API_ADDR", "no-port-here")]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("FAULTLINE_API_ADDR") && err.contains("HOST:PORT"), "{err}");

    let config = tmp.path().join("bad.toml");
    std::fs::write(&config, "[listen]\notlp_http = \"localhost:http\"\n").unwrap();
    let out = run(&["serve", "--config", config.to_str().unwrap()], &[]);
    let err = stderr(&out);
    assert!(!out.status.success());
    assert!(err.contains("listen.otlp_http in ") && err.contains("bad.toml"), "{err}");
}

#[test]
fn a_data_directory_in_use_is_said_once_with_what_to_do() {
    let server = Server::start();
    let mut args = vec!["serve".to_string(), "--data-dir".into(), server.data_dir.display().to_string()];
    args.extend(otlp_ports());
    args.extend(["--api-addr".into(), format!("127.0.0.1:{}", free_port())]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&args, &[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert_eq!(err.matches("in use by another running Faultline").count(), 1, "{err}");
    assert!(err.contains("--data-dir") && !err.contains("WouldBlock"), "{err}");
    assert_eq!(err.lines().count(), 1, "one line, no repeats: {err}");
}

#[test]
fn an_unwritable_data_directory_is_said_once() {
    let tmp = TempDir::new("faultline-perm");
    let locked = tmp.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    let data = locked.join("data").display().to_string();
    let mut cmd = Command::new(binary());
    // Root may write anywhere, so as root the server runs as `nobody`.
    let as_root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
    if as_root {
        cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"]).arg(binary());
    }
    std::fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o555)).unwrap();
    let mut args = vec!["serve".to_string(), "--data-dir".into(), data];
    args.extend(otlp_ports());
    args.extend(["--api-addr".into(), format!("127.0.0.1:{}", free_port())]);
    let out = cmd.args(&args).output().unwrap();
    std::fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert_eq!(err.matches("Permission denied").count(), 1, "{err}");
    assert!(err.contains("give this user read and write access"), "{err}");
}

#[test]
fn logs_are_plain_in_files_and_a_bad_filter_is_refused() {
    // stderr is a pipe here, as when redirected to a file.
    let tmp = TempDir::new("faultline-logs");
    let mut args = vec!["serve".to_string(), "--data-dir".into(), tmp.path().join("d").display().to_string()];
    args.extend(otlp_ports());
    let api_port = free_port();
    args.extend(["--api-addr".into(), format!("127.0.0.1:{api_port}")]);
    let mut child = Command::new(binary())
        .args(&args)
        .env("FAULTLINE_LOG", "info")
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{api_port}/readyz");
    wait_until(
        Duration::from_secs(30),
        || reqwest::blocking::get(&url).is_ok_and(|r| r.status().is_success()),
        || "server never ready".into(),
    );
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("faultline is ready"), "{log}");
    assert!(!log.contains('\u{1b}'), "no colour codes in redirected logs: {log:?}");

    let out = run(&["serve", "--data-dir", "/nonexistent/never"], &[("FAULTLINE_LOG", "nonsense===")]);
    assert!(!out.status.success(), "a bad FAULTLINE_LOG is refused");
    assert!(stderr(&out).contains("invalid FAULTLINE_LOG"), "{}", stderr(&out));
}

#[test]
fn serve_help_shows_the_defaults() {
    let out = run(&["serve", "--help"], &[]);
    let help = String::from_utf8_lossy(&out.stdout);
    for default in ["127.0.0.1:4317", "127.0.0.1:4318", "127.0.0.1:8080", "./faultline-data"] {
        assert!(help.contains(&format!("[default: {default}]")), "{default} missing from: {help}");
    }
}

fn export(server: &Server, service: &str, kind: &str, message: &str) {
    let req = traces_request(service, vec![exception_span("GET /x", kind, message, vec![])]);
    assert_eq!(post_protobuf(&server.http_url("/v1/traces"), &req).unwrap().0, 200);
}

fn cli(server: &Server, args: &[&str], columns: &str) -> String {
    let out = Command::new(binary())
        .args(args)
        .env("FAULTLINE_SERVER", server.api_url(""))
        .env("COLUMNS", columns)
        .output()
        .unwrap();
    assert!(out.status.success(), "faultline {args:?} failed: {}", stderr(&out));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn cli_takes_negated_queries_and_prints_aligned_tables() {
    let server = Server::start();
    export(&server, "checkout", "KeyError", "'sku'");
    export(
        &server,
        "checkout",
        "ValueError",
        "bad quantity in a message long enough to need cutting at eighty columns",
    );
    server.wait_for("/api/v1/search?q=", |b| b["total"] == 2);

    let out = cli(&server, &["search", "-type:KeyError"], "200");
    assert!(out.starts_with("1 event matches."), "{out}");
    assert!(out.contains("ValueError") && !out.contains("KeyError"), "{out}");

    for columns in ["80", "200"] {
        let out = cli(&server, &["groups"], columns);
        let width: usize = columns.parse().unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "{out}");
        assert!(lines.iter().all(|l| l.chars().count() <= width), "wider than {width}:\n{out}");
        let title_at = lines[0].find("TITLE").unwrap();
        assert!(lines[1..].iter().all(|l| l.chars().nth(title_at - 1) == Some(' ')), "{out}");
    }
    // No query: the newest events.
    let out = cli(&server, &["search"], "200");
    assert!(out.starts_with("2 events match."), "{out}");

    let wide = cli(&server, &["groups"], "200");
    assert!(wide.contains("CULPRIT") && wide.contains("GET /x"), "{wide}");
}

#[test]
fn browsers_get_pages_and_alert_links_answer() {
    let server = Server::start();
    export(&server, "web", "XssError", "<script>alert(1)</script><img src=x onerror=alert(2)>");
    server.wait_for("/api/v1/groups", |b| b["groups"].as_array().is_some_and(|g| g.len() == 1));
    let id = server.groups()[0]["id"].as_u64().unwrap();

    let home = reqwest::blocking::get(server.api_url("/")).unwrap();
    assert_eq!(home.status(), 200);
    assert!(home.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let home = home.text().unwrap();
    assert!(
        home.contains("/api/v1/groups") && home.contains("/metrics") && home.contains("/readyz"),
        "{home}"
    );

    let issue = reqwest::blocking::get(server.api_url(&format!("/issues/{id}"))).unwrap();
    assert_eq!(issue.status(), 200);
    let issue = issue.text().unwrap();
    assert!(issue.contains("XssError"), "{issue}");
    assert!(
        !issue.contains("<script>alert") && !issue.contains("<img src=x"),
        "markup must be escaped: {issue}"
    );
    // Named (`&lt;`) or numeric (`&#60;`, the template engine's) entities.
    assert!(issue.contains("&lt;script&gt;") || issue.contains("&#60;script&#62;"), "{issue}");

    assert_eq!(reqwest::blocking::get(server.api_url("/issues/999999")).unwrap().status(), 404);
    assert_eq!(reqwest::blocking::get(server.api_url("/services/web")).unwrap().status(), 200);
    assert_eq!(reqwest::blocking::get(server.api_url("/checks/nope")).unwrap().status(), 404);
}

#[test]
fn an_unreachable_server_is_said_once_with_a_hint() {
    let port = free_port();
    let out = run(&["groups", "--server", &format!("http://127.0.0.1:{port}")], &[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(err.matches("Connection refused").count(), 1, "{err}");
    assert!(err.contains("faultline serve") && err.contains("FAULTLINE_SERVER"), "{err}");
}
