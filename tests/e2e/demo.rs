//! `faultline demo` with the real binary: it starts the server on its own
//! (temporary) data directory and drives it over OTLP; what it produced is
//! checked through the API the web pages use.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use faultline_tests::{binary, free_port, Server, TempDir};
use serde_json::Value;

/// A demo process and what it printed.
struct Demo {
    child: Child,
    api: String,
    lines: mpsc::Receiver<String>,
}

impl Demo {
    /// Starts `faultline demo` on free ports and waits until it says it runs.
    fn start(extra: &[&str]) -> (Demo, Vec<String>) {
        let api_port = free_port();
        let mut child = Command::new(binary())
            .arg("demo")
            .args(["--api-addr", &format!("127.0.0.1:{api_port}")])
            .args(["--otlp-grpc-addr", &format!("127.0.0.1:{}", free_port())])
            .args(["--otlp-http-addr", &format!("127.0.0.1:{}", free_port())])
            .args(extra)
            .env("FAULTLINE_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut demo = Demo { child, api: format!("http://127.0.0.1:{api_port}"), lines };
        let running = format!("Faultline demo running: open http://127.0.0.1:{api_port}/ (Ctrl-C to stop)");
        let printed = demo.read_until(&running, Duration::from_secs(30));
        (demo, printed)
    }

    /// Lines printed until one equal to `wanted` (included).
    fn read_until(&mut self, wanted: &str, timeout: Duration) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let done = line == wanted;
                    seen.push(line);
                    if done {
                        return seen;
                    }
                }
                Err(_) => panic!("the demo did not print {wanted:?}; it printed {seen:?}"),
            }
        }
    }

    fn get(&self, path: &str) -> Value {
        let response = reqwest::blocking::get(format!("{}{path}", self.api)).unwrap();
        assert!(response.status().is_success(), "GET {path}: {}", response.status());
        response.json().unwrap()
    }

    fn wait_exit(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the demo did not exit within {timeout:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The data directory the demo's first line names.
fn data_dir(printed: &[String]) -> PathBuf {
    let first = printed.first().expect("the demo printed nothing");
    let rest = first.strip_prefix("Demo data in ").unwrap_or_else(|| panic!("first line: {first:?}"));
    PathBuf::from(rest.split(" (").next().unwrap())
}

/// What the API shows at one moment, as far as the demo should fill it.
#[derive(Debug, Default)]
struct Seen {
    services_with_groups: BTreeSet<String>,
    languages_with_frames: BTreeSet<String>,
    routes_with_figures: BTreeSet<String>,
    flaky_errors: u64,
    releases_per_group: usize,
    firing_rules: BTreeSet<String>,
    regression_alerted: bool,
}

impl Seen {
    fn complete(&self) -> bool {
        self.services_with_groups.len() >= 3
            && self.languages_with_frames.len() >= 3
            && self.routes_with_figures.len() >= 4
            && self.flaky_errors > 0
            && self.releases_per_group >= 2
            && !self.firing_rules.is_empty()
            && self.regression_alerted
    }
}

fn look(demo: &Demo) -> Seen {
    let mut seen = Seen::default();
    let groups = demo.get("/api/v1/groups?limit=1000")["groups"].as_array().unwrap().clone();
    let mut language_checked = BTreeSet::new();
    for group in &groups {
        let service = group["service"].as_str().unwrap().to_string();
        seen.services_with_groups.insert(service.clone());
        if group["first_release"] != group["last_release"] && !group["last_release"].is_null() {
            seen.releases_per_group = seen.releases_per_group.max(2);
        }
        // One exception group per service: its event's language, if the
        // server found frames in its stack trace (a culprit "module in function").
        let culprit = group["culprit"].as_str().unwrap_or_default();
        if !group["exception_type"].is_null() && culprit.contains(" in ") && language_checked.insert(service)
        {
            let event = demo.get(&format!("/api/v1/events/{}", group["last_event_seq"]));
            if event["stacktrace"].as_str().is_some_and(|s| s.lines().count() >= 3) {
                seen.languages_with_frames.insert(event["sdk_language"].as_str().unwrap().to_string());
            }
        }
    }
    for service in demo.get("/api/v1/services?window=24h")["services"].as_array().unwrap() {
        let name = service["service"].as_str().or(service["name"].as_str()).unwrap().to_string();
        let endpoints = demo.get(&format!("/api/v1/services/{name}/endpoints?window=24h"));
        for endpoint in endpoints["endpoints"].as_array().unwrap() {
            let route = format!(
                "{name} {} {}",
                endpoint["method"].as_str().unwrap(),
                endpoint["route"].as_str().unwrap()
            );
            if endpoint["requests"].as_u64().unwrap() > 0
                && endpoint["p95_ms"].as_f64().is_some_and(|p| p > 0.0)
            {
                seen.routes_with_figures.insert(route.clone());
            }
            if route == "payments POST /charges" {
                seen.flaky_errors = endpoint["errors"].as_u64().unwrap();
            }
        }
    }
    let alerts = demo.get("/api/v1/alerts");
    for alert in alerts["alerts"].as_array().unwrap() {
        if alert["state"] == "firing" {
            seen.firing_rules.insert(alert["rule_id"].as_str().unwrap().to_string());
        }
    }
    let history = alerts["history"].as_array().unwrap();
    seen.regression_alerted = alerts["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .chain(history)
        .any(|a| a["rule_id"] == "demo-regressions");
    seen
}

/// A short demo with a deploy every 6 s tells its whole story: issues in
/// four services with the stack traces of four runtimes, health figures
/// per route, new-issue alerts, and the bug that is resolved in one release
/// and comes back in the next, alerting as a regression. It then stops on
/// its own and removes its temporary data directory.
#[test]
fn demo_fills_groups_health_and_alerts_then_cleans_up() {
    let started = Instant::now();
    let (mut demo, printed) = Demo::start(&["--duration", "25s", "--deploy-every", "6s"]);
    let dir = data_dir(&printed);
    assert!(dir.is_dir(), "{dir:?} exists while the demo runs");
    let ready_after = started.elapsed();

    // The story is told by the third live release, 12 s in.
    let deadline = Instant::now() + Duration::from_secs(23);
    let mut seen = look(&demo);
    while !seen.complete() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_secs(1));
        seen = look(&demo);
    }
    eprintln!("ready after {ready_after:?}; complete after {:?}: {seen:#?}", started.elapsed());
    assert!(seen.services_with_groups.len() >= 3, "{seen:#?}");
    assert!(seen.languages_with_frames.len() >= 3, "{seen:#?}");
    assert!(seen.routes_with_figures.len() >= 4, "{seen:#?}");
    assert!(seen.flaky_errors > 0, "the flaky endpoint has 5xx: {seen:#?}");
    assert!(seen.releases_per_group >= 2, "groups seen in more than one release: {seen:#?}");
    assert!(!seen.firing_rules.is_empty(), "{seen:#?}");
    assert!(seen.regression_alerted, "the resolved issue came back and alerted: {seen:#?}");
    let groups = demo.get("/api/v1/groups?limit=1000")["groups"].as_array().unwrap().len();
    assert!(groups >= 20, "a long tail of issues, got {groups}");

    // --duration counts from the server being ready.
    let status = demo.wait_exit(Duration::from_secs(30));
    assert!(status.success(), "exit {status}");
    assert!(!dir.exists(), "the temporary data directory {dir:?} is removed on exit");
}

/// SIGTERM stops the demo cleanly (exit 0); a data directory given with
/// --data-dir is kept, and a server started on it later has the issues.
#[test]
fn sigterm_stops_the_demo_and_keeps_a_given_data_dir() {
    let tmp = TempDir::new("faultline-demo-keep");
    let dir = tmp.path().join("data");
    let (mut demo, printed) = Demo::start(&["--data-dir", dir.to_str().unwrap()]);
    assert_eq!(data_dir(&printed), dir);
    assert!(printed[0].ends_with("(kept on exit)"), "{printed:?}");
    let sent = Command::new("kill").args(["-TERM", &demo.child.id().to_string()]).status().unwrap();
    assert!(sent.success());
    let status = demo.wait_exit(Duration::from_secs(15));
    assert!(status.success(), "SIGTERM: exit {status}");
    drop(demo);

    let server = Server::start_in(Some(dir), &[]);
    assert!(!server.groups().is_empty(), "the demo's issues are in the kept data directory");
}

/// Ctrl-C (SIGINT) stops it the same way, and its temporary data
/// directory goes with it.
#[test]
fn ctrl_c_stops_the_demo_and_removes_its_temporary_data() {
    let (mut demo, printed) = Demo::start(&[]);
    let dir = data_dir(&printed);
    assert!(printed[0].ends_with("(removed on exit)"), "{printed:?}");
    assert!(dir.is_dir());
    let sent = Command::new("kill").args(["-INT", &demo.child.id().to_string()]).status().unwrap();
    assert!(sent.success());
    let status = demo.wait_exit(Duration::from_secs(15));
    assert!(status.success(), "SIGINT: exit {status}");
    assert!(!dir.exists(), "{dir:?} removed");
}
