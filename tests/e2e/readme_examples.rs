//! The README's examples, run as written against the real server:
//!
//! - each code block marked `<!-- tested: NAME -->` (the Python and Node SDK
//!   set-ups of *Sending data*) is written to a file and run with the
//!   test venv's Python / Node, configured only through the standard
//!   `OTEL_*` variables; the exception and the error log it records must
//!   arrive as error events;
//! - every line of every ```sh block is either run (`faultline …` with the
//!   built binary, `curl` GETs with reqwest against the test server's API
//!   port) and must succeed with output, or matches an entry of [`NOT_RUN`],
//!   which says why. A new example is therefore run or refused, never
//!   silently ignored.
//!
//! Needs target/sdk-venv and tests/sdk/node/node_modules (scripts/test
//! installs both); without them the snippet tests fail and say so.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use faultline_tests::api::{encode, total};
use faultline_tests::otlp::{error_log, exception_span, kv, logs_request, post_protobuf, traces_request};
use faultline_tests::sdk_app::{self, App};
use faultline_tests::{binary, Server, TempDir};
use serde_json::Value;

/// README lines in ```sh blocks that are not run, by prefix, and why.
const NOT_RUN: &[(&str, &str)] = &[
    ("cargo install ", "installs the binary; these tests run the one cargo built"),
    ("cd fuzz", "the fuzzing commands need cargo-fuzz and a nightly toolchain; the corpora are replayed by faultline-fuzz's test"),
    ("cargo +nightly fuzz", "fuzzing runs for minutes on nightly; the corpora are replayed by faultline-fuzz's test"),
    ("faultline serve", "starts a server; the tests start their own on free ports"),
    (
        "faultline migrate ",
        "needs the reader's stopped data directory and PostgreSQL server; tests/e2e/migrate.rs migrates into a test PostgreSQL",
    ),
    (
        "cargo run --release -p faultline-server -- demo",
        "a release build and a demo that runs until Ctrl-C; tests/e2e/demo.rs runs `faultline demo` and checks what it produced",
    ),
    (
        "faultline config check ",
        "the reader's own file; tests/e2e/config_check.rs checks the README's combined configuration, bad files and a missing one",
    ),
    ("./scripts/test", "runs the whole test suite, this test included"),
    ("cargo build --release", "a release build; these tests run the binary cargo built for them"),
    ("target/release/faultline serve", "starts a server; the tests start their own on free ports"),
    (
        "target/release/faultline-loadgen ",
        "a 30 s load run; crates/faultline-loadgen/tests runs the load generator against a server",
    ),
    (
        "cargo bench -p faultline-benches --bench suite",
        "a benchmark of about 10 minutes; it starts its own servers and checks acked == stored itself",
    ),
    (
        "cargo bench -p faultline-benches --bench cluster",
        "a benchmark of about 3 minutes with a PostgreSQL and nodes of its own; it checks acked == stored itself",
    ),
    ("export OTEL_", "SDK settings; the snippet tests run the SDKs with these variables"),
    (
        "faultline token ",
        "makes the server require tokens, so the examples after it would need one; tests/e2e/auth.rs runs token create, list and revoke",
    ),
    ("export FAULTLINE_TOKEN=", "a placeholder secret; tests/e2e/auth.rs sets FAULTLINE_TOKEN to real ones"),
    (
        "FAULTLINE_ADMIN_TOKEN=",
        "starts a server on 0.0.0.0; tests/e2e/auth.rs starts one with an admin token",
    ),
    (
        "FAULTLINE_CA_CERT=",
        "a placeholder CA and host; tests/e2e/tls.rs runs `faultline groups` over HTTPS with FAULTLINE_CA_CERT",
    ),
    (
        "kill -HUP ",
        "signals the reader's running server; tests/e2e/tls.rs sends SIGHUP and checks new handshakes get the new certificate",
    ),
    (
        "docker compose ",
        "needs a Docker engine, which the test machine lacks; tests/e2e/deploy.rs validates docker-compose.yml with docker-compose config and runs the demo service against the real server",
    ),
    ("install -", "installs the binary, the unit and the config under /usr/local and /etc as root; tests/e2e/deploy.rs starts the binary with deploy/production.toml and checks the unit with systemd-analyze verify"),
    ("echo \"FAULTLINE_ADMIN_TOKEN=", "writes a secret to /etc/faultline; tests/e2e/deploy.rs starts the server with an admin token from the environment"),
    ("systemctl ", "manages the reader's systemd services; there is no systemd running on the test machine"),
    ("journalctl ", "reads the reader's systemd journal; there is no systemd running on the test machine"),
    (
        "faultline compact ",
        "needs a stopped server's data directory; tests/e2e/backup.rs compacts one and checks it is refused while served",
    ),
    (
        "faultline backup --data-dir ",
        "copies a stopped server's data directory; tests/e2e/backup.rs runs the offline backup",
    ),
    ("pip install opentelemetry-distro", "installs zero-code instrumentation from the network"),
    ("opentelemetry-bootstrap ", "installs instrumentations from the network"),
    (
        "OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED=true opentelemetry-instrument ",
        "starts the reader's app.py",
    ),
];

