//! The pages a browser gets on the API port until the explorer exists:
//! `/` says what this server offers, and the pages alert messages link to
//! (`/issues/{id}`, `/checks/{id}`, `/services/{name}`) show the essentials
//! with links to the JSON API. Every stored string is HTML-escaped.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use faultline_model::{escape_html as escape, format_rfc3339, ErrorEvent, Group};

use crate::http::Api;

pub fn routes() -> Router<Api> {
    Router::new()
        .route("/", get(home))
        .route("/issues/{id}", get(issue))
        .route("/checks/{id}", get(check))
        .route("/services/{name}", get(service))
}

async fn home(State(api): State<Api>) -> Response {
    let storage = api.storage.clone();
    let stats = tokio::task::spawn_blocking(move || storage.stats()).await.ok().and_then(Result::ok);
    let counts = match stats {
        Some(s) => format!(
            "<p>{} stored in {}.</p>",
            plural(s.last_seq, "error event", "error events"),
            plural(s.groups, "issue", "issues")
        ),
        None => String::new(),
    };
    let body = format!(
        "{counts}\
         <p>The web explorer is not built yet. Everything is available through the JSON API and the \
         <code>faultline</code> command line (<code>faultline groups</code>, <code>faultline search QUERY</code>, \
         <code>faultline report</code>).</p>\
         <h2>API</h2><ul>\
         <li><a href=\"/api/v1/groups\">/api/v1/groups</a>: issues, newest first</li>\
         <li><a href=\"/api/v1/search?q=*\">/api/v1/search?q=…</a>: error events matching a query</li>\
         <li><a href=\"/api/v1/services\">/api/v1/services</a>: request rate, error rate and latency per service</li>\
         <li><a href=\"/api/v1/checks\">/api/v1/checks</a>: active checks and uptime</li>\
         <li><a href=\"/api/v1/alerts\">/api/v1/alerts</a>: firing alerts and deliveries</li>\
         <li><a href=\"/api/v1/report\">/api/v1/report</a>: the last 24 hours compared with the day before</li>\
         </ul><h2>Operations</h2><ul>\
         <li><a href=\"/healthz\">/healthz</a> (liveness), <a href=\"/readyz\">/readyz</a> (readiness)</li>\
         <li><a href=\"/metrics\">/metrics</a>: Prometheus metrics</li></ul>"
    );
    page(StatusCode::OK, "Faultline", &body)
}

async fn issue(State(api): State<Api>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<u64>() else {
        return not_found(&format!("There is no issue {}.", escape(&id)));
    };
    let storage = api.storage.clone();
    let found = tokio::task::spawn_blocking(move || {
        let group = storage.group(id)?;
        let event = match &group {
            Some(g) => storage.event(g.last_event_seq)?,
            None => None,
        };
        Ok::<_, faultline_store::Error>((group, event))
    })
    .await;
    match found {
        Ok(Ok((Some(group), event))) => {
            page(StatusCode::OK, &group.title, &issue_body(&group, event.as_ref()))
        }
        Ok(Ok((None, _))) => not_found(&format!("There is no issue {id}.")),
        Ok(Err(e)) => page(StatusCode::INTERNAL_SERVER_ERROR, "Error", &escape(&e.to_string())),
        Err(e) => page(StatusCode::INTERNAL_SERVER_ERROR, "Error", &escape(&e.to_string())),
    }
}

fn issue_body(group: &Group, event: Option<&ErrorEvent>) -> String {
    let mut status = group.status.as_str().to_string();
    if group.regressed {
        status.push_str(" (regressed)");
    }
    let rows = [
        ("Culprit", group.culprit.clone()),
        ("Service", group.service.clone()),
        ("Status", status),
        ("Events", group.count.to_string()),
        ("First seen", format_rfc3339(group.first_seen)),
        ("Last seen", format_rfc3339(group.last_seen)),
        ("Environments", group.environments.join(", ")),
        ("Releases", releases(group)),
    ];
    let mut body = table(&rows);
    if let Some(e) = event {
        body.push_str("<h2>Latest event</h2>");
        body.push_str(&table(&[
            ("Time", format_rfc3339(e.timestamp)),
            ("Message", e.message.clone().unwrap_or_default()),
            ("Trace", e.trace_id.clone()),
        ]));
        if let Some(trace) = &e.stacktrace {
            body.push_str(&format!("<pre>{}</pre>", escape(trace)));
        }
    }
    body.push_str(&format!(
        "<p>JSON: <a href=\"/api/v1/groups/{id}\">/api/v1/groups/{id}</a>, \
         <a href=\"/api/v1/groups/{id}/events\">its events</a>.</p>",
        id = group.id
    ));
    body
}

