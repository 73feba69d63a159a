//! The alerts pages in a real headless Chromium against the real binary:
//! a rule created, refused (the engine's message shown in the form with the
//! values kept), edited and deleted through the form; a channel of the
//! config file tested against a real HTTP receiver; an OTLP error firing a
//! new-issue rule, seen on /alerts and its delivery in /alerts/history;
//! a silence created and expired; an issue snoozed. Screenshots, light and
//! dark, go to target/screenshots/<test>/.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use faultline_tests::browser::Browser;
use faultline_tests::otlp::{exception_span, post_protobuf, traces_request};
use faultline_tests::receiver::Receiver;
use faultline_tests::{Server, TempDir};
use serde_json::Value;

/// A webhook channel and a new-issue rule sending to it, from the config file.
fn config(hooks: &Receiver) -> String {
    format!(
        r#"
[[alerts.channels]]
id = "hook"
name = "Ops webhook"
config = {{ kind = "webhook", url = "{}", secret = "s3cret-value" }}

[[alerts.rules]]
id = "new-issues"
name = "New issue"
kind = "new_group"
channels = ["hook"]
"#,
        hooks.url("/hook?token=path-secret")
    )
}

fn start(hooks: &Receiver, tmp: &TempDir) -> Server {
    let path = tmp.path().join("faultline.toml");
    std::fs::write(&path, config(hooks)).unwrap();
    Server::start_with(&["--config", path.to_str().unwrap()])
}

fn assert_no_js_errors(browser: &Browser, page: &str) {
    let errors = browser.js_errors();
    assert!(errors.is_empty(), "script errors on {page}: {errors:?}");
}

/// The `value` property of the input matching `css`.
fn value_of(browser: &Browser, css: &str) -> String {
    browser.find(css).property("value").as_str().unwrap_or_default().to_string()
}

fn set_field(browser: &Browser, css: &str, text: &str) {
    let input = browser.find(css);
    input.clear();
    input.type_text(text);
}

/// The text of the page's notice once one shows.
fn notice(browser: &Browser) -> String {
    browser.wait_until("a notice shows", || browser.text_of("#notice").is_some());
    browser.text_of("#notice").unwrap_or_default()
}

/// `data-confirm` buttons ask through `window.confirm`, which would block
/// a WebDriver session; the user says yes.
fn accept_confirms(browser: &Browser) {
    browser.execute_script("window.confirm = () => true;", vec![]);
}

fn api_rule(server: &Server, id: &str) -> Option<Value> {
    let rules = server.get("/api/v1/alert-rules")["rules"].as_array().cloned().unwrap_or_default();
    rules.into_iter().find(|r| r["id"] == id)
}

/// A raw form POST with the page's CSRF cookie and token, as a browser
/// without scripts sends it; answers status and `Location`.
fn post_form(server: &Server, page: &str, action: &str, fields: &[(&str, &str)]) -> (u16, String, String) {
    let client =
        reqwest::blocking::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let answer = client.get(server.api_url(page)).send().unwrap();
    let cookie = answer.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let html = answer.text().unwrap();
    let token = html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let mut body: Vec<(&str, &str)> = vec![("csrf", &token)];
    body.extend_from_slice(fields);
    let response = client.post(server.api_url(action)).header("cookie", cookie).form(&body).send().unwrap();
    let status = response.status().as_u16();
    let location =
        response.headers().get("location").map(|l| l.to_str().unwrap().to_string()).unwrap_or_default();
    (status, location, response.text().unwrap_or_default())
}