/// The CLI examples the README has today: the extraction must find each.
const KNOWN_CLI_EXAMPLES: &[&str] = &[
    "faultline search 'type:KeyError service:checkout' --from 24h",
    "faultline groups --status unresolved --sort count",
    "faultline groups --json",
    "faultline report --since 24h",
];

/// Markers of tested snippets, each run by one test below.
const TESTED_SNIPPETS: &[&str] = &["python-snippet", "node-snippet"];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn readme() -> String {
    std::fs::read_to_string(workspace().join("README.md")).unwrap()
}

/// A fenced code block: its info string (language) and its text.
struct Block {
    lang: String,
    text: String,
    /// The `<!-- tested: NAME … -->` marker on the line before it, if any.
    marker: Option<String>,
    /// 1-based line of the opening fence, for messages.
    line: usize,
}

/// Every fenced block of `markdown`, indented ones (in lists) included.
fn blocks(markdown: &str) -> Vec<Block> {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let trimmed = lines[i].trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            let indent = lines[i].len() - trimmed.len();
            let marker = i
                .checked_sub(1)
                .and_then(|p| lines[p].trim().strip_prefix("<!-- tested:"))
                .map(|rest| rest.split_whitespace().next().unwrap_or("").to_string());
            let start = i;
            let mut text = String::new();
            i += 1;
            while i < lines.len() && !lines[i].trim_start().starts_with("```") {
                let line = lines[i];
                text.push_str(line.get(indent.min(line.len() - line.trim_start().len())..).unwrap_or(line));
                text.push('\n');
                i += 1;
            }
            assert!(i < lines.len(), "README.md:{}: unclosed code block", start + 1);
            blocks.push(Block { lang: info.trim().to_string(), text, marker, line: start + 1 });
        }
        i += 1;
    }
    blocks
}

/// The one block marked `<!-- tested: name -->`.
fn tested_snippet(name: &str, lang: &str) -> String {
    let found: Vec<Block> =
        blocks(&readme()).into_iter().filter(|b| b.marker.as_deref() == Some(name)).collect();
    assert_eq!(found.len(), 1, "README.md must have exactly one block marked <!-- tested: {name} -->");
    assert_eq!(found[0].lang, lang, "README.md:{}: the {name} block", found[0].line);
    found[0].text.clone()
}

#[test]
fn every_tested_marker_is_run_by_a_test() {
    let readme = readme();
    let markers: Vec<String> = blocks(&readme).into_iter().filter_map(|b| b.marker).collect();
    let mut sorted = markers.clone();
    sorted.sort();
    let mut known: Vec<&str> = TESTED_SNIPPETS.to_vec();
    known.sort();
    assert_eq!(sorted, known, "markers in README.md vs TESTED_SNIPPETS");
    // A marker not directly above a fence would be lost by `blocks`.
    assert_eq!(
        readme.matches("<!-- tested:").count(),
        markers.len(),
        "a marker not followed by a code block"
    );
}