fn releases(group: &Group) -> String {
    match (&group.first_release, &group.last_release) {
        (Some(first), Some(last)) if first != last => format!("{first} to {last}"),
        (Some(one), _) | (None, Some(one)) => one.clone(),
        (None, None) => String::new(),
    }
}

async fn check(State(api): State<Api>, Path(id): Path<String>) -> Response {
    let Some(check) = api.checks.get(&id) else {
        return not_found(&format!("There is no check {}.", escape(&id)));
    };
    let checks = api.checks.clone();
    let described = tokio::task::spawn_blocking(move || checks.describe(&check, false)).await;
    let Ok(Ok(status)) = described else {
        return page(StatusCode::INTERNAL_SERVER_ERROR, "Error", "The check's runs could not be read.");
    };
    let field = |name: &str| match &status[name] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    };
    let rows = [
        ("State", field("state")),
        ("Consecutive failures", field("consecutive_failures")),
        ("Uptime", field("uptime")),
        ("Open incident", field("open_incident")),
    ];
    let body = format!(
        "{}<p>JSON: <a href=\"/api/v1/checks/{id}\">/api/v1/checks/{id}</a>.</p>",
        table(&rows),
        id = escape(&url_segment(&id))
    );
    page(StatusCode::OK, &format!("Check {id}"), &body)
}

async fn service(Path(name): Path<String>) -> Response {
    let body = format!(
        "<p>Request rate, error rate and latency per endpoint: \
         <a href=\"/api/v1/services/{seg}/endpoints\">/api/v1/services/{seg}/endpoints</a>; \
         its issues: <a href=\"/api/v1/groups?service={seg}\">/api/v1/groups?service={seg}</a>.</p>",
        seg = escape(&url_segment(&name))
    );
    page(StatusCode::OK, &format!("Service {name}"), &body)
}

/// `1 issue`, `2 issues`.
fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn not_found(message: &str) -> Response {
    page(StatusCode::NOT_FOUND, "Not found", &format!("<p>{message}</p><p><a href=\"/\">Faultline</a></p>"))
}

/// `rows` as a two-column table; values are escaped here.
fn table(rows: &[(&str, String)]) -> String {
    let cells: String =
        rows.iter().map(|(k, v)| format!("<tr><th>{}</th><td>{}</td></tr>", escape(k), escape(v))).collect();
    format!("<table>{cells}</table>")
}

/// A whole page; `title` is escaped here, `body` must already be.
fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · Faultline</title><style>{STYLE}</style></head>\
         <body><header><a href=\"/\">Faultline</a></header><main><h1>{title}</h1>{body}</main></body></html>",
        title = escape(title)
    );
    (status, Html(html)).into_response()
}

const STYLE: &str = "body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d1f24;background:#fafafa}\
header{background:#1d1f24;padding:.6em 1.5em}header a{color:#fff;font-weight:600;text-decoration:none}\
main{max-width:60em;margin:1.5em auto;padding:0 1.5em}h1{font-size:1.4em;overflow-wrap:anywhere}\
th{text-align:left;padding-right:1.5em;color:#555;font-weight:500}td{overflow-wrap:anywhere}\
pre{background:#f0f0f0;padding:1em;overflow:auto;font-size:13px}\
@media(prefers-color-scheme:dark){body{background:#16171a;color:#e4e4e7}th{color:#a1a1aa}pre{background:#222327}a{color:#8ab4f8}}";

/// Percent-encodes a path segment or query value (RFC 3986 unreserved kept).
fn url_segment(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_as_english() {
        assert_eq!(plural(1, "issue", "issues"), "1 issue");
        assert_eq!(plural(0, "issue", "issues"), "0 issues");
    }

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(url_segment("a b/<c>"), "a%20b%2F%3Cc%3E");
    }
}
