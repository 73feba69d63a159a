//! Notification channels against real receivers on 127.0.0.1: an HTTP
//! server started by each test (webhook, Slack, PagerDuty) and a real SMTP
//! server (aiosmtpd, run by the test as a child process). One test binary
//! so the crate links its tests once.
#![allow(clippy::unwrap_used)]

mod channel_config;
mod email;
mod http_receiver;
mod pagerduty;
mod render;
mod retry;
mod slack;
mod smtp_server;
mod support;
mod webhook;
