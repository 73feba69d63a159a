#![allow(clippy::unwrap_used)]

use serde_json::json;

use super::*;
use crate::parse_envelope;

// Captured from sentry-sdk 2.75.0 (tests/sdk/python/sentry_transactions.py
// with --capture): `start_transaction(op="http.server", name="GET /items/{id}")`
// with `set_http_status(500)` / `(404)`, and a `queue.task` transaction.
const SERVER_ERROR: &[u8] = include_bytes!("../../tests/fixtures/python_transaction_500.envelope");
const NOT_FOUND: &[u8] = include_bytes!("../../tests/fixtures/python_transaction_404.envelope");
const JOB: &[u8] = include_bytes!("../../tests/fixtures/python_transaction_job.envelope");

fn project() -> Project {
    Project { service: "shop-py".into(), environment: Some("prod".into()) }
}

fn only_transaction(body: &[u8]) -> Map<String, Value> {
    let envelope = parse_envelope(body).unwrap();
    assert_eq!(envelope.dropped().count(), 0, "a transaction is not dropped");
    let mut transactions = envelope.transactions();
    assert_eq!(transactions.len(), 1);
    transactions.remove(0).unwrap()
}

fn sample(transaction: &Value) -> Option<HealthSample> {
    transaction_sample(transaction.as_object().unwrap(), &project())
}

#[test]
fn a_real_failed_transaction_is_a_server_error_of_its_route() {
    let transaction = only_transaction(SERVER_ERROR);
    let sample = transaction_sample(&transaction, &project()).unwrap();
    let expected_key = HealthKey {
        service: "shop-py".into(),
        environment: "staging".into(),
        route: "/items/{id}".into(),
        method: "GET".into(),
    };
    assert_eq!(sample.key, expected_key);
    assert_eq!(sample.outcome, Outcome::ServerError);
    // The envelope's own times: 23:13:59.604206 to 23:13:59.654687.
    assert_eq!(sample.at, faultline_model::parse_rfc3339("2026-12-05T23:13:59.654687Z").unwrap());
    assert!((sample.duration_ms - 50.481).abs() < 1e-6, "{}", sample.duration_ms);
}

#[test]
fn a_real_404_is_a_client_error_not_a_failure() {
    let transaction = only_transaction(NOT_FOUND);
    assert_eq!(transaction["contexts"]["trace"]["status"], "not_found");
    let sample = transaction_sample(&transaction, &project()).unwrap();
    assert_eq!(sample.outcome, Outcome::ClientError);
    assert_eq!((sample.key.method.as_str(), sample.key.route.as_str()), ("GET", "/items/{id}"));
}

#[test]
fn a_real_job_is_counted_under_its_name_without_a_method() {
    let transaction = only_transaction(JOB);
    let sample = transaction_sample(&transaction, &project()).unwrap();
    assert_eq!((sample.key.method.as_str(), sample.key.route.as_str()), ("", "nightly-report"));
    assert_eq!(sample.outcome, Outcome::Ok);
    assert!(sample.duration_ms > 0.0);
}

#[test]
fn the_method_comes_from_the_request_when_the_name_has_none() {
    let base = json!({
        "transaction": "/items/<id>",
        "start_timestamp": 1_700_000_000.0,
        "timestamp": 1_700_000_000.25,
        "request": {"method": "post"},
        "contexts": {"trace": {"op": "http.server", "status": "ok"}},
    });
    let s = sample(&base).unwrap();
    assert_eq!((s.key.method.as_str(), s.key.route.as_str()), ("POST", "/items/<id>"));
    assert_eq!(s.key.environment, "prod", "the project's environment when the transaction has none");
    assert!((s.duration_ms - 250.0).abs() < 1e-3, "{}", s.duration_ms);
    assert_eq!(s.outcome, Outcome::Ok);

    let mut from_data = base.clone();
    from_data.as_object_mut().unwrap().remove("request");
    from_data["contexts"]["trace"]["data"] = json!({"http.request.method": "DELETE"});
    assert_eq!(sample(&from_data).unwrap().key.method, "DELETE");
    let mut from_tag = base.clone();
    from_tag.as_object_mut().unwrap().remove("request");
    from_tag["tags"] = json!([["http.method", "PUT"]]);
    assert_eq!(sample(&from_tag).unwrap().key.method, "PUT");
    // A name whose first word is no HTTP method is a route as a whole.
    let mut named = base.clone();
    named["transaction"] = json!("process orders");
    assert_eq!(sample(&named).unwrap().key.route, "process orders");
}

#[test]
fn status_and_http_codes_classify_as_for_spans() {
    let with = |status: Value, code: Value| {
        let mut t = json!({"transaction": "GET /a", "start_timestamp": 1.0, "timestamp": 2.0,
                           "contexts": {"trace": {"status": status}}});
        if !code.is_null() {
            t["contexts"]["response"] = json!({"status_code": code});
        }
        sample(&t).unwrap().outcome
    };
    assert_eq!(with(json!("ok"), Value::Null), Outcome::Ok);
    assert_eq!(with(json!("internal_error"), Value::Null), Outcome::ServerError);
    assert_eq!(with(json!("unavailable"), Value::Null), Outcome::ServerError);
    assert_eq!(with(json!("permission_denied"), Value::Null), Outcome::Ok, "the caller's doing, no code");
    assert_eq!(with(json!("ok"), json!(503)), Outcome::ServerError);
    assert_eq!(with(json!("ok"), json!("429")), Outcome::ClientError);
    assert_eq!(with(json!("internal_error"), json!(404)), Outcome::ServerError, "a failure wins");
    let tagged = json!({"transaction": "GET /a", "start_timestamp": 1.0, "timestamp": 2.0,
                        "tags": {"http.status_code": "502"}});
    assert_eq!(sample(&tagged).unwrap().outcome, Outcome::ServerError);
}

#[test]
fn transactions_without_sane_times_are_not_counted() {
    for (start, end) in [(json!(2.0), json!(1.0)), (json!(null), json!(1.0)), (json!(1.0), json!("soon"))] {
        let t = json!({"transaction": "GET /a", "start_timestamp": start, "timestamp": end});
        assert_eq!(sample(&t), None, "{t}");
    }
    let two_days = json!({"transaction": "GET /a", "start_timestamp": 1.0, "timestamp": 172_801.0});
    assert_eq!(sample(&two_days), None);
}

#[test]
fn long_names_are_cut_on_a_character_boundary() {
    let name = format!("GET /{}", "é".repeat(300));
    let t = json!({"transaction": name, "start_timestamp": 1.0, "timestamp": 2.0});
    let route = sample(&t).unwrap().key.route;
    assert!(route.len() <= MAX_KEY_PART_LEN && route.starts_with("/é"), "{}", route.len());
}
