//! The Slack channel against a real HTTP receiver standing in for Slack.

use faultline_alert::notify::{render_slack, ChannelConfig, DeliveryError};

use crate::http_receiver::{Receiver, Reply};
use crate::support::{alert, channel, deliver_recording, fast_policy, notification};

#[tokio::test]
async fn posts_block_kit_to_the_incoming_webhook() {
    let receiver = Receiver::start().await;
    let n = notification((0..12).map(|i| alert(&format!("k{i}"), &format!("alert {i}"))).collect());
    let config = ChannelConfig::Slack { webhook_url: receiver.url("/services/T000/B000/XXXX") };
    let (result, attempts) = deliver_recording(&channel(config), &n, &fast_policy(3)).await;
    result.unwrap();
    assert_eq!(attempts.len(), 1);

    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/services/T000/B000/XXXX");
    assert_eq!(requests[0].header("content-type"), Some("application/json"));
    let body = requests[0].json();
    assert_eq!(body, render_slack(&n));
    assert_eq!(body["text"], "[FIRING:12] Error rate above 5%");
    let blocks = body["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "header");
    assert_eq!(blocks.iter().filter(|b| b["type"] == "section").count(), 10);
    assert!(body.to_string().contains("and 2 more alerts"));
}

#[tokio::test]
async fn slacks_refusal_is_reported_without_the_secret_url() {
    let receiver = Receiver::start().await;
    receiver.script([Reply::Body(404, "no_service".into())]);
    let config = ChannelConfig::Slack { webhook_url: receiver.url("/services/T000/B000/SECRETPART") };
    let (result, attempts) =
        deliver_recording(&channel(config), &notification(vec![alert("k", "t")]), &fast_policy(3)).await;
    let error = attempts[0].error.clone().unwrap();
    assert_eq!(error, "HTTP 404 Not Found: no_service");
    assert_eq!(result, Err(DeliveryError::Rejected { attempts: 1, error }));
}

#[tokio::test]
async fn connection_errors_do_not_name_the_url() {
    // A port nothing listens on: bind one, then close it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let config =
        ChannelConfig::Slack { webhook_url: format!("http://127.0.0.1:{port}/services/T/B/SECRETPART") };
    let (result, attempts) =
        deliver_recording(&channel(config), &notification(vec![alert("k", "t")]), &fast_policy(2)).await;
    assert!(matches!(result, Err(DeliveryError::Exhausted { attempts: 2, .. })), "{result:?}");
    for a in &attempts {
        let error = a.error.as_deref().unwrap();
        assert!(error.starts_with("connection failed"), "{error}");
        assert!(!error.contains("SECRETPART"), "{error}");
    }
}
