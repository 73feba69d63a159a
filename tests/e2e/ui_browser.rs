//! The pages in a real headless Chromium (tests/src/browser.rs, over
//! WebDriver) against the real binary fed real OTLP exports: what a user
//! reads on the home and issue pages, and that a message carrying HTML and
//! JavaScript is shown as text and never runs. Screenshots of every page go
//! to target/screenshots/<test>/.
#![allow(clippy::unwrap_used)]

use faultline_tests::api::titles;
use faultline_tests::browser::Browser;
use faultline_tests::otlp::{exception_span, kv, post_protobuf, traces_request};
use faultline_tests::rust_sdk::{Failure, RustService};
use faultline_tests::Server;
use serde_json::{json, Value};

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

fn failure<'a>(exception_type: &'a str, message: &'a str, user: &'a str, function: &'a str) -> Failure<'a> {
    Failure { route: "/cart", method: "POST", exception_type, message, user, function }
}

/// Titles of the stream's rows, as shown. Read in one script call, so a
/// page being replaced (a form just submitted) never leaves a stale element.
fn stream_titles(browser: &Browser) -> Vec<String> {
    let titles = browser.execute_script(
        "return [...document.querySelectorAll('table.stream a.issue-title')].map(a => a.innerText)",
        vec![],
    );
    titles.as_array().into_iter().flatten().filter_map(|t| t.as_str().map(str::to_string)).collect()
}

