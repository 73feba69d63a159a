//! What each channel's message looks like, without a network.

use faultline_alert::notify::{render_email, render_pagerduty, render_slack, render_webhook};
use faultline_alert::{AlertState, Severity};
use serde_json::json;

use crate::support::{alert, notification, one_alert, resolved, T0};

#[test]
fn webhook_json_is_the_documented_version_1() {
    let body = render_webhook(&one_alert());
    assert_eq!(
        body,
        json!({
            "version": 1,
            "id": "n-0001",
            "kind": "firing",
            "title": "[FIRING] Error rate 12.5% on checkout /pay",
            "rule": { "id": "rule-errors", "name": "Error rate above 5%" },
            "severity": "critical",
            "created_at": "2025-01-01T00:01:00Z",
            "alerts": [{
                "key": "service=checkout,route=/pay",
                "state": "firing",
                "severity": "critical",
                "title": "Error rate 12.5% on checkout /pay",
                "summary": "12.5% of 400 requests failed in 5m\nculprit: checkout.pay in handlers/pay.py",
                "labels": { "route": "/pay", "service": "checkout" },
                "value": 12.5,
                "threshold": 5.0,
                "url": "https://faultline.example.com/services/checkout",
                "service": "checkout",
                "group_id": 42,
                "check_id": null,
                "started_at": "2025-01-01T00:00:00Z",
                "resolved_at": null,
            }],
        })
    );

    let many =
        render_webhook(&resolved(notification((0..25).map(|i| alert(&format!("k{i}"), "t")).collect())));
    assert_eq!(many["kind"], "resolved");
    assert_eq!(many["title"], "[RESOLVED:25] Error rate above 5%");
    assert_eq!(many["alerts"].as_array().unwrap().len(), 25, "webhooks list every alert");
    assert_eq!(many["alerts"][0]["state"], "resolved");
    assert_eq!(many["alerts"][0]["resolved_at"], "2025-01-01T00:10:00Z");
}

