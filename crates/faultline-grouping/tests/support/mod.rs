//! Loading the labelled corpus and scoring a grouping against its labels.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::PathBuf;

use faultline_model::{Attributes, ErrorEvent, EventSource};
use serde_json::Value;

/// One recorded error: its ground-truth label and the event built from it.
pub struct Sample {
    /// `<language>/<bug>`: same label, same bug.
    pub label: String,
    /// The `telemetry.sdk.language` value.
    pub language: String,
    /// The call path that reached the bug (`api.create`, `job.sync`, …).
    pub entry: String,
    /// `base` or `shifted` (lines moved, installed elsewhere).
    pub deploy: String,
    pub event: ErrorEvent,
}

pub fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

/// Every event of every `corpus/*.jsonl`, in file order.
pub fn load() -> Vec<Sample> {
    let mut files: Vec<PathBuf> = fs::read_dir(corpus_dir())
        .expect("corpus directory")
        .map(|entry| entry.expect("corpus entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "jsonl"))
        .collect();
    files.sort();
    let mut samples = Vec::new();
    for file in files {
        let text = fs::read_to_string(&file).expect("readable corpus file");
        for (index, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let value: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{}:{}: {e}", file.display(), index + 1));
            samples.push(sample(&value));
        }
    }
    samples
}

fn text(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_string)
}

fn required(value: &Value, key: &str) -> String {
    text(value, key).unwrap_or_else(|| panic!("corpus event without {key}: {value}"))
}

/// The event an OTel SDK would have sent: a recorded exception on a span.
fn sample(value: &Value) -> Sample {
    let language = required(value, "language");
    let event = ErrorEvent {
        seq: 0,
        group_id: 0,
        timestamp: 1_700_000_000_000_000_000,
        received_at: 1_700_000_000_000_000_000,
        source: EventSource::SpanException,
        service: required(value, "service"),
        service_version: None,
        environment: Some("corpus".into()),
        host: None,
        sdk_language: Some(language.clone()),
        trace_id: String::new(),
        span_id: String::new(),
        span_name: None,
        level: "error".into(),
        exception_type: text(value, "type"),
        message: text(value, "message"),
        stacktrace: Some(required(value, "stacktrace")),
        escaped: Some(true),
        http_route: None,
        http_method: None,
        http_status: None,
        attributes: Attributes::new(),
        resource: Attributes::new(),
    };
    Sample {
        label: required(value, "label"),
        language,
        entry: required(value, "entry"),
        deploy: required(value, "deploy"),
        event,
    }
}

/// Pairwise agreement between labels and fingerprints.
#[derive(Debug, Default, Clone, Copy)]
pub struct Scores {
    pub events: usize,
    pub labels: usize,
    pub groups: usize,
    /// Pairs with the same label and the same fingerprint.
    pub true_pairs: u64,
    /// Pairs with the same fingerprint.
    pub grouped_pairs: u64,
    /// Pairs with the same label.
    pub labelled_pairs: u64,
}

impl Scores {
    /// Of the pairs grouped together, the share that are one bug.
    pub fn precision(&self) -> f64 {
        ratio(self.true_pairs, self.grouped_pairs)
    }

    /// Of the pairs that are one bug, the share grouped together.
    pub fn recall(&self) -> f64 {
        ratio(self.true_pairs, self.labelled_pairs)
    }
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        1.0
    } else {
        part as f64 / whole as f64
    }
}

fn pairs(n: usize) -> u64 {
    let n = n as u64;
    n * n.saturating_sub(1) / 2
}

/// Scores `(label, fingerprint)` items by counting pairs per cell of the
/// contingency table, which is the same as comparing every pair.
pub fn score<'a>(items: impl IntoIterator<Item = (&'a str, &'a str)>) -> Scores {
    let mut cells: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let mut by_label: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_group: BTreeMap<&str, usize> = BTreeMap::new();
    let mut events = 0;
    for (label, fingerprint) in items {
        events += 1;
        *cells.entry((label, fingerprint)).or_default() += 1;
        *by_label.entry(label).or_default() += 1;
        *by_group.entry(fingerprint).or_default() += 1;
    }
    Scores {
        events,
        labels: by_label.len(),
        groups: by_group.len(),
        true_pairs: cells.values().map(|&n| pairs(n)).sum(),
        grouped_pairs: by_group.values().map(|&n| pairs(n)).sum(),
        labelled_pairs: by_label.values().map(|&n| pairs(n)).sum(),
    }
}

/// Keys of `outer` mapped to more than one distinct key of `inner`.
pub fn split<'a>(
    items: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> BTreeMap<&'a str, BTreeSet<&'a str>> {
    let mut map: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (outer, inner) in items {
        map.entry(outer).or_default().insert(inner);
    }
    map.retain(|_, inner| inner.len() > 1);
    map
}
