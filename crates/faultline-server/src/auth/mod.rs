//! Access control: which requests may send telemetry, read, or change
//! things. Tokens live in the store (hashes only); this module keeps a map
//! from hash to token in memory, reloaded from the store after every
//! create and revoke, so checking a request costs one SHA-256 and one
//! lookup, and a revoked token fails on the next request.
//!
//! Auth is *required* when any token exists, when an admin token is
//! configured (`FAULTLINE_ADMIN_TOKEN` / `auth.admin_token`), or when a
//! listener is on a non-loopback address (then it stays required even if
//! every token is revoked: the server fails closed). Otherwise, on
//! loopback only, everything is open as before tokens existed.
//!
//! - `tokens`: secrets, hashing, reading them from headers;
//! - `middleware`: the checks in front of the API, the pages, OTLP/HTTP and OTLP/gRPC;
//! - `session`: the web explorer's login sessions;
//! - `services`: which services an export sends for (pinned tokens).

pub mod middleware;
pub mod services;
pub mod session;
pub mod tokens;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use faultline_model::{now_nanos, AccessToken, TokenScope};
use faultline_store::{Error as StoreError, Storage};

use tokens::Hash;

/// The id under which the configured admin token appears (it is not stored).
pub const CONFIGURED_ADMIN_ID: &str = "configured-admin";

/// Who a request comes from, once its token checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub id: String,
    pub name: String,
    pub scope: TokenScope,
    /// The services an ingest token may send for; empty is any.
    pub services: Vec<String>,
    /// The token's own rate limit (error events per second), if it has one.
    pub events_per_second: Option<u64>,
}

impl Principal {
    fn of(token: &AccessToken) -> Principal {
        Principal {
            id: token.id.clone(),
            name: token.name.clone(),
            scope: token.scope,
            services: token.services.clone(),
            events_per_second: token.events_per_second,
        }
    }

    /// The first of `services` this principal may not send for.
    pub fn forbidden_service<'a>(&self, mut services: impl Iterator<Item = &'a str>) -> Option<&'a str> {
        if self.services.is_empty() {
            return None;
        }
        services.find(|s| !self.services.iter().any(|allowed| allowed == s))
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error(
        "this server requires a token: send `Authorization: Bearer <token>` or `x-faultline-token: <token>`"
    )]
    Missing,
    #[error("the token is not valid (unknown or revoked)")]
    Invalid,
    #[error("the token {id} has scope {has}; this needs {needed}")]
    Scope { id: String, has: &'static str, needed: &'static str },
}

/// The server's tokens and whether they are required.
pub struct Auth {
    storage: Arc<Storage>,
    tokens: RwLock<HashMap<Hash, AccessToken>>,
    /// SHA-256 of the configured admin token.
    configured_admin: Option<Hash>,
    /// A listener is reachable from other hosts: never fall back to open.
    fail_closed: bool,
    pub sessions: session::Sessions,
}

/// What `create` hands back: the stored token and, once, its secret.
pub struct Created {
    pub token: AccessToken,
    pub secret: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no random source for a new token: {0}")]
    Random(#[from] std::io::Error),
    #[error("the store stopped before answering")]
    Stopped,
}

impl Auth {
    /// Reads the stored tokens (a blocking read: call before serving or off the async threads).
    pub fn load(
        storage: Arc<Storage>,
        configured_admin: Option<&str>,
        fail_closed: bool,
    ) -> Result<Arc<Auth>, StoreError> {
        let auth = Auth {
            storage,
            tokens: RwLock::default(),
            configured_admin: configured_admin.map(tokens::hash),
            fail_closed,
            sessions: session::Sessions::default(),
        };
        auth.reload()?;
        Ok(Arc::new(auth))
    }

    fn reload(&self) -> Result<(), StoreError> {
        let map = self.storage.tokens()?.into_iter().map(|t| (t.secret_sha256, t)).collect();
        *self.tokens.write().unwrap_or_else(|p| p.into_inner()) = map;
        Ok(())
    }

