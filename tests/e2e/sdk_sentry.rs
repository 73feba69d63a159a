//! The real Sentry Python SDK (sentry-sdk from PyPI) sends to the running
//! server by DSN: tests/sdk/python/sentry_app.py captures a chained
//! exception, an exception with a custom fingerprint, an error log and an
//! unhandled exception in a WSGI request from the shop, with release, user and tags set, in brotli bodies; the
//! API must show them, after a SIGKILL, as issues with the right titles,
//! culprits, frames and data. And the
//! same bug reported once through the OpenTelemetry SDK and once through
//! sentry-sdk is one issue (tests/sdk/python/same_bug.py).
//!
//! Needs both SDKs in `<workspace>/target/sdk-venv` (scripts/test installs
//! tests/sdk/python/requirements.txt). Without them these tests fail and
//! say so: they never skip.
#![allow(clippy::unwrap_used)]

use faultline_tests::api::{group_events, one_titled, titles, total};
use faultline_tests::sdk_app::{self, App};
use faultline_tests::{binary, Server, TempDir};
use serde_json::{json, Value};

const KEY: &str = "5e7a2b9c0d1f4e3a8b6c7d9e0f1a2b3c";
const SERVICE: &str = "shop-py";

/// A server accepting Sentry project 1 with [`KEY`] as `shop-py`, plus
/// `extra` lines of configuration.
fn start(tmp: &TempDir, extra: &str) -> Server {
    let config = tmp.path().join("faultline.toml");
    let text = format!(
        "{extra}\n[[sentry.projects]]\nid = 1\nkey = \"{KEY}\"\nservice = \"{SERVICE}\"\nenvironment = \"prod\"\n"
    );
    std::fs::write(&config, text).unwrap();
    Server::start_with(&["--config", config.to_str().unwrap()])
}

fn dsn(server: &Server) -> String {
    format!("http://{KEY}@127.0.0.1:{}/1", server.http_port)
}

/// Runs a program of tests/sdk/python with the venv's interpreter; fails
/// with its output unless it printed `sent` (the server answered 200).
fn run_python(server: &Server, label: &str, args: &[&str]) {
    assert_eq!(python_output(server, label, args), "sent", "{label}");
}

/// Runs a program of tests/sdk/python with the venv's interpreter; fails
/// with its output unless it exited 0, and returns what it printed.
fn python_output(server: &Server, label: &str, args: &[&str]) -> String {
    let workspace = faultline_tests::workspace();
    let app = App {
        label,
        program: workspace.join("target/sdk-venv/bin/python"),
        args,
        dir: workspace.join("tests/sdk/python"),
        clear_env: &["PYTHONPATH", "SENTRY_DSN", "SENTRY_RELEASE", "SENTRY_ENVIRONMENT"],
        extra_env: &[("PYTHONDONTWRITEBYTECODE", "1")],
        missing_sdk: (
            "ModuleNotFoundError",
            "the SDKs are not installed in target/sdk-venv: run scripts/test",
        ),
    };
    assert!(
        app.program.exists(),
        "{} missing: run scripts/test (it installs the SDKs)",
        app.program.display()
    );
    let (stdout, _) =
        sdk_app::run_output(&app, server, "http/protobuf", SERVICE, "deployment.environment.name=prod");
    stdout.trim().to_string()
}

fn frames(event: &Value, exception: usize) -> Vec<Value> {
    event["attributes"]["sentry.exception"][exception]["stacktrace"]["frames"].as_array().unwrap().clone()
}

