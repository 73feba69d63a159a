//! The pages in a real headless Chromium (tests/src/browser.rs, over
//! WebDriver) against the real binary fed real OTLP exports: what a user
//! reads on the home and issue pages, and that a message carrying HTML and
//! JavaScript is shown as text and never runs. Screenshots of every page go
//! to target/screenshots/<test>/.
#![allow(clippy::unwrap_used)]

use faultline_tests::api::titles;
use faultline_tests::browser::Browser;
use faultline_tests::otlp::{exception_span, kv, post_protobuf, traces_request};
use faultline_tests::Server;
use serde_json::Value;

const SERVICE: &str = "checkout";

/// Script that would run if any stored string reached the page unescaped.
const XSS_MESSAGE: &str =
    "bad coupon <script>window.__xss=1</script> and <img src=x onerror=\"window.__xss=2\">";

/// One failing request with a Python stack trace, as an instrumented
/// service exports it.
fn export_error(server: &Server, exception_type: &str, message: &str) {
    let mut span = exception_span("POST /cart", exception_type, message, vec![kv("http.route", "/cart")]);
    span.events[0].attributes.push(kv(
        "exception.stacktrace",
        &format!(
            "Traceback (most recent call last):\n  File \"/srv/app/cart.py\", line 42, in add_item\n    \
             raise {exception_type}(msg)\n{exception_type}: {message}"
        ),
    ));
    let request = traces_request(SERVICE, vec![span]);
    assert_eq!(post_protobuf(&server.http_url("/v1/traces"), &request).unwrap().0, 200);
}

/// The one group whose title contains `part`.
fn group_with(server: &Server, part: &str) -> Value {
    let groups = server.groups();
    let found: Vec<&Value> =
        groups.iter().filter(|g| g["title"].as_str().is_some_and(|t| t.contains(part))).collect();
    assert_eq!(found.len(), 1, "groups with {part:?} in the title: {:?}", titles(&groups));
    found[0].clone()
}

fn assert_no_js_errors(browser: &Browser, page: &str) {
    let errors = browser.js_errors();
    assert!(errors.is_empty(), "script errors on {page}: {errors:?}");
}

#[test]
fn ui_browser_home_and_issue_pages_show_the_issue() {
    let server = Server::start();
    export_error(&server, "KeyError", "'sku'");
    export_error(&server, "KeyError", "'sku'");
    export_error(&server, "ZeroDivisionError", "division by zero");
    server.wait_for("/api/v1/groups", |b| b["groups"].as_array().is_some_and(|g| g.len() == 2));
    let group = group_with(&server, "KeyError");
    let title = group["title"].as_str().unwrap().to_string();

    let browser = Browser::start();
    browser.goto(&server.api_url("/"));
    assert!(browser.title().contains("Faultline"), "home page title: {}", browser.title());
    browser.wait_until("the home page has a body", || browser.text_of("body").is_some());
    browser.screenshot("home");
    assert_no_js_errors(&browser, "/");

    let issue_url = server.api_url(&format!("/issues/{}", group["id"]));
    browser.goto(&issue_url);
    assert_eq!(browser.current_url(), issue_url);
    assert!(browser.title().contains(&title), "issue page title {:?} lacks {title:?}", browser.title());
    let text = browser.find("body").text();
    assert!(text.contains(&title), "the issue page shows its title {title:?}:\n{text}");
    assert!(text.contains(SERVICE), "the issue page names the service:\n{text}");
    assert!(text.contains("cart.py"), "the issue page shows the stack trace:\n{text}");
    browser.screenshot("issue");
    assert_no_js_errors(&browser, &issue_url);

    // The same page as a user with a dark system theme sees it.
    browser.prefer_color_scheme("dark");
    browser.refresh();
    browser.screenshot("issue-dark");

    // An unknown issue is a page that says so, not a blank.
    browser.goto(&server.api_url("/issues/999999"));
    let text = browser.find("body").text();
    assert!(text.contains("999999"), "the not-found page names the issue:\n{text}");
}

#[test]
fn ui_browser_html_in_a_message_stays_inert() {
    let server = Server::start();
    export_error(&server, "CouponError", XSS_MESSAGE);
    server.wait_for("/api/v1/groups", |b| b["groups"].as_array().is_some_and(|g| g.len() == 1));
    let group = group_with(&server, "CouponError");

    let browser = Browser::start();
    for path in ["/".to_string(), format!("/issues/{}", group["id"])] {
        browser.goto(&server.api_url(&path));
        // The load event waited for images, so an injected onerror would have run.
        assert_eq!(
            browser.execute_script("return window.__xss", vec![]),
            Value::Null,
            "script ran on {path}"
        );
        assert!(
            browser.find_all_now("img[src='x'], [onerror]").is_empty(),
            "an injected <img> exists on {path}"
        );
        let injected = browser.execute_script(
            "return [...document.scripts].filter(s => s.text.includes('__xss')).length",
            vec![],
        );
        assert_eq!(injected, 0, "an injected <script> exists on {path}");
        assert_no_js_errors(&browser, &path);
    }

    // On the issue page the message reads literally, markup and all.
    let text = browser.find("body").text();
    assert!(text.contains(XSS_MESSAGE), "the message is shown as text:\n{text}");
    assert!(browser.title().contains("<script>"), "the title is text too: {}", browser.title());
    browser.screenshot("issue-with-markup");
}

/// The client itself on a page of its own (a data: URL, no server): the
/// checks above would see a script that ran and an error it threw, and
/// forms respond to typing, clearing, selecting and clicking.
#[test]
fn ui_browser_client_sees_what_runs_and_drives_forms() {
    let page = r#"<!doctype html><title>probe</title>
<img src=x onerror="window.__xss=2">
<form onsubmit="event.preventDefault(); document.getElementById('out').textContent = this.q.value + '/' + this.s.value">
<input name=q value=old><select name=s><option value=a>A</option><option value="b&quot;c">B</option></select>
<button id=go data-role="submit">Go</button></form><p id=out></p>
<script>setTimeout(() => { document.body.insertAdjacentHTML('beforeend', '<p id=late>late</p>'); }, 300);
throw new Error('probe failure');</script>"#;
    let browser = Browser::start();
    browser.goto(&format!("data:text/html;charset=utf-8,{}", faultline_tests::api::encode(page)));
    assert_eq!(browser.title(), "probe");
    assert_eq!(browser.execute_script("return window.__xss", vec![]), 2);
    let errors = browser.js_errors();
    assert!(
        errors.iter().any(|e| e.message.contains("probe failure")),
        "the thrown error is logged: {errors:?}"
    );

    // find waits for an element that appears later.
    assert_eq!(browser.find("#late").text(), "late");
    assert!(browser.find_all_now("#never").is_empty());

    let input = browser.find("input[name=q]");
    input.clear();
    input.type_text("new");
    browser.find("select").select_by_value("b\"c");
    let button = browser.find("#go");
    assert_eq!(button.attribute("data-role").as_deref(), Some("submit"));
    assert_eq!(button.attribute("missing"), None);
    button.click();
    browser.wait_until("the form was submitted", || browser.text_of("#out").as_deref() == Some("new/b\"c"));
    assert_eq!(browser.execute_script("return arguments[0].value", vec![input.to_arg()]), "new");
    assert!(browser.page_source().contains("id=\"out\""));
    assert!(browser.screenshot("probe").exists());
}
