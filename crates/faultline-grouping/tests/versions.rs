//! Grouping version 2 and the fingerprints it keeps from version 1.
//!
//! Version 2 hashes one frame where version 1 hashed up to five, so almost
//! every stack-trace event changes fingerprint; each names version 1's in
//! `previous_fingerprints` so it joins the issue version 1 made. The
//! expected digests below were computed outside Faultline (SHA-256 over
//! length-prefixed components, see `fingerprint.rs`), which pins version 1
//! as frozen: if one changes, stored issues would split on upgrade.

#![allow(clippy::unwrap_used)]

use faultline_grouping::{FingerprintRule, Grouper, GroupingConfig, GROUPING_VERSION};
use faultline_model::{ErrorEvent, EventSource, Grouping};

/// `views.handle` → `orders.create` → `orders.parse_quantity` under Flask.
const TRACE: &str = r#"Traceback (most recent call last):
  File "/usr/local/lib/python3.12/site-packages/flask/app.py", line 1484, in full_dispatch_request
    rv = self.dispatch_request()
  File "/srv/app/views.py", line 10, in handle
    return orders.create(payload)
  File "/srv/app/orders.py", line 30, in create
    qty = parse_quantity(payload["qty"])
  File "/srv/app/orders.py", line 42, in parse_quantity
    return int(raw)
ValueError: invalid literal for int() with base 10: 'abc'
"#;

/// digest(["stacktrace", "checkout", "ValueError", "app.orders|parse_quantity",
/// "app.orders|create", "app.views|handle"]): version 1, three in-app frames.
const V1: &str = "64d0dc9d037c6607516d3d92839ac4d6";
/// digest(["stacktrace", "checkout", "ValueError", "app.orders|parse_quantity"]).
const V2: &str = "0d8c72a2626b7bbf5e8aa4a831aae144";

fn event(trace: &str) -> ErrorEvent {
    ErrorEvent {
        sdk_language: Some("python".into()),
        exception_type: Some("ValueError".into()),
        message: Some("invalid literal for int() with base 10: 'abc'".into()),
        stacktrace: Some(trace.into()),
        ..ErrorEvent::blank("checkout", EventSource::SpanException, 1_700_000_000_000_000_000)
    }
}

fn group(trace: &str) -> Grouping {
    Grouper::new().group(&event(trace))
}

#[test]
fn version_2_names_the_fingerprint_version_1_gave() {
    let grouping = group(TRACE);
    assert_eq!((grouping.version, GROUPING_VERSION), (2, 2));
    assert_eq!(grouping.fingerprint, V2);
    assert_eq!(grouping.previous_fingerprints, [V1]);
}

#[test]
fn entry_points_no_longer_split_an_issue() {
    let from_a_job =
        TRACE.replace("/srv/app/views.py\", line 10, in handle", "/srv/app/jobs.py\", line 7, in sync");
    let grouping = group(&from_a_job);
    assert_eq!(grouping.fingerprint, V2, "one issue, whoever called it");
    assert_ne!(grouping.previous_fingerprints, [V1], "version 1 made a second issue");
}

#[test]
fn nothing_is_listed_when_both_versions_agree() {
    let one_frame = "Traceback (most recent call last):\n  File \"/srv/app/orders.py\", line 42, in parse_quantity\n    return int(raw)\nValueError: x\n";
    let grouping = group(one_frame);
    assert_eq!(grouping.fingerprint, V2);
    assert!(grouping.previous_fingerprints.is_empty());
    let message_only = group("not a stack trace");
    assert_eq!(message_only.method, "message");
    assert!(message_only.previous_fingerprints.is_empty());
}

#[test]
fn rules_extending_the_default_get_version_1_s_default_too() {
    let rule = FingerprintRule {
        exception_type: Some("ValueError".into()),
        fingerprint: vec!["{{ default }}".into(), "tenant-a".into()],
        ..FingerprintRule::default()
    };
    let grouper = Grouper::with_config(GroupingConfig { rules: vec![rule] }).unwrap();
    let grouping = grouper.group(&event(TRACE));
    assert_eq!(grouping.method, "custom");
    // digest(["custom", "checkout", V2, "tenant-a"]) and the same over V1.
    assert_eq!(grouping.fingerprint, "7e523af74dbb9d31e51715f618b0c7e7");
    assert_eq!(grouping.previous_fingerprints, ["d58a5cebfe4db172df7711348c9dd8da"]);
}