#[test]
fn sentry_python_events_become_issues() {
    let tmp = TempDir::new("sentry-e2e");
    let mut server = start(&tmp, "");
    let dsn = dsn(&server);
    run_python(&server, "sentry_app.py", &["-B", "sentry_app.py", &dsn]);

    // Acknowledged means committed: what the SDK was answered 200 for
    // survives SIGKILL, and the groups are final.
    server.kill9();
    server.restart();
    let groups = server.groups();
    assert_eq!(groups.len(), 4, "groups: {:?}", titles(&groups));
    for group in &groups {
        assert_eq!(group["service"], SERVICE, "{group}");
        assert_eq!(group["count"], 1, "{group}");
        assert_eq!(group["first_release"], "shop@2.3.0", "{group}");
        assert_eq!(group["environments"], json!(["staging"]), "the SDK's environment wins: {group}");
    }

    // The chained exception: titled by the outermost (Sentry lists it
    // last), located at the application frame nearest the root cause.
    let chained = one_titled(&groups, "OrderError: order <num>: unknown sku <str>");
    assert_eq!(chained["culprit"], "shop.orders in reserve_stock");
    let event = &group_events(&server, chained)[0];
    assert_eq!(event["source"], "sentry");
    assert_eq!(event["host"], "py-1");
    assert_eq!(event["sdk_language"], "python");
    assert_eq!(event["escaped"], false, "captured, so handled");
    assert_eq!(event["trace_id"].as_str().unwrap().len(), 32);
    let stack = event["stacktrace"].as_str().unwrap();
    assert!(stack.contains("KeyError: 'SKU-404'\n\nThe above exception was the direct cause"), "{stack}");
    assert!(stack.ends_with("shop.orders.OrderError: order 3001: unknown sku 'SKU-404'\n"), "{stack}");
    let root = frames(event, 0);
    assert_eq!(root.len(), 1);
    assert_eq!(root[0]["function"], "reserve_stock");
    assert_eq!(root[0]["context_line"], "        available = STOCK[sku]");
    let outer = frames(event, 1);
    let functions: Vec<&str> = outer.iter().map(|f| f["function"].as_str().unwrap()).collect();
    assert_eq!(functions, ["main", "fulfil_order", "reserve_stock"]);
    assert_eq!(outer[1]["module"], "shop.handlers");
    assert_eq!(outer[1]["filename"], "shop/handlers.py");
    assert_eq!(outer[1]["lineno"], 32);
    assert_eq!(outer[1]["in_app"], true);
    assert!(outer[1].get("vars").is_none(), "local variables are not stored: {}", outer[1]);
    let a = &event["attributes"];
    assert_eq!(a["user.id"], "42");
    assert_eq!(a["user.email"], "ada@example.com");
    assert_eq!(a["tags.tenant"], "acme");
    assert_eq!(a["sentry.breadcrumbs"][0]["message"], "processing order queue");
    assert_eq!(a["sentry.contexts"]["runtime"]["name"], "CPython");
    assert_eq!(event["resource"]["telemetry.sdk.name"], "sentry.python");
    assert_eq!(event["resource"]["telemetry.sdk.version"], "2.75.0");

    // The fingerprint ["{{ default }}", "tenant-acme"] groups by rule.
    let custom = one_titled(&groups, "ValueError: invalid literal for int() with base <num>: <str>");
    assert_eq!(custom["culprit"], "shop.orders in parse_quantity");
    let event = &group_events(&server, custom)[0];
    assert_eq!(event["attributes"]["error.fingerprint"], json!(["{{ default }}", "tenant-acme"]));

    // The logging integration's error record: a message event whose
    // culprit is its logger, as an OTel log's would be.
    let log = one_titled(&groups, "payment provider declined order <num>");
    assert_eq!(log["culprit"], "shop");
    assert_eq!(log["exception_type"], Value::Null);
    assert_eq!(group_events(&server, log)[0]["attributes"]["otel.scope.name"], "shop");

    // The WSGI middleware's unhandled KeyError, with its request: method,
    // URL with the query, headers without the cookie and credentials.
    let request = one_titled(&groups, "KeyError: <str>");
    assert_eq!(request["culprit"], "shop.users in lookup_user");
    let event = &group_events(&server, request)[0];
    assert_eq!(event["escaped"], true, "unhandled");
    assert_eq!(event["http_method"], "GET");
    assert_eq!(event["span_name"], "generic WSGI request");
    let a = &event["attributes"];
    assert_eq!(a["url.full"], "http://127.0.0.1/users/7?tab=orders");
    assert_eq!(a["http.request.header.user-agent"], "shop-test/1.0");
    let names: Vec<&String> = a.as_object().unwrap().keys().collect();
    assert!(!names.iter().any(|k| k.contains("cookie") || k.contains("authorization")), "{names:?}");

    // Searchable like OTel events, by the same names.
    server.wait_for("/api/v1/search?q=source:sentry&limit=1", |b| b["total"] == 4);
    assert_eq!(total(&server, "user.id:42"), 4);
    assert_eq!(total(&server, "tags.tenant:acme"), 4);
    assert_eq!(total(&server, "release:shop@2.3.0 type:OrderError"), 1);
}

