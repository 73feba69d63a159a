//! Bad input on the Sentry endpoints, sent over HTTP to the real binary:
//! each mistake gets the clear 4xx Sentry SDKs expect, never a 5xx, and a
//! bad item never costs the other items of its envelope (they are stored,
//! which the API shows). Also 429 when busy, CORS for browser SDKs, and
//! what the real Python sentry-sdk reports besides events (client reports,
//! release health sessions) on /metrics.
#![allow(clippy::unwrap_used)]

use std::io::Write;

use faultline_tests::api::titles;
use faultline_tests::sdk_app::{self, App};
use faultline_tests::{Server, TempDir};
use reqwest::blocking::Client;
use reqwest::header::HeaderMap;
use serde_json::{json, Value};

const KEY: &str = "5e7a2b9c0d1f4e3a8b6c7d9e0f1a2b3c";
const OTHER_KEY: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";
const SERVICE: &str = "shop-py";

/// A server accepting Sentry project 1 with [`KEY`] and project 2 with
/// [`OTHER_KEY`], requests up to 4 KiB.
fn start(tmp: &TempDir) -> Server {
    start_with(tmp, &[])
}

fn start_with(tmp: &TempDir, args: &[&str]) -> Server {
    let config = tmp.path().join("faultline.toml");
    let text = format!(
        "[limits]\nmax_request_bytes = 4096\n\
         [[sentry.projects]]\nid = 1\nkey = \"{KEY}\"\nservice = \"{SERVICE}\"\n\
         [[sentry.projects]]\nid = 2\nkey = \"{OTHER_KEY}\"\nservice = \"other\"\n"
    );
    std::fs::write(&config, text).unwrap();
    let mut all = vec!["--config", config.to_str().unwrap()];
    all.extend_from_slice(args);
    Server::start_with(&all)
}

struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Value,
}

