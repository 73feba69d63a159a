//! Retries: which failures are retried, how long between tries, and that
//! every attempt is reported.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use faultline_alert::notify::{Channel, ChannelConfig, DeliveryAttempt, DeliveryError, DeliveryPolicy};

use crate::http_receiver::{Receiver, Reply};
use crate::support::{channel, deliver_recording, fast_policy, one_alert};

fn webhook(receiver: &Receiver) -> Channel {
    channel(ChannelConfig::Webhook { url: receiver.url("/hook"), secret: None, headers: BTreeMap::new() })
}

fn summary(attempts: &[DeliveryAttempt]) -> Vec<(u32, bool, Option<u16>)> {
    attempts.iter().map(|a| (a.attempt, a.ok, a.status_code)).collect()
}

#[tokio::test]
async fn server_errors_are_retried_with_growing_backoff() {
    let receiver = Receiver::start().await;
    receiver.script([Reply::Status(500), Reply::Status(502), Reply::Status(503)]);
    let policy = DeliveryPolicy {
        timeout: Duration::from_secs(5),
        max_attempts: 5,
        initial_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_secs(2),
    };
    let (result, attempts) = deliver_recording(&webhook(&receiver), &one_alert(), &policy).await;
    result.unwrap();
    assert_eq!(
        summary(&attempts),
        [(1, false, Some(500)), (2, false, Some(502)), (3, false, Some(503)), (4, true, Some(200))]
    );
    assert_eq!(attempts[0].error.as_deref(), Some("HTTP 500 Internal Server Error"));

    // Equal jitter: each wait is at least half its step (100, 200, 400 ms)
    // and at most the step.
    let times: Vec<Instant> = receiver.requests().iter().map(|r| r.at).collect();
    for (i, step_ms) in [100u64, 200, 400].into_iter().enumerate() {
        let gap = times[i + 1] - times[i];
        assert!(gap >= Duration::from_millis(step_ms / 2), "wait {i} was {gap:?}");
        assert!(gap < Duration::from_millis(step_ms + 300), "wait {i} was {gap:?}");
    }
    // Reported in order, each at its own start.
    assert!(attempts.windows(2).all(|w| w[0].at < w[1].at));
}

#[tokio::test]
async fn giving_up_after_max_attempts_reports_every_one() {
    let receiver = Receiver::start().await;
    receiver.script(std::iter::repeat_n(Reply::Status(500), 10));
    let (result, attempts) = deliver_recording(&webhook(&receiver), &one_alert(), &fast_policy(3)).await;
    assert_eq!(
        result,
        Err(DeliveryError::Exhausted { attempts: 3, error: "HTTP 500 Internal Server Error".into() })
    );
    assert_eq!(summary(&attempts), [(1, false, Some(500)), (2, false, Some(500)), (3, false, Some(500))]);
    assert_eq!(receiver.requests().len(), 3);
}

#[tokio::test]
async fn a_client_error_is_not_retried() {
    let receiver = Receiver::start().await;
    receiver.script([Reply::Body(400, "{\"error\":\"bad payload\"}".into())]);
    let (result, attempts) = deliver_recording(&webhook(&receiver), &one_alert(), &fast_policy(5)).await;
    let error = "HTTP 400 Bad Request: {\"error\":\"bad payload\"}".to_string();
    assert_eq!(result, Err(DeliveryError::Rejected { attempts: 1, error: error.clone() }));
    assert_eq!(summary(&attempts), [(1, false, Some(400))]);
    assert_eq!(attempts[0].error, Some(error));
    assert_eq!(receiver.requests().len(), 1);
}

#[tokio::test]
async fn a_timeout_is_retried_then_recorded_as_failed() {
    let receiver = Receiver::start().await;
    receiver.script(std::iter::repeat_n(Reply::Delay(Duration::from_secs(3)), 3));
    let policy = DeliveryPolicy {
        timeout: Duration::from_millis(300),
        max_attempts: 3,
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(50),
    };
    let started = Instant::now();
    let (result, attempts) = deliver_recording(&webhook(&receiver), &one_alert(), &policy).await;
    assert!(started.elapsed() < Duration::from_secs(3), "attempts were cut at the timeout");
    assert_eq!(result, Err(DeliveryError::Exhausted { attempts: 3, error: "timed out after 300ms".into() }));
    assert_eq!(summary(&attempts), [(1, false, None), (2, false, None), (3, false, None)]);
    for a in &attempts {
        assert_eq!(a.error.as_deref(), Some("timed out after 300ms"));
        assert!(a.duration_ms >= 290.0 && a.duration_ms < 2000.0, "{}", a.duration_ms);
    }
    assert_eq!(receiver.requests().len(), 3);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let receiver = Receiver::start().await;
    receiver.script([Reply::RetryAfter(429, "1".into())]);
    let policy = DeliveryPolicy { max_backoff: Duration::from_secs(5), ..fast_policy(3) };
    let (result, attempts) = deliver_recording(&webhook(&receiver), &one_alert(), &policy).await;
    result.unwrap();
    assert_eq!(summary(&attempts), [(1, false, Some(429)), (2, true, Some(200))]);
    let requests = receiver.requests();
    let gap = requests[1].at - requests[0].at;
    assert!(gap >= Duration::from_millis(950), "Retry-After: 1 but retried after {gap:?}");
    assert!(gap < Duration::from_secs(3), "{gap:?}");
}