#[test]
fn the_same_bug_from_opentelemetry_and_sentry_is_one_issue() {
    let tmp = TempDir::new("sentry-e2e");
    let server = start(&tmp, "");
    run_python(&server, "same_bug.py otel", &["-B", "same_bug.py", "otel"]);
    let dsn = dsn(&server);
    run_python(&server, "same_bug.py sentry", &["-B", "same_bug.py", "sentry", &dsn]);

    let groups = server.groups();
    assert_eq!(groups.len(), 1, "groups: {:?}", titles(&groups));
    let group = &groups[0];
    assert_eq!(group["count"], 2, "{group}");
    assert_eq!(group["title"], "ValueError: invalid literal for int() with base <num>: <str>");
    assert_eq!(group["culprit"], "shop.orders in parse_quantity");
    let sources: Vec<Value> = group_events(&server, group).iter().map(|e| e["source"].clone()).collect();
    assert_eq!(sources, [json!("span_exception"), json!("sentry")]);
}

#[test]
fn bad_requests_get_clear_4xx_and_backpressure_gets_429() {
    let tmp = TempDir::new("sentry-e2e");
    // One event per second for the service, a burst of one: the second
    // event in a row is over it.
    let server = start(&tmp, "[limits]\nevents_per_second_per_service = 0.01\nevents_burst_per_service = 1\nmax_request_bytes = 4096");
    let client = reqwest::blocking::Client::new();
    let post = |path: &str, auth: Option<String>, body: Vec<u8>| {
        let mut request = client.post(server.http_url(path)).body(body);
        if let Some(auth) = auth {
            request = request.header("X-Sentry-Auth", auth);
        }
        let response = request.send().unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (status, headers, response.json::<Value>().unwrap_or(Value::Null))
    };
    let auth = |key: &str| Some(format!("Sentry sentry_key={key}, sentry_version=7"));
    let event = |id: &str| {
        format!("{{\"event_id\":\"{id}\"}}\n{{\"type\":\"event\"}}\n{{\"event_id\":\"{id}\",\"message\":\"hello\"}}\n").into_bytes()
    };

    let (status, _, body) = post("/api/1/envelope/", None, event("a1"));
    assert_eq!(status, 401, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("sentry_key"), "{body}");
    assert_eq!(post("/api/1/envelope/", auth("0000000000000000"), event("a1")).0, 401, "unknown key");
    assert_eq!(post("/api/2/envelope/", auth(KEY), event("a1")).0, 403, "another project's key");
    let (status, _, body) = post("/api/1/envelope/", auth(KEY), b"not an envelope".to_vec());
    assert_eq!(status, 400, "{body}");
    assert_eq!(post("/api/1/store/", auth(KEY), b"[1]".to_vec()).0, 400);
    assert_eq!(post("/api/1/envelope/", auth(KEY), vec![b'x'; 5000]).0, 413);

    // Only non-event items: acknowledged, nothing stored.
    let other =
        b"{}\n{\"type\":\"transaction\",\"length\":2}\n{}\n{\"type\":\"client_report\"}\n{}\n".to_vec();
    let (status, _, body) = post("/api/1/envelope/", auth(KEY), other);
    assert_eq!((status, body), (200, json!({})));

    // The first event fits the burst; the next is told to come back later.
    let (status, _, body) = post(&format!("/api/1/envelope/?sentry_key={KEY}"), None, event("b2"));
    assert_eq!((status, body), (200, json!({"id": "b2"})));
    let (status, headers, body) =
        post("/api/1/store/", auth(KEY), br#"{"event_id":"c3","message":"again"}"#.to_vec());
    assert_eq!(status, 429, "{body}");
    let retry_after: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_after >= 1, "{headers:?}");
    let limits = headers["x-sentry-rate-limits"].to_str().unwrap();
    assert_eq!(limits, format!("{retry_after}::organization"));
    assert_eq!(server.groups().len(), 1, "only the accepted event is stored");
}

#[test]
fn sentry_python_backs_off_on_429() {
    let tmp = TempDir::new("sentry-e2e");
    let server = start(&tmp, "[limits]\nevents_per_second_per_service = 0.01\nevents_burst_per_service = 1");
    let dsn = dsn(&server);
    let answers = python_output(&server, "backoff.py", &["-B", "backoff.py", &dsn]);
    // The first fits the burst, the second is refused with 429 and a
    // 100 s X-Sentry-Rate-Limits, and the SDK does not send the third.
    assert_eq!(answers, "[200, 429]");
    assert_eq!(server.groups().len(), 1);
}

