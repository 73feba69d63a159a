//! HTTP checks against a local axum server whose answer is switched.

use std::time::Duration;

use faultline_probe::{run, Check, Probe, StatusSpec};

use crate::support::{closed_port, HttpTarget, SilentTarget, TlsTarget};

fn http_check(url: String, edit: impl FnOnce(&mut faultline_probe::HttpProbe)) -> Check {
    let mut check = Check::http("web", url);
    check.timeout = Duration::from_secs(5);
    if let Probe::Http(http) = &mut check.probe {
        edit(http);
    }
    check
}

#[tokio::test]
async fn a_healthy_target_passes_and_reports_its_status() {
    let target = HttpTarget::start().await;
    let result = run(&http_check(target.url("/"), |_| {})).await;
    assert!(result.ok, "{result:?}");
    assert_eq!((result.status_code, result.error.as_deref()), (Some(200), None));
    assert_eq!(result.check_id, "web");
    assert!(result.latency_ms > 0.0 && result.latency_ms < 5_000.0);
    assert!(result.at > 0);
}

#[tokio::test]
async fn an_unexpected_status_fails_with_the_code() {
    let target = HttpTarget::start().await;
    let check = http_check(target.url("/"), |h| h.expected_status = StatusSpec::range(200, 299).unwrap());
    target.set(503, "down");
    let result = run(&check).await;
    assert!(!result.ok);
    assert_eq!(result.status_code, Some(503));
    assert_eq!(result.error.as_deref(), Some("expected status 200-299, got 503"));

    // And recovers when the target does.
    target.set(200, "ok");
    assert!(run(&check).await.ok);
}

#[tokio::test]
async fn a_missing_keyword_fails_even_with_a_good_status() {
    let target = HttpTarget::start().await;
    let check = http_check(target.url("/"), |h| h.body_contains = Some("ok".to_owned()));
    assert!(run(&check).await.ok);
    target.set(200, "status: degraded");
    let result = run(&check).await;
    assert!(!result.ok);
    assert_eq!(result.status_code, Some(200));
    assert_eq!(result.error.as_deref(), Some("body does not contain \"ok\""));
}

#[tokio::test]
async fn configured_headers_are_sent() {
    let target = HttpTarget::start().await;
    let check = http_check(target.url("/"), |h| {
        h.headers.insert("X-Probe-Token".to_owned(), "s3cret".to_owned());
    });
    assert!(run(&check).await.ok);
    assert_eq!(target.answer.last_token.lock().unwrap().as_deref(), Some("s3cret"));
}

#[tokio::test]
async fn redirects_are_judged_not_followed() {
    let target = HttpTarget::start().await;
    let result = run(&http_check(target.url("/moved"), |_| {})).await;
    assert_eq!((result.ok, result.status_code), (true, Some(302)));
    let strict = http_check(target.url("/moved"), |h| h.expected_status = "200".parse().unwrap());
    assert_eq!(run(&strict).await.error.as_deref(), Some("expected status 200, got 302"));
}

#[tokio::test]
async fn a_closed_port_is_connection_refused() {
    let addr = closed_port().await;
    let result = run(&http_check(format!("http://{addr}/"), |_| {})).await;
    assert!(!result.ok);
    assert_eq!(result.status_code, None);
    assert_eq!(result.error.as_deref(), Some("connection refused"));
}

#[tokio::test]
async fn a_target_that_never_answers_times_out() {
    let silent = SilentTarget::start().await;
    let mut check = http_check(format!("http://{}/", silent.addr), |_| {});
    check.timeout = Duration::from_millis(300);
    let result = run(&check).await;
    assert!(!result.ok);
    assert_eq!(result.error.as_deref(), Some("timed out after 300ms"));
    assert!(result.latency_ms >= 290.0 && result.latency_ms < 3_000.0, "{}", result.latency_ms);
}

#[tokio::test]
async fn https_verifies_certificates_unless_told_not_to() {
    let target = TlsTarget::start(90).await;
    let url = format!("https://{}/", target.address());

    let verified = run(&http_check(url.clone(), |_| {})).await;
    assert!(!verified.ok, "a self-signed certificate must not pass verification");
    let error = verified.error.unwrap_or_default();
    assert!(error.starts_with("TLS error: invalid peer certificate"), "{error}");

    let insecure = run(&http_check(url, |h| h.tls_insecure = true)).await;
    assert!(insecure.ok, "{insecure:?}");
    assert_eq!(insecure.status_code, Some(200));
}
