//! The explorer: server-rendered HTML pages on the API port. Templates are
//! askama files under `templates/` (checked at compile time, every value
//! HTML-escaped unless a chart marks itself safe); the small script and
//! the stylesheet are embedded (`assets`). All page state lives in the URL,
//! and every form that changes state carries a CSRF token (`csrf`).
//!
//! One module per page: `stream` (the issues list), `issue`, `search`,
//! `health` (services and checks), `alerts`. Pages read the store directly
//! through the same [`Api`] state as the JSON API.

mod alerts;
mod assets;
mod charts;
mod check;
pub(crate) mod csrf;
mod event_panels;
mod format;
mod health;
mod issue;
pub mod login;
mod period;
mod search;
mod service;
mod stream;

use askama::Template;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use crate::http::Api;

pub use csrf::{CheckedForm, CsrfToken};

/// `[ui]` in the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UiConfig {
    /// Link for a trace id, `{trace_id}` replaced: for example
    /// `https://jaeger.example/trace/{trace_id}` (Jaeger), or a Grafana
    /// Explore URL for Tempo. Unset: ids are shown without a link.
    pub trace_url: Option<String>,
}

impl UiConfig {
    pub fn validated(self) -> anyhow::Result<UiConfig> {
        if let Some(url) = &self.trace_url {
            if !url.contains("{trace_id}") {
                anyhow::bail!("ui.trace_url must contain {{trace_id}}, got {url:?}");
            }
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                anyhow::bail!("ui.trace_url must be an http:// or https:// URL, got {url:?}");
            }
        }
        Ok(self)
    }

    /// The trace link for an id, when a template is configured.
    pub fn trace_link(&self, trace_id: &str) -> Option<String> {
        let id = trace_id.trim();
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        self.trace_url.as_ref().map(|t| t.replace("{trace_id}", id))
    }
}

pub fn routes() -> Router<Api> {
    Router::new()
        .route("/", get(stream::page))
        .route("/issues/bulk", post(stream::bulk))
        .route("/issues/{id}", get(issue::page))
        .route("/issues/{id}/action", post(issue::act))
        .route("/search", get(search::page))
        .route("/health", get(health::page))
        .route("/services/{name}", get(service::page))
        .route("/checks/{id}", get(check::page))
        .route("/static/{name}", get(assets::serve))
        .route("/login", get(login::page).post(login::submit))
        .route("/logout", post(login::logout))
        .merge(alerts::routes())
}

/// Which section of the navigation a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Issues,
    Search,
    Health,
    Alerts,
}

/// What every page's frame (navigation, assets, forms) needs.
pub struct Chrome {
    pub title: String,
    pub section: Section,
    pub csrf: String,
    pub css: String,
    pub js: String,
    /// The logged-in token's name: the navigation offers to log out.
    pub signed_in: Option<String>,
}

impl Chrome {
    pub fn new(title: impl Into<String>, section: Section, csrf: &CsrfToken) -> Chrome {
        Chrome {
            title: title.into(),
            section,
            csrf: csrf.value.clone(),
            css: assets::url("style.css"),
            js: assets::url("app.js"),
            signed_in: csrf.signed_in.clone(),
        }
    }

    pub fn is(&self, section: Section) -> bool {
        self.section == section
    }
}

/// A rendered page with the CSRF cookie set when the visitor had none.
pub fn render<T: Template>(status: StatusCode, template: &T, csrf: &CsrfToken) -> Response {
    let mut response = match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "page failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "the page failed to render").into_response()
        }
    };
    let headers = response.headers_mut();
    if let Some(cookie) = csrf.set_cookie() {
        headers.insert(header::SET_COOKIE, cookie);
    }
    headers.insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    headers.insert(header::X_FRAME_OPTIONS, header::HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; \
             frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    );
    response
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage {
    chrome: Chrome,
    heading: String,
    text: String,
}

/// Post/Redirect/Get: back to `path` with `key` (`done` or `failed`) in
/// the query, saying what happened; the page shows it as a notice.
pub fn redirect(path: &str, key: &str, text: &str) -> Response {
    Redirect::to(&redirect_url(path, key, text)).into_response()
}

fn redirect_url(path: &str, key: &str, text: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}{key}={}", format::url_encode(text))
}

/// A page that only says something: not found, failed, refused.
pub fn message(
    status: StatusCode,
    section: Section,
    heading: &str,
    text: &str,
    csrf: &CsrfToken,
) -> Response {
    let page = MessagePage {
        chrome: Chrome::new(heading, section, csrf),
        heading: heading.into(),
        text: text.into(),
    };
    render(status, &page, csrf)
}

/// A storage failure as a page.
pub fn failed(e: &dyn std::fmt::Display, csrf: &CsrfToken) -> Response {
    tracing::error!(error = %e, "page query failed");
    message(StatusCode::INTERNAL_SERVER_ERROR, Section::Issues, "Something went wrong", &e.to_string(), csrf)
}

/// Why a page's reads failed.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error(transparent)]
    Store(#[from] faultline_store::Error),
    /// The blocking task panicked or was cancelled.
    #[error("the page's reads stopped: {0}")]
    Stopped(String),
}

impl PageError {
    /// The message when the user's query did not parse: shown on the page
    /// beside the query box, not as a failure.
    pub fn invalid_query(&self) -> Option<String> {
        match self {
            PageError::Store(e @ faultline_store::Error::InvalidQuery(_)) => Some(e.to_string()),
            _ => None,
        }
    }
}

/// Runs storage reads off the async threads.
pub async fn blocking<T, F>(f: F) -> Result<T, PageError>
where
    F: FnOnce() -> Result<T, faultline_store::Error> + Send + 'static,
    T: Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => Ok(result?),
        Err(e) => Err(PageError::Stopped(e.to_string())),
    }
}
