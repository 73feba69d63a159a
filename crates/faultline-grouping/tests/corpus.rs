//! Grouping measured against a labelled corpus of real stack traces.
//!
//! `corpus/*.jsonl` holds errors recorded from small programs, one per
//! runtime (see `corpus/record.sh`): each bug reached through several call
//! paths and recorded in two deploys (lines moved, installed elsewhere),
//! labelled `<language>/<bug>`. Grouping should put exactly the events of
//! one label into one group. Scores are pairwise over all events:
//! precision = same-label pairs among same-fingerprint pairs, recall =
//! same-fingerprint pairs among same-label pairs.
//!
//! `cargo test -p faultline-grouping --test corpus -- --nocapture` prints
//! the scores and every label split into several groups or group holding
//! several labels.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::{BTreeMap, BTreeSet};

use faultline_grouping::stacktrace::{self, Language};
use faultline_grouping::Grouper;
use faultline_model::Grouping;
use support::{load, score, split, Sample, Scores};

/// The bar for precision and recall, overall and for every language.
const MINIMUM: f64 = 0.98;

fn group_all(samples: &[Sample]) -> Vec<Grouping> {
    let grouper = Grouper::new();
    samples.iter().map(|s| grouper.group(&s.event)).collect()
}

fn print_scores(name: &str, s: &Scores) {
    println!(
        "{name:<10} {:>6} {:>6} {:>6} {:>9.4} {:>9.4}",
        s.events,
        s.labels,
        s.groups,
        s.precision(),
        s.recall()
    );
}

/// Labels split over several groups and groups holding several labels,
/// with what tells the pieces apart.
fn print_offenders(samples: &[Sample], groupings: &[Grouping]) {
    let pairs = || samples.iter().zip(groupings);
    let describe = |fingerprint: &str| {
        let members: Vec<_> = pairs().filter(|(_, g)| g.fingerprint == fingerprint).collect();
        let culprit = members.first().map(|(_, g)| g.culprit.clone()).unwrap_or_default();
        let method = members.first().map(|(_, g)| g.method.clone()).unwrap_or_default();
        let paths: BTreeSet<String> =
            members.iter().map(|(s, _)| format!("{}@{}", s.entry, s.deploy)).collect();
        format!("{} ×{} {method} `{culprit}` {paths:?}", &fingerprint[..8], members.len())
    };
    let label_groups = split(pairs().map(|(s, g)| (s.label.as_str(), g.fingerprint.as_str())));
    for (label, fingerprints) in &label_groups {
        println!("SPLIT {label} into {} groups:", fingerprints.len());
        for fingerprint in fingerprints {
            println!("    {}", describe(fingerprint));
        }
    }
    let group_labels = split(pairs().map(|(s, g)| (g.fingerprint.as_str(), s.label.as_str())));
    for (fingerprint, labels) in &group_labels {
        println!("MERGED {labels:?} in {}", describe(fingerprint));
    }
}

#[test]
fn grouping_matches_the_labels() {
    let samples = load();
    let groupings = group_all(&samples);
    let mut by_language: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
    for (sample, grouping) in samples.iter().zip(&groupings) {
        by_language.entry(&sample.language).or_default().push((&sample.label, &grouping.fingerprint));
    }
    println!(
        "{:<10} {:>6} {:>6} {:>6} {:>9} {:>9}",
        "language", "events", "labels", "groups", "precision", "recall"
    );
    let mut failures = Vec::new();
    for (language, items) in &by_language {
        let scores = score(items.iter().copied());
        print_scores(language, &scores);
        if scores.precision() < MINIMUM || scores.recall() < MINIMUM {
            failures.push(language.to_string());
        }
    }
    let overall =
        score(samples.iter().zip(&groupings).map(|(s, g)| (s.label.as_str(), g.fingerprint.as_str())));
    print_scores("overall", &overall);
    print_offenders(&samples, &groupings);
    assert!(overall.precision() >= MINIMUM && overall.recall() >= MINIMUM, "overall {overall:?}");
    assert!(failures.is_empty(), "below {MINIMUM} in {failures:?}");
}

#[test]
fn the_corpus_is_large_and_labels_repeat_across_paths_and_deploys() {
    let samples = load();
    assert!(samples.len() >= 150, "{} events", samples.len());
    let mut seen: BTreeMap<&str, (BTreeSet<&str>, BTreeSet<&str>)> = BTreeMap::new();
    for sample in &samples {
        let (entries, deploys) = seen.entry(&sample.label).or_default();
        entries.insert(&sample.entry);
        deploys.insert(&sample.deploy);
    }
    for (label, (entries, deploys)) in &seen {
        assert!(entries.len() >= 3, "{label} reached from {entries:?}");
        assert!(deploys.len() >= 2, "{label} recorded in {deploys:?}");
    }
    let languages: BTreeSet<&str> = samples.iter().map(|s| s.language.as_str()).collect();
    assert_eq!(languages.len(), Language::ALL.len(), "{languages:?}");
}

#[test]
fn every_corpus_event_groups_by_its_stack() {
    let samples = load();
    for (sample, grouping) in samples.iter().zip(group_all(&samples)) {
        assert_eq!(grouping.method, "stacktrace", "{} via {}@{}", sample.label, sample.entry, sample.deploy);
    }
}

#[test]
fn every_corpus_trace_is_recognized_without_a_hint() {
    for sample in load() {
        let text = sample.event.stacktrace.as_deref().unwrap_or_default();
        let what = format!("{} via {}@{}", sample.label, sample.entry, sample.deploy);
        assert!(!stacktrace::parse(text, None).is_empty(), "no frames in {what}");
        let sniffed = stacktrace::parse_trace(text, None).language;
        assert_eq!(sniffed, Language::from_hint(&sample.language), "{what}");
    }
}
