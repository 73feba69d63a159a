//! The checks in front of every listener, all before a body is read:
//!
//! - API listener (`api_guard`): the JSON API and `/metrics` need a
//!   `read` token for GET and `admin` for anything else, answering 401
//!   (with `WWW-Authenticate: Bearer`) or 403 with a JSON error; pages
//!   take the same tokens or a login session, and send a visitor without
//!   one to `/login`. Health probes, static assets and the login page stay open.
//! - OTLP/HTTP (`ingest::otlp_http`'s guard, with [`Auth::check`]): an
//!   `ingest` token, else 401 with a `google.rpc.Status` body like every
//!   OTLP/HTTP error.
//! - OTLP/gRPC (`GrpcAuth`): the same check as a tower layer in front of
//!   tonic, UNAUTHENTICATED / PERMISSION_DENIED.
//!
//! An accepted request carries its [`Principal`] in its extensions, for
//! the pinned-services check after decoding and for the pages.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use faultline_model::TokenScope;

use super::{session, tokens, Auth, Denied, Principal};
use crate::ingest::grpc_gate::HeadCheck;

/// Paths anyone may request: probes, assets, and the way in.
fn is_open(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/login" | "/logout") || path.starts_with("/static/")
}

/// Answers in JSON (not with a page or a redirect).
fn is_api(path: &str) -> bool {
    path.starts_with("/api/") || path == "/metrics"
}

/// GET and HEAD read; everything else changes something.
pub fn needed_scope(method: &Method) -> TokenScope {
    if method == Method::GET || method == Method::HEAD {
        TokenScope::Read
    } else {
        TokenScope::Admin
    }
}

/// The API listener's check (JSON API, `/metrics` and the pages).
pub async fn api_guard(State(auth): State<Arc<Auth>>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    if is_open(&path) {
        return next.run(request).await;
    }
    let needed = needed_scope(request.method());
    // A session cookie may read the JSON API (pages link to it) but not
    // change anything through it: changes there take a bearer token, so a
    // script on another port of the same host (same site, so the Lax
    // cookie goes along) cannot use a logged-in browser. The pages' own
    // forms carry CSRF tokens.
    let session_allowed = !(is_api(&path) && needed == TokenScope::Admin);
    match check_api_request(&auth, request.headers(), needed, session_allowed) {
        Ok(principal) => {
            if let Some(principal) = principal {
                request.extensions_mut().insert(principal);
            }
            next.run(request).await
        }
        Err(denied) if is_api(&path) => api_refusal(&denied),
        Err(Denied::Scope { .. }) => crate::ui::login::forbidden_page(
            request.headers(),
            crate::ui::csrf::SecureCookies::of(request.extensions()),
        ),
        Err(_) => Redirect::to(&crate::ui::login::login_url(request.uri())).into_response(),
    }
}

/// A bearer token first (scripts, the CLI), else a login session (pages).
fn check_api_request(
    auth: &Auth,
    headers: &HeaderMap,
    needed: TokenScope,
    session_allowed: bool,
) -> Result<Option<Principal>, Denied> {
    if let Some(secret) = tokens::from_headers(headers) {
        return auth.check(Some(secret), needed);
    }
    if !auth.required() {
        return Ok(None);
    }
    if !session_allowed {
        return Err(Denied::Missing);
    }
    let principal = session::cookie(headers)
        .and_then(|id| auth.sessions.token_of(&id))
        .and_then(|token_id| auth.by_id(&token_id))
        .ok_or(Denied::Missing)?;
    super::allow(principal, needed).map(Some)
}

/// 401 (no or bad credentials) or 403 (not enough scope), as API errors are.
fn api_refusal(denied: &Denied) -> Response {
    let status = match denied {
        Denied::Missing | Denied::Invalid => StatusCode::UNAUTHORIZED,
        Denied::Scope { .. } => StatusCode::FORBIDDEN,
    };
    let mut response = crate::http::common::ApiError(status, denied.to_string()).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

/// The gRPC status for a refusal.
pub fn grpc_status(denied: &Denied) -> tonic::Status {
    match denied {
        Denied::Missing | Denied::Invalid => tonic::Status::unauthenticated(denied.to_string()),
        Denied::Scope { .. } => tonic::Status::permission_denied(denied.to_string()),
    }
}

/// The OTLP/gRPC check, run by `ingest::grpc_gate` in front of tonic: a
/// refused call gets a trailers-only UNAUTHENTICATED without its body
/// being read.
#[derive(Clone)]
pub struct GrpcAuth {
    pub auth: Arc<Auth>,
    /// Counts refusals in the ingest metrics.
    pub on_refusal: Arc<dyn Fn(&Denied) + Send + Sync>,
}

impl HeadCheck for GrpcAuth {
    type Pass = ();

    fn check(
        &self,
        mut request: http::Request<tonic::body::Body>,
    ) -> Result<(http::Request<tonic::body::Body>, ()), tonic::Status> {
        let secret = tokens::from_headers(request.headers());
        match self.auth.check(secret, TokenScope::Ingest) {
            Ok(Some(principal)) => {
                request.extensions_mut().insert(principal);
                Ok((request, ()))
            }
            Ok(None) => Ok((request, ())),
            Err(denied) => {
                (self.on_refusal)(&denied);
                Err(grpc_status(&denied))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_assets_and_login_are_open_the_rest_is_not() {
        for open in ["/healthz", "/readyz", "/login", "/logout", "/static/app.js"] {
            assert!(is_open(open), "{open}");
        }
        for closed in ["/", "/metrics", "/api/v1/groups", "/issues/1", "/loginx"] {
            assert!(!is_open(closed), "{closed}");
        }
        assert_eq!(needed_scope(&Method::GET), TokenScope::Read);
        assert_eq!(needed_scope(&Method::POST), TokenScope::Admin);
        assert_eq!(needed_scope(&Method::DELETE), TokenScope::Admin);
    }
}
