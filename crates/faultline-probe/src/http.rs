//! HTTP(S) checks: one request, judged by its status and optionally by a
//! keyword in the body.

use reqwest::redirect::Policy;
use reqwest::{Client, Method};

use crate::config::HttpProbe;
use crate::describe;
use crate::error::RunError;
use crate::run::Outcome;
use faultline_tls::{client_config, Trust};

/// Only this much of a body is searched for `body_contains`: a health
/// endpoint is small, and a huge page must not cost unbounded memory.
const MAX_BODY_BYTES: usize = 1024 * 1024;

pub(crate) async fn probe(probe: &HttpProbe) -> Outcome {
    match request(probe).await {
        Ok(outcome) | Err(outcome) => outcome,
    }
}

async fn request(probe: &HttpProbe) -> Result<Outcome, Outcome> {
    let client = client(probe.tls_insecure).map_err(|e| Outcome::failed(e.to_string()))?;
    let method = Method::from_bytes(probe.method.as_bytes())
        .map_err(|_| Outcome::failed(format!("invalid method {:?}", probe.method)))?;
    let mut request = client.request(method, &probe.url);
    for (name, value) in &probe.headers {
        request = request.header(name, value);
    }
    let mut response = request.send().await.map_err(|e| Outcome::failed(describe::chain(&e)))?;

    let status = response.status().as_u16();
    let failed =
        |error: String| Outcome { error: Some(error), status_code: Some(status), ..Outcome::default() };
    if !probe.expected_status.contains(status) {
        return Err(failed(format!("expected status {}, got {status}", probe.expected_status)));
    }
    if let Some(keyword) = &probe.body_contains {
        let found = body_contains(&mut response, keyword.as_bytes())
            .await
            .map_err(|e| failed(format!("reading the body failed: {}", describe::chain(&e))))?;
        if !found {
            return Err(failed(format!("body does not contain {keyword:?}")));
        }
    }
    Ok(Outcome { status_code: Some(status), ..Outcome::default() })
}

/// A client per run: no pooled connection hides a broken connect or TLS
/// setup, and nothing outlives the runtime that ran the check. What is
/// costly to build (the TLS roots) is shared through `client_config`.
fn client(tls_insecure: bool) -> Result<Client, RunError> {
    let trust = if tls_insecure { Trust::AnyCertificate } else { Trust::WebpkiRoots };
    let tls = (*client_config(trust)?).clone();
    Client::builder()
        .use_preconfigured_tls(tls)
        // Judge the target's own answer: a redirect is a status like any other.
        .redirect(Policy::none())
        // Probe the target directly, whatever HTTP_PROXY the server runs with.
        .no_proxy()
        .pool_max_idle_per_host(0)
        .user_agent(concat!("faultline-probe/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(RunError::HttpClient)
}

/// Reads the body until `keyword` shows up or `MAX_BODY_BYTES` were read,
/// searching only the new bytes (plus an overlap for a keyword split
/// across chunks) after each chunk.
async fn body_contains(response: &mut reqwest::Response, keyword: &[u8]) -> Result<bool, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let search_from = body.len().saturating_sub(keyword.len().saturating_sub(1));
        let room = MAX_BODY_BYTES.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if contains(&body[search_from..], keyword) {
            return Ok(true);
        }
        if body.len() >= MAX_BODY_BYTES {
            break;
        }
    }
    Ok(false)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::contains;

    #[test]
    fn finds_keywords_anywhere() {
        assert!(contains(b"status: ok", b"ok"));
        assert!(contains(b"ok", b"ok"));
        assert!(!contains(b"o", b"ok"));
        assert!(!contains(b"status: down", b"ok"));
    }
}