#[test]
fn bad_sentry_projects_stop_the_server_naming_the_mistake() {
    let tmp = TempDir::new("sentry-e2e");
    let config = tmp.path().join("faultline.toml");
    for (projects, says) in [
        ("id = 1\nkey = \"short\"\nservice = \"shop\"", "sentry.projects key \"short\""),
        ("id = 1\nkey = \"has@in-it-0123\"\nservice = \"shop\"", "must be at least 8 letters, digits"),
        (&format!("id = 1\nkey = \"{KEY}\"\nservice = \" \""), "project 1 needs a service"),
        ("id = 1\nkey = \"0123456789\"\nservice = \"shop\"\nname = \"x\"", "unknown field `name`"),
    ] {
        std::fs::write(&config, format!("[[sentry.projects]]\n{projects}\n")).unwrap();
        let out =
            std::process::Command::new(binary()).args(["config", "check"]).arg(&config).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{projects}: accepted");
        assert!(stderr.contains(says), "{projects}: {stderr}");
    }
    let twice = format!(
        "[[sentry.projects]]\nid = 1\nkey = \"{KEY}\"\nservice = \"a\"\n[[sentry.projects]]\nid = 2\nkey = \"{KEY}\"\nservice = \"b\"\n"
    );
    std::fs::write(&config, twice).unwrap();
    let out = std::process::Command::new(binary()).args(["config", "check"]).arg(&config).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("configured twice"));
}

#[test]
fn the_project_key_is_the_credential_when_tokens_are_required() {
    let tmp = TempDir::new("sentry-e2e");
    let admin = "an-operator-chosen-admin-token-of-40-chars";
    let server = start(&tmp, &format!("[auth]\nadmin_token = \"{admin}\""));
    let client = reqwest::blocking::Client::new();
    // OTLP needs an ingest token now...
    let otlp =
        client.post(server.http_url("/v1/traces")).header("Content-Type", "application/json").body("{}");
    assert_eq!(otlp.send().unwrap().status().as_u16(), 401);
    // ...the Sentry endpoints the project key, and only that.
    let store = |key: &str| {
        let url = server.http_url(&format!("/api/1/store/?sentry_key={key}"));
        let body = r#"{"message":"checkout failed","level":"error"}"#;
        let response = client.post(url).bearer_auth(admin).body(body).send().unwrap();
        (response.status().as_u16(), response.json::<Value>().unwrap())
    };
    assert_eq!(store("0000000000000000").0, 401, "an admin token is no Sentry key");
    assert_eq!(store(KEY), (200, json!({})), "a store body without event_id has none to answer");
    let groups: Value =
        client.get(server.api_url("/api/v1/groups")).bearer_auth(admin).send().unwrap().json().unwrap();
    assert_eq!(groups["groups"][0]["title"], "checkout failed", "{groups}");
    assert_eq!(groups["groups"][0]["environments"], json!(["prod"]), "the project's environment");
}

/// `sorted[rank]` for the rank the sketch reads a quantile at
/// (`Sketch::quantile`: `floor(q * (n - 1))`).
fn exact_quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[(q * (sorted.len() - 1) as f64).floor() as usize]
}

fn within_one_percent(reported: &Value, exact: f64) {
    let v = reported.as_f64().unwrap_or_else(|| panic!("no value: {reported}"));
    // The sketch's 1% relative error on the value at the rank.
    assert!((v - exact).abs() <= exact * 0.0101 + 1e-9, "reported {v}, exact {exact}");
}

#[test]
fn sentry_python_transactions_feed_api_health() {
    let tmp = TempDir::new("sentry-transactions");
    let mut server = start(&tmp, "");
    let dsn = dsn(&server);
    // Five `GET /items/{id}` requests (one 500, one 404) and a
    // `nightly-report` job, as sentry-sdk sends them with
    // traces_sample_rate=1.0; it prints the web requests' durations.
    let output = python_output(&server, "sentry_transactions.py", &["-B", "sentry_transactions.py", &dsn]);
    let (durations, last) = output.split_once('\n').unwrap_or_else(|| panic!("no durations: {output}"));
    assert_eq!(last.trim(), "sent", "{output}");
    let mut durations: Vec<f64> = serde_json::from_str(durations).unwrap();
    assert_eq!(durations.len(), 5, "{output}");
    durations.sort_by(f64::total_cmp);

    // What the SDK was answered 200 for is committed: it survives SIGKILL.
    server.kill9();
    server.restart();
    let path = format!("/api/v1/services/{SERVICE}/endpoints?window=1h");
    let body = server.wait_for(&path, |b| b["endpoints"].as_array().is_some_and(|e| e.len() == 2));
    let endpoints = body["endpoints"].as_array().unwrap();
    let items = &endpoints[0];
    assert_eq!(
        (items["route"].as_str(), items["method"].as_str()),
        (Some("/items/{id}"), Some("GET")),
        "{body}"
    );
    assert_eq!(items["requests"], 5, "{body}");
    assert_eq!(items["errors"], 1, "the 500: {body}");
    assert_eq!(items["client_errors"], 1, "the 404: {body}");
    within_one_percent(&items["p50_ms"], exact_quantile(&durations, 0.5));
    within_one_percent(&items["p95_ms"], exact_quantile(&durations, 0.95));
    within_one_percent(&items["p99_ms"], exact_quantile(&durations, 0.99));
    let job = &endpoints[1];
    assert_eq!((job["route"].as_str(), job["method"].as_str()), (Some("nightly-report"), Some("")), "{body}");
    assert_eq!((job["requests"].as_u64(), job["errors"].as_u64()), (Some(1), Some(0)), "{body}");

    let services = server.get("/api/v1/services?window=1h");
    let service = &services["services"][0];
    assert_eq!((service["service"].as_str(), service["requests"].as_u64()), (Some(SERVICE), Some(6)));
    assert_eq!(service["environments"], json!(["staging"]), "the SDK's environment: {services}");
    // Transactions are figures, not error events.
    assert_eq!(server.groups().len(), 0);
}

