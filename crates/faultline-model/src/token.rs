//! Access tokens: who may send data and who may read or change it. The
//! secret itself is never kept: only its SHA-256, which is enough for
//! random 256-bit secrets (no dictionary to attack, so no slow hash).

use serde::{Deserialize, Serialize};

use crate::UnixNanos;

/// What a token allows. `Admin` includes `Read`; `Ingest` is only for
/// sending telemetry, so a leaked SDK token cannot read the errors back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenScope {
    Ingest,
    Read,
    Admin,
}

impl TokenScope {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Ingest => "ingest",
            TokenScope::Read => "read",
            TokenScope::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<TokenScope> {
        match text {
            "ingest" => Some(TokenScope::Ingest),
            "read" => Some(TokenScope::Read),
            "admin" => Some(TokenScope::Admin),
            _ => None,
        }
    }

    /// Whether a token of this scope may do what `needed` allows. Admin
    /// may do everything (an operator's token also sends test data);
    /// read and ingest only themselves.
    pub fn allows(self, needed: TokenScope) -> bool {
        self == TokenScope::Admin || self == needed
    }
}

/// One stored token, without its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// Public, stable name of the token in listings and for revocation.
    pub id: String,
    /// What the operator called it ("checkout-prod", "ci").
    pub name: String,
    pub scope: TokenScope,
    /// Ingest tokens only: the services it may send for; empty is any.
    pub services: Vec<String>,
    pub created_at: UnixNanos,
    /// SHA-256 of the secret.
    pub secret_sha256: [u8; 32],
    /// Ingest tokens: error events per second this token may send, over
    /// the server's `limits.events_per_second_per_token`; `None` is that.
    pub events_per_second: Option<u64>,
}
