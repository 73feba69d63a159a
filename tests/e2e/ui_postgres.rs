//! The explorer on PostgreSQL in a real headless Chromium: two nodes on one
//! database, fed six hours of a shop's traffic (tests/src/demo.rs) through
//! one node and a run of the Python SDK shop (tests/sdk/python/app.py)
//! through the other, with an HTTP check and a new-issue rule. Both nodes
//! serve the issues list, an issue with its events and panels, search, the
//! health, service and endpoint pages and the alerts pages with the same
//! content, and so does a node on a data directory fed the same data: a
//! figure, count or panel PostgreSQL alone lost would show as a difference.
//! A resolve clicked on one node is shown by the other, and so are a merge,
//! an unmerge, a resolve in the next release with the regression a newer
//! release brings, and a bulk ignore. Screenshots (a tall
//! window, so whole pages) go to target/screenshots/<test>/.
//!
//! The user column is compared too: with many users tied at one event
//! each, every node must name the same one (the smallest), however its
//! index is split into segments (`TERMS_PER_SEGMENT` in
//! crates/faultline-store/src/index/aggregate.rs).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use faultline_tests::api::encode;
use faultline_tests::browser::Browser;
use faultline_tests::otlp::post_protobuf;
use faultline_tests::rust_sdk::{Failure, RustService};
use faultline_tests::web::Web;
use faultline_tests::{sdk_app, Server, TempDir};
use serde_json::Value;

fn config(tmp: &TempDir, web: &Web) -> String {
    let path = tmp.path().join("faultline.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[[alerts.rules]]
id = "new-issues"
name = "New issue"
kind = "new_group"

[[checks]]
id = "shop-web"
kind = "http"
url = "http://127.0.0.1:{}/healthz"
interval = "1s"
"#,
            web.port
        ),
    )
    .unwrap();
    path.to_str().unwrap().to_string()
}

/// What a page shows in the parts named by CSS selectors: each matching
/// element's text, whitespace collapsed, without the elements that show a
/// time relative to now (those carrying an RFC 3339 `title`), which two
/// page loads seconds apart may word differently; a selector starting with
/// `=` keeps them as their `title`, the time itself (for times the test
/// sent, which every node stores alike). Charts (`svg`) are kept as
/// markup, so a bar's height counts too.
fn shown(browser: &Browser, selectors: &[&str]) -> BTreeMap<String, Vec<String>> {
    let script = r#"
        const out = {};
        for (const key of arguments[0]) {
            const absolute = key.startsWith('=');
            const css = absolute ? key.slice(1) : key;
            out[key] = [...document.querySelectorAll(css)].map(el => {
                if (el.tagName.toLowerCase() === 'svg') return el.outerHTML;
                const copy = el.cloneNode(true);
                copy.querySelectorAll('[title]').forEach(t => {
                    const time = t.getAttribute('title');
                    if (/^\d{4}-\d\d-\d\dT/.test(time)) {
                        if (absolute) t.textContent = time; else t.remove();
                    }
                });
                return copy.textContent.replace(/\s+/g, ' ').trim();
            });
        }
        return out;"#;
    let list = Value::Array(selectors.iter().map(|s| Value::String(s.to_string())).collect());
    serde_json::from_value(browser.execute_script(script, vec![list])).unwrap()
}

/// A page to compare: a name for its screenshots, its path on each node
/// (an issue's id is the node's own; fewer paths than nodes compare the
/// first nodes only) and the parts compared.
struct Page<'a> {
    name: &'a str,
    paths: Vec<String>,
    selectors: &'a [&'a str],
}

