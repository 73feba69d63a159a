//! The Faultline server as a library: what `faultline` runs. Modules by
//! concern, each using only those listed before it:
//!
//! - `clock`, `metrics`: the wall clock and the ingest counters;
//! - `config`: flags, environment and file into one [`config::Config`];
//! - `checks`: the active-check scheduler over the store;
//! - `report`: building and rendering period reports;
//! - `alerting`: the rule engine fed with facts and health, channels,
//!   delivery history, digests;
//! - `ingest`: OTLP/gRPC and OTLP/HTTP receivers and their pipeline;
//! - `http`: the JSON API, one module per resource;
//! - `ui`: the pages a browser gets;
//! - `server`: wiring it all together for `faultline serve`;
//! - `cli`, `commands`: the client commands and the command line.

pub mod alerting;
pub mod checks;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod http;
pub mod ingest;
pub mod metrics;
pub mod report;
pub mod server;
pub mod ui;
