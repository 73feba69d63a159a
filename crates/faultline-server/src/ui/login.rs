//! `/login` and `/logout`: the explorer's way in when tokens are required.
//! A visitor pastes a read or admin token; on success the server starts a
//! session (`auth::session`) and sets its cookie. The form is CSRF-checked
//! like every other, so another site cannot log a visitor into its own
//! token. No attempt limit: a 256-bit token cannot be guessed online.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use faultline_model::TokenScope;
use serde::Deserialize;

use super::{format, message, render, CheckedForm, Chrome, CsrfToken, Section};
use crate::auth::session;
use crate::http::Api;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    chrome: Chrome,
    next: String,
    error: Option<String>,
    /// The token's name when the visitor is already signed in.
    signed_in: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
pub struct Params {
    next: Option<String>,
}

/// Where to send a visitor without a session: the login page, then back.
pub fn login_url(uri: &Uri) -> String {
    let back = uri.path_and_query().map_or("/", |p| p.as_str());
    format!("/login?next={}", format::url_encode(back))
}

/// A local path only, so the login form cannot send anyone elsewhere.
fn safe_next(next: &str) -> &str {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        next
    } else {
        "/"
    }
}

pub async fn page(
    State(api): State<Api>,
    Query(params): Query<Params>,
    headers: HeaderMap,
    csrf: CsrfToken,
) -> Response {
    if !api.auth.required() {
        return Redirect::to("/").into_response();
    }
    let signed_in = session::cookie(&headers)
        .and_then(|id| api.auth.sessions.token_of(&id))
        .and_then(|token_id| api.auth.by_id(&token_id))
        .map(|p| format!("{} ({}, {})", p.name, p.id, p.scope.as_str()));
    let next = safe_next(params.next.as_deref().unwrap_or("/")).to_string();
    let page =
        LoginPage { chrome: Chrome::new("Log in", Section::Issues, &csrf), next, error: None, signed_in };
    render(StatusCode::OK, &page, &csrf)
}

pub async fn submit(State(api): State<Api>, csrf: CsrfToken, form: CheckedForm) -> Response {
    let next = safe_next(&form.first("next")).to_string();
    let refuse = |text: &str| {
        let page = LoginPage {
            chrome: Chrome::new("Log in", Section::Issues, &csrf),
            next: next.clone(),
            error: Some(text.to_string()),
            signed_in: None,
        };
        render(StatusCode::UNAUTHORIZED, &page, &csrf)
    };
    let Some(principal) = api.auth.authenticate(&form.first("token")) else {
        return refuse("That token is not valid (unknown or revoked).");
    };
    if !principal.scope.allows(TokenScope::Read) {
        return refuse("That is an ingest token: it can send telemetry but not open the explorer. Use a read or admin token.");
    }
    let session_id = match api.auth.sessions.start(&principal.id) {
        Ok(id) => id,
        Err(e) => return super::failed(&e, &csrf),
    };
    let mut response = Redirect::to(&next).into_response();
    // Secure when this listener serves TLS; behind a TLS proxy the proxy can add it.
    if let Some(cookie) = session::set_cookie(&session_id, api.secure_cookies) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

pub async fn logout(State(api): State<Api>, headers: HeaderMap, _form: CheckedForm) -> Response {
    if let Some(id) = session::cookie(&headers) {
        api.auth.sessions.end(&id);
    }
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().append(header::SET_COOKIE, session::clear_cookie());
    response
}

/// The page for a signed-in visitor whose token may not do this (a read
/// token submitting a form).
pub fn forbidden_page(headers: &HeaderMap, secure: bool) -> Response {
    let csrf = CsrfToken::from_headers(headers, secure);
    message(
        StatusCode::FORBIDDEN,
        Section::Issues,
        "Not allowed",
        "Your token has read scope: viewing is allowed, changes need an admin token. Log in with one at /login.",
        &csrf,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next("/issues/3?x=1"), "/issues/3?x=1");
        for bad in ["//evil.example", "https://evil.example", "/\\evil", ""] {
            assert_eq!(safe_next(bad), "/", "{bad}");
        }
        let uri: Uri = "/issues/3?period=24h".parse().unwrap_or_default();
        assert_eq!(login_url(&uri), "/login?next=%2Fissues%2F3%3Fperiod%3D24h");
    }
}