#[tokio::test]
async fn retry_after_as_a_date_is_honoured() {
    let receiver = Receiver::start().await;
    // HTTP dates have whole seconds: 2 s ahead is between 1 and 2 s away.
    let at = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
    receiver.script([Reply::RetryAfter(503, at)]);
    let policy = DeliveryPolicy { max_backoff: Duration::from_secs(5), ..fast_policy(3) };
    deliver_recording(&webhook(&receiver), &one_alert(), &policy).await.0.unwrap();
    let requests = receiver.requests();
    let gap = requests[1].at - requests[0].at;
    assert!(gap >= Duration::from_millis(900), "{gap:?}");
    assert!(gap < Duration::from_secs(4), "{gap:?}");
}

#[tokio::test]
async fn retry_after_is_capped_at_max_backoff() {
    let receiver = Receiver::start().await;
    receiver.script([Reply::RetryAfter(429, "3600".into())]);
    let policy = DeliveryPolicy { max_backoff: Duration::from_millis(300), ..fast_policy(3) };
    let started = Instant::now();
    deliver_recording(&webhook(&receiver), &one_alert(), &policy).await.0.unwrap();
    let requests = receiver.requests();
    let gap = requests[1].at - requests[0].at;
    assert!(gap >= Duration::from_millis(280), "{gap:?}");
    assert!(started.elapsed() < Duration::from_secs(3), "an hour's Retry-After waited {gap:?}");
}

#[tokio::test]
async fn an_invalid_channel_sends_nothing() {
    let bad =
        channel(ChannelConfig::Webhook { url: "not a url".into(), secret: None, headers: BTreeMap::new() });
    let (result, attempts) = deliver_recording(&bad, &one_alert(), &fast_policy(3)).await;
    assert!(matches!(result, Err(DeliveryError::InvalidChannel(_))), "{result:?}");
    assert_eq!(
        result.unwrap_err().to_string(),
        "invalid channel: url is not a usable URL: relative URL without a base"
    );
    assert!(attempts.is_empty());
}

#[tokio::test]
async fn attempts_serialize_for_the_history() {
    let receiver = Receiver::start().await;
    let (_, attempts) = deliver_recording(&webhook(&receiver), &one_alert(), &fast_policy(1)).await;
    let json = serde_json::to_value(&attempts[0]).unwrap();
    assert_eq!(json["channel_id"], "ch-1");
    assert_eq!(json["notification_id"], "n-0001");
    assert_eq!(json["attempt"], 1);
    assert_eq!(json["ok"], true);
    assert_eq!(json["status_code"], 200);
    assert!(json["at"].as_str().unwrap().ends_with('Z'), "{json}");
    let back: DeliveryAttempt = serde_json::from_value(json).unwrap();
    assert_eq!(back, attempts[0]);
}

#[test]
fn delivery_can_run_on_a_spawned_task() {
    // The server runs deliveries with tokio::spawn: the future must be Send.
    fn assert_send<T: Send>(_: T) {}
    let channel = channel(ChannelConfig::Slack { webhook_url: "https://hooks.example.com/x".into() });
    let n = one_alert();
    let policy = DeliveryPolicy::default();
    assert_send(faultline_alert::notify::deliver(&channel, &n, &policy, |_| {}));
}

#[test]
fn the_default_policy_is_the_documented_one() {
    let p = DeliveryPolicy::default();
    assert_eq!(p.timeout, Duration::from_secs(10));
    assert_eq!(p.max_attempts, 5);
    assert_eq!(p.initial_backoff, Duration::from_secs(1));
    assert_eq!(p.max_backoff, Duration::from_secs(60));
}