/// What an engineer does in the explorer with errors a real SDK sent:
/// filters the stream by service and by a query, opens an issue, reads its
/// in-app frame and tag breakdown, pages through its events, resolves it
/// and sees it leave the unresolved stream, and resolves another one in
/// the next release, which an event from an older release leaves resolved
/// and one from a newer release reopens.
#[test]
fn ui_browser_triage_an_issue_from_the_stream() {
    let tmp = faultline_tests::TempDir::new("ui-triage");
    let config = tmp.path().join("faultline.toml");
    std::fs::write(&config, "[ui]\ntrace_url = \"https://jaeger.example/trace/{trace_id}\"\n").unwrap();
    let server = Server::start_with(&["--config", config.to_str().unwrap()]);
    let checkout = RustService::start(&server, SERVICE, "1.4.0", "production");
    let billing = RustService::start(&server, "billing", "7.0.1", "production");
    for user in ["u-1", "u-2", "u-3"] {
        checkout.fail(&failure("KeyError", "'sku'", user, "add_item"));
    }
    checkout.fail(&failure("ZeroDivisionError", "division by zero", "u-1", "apply_discount"));
    billing.fail(&failure("TimeoutError", "charge timed out", "u-9", "charge"));
    checkout.flush();
    billing.flush();
    server.wait_for("/api/v1/groups", |b| b["groups"].as_array().is_some_and(|g| g.len() == 3));
    server.wait_for("/api/v1/search?q=", |b| b["total"] == 5);
    let key_error = group_with(&server, "KeyError");

    let browser = Browser::start();
    browser.goto(&server.api_url("/"));
    let all = stream_titles(&browser);
    assert_eq!(all.len(), 3, "the unresolved stream: {all:?}");
    browser.screenshot("stream");
    assert_no_js_errors(&browser, "/");

    // Filter by service: billing's issue leaves.
    browser.find("select[name=service]").select_by_value(SERVICE);
    browser.wait_until("the stream shows checkout only", || {
        browser.current_url().contains("service=checkout") && stream_titles(&browser).len() == 2
    });
    assert!(stream_titles(&browser).iter().all(|t| !t.contains("TimeoutError")));

    // And by a query: only the KeyError matches, with its 3 events and 3 users.
    let query = browser.find("input.query");
    query.clear();
    query.type_text("type:KeyError");
    browser.find("form.filters button[type=submit]").click();
    browser.wait_until("the stream shows the query's matches", || stream_titles(&browser).len() == 1);
    let row = browser.find("table.stream tbody tr").text();
    assert!(
        row.contains("KeyError") && row.contains("add_item"),
        "the row names the issue and culprit: {row}"
    );
    assert_eq!(browser.find("table.stream .badge.level-error").text(), "error", "the row shows the level");
    assert!(row.contains("span_exception"), "and where the error came from: {row}");
    let cells: Vec<String> =
        browser.find_all_now("table.stream tbody tr td.num").iter().map(|c| c.text()).collect();
    assert_eq!(cells[..2], ["3".to_string(), "3".to_string()], "matching events and users: {cells:?}");
    // Any tag as a column: the issue's most frequent release.
    let column = browser.find("input[name=column]");
    column.type_text("release");
    browser.find("form.filters button[type=submit]").click();
    browser.wait_until("the release column", || browser.text_of("#tag-column").as_deref() == Some("release"));
    let cell = browser.find("td.tag-cell").text();
    assert_eq!(cell, "1.4.0 100%", "the column shows the top value and its share");
    browser.screenshot("stream-filtered");

    // The issue page: the in-app frame, the framework frame folded away.
    browser.find("table.stream a.issue-title").click();
    browser.wait_until("the issue page opens", || browser.current_url().contains("/issues/"));
    let app_frames: Vec<String> = browser.find_all_now(".frame.app").iter().map(|f| f.text()).collect();
    assert!(
        app_frames.iter().any(|f| f.contains("add_item") && f.contains("cart.py")),
        "the in-app frame is shown: {app_frames:?}"
    );
    let folded = browser.find(".hidden-frames");
    assert!(folded.text().contains("Show 1 library frame"), "the flask frame is folded: {}", folded.text());

    // Tag breakdowns: one release, three users a third each.
    let tags = browser.find("#tags").text();
    assert!(tags.contains("release") && tags.contains("1.4.0") && tags.contains("3 · 100%"), "{tags}");
    assert!(tags.contains("u-2") && tags.contains("1 · 33%"), "users are broken down: {tags}");
    browser.screenshot("issue-triage");

    // Beside it, its endpoint around the first event: every /cart request failed since.
    let onset = browser.find("#onset").text();
    assert!(
        onset.contains("hour after") && onset.contains("100%"),
        "the endpoint's errors after the start: {onset}"
    );
    let endpoint = browser.find("#endpoint-health a.route");
    assert_eq!(endpoint.text(), "/cart");
    assert!(endpoint.attribute("href").unwrap_or_default().starts_with("/services/checkout?route=%2Fcart"));

    // The trace id links to the trace backend through ui.trace_url.
    let link = browser.find("#trace-link");
    assert_eq!(link.attribute("href"), Some(format!("https://jaeger.example/trace/{}", link.text())));
    assert_eq!(link.text().len(), 32, "a W3C trace id: {}", link.text());

    // The pager walks the three events, newest first.
    let position = browser.find("#event-position").text();
    assert!(position.contains('3'), "the pager says where the event sits among 3: {position}");
    browser.find("#oldest-event").click();
    browser.wait_until("the oldest event is shown", || browser.find_all_now("#oldest-event").is_empty());
    let oldest_user = browser.find("#attributes").text();
    assert!(oldest_user.contains("u-1"), "the oldest event was user u-1's: {oldest_user}");
    browser.find("#newer-event").click();
    browser.wait_until("the middle event is shown", || {
        browser.text_of("#attributes").is_some_and(|t| t.contains("u-2"))
    });
    browser.find("#newest-event").click();
    browser.wait_until("the newest event is shown", || {
        browser.text_of("#attributes").is_some_and(|t| t.contains("u-3"))
    });
    // An OTel event gets the panels a Sentry event gets, where it has the data.
    assert_eq!(browser.find("#user").text(), "id u-3", "enduser.id is the user");
    assert!(browser.find("#contexts .card[data-context=host]").text().contains("web-1"));
    assert!(browser.find("#sdk").text().starts_with("opentelemetry "), "{}", browser.find("#sdk").text());
    browser.execute_script("document.getElementById('user').scrollIntoView()", vec![]);
    browser.screenshot("issue-otel-panels");

    // Resolve it: it leaves the unresolved stream.
    browser.find("button[value=resolved]").click();
    browser.wait_until("the issue is resolved", || {
        browser.text_of("#issue-status").as_deref() == Some("resolved")
    });
    browser.goto(&server.api_url("/"));
    let open = stream_titles(&browser);
    assert_eq!(open.len(), 2, "the resolved issue left the stream: {open:?}");
    assert!(open.iter().all(|t| !t.contains("KeyError")));
    assert_eq!(server.get(&format!("/api/v1/groups/{}", key_error["id"]))["status"], "resolved");

    // Bulk: tick billing's issue and ignore it from the stream.
    let timeout = group_with(&server, "TimeoutError");
    browser.find(&format!("input[name=ids][value='{}']", timeout["id"])).click();
    browser.find("button[type=submit][value=ignored]").click();
    browser.wait_until("the ignored issue left the stream", || stream_titles(&browser).len() == 1);
    assert_eq!(server.get(&format!("/api/v1/groups/{}", timeout["id"]))["status"], "ignored");
    browser.goto(&server.api_url("/?status=ignored"));
    assert_eq!(stream_titles(&browser).len(), 1, "it is listed among the ignored ones");

    // Resolve the other checkout issue in the next release.
    let zero = group_with(&server, "ZeroDivisionError");
    browser.goto(&server.api_url(&format!("/issues/{}", zero["id"])));
    browser.find("button[value=resolved_next_release]").click();
    browser.wait_until("resolved in the next release", || {
        browser.text_of("#status-note").is_some_and(|t| t.contains("after 1.4.0"))
    });
    browser.screenshot("issue-resolved-next-release");

    // An event from the release it was resolved in leaves it resolved...
    checkout.fail(&failure("ZeroDivisionError", "division by zero", "u-4", "apply_discount"));
    checkout.flush();
    let path = format!("/api/v1/groups/{}", zero["id"]);
    let group = server.wait_for(&path, |g| g["count"] == 2);
    assert_eq!((group["status"].as_str(), group["regressed"].as_bool()), (Some("resolved"), Some(false)));

    // ...and one from a newer release reopens it as a regression.
    let newer = RustService::start(&server, SERVICE, "1.5.0", "production");
    newer.fail(&failure("ZeroDivisionError", "division by zero", "u-5", "apply_discount"));
    newer.flush();
    server.wait_for(&path, |g| g["count"] == 3);
    browser.refresh();
    browser.wait_until("the issue reopened", || {
        browser.text_of("#issue-status").as_deref() == Some("unresolved")
    });
    assert!(browser.find_all_now(".badge.regressed").len() == 1, "it is marked regressed");
    browser.screenshot("issue-regressed");
    assert_no_js_errors(&browser, "the issue page");
}

