//! The webhook channel against a real HTTP receiver.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use faultline_alert::notify::{render_webhook, ChannelConfig};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::http_receiver::{Receiver, Reply};
use crate::support::{channel, deliver_recording, fast_policy, one_alert};

/// The receiver's side of the documented scheme, written from the docs
/// with another HMAC implementation than Faultline's.
fn verify(secret: &str, timestamp: &str, body: &[u8], signature: &str) -> bool {
    let Some(hex_mac) = signature.strip_prefix("sha256=") else { return false };
    let Ok(expected) = hex::decode(hex_mac) else { return false };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

#[tokio::test]
async fn posts_the_versioned_json_signed_with_the_secret() {
    let receiver = Receiver::start().await;
    let n = one_alert();
    let config = ChannelConfig::Webhook {
        url: receiver.url("/hooks/faultline"),
        secret: Some("s3cret".into()),
        headers: BTreeMap::from([("Authorization".into(), "Bearer token-1".into())]),
    };
    let (result, attempts) = deliver_recording(&channel(config), &n, &fast_policy(3)).await;
    result.unwrap();

    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/hooks/faultline");
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.header("authorization"), Some("Bearer token-1"));
    assert!(request.header("user-agent").unwrap().starts_with("faultline/"));
    assert_eq!(request.json(), render_webhook(&n));
    assert_eq!(request.json()["version"], 1);

    let timestamp = request.header("x-faultline-timestamp").unwrap();
    let signature = request.header("x-faultline-signature").unwrap();
    assert!(verify("s3cret", timestamp, &request.body, signature), "signature {signature} does not verify");
    assert!(!verify("other", timestamp, &request.body, signature));
    assert!(!verify("s3cret", "1", &request.body, signature), "the timestamp is signed too");
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let sent: u64 = timestamp.parse().unwrap();
    assert!(now.abs_diff(sent) < 60, "timestamp {sent} is Unix seconds, now is {now}");

    assert_eq!(attempts.len(), 1);
    let a = &attempts[0];
    assert!(a.ok);
    assert_eq!((a.attempt, a.status_code, a.error.as_deref()), (1, Some(200), None));
    assert_eq!((a.channel_id.as_str(), a.notification_id.as_str()), ("ch-1", "n-0001"));
    assert!(a.duration_ms > 0.0);
}

#[tokio::test]
async fn each_retry_is_signed_anew_and_unsigned_without_a_secret() {
    let receiver = Receiver::start().await;
    receiver.script([Reply::Status(503)]);
    let config = ChannelConfig::Webhook {
        url: receiver.url("/h"),
        secret: Some("k".into()),
        headers: BTreeMap::new(),
    };
    deliver_recording(&channel(config), &one_alert(), &fast_policy(3)).await.0.unwrap();
    let requests = receiver.requests();
    assert_eq!(requests.len(), 2);
    for r in &requests {
        let ok = verify(
            "k",
            r.header("x-faultline-timestamp").unwrap(),
            &r.body,
            r.header("x-faultline-signature").unwrap(),
        );
        assert!(ok);
    }
    assert_eq!(requests[0].body, requests[1].body, "the same notification, byte for byte");

    let plain = Receiver::start().await;
    let config = ChannelConfig::Webhook { url: plain.url("/h"), secret: None, headers: BTreeMap::new() };
    deliver_recording(&channel(config), &one_alert(), &fast_policy(1)).await.0.unwrap();
    let request = &plain.requests()[0];
    assert!(request.header("x-faultline-signature").is_none());
    assert!(request.header("x-faultline-timestamp").is_none());
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let receiver = Receiver::start().await;
    receiver.script([Reply::Status(301)]);
    let config = ChannelConfig::Webhook { url: receiver.url("/old"), secret: None, headers: BTreeMap::new() };
    let (result, attempts) = deliver_recording(&channel(config), &one_alert(), &fast_policy(3)).await;
    assert!(result.is_err());
    assert_eq!(attempts.len(), 1);
    assert!(attempts[0].error.as_deref().unwrap().contains("redirects are not followed"), "{attempts:?}");
    assert_eq!(receiver.requests().len(), 1);
}