    /// Whether any credential exists that a request could present.
    pub fn has_credentials(&self) -> bool {
        self.configured_admin.is_some() || !self.read_tokens().is_empty()
    }

    /// Whether requests must carry a token.
    pub fn required(&self) -> bool {
        self.fail_closed || self.has_credentials()
    }

    fn read_tokens(&self) -> std::sync::RwLockReadGuard<'_, HashMap<Hash, AccessToken>> {
        self.tokens.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The principal a secret belongs to. Comparing hashes through a map
    /// lookup is not constant-time, and need not be: timing can at most
    /// reveal bytes of a SHA-256, which does not help find a secret with
    /// that hash. The configured token is compared the same way.
    pub fn authenticate(&self, secret: &str) -> Option<Principal> {
        let hash = tokens::hash(secret);
        if self.configured_admin == Some(hash) {
            return Some(configured_admin());
        }
        self.read_tokens().get(&hash).map(Principal::of)
    }

    /// The principal of a token id, if the token still exists (sessions
    /// keep the id, so a revoked token ends its sessions).
    pub fn by_id(&self, id: &str) -> Option<Principal> {
        if id == CONFIGURED_ADMIN_ID {
            return self.configured_admin.map(|_| configured_admin());
        }
        self.read_tokens().values().find(|t| t.id == id).map(Principal::of)
    }

    /// Checks a secret (or its absence) against what the request needs.
    /// `Ok(None)`: auth is not required, so whatever was sent is let in as
    /// before tokens existed (an SDK whose headers carry some other
    /// `Authorization` for a proxy keeps working).
    pub fn check(&self, secret: Option<&str>, needed: TokenScope) -> Result<Option<Principal>, Denied> {
        if !self.required() {
            return Ok(None);
        }
        let secret = secret.ok_or(Denied::Missing)?;
        let principal = self.authenticate(secret).ok_or(Denied::Invalid)?;
        allow(principal, needed).map(Some)
    }

    /// Every stored token, by id (the configured admin token is not listed).
    pub fn list(&self) -> Vec<AccessToken> {
        let mut list: Vec<AccessToken> = self.read_tokens().values().cloned().collect();
        list.sort_by(|a, b| a.id.cmp(&b.id));
        list
    }

    /// Makes, stores and loads a new token; its secret is in the answer only.
    pub async fn create(
        &self,
        name: String,
        scope: TokenScope,
        services: Vec<String>,
    ) -> Result<Created, AuthError> {
        self.create_limited(name, scope, services, None).await
    }

    /// [`Auth::create`] with the token's own rate limit.
    pub async fn create_limited(
        &self,
        name: String,
        scope: TokenScope,
        services: Vec<String>,
        events_per_second: Option<u64>,
    ) -> Result<Created, AuthError> {
        let secret = tokens::new_secret()?;
        let token = AccessToken {
            id: tokens::new_id()?,
            name,
            scope,
            services,
            created_at: now_nanos(),
            secret_sha256: tokens::hash(&secret),
            events_per_second,
        };
        self.storage.put_token(&token)?.await.map_err(|_| AuthError::Stopped)??;
        self.reload_blocking().await?;
        Ok(Created { token, secret })
    }

    /// Deletes a token; false when there was none with that id. Once this
    /// returns, the token no longer authenticates and its sessions are over.
    pub async fn revoke(&self, id: &str) -> Result<bool, AuthError> {
        if !self.read_tokens().values().any(|t| t.id == id) {
            return Ok(false);
        }
        self.storage.delete_token(id)?.await.map_err(|_| AuthError::Stopped)??;
        self.reload_blocking().await?;
        self.sessions.end_for_token(id);
        Ok(true)
    }

