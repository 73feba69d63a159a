//! Token secrets: how they are made, shown, read from requests and hashed.
//!
//! A secret is 32 random bytes shown once as `fl_` + 64 hex digits; only
//! its SHA-256 is stored. A fast hash is enough for random 256-bit secrets
//! (there is no dictionary to try), and it lets a request be checked with
//! one hash and one map lookup.

use axum::http::{header, HeaderMap};
use sha2::{Digest, Sha256};

/// What every secret starts with, so a leaked one is recognisable (secret
/// scanners, logs) and a wrong paste is told apart from a wrong token.
pub const PREFIX: &str = "fl_";

/// The other header a token may come in, for clients that cannot set
/// `Authorization` or already use it for something else.
pub const TOKEN_HEADER: &str = "x-faultline-token";

/// The shortest admin token an operator may configure: as hard to guess as
/// the generated ones only if it is long.
pub const MIN_CONFIGURED_LEN: usize = 32;

pub type Hash = [u8; 32];

pub fn hash(secret: &str) -> Hash {
    Sha256::digest(secret.trim().as_bytes()).into()
}

/// A new secret, shown once.
pub fn new_secret() -> std::io::Result<String> {
    Ok(format!("{PREFIX}{}", hex(&random::<32>()?)))
}

/// A new token id: public, short, unique enough among a few hundred tokens.
pub fn new_id() -> std::io::Result<String> {
    Ok(hex(&random::<6>()?))
}

fn random<const N: usize>() -> std::io::Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(bytes)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The token a request carries: `Authorization: Bearer <token>` or
/// `x-faultline-token: <token>`. OTLP exporters send either as set in
/// `OTEL_EXPORTER_OTLP_HEADERS`; gRPC metadata are these same headers.
pub fn from_headers(headers: &HeaderMap) -> Option<&str> {
    let bearer =
        headers.get_all(header::AUTHORIZATION).iter().filter_map(|v| v.to_str().ok()).find_map(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    bearer
        .or_else(|| headers.get(TOKEN_HEADER).and_then(|v| v.to_str().ok()).map(str::trim))
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn secrets_are_prefixed_random_and_hash_to_32_bytes() {
        let a = new_secret().unwrap();
        let b = new_secret().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with(PREFIX) && a.len() == PREFIX.len() + 64, "{a}");
        assert_ne!(hash(&a), hash(&b));
        assert_eq!(hash(&a), hash(&format!(" {a}\n")));
        assert_eq!(new_id().unwrap().len(), 12);
    }

    #[test]
    fn reads_bearer_or_the_faultline_header() {
        let mut h = HeaderMap::new();
        assert_eq!(from_headers(&h), None);
        h.insert(TOKEN_HEADER, HeaderValue::from_static("fl_b"));
        assert_eq!(from_headers(&h), Some("fl_b"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("bearer  fl_a "));
        assert_eq!(from_headers(&h), Some("fl_a"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic dXNlcjpwdw=="));
        assert_eq!(from_headers(&h), Some("fl_b"));
        h.remove(TOKEN_HEADER);
        assert_eq!(from_headers(&h), None);
    }
}