/// Splits a command line like a POSIX shell: single quotes, double quotes
/// (with `\"`, `\\`, `\$`, `` \` `` escapes), backslashes, and a `#` that
/// starts a word begins a comment. No expansions: an example needing them
/// is refused.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '#' if !in_word => break,
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => panic!("unterminated ' in {line:?}"),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(e @ ('"' | '\\' | '$' | '`')) => word.push(e),
                            Some(other) => {
                                word.push('\\');
                                word.push(other);
                            }
                            None => panic!("unterminated \" in {line:?}"),
                        },
                        Some('$' | '`') => panic!("expansion in {line:?}: not supported here"),
                        Some(c) => word.push(c),
                        None => panic!("unterminated \" in {line:?}"),
                    }
                }
            }
            '\\' => {
                in_word = true;
                word.push(chars.next().unwrap_or_else(|| panic!("trailing \\ in {line:?}")));
            }
            '$' | '`' | '|' | '&' | ';' | '<' | '>' | '(' | ')' | '*' | '?' => {
                panic!("shell syntax {c:?} in {line:?}: not supported here")
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

#[test]
fn shell_words_splits_like_a_shell() {
    assert_eq!(
        shell_words("faultline search 'type:KeyError service:checkout' --from 24h"),
        ["faultline", "search", "type:KeyError service:checkout", "--from", "24h"]
    );
    assert_eq!(
        shell_words("faultline report --since 24h          # text; --json"),
        ["faultline", "report", "--since", "24h"]
    );
    assert_eq!(shell_words(r#"a "b \"c\" d" e\ f 'g#h' i#j"#), ["a", "b \"c\" d", "e f", "g#h", "i#j"]);
    assert_eq!(
        shell_words("curl 'http://127.0.0.1:8080/x?a=1&b=2'  # JSON"),
        ["curl", "http://127.0.0.1:8080/x?a=1&b=2"]
    );
    assert_eq!(shell_words("  # only a comment"), Vec::<String>::new());
    assert_eq!(shell_words("faultline search '-type:NotFound'"), ["faultline", "search", "-type:NotFound"]);
}

/// The logical lines of a ```sh block (continuations joined), without
/// blank and comment-only lines.
fn command_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut pending = String::new();
    for line in text.lines() {
        if let Some(continued) = line.strip_suffix('\\') {
            pending.push_str(continued);
            continue;
        }
        pending.push_str(line);
        let full = std::mem::take(&mut pending);
        let trimmed = full.trim();
        if !trimmed.is_empty() && !trimmed.starts_with('#') {
            lines.push(trimmed.to_string());
        }
    }
    assert!(pending.is_empty(), "a sh block ends in a line continuation");
    lines
}

/// Some data for the CLI examples to find: a KeyError in `checkout` (the
/// README's search), another error and an error log.
fn seed(server: &Server) {
    let spans = vec![
        exception_span("POST /checkout", "KeyError", "'email'", vec![kv("http.route", "/checkout")]),
        exception_span("POST /checkout", "KeyError", "'email'", vec![kv("http.route", "/checkout")]),
        exception_span("GET /cart", "ValueError", "bad quantity", vec![kv("http.route", "/cart")]),
    ];
    assert_eq!(
        post_protobuf(&server.http_url("/v1/traces"), &traces_request("checkout", spans)).unwrap().0,
        200
    );
    let logs = logs_request("checkout", vec![error_log("payment provider declined order 5521", vec![])]);
    assert_eq!(post_protobuf(&server.http_url("/v1/logs"), &logs).unwrap().0, 200);
    server.wait_for("/api/v1/search?q=", |b| b["total"] == 4);
}

/// Runs `faultline <args>` with `env` against `server`; fails unless it
/// exits 0 with output. Returns stdout.
fn run_faultline(server: &Server, line: &str, env: &[(String, String)], args: &[String]) -> String {
    let dir = TempDir::new("readme-cli");
    let out = Command::new(binary())
        .args(args)
        .env("FAULTLINE_SERVER", server.api_url(""))
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "README example `{line}` exited {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    assert!(!stdout.trim().is_empty(), "README example `{line}` printed nothing; stderr:\n{stderr}");
    stdout
}

/// Runs a `curl URL` example as a GET with reqwest, the README's API
/// address rewritten to the test server's; fails unless it answers 2xx
/// with a body.
fn run_curl(server: &Server, line: &str, args: &[String]) -> String {
    let [url] = args else { panic!("README example `{line}`: only `curl URL` (a GET) is supported here") };
    let path = url
        .strip_prefix("http://127.0.0.1:8080")
        .unwrap_or_else(|| panic!("README example `{line}`: not on the default API address 127.0.0.1:8080"));
    let response = reqwest::blocking::get(server.api_url(path)).unwrap();
    let status = response.status();
    let body = response.text().unwrap();
    assert!(status.is_success(), "README example `{line}` answered {status}: {body}");
    assert!(!body.trim().is_empty(), "README example `{line}` answered an empty body");
    body
}

#[test]
fn every_sh_example_runs_against_a_server() {
    let server = Server::start();
    seed(&server);

    let mut ran = Vec::new();
    let mut skips_used: BTreeMap<&str, usize> = BTreeMap::new();
    for block in blocks(&readme()).iter().filter(|b| b.lang == "sh") {
        for line in command_lines(&block.text) {
            if let Some((prefix, why)) = NOT_RUN.iter().find(|(prefix, _)| line.starts_with(prefix)) {
                eprintln!("not run: README.md:{}: `{line}`: {why}", block.line);
                *skips_used.entry(prefix).or_default() += 1;
                continue;
            }
            let mut words = shell_words(&line);
            // Leading NAME=value words are the command's environment.
            let mut env = Vec::new();
            while let Some((name, value)) = words.first().and_then(|w| w.split_once('=')) {
                if name.is_empty() || !name.chars().all(|c| c == '_' || c.is_ascii_alphanumeric()) {
                    break;
                }
                env.push((name.to_string(), value.to_string()));
                words.remove(0);
            }
            let output = match words.first().map(String::as_str) {
                Some("faultline") => run_faultline(&server, &line, &env, &words[1..]),
                Some("curl") if env.is_empty() => run_curl(&server, &line, &words[1..]),
                _ => panic!(
                    "README.md:{}: `{line}` is neither a `faultline` nor a `curl` example: \
                     run it in this test, or add it to NOT_RUN saying why not",
                    block.line
                ),
            };
            eprintln!("ran: README.md:{}: `{line}`:\n{output}", block.line);
            ran.push(line);
        }
    }

    for known in KNOWN_CLI_EXAMPLES {
        assert!(
            ran.iter().any(|l| l.starts_with(known)),
            "`{known}` was not found in README.md's sh blocks; ran {ran:?}"
        );
    }
    assert!(ran.iter().any(|l| l.starts_with("curl ")), "no curl example ran: {ran:?}");
    for (prefix, _) in NOT_RUN {
        assert!(
            skips_used.contains_key(prefix),
            "NOT_RUN entry {prefix:?} matches no README line any more: remove it"
        );
    }

    // The examples were run against data they should find.
    let search = run_faultline(
        &server,
        "faultline search 'type:KeyError service:checkout' --from 24h",
        &[],
        &shell_words("search 'type:KeyError service:checkout' --from 24h"),
    );
    assert!(search.contains("KeyError: 'email'") && !search.contains("ValueError"), "{search}");
    let json: Value = serde_json::from_str(&run_faultline(
        &server,
        "faultline groups --json",
        &[],
        &shell_words("groups --json"),
    ))
    .unwrap();
    assert_eq!(json["groups"].as_array().unwrap().len(), 3, "{json}");
}

/// Fails (never skips) when Node or the JS SDK is missing.
fn node_modules() -> PathBuf {
    let modules = workspace().join("tests/sdk/node/node_modules");
    let version = Command::new("node").arg("--version").output();
    assert!(
        version.as_ref().is_ok_and(|o| o.status.success()),
        "`node --version` failed ({version:?}): this test needs Node.js on PATH"
    );
    assert!(
        modules.join("@opentelemetry/sdk-node/package.json").exists(),
        "{}/@opentelemetry/sdk-node is missing: run scripts/test, which runs `npm ci` in tests/sdk/node",
        modules.display()
    );
    modules
}

/// Runs one snippet file against a fresh server over `protocol`; it must
/// exit 0 without printing anything (a user copying it would see the
/// SDK's warnings and export errors there).
fn run_snippet(server: &Server, app: &App, protocol: &str, service: &str) {
    let (stdout, stderr) =
        sdk_app::run_output(app, server, protocol, service, "deployment.environment.name=readme");
    assert_eq!((stdout.as_str(), stderr.as_str()), ("", ""), "{} over {protocol} printed output", app.label);
}

/// The snippet's two error events: `exception_type` recorded on the span
/// `POST /checkout`, and the same exception through the log.
fn assert_span_and_log_events(server: &Server, service: &str, exception_type: &str) {
    let q = format!("service:{service}");
    let all = server.wait_for(&format!("/api/v1/search?q={}", encode(&q)), |b| b["total"] == 2);
    let events = all["events"].as_array().unwrap();
    let span = events
        .iter()
        .find(|e| e["source"] == "span_exception")
        .unwrap_or_else(|| panic!("no span exception: {all}"));
    assert_eq!(span["exception_type"], exception_type, "{span}");
    assert_eq!(span["span_name"], "POST /checkout", "{span}");
    assert_eq!(span["trace_id"].as_str().unwrap().len(), 32, "{span}");
    assert_eq!(span["environment"], "readme", "OTEL_RESOURCE_ATTRIBUTES is read: {span}");
    assert!(span["stacktrace"].as_str().unwrap().contains("charge"), "{span}");
    let log = events.iter().find(|e| e["source"] == "log").unwrap_or_else(|| panic!("no error log: {all}"));
    assert_eq!(log["level"], "error", "{log}");
    assert_eq!(log["exception_type"], exception_type, "{log}");
    assert!(log["stacktrace"].as_str().unwrap().contains("charge"), "{log}");
    assert_eq!(total(server, &format!("service:{service} source:log type:{exception_type}")), 1);
    let groups = server.get(&format!("/api/v1/groups?service={service}"));
    let groups = groups["groups"].as_array().unwrap();
    assert!(!groups.is_empty(), "no group for {service}");
    assert_eq!(groups.iter().map(|g| g["count"].as_u64().unwrap()).sum::<u64>(), 2, "{groups:?}");
    for group in groups {
        assert_eq!(group["exception_type"], exception_type, "{group}");
    }
}

fn python_app<'a>(dir: &'a TempDir, label: &'a str) -> App<'a> {
    App {
        label,
        program: sdk_app::python(),
        args: &["-B", "snippet.py"],
        dir: dir.path().to_path_buf(),
        clear_env: &["PYTHONPATH", "PYTHONWARNINGS"],
        extra_env: &[],
        missing_sdk: ("ModuleNotFoundError", "the SDK is not installed in target/sdk-venv: run scripts/test"),
    }
}

#[test]
fn python_snippet_sends_an_exception_and_an_error_log() {
    let snippet = tested_snippet("python-snippet", "python");
    let server = Server::start();
    let dir = TempDir::new("readme-python");
    std::fs::write(dir.path().join("snippet.py"), &snippet).unwrap();
    run_snippet(&server, &python_app(&dir, "the README's Python snippet"), "grpc", "readme-py");
    assert_span_and_log_events(&server, "readme-py", "KeyError");

    // Its comment: the same names from ...proto.http speak OTLP/HTTP.
    let http =
        snippet.replace("opentelemetry.exporter.otlp.proto.grpc.", "opentelemetry.exporter.otlp.proto.http.");
    assert_eq!(snippet.matches("opentelemetry.exporter.otlp.proto.grpc.").count(), 2, "{snippet}");
    std::fs::write(dir.path().join("snippet.py"), http).unwrap();
    run_snippet(
        &server,
        &python_app(&dir, "the README's Python snippet, HTTP exporters"),
        "http/protobuf",
        "readme-py-http",
    );
    assert_span_and_log_events(&server, "readme-py-http", "KeyError");
}

#[test]
fn node_snippet_sends_an_exception_and_an_error_log() {
    let snippet = tested_snippet("node-snippet", "js");
    let modules = node_modules();
    let node_path = modules.to_string_lossy().into_owned();
    let server = Server::start();
    let dir = TempDir::new("readme-node");
    std::fs::write(dir.path().join("snippet.js"), &snippet).unwrap();
    // The snippet reads the protocol from OTEL_EXPORTER_OTLP_PROTOCOL.
    for (protocol, service) in [("grpc", "readme-node-grpc"), ("http/protobuf", "readme-node-http")] {
        let app = App {
            label: "the README's Node snippet",
            program: "node".into(),
            args: &["snippet.js"],
            dir: dir.path().to_path_buf(),
            clear_env: &["NODE_OPTIONS", "NODE_PATH"],
            extra_env: &[("NODE_PATH", &node_path)],
            missing_sdk: (
                "Cannot find module",
                "the JS SDK is not installed in tests/sdk/node/node_modules: run scripts/test",
            ),
        };
        run_snippet(&server, &app, protocol, service);
        assert_span_and_log_events(&server, service, "TypeError");
    }
}
