//! The HTTP transport behind the webhook, Slack and PagerDuty channels:
//! POSTs of prepared JSON bodies, and what each answer means for retrying.

use std::error::Error as _;
use std::time::{Duration, SystemTime};

use faultline_tls::{client_config, Trust};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use reqwest::redirect::Policy;
use reqwest::{Client, Response, StatusCode};

use super::error::SenderError;
use super::format::{one_line, truncate};
use super::outcome::Outcome;
use super::webhook::{sign_webhook, SIGNATURE_HEADER, TIMESTAMP_HEADER};

/// Enough of an error body to explain a refusal (Slack's
/// `invalid_payload`, PagerDuty's JSON errors) without storing a page.
const ERROR_BODY_MAX_BYTES: usize = 512;
const ERROR_BODY_MAX_CHARS: usize = 300;

pub(crate) struct HttpRequest {
    pub url: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// Set for signed webhooks: the signature covers a per-attempt timestamp.
    pub signing_secret: Option<String>,
}

/// Sends a notification's requests in order. PagerDuty needs one per
/// alert; the ones a receiver accepted are not sent again on the next
/// attempt.
pub(crate) struct HttpSender {
    client: Result<Client, SenderError>,
    requests: Vec<HttpRequest>,
    accepted: usize,
}

impl HttpSender {
    pub fn new(requests: Vec<HttpRequest>, timeout: Duration) -> Self {
        HttpSender { client: client(timeout), requests, accepted: 0 }
    }

    pub async fn attempt(&mut self, timeout: Duration) -> Outcome {
        let client = match &self.client {
            Ok(client) => client,
            Err(e) => return Outcome::permanent(None, e.to_string()),
        };
        let total = self.requests.len();
        let mut last_status = None;
        while let Some(request) = self.requests.get(self.accepted) {
            let mut outcome = send(client, request, timeout).await;
            match &mut outcome.result {
                Ok(()) => {
                    self.accepted += 1;
                    last_status = outcome.status_code;
                }
                Err(failure) => {
                    if total > 1 {
                        failure.message =
                            format!("request {} of {total}: {}", self.accepted + 1, failure.message);
                    }
                    return outcome;
                }
            }
        }
        Outcome::ok(last_status)
    }
}

async fn send(client: &Client, request: &HttpRequest, timeout: Duration) -> Outcome {
    let mut headers = request.headers.clone();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(secret) = &request.signing_secret {
        // Whole seconds, as the signature scheme says; a clock before 1970 signs 0.
        let timestamp = u64::try_from(faultline_model::now_nanos() / 1_000_000_000).unwrap_or(0);
        let signature = sign_webhook(secret, timestamp, &request.body);
        for (name, value) in [(TIMESTAMP_HEADER, timestamp.to_string()), (SIGNATURE_HEADER, signature)] {
            // Constant names, digits and hex: these never fail to parse.
            if let (Ok(name), Ok(value)) =
                (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(&value))
            {
                headers.insert(name, value);
            }
        }
    }
    let sent =
        client.post(&request.url).headers(headers).body(request.body.clone()).timeout(timeout).send().await;
    match sent {
        Ok(response) => judge(response).await,
        Err(e) => Outcome::transient(None, describe(e, timeout), None),
    }
}

/// 2xx is success. 429, 5xx and 408 are the receiver's "not now": retried,
/// after its Retry-After if it sent one. A redirect or another 4xx will
/// answer the same next time: not retried.
async fn judge(response: Response) -> Outcome {
    let status = response.status();
    let code = Some(status.as_u16());
    if status.is_success() {
        return Outcome::ok(code);
    }
    let retry_after = retry_after(response.headers());
    let location =
        response.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body = error_body(response).await;
    let mut message = format!("HTTP {status}");
    if status.is_redirection() {
        message.push_str(" (redirects are not followed: configure the final URL)");
        if let Some(location) = location {
            message.push_str(&format!(" to {}", without_query(&location)));
        }
    }
    if !body.is_empty() {
        message.push_str(&format!(": {body}"));
    }
    if status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
        || status.is_server_error()
    {
        Outcome::transient(code, message, retry_after)
    } else {
        Outcome::permanent(code, message)
    }
}

/// Seconds, or an HTTP date (RFC 9110); a date in the past means now.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO))
}

async fn error_body(mut response: Response) -> String {
    let mut body = Vec::new();
    // A body that fails halfway is still worth showing as far as it came.
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = ERROR_BODY_MAX_BYTES.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= ERROR_BODY_MAX_BYTES {
            break;
        }
    }
    truncate(&one_line(&String::from_utf8_lossy(&body)), ERROR_BODY_MAX_CHARS)
}

/// The error and its causes, without the URL: Slack and similar webhook
/// URLs carry their secret, and attempt errors are stored and shown.
fn describe(error: reqwest::Error, timeout: Duration) -> String {
    let error = error.without_url();
    if error.is_timeout() {
        return format!("timed out after {timeout:?}");
    }
    let mut parts =
        vec![if error.is_connect() { "connection failed".to_string() } else { error.to_string() }];
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

fn without_query(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

/// A client per delivery: retries reuse its connection, and nothing
/// outlives the runtime that made it. The TLS setup, which is costly, is
/// built once.
fn client(timeout: Duration) -> Result<Client, SenderError> {
    // The webpki-verifying config the HTTP checks use too.
    let tls = (*client_config(Trust::WebpkiRoots)?).clone();
    Client::builder()
        .use_preconfigured_tls(tls)
        .connect_timeout(timeout)
        .redirect(Policy::none())
        .user_agent(concat!("faultline/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(SenderError::HttpClient)
}
