//! Delivery: render once, send, retry transient failures with backoff, and
//! report every attempt.

use std::str::FromStr;
use std::time::Instant;

use faultline_model::{now_nanos, UnixNanos};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};

use super::channel::{Channel, ChannelConfig, DEFAULT_PAGERDUTY_EVENTS_URL};
use super::error::DeliveryError;
use super::http::{HttpRequest, HttpSender};
use super::outcome::{Outcome, Retry};
use super::pagerduty::render_pagerduty;
use super::policy::DeliveryPolicy;
use super::slack::render_slack;
use super::smtp::{SmtpSender, SmtpSettings};
use super::webhook::render_webhook;
use crate::Notification;

/// One try at one channel, for the delivery history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryAttempt {
    pub channel_id: String,
    pub notification_id: String,
    /// 1 for the first try.
    pub attempt: u32,
    /// When the attempt started.
    #[serde(with = "faultline_model::rfc3339")]
    pub at: UnixNanos,
    pub ok: bool,
    /// Why it failed; never contains the channel's URL (it may hold a secret).
    pub error: Option<String>,
    /// The HTTP status, or for email the SMTP reply code, of the last answer.
    pub status_code: Option<u16>,
    pub duration_ms: f64,
}

/// Sends `notification` through `channel`, retrying timeouts, connection
/// failures, 429 and 5xx (SMTP: 4xx replies) with exponential backoff and
/// jitter, up to `policy.max_attempts`. Each attempt, failed or not, is
/// passed to `on_attempt` as soon as it ends.
///
/// A channel with an invalid configuration is refused before anything is
/// sent (and no attempt is reported).
pub async fn deliver(
    channel: &Channel,
    notification: &Notification,
    policy: &DeliveryPolicy,
    on_attempt: impl FnMut(DeliveryAttempt),
) -> Result<(), DeliveryError> {
    channel.validate()?;
    let mut sender = Sender::new(channel, notification, policy);
    send_with_retries(&mut sender, &channel.id, &notification.id, policy, on_attempt).await
}

/// The retry loop of [`deliver`], for anything a [`Sender`] can carry
/// (notifications, reports): attempts, backoff, and one report per attempt.
pub(crate) async fn send_with_retries(
    sender: &mut Sender,
    channel_id: &str,
    message_id: &str,
    policy: &DeliveryPolicy,
    mut on_attempt: impl FnMut(DeliveryAttempt),
) -> Result<(), DeliveryError> {
    let attempts = policy.attempts();
    let mut attempt = 1;
    loop {
        let at = now_nanos();
        let started = Instant::now();
        let outcome = sender.attempt(policy).await;
        let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        let (ok, error) = match &outcome.result {
            Ok(()) => (true, None),
            Err(failure) => (false, Some(failure.message.clone())),
        };
        on_attempt(DeliveryAttempt {
            channel_id: channel_id.to_string(),
            notification_id: message_id.to_string(),
            attempt,
            at,
            ok,
            error,
            status_code: outcome.status_code,
            duration_ms,
        });
        let failure = match outcome.result {
            Ok(()) => return Ok(()),
            Err(failure) => failure,
        };
        let retry_after = match failure.retry {
            Retry::Never => {
                return Err(DeliveryError::Rejected { attempts: attempt, error: failure.message })
            }
            Retry::After(wait) => wait,
        };
        if attempt >= attempts {
            return Err(DeliveryError::Exhausted { attempts: attempt, error: failure.message });
        }
        let wait = policy.backoff(attempt, retry_after);
        tracing::debug!(
            channel = %channel_id,
            notification = %message_id,
            attempt,
            error = %failure.message,
            wait_ms = wait.as_millis() as u64,
            "delivery failed, retrying"
        );
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

/// The channel's transport with the rendered notification, ready to be
/// sent as often as needed.
pub(crate) enum Sender {
    Http(HttpSender),
    Smtp(Box<SmtpSender>),
}

impl Sender {
    fn new(channel: &Channel, n: &Notification, policy: &DeliveryPolicy) -> Self {
        let json_request =
            |url: &str, headers: HeaderMap, body: &serde_json::Value, secret: Option<String>| HttpRequest {
                url: url.to_string(),
                headers,
                body: body.to_string().into_bytes(),
                signing_secret: secret,
            };
        match &channel.config {
            ChannelConfig::Webhook { url, secret, headers } => {
                let request = json_request(url, header_map(headers), &render_webhook(n), secret.clone());
                Sender::Http(HttpSender::new(vec![request], policy.timeout))
            }
            ChannelConfig::Slack { webhook_url } => {
                let request = json_request(webhook_url, HeaderMap::new(), &render_slack(n), None);
                Sender::Http(HttpSender::new(vec![request], policy.timeout))
            }
            ChannelConfig::PagerDuty { routing_key, events_url } => {
                let url = events_url.as_deref().unwrap_or(DEFAULT_PAGERDUTY_EVENTS_URL);
                let requests = render_pagerduty(n, routing_key)
                    .iter()
                    .map(|event| json_request(url, HeaderMap::new(), event, None))
                    .collect();
                Sender::Http(HttpSender::new(requests, policy.timeout))
            }
            ChannelConfig::Email { smtp_host, smtp_port, tls, username, password, from, to, ca_file } => {
                let settings = SmtpSettings {
                    host: smtp_host,
                    port: *smtp_port,
                    tls: *tls,
                    credentials: username.as_deref().zip(password.as_deref()),
                    from,
                    to,
                    ca_file: ca_file.as_deref(),
                };
                Sender::Smtp(Box::new(SmtpSender::new(&settings, n, &channel.id, policy.timeout)))
            }
        }
    }

    async fn attempt(&mut self, policy: &DeliveryPolicy) -> Outcome {
        match self {
            Sender::Http(http) => http.attempt(policy.timeout).await,
            Sender::Smtp(smtp) => smtp.attempt(policy.timeout).await,
        }
    }
}

/// The configured headers; `validate` already refused any that would not parse.
pub(crate) fn header_map(headers: &std::collections::BTreeMap<String, String>) -> HeaderMap {
    headers
        .iter()
        .filter_map(|(name, value)| {
            Some((HeaderName::from_str(name).ok()?, HeaderValue::from_str(value).ok()?))
        })
        .collect()
}
