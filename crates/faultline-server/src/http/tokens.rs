//! Access tokens over HTTP (admin scope, like every change): create
//! (the secret is in that answer only), list (no secrets, no hashes),
//! revoke (the token stops working before the answer is sent).

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use faultline_model::TokenScope;
use serde::Deserialize;

use crate::auth::AuthError;
use crate::http::common::{bad_request, json_body, Api, ApiError};
use crate::http::types::{CreatedTokenBody, TokenBody, TokensBody};

pub fn routes() -> Router<Api> {
    Router::new().route("/api/v1/tokens", get(list).post(create)).route("/api/v1/tokens/{id}", delete(revoke))
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Store(e) => ApiError::from(e),
            other => ApiError(StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    name: String,
    scope: String,
    #[serde(default)]
    services: Vec<String>,
    /// The token's own fair-use rate, error events per second.
    #[serde(default)]
    events_per_second: Option<u64>,
}

const EXAMPLE: &str = r#"{"name": "checkout-prod", "scope": "ingest", "services": ["checkout"]}"#;
const MAX_NAME: usize = 100;
/// Checked on every export of a pinned token: a short list.
const MAX_SERVICES: usize = 100;

async fn create(
    State(api): State<Api>,
    body: Result<Json<NewToken>, JsonRejection>,
) -> Result<(StatusCode, Json<CreatedTokenBody>), ApiError> {
    let new = json_body(body, EXAMPLE)?;
    let events_per_second = new.events_per_second;
    if events_per_second == Some(0) {
        return Err(bad_request(
            "`events_per_second` must be at least 1 (leave it out for the server's default)",
        ));
    }
    let (name, scope, services) = validate(new)?;
    let created = api.auth.create_limited(name, scope, services, events_per_second).await?;
    tracing::info!(id = %created.token.id, scope = scope.as_str(), "access token created");
    let body = CreatedTokenBody { token: TokenBody::new(&created.token), secret: created.secret };
    Ok((StatusCode::CREATED, Json(body)))
}

fn validate(new: NewToken) -> Result<(String, TokenScope, Vec<String>), ApiError> {
    let name = new.name.trim().to_string();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(bad_request(format!("`name` must be 1 to {MAX_NAME} characters")));
    }
    let scope = TokenScope::parse(&new.scope)
        .ok_or_else(|| bad_request(format!("`scope` must be ingest, read or admin, got {:?}", new.scope)))?;
    let services: Vec<String> =
        new.services.iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
    if services.len() > MAX_SERVICES {
        return Err(bad_request(format!("at most {MAX_SERVICES} `services` per token")));
    }
    if !services.is_empty() && scope != TokenScope::Ingest {
        return Err(bad_request("`services` pins an ingest token; read and admin tokens see every service"));
    }
    Ok((name, scope, services))
}

async fn list(State(api): State<Api>) -> Json<TokensBody> {
    Json(TokensBody { tokens: api.auth.list().iter().map(TokenBody::new).collect() })
}

async fn revoke(State(api): State<Api>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    if api.auth.revoke(&id).await? {
        tracing::info!(%id, "access token revoked");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError(StatusCode::NOT_FOUND, format!("no token {id:?}")))
    }
}
