//! Issue 5: how long from the OTLP export that causes a new-issue or
//! regression alert to the moment its webhook channel has the request.
//!
//! The real `faultline` binary runs with a `new_group` rule and a
//! `regression` rule delivering to a webhook. The webhook's far end is a
//! small HTTP server in this bench that timestamps each request with
//! `Instant` as soon as its body has been read, so the figures are not
//! blurred by polling. Each alert is matched to its export by the issue's
//! unique exception type (new issues) or its group id (regressions).
//!
//! - new issues: `NEW_GROUPS` sequential OTLP/HTTP exports, each carrying
//!   one error of a never-seen exception type; the next export is sent
//!   once the previous alert arrived (or timed out);
//! - regressions: for `REGRESSIONS` of those issues, `PATCH
//!   /api/v1/groups/{id} {"status":"resolved"}`, wait for the resolved
//!   notice, then export one more event of the issue.
//!
//! Latency is taken from just before the export is sent ("from send") and
//! from when its 200 answer has been read ("from ack"). The server hands
//! alerts to delivery before it answers the export, so "from ack" can be
//! negative. The bench prints figures and asserts nothing about timing.
//!
//! Run: `cargo bench -p faultline-benches --bench alert_latency`.
//!
//! It runs the `faultline` binary of the bench's own profile (release under
//! `cargo bench`), which `faultline_tests::binary()` builds when needed.
#![allow(clippy::unwrap_used)]

use std::sync::mpsc;
use std::time::{Duration, Instant};

use faultline_tests::otlp::{exception_span, traces_request};
use faultline_tests::receiver::{start_stamped as start_receiver, Arrival};
use faultline_tests::{Server, TempDir};
use prost::Message;
use serde_json::Value;

const NEW_GROUPS: usize = 200;
const REGRESSIONS: usize = 50;
/// How long one alert is waited for before it counts as missing.
const WAIT: Duration = Duration::from_secs(5);
const SERVICE: &str = "latency-bench";

fn config(port: u16) -> String {
    format!(
        r#"
[alerts]
public_url = "http://faultline.test"

[[alerts.channels]]
id = "hook"
name = "Bench webhook"
config = {{ kind = "webhook", url = "http://127.0.0.1:{port}/hook", secret = "bench" }}

[[alerts.rules]]
id = "new-issues"
kind = "new_group"
channels = ["hook"]

[[alerts.rules]]
id = "regressions"
kind = "regression"
channels = ["hook"]
"#
    )
}

/// A never-seen exception type per index, letters only (grouping replaces
/// digits in messages, and a type should not depend on that).
fn exception_type(i: usize) -> String {
    let mut letters = String::new();
    let mut n = i;
    for _ in 0..3 {
        letters.insert(0, char::from(b'A' + (n % 26) as u8));
        n /= 26;
    }
    format!("Latency{letters}Error")
}

/// Sends one export carrying one error of `exception_type`; returns when
/// it was sent and when its answer was read.
fn export(client: &reqwest::blocking::Client, url: &str, exception_type: &str) -> (Instant, Instant) {
    let span = exception_span("GET /bench", exception_type, "bench failure", vec![]);
    let body = traces_request(SERVICE, vec![span]).encode_to_vec();
    let sent = Instant::now();
    let response =
        client.post(url).header("content-type", "application/x-protobuf").body(body).send().unwrap();
    let status = response.status();
    let _ = response.bytes().unwrap();
    let acked = Instant::now();
    assert!(status.is_success(), "export answered {status}");
    (sent, acked)
}

/// The alerts of one webhook request: (rule id, kind, alert).
fn alerts_of(arrival: &Arrival) -> Vec<(String, String, Value)> {
    let body = arrival.request.json();
    let rule = body["rule"]["id"].as_str().unwrap_or_default().to_string();
    let kind = body["kind"].as_str().unwrap_or_default().to_string();
    body["alerts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|a| (rule.clone(), kind.clone(), a))
        .collect()
}

/// Waits for a request holding an alert that `matches`; other requests
/// are counted in `other` and dropped.
fn wait_for(
    rx: &mpsc::Receiver<Arrival>,
    other: &mut usize,
    matches: impl Fn(&str, &str, &Value) -> bool,
) -> Option<(Instant, Value)> {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        let arrival = rx.recv_timeout(left).ok()?;
        if arrival.request.path != "/hook" {
            *other += 1;
            continue;
        }
        if let Some((_, _, alert)) = alerts_of(&arrival).into_iter().find(|(r, k, a)| matches(r, k, a)) {
            return Some((arrival.at, alert));
        }
        *other += 1;
    }
}