/// Loads the page on every node and returns what each shows. A chart's
/// buckets move with the clock: when a second load of the first node
/// differs from the first, a bucket boundary passed and the round is
/// taken again.
fn shown_on_all(
    browser: &Browser,
    nodes: &[(&str, &Server)],
    page: &Page,
) -> Vec<BTreeMap<String, Vec<String>>> {
    for _ in 0..3 {
        let mut views = Vec::new();
        for ((label, node), path) in nodes.iter().zip(&page.paths) {
            browser.goto(&node.api_url(path));
            let errors = browser.js_errors();
            assert!(errors.is_empty(), "script errors on {label} {path}: {errors:?}");
            browser.screenshot(&format!("{}-{label}", page.name));
            views.push(shown(browser, page.selectors));
        }
        browser.goto(&nodes[0].1.api_url(&page.paths[0]));
        if shown(browser, page.selectors) == views[0] {
            return views;
        }
    }
    panic!("{}: the first node's page kept changing between loads", page.name);
}

/// The group of `service` with `exception_type`, as `node` lists it.
fn group_id(node: &Server, service: &str, exception_type: &str) -> u64 {
    let found: Vec<u64> = node
        .groups()
        .iter()
        .filter(|g| g["service"] == service && g["exception_type"] == exception_type)
        .map(|g| g["id"].as_u64().unwrap())
        .collect();
    assert_eq!(found.len(), 1, "{service} {exception_type} on node {}", node.api_port);
    found[0]
}

fn events(node: &Server) -> u64 {
    node.groups().iter().map(|g| g["count"].as_u64().unwrap()).sum()
}

