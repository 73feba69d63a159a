//! `--verify`: acknowledged error events must all be stored. Counts this
//! run's events through the search API (`loadgen.run:<id>`, a resource
//! attribute looked up like any other) until the index has caught up.

use std::time::{Duration, Instant};

use crate::payload::RUN_ATTRIBUTE;
use crate::stats::Verification;

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("the token cannot be sent as a header (printable ASCII only)")]
    Token,
    #[error("building the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    #[error("asking {url}: {source}")]
    Request { url: String, source: reqwest::Error },
    #[error("{url} answered {status}: {body}")]
    Status { url: String, status: u16, body: String },
    #[error("{url} answered without a numeric `total`")]
    NoTotal { url: String },
}

/// The query that finds one run's events.
pub fn run_query(run_id: &str) -> String {
    format!("{RUN_ATTRIBUTE}:\"{run_id}\"")
}

/// Polls the stored count of `run_id`'s events until it equals `acked`.
/// Gives up at `timeout`, or earlier when more than `acked` are stored and
/// the count has stopped moving (an export that timed out on our side may
/// still have been committed; that is a difference worth reporting).
/// `token`, when the server requires one, must be allowed to read.
pub async fn verify(
    api: &str,
    run_id: &str,
    acked: u64,
    timeout: Duration,
    token: Option<&str>,
) -> Result<Verification, VerifyError> {
    let client = api_client(token)?;
    let url = format!("{}/api/v1/search", api.trim_end_matches('/'));
    let query = run_query(run_id);
    let started = Instant::now();
    let mut last = None;
    let mut unchanged_since = Instant::now();
    loop {
        let stored = stored_count(&client, &url, &query).await?;
        let settled =
            stored > acked && last == Some(stored) && unchanged_since.elapsed() > Duration::from_secs(2);
        if stored == acked || settled || started.elapsed() >= timeout {
            return Ok(Verification {
                query,
                acked,
                stored,
                waited_s: started.elapsed().as_secs_f64(),
                matched: stored == acked,
            });
        }
        if last != Some(stored) {
            last = Some(stored);
            unchanged_since = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A client that sends `token` as `Authorization: Bearer` on every request.
pub fn api_client(token: Option<&str>) -> Result<reqwest::Client, VerifyError> {
    let mut headers = http::HeaderMap::new();
    if let Some(token) = token {
        headers.insert(http::header::AUTHORIZATION, crate::client::bearer(token).ok_or(VerifyError::Token)?);
    }
    reqwest::Client::builder().default_headers(headers).build().map_err(VerifyError::Client)
}

/// `total` of `GET /api/v1/search?q=..&limit=1`.
pub async fn stored_count(client: &reqwest::Client, url: &str, query: &str) -> Result<u64, VerifyError> {
    let request_error = |source| VerifyError::Request { url: url.to_string(), source };
    let response =
        client.get(url).query(&[("q", query), ("limit", "1")]).send().await.map_err(request_error)?;
    let status = response.status().as_u16();
    let body: serde_json::Value = match response.json().await {
        Ok(body) => body,
        Err(e) if status == 200 => return Err(request_error(e)),
        Err(_) => serde_json::Value::Null,
    };
    if status != 200 {
        return Err(VerifyError::Status { url: url.to_string(), status, body: body.to_string() });
    }
    body.get("total").and_then(serde_json::Value::as_u64).ok_or(VerifyError::NoTotal { url: url.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_names_the_run_attribute() {
        assert_eq!(run_query("lg0a1b"), "loadgen.run:\"lg0a1b\"");
    }
}