/// Milliseconds from `from` to `to`, negative when `to` came first.
fn signed_ms(from: Instant, to: Instant) -> f64 {
    if to >= from {
        (to - from).as_secs_f64() * 1000.0
    } else {
        -((from - to).as_secs_f64() * 1000.0)
    }
}

#[derive(Default)]
struct Samples {
    from_send: Vec<f64>,
    from_ack: Vec<f64>,
    missing: usize,
}

impl Samples {
    fn add(&mut self, sent: Instant, acked: Instant, arrived: Instant) {
        self.from_send.push(signed_ms(sent, arrived));
        self.from_ack.push(signed_ms(acked, arrived));
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    // Nearest rank.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

fn print_row(what: &str, values: &[f64], expected: usize) {
    if values.is_empty() {
        println!("{what:<26} count 0 of {expected}");
        return;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let under = sorted.iter().filter(|&&v| v < 1000.0).count();
    println!(
        "{what:<26} count {:>3}  min {:>7.2}  p50 {:>7.2}  p90 {:>7.2}  p99 {:>7.2}  max {:>7.2} ms  under 1 s: {:.1}% ({under} of {expected})",
        sorted.len(),
        sorted[0],
        percentile(&sorted, 50.0),
        percentile(&sorted, 90.0),
        percentile(&sorted, 99.0),
        sorted[sorted.len() - 1],
        100.0 * under as f64 / expected as f64,
    );
}

fn main() {
    let (port, rx) = start_receiver();
    let tmp = TempDir::new("faultline-alert-latency");
    let path = tmp.path().join("alerts.toml");
    std::fs::write(&path, config(port)).unwrap();
    let server = Server::start_with(&["--config", path.to_str().unwrap()]);
    let started = Instant::now();
    let client = reqwest::blocking::Client::new();
    let traces = server.http_url("/v1/traces");
    let mut other = 0;

    // New issues: one per export.
    let mut new_groups = Samples::default();
    let mut group_ids: Vec<(usize, u64)> = Vec::new();
    for i in 0..NEW_GROUPS {
        let kind = exception_type(i);
        let (sent, acked) = export(&client, &traces, &kind);
        let found = wait_for(&rx, &mut other, |rule, k, alert| {
            rule == "new-issues"
                && k == "firing"
                && alert["title"].as_str().is_some_and(|t| t.contains(&kind))
        });
        match found {
            Some((arrived, alert)) => {
                new_groups.add(sent, acked, arrived);
                if let Some(id) = alert["group_id"].as_u64() {
                    group_ids.push((i, id));
                }
            }
            None => new_groups.missing += 1,
        }
    }

    // Regressions: resolve an issue, then one more event of it.
    let mut regressions = Samples::default();
    let mut resolved_missing = 0;
    for &(i, id) in group_ids.iter().take(REGRESSIONS) {
        let url = server.api_url(&format!("/api/v1/groups/{id}"));
        let response = client.patch(url).json(&serde_json::json!({"status": "resolved"})).send().unwrap();
        assert!(response.status().is_success(), "PATCH group {id}: {}", response.status());
        let resolved = wait_for(&rx, &mut other, |rule, k, alert| {
            rule == "new-issues" && k == "resolved" && alert["group_id"].as_u64() == Some(id)
        });
        if resolved.is_none() {
            resolved_missing += 1;
        }
        let (sent, acked) = export(&client, &traces, &exception_type(i));
        let found = wait_for(&rx, &mut other, |rule, k, alert| {
            rule == "regressions" && k == "firing" && alert["group_id"].as_u64() == Some(id)
        });
        match found {
            Some((arrived, _)) => regressions.add(sent, acked, arrived),
            None => regressions.missing += 1,
        }
    }
    let elapsed = started.elapsed();

    println!();
    println!(
        "alert latency: export over OTLP/HTTP -> webhook request fully received ({} new issues, {} regressions, {:.1} s)",
        NEW_GROUPS,
        REGRESSIONS.min(group_ids.len()),
        elapsed.as_secs_f64()
    );
    print_row("new issue, from send", &new_groups.from_send, NEW_GROUPS);
    print_row("new issue, from ack", &new_groups.from_ack, NEW_GROUPS);
    let expected = REGRESSIONS.min(group_ids.len());
    print_row("regression, from send", &regressions.from_send, expected);
    print_row("regression, from ack", &regressions.from_ack, expected);
    println!(
        "missing after {} s: {} new-issue, {} regression alerts; {} resolved notices; {} other requests",
        WAIT.as_secs(),
        new_groups.missing,
        regressions.missing,
        resolved_missing,
        other
    );
    drop(server);
}
