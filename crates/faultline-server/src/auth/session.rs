//! The web explorer's login sessions: a random id in an HttpOnly,
//! SameSite=Lax cookie, mapped in memory to the token that logged in.
//! Every request looks the token up again, so revoking it ends its
//! sessions at once; a restart ends all of them (log in again).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap, HeaderValue};

pub const COOKIE: &str = "faultline_session";

/// How long a session lasts without being used.
const IDLE: Duration = Duration::from_secs(12 * 3600);

#[derive(Default)]
pub struct Sessions {
    by_id: Mutex<HashMap<String, Session>>,
}

struct Session {
    token_id: String,
    last_used: Instant,
}

impl Sessions {
    /// A new session for a token; the id to put in the cookie.
    pub fn start(&self, token_id: &str) -> std::io::Result<String> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
        let id = super::tokens::hex(&bytes);
        let mut map = self.lock();
        let now = Instant::now();
        map.retain(|_, s| now.duration_since(s.last_used) < IDLE);
        map.insert(id.clone(), Session { token_id: token_id.to_string(), last_used: now });
        Ok(id)
    }

    /// The token id behind a session cookie, refreshing its idle time.
    pub fn token_of(&self, session_id: &str) -> Option<String> {
        let mut map = self.lock();
        let session = map.get_mut(session_id)?;
        let now = Instant::now();
        if now.duration_since(session.last_used) >= IDLE {
            map.remove(session_id);
            return None;
        }
        session.last_used = now;
        Some(session.token_id.clone())
    }

    pub fn end(&self, session_id: &str) {
        self.lock().remove(session_id);
    }

    pub fn end_for_token(&self, token_id: &str) {
        self.lock().retain(|_, s| s.token_id != token_id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.by_id.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The session id a request's cookie carries.
pub fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == COOKIE && value.len() == 64)
        .map(|(_, value)| value.to_string())
}

/// The cookie that starts a session. Lax, not Strict: a link to a page
/// from a chat or an alert e-mail must arrive logged in; state-changing
/// forms carry their own CSRF token. `secure` when the API listener
/// serves TLS itself; behind a TLS proxy, the proxy can add it.
pub fn set_cookie(session_id: &str, secure: bool) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{COOKIE}={session_id}; Path=/; HttpOnly; SameSite=Lax{secure}")).ok()
}

/// The cookie that ends a session in the browser.
pub fn clear_cookie() -> HeaderValue {
    HeaderValue::from_static("faultline_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sessions_map_to_tokens_and_end() {
        let s = Sessions::default();
        let a = s.start("t1").unwrap();
        let b = s.start("t1").unwrap();
        let c = s.start("t2").unwrap();
        assert_eq!(s.token_of(&a).as_deref(), Some("t1"));
        s.end(&a);
        assert_eq!(s.token_of(&a), None);
        s.end_for_token("t1");
        assert_eq!(s.token_of(&b), None);
        assert_eq!(s.token_of(&c).as_deref(), Some("t2"));
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_str(&format!("x=1; {COOKIE}={c}")).unwrap());
        assert_eq!(cookie(&h), Some(c));
    }
}