/// What Sentry's event page shows beside the exception, through the API's
/// structured fields: tests/sdk/python/sentry_panels.py reports an error
/// in a WSGI request with breadcrumbs, a user, tags, a custom context,
/// extra data and the request body.
#[test]
fn sentry_python_breadcrumbs_request_user_and_contexts_in_the_api() {
    let tmp = TempDir::new("sentry-panels");
    let server = start(&tmp, "");
    let dsn = dsn(&server);
    run_python(&server, "sentry_panels.py", &["-B", "sentry_panels.py", &dsn]);
    let groups = server.groups();
    assert_eq!(groups.len(), 1, "groups: {:?}", titles(&groups));
    let listed = &group_events(&server, &groups[0])[0];
    let event = server.get(&format!("/api/v1/events/{}", listed["seq"]));
    assert_eq!(&event, listed, "an event reads the same alone and in a list");

    // Oldest first: the two set before the request, then the handler's.
    let crumbs = event["breadcrumbs"].as_array().unwrap();
    let messages: Vec<&str> = crumbs.iter().map(|b| b["message"].as_str().unwrap()).collect();
    assert_eq!(
        messages,
        ["user signed in", "<script>window.__xss=1</script>", "adding SKU-404"],
        "{crumbs:?}"
    );
    assert_eq!((crumbs[0]["category"].as_str(), crumbs[0]["level"].as_str()), (Some("auth"), Some("info")));
    assert_eq!(crumbs[1]["level"], "warning");
    assert_eq!(crumbs[2]["data"], json!({"quantity": 1}));
    let received = event["received_at"].as_str().unwrap();
    for crumb in crumbs {
        let at = crumb["timestamp"].as_str().unwrap();
        assert!(at.ends_with('Z') && at[..10] == received[..10], "an RFC 3339 time of today: {at}");
    }

    let request = &event["request"];
    assert_eq!(request["method"], "POST");
    assert_eq!(request["url"], "http://127.0.0.1/cart?coupon=SPRING&ref=mail%20campaign");
    assert_eq!(request["query"], json!([["coupon", "SPRING"], ["ref", "mail campaign"]]));
    assert_eq!(request["headers"]["user-agent"], "shop-test/1.0");
    assert_eq!(request["headers"]["content-type"], "application/json");
    let headers = request["headers"].as_object().unwrap();
    assert!(!headers.contains_key("cookie") && !headers.contains_key("authorization"), "{headers:?}");
    assert_eq!(request["data"], json!({"sku": "SKU-404", "quantity": 1}));

    assert_eq!(
        event["user"],
        json!({"id": "42", "email": "ada@example.com", "username": "ada", "ip_address": "10.1.2.3",
               "others": {"segment": "beta"}})
    );
    assert_eq!(event["tags"], json!({"tenant": "acme", "plan": "pro"}));
    assert_eq!(event["extra"]["cart_size"], 3);
    assert_eq!(event["extra"]["sys.argv"][0], "sentry_panels.py", "the SDK's argv integration");
    assert_eq!(event["sdk"], json!({"name": "sentry.python", "version": "2.75.0"}));
    let contexts = &event["contexts"];
    assert_eq!(contexts["cart"], json!({"items": 3, "currency": "EUR"}));
    assert_eq!(contexts["runtime"]["name"], "CPython");
    assert_eq!(contexts["trace"]["trace_id"], event["trace_id"]);
    assert_eq!(contexts["host"]["name"], "py-2", "the resource's host");
}