#[test]
fn slack_message_is_block_kit_with_a_fallback_text() {
    let message = render_slack(&one_alert());
    assert_eq!(message["text"], "[FIRING] Error rate 12.5% on checkout /pay");
    let blocks = message["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "header");
    assert_eq!(blocks[0]["text"]["type"], "plain_text");
    assert_eq!(blocks[0]["text"]["text"], "🔴 [FIRING] Error rate 12.5% on checkout /pay");

    let section = &blocks[1];
    assert_eq!(section["type"], "section");
    assert_eq!(section["text"]["type"], "mrkdwn");
    let text = section["text"]["text"].as_str().unwrap();
    assert!(text.starts_with("*Error rate 12.5% on checkout /pay*\n"), "{text}");
    assert!(text.contains("Service: `checkout` · Value 12.5 (threshold 5)"), "{text}");
    assert!(text.contains("culprit: checkout.pay in handlers/pay.py"), "{text}");
    assert!(text.contains("<!date^1735689600^{date_short_pretty} {time}|2025-01-01T00:00:00Z>"), "{text}");
    assert_eq!(section["accessory"]["type"], "button");
    assert_eq!(section["accessory"]["url"], "https://faultline.example.com/services/checkout");

    let context = blocks.last().unwrap();
    assert_eq!(context["type"], "context");
    assert_eq!(context["elements"][0]["text"], "Faultline · rule *Error rate above 5%* · critical · 1 alert");
}

#[test]
fn slack_lists_ten_alerts_then_counts_the_rest() {
    let message = render_slack(&notification(
        (0..13).map(|i| alert(&format!("k{i}"), &format!("alert {i}"))).collect(),
    ));
    let blocks = message["blocks"].as_array().unwrap();
    let sections: Vec<_> = blocks.iter().filter(|b| b["type"] == "section").collect();
    assert_eq!(sections.len(), 10);
    assert!(sections[9]["text"]["text"].as_str().unwrap().starts_with("*alert 9*"));
    let more = blocks.iter().find(|b| b.to_string().contains("and 3 more alerts"));
    assert!(more.is_some(), "{message:#}");
    assert_eq!(message["text"], "[FIRING:13] Error rate above 5%");
    assert!(blocks.len() <= 50, "Slack's block limit");
}

#[test]
fn slack_marks_resolved_escapes_text_and_skips_relative_links() {
    let mut n = one_alert();
    n.alerts[0].title = "KeyError: <script> & <@channel>".into();
    n.alerts[0].url = Some("/groups/42".into());
    let message = render_slack(&resolved(n));
    let blocks = message["blocks"].as_array().unwrap();
    assert!(blocks[0]["text"]["text"].as_str().unwrap().starts_with("✅ [RESOLVED] "));
    let text = blocks[1]["text"]["text"].as_str().unwrap();
    assert!(text.starts_with("✅ *Resolved:* KeyError: &lt;script&gt; &amp; &lt;@channel&gt;"), "{text}");
    assert!(text.contains("resolved <!date^1735690200^"), "{text}");
    assert!(blocks[1].get("accessory").is_none(), "Slack rejects relative button URLs");
    assert_eq!(message["text"], "[RESOLVED] KeyError: &lt;script&gt; &amp; &lt;@channel&gt;");
}

#[test]
fn slack_header_respects_slacks_length_limit() {
    let mut n = one_alert();
    n.alerts[0].title = "x".repeat(400);
    let message = render_slack(&n);
    let header = message["blocks"][0]["text"]["text"].as_str().unwrap();
    assert_eq!(header.chars().count(), 150);
    assert!(header.ends_with('…'));
}

#[test]
fn email_has_a_subject_text_and_escaped_html() {
    let mut n = one_alert();
    n.alerts[0].title = "TypeError: <img src=x onerror=alert(1)> & \"quotes\"".into();
    let (subject, text, html) = render_email(&n);
    assert_eq!(subject, "[Faultline] [FIRING] TypeError: <img src=x onerror=alert(1)> & \"quotes\"");
    assert!(text.starts_with("[FIRING] TypeError: <img"), "{text}");
    assert!(text.contains("Rule Error rate above 5% · critical · 1 alert"), "{text}");
    assert!(text.contains("Service: checkout · Measured value 12.5 (threshold 5)"), "{text}");
    assert!(text.contains("  culprit: checkout.pay in handlers/pay.py\n"), "{text}");
    assert!(text.contains("https://faultline.example.com/services/checkout"), "{text}");
    assert!(text.contains("Notification n-0001"), "{text}");

    assert!(!html.contains("<img"), "{html}");
    assert!(
        html.contains("TypeError: &lt;img src=x onerror=alert(1)&gt; &amp; &quot;quotes&quot;"),
        "{html}"
    );
    assert!(
        html.contains("<a href=\"https://faultline.example.com/services/checkout\">Open in Faultline</a>")
    );
    assert!(html.starts_with("<!DOCTYPE html>"));
}

#[test]
fn email_subject_is_one_line_and_resolved_is_marked() {
    let mut n = notification(vec![alert("a", "first\r\nBcc: victim@example.com"), alert("b", "second")]);
    n.alerts[1].severity = Severity::Warning;
    let (subject, _, _) = render_email(&n);
    assert_eq!(subject, "[Faultline] [FIRING:2] Error rate above 5%");
    let (subject, text, html) =
        render_email(&notification(vec![alert("a", "first\r\nBcc: victim@example.com")]));
    assert_eq!(subject, "[Faultline] [FIRING] first Bcc: victim@example.com");
    assert!(!text.contains("\r\nBcc"));
    assert!(!html.contains("\r\nBcc"));

    let (subject, text, html) = render_email(&resolved(one_alert()));
    assert!(subject.starts_with("[Faultline] [RESOLVED] "));
    assert!(text.contains("* [resolved] Error rate"), "{text}");
    assert!(text.contains("resolved 2025-01-01T00:10:00Z"), "{text}");
    assert!(html.contains("Resolved: Error rate"), "{html}");
}

#[test]
fn pagerduty_sends_one_event_per_alert() {
    let mut n = notification(vec![
        alert("service=checkout", "Checkout failing"),
        alert("service=cart", "Cart failing"),
    ]);
    n.alerts[1].severity = Severity::Warning;
    n.alerts[1].state = AlertState::Resolved;
    n.alerts[1].url = Some("/services/cart".into());
    n.alerts[1].service = None;
    n.alerts[1].check_id = Some("cart-health".into());
    let events = render_pagerduty(&n, "R0UT1NG");
    assert_eq!(events.len(), 2);

    let e = &events[0];
    assert_eq!(e["routing_key"], "R0UT1NG");
    assert_eq!(e["event_action"], "trigger");
    assert_eq!(e["dedup_key"], "rule-errors:service=checkout");
    assert_eq!(e["payload"]["summary"], "Checkout failing");
    assert_eq!(e["payload"]["severity"], "critical");
    assert_eq!(e["payload"]["source"], "checkout");
    assert_eq!(e["payload"]["timestamp"], "2025-01-01T00:00:00Z");
    assert_eq!(e["payload"]["custom_details"]["value"], 12.5);
    assert_eq!(e["payload"]["custom_details"]["threshold"], 5.0);
    assert_eq!(e["payload"]["custom_details"]["labels"]["route"], "/pay");
    assert_eq!(e["payload"]["custom_details"]["notification_id"], "n-0001");
    assert_eq!(
        e["links"],
        json!([{ "href": "https://faultline.example.com/services/checkout", "text": "Open in Faultline" }])
    );

    let e = &events[1];
    assert_eq!(e["event_action"], "resolve");
    assert_eq!(e["dedup_key"], "rule-errors:service=cart");
    assert_eq!(e["payload"]["severity"], "warning");
    assert_eq!(e["payload"]["source"], "check cart-health");
    assert!(e.get("links").is_none(), "relative links mean nothing in PagerDuty");
}

#[test]
fn pagerduty_limits_summary_and_dedup_key() {
    let mut n = notification(vec![alert(&"k".repeat(300), &"long title ".repeat(200))]);
    n.alerts[0].started_at = T0;
    let events = render_pagerduty(&n, "R");
    let summary = events[0]["payload"]["summary"].as_str().unwrap();
    assert_eq!(summary.chars().count(), 1024);
    let key = events[0]["dedup_key"].as_str().unwrap();
    assert!(key.len() <= 255 && key.starts_with("faultline:sha256:"), "{key}");
    // Stable: the resolve must find the incident the trigger opened.
    assert_eq!(render_pagerduty(&resolved(n), "R")[0]["dedup_key"].as_str().unwrap(), key);
}