#[test]
fn ui_alerts_rules_are_created_refused_edited_and_deleted_in_the_form() {
    let hooks = Receiver::start();
    let tmp = TempDir::new("faultline-ui-alerts");
    let server = start(&hooks, &tmp);
    let browser = Browser::start();

    browser.goto(&server.api_url("/alerts/rules"));
    let row = browser.find("tr[data-rule='new-issues']").text();
    assert!(
        row.contains("config") && row.contains("read-only"),
        "the config file's rule is read-only: {row}"
    );
    assert!(row.contains("A new issue"), "the condition is summed up: {row}");
    assert_no_js_errors(&browser, "/alerts/rules");

    // The kind selector reloads the form with that kind's fields.
    browser.find("#new-rule").click();
    browser.find("#kind").select_by_value("error_rate");
    browser.wait_until("the error-rate fields show", || !browser.find_all_now("#f-warning").is_empty());
    assert!(
        browser.current_url().contains("kind=error_rate"),
        "the kind is in the URL: {}",
        browser.current_url()
    );
    assert!(
        browser.find_all_now("#f-filter-service").is_empty(),
        "issue fields are not offered for error_rate"
    );

    // Warning above critical: the engine refuses, the form says why and keeps the values.
    set_field(&browser, "#f-id", "checkout-errors");
    set_field(&browser, "#f-service", "checkout");
    set_field(&browser, "#f-warning", "0.5");
    set_field(&browser, "#f-critical", "0.2");
    browser.find("#save-rule").click();
    let error = browser.find("#form-error").text();
    assert!(error.contains("must be below `critical`"), "the engine's reason is shown: {error}");
    assert_eq!(value_of(&browser, "#f-id"), "checkout-errors");
    assert_eq!(value_of(&browser, "#f-warning"), "0.5");
    assert_eq!(value_of(&browser, "#f-critical"), "0.2");
    assert_eq!(browser.find("#f-warning").attribute("aria-invalid").as_deref(), Some("true"));
    assert!(browser.find(".field.invalid .field-error").text().contains("must be below"));
    browser.screenshot("rule-form-refused");
    assert!(api_rule(&server, "checkout-errors").is_none(), "a refused rule is not saved");

    // A threshold that is not a number is named as such.
    set_field(&browser, "#f-warning", "lots");
    browser.find("#save-rule").click();
    browser.wait_until("the number error shows", || {
        browser.text_of("#form-error").is_some_and(|t| t.contains("\"lots\" is not a number"))
    });
    assert_eq!(value_of(&browser, "#f-warning"), "lots");
    assert_eq!(value_of(&browser, "#f-service"), "checkout");

    // Without the browser: the same refusal is a 422 page carrying the message.
    let (status, _, html) = post_form(
        &server,
        "/alerts/rules/new?kind=error_rate",
        "/alerts/rules/new",
        &[("kind", "error_rate"), ("id", "x"), ("warning", "0.5"), ("critical", "0.2")],
    );
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("must be below `critical`"), "{html}");
    // And a post without the token is refused.
    let client = reqwest::blocking::Client::new();
    let forged =
        client.post(server.api_url("/alerts/rules/new")).form(&[("id", "forged"), ("kind", "new_group")]);
    assert_eq!(forged.send().unwrap().status().as_u16(), 403);
    assert!(api_rule(&server, "forged").is_none());

    // Fixed: created, listed, and the API sees the same rule.
    set_field(&browser, "#f-warning", "2%");
    set_field(&browser, "#f-critical", "0.05");
    browser.find("#save-rule").click();
    assert!(notice(&browser).contains("Rule checkout-errors created"));
    let row = browser.find("tr[data-rule='checkout-errors']").text();
    assert!(row.contains("api") && row.contains("2.0%") && row.contains("5.0%"), "listed: {row}");
    let rule = api_rule(&server, "checkout-errors").expect("the rule is in force");
    assert_eq!((rule["warning"].as_f64(), rule["critical"].as_f64()), (Some(0.02), Some(0.05)));
    assert_eq!(rule["service"], "checkout");
    browser.screenshot("rules");
    assert_no_js_errors(&browser, "/alerts/rules");

    // Edited: the form shows the stored values; the id cannot change.
    browser.find("tr[data-rule='checkout-errors'] a[href$='/edit']").click();
    assert_eq!(value_of(&browser, "#f-warning"), "0.02");
    assert_eq!(browser.find("#f-id").attribute("readonly").as_deref(), Some("true"));
    set_field(&browser, "#f-critical", "0.1");
    set_field(&browser, "#f-window", "10m");
    browser.find("input[name=channels][value=hook]").click();
    browser.screenshot("rule-form-edit");
    browser.find("#save-rule").click();
    assert!(notice(&browser).contains("Rule checkout-errors saved"));
    let row = browser.find("tr[data-rule='checkout-errors']").text();
    assert!(row.contains("10%") && row.contains("hook") && row.contains("10m"), "edited: {row}");
    let rule = api_rule(&server, "checkout-errors").unwrap();
    assert_eq!(rule["critical"].as_f64(), Some(0.1));
    assert_eq!(rule["channels"], serde_json::json!(["hook"]));

    // Deleted, after the confirmation.
    accept_confirms(&browser);
    browser.find("tr[data-rule='checkout-errors'] button.danger").click();
    assert!(notice(&browser).contains("Rule checkout-errors deleted"));
    assert!(browser.find_all_now("tr[data-rule='checkout-errors']").is_empty());
    assert!(api_rule(&server, "checkout-errors").is_none());

    // A config rule cannot be edited here.
    browser.goto(&server.api_url("/alerts/rules/new-issues/edit"));
    assert!(browser.find("body").text().contains("config file"));

    browser.prefer_color_scheme("dark");
    browser.goto(&server.api_url("/alerts/rules/new?kind=latency"));
    set_field(&browser, "#f-id", "slow");
    browser.find("#save-rule").click();
    browser.find("#form-error");
    browser.screenshot("rule-form-refused-dark");
    browser.goto(&server.api_url("/alerts/rules"));
    browser.screenshot("rules-dark");
}

