//! The check and service pages alert messages link to (`/checks/{id}`,
//! `/services/{name}`), in their first plain form: the essentials with
//! links to the JSON API. Every stored string is HTML-escaped.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use faultline_model::escape_html as escape;

use crate::http::Api;

pub fn routes() -> Router<Api> {
    Router::new().route("/checks/{id}", get(check)).route("/services/{name}", get(service))
}

async fn check(State(api): State<Api>, Path(id): Path<String>) -> Response {
    let Some(check) = api.checks.get(&id) else {
        return not_found(&format!("There is no check {}.", escape(&id)));
    };
    let checks = api.checks.clone();
    let described = tokio::task::spawn_blocking(move || {
        checks
            .status(&check)
            .map(|s| serde_json::to_value(crate::http::types::CheckBody::new(s, false)).unwrap_or_default())
    })
    .await;
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
    fn path_segments_are_percent_encoded() {
        assert_eq!(url_segment("a b/<c>"), "a%20b%2F%3Cc%3E");
    }
}
