//! Behaviour tests against real servers on 127.0.0.1, started by each test.
//! One test binary (modules below) so the crate links its tests once.
#![allow(clippy::unwrap_used)]

mod config;
mod http;
mod scheduler;
mod support;
mod tcp;
mod tls;
mod uptime;