#[test]
fn ui_alerts_channels_firing_history_silences_and_snooze() {
    let hooks = Receiver::start();
    let tmp = TempDir::new("faultline-ui-alerts");
    let server = start(&hooks, &tmp);
    let browser = Browser::start();

    // The channel is listed without its secrets, and a test reaches the receiver.
    browser.goto(&server.api_url("/alerts/channels"));
    let row = browser.find("tr[data-channel='hook']").text();
    assert!(row.contains("webhook") && row.contains(&format!("127.0.0.1:{}", hooks.port)), "{row}");
    let source = browser.page_source();
    for secret in ["s3cret-value", "path-secret"] {
        assert!(!source.contains(secret), "{secret} is on the channels page");
    }
    browser.find("tr[data-channel='hook'] button").click();
    let said = notice(&browser);
    assert!(said.contains("delivered") && said.contains("attempt 1: HTTP 200"), "test outcome: {said}");
    let got = hooks.wait("/hook?token=path-secret", 1, Duration::from_secs(10));
    assert!(
        got[0].json()["title"].as_str().unwrap_or_default().contains("Test notification"),
        "{:?}",
        got[0]
    );
    browser.screenshot("channels-tested");
    assert_no_js_errors(&browser, "/alerts/channels");

    // A channel made in the form: refused without its URL, then created,
    // tested and deleted.
    browser.find("#new-channel").click();
    set_field(&browser, "#c-id", "made");
    set_field(&browser, "#c-secret", "typed-secret");
    browser.find("#save-channel").click();
    assert!(browser.find("#form-error").text().contains("URL is required"));
    assert_eq!(value_of(&browser, "#c-id"), "made");
    assert_eq!(value_of(&browser, "#c-secret"), "", "a secret is not written back into the page");
    set_field(&browser, "#c-url", &hooks.url("/made"));
    browser.screenshot("channel-form");
    browser.find("#save-channel").click();
    assert!(notice(&browser).contains("Channel made created"));
    assert!(browser.find("tr[data-channel='made']").text().contains("api"));
    browser.find("tr[data-channel='made'] button[type=submit]:not(.danger)").click();
    assert!(notice(&browser).contains("Test notification to made delivered"));
    hooks.wait("/made", 1, Duration::from_secs(10));
    accept_confirms(&browser);
    browser.find("tr[data-channel='made'] button.danger").click();
    assert!(notice(&browser).contains("Channel made deleted"));
    assert!(browser.find_all_now("tr[data-channel='made']").is_empty());
    // The config file's channel has no delete button.
    assert!(browser.find_all_now("tr[data-channel='hook'] button.danger").is_empty());

    // An error over OTLP opens an issue; the new-issue rule fires and delivers.
    let span = exception_span("POST /cart", "CartLockedError", "cart 17 is locked", vec![]);
    let request = traces_request("checkout", vec![span]);
    assert_eq!(post_protobuf(&server.http_url("/v1/traces"), &request).unwrap().0, 200);
    let delivered = hooks.wait("/hook?token=path-secret", 2, Duration::from_secs(10));
    assert_eq!(delivered[1].json()["rule"]["id"], "new-issues");
    let group_id = server.groups()[0]["id"].as_u64().unwrap();

    browser.goto(&server.api_url("/alerts"));
    let active = browser.find("#active-alerts").text();
    assert!(active.contains("CartLockedError") && active.contains("firing"), "on /alerts: {active}");
    assert!(active.contains("New issue"), "the rule is named: {active}");
    assert_eq!(browser.find("#firing-count").text(), "1");
    let issue_link = browser.find("#active-alerts a.issue-title").attribute("href").unwrap();
    assert_eq!(issue_link, format!("/issues/{group_id}"));
    browser.screenshot("firing");
    assert_no_js_errors(&browser, "/alerts");

    // Every attempt, newest first, with its outcome; then one channel's.
    browser.find(".alert-tabs a[href='/alerts/history']").click();
    let count = browser.find("#history-count").text();
    assert!(count.contains("Attempts 1–3 of 3"), "{count}");
    let rows = browser.find_all("#history tbody tr");
    assert_eq!(rows.len(), 3);
    let newest = rows[0].text();
    assert!(
        newest.contains("hook") && newest.contains("rule new-issues") && newest.contains("delivered"),
        "{newest}"
    );
    assert!(newest.contains("200"), "the HTTP status is shown: {newest}");
    assert!(rows[1].text().contains("test-made"), "then the made channel's test: {}", rows[1].text());
    browser.find("select[name=channel]").select_by_value("hook");
    browser.wait_until("only hook's attempts show", || {
        browser.text_of("#history-count").is_some_and(|t| t.contains("Attempts 1–2 of 2"))
    });
    assert!(browser.find_all("#history tbody tr")[1].text().contains("test-hook"));
    browser.screenshot("history");

    // A silence for exactly that alert, from its "Silence…" link.
    browser.goto(&server.api_url("/alerts"));
    browser.find("#active-alerts a[href^='/alerts/silences']").click();
    let labels: Vec<String> = browser
        .find_all("select[name=label]")
        .iter()
        .map(|s| s.property("value").as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(labels[0], "rule", "prefilled matchers: {labels:?}");
    assert_eq!(value_of(&browser, "input[name=value]"), "new-issues");
    // A duration that is not one: refused, values kept.
    set_field(&browser, "#s-duration", "a while");
    set_field(&browser, "#s-comment", "deploying the fix");
    browser.find("#add-silence").click();
    assert!(browser.find("#form-error").text().contains("not a duration"));
    assert_eq!(value_of(&browser, "#s-comment"), "deploying the fix");
    assert_eq!(value_of(&browser, "input[name=value]"), "new-issues");
    set_field(&browser, "#s-duration", "1h");
    browser.find("#add-silence").click();
    assert!(notice(&browser).contains("added until"));
    let silence = browser.find("#silences tbody tr").text();
    assert!(silence.contains("rule=new-issues") && silence.contains("deploying the fix"), "{silence}");
    assert!(
        ["in 1 hour", "in 60 minutes", "in 59 minutes"].iter().any(|t| silence.contains(t)),
        "ends in an hour: {silence}"
    );
    assert_eq!(server.get("/api/v1/silences")["silences"].as_array().unwrap().len(), 1);
    browser.screenshot("silences");
    browser.goto(&server.api_url("/alerts"));
    assert!(browser.find("#active-alerts").text().contains("silenced"), "the alert shows as silenced");

    browser.goto(&server.api_url("/alerts/silences"));
    accept_confirms(&browser);
    browser.find("#silences button.danger").click();
    assert!(notice(&browser).contains("expired"));
    assert!(browser.find_all_now("#silences").is_empty(), "no silence listed after expiry");
    assert!(server.get("/api/v1/silences")["silences"].as_array().unwrap().is_empty());

    // Per-issue snooze: the issue page's form posts here and is sent back.
    let (status, location, _) =
        post_form(&server, "/alerts/silences", &format!("/issues/{group_id}/snooze"), &[("duration", "4h")]);
    assert_eq!(status, 303);
    assert!(location.starts_with(&format!("/issues/{group_id}?done=")), "{location}");
    let (status, _, html) = post_form(
        &server,
        "/alerts/silences",
        &format!("/issues/{group_id}/snooze"),
        &[("duration", "later")],
    );
    assert_eq!(status, 400, "{html}");
    let forged = reqwest::blocking::Client::new()
        .post(server.api_url(&format!("/issues/{group_id}/snooze")))
        .form(&[("duration", "4h")])
        .send()
        .unwrap();
    assert_eq!(forged.status().as_u16(), 403);
    // The firing page snoozes the issue too, and comes back to itself.
    browser.goto(&server.api_url("/alerts"));
    browser.find("#active-alerts form.snooze select").select_by_value("1d");
    browser.find("#active-alerts form.snooze button").click();
    let said = notice(&browser);
    assert!(said.contains(&format!("issue {group_id} snoozed for 1d")), "{said}");
    assert!(browser.current_url().contains("/alerts?done="), "{}", browser.current_url());
    let active = browser.find("#active-alerts").text();
    assert!(active.contains(&format!("issue {group_id} snoozed")), "the alert shows as snoozed: {active}");
    browser.screenshot("firing-snoozed");

    browser.prefer_color_scheme("dark");
    for (path, name) in [
        ("/alerts", "firing-dark"),
        ("/alerts/channels", "channels-dark"),
        ("/alerts/history", "history-dark"),
        ("/alerts/silences", "silences-dark"),
    ] {
        browser.goto(&server.api_url(path));
        browser.find("main h1");
        browser.screenshot(name);
        assert_no_js_errors(&browser, path);
    }
}