/// The search page: the syntax explained, a histogram and the matches by
/// issue, each event openable; a bad query is a clear error, not a blank.
#[test]
fn ui_browser_search_finds_events_by_issue() {
    let server = Server::start();
    let checkout = RustService::start(&server, SERVICE, "2.0.0", "staging");
    checkout.fail(&failure("KeyError", "'sku'", "u-1", "add_item"));
    checkout.fail(&failure("KeyError", "'sku'", "u-2", "add_item"));
    checkout.fail(&failure("ValueError", "bad quantity", "u-1", "set_quantity"));
    checkout.flush();
    server.wait_for("/api/v1/search?q=", |b| b["total"] == 3);

    let browser = Browser::start();
    browser.goto(&server.api_url("/search"));
    assert!(browser.find(".examples").text().contains("OR"), "the syntax is explained by examples");
    let query = browser.find("input.query");
    // Field names are offered for the word being typed.
    query.type_text("service:checkout -ty");
    let offered = browser.execute_script(
        "return [...document.querySelectorAll('#query-fields option')].map(o => o.value)",
        vec![],
    );
    assert_eq!(offered, serde_json::json!(["service:checkout -type:"]), "suggestions for the last word");
    query.clear();
    query.type_text("type:KeyError OR type:ValueError");
    browser.find("form.filters button[type=submit]").click();
    browser.wait_until("the matches are counted", || browser.text_of("#match-count").as_deref() == Some("3"));
    let rows = browser.find_all_now("#hits tbody tr");
    assert_eq!(rows.len(), 3);
    browser.screenshot("search");
    assert_no_js_errors(&browser, "/search");

    // Negation across fields.
    browser.goto(&server.api_url(&format!("/search?q={}", faultline_tests::api::encode("-type:KeyError"))));
    assert_eq!(browser.text_of("#match-count").as_deref(), Some("1"));

    // An event opens on its issue page.
    browser.find("#hits a.issue-title").click();
    browser.wait_until("the event's issue page", || browser.current_url().contains("event="));
    assert!(browser.find("#issue-title").text().contains("ValueError"));

    // A query that does not parse says why.
    browser.goto(&server.api_url(&format!("/search?q={}", faultline_tests::api::encode("type:(KeyError"))));
    let error = browser.find("#query-error").text();
    assert!(error.contains("invalid query"), "a bad query is explained: {error}");
}

const SENTRY_KEY: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";

