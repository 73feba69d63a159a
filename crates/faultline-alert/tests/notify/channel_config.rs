//! Channel configuration: what the config file and the API accept, and the
//! messages for what cannot work.

use faultline_alert::notify::{Channel, ChannelConfig, ChannelError, EmailTls};
use serde_json::json;

fn parse(config: serde_json::Value) -> Result<Channel, serde_json::Error> {
    serde_json::from_value(json!({ "id": "ops", "name": "Ops", "config": config }))
}

fn invalid(config: serde_json::Value) -> String {
    let channel = parse(config).unwrap();
    channel.validate().unwrap_err().to_string()
}

#[test]
fn kinds_parse_with_their_defaults() {
    let webhook = parse(json!({ "kind": "webhook", "url": "https://hooks.example.com/x" })).unwrap();
    assert_eq!(
        webhook.config,
        ChannelConfig::Webhook {
            url: "https://hooks.example.com/x".into(),
            secret: None,
            headers: Default::default()
        }
    );
    webhook.validate().unwrap();

    let email = parse(json!({
        "kind": "email", "smtp_host": "smtp.example.com", "from": "Faultline <alerts@example.com>",
        "to": ["oncall@example.com"],
    }))
    .unwrap();
    match &email.config {
        ChannelConfig::Email { smtp_port, tls, username, password, ca_file, .. } => {
            assert_eq!(*smtp_port, 587);
            assert_eq!(*tls, EmailTls::Starttls);
            assert_eq!((username, password, ca_file), (&None, &None, &None));
        }
        other => panic!("not email: {other:?}"),
    }
    email.validate().unwrap();

    for (tls, host) in [("none", "::1"), ("starttls", "smtp.example.com"), ("tls", "192.0.2.25")] {
        let email = parse(json!({
            "kind": "email", "smtp_host": host, "smtp_port": 465, "tls": tls,
            "username": "u", "password": "p", "from": "a@example.com", "to": ["b@example.com"],
        }))
        .unwrap();
        email.validate().unwrap();
    }

    // PagerDuty's own spelling, and what snake case would make of it.
    for kind in ["pagerduty", "pager_duty"] {
        let pd = parse(json!({ "kind": kind, "routing_key": "R0UT1NGKEY" })).unwrap();
        assert_eq!(
            pd.config,
            ChannelConfig::PagerDuty { routing_key: "R0UT1NGKEY".into(), events_url: None }
        );
        assert_eq!(pd.config.kind(), "pagerduty");
    }
    let slack =
        parse(json!({ "kind": "slack", "webhook_url": "https://hooks.slack.com/services/T/B/X" })).unwrap();
    slack.validate().unwrap();

    // Round trip, as the API stores and returns channels.
    let text = serde_json::to_string(&slack).unwrap();
    assert!(text.contains(r#""kind":"slack""#), "{text}");
    assert_eq!(serde_json::from_str::<Channel>(&text).unwrap(), slack);
}

#[test]
fn unknown_fields_and_kinds_are_refused() {
    let typo = parse(json!({ "kind": "webhook", "url": "https://x.example", "secrett": "s" })).unwrap_err();
    assert!(typo.to_string().contains("secrett"), "{typo}");
    let kind = parse(json!({ "kind": "carrier_pigeon" })).unwrap_err();
    assert!(kind.to_string().contains("carrier_pigeon"), "{kind}");
}

#[test]
fn invalid_configurations_say_what_is_wrong() {
    assert_eq!(invalid(json!({ "kind": "webhook", "url": "" })), "url must not be empty");
    assert!(invalid(json!({ "kind": "webhook", "url": "ftp://files.example.com/x" }))
        .contains("url is not a usable URL: the scheme must be http or https"));
    assert!(invalid(json!({ "kind": "slack", "webhook_url": "hooks.slack.com/services/T/B/SECRET" }))
        .starts_with("webhook_url is not a usable URL"));
    assert_eq!(
        invalid(
            json!({ "kind": "webhook", "url": "https://x.example", "headers": { "X-Faultline-Signature": "forged" } })
        ),
        "header \"X-Faultline-Signature\" is set by Faultline itself and cannot be configured"
    );
    assert_eq!(
        invalid(
            json!({ "kind": "webhook", "url": "https://x.example", "headers": { "Content-Type": "text/plain" } })
        ),
        "header \"Content-Type\" is set by Faultline itself and cannot be configured"
    );
    assert!(invalid(
        json!({ "kind": "webhook", "url": "https://x.example", "headers": { "X-Token": "a\nb" } })
    )
    .contains("the value has characters a header cannot carry"));
    assert!(invalid(
        json!({ "kind": "webhook", "url": "https://x.example", "headers": { "bad name": "v" } })
    )
    .contains("not a valid header name"));
    assert_eq!(
        invalid(json!({ "kind": "webhook", "url": "https://x.example", "secret": "" })),
        "secret must not be empty"
    );

    let email = |overrides: serde_json::Value| {
        let mut config = json!({
            "kind": "email", "smtp_host": "smtp.example.com", "from": "alerts@example.com", "to": ["a@example.com"],
        });
        for (k, v) in overrides.as_object().unwrap() {
            config[k] = v.clone();
        }
        invalid(config)
    };
    assert_eq!(email(json!({ "to": [] })), "to must not be empty");
    assert!(email(json!({ "to": ["not an address"] }))
        .starts_with("to \"not an address\" is not an email address"));
    assert!(email(json!({ "from": "alerts at example" }))
        .starts_with("from \"alerts at example\" is not an email address"));
    assert_eq!(email(json!({ "username": "u" })), "username and password must be set together");
    assert_eq!(email(json!({ "smtp_host": " " })), "smtp_host must not be empty");
    assert_eq!(email(json!({ "smtp_port": 0 })), "smtp_port must not be 0");
    assert_eq!(
        email(json!({ "smtp_host": "smtp.example.com:587" })),
        "smtp_host \"smtp.example.com:587\" is not a host name"
    );
    assert_eq!(
        email(json!({ "smtp_host": "smtp://smtp.example.com" })),
        "smtp_host \"smtp://smtp.example.com\" is not a host name"
    );
    let missing = email(json!({ "ca_file": "/nonexistent/ca.pem" }));
    assert!(missing.starts_with("ca_file /nonexistent/ca.pem: "), "{missing}");
    let not_pem = std::env::temp_dir().join("faultline-notify-not-a-cert.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    assert!(email(json!({ "ca_file": not_pem })).contains("no certificate in the file"));

    assert_eq!(invalid(json!({ "kind": "pagerduty", "routing_key": "" })), "routing_key must not be empty");
    assert_eq!(
        invalid(json!({ "kind": "pagerduty", "routing_key": "a b" })),
        "routing_key must not contain spaces"
    );
    assert!(invalid(json!({ "kind": "pagerduty", "routing_key": "k", "events_url": "nope" }))
        .starts_with("events_url is not a usable URL"));

    let nameless = Channel {
        id: "ops".into(),
        name: " ".into(),
        config: ChannelConfig::Slack { webhook_url: "https://hooks.slack.com/x".into() },
    };
    assert_eq!(nameless.validate(), Err(ChannelError::Empty { field: "name" }));
}

#[test]
fn errors_never_echo_a_url() {
    // Slack's webhook URL is its secret; config errors get logged and shown.
    let message =
        invalid(json!({ "kind": "slack", "webhook_url": "gopher://hooks.slack.com/services/T/B/SECRET" }));
    assert!(!message.contains("SECRET"), "{message}");
}