/// POSTs `body` to `path` of the OTLP/HTTP port with these headers;
/// fails on any 5xx.
fn post(server: &Server, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Answer {
    let mut request = Client::new().post(server.http_url(path)).body(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.json::<Value>().unwrap_or(Value::Null);
    assert!(status < 500, "POST {path} -> {status} {body}");
    Answer { status, headers, body }
}

fn auth() -> String {
    format!("Sentry sentry_key={KEY}, sentry_version=7, sentry_client=sentry.python/2.75.0")
}

/// POSTs an envelope with the project's key.
fn envelope(server: &Server, body: &[u8]) -> Answer {
    post(server, "/api/1/envelope/", &[("X-Sentry-Auth", &auth())], body.to_vec())
}

/// An `event` item (header and payload lines) with this message.
fn event(id: &str, message: &str) -> String {
    let payload = json!({"event_id": id, "message": message, "level": "error"}).to_string();
    format!("{{\"type\":\"event\",\"length\":{}}}\n{payload}\n", payload.len())
}

fn detail(answer: &Answer) -> &str {
    answer.body["detail"].as_str().unwrap_or_else(|| panic!("no detail: {}", answer.body))
}

/// The titles of the stored groups, sorted.
fn stored(server: &Server) -> Vec<String> {
    let mut titles: Vec<String> =
        server.groups().iter().map(|g| g["title"].as_str().unwrap().to_string()).collect();
    titles.sort();
    titles
}

/// The value of the first /metrics sample line starting with `series`.
fn metric(server: &Server, series: &str) -> Option<f64> {
    let text = Client::new().get(server.api_url("/metrics")).send().unwrap().text().unwrap();
    text.lines().find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
}

#[test]
fn malformed_envelopes_are_refused_and_bad_items_cost_only_themselves() {
    let tmp = TempDir::new("sentry-bad-input");
    let server = start(&tmp);

    // Nothing to read: refused whole, saying why.
    let answer = envelope(&server, b"");
    assert_eq!((answer.status, detail(&answer)), (400, "empty envelope"));
    let answer = envelope(&server, b"{\"event_id\":\"0a\"}\n");
    assert_eq!((answer.status, detail(&answer)), (400, "empty envelope"), "headers, no items");
    let answer = envelope(&server, b"{\"event_id\": oops}\n{\"type\":\"event\"}\n{}\n");
    assert_eq!(answer.status, 400);
    assert!(detail(&answer).starts_with("envelope headers are not a JSON object"), "{}", answer.body);
    let answer = envelope(&server, b"[\"not\", \"an object\"]\n");
    assert!(detail(&answer).contains("found an array"), "{}", answer.body);

    // Item headers that are no JSON among good items: the good ones are
    // stored, the answer is the envelope's id.
    let body = format!(
        "{{\"event_id\":\"a1\"}}\n{}{{\"type\":\"event\",\"length\":\n{{\"event_id\":\"a2\",\"message\":\"lost\"}}\n{}",
        event("a1", "first good"),
        event("a3", "second good")
    );
    let answer = envelope(&server, body.as_bytes());
    assert_eq!((answer.status, &answer.body), (200, &json!({"id": "a1"})));

    // Item headers without a type, and a length that is no byte count.
    let body = format!(
        "{{}}\n{{\"length\":2}}\n{{}}\n{{\"type\":\"event\",\"length\":-5}}\nxx\n{}",
        event("b1", "after headless")
    );
    assert_eq!(envelope(&server, body.as_bytes()).status, 200);

    // A length running past the body: that item is lost, not those before.
    let body = format!("{{}}\n{}{{\"type\":\"event\",\"length\":100000}}\n{{}}\n", event("c1", "before cut"));
    assert_eq!(envelope(&server, body.as_bytes()).status, 200);

    // Payloads that are no JSON object, or not UTF-8, lose their own item.
    let mut body = format!(
        "{{}}\n{}{{\"type\":\"event\"}}\n{{\"message\": \"unclosed\n",
        event("d1", "beside bad json")
    )
    .into_bytes();
    body.extend_from_slice(
        b"{\"type\":\"event\"}\n{\"message\":\"\xff\xfe\"}\n{\"type\":\"transaction\"}\n[1]\n",
    );
    assert_eq!(envelope(&server, &body).status, 200);

    // Unknown item types are acknowledged and dropped, the event kept.
    let body = format!(
        "{{\"event_id\":\"e1\"}}\n{{\"type\":\"profile\",\"length\":3}}\nabc\n{{\"type\":\"replay_video\"}}\n\
         {{}}\n{{\"type\":\"check_in\"}}\n{{\"check_in_id\":\"x\"}}\n{}{{\"type\":\"statsd\",\"length\":0}}\n\n\
         {{\"type\":\"session\"}}\n{{\"sid\":\"s\",\"status\":\"ok\"}}\n{{\"type\":\"attachment\",\"length\":2,\"filename\":\"a\"}}\nhi\n",
        event("e1", "beside unknown types")
    );
    assert_eq!((envelope(&server, body.as_bytes()).status), 200);

    // An envelope none of whose items can be used is refused with why.
    let answer = envelope(&server, b"{}\n{\"type\":\"event\"}\n{\"message\": nope}\n");
    assert_eq!(answer.status, 400);
    assert!(detail(&answer).starts_with("the event is not a JSON object"), "{}", answer.body);
    let answer = envelope(&server, b"{}\nnot headers\n{\"type\":\"event\",\"length\":9}\n{}\n");
    assert_eq!(answer.status, 400);
    assert!(detail(&answer).starts_with("item 0: headers are not a JSON object"), "{}", answer.body);
    let answer =
        post(&server, "/api/1/store/", &[("X-Sentry-Auth", &auth())], b"{\"message\":\"\xff\"}".to_vec());
    assert_eq!(answer.status, 400, "{}", answer.body);

    assert_eq!(
        stored(&server),
        [
            "after headless",
            "before cut",
            "beside bad json",
            "beside unknown types",
            "first good",
            "second good"
        ],
        "{:?}",
        titles(&server.groups())
    );
    // Every dropped item is counted: 1 + 2 + 1 + 3 (+ the refused
    // envelopes' items, which were not taken, are not).
    assert_eq!(metric(&server, "faultline_items_rejected_total{signal=\"sentry\"}"), Some(7.0));
}

#[test]
fn sizes_encodings_and_methods() {
    let tmp = TempDir::new("sentry-bad-input");
    let server = start(&tmp);
    let good = format!("{{}}\n{}", event("f1", "encoded"));

    // Over limits.max_request_bytes (4096), as sent or once decompressed.
    let big = format!("{{}}\n{}", event("f2", &"x".repeat(5000)));
    let answer = envelope(&server, big.as_bytes());
    assert_eq!(answer.status, 413);
    assert!(detail(&answer).contains("limits.max_request_bytes"), "{}", answer.body);
    let bomb = gzip(&vec![b' '; 100_000]);
    assert!(bomb.len() < 4096);
    let answer =
        post(&server, "/api/1/envelope/", &[("X-Sentry-Auth", &auth()), ("Content-Encoding", "gzip")], bomb);
    assert_eq!(answer.status, 413, "{}", answer.body);

    // Encodings: unknown 415, corrupt 400, good ones taken.
    let with = |encoding: &str, body: Vec<u8>| {
        post(&server, "/api/1/envelope/", &[("X-Sentry-Auth", &auth()), ("Content-Encoding", encoding)], body)
    };
    let answer = with("zstd", good.clone().into_bytes());
    assert_eq!(answer.status, 415);
    assert!(detail(&answer).contains("use gzip, deflate, br or none"), "{}", answer.body);
    for encoding in ["gzip", "br", "deflate"] {
        let answer = with(encoding, b"certainly not compressed".to_vec());
        assert_eq!(answer.status, 400, "{encoding}: {}", answer.body);
        assert!(detail(&answer).contains("could not be decompressed"), "{}", answer.body);
    }
    let mut truncated = gzip(good.as_bytes());
    truncated.truncate(truncated.len() / 2);
    assert_eq!(with("gzip", truncated).status, 400, "a cut gzip stream");
    assert_eq!(with("gzip", gzip(good.as_bytes())).status, 200);

    // Only POST; GET is told so.
    let response =
        Client::new().get(server.http_url(&format!("/api/1/envelope/?sentry_key={KEY}"))).send().unwrap();
    assert_eq!(response.status().as_u16(), 405);
    assert_eq!(response.headers()["allow"], "POST");
    let response = Client::new().get(server.http_url("/api/1/store/")).send().unwrap();
    assert_eq!(response.status().as_u16(), 405);
    assert_eq!(stored(&server), ["encoded"]);
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn keys_are_read_as_sentry_sdks_send_them() {
    let tmp = TempDir::new("sentry-bad-input");
    let server = start(&tmp);
    let body = |n: u32| {
        format!("{{}}\n{}", event(&format!("k{n}"), &format!("key variant {}", "i".repeat(n as usize))))
            .into_bytes()
    };

    // Refused: no key, an unknown key, another project's key.
    let answer = post(&server, "/api/1/envelope/", &[], body(0));
    assert_eq!(answer.status, 401);
    assert!(detail(&answer).contains("X-Sentry-Auth"), "{}", answer.body);
    let answer = post(&server, "/api/1/envelope/", &[("X-Sentry-Auth", "Sentry sentry_version=7")], body(0));
    assert_eq!(answer.status, 401, "a header without sentry_key");
    let answer = post(&server, "/api/1/envelope/?sentry_key=0000000000000000", &[], body(0));
    assert_eq!(answer.status, 401);
    assert!(detail(&answer).contains("unknown Sentry key"), "{}", answer.body);
    let answer = post(&server, &format!("/api/1/envelope/?sentry_key={OTHER_KEY}"), &[], body(0));
    assert_eq!(answer.status, 403);
    assert!(detail(&answer).contains("belongs to project 2"), "{}", answer.body);
    assert_eq!(post(&server, &format!("/api/abc/store/?sentry_key={KEY}"), &[], body(0)).status, 403);

    // Accepted: the query parameter (browser SDKs), among others, and the
    // header with or without its scheme, with extra and reordered fields.
    let path = format!(
        "/api/1/envelope/?sentry_version=7&sentry_key={KEY}&sentry_client=sentry.javascript.browser%2F8.0.0"
    );
    assert_eq!(post(&server, &path, &[], body(1)).status, 200);
    let variants = [
        format!("Sentry sentry_key={KEY}"),
        format!("sentry_key={KEY}, sentry_version=7"),
        format!("Sentry sentry_version=7, sentry_client=raven-js/3.0, sentry_timestamp=1733446500, sentry_key={KEY}, sentry_secret=unused"),
        format!("Sentry  sentry_version=7,sentry_key={KEY} "),
    ];
    for (n, header) in variants.iter().enumerate() {
        let answer = post(&server, "/api/1/envelope/", &[("X-Sentry-Auth", header)], body(n as u32 + 2));
        assert_eq!(answer.status, 200, "{header}: {}", answer.body);
    }
    assert_eq!(server.groups().len(), 5, "{:?}", titles(&server.groups()));
}

#[test]
fn browser_sdks_may_post_cross_origin() {
    let tmp = TempDir::new("sentry-bad-input");
    let server = start(&tmp);
    let client = Client::new();
    let origin = "https://shop.example.com";

    // The preflight of a post with X-Sentry-Auth.
    let response = client
        .request(reqwest::Method::OPTIONS, server.http_url("/api/1/envelope/"))
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type, x-sentry-auth")
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let h = response.headers();
    assert_eq!(h["access-control-allow-origin"], "*");
    assert!(h["access-control-allow-methods"].to_str().unwrap().contains("POST"), "{h:?}");
    let allowed = h["access-control-allow-headers"].to_str().unwrap();
    assert!(allowed.contains("x-sentry-auth") && allowed.contains("content-type"), "{allowed}");

    // The post itself, as @sentry/browser sends it: text/plain, key in the
    // query. The SDK may read the rate-limit headers.
    let answer = post(
        &server,
        &format!("/api/1/envelope/?sentry_key={KEY}&sentry_version=7"),
        &[("Origin", origin), ("Content-Type", "text/plain;charset=UTF-8")],
        format!("{{\"event_id\":\"g1\"}}\n{}", event("g1", "from a browser")).into_bytes(),
    );
    assert_eq!((answer.status, &answer.body), (200, &json!({"id": "g1"})));
    assert_eq!(answer.headers["access-control-allow-origin"], "*");
    let exposed = answer.headers["access-control-expose-headers"].to_str().unwrap();
    assert!(exposed.contains("x-sentry-rate-limits") && exposed.contains("retry-after"), "{exposed}");
    // Refusals carry them too, or the browser hides the status's reason.
    let answer = post(&server, "/api/1/envelope/", &[("Origin", origin)], b"{}\n".to_vec());
    assert_eq!(answer.status, 401);
    assert_eq!(answer.headers["access-control-allow-origin"], "*");

    // Only the Sentry endpoints: OTLP/HTTP is for servers.
    let response = client
        .post(server.http_url("/v1/traces"))
        .header("Origin", origin)
        .header("Content-Type", "application/json")
        .body("{}")
        .send()
        .unwrap();
    assert!(response.headers().get("access-control-allow-origin").is_none(), "{:?}", response.headers());
}

/// Runs a program of tests/sdk/python with sentry-sdk against the server;
/// what it printed.
fn python_output(server: &Server, program: &str) -> String {
    let workspace = faultline_tests::workspace();
    let dsn = format!("http://{KEY}@127.0.0.1:{}/1", server.http_port);
    let app = App {
        label: program,
        program: workspace.join("target/sdk-venv/bin/python"),
        args: &["-B", program, &dsn],
        dir: workspace.join("tests/sdk/python"),
        clear_env: &["PYTHONPATH", "SENTRY_DSN", "SENTRY_RELEASE", "SENTRY_ENVIRONMENT"],
        extra_env: &[("PYTHONDONTWRITEBYTECODE", "1")],
        missing_sdk: (
            "ModuleNotFoundError",
            "the SDKs are not installed in target/sdk-venv: run scripts/test",
        ),
    };
    assert!(app.program.exists(), "{} missing: run scripts/test", app.program.display());
    let (stdout, _) = sdk_app::run_output(&app, server, "http/protobuf", SERVICE, "");
    stdout.trim().to_string()
}

#[test]
fn sentry_python_client_reports_reach_metrics() {
    let tmp = TempDir::new("sentry-bad-input");
    let server = start(&tmp);
    assert_eq!(python_output(&server, "client_report.py"), "sent");
    assert_eq!(stored(&server), ["report kept"]);
    // `before_send` dropped two error events; the SDK said so.
    let series = "faultline_sentry_client_discarded_total{reason=\"before_send\",category=\"error\"}";
    assert_eq!(metric(&server, series), Some(2.0));

    // A hand-made report adds up; a report that cannot be read counts for
    // nothing and costs nothing else.
    let body = b"{}\n{\"type\":\"client_report\"}\n{\"discarded_events\":[{\"reason\":\"before_send\",\"category\":\"error\",\"quantity\":3},{\"reason\":\"queue_overflow\",\"category\":\"transaction\",\"quantity\":1}]}\n{\"type\":\"client_report\"}\n{\"discarded_events\":\"many\"}\n";
    assert_eq!((envelope(&server, body).status), 200);
    assert_eq!(metric(&server, series), Some(5.0));
    let overflow =
        "faultline_sentry_client_discarded_total{reason=\"queue_overflow\",category=\"transaction\"}";
    assert_eq!(metric(&server, overflow), Some(1.0));
}

/// Starts a Sentry envelope request declaring `declared` bytes and sends
/// only a few: it holds that much of the in-flight byte budget until
/// dropped.
fn hold_request_open(server: &Server, declared: usize) -> std::net::TcpStream {
    let url = server.http_url("/");
    let authority = url.trim_start_matches("http://").trim_end_matches('/').to_string();
    let mut stream = std::net::TcpStream::connect(&authority).unwrap();
    let head = format!(
        "POST /api/1/envelope/?sentry_key={KEY} HTTP/1.1\r\nHost: {authority}\r\n\
         Content-Length: {declared}\r\n\r\n{{}}\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.flush().unwrap();
    stream
}

/// Checks `X-Sentry-Rate-Limits` is `<seconds>:<categories>:<scope>` as
/// Sentry SDKs parse it, for all categories, as long as `Retry-After`.
fn assert_rate_limit_headers(headers: &HeaderMap) {
    let retry_after: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_after >= 1, "{headers:?}");
    let limits = headers["x-sentry-rate-limits"].to_str().unwrap();
    let fields: Vec<&str> = limits.split(':').collect();
    assert!(fields.len() >= 3, "{limits}");
    assert_eq!(fields[0].parse::<u64>().ok(), Some(retry_after), "{limits}");
    assert_eq!(fields[1], "", "all categories: {limits}");
    assert!(["organization", "project", "key"].contains(&fields[2]), "{limits}");
}

#[test]
fn a_busy_server_answers_429_and_sentry_python_holds_back() {
    let tmp = TempDir::new("sentry-bad-input");
    let server = start_with(&tmp, &["--max-inflight-bytes", "4096"]);
    let body = |n: &str| format!("{{}}\n{}", event(n, &format!("busy {n}"))).into_bytes();
    let held = hold_request_open(&server, 4096);
    let mut answer = envelope(&server, &body("h1"));
    faultline_tests::wait_until(
        std::time::Duration::from_secs(10),
        || {
            answer = envelope(&server, &body("h1"));
            answer.status == 429
        },
        || "the held request was never admitted".to_string(),
    );
    assert!(detail(&answer).contains("retry later"), "{}", answer.body);
    assert_rate_limit_headers(&answer.headers);

    // The SDK is refused its first message and, told to wait, does not
    // send the next two within the window.
    assert_eq!(python_output(&server, "backoff.py"), "[429]");

    drop(held);
    faultline_tests::wait_until(
        std::time::Duration::from_secs(10),
        || envelope(&server, &body("h2")).status == 200,
        || "the held request's bytes were never released".to_string(),
    );
    // Only what was answered 200 is stored.
    assert_eq!(stored(&server), ["busy h2"]);
}

#[test]
fn sentry_python_release_health_reaches_metrics() {
    let tmp = TempDir::new("sentry-bad-input");
    let server = start(&tmp);
    // Five requests in server mode: three fine, one with a handled error,
    // one crashed; the SDK sends both errors and then the aggregates.
    let answers: Vec<u16> = serde_json::from_str(&python_output(&server, "sessions.py")).unwrap();
    assert!(!answers.is_empty() && answers.iter().all(|a| *a == 200), "{answers:?}");
    assert_eq!(server.groups().len(), 2, "{:?}", titles(&server.groups()));
    let sessions = |release: &str, outcome: &str| {
        let series = format!(
            "faultline_sentry_sessions_total{{service=\"{SERVICE}\",release=\"{release}\",outcome=\"{outcome}\"}}"
        );
        metric(&server, &series)
    };
    assert_eq!(sessions("shop@2.4.0", "exited"), Some(3.0));
    assert_eq!(sessions("shop@2.4.0", "errored"), Some(1.0));
    assert_eq!(sessions("shop@2.4.0", "crashed"), Some(1.0));
    assert_eq!(sessions("shop@2.4.0", "abnormal"), None);

    // A single session (application mode) counts once, when it ends.
    let session = |status: &str, errors: u32| {
        let payload = format!(
            "{{\"sid\":\"7c3e\",\"init\":true,\"status\":\"{status}\",\"errors\":{errors},\"attrs\":{{\"release\":\"shop@2.5.0\"}}}}"
        );
        envelope(&server, format!("{{}}\n{{\"type\":\"session\"}}\n{payload}\n").as_bytes()).status
    };
    assert_eq!((session("ok", 0), session("ok", 1), session("exited", 1)), (200, 200, 200));
    assert_eq!(sessions("shop@2.5.0", "errored"), Some(1.0));
    assert_eq!(sessions("shop@2.5.0", "exited"), None);
}