/// A browser error as `@sentry/browser` reports it: breadcrumbs (one
/// carrying markup), user, tags, request, contexts, extra data and SDK.
fn sentry_browser_event() -> Value {
    let mut crumbs: Vec<Value> = (1..=11)
        .map(|i| json!({"timestamp": 1_796_000_000.0 + f64::from(i), "category": "ui.click", "message": format!("clicked item {i}")}))
        .collect();
    crumbs.push(json!({"timestamp": 1_796_000_020.5, "type": "http", "category": "fetch", "level": "error",
        "data": {"method": "POST", "url": "/api/cart", "status_code": 502}}));
    crumbs.push(json!({"timestamp": "2026-12-01T08:00:21.125Z", "category": "console", "level": "warning",
        "message": XSS_MESSAGE}));
    json!({
        "event_id": "4c1d2e3f4a5b6c7d8e9fa0b1c2d3e4f5",
        "platform": "javascript",
        "level": "error",
        "release": "web@3.1.0",
        "exception": {"values": [{"type": "TypeError", "value": "cart.items is undefined", "mechanism": {"handled": false}}]},
        "breadcrumbs": {"values": crumbs},
        "user": {"id": "u-77", "email": "grace@example.com", "username": "grace", "ip_address": "203.0.113.9"},
        "tags": {"tenant": "acme", "browser.name": "Firefox", "note": "<img src=x onerror=\"window.__xss=3\">"},
        "request": {"method": "GET", "url": "https://shop.example/cart", "query_string": "coupon=SPRING",
            "headers": {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
                        "Cookie": "session=s3cr3t", "Referer": "https://shop.example/"}},
        "contexts": {
            "browser": {"name": "Firefox", "version": "133.0", "type": "browser"},
            "os": {"name": "Linux", "type": "os"},
            "device": {"family": "Desktop", "type": "device"},
            "trace": {"trace_id": "5b8efff798038103d269b633813fc60c", "span_id": "eee19b7ec3c1b174", "op": "pageload"}
        },
        "extra": {"cart_items": 0, "experiment": "<b>bold</b>"},
        "sdk": {"name": "sentry.javascript.browser", "version": "8.42.0"}
    })
}

/// A Sentry event's page: its tags as chips that search, its breadcrumbs
/// (the older ones folded, markup shown as text), request, user, contexts
/// as cards, extra data and SDK, as Sentry's event page shows them.
#[test]
fn ui_browser_sentry_event_panels() {
    let tmp = faultline_tests::TempDir::new("ui-sentry");
    let config = tmp.path().join("faultline.toml");
    let project = format!("[[sentry.projects]]\nid = 5\nkey = \"{SENTRY_KEY}\"\nservice = \"web\"\n");
    std::fs::write(&config, project).unwrap();
    let server = Server::start_with(&["--config", config.to_str().unwrap()]);
    let url = server.http_url(&format!("/api/5/store/?sentry_key={SENTRY_KEY}"));
    let sent = reqwest::blocking::Client::new().post(url).json(&sentry_browser_event()).send().unwrap();
    assert_eq!(sent.status().as_u16(), 200, "{}", sent.text().unwrap_or_default());
    server.wait_for("/api/v1/groups", |b| b["groups"].as_array().is_some_and(|g| g.len() == 1));
    let group = group_with(&server, "TypeError");

    let browser = Browser::start();
    let path = format!("/issues/{}", group["id"]);
    browser.goto(&server.api_url(&path));
    assert_eq!(browser.execute_script("return window.__xss", vec![]), Value::Null, "script ran");
    assert!(browser.find_all_now("img[src='x'], [onerror]").is_empty(), "injected markup exists");
    assert_no_js_errors(&browser, &path);

    let chips: Vec<String> = browser.find_all_now("#event-tags .chip").iter().map(|c| c.text()).collect();
    assert_eq!(chips.len(), 3, "{chips:?}");
    assert!(chips.iter().any(|c| c.contains("tenant") && c.contains("acme")), "{chips:?}");
    assert!(
        chips.iter().any(|c| c.contains("<img src=x onerror=\"window.__xss=3\">")),
        "markup as text: {chips:?}"
    );

    // Ten breadcrumbs at once, newest last; the three before are folded.
    let rows = browser.find_all_now("#breadcrumbs > table.recent tbody tr");
    assert_eq!(rows.len(), 10);
    let last = rows[9].text();
    assert!(
        last.contains(XSS_MESSAGE) && last.contains("console") && last.contains("08:00:21.125"),
        "{last}"
    );
    let fetch = rows[8].text();
    assert!(fetch.contains("fetch") && fetch.contains("\"status_code\":502"), "{fetch}");
    let folded = browser.find("#breadcrumbs details.older-crumbs");
    assert!(folded.text().contains("Show 3 older breadcrumbs"), "{}", folded.text());
    assert!(!browser.find("#breadcrumbs details td").is_displayed(), "folded until asked");
    browser.execute_script("document.getElementById('breadcrumbs').scrollIntoView()", vec![]);
    browser.screenshot("sentry-breadcrumbs");
    browser.find("#breadcrumbs details.older-crumbs summary").click();
    browser
        .wait_until("the older breadcrumbs open", || browser.find("#breadcrumbs details td").is_displayed());
    assert!(browser.find("#breadcrumbs details").text().contains("clicked item 1"));
    browser.screenshot("sentry-breadcrumbs-open");

    let request = browser.find("#request").text();
    assert!(request.contains("GET https://shop.example/cart?coupon=SPRING"), "{request}");
    assert!(request.contains("coupon") && request.contains("SPRING"), "the query: {request}");
    assert!(request.contains("referer") && request.contains("Firefox/133.0"), "headers: {request}");
    assert!(!request.to_lowercase().contains("cookie") && !request.contains("s3cr3t"), "{request}");

    let user = browser.find("#user").text();
    for value in ["u-77", "grace@example.com", "grace", "203.0.113.9"] {
        assert!(user.contains(value), "{value} in {user}");
    }

    let cards: Vec<String> =
        browser.find_all_now("#contexts .card").iter().filter_map(|c| c.attribute("data-context")).collect();
    assert_eq!(cards, ["os", "browser", "device", "trace"], "Sentry's order");
    let browser_card = browser.find("#contexts .card[data-context=browser]").text();
    assert!(browser_card.contains("Firefox") && browser_card.contains("133.0"), "{browser_card}");
    assert!(browser.find("#contexts .card[data-context=trace]").text().contains("pageload"));
    assert!(browser.find("#extra").text().contains("<b>bold</b>"), "extra data as text");
    assert_eq!(browser.find("#sdk").text(), "sentry.javascript.browser 8.42.0");
    browser.execute_script("document.getElementById('request').scrollIntoView()", vec![]);
    browser.screenshot("sentry-request-user-contexts");
    browser.execute_script("document.getElementById('event').scrollIntoView()", vec![]);
    browser.screenshot("sentry-event");

    // A tag chip searches the events with that tag.
    browser.find("#event-tags a.chip[href*='tenant']").click();
    browser.wait_until("the search for the tag", || browser.current_url().contains("/search"));
    assert_eq!(browser.text_of("#match-count").as_deref(), Some("1"));
    browser.prefer_color_scheme("dark");
    browser.goto(&server.api_url(&path));
    browser.execute_script("document.getElementById('breadcrumbs').scrollIntoView()", vec![]);
    browser.screenshot("sentry-breadcrumbs-dark");
}