#[test]
fn ui_browser_two_postgres_nodes_show_what_a_data_directory_shows() {
    let db = faultline_pg_testing::database();
    let (tmp, web) = (TempDir::new("ui-postgres"), Web::start());
    let config = config(&tmp, &web);
    let a = Server::start_with(&["--store", &db.url(), "--config", &config]);
    let b = Server::start_with(&["--store", &db.url(), "--config", &config]);
    let dir = Server::start_with(&["--config", &config]);

    // The demo's traffic to A, the Python SDK's to B; the same to the data directory.
    for export in &faultline_tests::demo::shop_day(6) {
        assert_eq!(post_protobuf(&a.http_url("/v1/traces"), export).unwrap().0, 200);
        assert_eq!(post_protobuf(&dir.http_url("/v1/traces"), export).unwrap().0, 200);
    }
    let resource = "service.version=2.3.0,deployment.environment.name=staging,host.name=py-1";
    sdk_app::run(&sdk_app::python_shop(), &b, "grpc", "shop-py", resource);
    sdk_app::run(&sdk_app::python_shop(), &dir, "grpc", "shop-py", resource);
    let total = events(&dir);
    assert!(total > 100, "the demo's errors and app.py's: {total}");
    for node in [&a, &b, &dir] {
        assert_eq!(events(node), total, "node {}", node.api_port);
        node.wait_for("/api/v1/search?q=&limit=1", |p| p["total"].as_u64() == Some(total));
        node.wait_for("/api/v1/checks/shop-web", |c| c["state"] == "up");
        // One new-issue alert per issue: 4 of the demo's, 5 of app.py's.
        node.wait_for("/api/v1/alerts", |p| {
            p["alerts"].as_array().is_some_and(|f| f.iter().filter(|a| a["state"] == "firing").count() == 9)
        });
    }

    let browser = Browser::start();
    browser.cdp(
        "Emulation.setDeviceMetricsOverride",
        serde_json::json!({"width": 1366, "height": 2400, "deviceScaleFactor": 1, "mobile": false}),
    );
    let nodes = [("pg-a", &a), ("pg-b", &b), ("dir", &dir)];
    let same = |path: &str| vec![path.to_string(); 3];
    // The regression the demo's deploy brought: release markers, an endpoint panel.
    let issue: Vec<String> = nodes
        .iter()
        .map(|(_, n)| format!("/issues/{}", group_id(n, "checkout", "ZeroDivisionError")))
        .collect();
    let py_issue: Vec<String> =
        nodes.iter().map(|(_, n)| format!("/issues/{}", group_id(n, "shop-py", "KeyError"))).collect();
    let with =
        |paths: &[String], query: &str| paths.iter().map(|p| format!("{p}?{query}")).collect::<Vec<_>>();
    let stream: &[&str] = &["table.stream tbody tr", "td.tag-cell"];
    let issue_parts: &[&str] = &[
        "#issue-title",
        "#matching-events",
        "svg.chart",
        "#tags",
        "#endpoint-health",
        "#onset",
        "#grouping",
        "#event-position",
        "#event-message",
        "#user",
        "#contexts",
        "#attributes",
    ];
    // app.py names no user.
    let py_issue_parts: Vec<&str> = issue_parts.iter().copied().filter(|css| *css != "#user").collect();
    let demo_services = "#services tr[data-service]:not([data-service=shop-py])";
    let pages = [
        Page { name: "issues", paths: same("/?column=release"), selectors: stream },
        Page {
            name: "issues-by-count",
            paths: same("/?sort=count&column=tenant&period=7d"),
            selectors: stream,
        },
        Page { name: "issues-query", paths: same("/?q=tenant%3Aacme&column=user"), selectors: stream },
        Page { name: "issue", paths: issue.clone(), selectors: issue_parts },
        Page { name: "issue-7d-tenant", paths: with(&issue, "period=7d&tag=tenant"), selectors: issue_parts },
        Page { name: "issue-narrowed", paths: with(&issue, "q=tenant%3Aacme"), selectors: issue_parts },
        // Both PostgreSQL nodes show the one run of app.py alike...
        Page { name: "issue-python", paths: py_issue[..2].to_vec(), selectors: &py_issue_parts },
        // ...and the data directory's run (other trace ids and durations) the same issue.
        Page {
            name: "issue-python-vs-dir",
            paths: py_issue,
            selectors: &["#issue-title", "#matching-events", "#tags", "#grouping", "#event-message"],
        },
        Page {
            name: "search",
            paths: same(&format!("/search?q={}", encode("service:checkout -type:KeyError"))),
            // Each hit with its time: the same events in the same order.
            selectors: &["#match-count", "svg.chart", "=#hits tbody tr"],
        },
        Page { name: "health", paths: same("/health"), selectors: &[demo_services] },
        Page { name: "health-7d", paths: same("/health?period=7d"), selectors: &[demo_services] },
        Page {
            name: "service",
            paths: same("/services/checkout"),
            selectors: &["#figures", "#rate-chart", "#error-chart", "#latency-chart", "#endpoint-table"],
        },
        Page {
            name: "endpoint",
            paths: same("/services/checkout?route=%2Fcheckout&method=POST"),
            selectors: &["#figures", "#rate-chart", "#error-chart", "#latency-chart"],
        },
        Page { name: "alerts", paths: same("/alerts"), selectors: &["#firing-count", "#active-alerts"] },
        Page { name: "alert-rules", paths: same("/alerts/rules"), selectors: &["#rules"] },
    ];
    for page in &pages {
        let views = shown_on_all(&browser, &nodes, page);
        for (css, parts) in &views[0] {
            assert!(
                parts.iter().any(|p| !p.is_empty()),
                "{}: {css} shows nothing on {}",
                page.name,
                nodes[0].0
            );
        }
        for ((label, _), view) in nodes.iter().zip(&views).skip(1) {
            for (css, parts) in &views[0] {
                assert_eq!(&view[css], parts, "{}: {css} on {label} differs from {}", page.name, nodes[0].0);
            }
        }
    }

    // The check and app.py's row: up on every node; the same row on both PostgreSQL nodes.
    for (label, node) in &nodes[..2] {
        browser.goto(&node.api_url("/health"));
        let checks = browser.find("#checks").text();
        assert!(checks.contains("shop-web") && checks.contains("up"), "{label}: {checks}");
    }
    let py_row = |node: &Server| {
        browser.goto(&node.api_url("/health"));
        shown(&browser, &["#services tr[data-service=shop-py]"])
    };
    assert_eq!(py_row(&a), py_row(&b));

    // Resolved with a click on A: B shows it resolved and no longer lists it as open.
    let id = group_id(&a, "checkout", "ZeroDivisionError");
    browser.goto(&a.api_url(&format!("/issues/{id}")));
    browser.find("button[value=resolved]").click();
    browser.wait_until("resolved on A", || browser.text_of("#issue-status").as_deref() == Some("resolved"));
    browser.goto(&b.api_url(&format!("/issues/{id}")));
    assert_eq!(browser.text_of("#issue-status").as_deref(), Some("resolved"));
    browser.screenshot("issue-resolved-pg-b");
    browser.goto(&b.api_url("/"));
    let open = browser.execute_script(
        "return [...document.querySelectorAll('table.stream a.issue-title')].map(a => a.getAttribute('href'))",
        vec![],
    );
    let open: Vec<&str> = open.as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    assert_eq!(open.len(), 8, "{open:?}");
    let link = format!("/issues/{id}");
    assert!(!open.iter().any(|href| href.split('?').next() == Some(&link)), "B still lists it: {open:?}");
}

