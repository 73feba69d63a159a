//! The PagerDuty channel against a real HTTP receiver standing in for the
//! Events API v2.

use faultline_alert::notify::{render_pagerduty, ChannelConfig};

use crate::http_receiver::{Receiver, Reply};
use crate::support::{alert, channel, deliver_recording, fast_policy, notification, resolved};

#[tokio::test]
async fn posts_one_event_per_alert_to_the_events_url() {
    let receiver = Receiver::start_with(202).await;
    let n = notification(vec![alert("a", "A failing"), alert("b", "B failing"), alert("c", "C failing")]);
    let config = ChannelConfig::PagerDuty {
        routing_key: "R0UT1NG".into(),
        events_url: Some(receiver.url("/v2/enqueue")),
    };
    let (result, attempts) = deliver_recording(&channel(config.clone()), &n, &fast_policy(3)).await;
    result.unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].status_code, Some(202));

    let requests = receiver.requests();
    assert_eq!(requests.len(), 3);
    let expected = render_pagerduty(&n, "R0UT1NG");
    for (request, event) in requests.iter().zip(&expected) {
        assert_eq!(request.path, "/v2/enqueue");
        assert_eq!(request.header("content-type"), Some("application/json"));
        assert_eq!(&request.json(), event);
        assert_eq!(request.json()["event_action"], "trigger");
    }
    let keys: Vec<_> = requests.iter().map(|r| r.json()["dedup_key"].as_str().unwrap().to_owned()).collect();
    assert_eq!(keys, ["rule-errors:a", "rule-errors:b", "rule-errors:c"]);

    // The resolve reaches the same incidents.
    deliver_recording(&channel(config), &resolved(n), &fast_policy(1)).await.0.unwrap();
    let resolves: Vec<_> = receiver.requests()[3..].iter().map(|r| r.json()).collect();
    assert_eq!(resolves.len(), 3);
    for (event, key) in resolves.iter().zip(&keys) {
        assert_eq!(event["event_action"], "resolve");
        assert_eq!(event["dedup_key"], key.as_str());
    }
}

#[tokio::test]
async fn a_retry_sends_only_the_events_not_yet_accepted() {
    let receiver = Receiver::start_with(202).await;
    receiver.script([Reply::Status(202), Reply::RetryAfter(429, "0".into())]);
    let n = notification(vec![alert("a", "A"), alert("b", "B"), alert("c", "C")]);
    let config =
        ChannelConfig::PagerDuty { routing_key: "R".into(), events_url: Some(receiver.url("/v2/enqueue")) };
    let (result, attempts) = deliver_recording(&channel(config), &n, &fast_policy(3)).await;
    result.unwrap();

    let keys: Vec<_> =
        receiver.requests().iter().map(|r| r.json()["dedup_key"].as_str().unwrap().to_owned()).collect();
    assert_eq!(keys, ["rule-errors:a", "rule-errors:b", "rule-errors:b", "rule-errors:c"]);
    assert_eq!(attempts.len(), 2);
    assert!(!attempts[0].ok);
    assert_eq!(attempts[0].status_code, Some(429));
    assert_eq!(attempts[0].error.as_deref(), Some("request 2 of 3: HTTP 429 Too Many Requests"));
    assert!(attempts[1].ok);
}