/// Pictures for the README: a day of a small shop's traffic (tests/src/demo.rs)
/// in each main page, saved to `docs/screenshots/`. Not part of the suite;
/// run it after changing how pages look:
/// `cargo test -p faultline-tests --test ui_browser -- --ignored docs_screenshots`.
#[test]
#[ignore = "writes docs/screenshots; run by hand"]
fn ui_browser_docs_screenshots() {
    let server = Server::start();
    let exports = faultline_tests::demo::shop_day(24);
    let spans: usize = exports.iter().map(|e| e.resource_spans[0].scope_spans[0].spans.len()).sum();
    for export in &exports {
        assert_eq!(post_protobuf(&server.http_url("/v1/traces"), export).unwrap().0, 200);
    }
    println!("sent {spans} spans in {} exports", exports.len());
    let rule =
        serde_json::json!({"id": "new-issues", "kind": "new_group", "name": "New issues in production"});
    let created = reqwest::blocking::Client::new()
        .post(server.api_url("/api/v1/alert-rules"))
        .json(&rule)
        .send()
        .unwrap();
    assert!(created.status().is_success(), "rule: {}", created.text().unwrap_or_default());
    server.wait_for("/api/v1/search?q=", |b| b["total"].as_u64().is_some_and(|n| n > 100));
    std::thread::sleep(std::time::Duration::from_secs(2));
    let regressed = group_with(&server, "ZeroDivisionError");

    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
    std::fs::create_dir_all(&docs).unwrap();
    let browser = Browser::start();
    let pages = [
        ("issues", "/?column=release".to_string()),
        ("issue", format!("/issues/{}", regressed["id"])),
        ("search", format!("/search?q={}", faultline_tests::api::encode("service:checkout -type:KeyError"))),
        ("service", "/services/checkout".to_string()),
        ("alerts-rules", "/alerts/rules".to_string()),
    ];
    for (name, path) in pages {
        browser.goto(&server.api_url(&path));
        assert_no_js_errors(&browser, &path);
        let png = browser.screenshot(name);
        std::fs::copy(&png, docs.join(format!("{name}.png"))).unwrap();
    }
    browser.prefer_color_scheme("dark");
    browser.goto(&server.api_url(&format!("/issues/{}", regressed["id"])));
    std::fs::copy(browser.screenshot("issue-dark"), docs.join("issue-dark.png")).unwrap();
}
