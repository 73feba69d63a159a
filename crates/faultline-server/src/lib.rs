//! The Faultline server as a library: what `faultline` runs. Modules by
//! concern, each using only those listed before it:
//!
//! - `metrics`: the ingest counters;
//! - `checks`: the active-check scheduler over the store;
//! - `report`: building and rendering period reports;
//! - `alerting`: the rule engine fed with facts (over a channel, so an
//!   export's ack never waits for it) and health, channels, delivery
//!   history, digests;
//! - `config`: flags, environment and file into one [`config::Config`];
//! - `auth`: access tokens, login sessions and the checks in front of
//!   every listener (`ingest` and `http` use its core; only its API
//!   listener guard, `auth::middleware::api_guard`, uses `http` errors
//!   and `ui` pages);
//! - `tls`: the listeners' TLS (reloaded on SIGHUP) and accept loop;
//! - `ingest`: OTLP/gRPC and OTLP/HTTP receivers and their pipeline;
//! - `http`: the JSON API, one module per resource;
//! - `ui`: the pages a browser gets;
//! - `server`: wiring it all together for `faultline serve`;
//! - `config_check`: `faultline config check`, the config as `serve` loads it;
//! - `demo`: `faultline demo`, the server driven by made-up traffic;
//! - `cli`, `commands`: the client commands and the command line.

pub mod alerting;
pub mod auth;
pub mod checks;
pub mod cli;
pub mod commands;
pub mod config;
pub mod config_check;
pub mod demo;
pub mod http;
pub mod ingest;
pub mod metrics;
pub mod report;
pub mod server;
pub mod tls;
pub mod ui;
