//! Freshness and new-issue alert latency, measured together while a load
//! runs: one export at a time carrying one error of a never-seen exception
//! type, so it is both a new issue (the webhook's alert names the type) and
//! findable by `type:<it>` once indexed.
//!
//! - freshness: from the export's acknowledgement to the first search
//!   answer that holds it (searched every 20 ms, so up to 20 ms coarse);
//! - alert: from just before the export is sent to the webhook request's
//!   arrival, stamped by the receiver (as `alert_latency.rs` does).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use faultline_tests::otlp::{exception_span, traces_request};
use faultline_tests::receiver::Arrival;
use prost::Message;

/// The service probes report as; the alert rule listens to it only, so the
/// load's own new issues do not reach the webhook.
pub const SERVICE: &str = "suite-probe";
/// How long one probe waits for its search hit or its alert.
const WAIT: Duration = Duration::from_secs(10);

/// What the probes measured, in milliseconds.
#[derive(Debug, Default)]
pub struct Samples {
    pub freshness_ms: Vec<f64>,
    pub alert_ms: Vec<f64>,
    pub sent: usize,
    pub not_searchable: usize,
    pub no_alert: usize,
}

/// Probe endpoints of the server.
pub struct Target {
    pub traces_url: String,
    pub search_url: String,
}

/// Probes one after another until `stop` is set; the webhook's requests
/// come in on `arrivals`.
pub fn run(target: Target, arrivals: mpsc::Receiver<Arrival>, stop: Arc<AtomicBool>) -> Samples {
    let client = reqwest::blocking::Client::new();
    let mut samples = Samples::default();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        let kind = exception_type(n);
        n += 1;
        probe(&client, &target, &arrivals, &kind, &mut samples);
        // A pause so probes sample the load rather than follow each other.
        std::thread::sleep(Duration::from_millis(100));
    }
    samples
}

fn probe(
    client: &reqwest::blocking::Client,
    target: &Target,
    arrivals: &mpsc::Receiver<Arrival>,
    kind: &str,
    samples: &mut Samples,
) {
    let span = exception_span("GET /probe", kind, "suite probe", vec![]);
    let body = traces_request(SERVICE, vec![span]).encode_to_vec();
    let sent = Instant::now();
    let response =
        client.post(&target.traces_url).header("content-type", "application/x-protobuf").body(body).send();
    let acked = match response {
        Ok(r) if r.status().is_success() => Instant::now(),
        // Refused under load: not a sample of either figure.
        _ => return,
    };
    samples.sent += 1;
    let mut alert_at = None;
    let mut searchable_at = None;
    let deadline = acked + WAIT;
    while Instant::now() < deadline && (alert_at.is_none() || searchable_at.is_none()) {
        while let Ok(arrival) = arrivals.try_recv() {
            if alert_at.is_none() && names(&arrival, kind) {
                alert_at = Some(arrival.at);
            }
        }
        if searchable_at.is_none() && found(client, &target.search_url, kind) {
            searchable_at = Some(Instant::now());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    match searchable_at {
        Some(at) => samples.freshness_ms.push(ms(at - acked)),
        None => samples.not_searchable += 1,
    }
    match alert_at {
        Some(at) => samples.alert_ms.push(ms(at.saturating_duration_since(sent))),
        None => samples.no_alert += 1,
    }
}

/// Whether a webhook request carries the firing alert of `kind`'s issue.
fn names(arrival: &Arrival, kind: &str) -> bool {
    let body = arrival.request.json();
    body["kind"] == "firing"
        && body["alerts"].as_array().is_some_and(|alerts| {
            alerts.iter().any(|a| a["title"].as_str().is_some_and(|t| t.contains(kind)))
        })
}

fn found(client: &reqwest::blocking::Client, url: &str, kind: &str) -> bool {
    let query = format!("type:{kind}");
    let Ok(response) = client.get(url).query(&[("q", query.as_str()), ("limit", "1")]).send() else {
        return false;
    };
    let body: serde_json::Value = response.json().unwrap_or_default();
    body["total"].as_u64().is_some_and(|t| t > 0)
}

/// A never-seen exception type per probe, letters only (grouping replaces
/// digits, and the search field matches exactly).
fn exception_type(i: usize) -> String {
    let mut letters = String::new();
    let mut n = i;
    for _ in 0..4 {
        letters.insert(0, char::from(b'A' + (n % 26) as u8));
        n /= 26;
    }
    format!("Probe{letters}Error")
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The alert rule and webhook channel of the probes, for the config file.
pub fn alert_config(webhook_port: u16) -> String {
    format!(
        r#"
[alerts]
public_url = "http://faultline.test"

[[alerts.channels]]
id = "hook"
name = "Suite webhook"
config = {{ kind = "webhook", url = "http://127.0.0.1:{webhook_port}/hook", secret = "suite" }}

[[alerts.rules]]
id = "new-issues"
kind = "new_group"
filter = {{ service = "{SERVICE}" }}
channels = ["hook"]
"#
    )
}
