//! Cross-site request forgery protection for the explorer's forms: a
//! random token in a `SameSite=Strict` cookie that every state-changing
//! form repeats in a hidden field (double submit), and a same-origin check
//! on the `Origin` and `Sec-Fetch-Site` headers browsers send.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{message, Section};

const COOKIE: &str = "faultline_csrf";

/// Whether the API listener serves TLS, so the cookies it sets are
/// `Secure`: a request extension the API router adds to every request, as
/// extractors and the auth guard see no `Api` state.
#[derive(Debug, Clone, Copy, Default)]
pub struct SecureCookies(pub bool);

impl SecureCookies {
    pub(crate) fn of(extensions: &axum::http::Extensions) -> bool {
        extensions.get::<SecureCookies>().is_some_and(|s| s.0)
    }
}

/// The visitor's token; `fresh` when the request had none and the answer
/// must set the cookie.
#[derive(Debug, Clone)]
pub struct CsrfToken {
    pub value: String,
    fresh: bool,
    /// The cookie is set with `Secure` (the listener serves TLS).
    secure: bool,
    /// The token name of a logged-in visitor, for the navigation's log-out
    /// button (carried here because every page takes this extractor).
    pub signed_in: Option<String>,
}

impl CsrfToken {
    pub(crate) fn from_headers(headers: &HeaderMap, secure: bool) -> CsrfToken {
        match cookie(headers) {
            Some(value) => CsrfToken { value, fresh: false, secure, signed_in: None },
            None => CsrfToken { value: new_token(), fresh: true, secure, signed_in: None },
        }
    }

    /// The `Set-Cookie` value when the cookie is to be set.
    pub fn set_cookie(&self) -> Option<HeaderValue> {
        if !self.fresh {
            return None;
        }
        // Secure like the session cookie; behind a TLS proxy the proxy can add it.
        let secure = if self.secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!("{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict{secure}", self.value))
            .ok()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CsrfToken {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let mut token = CsrfToken::from_headers(&parts.headers, SecureCookies::of(&parts.extensions));
        // Set by the auth guard only when tokens are required and this one checked out.
        token.signed_in = parts.extensions.get::<crate::auth::Principal>().map(|p| p.name.clone());
        Ok(token)
    }
}

/// Why a form submission was refused.
/// A state-changing form whose CSRF token checked out: its pairs in order,
/// repeated names kept. Every POST handler of the explorer takes one, so
/// none can forget the check; a failed check answers 403 with a page that
/// says why, before the handler runs.
#[derive(Debug)]
pub struct CheckedForm(pub Vec<(String, String)>);

impl CheckedForm {
    /// The first value of `name`, or "".
    pub fn first(&self, name: &str) -> String {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default()
    }
}

impl<S: Send + Sync> FromRequest<S> for CheckedForm {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let headers = request.headers().clone();
        let section =
            if request.uri().path().starts_with("/alerts") { Section::Alerts } else { Section::Issues };
        let token = CsrfToken::from_headers(&headers, SecureCookies::of(request.extensions()));
        let body =
            axum::body::Bytes::from_request(request, state).await.map_err(IntoResponse::into_response)?;
        let pairs: Vec<(String, String)> =
            form_urlencoded::parse(&body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        let form = CheckedForm(pairs);
        match verify(&headers, &form.first("csrf")) {
            Ok(()) => Ok(form),
            Err(e) => Err(message(StatusCode::FORBIDDEN, section, "Refused", &e.to_string(), &token)),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CsrfError {
    #[error("the form's security token is missing or stale: reload the page and try again")]
    Token,
    #[error("the form was sent from another site")]
    CrossOrigin,
}

/// Accepts a state-changing request only from this site's own forms.
pub fn verify(headers: &HeaderMap, form_token: &str) -> Result<(), CsrfError> {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if !matches!(site, "same-origin" | "none") {
            return Err(CsrfError::CrossOrigin);
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
        let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
        if origin == "null" || origin_host != host {
            return Err(CsrfError::CrossOrigin);
        }
    }
    match cookie(headers) {
        Some(expected)
            if !form_token.is_empty() && constant_time_eq(expected.as_bytes(), form_token.as_bytes()) =>
        {
            Ok(())
        }
        _ => Err(CsrfError::Token),
    }
}

fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == COOKIE && is_token(value))
        .map(|(_, value)| value.to_string())
}

fn is_token(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

fn new_token() -> String {
    let mut bytes = [0u8; 16];
    // The OS random source failing is not something a page can work
    // around; a fixed token would be worse than no page.
    if let Err(e) = getrandom::fill(&mut bytes) {
        tracing::error!(error = %e, "no random source for the form token");
    }
    hex_string(&bytes)
}

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).expect("header"));
        }
        h
    }

    const TOKEN: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn accepts_the_same_token_from_the_same_origin() {
        let h = headers(&[
            ("cookie", &format!("other=1; {COOKIE}={TOKEN}")),
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080"),
            ("sec-fetch-site", "same-origin"),
        ]);
        assert_eq!(verify(&h, TOKEN), Ok(()));
    }

    #[test]
    fn refuses_other_sites_and_wrong_tokens() {
        let cookie = format!("{COOKIE}={TOKEN}");
        let cross = headers(&[("cookie", &cookie), ("host", "a:1"), ("origin", "http://evil.example")]);
        assert_eq!(verify(&cross, TOKEN), Err(CsrfError::CrossOrigin));
        let site = headers(&[("cookie", &cookie), ("sec-fetch-site", "cross-site")]);
        assert_eq!(verify(&site, TOKEN), Err(CsrfError::CrossOrigin));
        let wrong = headers(&[("cookie", &cookie)]);
        assert_eq!(verify(&wrong, "ffffffffffffffffffffffffffffffff"), Err(CsrfError::Token));
        assert_eq!(verify(&wrong, ""), Err(CsrfError::Token));
        assert_eq!(verify(&headers(&[]), TOKEN), Err(CsrfError::Token));
    }

    #[test]
    fn new_tokens_differ_and_are_set_once() {
        let a = CsrfToken::from_headers(&HeaderMap::new(), false);
        let b = CsrfToken::from_headers(&HeaderMap::new(), false);
        assert_ne!(a.value, b.value);
        assert!(is_token(&a.value));
        assert!(a.set_cookie().is_some());
        let kept = CsrfToken::from_headers(&headers(&[("cookie", &format!("{COOKIE}={TOKEN}"))]), false);
        assert_eq!(kept.value, TOKEN);
        assert!(kept.set_cookie().is_none());
    }
}