    async fn reload_blocking(&self) -> Result<(), AuthError> {
        let storage = self.storage.clone();
        let map = tokio::task::spawn_blocking(move || storage.tokens())
            .await
            .map_err(|_| AuthError::Stopped)??
            .into_iter()
            .map(|t| (t.secret_sha256, t))
            .collect();
        *self.tokens.write().unwrap_or_else(|p| p.into_inner()) = map;
        Ok(())
    }
}

fn configured_admin() -> Principal {
    Principal {
        id: CONFIGURED_ADMIN_ID.to_string(),
        name: "admin token from the configuration".to_string(),
        scope: TokenScope::Admin,
        services: Vec::new(),
        events_per_second: None,
    }
}

fn allow(principal: Principal, needed: TokenScope) -> Result<Principal, Denied> {
    if principal.scope.allows(needed) {
        Ok(principal)
    } else {
        Err(Denied::Scope { id: principal.id, has: principal.scope.as_str(), needed: needed.as_str() })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn storage() -> Arc<Storage> {
        let options = faultline_store::StorageOptions::default();
        Arc::new(faultline_store::open(faultline_store::StoreConfig::InMemory { options }).unwrap())
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn open_until_a_token_exists_then_scoped_and_revocable() {
        let auth = Auth::load(storage(), None, false).unwrap();
        assert!(!auth.required());
        assert_eq!(auth.check(None, TokenScope::Admin), Ok(None));
        assert_eq!(auth.check(Some("fl_anything"), TokenScope::Admin), Ok(None));

        let admin = auth.create("ops".into(), TokenScope::Admin, vec![]).await.unwrap();
        let read = auth.create("viewer".into(), TokenScope::Read, vec![]).await.unwrap();
        assert!(auth.required());
        assert_eq!(auth.check(None, TokenScope::Read), Err(Denied::Missing));
        assert_eq!(auth.check(Some("fl_wrong"), TokenScope::Read), Err(Denied::Invalid));
        assert_eq!(auth.check(Some(&admin.secret), TokenScope::Ingest).unwrap().unwrap().id, admin.token.id);
        assert!(auth.check(Some(&read.secret), TokenScope::Read).is_ok());
        assert!(matches!(auth.check(Some(&read.secret), TokenScope::Admin), Err(Denied::Scope { .. })));
        assert!(matches!(auth.check(Some(&read.secret), TokenScope::Ingest), Err(Denied::Scope { .. })));

        let session = auth.sessions.start(&read.token.id).unwrap();
        assert!(auth.revoke(&read.token.id).await.unwrap());
        assert!(!auth.revoke(&read.token.id).await.unwrap());
        assert_eq!(auth.check(Some(&read.secret), TokenScope::Read), Err(Denied::Invalid));
        assert_eq!(auth.sessions.token_of(&session), None);
        assert_eq!(auth.by_id(&read.token.id), None);
        assert_eq!(auth.list().len(), 1);
        // Stored as a hash only, and found again after a restart.
        let reloaded = Auth::load(auth.storage.clone(), None, false).unwrap();
        assert_eq!(reloaded.authenticate(&admin.secret).map(|p| p.id), Some(admin.token.id));
    }

    #[test]
    fn the_configured_token_and_fail_closed_require_auth_without_stored_tokens() {
        let configured = "x".repeat(40);
        let auth = Auth::load(storage(), Some(&configured), false).unwrap();
        assert!(auth.required() && auth.has_credentials());
        let p = auth.check(Some(&configured), TokenScope::Admin).unwrap().unwrap();
        assert_eq!(p.id, CONFIGURED_ADMIN_ID);
        assert!(auth.by_id(CONFIGURED_ADMIN_ID).is_some());
        assert!(auth.list().is_empty());

        let closed = Auth::load(storage(), None, true).unwrap();
        assert!(closed.required() && !closed.has_credentials());
        assert_eq!(closed.check(None, TokenScope::Ingest), Err(Denied::Missing));
    }
}