fn failure<'a>(exception_type: &'a str, function: &'a str, user: &'a str) -> Failure<'a> {
    Failure { route: "/cart", method: "POST", exception_type, message: "it failed", user, function }
}

/// `(title, events)` of each row of the unresolved stream, as shown.
fn stream_rows(browser: &Browser, node: &Server, query: &str) -> Vec<(String, String)> {
    browser.goto(&node.api_url(&format!("/?{query}")));
    let rows = browser.execute_script(
        "return [...document.querySelectorAll('table.stream tbody tr')].map(r => \
         [r.querySelector('a.issue-title').innerText, r.querySelector('td.num').innerText])",
        vec![],
    );
    serde_json::from_value(rows).unwrap()
}

/// What an engineer does on one node of a PostgreSQL cluster, seen on the
/// other: merge two issues and split them again, resolve in the next
/// release and see the regression a newer release brings, ignore from the
/// stream in bulk.
#[test]
fn ui_browser_actions_on_one_postgres_node_show_on_the_other() {
    let db = faultline_pg_testing::database();
    let a = Server::start_with(&["--store", &db.url()]);
    let b = Server::start_with(&["--store", &db.url()]);
    let old = RustService::start(&a, "checkout", "1.4.0", "production");
    for user in ["u-1", "u-2", "u-3"] {
        old.fail(&failure("KeyError", "add_item", user));
    }
    old.flush();
    let other = RustService::start(&b, "checkout", "1.4.0", "production");
    other.fail(&failure("ValueError", "set_quantity", "u-1"));
    other.fail(&failure("ValueError", "set_quantity", "u-2"));
    other.fail(&failure("ZeroDivisionError", "apply_discount", "u-4"));
    other.flush();
    for node in [&a, &b] {
        node.wait_for("/api/v1/groups", |g| g["groups"].as_array().is_some_and(|g| g.len() == 3));
    }
    let (key, value, zero) = (
        group_id(&a, "checkout", "KeyError"),
        group_id(&a, "checkout", "ValueError"),
        group_id(&a, "checkout", "ZeroDivisionError"),
    );
    let browser = Browser::start();
    browser.cdp(
        "Emulation.setDeviceMetricsOverride",
        serde_json::json!({"width": 1366, "height": 1600, "deviceScaleFactor": 1, "mobile": false}),
    );

    // Merged on A: B shows one issue of 5 events with both fingerprints.
    browser.goto(&a.api_url(&format!("/issues/{key}")));
    browser.find(&format!("#merge input[name=ids][value='{value}']")).click();
    browser.find("#merge button[value=merge]").click();
    browser.wait_until("merged on A", || browser.text_of("#matching-events").as_deref() == Some("5"));
    let rows = stream_rows(&browser, &b, "");
    assert_eq!(rows.len(), 2, "B's stream after the merge: {rows:?}");
    assert!(rows.iter().any(|(t, n)| t.starts_with("KeyError") && n == "5"), "{rows:?}");
    browser.goto(&b.api_url(&format!("/issues/{key}")));
    assert_eq!(browser.find_all_now("#grouping code").len(), 2, "both fingerprints on B");
    browser.screenshot("merged-pg-b");

    // Split again on B: A shows the ValueError's two events apart again.
    let value_fingerprint = b.get(&format!("/api/v1/groups/{key}"))["fingerprints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .find(|f| *f != a.get(&format!("/api/v1/groups/{key}"))["fingerprints"][0])
        .unwrap();
    browser.execute_script("window.confirm = () => true", vec![]);
    let form = browser.find(&format!("#grouping form:has(input[value='{value_fingerprint}'])"));
    form.find("button[value=unmerge]").click();
    // The split-off events open as their own issue.
    browser.wait_until("unmerged on B", || {
        browser.current_url().contains("done=") && browser.text_of("#matching-events").as_deref() == Some("2")
    });
    let mut rows = stream_rows(&browser, &a, "sort=count");
    rows.sort();
    let counts: Vec<&str> = rows.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(counts, ["3", "2", "1"], "A's stream after the split: {rows:?}");
    browser.screenshot("unmerged-pg-a");

    // Resolved in the next release on B; a 1.5.0 event through A reopens it on both.
    browser.goto(&b.api_url(&format!("/issues/{zero}")));
    browser.find("button[value=resolved_next_release]").click();
    browser.wait_until("resolved in the next release", || {
        browser.text_of("#status-note").is_some_and(|t| t.contains("after 1.4.0"))
    });
    let newer = RustService::start(&a, "checkout", "1.5.0", "production");
    newer.fail(&failure("ZeroDivisionError", "apply_discount", "u-5"));
    newer.flush();
    for (label, node) in [("pg-a", &a), ("pg-b", &b)] {
        node.wait_for(&format!("/api/v1/groups/{zero}"), |g| g["count"] == 2);
        // The chart and tags count from the node's index, which catches up within its interval.
        node.wait_for("/api/v1/search?q=type:ZeroDivisionError&limit=1", |p| p["total"] == 2);
        browser.goto(&node.api_url(&format!("/issues/{zero}")));
        assert_eq!(browser.text_of("#issue-status").as_deref(), Some("unresolved"), "{label}");
        assert_eq!(browser.find_all_now(".badge.regressed").len(), 1, "{label}: marked regressed");
        assert_eq!(browser.text_of("#matching-events").as_deref(), Some("2"), "{label}");
        let tags = browser.find("#tags").text();
        assert!(
            tags.contains("1.5.0") && tags.contains("1 · 50%"),
            "{label}: the new release's event: {tags}"
        );
        browser.screenshot(&format!("regressed-{label}"));
    }

    // Ignored in bulk from A's stream: B lists it among the ignored.
    browser.goto(&a.api_url("/"));
    browser.find(&format!("input[name=ids][value='{zero}']")).click();
    browser.find("button[type=submit][value=ignored]").click();
    browser.wait_until("it left A's stream", || {
        browser.find_all_now(&format!("input[name=ids][value='{zero}']")).is_empty()
    });
    let ignored = stream_rows(&browser, &b, "status=ignored");
    assert_eq!(ignored.len(), 1, "{ignored:?}");
    assert!(ignored[0].0.starts_with("ZeroDivisionError"), "{ignored:?}");
    assert_no_script_errors(&browser);
}

fn assert_no_script_errors(browser: &Browser) {
    let errors = browser.js_errors();
    assert!(errors.is_empty(), "script errors: {errors:?}");
}
